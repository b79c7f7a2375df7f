//! End to end over gRPC: a tonic health service of our own behind `JwtAuthLayer` and
//! `RequireMethods`, served on loopback, called by a real tonic client with tokens from the
//! mock issuer's grants (client credentials; authorization code through the hosted form).
//! Refusals reach the client as gRPC statuses — UNAUTHENTICATED, PERMISSION_DENIED,
//! UNAVAILABLE — and the handler sees the claims of every call it gets.
#![cfg(all(feature = "mock", feature = "axum", feature = "tonic"))]

#[path = "support/e2e.rs"]
mod e2e;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokengate::mock::{Forgery, JwksFault, MockIssuer};
use tokengate::{
    AuthErrorKind, Authorizer, JwtAuthLayer, ManualClock, Profile, RemoteJwks, RequireGroup,
    RequireMethods, RequireScope,
};
use tonic::codegen::tokio_stream;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Endpoint, Server};
use tonic::{Code, Request, Response, Status};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};
use tower::{Layer, Service, ServiceBuilder};

use e2e::{ALICE_PASSWORD, ALICE_SUB, WEB_CALLBACK, client_credentials, code_flow_with_pkce, http};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const CHECK: &str = "/grpc.health.v1.Health/Check";

// ------------------------------------------------------------------------------------------
// The service: health, recording the claims each call carried
// ------------------------------------------------------------------------------------------

/// What a handler saw of the claims.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Seen {
    method: &'static str,
    subject: Option<String>,
    username: Option<String>,
    client_id: Option<String>,
    scopes: Vec<String>,
    groups: Vec<String>,
}

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Seen>>>);

impl Recorder {
    /// Reads the claims with `tokengate::tonic::claims`; a call without claims is INTERNAL,
    /// so that it cannot pass for a refusal by the layer.
    fn record<M>(&self, method: &'static str, request: &Request<M>) -> Result<(), Status> {
        let claims = tokengate::tonic::claims::<(), _>(request)
            .map_err(|s| Status::internal(format!("the handler saw no claims: {s:?}")))?;
        let sorted = |names: &tokengate::NameSet| {
            let mut names: Vec<String> = names.iter().map(str::to_owned).collect();
            names.sort();
            names
        };
        self.0.lock().expect("lock").push(Seen {
            method,
            subject: claims.subject().map(str::to_owned),
            username: claims.username().map(str::to_owned),
            client_id: claims.client_id().map(str::to_owned),
            scopes: sorted(claims.scopes()),
            groups: sorted(claims.groups()),
        });
        Ok(())
    }

    fn take(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.0.lock().expect("lock"))
    }
}

struct RecordingHealth(Recorder);

fn serving() -> HealthCheckResponse {
    HealthCheckResponse {
        status: ServingStatus::Serving as i32,
    }
}

type WatchStream = tokio_stream::Iter<std::vec::IntoIter<Result<HealthCheckResponse, Status>>>;

#[tonic::async_trait]
impl Health for RecordingHealth {
    async fn check(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        self.0.record("Check", &request)?;
        Ok(Response::new(serving()))
    }

    type WatchStream = WatchStream;

    async fn watch(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        self.0.record("Watch", &request)?;
        Ok(Response::new(tokio_stream::iter(vec![Ok(serving())])))
    }
}

// ------------------------------------------------------------------------------------------
// Server and client on 127.0.0.1:0
// ------------------------------------------------------------------------------------------

struct GrpcServer {
    url: String,
    recorder: Recorder,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for GrpcServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type GrpcRequest = http::Request<tonic::body::Body>;
type Svc = HealthServer<RecordingHealth>;

/// Serves the recording health service with `Server::builder().layer(layer)`. (The
/// dev-dependency lacks tonic's `router` feature: one service served directly, through the
/// same layer stack `add_service` would use.)
async fn serve<L, ResBody>(layer: L) -> GrpcServer
where
    L: Layer<Svc> + Send + Sync + 'static,
    L::Service: Service<GrpcRequest, Response = http::Response<ResBody>> + Clone + Send + 'static,
    <L::Service as Service<GrpcRequest>>::Future: Send,
    <L::Service as Service<GrpcRequest>>::Error: Into<BoxError> + Send,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    let recorder = Recorder::default();
    let service = HealthServer::new(RecordingHealth(recorder.clone()));
    let server = Server::builder().layer(layer);
    let task = tokio::spawn(async move {
        server
            .serve_with_incoming(service, TcpIncoming::from(listener))
            .await
            .expect("grpc server");
    });
    GrpcServer {
        url: format!("http://{addr}"),
        recorder,
        task,
    }
}

/// The health service behind `JwtAuthLayer` and the per-method rules: `Check` needs the
/// scope `api/read`; every other method (`Watch`) the group `admins`.
async fn serve_api(authorizer: Authorizer) -> GrpcServer {
    let per_method = RequireMethods::new()
        .method(CHECK, RequireScope::all(["api/read"]))
        .otherwise(RequireGroup::any(["admins"]));
    let layers = ServiceBuilder::new()
        .layer(JwtAuthLayer::new(authorizer))
        .layer(per_method)
        .into_inner();
    serve(layers).await
}

impl GrpcServer {
    async fn client(&self) -> HealthClient<Channel> {
        let channel = Endpoint::from_shared(self.url.clone())
            .expect("endpoint uri")
            .connect()
            .await
            .expect("connect to the grpc server");
        HealthClient::new(channel)
    }
}

/// A health request, with `authorization: Bearer <token>` metadata when there is a token.
fn request(token: Option<&str>) -> Request<HealthCheckRequest> {
    let mut request = Request::new(HealthCheckRequest::default());
    if let Some(token) = token {
        let value = format!("Bearer {token}").parse().expect("ascii metadata");
        request.metadata_mut().insert("authorization", value);
    }
    request
}

/// `Check`'s outcome: `Ok(())` when serving, else the status code and message.
async fn check(client: &mut HealthClient<Channel>, token: Option<&str>) -> Result<(), Status> {
    let response = client.check(request(token)).await?;
    assert_eq!(response.into_inner(), serving());
    Ok(())
}

/// `Watch`'s outcome: `Ok(())` when the stream yields one `SERVING` and ends.
async fn watch(client: &mut HealthClient<Channel>, token: Option<&str>) -> Result<(), Status> {
    let mut stream = client.watch(request(token)).await?.into_inner();
    assert_eq!(stream.message().await?, Some(serving()));
    assert_eq!(stream.message().await?, None);
    Ok(())
}

#[track_caller]
fn assert_refused(what: &str, outcome: Result<(), Status>, code: Code, kind: AuthErrorKind) {
    let status = outcome.expect_err(what);
    assert_eq!(status.code(), code, "{what}: {status:?}");
    assert_eq!(status.message(), kind.description(), "{what}: {status:?}");
}

/// The demo pool and the gRPC API accepting `demo-backend` and `demo-web` access tokens.
async fn start() -> (MockIssuer, GrpcServer) {
    let mock = MockIssuer::demo().start().await.expect("the mock starts");
    let authorizer = mock
        .authorizer(Profile::cognito_access())
        .expect("an authorizer")
        .client_id("demo-backend")
        .client_id("demo-web")
        .build();
    let server = serve_api(authorizer).await;
    (mock, server)
}

// ------------------------------------------------------------------------------------------
// The tests
// ------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_credentials_token_checks_health_but_may_not_watch() {
    let (mock, server) = start().await;
    let mut client = server.client().await;
    let token = client_credentials(&http(), &mock, "demo-backend", None)
        .await
        .access_token;

    check(&mut client, Some(&token)).await.expect("Check is OK");
    assert_eq!(
        server.recorder.take(),
        [Seen {
            method: "Check",
            subject: Some("demo-backend".into()),
            username: None,
            client_id: Some("demo-backend".into()),
            scopes: vec!["api/read".into(), "api/write".into()],
            groups: vec![],
        }]
    );

    // Watch needs `admins`: a machine has no group.
    assert_refused(
        "Watch without the group",
        watch(&mut client, Some(&token)).await,
        Code::PermissionDenied,
        AuthErrorKind::InsufficientScope,
    );
    // A token narrowed to `api/write` lacks Check's scope.
    let write_only = client_credentials(&http(), &mock, "demo-backend", Some("api/write"))
        .await
        .access_token;
    assert_refused(
        "Check without api/read",
        check(&mut client, Some(&write_only)).await,
        Code::PermissionDenied,
        AuthErrorKind::InsufficientScope,
    );
    assert!(server.recorder.take().is_empty(), "refused calls never ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_flow_token_is_alices_and_as_an_admin_she_may_watch() {
    let (mock, server) = start().await;
    let mut client = server.client().await;
    let tokens = code_flow_with_pkce(
        &mock,
        "demo-web",
        WEB_CALLBACK,
        "openid api/read",
        ("alice", ALICE_PASSWORD),
    )
    .await;

    check(&mut client, Some(&tokens.access_token))
        .await
        .expect("Check is OK");
    watch(&mut client, Some(&tokens.access_token))
        .await
        .expect("Watch is OK for an admin");
    let alice = |method| Seen {
        method,
        subject: Some(ALICE_SUB.into()),
        username: Some("alice".into()),
        client_id: Some("demo-web".into()),
        scopes: vec!["api/read".into(), "openid".into()],
        groups: vec!["admins".into()],
    };
    assert_eq!(server.recorder.take(), [alice("Check"), alice("Watch")]);

    // Her ID token is not an access token.
    let id_token = tokens.id_token.expect("an ID token");
    assert_refused(
        "an ID token",
        check(&mut client, Some(&id_token)).await,
        Code::Unauthenticated,
        AuthErrorKind::WrongTokenUse,
    );
    assert!(server.recorder.take().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_expired_and_forged_tokens_are_unauthenticated() {
    let (mock, server) = start().await;
    let mut client = server.client().await;
    let alice = || mock.access_token().client("demo-web").user("alice");
    let sign = |b: tokengate::mock::TokenBuilder<'_>| b.sign().expect("the mock signs");

    let rows: [(&str, Option<String>, AuthErrorKind); 7] = [
        ("no token", None, AuthErrorKind::MissingToken),
        (
            "expired",
            Some(sign(alice().expired())),
            AuthErrorKind::Expired,
        ),
        (
            "alg none",
            Some(sign(alice().forge(Forgery::AlgNone))),
            AuthErrorKind::UnsignedToken,
        ),
        (
            "HS256 with the public key",
            Some(sign(alice().forge(Forgery::Hs256WithPublicKey))),
            AuthErrorKind::SymmetricAlgorithm,
        ),
        (
            "unknown kid",
            Some(sign(alice().forge(Forgery::UnknownKid))),
            AuthErrorKind::UnknownKey,
        ),
        (
            "tampered signature",
            Some(sign(alice().forge(Forgery::TamperedSignature))),
            AuthErrorKind::InvalidSignature,
        ),
        (
            "another client",
            Some(sign(mock.access_token().client("demo-spa").user("alice"))),
            AuthErrorKind::WrongClient,
        ),
    ];
    for (name, token, kind) in &rows {
        assert_refused(
            &format!("Check, {name}"),
            check(&mut client, token.as_deref()).await,
            Code::Unauthenticated,
            *kind,
        );
        // The layer refuses before the per-method rules: the same on Watch.
        assert_refused(
            &format!("Watch, {name}"),
            watch(&mut client, token.as_deref()).await,
            Code::Unauthenticated,
            *kind,
        );
    }
    assert!(server.recorder.take().is_empty(), "no refused call ran");
    // And the same client still gets through with a good token.
    check(&mut client, Some(&sign(alice()))).await.expect("OK");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_jwks_on_a_cold_cache_is_unavailable_until_it_is_back() {
    let clock = ManualClock::starting_now();
    let mock = MockIssuer::demo()
        .clock(clock.clone())
        .start()
        .await
        .expect("the mock starts");
    mock.set_jwks_fault(JwksFault::Status(503));
    let authorizer = Authorizer::builder(Profile::cognito_access())
        .issuer(mock.issuer())
        .client_id("demo-backend")
        .remote_jwks(
            RemoteJwks::from_uri(mock.jwks_uri())
                .expect("the mock's JWKS URL")
                .timeout(Duration::from_millis(500))
                .refresh_check_interval(Duration::from_millis(5)),
        )
        .clock(clock.clone())
        .build();
    let server = serve_api(authorizer).await;
    let mut client = server.client().await;
    let token = client_credentials(&http(), &mock, "demo-backend", None)
        .await
        .access_token;

    for attempt in [
        "first (waits for the fetch)",
        "second (within the cooldown)",
    ] {
        let status = check(&mut client, Some(&token)).await.expect_err(attempt);
        assert_eq!(status.code(), Code::Unavailable, "{attempt}: {status:?}");
        assert_eq!(
            status.message(),
            AuthErrorKind::KeysUnavailable.description(),
            "{attempt}"
        );
        // gRPC's counterpart of `Retry-After`: whole seconds, within the 30 s cooldown.
        let pushback: u64 = status
            .metadata()
            .get("grpc-retry-pushback-ms")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{attempt}: a retry pushback: {status:?}"));
        assert!(
            (1000..=30_000).contains(&pushback) && pushback.is_multiple_of(1000),
            "{attempt}: {pushback}"
        );
    }
    assert!(server.recorder.take().is_empty());

    // The JWKS is back: the cache's retry (on the shared clock) brings the keys.
    mock.set_jwks_fault(JwksFault::None);
    let mut recovered = false;
    for _ in 0..120 {
        clock.advance(1);
        tokio::time::sleep(Duration::from_millis(10)).await;
        match check(&mut client, Some(&token)).await {
            Ok(()) => {
                recovered = true;
                break;
            }
            Err(status) => assert_eq!(status.code(), Code::Unavailable, "{status:?}"),
        }
    }
    assert!(recovered, "no recovery within 120 s of clock");
    let seen = server.recorder.take();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].client_id.as_deref(), Some("demo-backend"));
}
