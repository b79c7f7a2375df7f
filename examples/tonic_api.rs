//! A protected gRPC service: the standard health service behind `JwtAuthLayer`, with the
//! `Check` method needing the read scope. No protoc: `tonic-health` brings the generated code.
//!
//! ```text
//! cargo run --example tonic_api --all-features -- --issuer URL [--jwks-uri URL]
//!     [--audience A | --client-id C]... [--no-audience-check] [--token-use access|id]
//!     [--read-scope S] [--addr A]
//! ```
//!
//! | method | needs |
//! |---|---|
//! | `/grpc.health.v1.Health/Check` | the read scope (`api/read`) |
//! | `/grpc.health.v1.Health/Watch` | a valid token |
//!
//! A call without a valid token gets `UNAUTHENTICATED` (16), one without the scope
//! `PERMISSION_DENIED` (7), and `UNAVAILABLE` (14) while the issuer's keys cannot be had.
//! Profiles as in `axum_api`: `--token-use access` for Cognito access tokens, `id` for Cognito
//! ID tokens (no scopes: `Check` never passes), none for `Profile::generic()`.

use std::io::Write as _;
use std::process::ExitCode;

use tokengate::builder::AudienceSet;
use tokengate::{Authorizer, AuthorizerBuilder, JwtAuthLayer, Profile, RemoteJwks};
use tokengate::{RequireMethods, RequireScope};
use tonic::codegen::BoxStream;
use tonic::codegen::tokio_stream::{self, StreamExt as _};
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

const USAGE: &str =
    "usage: tonic_api --issuer URL [--jwks-uri URL] [--audience A | --client-id C]...
       [--no-audience-check] [--token-use access|id] [--read-scope S] [--addr A]
One of --audience, --client-id or --no-audience-check is required.
";

/// The whole server is one service: `""` and the health service itself are serving.
struct HealthService;

fn status_of(request: &Request<HealthCheckRequest>) -> Option<ServingStatus> {
    matches!(
        request.get_ref().service.as_str(),
        "" | "grpc.health.v1.Health"
    )
    .then_some(ServingStatus::Serving)
}

fn response(status: ServingStatus) -> HealthCheckResponse {
    HealthCheckResponse {
        status: status.into(),
    }
}

#[tonic::async_trait]
impl Health for HealthService {
    async fn check(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        // The layer has checked the token and the scope; the claims are in the request.
        let claims = tokengate::tonic::claims::<(), _>(&request)?;
        eprintln!("Check from {}", claims.subject().unwrap_or("?"));
        let status = status_of(&request).ok_or_else(|| Status::not_found("unknown service"))?;
        Ok(Response::new(response(status)))
    }

    type WatchStream = BoxStream<HealthCheckResponse>;

    async fn watch(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let status = status_of(&request).unwrap_or(ServingStatus::ServiceUnknown);
        // The status never changes: send it once, then keep the stream open.
        let stream = tokio_stream::once(Ok(response(status))).chain(tokio_stream::pending());
        Ok(Response::new(Box::pin(stream)))
    }
}

struct Args {
    authorizer: Authorizer,
    issuer: String,
    read_scope: String,
    addr: String,
}

fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let (mut issuer, mut jwks_uri, mut token_use) = (None, None, None);
    let (mut accepted, mut no_audience_check) = (Vec::new(), false);
    let (mut read_scope, mut addr) = ("api/read".to_owned(), "127.0.0.1:50051".to_owned());
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
            "--read-scope" => read_scope = value()?,
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
    let authorizer = builder.build().map_err(|e| e.to_string())?;
    Ok(Args {
        authorizer,
        issuer,
        read_scope,
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
    println!("listening on http://{}", listener.local_addr()?);
    std::io::stdout().flush()?;

    let authorizer = args.authorizer.clone();
    tokio::spawn(async move {
        match authorizer.ready().await {
            Ok(()) => eprintln!("keys fetched for {}", args.issuer),
            Err(err) => eprintln!(
                "keys not fetched yet, calls get UNAVAILABLE: {}",
                chain(&err)
            ),
        }
    });
    // The first layer is the outer one: the token check, then the per-method requirements.
    // One service, so no router: tonic's `router` feature is not needed.
    // Watch is not listed: `allow_unlisted` lets it through with any valid token (unlisted
    // methods are refused otherwise).
    let per_method = RequireMethods::builder()
        .method(
            "/grpc.health.v1.Health/Check",
            RequireScope::all([args.read_scope]),
        )
        .allow_unlisted()
        .build()?;
    Server::builder()
        .layer(JwtAuthLayer::new(args.authorizer))
        .layer(per_method)
        .serve_with_incoming(
            HealthServer::new(HealthService),
            TcpIncoming::from(listener),
        )
        .await?;
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
            eprint!("tonic_api: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match serve(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("tonic_api: {}", chain(&*err));
            ExitCode::FAILURE
        }
    }
}
