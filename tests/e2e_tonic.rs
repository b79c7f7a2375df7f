//! End to end over gRPC: a tonic health service of our own behind `JwtAuthLayer` and
//! `RequireMethods`, served on loopback, called by a real tonic client with tokens from the
//! mock issuer's grants (client credentials; authorization code through the hosted form).
//! Refusals reach the client as gRPC statuses — UNAUTHENTICATED, PERMISSION_DENIED,
//! UNAVAILABLE — and the handler sees the claims of every call it gets.
#![cfg(all(feature = "mock", feature = "axum", feature = "tonic"))]

#[path = "support/e2e.rs"]
mod e2e;
#[path = "support/tonic_health.rs"]
mod tonic_health_service;

use std::time::Duration;

use tokengate::mock::{Forgery, JwksFault, MockIssuer};
use tokengate::{
    AuthErrorKind, Authorizer, JwtAuthLayer, ManualClock, Profile, RemoteJwks, RequireGroup,
    RequireMethods, RequireScope,
};
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_health::pb::health_client::HealthClient;
use tower::ServiceBuilder;

use e2e::{ALICE_PASSWORD, ALICE_SUB, WEB_CALLBACK, client_credentials, code_flow_with_pkce, http};
use tonic_health_service::{GrpcServer, Seen, request, serve, serving};

const CHECK: &str = "/grpc.health.v1.Health/Check";

/// The health service behind `JwtAuthLayer` and the per-method rules: `Check` needs the
/// scope `api/read`; every other method (`Watch`) the group `admins`.
async fn serve_api(authorizer: Authorizer) -> GrpcServer {
    let per_method = RequireMethods::builder()
        .method(CHECK, RequireScope::all(["api/read"]))
        .otherwise(RequireGroup::any(["admins"]))
        .build()
        .expect("valid method paths");
    let layers = ServiceBuilder::new()
        .layer(JwtAuthLayer::new(authorizer))
        .layer(per_method)
        .into_inner();
    serve(layers).await
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
        .build()
        .expect("valid authorizer settings");
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
        .build()
        .expect("valid authorizer settings");
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
