//! A protected axum API: a public route, an RFC 9728 metadata document, and routes that need a
//! valid token, a scope or a group. Point it at any issuer:
//!
//! ```text
//! cargo run --example axum_api --all-features -- --issuer URL [--jwks-uri URL]
//!     [--audience A | --client-id C | --authorized-party C]... [--no-audience-check]
//!     [--profile P] [--token-use access|id] [--groups-claim PATH]... [--scope-claim NAME]...
//!     [--require-claim NAME=VALUE]... [--introspect-url URL --introspect-client ID:SECRET]
//!     [--read-scope S] [--write-scope S] [--admin-group G] [--addr A] [--metrics]
//!     [--dpop off|allowed|required] [--dpop-redis URL] [--public-url URL]
//! ```
//!
//! | route | needs |
//! |---|---|
//! | `GET /public`, `GET /.well-known/oauth-protected-resource` | nothing |
//! | `GET /me` | a valid token (answers its subject, username, client id, scopes, groups) |
//! | `GET /read` | the read scope (`api/read`) |
//! | `POST /write` | the write scope (`api/write`) |
//! | `GET /admin` | the admin group (`admins`) |
//! | `GET /metrics` | nothing; only with `--metrics` (needs the `metrics` feature): tokengate's counters in Prometheus text format |
//!
//! The profile: `--profile cognito|cognito-id|rfc9068|generic|keycloak|entra|auth0|okta`
//! (see `tokengate::Profile`). Without it: `--token-use access|id` for Cognito access or ID
//! tokens; else Cognito access tokens when only `--client-id` is given (they carry no `aud`),
//! and `Profile::generic()` (scopes from `scope` or `scp`, groups from `groups`) otherwise.
//! `--groups-claim` reads groups from claim paths instead (`realm_access.roles`, a namespaced
//! URL), `--scope-claim` scopes from `scope`, `scp` or `permissions`; `--require-claim tid=…`
//! requires a value (repeat a name for any-of); `--authorized-party` checks `azp`.
//!
//! `--dpop allowed` also takes DPoP-bound tokens (RFC 9449) with their proofs, `--dpop required`
//! only those; `--dpop-redis URL` keeps seen proofs in Redis so replicas share replay
//! detection (in memory otherwise). `--public-url` is the external base URL clients call (what
//! a proof's `htu` is compared with, and the metadata's `resource`), for a service behind a
//! proxy.
//!
//! Keys come from `--jwks-uri`, or by discovery from the issuer. With `--introspect-url` (and
//! `--introspect-client ID:SECRET`, sent with HTTP Basic), a token that is not a JWT is checked
//! at that RFC 7662 endpoint. The server starts even when the issuer is down: requests then get
//! 503 with `Retry-After` until its keys (or its introspection endpoint) can be had.

use std::io::Write as _;
use std::process::ExitCode;

use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use tokengate::JwtAuthLayer;
use tokengate::ScopeClaim;
use tokengate::builder::AudienceSet;
use tokengate::{Authorizer, AuthorizerBuilder, Claims, ClientAuth, Dpop, Introspection};
use tokengate::{Profile, ProtectedResourceMetadata, RemoteJwks, RequireGroup, RequireScope};

const USAGE: &str = "usage: axum_api --issuer URL [--jwks-uri URL]
       [--audience A | --client-id C | --authorized-party C]... [--no-audience-check]
       [--profile cognito|cognito-id|rfc9068|generic|keycloak|entra|auth0|okta]
       [--token-use access|id] [--groups-claim PATH]... [--scope-claim scope|scp|permissions]...
       [--require-claim NAME=VALUE]... [--introspect-url URL --introspect-client ID:SECRET]
       [--read-scope S] [--write-scope S] [--admin-group G] [--addr A] [--metrics]
       [--dpop off|allowed|required] [--dpop-redis URL] [--public-url URL]
One of --audience, --client-id, --authorized-party or --no-audience-check is required.
";

async fn me(claims: Claims) -> Json<Value> {
    Json(json!({
        "sub": claims.subject(),
        "username": claims.username(),
        "client_id": claims.client_id(),
        "scopes": claims.scopes().iter().collect::<Vec<_>>(),
        "groups": claims.groups().iter().collect::<Vec<_>>(),
    }))
}

async fn read(claims: Claims) -> Json<Value> {
    Json(json!({ "read": true, "sub": claims.subject() }))
}

async fn write(claims: Claims, body: String) -> (StatusCode, Json<Value>) {
    let written = json!({ "written": body.len(), "sub": claims.subject() });
    (StatusCode::CREATED, Json(written))
}

async fn admin(claims: Claims) -> String {
    format!(
        "hello admin {}\n",
        claims.username().or(claims.subject()).unwrap_or("?")
    )
}

struct Args {
    authorizer: Authorizer,
    issuer: String,
    read_scope: String,
    write_scope: String,
    admin_group: String,
    addr: String,
    dpop: Option<Dpop>,
    public_url: Option<String>,
    metrics: bool,
}

/// What the audience check accepts: an audience, a client id or an authorized party.
enum Accept {
    Audience(String),
    Client(String),
    Party(String),
}

fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let (mut issuer, mut jwks_uri, mut token_use, mut profile) = (None, None, None, None);
    let (mut accepted, mut no_audience_check) = (Vec::new(), false);
    let (mut groups_claims, mut scope_claims, mut required) = (Vec::new(), Vec::new(), Vec::new());
    let (mut introspect_url, mut introspect_client) = (None, None);
    let mut scopes = ["api/read".to_owned(), "api/write".to_owned()];
    let (mut admin_group, mut addr) = ("admins".to_owned(), "127.0.0.1:8080".to_owned());
    let (mut dpop_mode, mut dpop_redis, mut public_url) = (None, None, None);
    let mut metrics = false;
    while let Some(arg) = argv.next() {
        let (flag, mut inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg, None),
        };
        let mut value = || {
            inline
                .take()
                .or_else(|| argv.next())
                .ok_or(format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--issuer" => issuer = Some(value()?),
            "--jwks-uri" => jwks_uri = Some(value()?),
            "--audience" => accepted.push(Accept::Audience(value()?)),
            "--client-id" => accepted.push(Accept::Client(value()?)),
            "--authorized-party" => accepted.push(Accept::Party(value()?)),
            "--no-audience-check" => no_audience_check = true,
            "--profile" => profile = Some(value()?),
            "--token-use" => token_use = Some(value()?),
            "--groups-claim" => groups_claims.push(value()?),
            "--scope-claim" => {
                let name = value()?;
                let claim = ScopeClaim::from_name(&name).ok_or(format!(
                    "--scope-claim is scope, scp or permissions, not `{name}`"
                ))?;
                scope_claims.push(claim);
            }
            "--require-claim" => {
                let pair = value()?;
                let (name, wanted) = pair
                    .split_once('=')
                    .ok_or(format!("--require-claim takes NAME=VALUE, not `{pair}`"))?;
                required.push((name.to_owned(), wanted.to_owned()));
            }
            "--introspect-url" => introspect_url = Some(value()?),
            "--introspect-client" => introspect_client = Some(value()?),
            "--read-scope" => scopes[0] = value()?,
            "--write-scope" => scopes[1] = value()?,
            "--admin-group" => admin_group = value()?,
            "--addr" => addr = value()?,
            "--dpop" => dpop_mode = Some(value()?),
            "--dpop-redis" => dpop_redis = Some(value()?),
            "--public-url" => public_url = Some(value()?),
            "--metrics" if cfg!(feature = "metrics") => metrics = true,
            "--metrics" => return Err("--metrics needs the `metrics` feature".into()),
            _ => return Err(format!("unknown argument `{flag}`")),
        }
    }
    let issuer: String = issuer.ok_or("--issuer is required")?;
    let only_client_ids =
        !accepted.is_empty() && accepted.iter().all(|a| matches!(a, Accept::Client(_)));
    let mut profile = match (profile.as_deref(), token_use.as_deref()) {
        (Some(_), Some(_)) => return Err("--profile or --token-use, not both".into()),
        (Some("cognito"), None) | (None, Some("access")) => Profile::cognito_access(),
        (Some("cognito-id"), None) | (None, Some("id")) => Profile::cognito_id(),
        (Some("rfc9068"), None) => Profile::rfc9068(),
        (Some("generic"), None) => Profile::generic(),
        (Some("keycloak"), None) => Profile::keycloak(),
        (Some("entra"), None) => Profile::entra(),
        (Some("auth0"), None) => Profile::auth0(),
        (Some("okta"), None) => Profile::okta(),
        (None, None) if only_client_ids => Profile::cognito_access(),
        (None, None) => Profile::generic(),
        (Some(other), None) => return Err(format!("unknown --profile `{other}`")),
        (None, Some(other)) => return Err(format!("--token-use is access or id, not `{other}`")),
    };
    if !groups_claims.is_empty() {
        profile = profile.groups_claims(groups_claims);
    }
    if !scope_claims.is_empty() {
        profile = profile.scope_claims(scope_claims);
    }
    let jwks = match &jwks_uri {
        Some(uri) => RemoteJwks::from_uri(uri),
        None => RemoteJwks::discover(&issuer),
    };
    let mut builder = Authorizer::builder(profile)
        .issuer(&issuer)
        .remote_jwks(jwks.map_err(|e| e.to_string())?);
    for (name, wanted) in required {
        builder = builder.require_claim(name.as_str(), [wanted]);
    }
    match (introspect_url, introspect_client) {
        (Some(url), Some(client)) => {
            let (id, secret) = client
                .split_once(':')
                .ok_or("--introspect-client takes ID:SECRET")?;
            let introspection = Introspection::new(&url, ClientAuth::basic(id, secret))
                .map_err(|e| e.to_string())?;
            builder = builder.introspection(introspection);
        }
        (None, None) => {}
        _ => return Err("--introspect-url and --introspect-client go together".into()),
    }
    let mut accepted = accepted.into_iter();
    let mut builder = match (accepted.next(), no_audience_check) {
        (Some(_), true) => return Err("--no-audience-check with an audience or client id".into()),
        (None, false) => {
            return Err(
                "give --audience, --client-id, --authorized-party or --no-audience-check".into(),
            );
        }
        (None, true) => builder.skip_audience_check(),
        (Some(first), false) => accept(builder, first),
    };
    for next in accepted {
        builder = accept(builder, next);
    }
    let [read_scope, write_scope] = scopes;
    let dpop = dpop_config(
        dpop_mode.as_deref(),
        dpop_redis.as_deref(),
        public_url.as_deref(),
    )?;
    Ok(Args {
        authorizer: builder.build().map_err(|e| e.to_string())?,
        issuer,
        read_scope,
        write_scope,
        admin_group,
        addr,
        dpop,
        public_url,
        metrics,
    })
}

/// `--dpop`, `--dpop-redis` and `--public-url` as a [`Dpop`] configuration (`None`: bearer only).
fn dpop_config(
    mode: Option<&str>,
    redis: Option<&str>,
    public_url: Option<&str>,
) -> Result<Option<Dpop>, String> {
    let dpop = match mode {
        None | Some("off") if redis.is_some() => {
            return Err("--dpop-redis needs --dpop allowed or required".into());
        }
        None | Some("off") => return Ok(None),
        Some("allowed") => Dpop::allowed(),
        Some("required") => Dpop::required(),
        Some(other) => return Err(format!("--dpop is off, allowed or required, not `{other}`")),
    };
    let dpop = match public_url {
        Some(url) => dpop.public_url(url).map_err(|e| e.to_string())?,
        None => dpop,
    };
    match redis {
        None => Ok(Some(dpop)),
        #[cfg(feature = "redis")]
        Some(url) => {
            let store = tokengate::RedisReplayStore::new(url).map_err(|e| e.to_string())?;
            Ok(Some(dpop.replay_store(store)))
        }
        #[cfg(not(feature = "redis"))]
        Some(_) => Err("--dpop-redis needs the `redis` feature (--all-features)".into()),
    }
}

/// Adds an accepted audience, client id or authorized party.
fn accept<I, A, K>(
    builder: AuthorizerBuilder<I, A, K>,
    accept: Accept,
) -> AuthorizerBuilder<I, AudienceSet, K> {
    match accept {
        Accept::Audience(name) => builder.audience(name),
        Accept::Client(name) => builder.client_id(name),
        Accept::Party(name) => builder.authorized_party(name),
    }
}

async fn serve(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind(&args.addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.addr))?;
    let base = match &args.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!("http://{}", listener.local_addr()?),
    };
    let metadata = ProtectedResourceMetadata::new(&base)
        .authorization_server(&args.issuer)
        .scopes([&args.read_scope, &args.write_scope]);
    let mut auth = JwtAuthLayer::new(args.authorizer.clone())
        .resource_metadata(format!("{base}{}", ProtectedResourceMetadata::PATH));
    if let Some(dpop) = args.dpop {
        auth = auth.dpop(dpop);
    }

    // `route_layer`: the token check runs only on these routes, so unknown paths stay 404.
    let protected = Router::new()
        .route("/me", get(me))
        .route(
            "/read",
            get(read).route_layer(RequireScope::all([args.read_scope])),
        )
        .route(
            "/write",
            post(write).route_layer(RequireScope::all([args.write_scope])),
        )
        .route(
            "/admin",
            get(admin).route_layer(RequireGroup::any([args.admin_group])),
        )
        .route_layer(auth);
    let mut app = Router::new()
        .route("/public", get(|| async { "public: no token needed\n" }))
        .route_service(ProtectedResourceMetadata::PATH, metadata.service())
        .merge(protected);
    if args.metrics {
        app = app.route("/metrics", get(prometheus()?));
    }

    println!("listening on http://{}", listener.local_addr()?);
    std::io::stdout().flush()?;
    // Fetch keys now rather than on the first request, but never hold the startup on it.
    let authorizer = args.authorizer;
    tokio::spawn(async move {
        match authorizer.ready().await {
            Ok(()) => eprintln!("keys fetched for {}", args.issuer),
            Err(err) => eprintln!(
                "keys not fetched yet, requests get 503 until they are: {}",
                chain(&err)
            ),
        }
    });
    axum::serve(listener, app).await?;
    Ok(())
}

/// Installs a Prometheus recorder for tokengate's metrics; returns the `/metrics` handler.
fn prometheus()
-> Result<impl Fn() -> std::future::Ready<String> + Clone, Box<dyn std::error::Error>> {
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder()?;
    let upkeep = handle.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            upkeep.run_upkeep();
        }
    });
    Ok(move || std::future::ready(handle.render()))
}

/// An error and its causes, on one line.
fn chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut cause = err.source();
    while let Some(err) = cause {
        out = format!("{out}: {err}");
        cause = err.source();
    }
    out
}

#[tokio::main]
async fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.iter().any(|a| a == "-h" || a == "--help") {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let args = match parse(argv.into_iter()) {
        Ok(args) => args,
        Err(message) => {
            eprint!("axum_api: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match serve(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("axum_api: {}", chain(&*err));
            ExitCode::FAILURE
        }
    }
}
