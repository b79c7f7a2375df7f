//! gRPC over loopback: tonic's server with `JwtAuthLayer` (and `RequireMethods`) in front of
//! a health service of our own, called by a real tonic client. Refusals must reach the client
//! as gRPC statuses (trailers-only HTTP 200), never as HTTP errors, and claims must reach the
//! handler.
#![cfg(feature = "tonic")]

#[path = "../support/jwks_server.rs"]
mod jwks_server;
#[path = "../support/mod.rs"]
mod support;
#[path = "../support/tonic_health.rs"]
mod tonic_health_service;

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use jwks_server::{JwksServer, Mode};
use serde_json::{Value, json};
use support::{CLIENT_ID, ISSUER, TestKey, cognito_access_claims, jwks, now};
use tokengate::{
    Algorithm, AuthError, AuthErrorKind, Authorizer, JwtAuthLayer, KeySet, Profile, RemoteJwks,
    RequireGroup, RequireMethods, RequireScope,
};
use tonic::transport::Channel;
use tonic::{Code, Request, Status};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tonic_health_service::{GrpcServer as TestServer, Seen, request, serve, serving};
use tower::{ServiceBuilder, ServiceExt as _};

const CHECK: &str = "/grpc.health.v1.Health/Check";
const WATCH: &str = "/grpc.health.v1.Health/Watch";
const SUBJECT: &str = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";

/// The status of a refused unary call; panics when the call succeeded.
async fn check_status(client: &mut HealthClient<Channel>, token: Option<&str>) -> Status {
    match client.check(request(token)).await {
        Ok(response) => panic!("expected a refusal, got {response:?}"),
        Err(status) => status,
    }
}

// ---------------------------------------------------------------------------------------------
// Keys and tokens.
// ---------------------------------------------------------------------------------------------

fn key() -> TestKey {
    TestKey::generate(Algorithm::ES256, "k1")
}

fn authorizer(key: &TestKey) -> Authorizer {
    Authorizer::builder(Profile::cognito_access())
        .issuer(ISSUER)
        .client_id(CLIENT_ID)
        .keys(KeySet::from_jwks_json(&jwks(&[key])).expect("jwks"))
        .build()
}

/// Cognito access-token claims with this `scope` and these `cognito:groups`.
fn claims_with(scope: &str, groups: &[&str]) -> Value {
    let mut claims = cognito_access_claims();
    claims["scope"] = json!(scope);
    claims["cognito:groups"] = json!(groups);
    claims
}

fn expired_claims() -> Value {
    let now = now();
    let mut claims = cognito_access_claims();
    claims["auth_time"] = json!(now - 7200);
    claims["iat"] = json!(now - 7200);
    claims["exp"] = json!(now - 3600);
    claims
}

/// The per-method rules of these tests: Check needs `health/read`; every other method
/// (Watch) needs the `admins` group.
fn per_method() -> RequireMethods {
    RequireMethods::builder()
        .method(CHECK, RequireScope::all(["health/read"]))
        .otherwise(RequireGroup::any(["admins"]))
        .build()
        .expect("valid method paths")
}

/// `JwtAuthLayer` outside, `RequireMethods` inside, as a tower `ServiceBuilder` stack.
async fn serve_per_method(key: &TestKey) -> TestServer {
    let layers = ServiceBuilder::new()
        .layer(JwtAuthLayer::new(authorizer(key)))
        .layer(per_method())
        .into_inner();
    serve(layers).await
}

fn assert_status(status: &Status, code: Code, kind: AuthErrorKind) {
    assert_eq!(status.code(), code, "{status:?}");
    assert_eq!(status.message(), kind.description(), "{status:?}");
}

// ---------------------------------------------------------------------------------------------
// 1. No token.
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn a_call_without_a_token_is_unauthenticated_and_never_reaches_the_handler() {
    let key = key();
    let server = serve(JwtAuthLayer::new(authorizer(&key))).await;
    let mut client = server.client().await;

    let status = check_status(&mut client, None).await;

    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert!(!status.message().is_empty());
    // The layer's own message, not tonic's "HTTP status code 401" inferred from an HTTP error.
    assert_eq!(
        status.message(),
        AuthErrorKind::MissingToken.description(),
        "{status:?}"
    );
    assert!(server.recorder.seen().is_empty(), "the handler was called");
}

/// A raw gRPC exchange: the response head, then the data and trailers that followed it.
struct Exchange {
    head: http::response::Parts,
    data: Bytes,
    trailers: Option<http::HeaderMap>,
}

/// One raw HTTP/2 exchange through a tonic channel: an empty `HealthCheckRequest` framed as
/// gRPC (uncompressed, length 0) to `path`, with the token if any. Returns the response head
/// and what followed it (data, trailers).
async fn raw_call(server: &TestServer, path: &str, token: Option<&str>) -> Exchange {
    let frame = Bytes::from_static(&[0, 0, 0, 0, 0]);
    let mut builder = http::Request::builder()
        .method(http::Method::POST)
        .uri(format!("{}{path}", server.url))
        .header(http::header::CONTENT_TYPE, "application/grpc")
        .header(http::header::TE, "trailers");
    if let Some(token) = token {
        builder = builder.header(http::header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let http_request = builder
        .body(tonic::body::Body::new(Full::new(frame)))
        .expect("request");
    let response = server
        .channel()
        .await
        .oneshot(http_request)
        .await
        .expect("an HTTP response, not a transport error");
    let (head, body) = response.into_parts();
    let rest = body.collect().await.expect("body");
    Exchange {
        head,
        trailers: rest.trailers().cloned(),
        data: rest.to_bytes(),
    }
}

/// A trailers-only gRPC response: HTTP 200, the status in the headers, nothing after them.
fn assert_trailers_only(exchange: &Exchange, code: &str, kind: AuthErrorKind) {
    let head = &exchange.head;
    assert_eq!(head.status, http::StatusCode::OK);
    let header = |name: &str| head.headers.get(name).and_then(|v| v.to_str().ok());
    assert_eq!(header("content-type"), Some("application/grpc"));
    assert_eq!(header("grpc-status"), Some(code));
    assert_eq!(header("grpc-message"), Some(kind.description()));
    assert_eq!(exchange.trailers, None);
    assert!(exchange.data.is_empty(), "{:?}", exchange.data);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refusal_is_a_trailers_only_http_200_not_an_http_error() {
    let key = key();
    let server = serve(JwtAuthLayer::new(authorizer(&key))).await;

    let exchange = raw_call(&server, CHECK, None).await;

    assert_trailers_only(&exchange, "16", AuthErrorKind::MissingToken);
    assert!(server.recorder.seen().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_method_requirement_refusal_is_a_trailers_only_http_200_too() {
    let key = key();
    let server = serve_per_method(&key).await;
    let token = key.token(&claims_with("api/read", &["readers"]));

    let watch = raw_call(&server, WATCH, Some(&token)).await;
    let check = raw_call(&server, CHECK, Some(&token)).await;

    assert_trailers_only(&watch, "7", AuthErrorKind::InsufficientScope);
    assert_trailers_only(&check, "7", AuthErrorKind::InsufficientScope);
    assert!(server.recorder.seen().is_empty());
}

// ---------------------------------------------------------------------------------------------
// 2. Invalid tokens.
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_token_is_unauthenticated_with_the_expiry_description() {
    let key = key();
    let server = serve(JwtAuthLayer::new(authorizer(&key))).await;
    let mut client = server.client().await;
    let token = key.token(&expired_claims());

    let status = check_status(&mut client, Some(&token)).await;

    assert_status(&status, Code::Unauthenticated, AuthErrorKind::Expired);
    assert_eq!(status.message(), "the token has expired");
    assert!(server.recorder.seen().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_with_a_bad_signature_is_unauthenticated_with_the_signature_description() {
    let key = key();
    let server = serve(JwtAuthLayer::new(authorizer(&key))).await;
    let mut client = server.client().await;
    // Same kid and algorithm, another private key.
    let forger = TestKey::generate(Algorithm::ES256, "k1");
    let token = forger.token(&cognito_access_claims());

    let status = check_status(&mut client, Some(&token)).await;

    assert_status(
        &status,
        Code::Unauthenticated,
        AuthErrorKind::InvalidSignature,
    );
    assert!(server.recorder.seen().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_authorization_header_is_unauthenticated() {
    let key = key();
    let server = serve(JwtAuthLayer::new(authorizer(&key))).await;
    let mut client = server.client().await;
    let mut call = request(None);
    call.metadata_mut()
        .insert("authorization", "Bearer a b".parse().expect("ascii"));

    let status = client.check(call).await.expect_err("refused");

    assert_status(
        &status,
        Code::Unauthenticated,
        AuthErrorKind::MalformedRequest,
    );

    // Another scheme is no bearer token at all (RFC 6750 §3.1): still UNAUTHENTICATED.
    let mut call = request(None);
    call.metadata_mut().insert(
        "authorization",
        "Basic YWxpY2U6c2VjcmV0".parse().expect("ascii"),
    );
    let status = client.check(call).await.expect_err("refused");
    assert_status(&status, Code::Unauthenticated, AuthErrorKind::MissingToken);
    assert!(server.recorder.seen().is_empty());
}

// ---------------------------------------------------------------------------------------------
// 3. Valid token.
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn a_valid_token_reaches_the_handler_with_its_claims() {
    let key = key();
    let server = serve(JwtAuthLayer::new(authorizer(&key))).await;
    let mut client = server.client().await;
    let token = key.token(&cognito_access_claims());

    let response = client
        .check(request(Some(&token)))
        .await
        .expect("the call succeeds");

    assert_eq!(response.into_inner(), serving());
    assert_eq!(
        server.recorder.seen(),
        [Seen {
            method: "Check",
            subject: Some(SUBJECT.to_owned()),
            username: Some("alice".to_owned()),
            client_id: Some(CLIENT_ID.to_owned()),
            scopes: vec!["api/read".into(), "api/write".into(), "openid".into()],
            groups: vec!["admins".into(), "readers".into()],
        }]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn plain_claims_reach_the_handler_whatever_claims_the_layer_reads() {
    #[derive(serde::Deserialize)]
    struct Tenant {
        #[serde(rename = "custom:tenant")]
        _tenant: Option<String>,
    }
    let key = key();
    // The layer reads `Claims<Tenant>`; the handler asks for plain `Claims`.
    let server = serve(JwtAuthLayer::new(authorizer(&key)).claims::<Tenant>()).await;
    let mut client = server.client().await;
    let token = key.token(&cognito_access_claims());

    client
        .check(request(Some(&token)))
        .await
        .expect("the handler finds the registered claims");
    let seen = server.recorder.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].subject.as_deref(), Some(SUBJECT));
    assert_eq!(seen[0].client_id.as_deref(), Some(CLIENT_ID));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_added_by_a_client_interceptor_is_accepted_on_every_call() {
    let key = key();
    let server = serve(JwtAuthLayer::new(authorizer(&key))).await;
    let header: tonic::metadata::MetadataValue<_> =
        format!("Bearer {}", key.token(&cognito_access_claims()))
            .parse()
            .expect("ascii metadata");
    let mut client =
        HealthClient::with_interceptor(server.channel().await, move |mut req: Request<()>| {
            req.metadata_mut().insert("authorization", header.clone());
            Ok(req)
        });

    for _ in 0..3 {
        let response = client.check(HealthCheckRequest::default()).await;
        assert_eq!(response.expect("the call succeeds").into_inner(), serving());
    }

    let seen = server.recorder.seen();
    assert_eq!(seen.len(), 3);
    assert!(
        seen.iter()
            .all(|s| s.subject.as_deref() == Some(SUBJECT) && s.scopes.contains(&"api/read".into()))
    );
}

// ---------------------------------------------------------------------------------------------
// 4. Per-method requirements.
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn a_method_requirement_refuses_a_token_without_the_scope_as_permission_denied() {
    let key = key();
    let server = serve_per_method(&key).await;
    let mut client = server.client().await;
    // Even an admin: Check's own requirement replaces `otherwise`, and asks for a scope.
    let token = key.token(&claims_with("api/read openid", &["admins"]));

    let status = check_status(&mut client, Some(&token)).await;

    assert_status(
        &status,
        Code::PermissionDenied,
        AuthErrorKind::InsufficientScope,
    );
    assert!(server.recorder.seen().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_method_requirement_lets_a_token_with_the_scope_through() {
    let key = key();
    let server = serve_per_method(&key).await;
    let mut client = server.client().await;
    // Not an admin: `otherwise` does not apply to a listed method.
    let token = key.token(&claims_with("health/read openid", &["readers"]));

    let response = client.check(request(Some(&token))).await;

    assert_eq!(response.expect("the call succeeds").into_inner(), serving());
    let seen = server.recorder.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "Check");
    assert_eq!(seen[0].scopes, ["health/read", "openid"]);
    assert_eq!(seen[0].groups, ["readers"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_otherwise_requirement_refuses_an_unlisted_streaming_method_to_a_non_admin() {
    let key = key();
    let server = serve_per_method(&key).await;
    let mut client = server.client().await;
    // The scope Check needs does nothing for Watch, which is not listed.
    let token = key.token(&claims_with("health/read", &["readers"]));

    let status = client
        .watch(request(Some(&token)))
        .await
        .expect_err("the stream is refused");

    assert_status(
        &status,
        Code::PermissionDenied,
        AuthErrorKind::InsufficientScope,
    );
    assert!(server.recorder.seen().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_otherwise_requirement_lets_an_admin_watch() {
    let key = key();
    let server = serve_per_method(&key).await;
    let mut client = server.client().await;
    let token = key.token(&claims_with("api/read", &["admins"]));

    let mut stream = client
        .watch(request(Some(&token)))
        .await
        .expect("the stream opens")
        .into_inner();

    let first = stream.message().await.expect("a message");
    assert_eq!(first, Some(serving()));
    assert_eq!(stream.message().await.expect("clean end"), None);
    let seen = server.recorder.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "Watch");
    assert_eq!(seen[0].subject.as_deref(), Some(SUBJECT));
    assert_eq!(seen[0].groups, ["admins"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn behind_method_requirements_a_missing_or_bad_token_is_still_unauthenticated() {
    let key = key();
    let server = serve_per_method(&key).await;
    let mut client = server.client().await;

    let status = check_status(&mut client, None).await;
    assert_status(&status, Code::Unauthenticated, AuthErrorKind::MissingToken);

    let expired = key.token(&expired_claims());
    let status = client
        .watch(request(Some(&expired)))
        .await
        .expect_err("refused");
    assert_status(&status, Code::Unauthenticated, AuthErrorKind::Expired);

    assert!(server.recorder.seen().is_empty());
}

// ---------------------------------------------------------------------------------------------
// 5. Keys unavailable.
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn unavailable_keys_give_unavailable() {
    let key = key();
    let jwks_server = JwksServer::start(jwks(&[&key])).await;
    jwks_server.set_mode(Mode::Status(503));
    let remote = RemoteJwks::from_uri(jwks_server.jwks_uri())
        .expect("jwks uri")
        .refresh_check_interval(Duration::from_millis(5));
    let authorizer = Authorizer::builder(Profile::cognito_access())
        .issuer(ISSUER)
        .client_id(CLIENT_ID)
        .remote_jwks(remote)
        .build()
        .expect("valid authorizer settings");
    let server = serve(JwtAuthLayer::new(authorizer)).await;
    let mut client = server.client().await;
    let token = key.token(&cognito_access_claims());

    let status = check_status(&mut client, Some(&token)).await;

    assert_status(&status, Code::Unavailable, AuthErrorKind::KeysUnavailable);
    assert!(jwks_server.jwks_hits() >= 1, "the keys were asked for");
    assert!(server.recorder.seen().is_empty());
}

// ---------------------------------------------------------------------------------------------
// 6. `tonic::Status` from `AuthError`, and `claims` outside the layer.
// ---------------------------------------------------------------------------------------------

#[test]
fn status_from_auth_error_maps_scope_to_permission_denied_keys_to_unavailable_rest_to_unauthenticated()
 {
    use AuthErrorKind::*;
    let expected = |kind| match kind {
        InsufficientScope => Code::PermissionDenied,
        KeysUnavailable => Code::Unavailable,
        _ => Code::Unauthenticated,
    };
    let kinds = [
        MissingToken,
        MalformedRequest,
        TokenTooLarge,
        Malformed,
        UnsignedToken,
        SymmetricAlgorithm,
        UnsupportedAlgorithm,
        DisallowedAlgorithm,
        UnsupportedHeader,
        NestedToken,
        WrongTokenType,
        UnknownKey,
        NoMatchingKey,
        InvalidSignature,
        MalformedClaim,
        MissingClaim,
        Expired,
        NotYetValid,
        IssuedInFuture,
        WrongIssuer,
        WrongAudience,
        WrongClient,
        WrongTokenUse,
        InsufficientScope,
        KeysUnavailable,
    ];
    for kind in kinds {
        let err = AuthError::new(kind);
        let owned = Status::from(err.clone());
        let borrowed = Status::from(&err);
        for status in [&owned, &borrowed] {
            assert_eq!(status.code(), expected(kind), "{kind:?}");
            assert_eq!(status.message(), kind.description(), "{kind:?}");
        }
    }

    assert_eq!(
        Status::from(AuthError::new(InsufficientScope)).code(),
        Code::PermissionDenied
    );
    assert_eq!(
        Status::from(AuthError::new(KeysUnavailable)).code(),
        Code::Unavailable
    );
    assert_eq!(
        Status::from(AuthError::new(Expired)).code(),
        Code::Unauthenticated
    );
}

#[test]
fn claims_of_a_request_that_never_passed_the_layer_are_unauthenticated() {
    let request = Request::new(HealthCheckRequest::default());

    let status = tokengate::tonic::claims::<(), _>(&request).expect_err("no claims");

    assert_status(&status, Code::Unauthenticated, AuthErrorKind::MissingToken);
}
