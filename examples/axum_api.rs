//! A protected axum API: a public route, an RFC 9728 metadata document, and routes that need a
//! valid token, a scope or a group. Point it at any issuer:
//!
//! ```text
//! cargo run --example axum_api --all-features -- --issuer URL [--jwks-uri URL]
//!     [--audience A | --client-id C]... [--no-audience-check] [--token-use access|id]
//!     [--read-scope S] [--write-scope S] [--admin-group G] [--addr A]
//! ```
//!
//! | route | needs |
//! |---|---|
//! | `GET /public`, `GET /.well-known/oauth-protected-resource` | nothing |
//! | `GET /me` | a valid token (answers its subject, username, client id, scopes, groups) |
//! | `GET /read` | the read scope (`api/read`) |
//! | `POST /write` | the write scope (`api/write`) |
//! | `GET /admin` | the admin group (`admins`) |
//!
//! The profile: `--token-use access` takes Amazon Cognito access tokens (`token_use` must be
//! `access`, groups from `cognito:groups`; pass `--client-id`, as they carry no `aud`), and
//! `--token-use id` Cognito ID tokens (no scopes, so only `/me` and `/admin` can pass).
//! Without `--token-use` it is `Profile::generic()`: any OAuth 2.0 / OIDC issuer's access
//! tokens, scopes from `scope` or `scp`, groups from `groups`. That is the default because it
//! asks the least of the issuer; name the Cognito profile to get its stricter checks.
//!
//! Keys come from `--jwks-uri`, or by discovery from the issuer. The server starts even when
//! the issuer is down: requests then get 503 with `Retry-After` until its keys can be had.

use std::io::Write as _;
use std::process::ExitCode;

use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use tokengate::builder::AudienceSet;
use tokengate::{Authorizer, AuthorizerBuilder, Claims, JwtAuthLayer, Profile};
use tokengate::{ProtectedResourceMetadata, RemoteJwks, RequireGroup, RequireScope};

const USAGE: &str =
    "usage: axum_api --issuer URL [--jwks-uri URL] [--audience A | --client-id C]...
       [--no-audience-check] [--token-use access|id] [--read-scope S] [--write-scope S]
       [--admin-group G] [--addr A]
One of --audience, --client-id or --no-audience-check is required.
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
}

fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let (mut issuer, mut jwks_uri, mut token_use) = (None, None, None);
    let (mut accepted, mut no_audience_check) = (Vec::new(), false);
    let mut scopes = ["api/read".to_owned(), "api/write".to_owned()];
    let (mut admin_group, mut addr) = ("admins".to_owned(), "127.0.0.1:8080".to_owned());
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
            "--audience" => accepted.push((true, value()?)),
            "--client-id" => accepted.push((false, value()?)),
            "--no-audience-check" => no_audience_check = true,
            "--token-use" => token_use = Some(value()?),
            "--read-scope" => scopes[0] = value()?,
            "--write-scope" => scopes[1] = value()?,
            "--admin-group" => admin_group = value()?,
            "--addr" => addr = value()?,
            _ => return Err(format!("unknown argument `{flag}`")),
        }
    }
    let issuer: String = issuer.ok_or("--issuer is required")?;
    let profile = match token_use.as_deref() {
        None => Profile::generic(),
        Some("access") => Profile::cognito_access(),
        Some("id") => Profile::cognito_id(),
        Some(other) => return Err(format!("--token-use is access or id, not `{other}`")),
    };
    let jwks = match &jwks_uri {
        Some(uri) => RemoteJwks::from_uri(uri),
        None => RemoteJwks::discover(&issuer),
    };
    let builder = Authorizer::builder(profile)
        .issuer(&issuer)
        .remote_jwks(jwks.map_err(|e| e.to_string())?);
    let mut accepted = accepted.into_iter();
    let mut builder = match (accepted.next(), no_audience_check) {
        (Some(_), true) => return Err("--no-audience-check with an audience or client id".into()),
        (None, false) => return Err("give --audience, --client-id or --no-audience-check".into()),
        (None, true) => builder.skip_audience_check(),
        (Some(first), false) => accept(builder, first),
    };
    for next in accepted {
        builder = accept(builder, next);
    }
    let [read_scope, write_scope] = scopes;
    Ok(Args {
        authorizer: builder.build(),
        issuer,
        read_scope,
        write_scope,
        admin_group,
        addr,
    })
}

/// Adds an accepted audience (`true`) or client id (`false`).
fn accept<I, A, K>(
    builder: AuthorizerBuilder<I, A, K>,
    (audience, name): (bool, String),
) -> AuthorizerBuilder<I, AudienceSet, K> {
    if audience {
        builder.audience(name)
    } else {
        builder.client_id(name)
    }
}

async fn serve(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind(&args.addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.addr))?;
    let base = format!("http://{}", listener.local_addr()?);
    let metadata = ProtectedResourceMetadata::new(&base)
        .authorization_server(&args.issuer)
        .scopes([&args.read_scope, &args.write_scope]);
    let auth = JwtAuthLayer::new(args.authorizer.clone())
        .resource_metadata(format!("{base}{}", ProtectedResourceMetadata::PATH));

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
    let app = Router::new()
        .route("/public", get(|| async { "public: no token needed\n" }))
        .route_service(ProtectedResourceMetadata::PATH, metadata.service())
        .merge(protected);

    println!("listening on {base}");
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
