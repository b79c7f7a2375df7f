//! Opaque tokens by RFC 7662 introspection, end to end against the mock issuer's
//! `/oauth2/introspect`: active, inactive, revoked at the issuer (refused once the positive
//! cache entry expires), the issuer down (503 with `Retry-After`), cache hits counted, one
//! introspection per token however many requests wait for it, and the layer taking JWTs and
//! opaque tokens together.
#![cfg(feature = "mock")]

#[path = "support/no_tokio.rs"]
mod no_tokio;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::response::Redirect;
use axum::routing::{get, post};
use reqwest::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use serde_json::Value;
use tokengate::mock::MockIssuer;
use tokengate::{
    AuthErrorKind, Authorizer, ClientAuth, Introspection, JwtAuthLayer, ManualClock, Profile,
    RemoteJwks,
};

const INTROSPECT: &str = "/oauth2/introspect";

/// Signs `alice` in to `demo-web` and refreshes: an access token tied to a refresh token the
/// test can revoke. Returns `(access_token, refresh_token)`.
async fn signed_in(issuer: &MockIssuer) -> (String, String) {
    let refresh = issuer
        .issue_refresh_token_for_tests("demo-web", "alice", ["openid", "api/read"])
        .expect("refresh token");
    let body = reqwest::Client::new()
        .post(issuer.token_endpoint())
        .basic_auth("demo-web", Some("demo-web-secret"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("grant_type=refresh_token&refresh_token={refresh}"))
        .send()
        .await
        .expect("token request")
        .bytes()
        .await
        .expect("body");
    let tokens: Value = serde_json::from_slice(&body).expect("JSON");
    let access = tokens["access_token"]
        .as_str()
        .expect("access token")
        .to_owned();
    (access, refresh)
}

async fn revoke(issuer: &MockIssuer, refresh: &str) {
    let status = reqwest::Client::new()
        .post(issuer.revocation_endpoint())
        .basic_auth("demo-web", Some("demo-web-secret"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={refresh}"))
        .send()
        .await
        .expect("revoke")
        .status();
    assert_eq!(status, 200);
}

/// Cognito access tokens of the mock for `demo-web`, checked by introspection only (no keys:
/// every token, JWT or not, is introspected).
fn introspecting(issuer: &MockIssuer, introspection: Introspection) -> Authorizer {
    Authorizer::builder(Profile::cognito_access())
        .issuer(issuer.issuer())
        .client_id("demo-web")
        .introspection(introspection)
        .build()
}

fn at_mock(issuer: &MockIssuer, auth: ClientAuth) -> Introspection {
    Introspection::new(&issuer.introspection_endpoint(), auth).expect("endpoint URL")
}

#[tokio::test]
async fn active_token_is_accepted_and_then_answered_from_the_cache() {
    let issuer = MockIssuer::demo().start().await.expect("mock");
    let (access, _) = signed_in(&issuer).await;
    let authorizer = introspecting(
        &issuer,
        at_mock(
            &issuer,
            ClientAuth::basic("demo-backend", "demo-backend-secret"),
        ),
    );
    let claims = authorizer.authorize::<()>(&access).await.expect("active");
    assert_eq!(claims.username(), Some("alice"));
    assert_eq!(claims.client_id(), Some("demo-web"));
    assert!(claims.scopes().contains("api/read"));
    for _ in 0..5 {
        authorizer.authorize::<()>(&access).await.expect("cached");
    }
    let stats = authorizer
        .introspection_stats()
        .expect("introspection configured");
    assert_eq!((stats.requests, stats.hits, stats.failures), (1, 5, 0));
    assert_eq!(issuer.request_count(INTROSPECT), 1);
}

#[tokio::test]
async fn client_secret_post_and_discovered_endpoint() {
    let issuer = MockIssuer::demo().start().await.expect("mock");
    let (access, _) = signed_in(&issuer).await;
    let discovered = Introspection::discover(
        issuer.issuer(),
        ClientAuth::post("demo-backend", "demo-backend-secret"),
    )
    .expect("issuer URL");
    let authorizer = introspecting(&issuer, discovered);
    authorizer.authorize::<()>(&access).await.expect("active");
    assert_eq!(issuer.request_count(INTROSPECT), 1);
}

#[tokio::test]
async fn inactive_token_is_refused_and_the_answer_cached_briefly() {
    let issuer = MockIssuer::demo().start().await.expect("mock");
    let authorizer = introspecting(
        &issuer,
        at_mock(
            &issuer,
            ClientAuth::basic("demo-backend", "demo-backend-secret"),
        )
        .negative_ttl(Duration::from_millis(300)),
    );
    for _ in 0..3 {
        let err = authorizer
            .authorize::<()>("opaque-0c4f1d2e9a7b")
            .await
            .expect_err("unknown to the issuer");
        assert_eq!(err.kind(), AuthErrorKind::InactiveToken);
        assert_eq!(err.status(), 401);
    }
    assert_eq!(issuer.request_count(INTROSPECT), 1);
    tokio::time::sleep(Duration::from_millis(400)).await;
    authorizer
        .authorize::<()>("opaque-0c4f1d2e9a7b")
        .await
        .expect_err("still unknown");
    assert_eq!(
        issuer.request_count(INTROSPECT),
        2,
        "asked again after the TTL"
    );
}

#[tokio::test]
async fn token_revoked_at_the_issuer_is_refused_once_the_positive_entry_expires() {
    let issuer = MockIssuer::demo().start().await.expect("mock");
    let (access, refresh) = signed_in(&issuer).await;
    let authorizer = introspecting(
        &issuer,
        at_mock(
            &issuer,
            ClientAuth::basic("demo-backend", "demo-backend-secret"),
        )
        .positive_ttl(Duration::from_secs(1)),
    );
    authorizer.authorize::<()>(&access).await.expect("active");
    revoke(&issuer, &refresh).await;
    // Within the positive TTL, the cached answer still stands: the documented window.
    authorizer
        .authorize::<()>(&access)
        .await
        .expect("cached until the TTL");
    assert_eq!(issuer.request_count(INTROSPECT), 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let err = authorizer
        .authorize::<()>(&access)
        .await
        .expect_err("revoked");
    assert_eq!(err.kind(), AuthErrorKind::InactiveToken);
    assert_eq!(issuer.request_count(INTROSPECT), 2);
}

#[tokio::test]
async fn the_same_token_is_introspected_once_however_many_requests_wait() {
    let issuer = MockIssuer::demo().start().await.expect("mock");
    let (access, _) = signed_in(&issuer).await;
    let authorizer = introspecting(
        &issuer,
        at_mock(
            &issuer,
            ClientAuth::basic("demo-backend", "demo-backend-secret"),
        ),
    );
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (authorizer, access) = (authorizer.clone(), access.clone());
            tokio::spawn(async move { authorizer.authorize::<()>(&access).await.is_ok() })
        })
        .collect();
    for task in tasks {
        assert!(task.await.expect("task"));
    }
    assert_eq!(issuer.request_count(INTROSPECT), 1);
}

#[tokio::test]
async fn policy_applies_to_the_answer() {
    let issuer = MockIssuer::demo().start().await.expect("mock");
    let (access, _) = signed_in(&issuer).await;
    let introspection = at_mock(
        &issuer,
        ClientAuth::basic("demo-backend", "demo-backend-secret"),
    );
    // Another client's API.
    let other = Authorizer::builder(Profile::cognito_access())
        .issuer(issuer.issuer())
        .client_id("demo-spa")
        .introspection(introspection.clone())
        .build();
    let err = other
        .authorize::<()>(&access)
        .await
        .expect_err("another client");
    assert_eq!(err.kind(), AuthErrorKind::WrongClient);
    // Another issuer's.
    let elsewhere = Authorizer::builder(Profile::cognito_access())
        .issuer("https://issuer.example")
        .client_id("demo-web")
        .introspection(introspection.clone())
        .build();
    let err = elsewhere
        .authorize::<()>(&access)
        .await
        .expect_err("another issuer");
    assert_eq!(err.kind(), AuthErrorKind::WrongIssuer);
    // A refresh token is active for its own client, but it is no access token.
    let refresh = issuer
        .issue_refresh_token_for_tests("demo-web", "alice", ["openid"])
        .expect("refresh");
    let owner = introspecting(
        &issuer,
        at_mock(&issuer, ClientAuth::basic("demo-web", "demo-web-secret")),
    );
    let err = owner
        .authorize::<()>(&refresh)
        .await
        .expect_err("refresh token");
    assert_eq!(err.kind(), AuthErrorKind::WrongTokenType);
}

#[tokio::test]
async fn issuer_down_is_503_with_retry_after_and_never_cached() {
    let issuer = MockIssuer::demo().start().await.expect("mock");
    let (access, _) = signed_in(&issuer).await;
    let authorizer = introspecting(
        &issuer,
        at_mock(
            &issuer,
            ClientAuth::basic("demo-backend", "demo-backend-secret"),
        )
        .retry_after(Duration::from_secs(7))
        .timeout(Duration::from_secs(2)),
    );
    drop(issuer);
    for _ in 0..2 {
        let err = authorizer.authorize::<()>(&access).await.expect_err("down");
        assert_eq!(err.kind(), AuthErrorKind::IntrospectionUnavailable);
        assert_eq!(err.status(), 503);
        assert_eq!(err.retry_after(), Some(7));
    }
    let stats = authorizer.introspection_stats().expect("stats");
    assert_eq!((stats.requests, stats.failures), (2, 2));
}

#[tokio::test]
async fn wrong_client_credentials_are_the_services_problem_not_the_clients() {
    let issuer = MockIssuer::demo().start().await.expect("mock");
    let (access, _) = signed_in(&issuer).await;
    let authorizer = introspecting(
        &issuer,
        at_mock(&issuer, ClientAuth::basic("demo-backend", "wrong")),
    );
    let err = authorizer
        .authorize::<()>(&access)
        .await
        .expect_err("401 at the issuer");
    assert_eq!(err.kind(), AuthErrorKind::IntrospectionUnavailable);
}

#[tokio::test]
async fn layer_takes_jwts_and_opaque_tokens_together() {
    let issuer = MockIssuer::demo().start().await.expect("mock");
    let (access, _) = signed_in(&issuer).await;
    let authorizer = Authorizer::builder(Profile::cognito_access())
        .issuer(issuer.issuer())
        .client_id("demo-web")
        .remote_jwks(RemoteJwks::from_uri(issuer.jwks_uri()).expect("jwks"))
        .introspection(at_mock(
            &issuer,
            ClientAuth::basic("demo-backend", "demo-backend-secret"),
        ))
        .build()
        .expect("valid authorizer settings");
    let app = Router::new()
        .route("/", get(|| async { "ok" }))
        .layer(JwtAuthLayer::new(authorizer.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let http = reqwest::Client::new();
    let call = |token: String| http.get(&base).bearer_auth(token).send();

    // A JWT is verified locally: no introspection.
    assert_eq!(call(access.clone()).await.expect("GET").status(), 200);
    assert_eq!(issuer.request_count(INTROSPECT), 0);
    // An opaque token goes to introspection.
    let reply = call("opaque-7f3a9c".into()).await.expect("GET");
    assert_eq!(reply.status(), 401);
    let challenge = reply.headers()[WWW_AUTHENTICATE].to_str().expect("ascii");
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert!(
        challenge.contains(AuthErrorKind::InactiveToken.description()),
        "{challenge}"
    );
    assert_eq!(issuer.request_count(INTROSPECT), 1);
    // The issuer gone: the opaque token cannot be checked (503), the JWT still can.
    drop(issuer);
    let reply = call("opaque-other".into()).await.expect("GET");
    assert_eq!(reply.status(), 503);
    let retry: u64 = reply.headers()[RETRY_AFTER]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!(retry >= 1);
    assert_eq!(call(access).await.expect("GET").status(), 200);
    server.abort();
}

/// The mock's introspection endpoint under a name that is not loopback, `sso.test`, which the
/// returned client settings resolve to the mock's address.
fn under_a_remote_name(issuer: &MockIssuer) -> (String, reqwest::ClientBuilder) {
    let url = reqwest::Url::parse(&issuer.introspection_endpoint()).expect("URL");
    let ip = url
        .host_str()
        .expect("host")
        .parse()
        .expect("an IP address");
    let addr = SocketAddr::new(ip, url.port().expect("port"));
    let remote = format!("http://sso.test:{}{}", addr.port(), url.path());
    (remote, reqwest::Client::builder().resolve("sso.test", addr))
}

#[tokio::test]
async fn plain_http_beyond_loopback_is_never_contacted_unless_allowed() {
    let issuer = MockIssuer::demo().start().await.expect("mock");
    let (access, _) = signed_in(&issuer).await;
    let auth = || ClientAuth::basic("demo-backend", "demo-backend-secret");

    let (url, client) = under_a_remote_name(&issuer);
    let strict = introspecting(
        &issuer,
        Introspection::new(&url, auth())
            .expect("URL")
            .http_client(client),
    );
    let err = strict
        .authorize::<()>(&access)
        .await
        .expect_err("http:// beyond loopback");
    assert_eq!(err.kind(), AuthErrorKind::IntrospectionUnavailable);
    assert_eq!(err.status(), 503);
    assert_eq!(issuer.request_count(INTROSPECT), 0, "token sent in clear");

    let (url, client) = under_a_remote_name(&issuer);
    let opted_out = introspecting(
        &issuer,
        Introspection::new(&url, auth())
            .expect("URL")
            .http_client(client)
            .allow_insecure_http(),
    );
    let claims = opted_out.authorize::<()>(&access).await.expect("active");
    assert_eq!(claims.username(), Some("alice"));
    assert_eq!(issuer.request_count(INTROSPECT), 1);
}

#[tokio::test]
async fn a_redirect_is_never_followed_even_with_the_callers_client_settings() {
    let issuer = MockIssuer::demo().start().await.expect("mock");
    let (access, _) = signed_in(&issuer).await;
    // An endpoint that answers 307 (which keeps the method and the body: the token and, with
    // client_secret_post, the secret) towards the mock's real endpoint.
    let target = issuer.introspection_endpoint();
    let app = Router::new().route(
        "/introspect",
        post(move || async move { Redirect::temporary(&target) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/introspect", listener.local_addr().expect("addr"));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let authorizer = introspecting(
        &issuer,
        Introspection::new(
            &url,
            ClientAuth::post("demo-backend", "demo-backend-secret"),
        )
        .expect("URL")
        // Default settings follow up to ten redirects.
        .http_client(reqwest::Client::builder()),
    );
    let err = authorizer
        .authorize::<()>(&access)
        .await
        .expect_err("redirected");
    assert_eq!(err.kind(), AuthErrorKind::IntrospectionUnavailable);
    assert_eq!(
        issuer.request_count(INTROSPECT),
        0,
        "the token and the secret followed the redirect"
    );
    server.abort();
}

/// An introspection endpoint of the test's own: answers `answer(now)` after `delay`, and
/// counts the requests it received.
struct Endpoint {
    url: String,
    requests: Arc<AtomicUsize>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Endpoint {
    async fn start(delay: Duration, answer: Value) -> Self {
        let requests = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&requests);
        let app = Router::new().route(
            "/introspect",
            post(move || {
                let (answer, counted) = (answer.clone(), Arc::clone(&counted));
                async move {
                    counted.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(delay).await;
                    axum::Json(answer)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/introspect", listener.local_addr().expect("addr"));
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            url,
            requests,
            server,
        }
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    fn introspection(&self) -> Introspection {
        Introspection::new(&self.url, ClientAuth::basic("api", "api-secret")).expect("URL")
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.server.abort();
    }
}

const ISSUER: &str = "https://issuer.example";

/// An active answer for `ISSUER`'s client `app`, expiring at `exp`.
fn active(exp: u64) -> Value {
    serde_json::json!({
        "active": true, "iss": ISSUER, "client_id": "app", "sub": "u-1",
        "token_use": "access", "scope": "read", "exp": exp,
    })
}

fn generic(
    introspection: Introspection,
) -> tokengate::AuthorizerBuilder<
    tokengate::builder::IssuerSet,
    tokengate::builder::AudienceSet,
    tokengate::builder::IntrospectionOnly,
> {
    Authorizer::builder(Profile::generic())
        .issuer(ISSUER)
        .client_id("app")
        .introspection(introspection)
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

#[tokio::test]
async fn an_answer_is_trusted_until_the_tokens_exp_when_that_comes_first() {
    let now = unix_now();
    let endpoint = Endpoint::start(Duration::ZERO, active(now + 5)).await;
    let clock = ManualClock::new(now);
    let authorizer = generic(
        endpoint
            .introspection()
            .positive_ttl(Duration::from_secs(60)),
    )
    .clock(clock.clone())
    .leeway(Duration::ZERO)
    .build();
    authorizer
        .authorize::<()>("opaque-1")
        .await
        .expect("active");
    authorizer
        .authorize::<()>("opaque-1")
        .await
        .expect("cached");
    assert_eq!(endpoint.requests(), 1);
    clock.advance(6);
    let err = authorizer
        .authorize::<()>("opaque-1")
        .await
        .expect_err("past exp");
    assert_eq!(err.kind(), AuthErrorKind::Expired);
    assert_eq!(endpoint.requests(), 2, "the cached answer outlived exp");
}

#[tokio::test]
async fn a_dpop_token_type_without_a_key_binding_is_refused() {
    let mut answer = active(unix_now() + 600);
    answer["token_type"] = "DPoP".into();
    let endpoint = Endpoint::start(Duration::ZERO, answer.clone()).await;
    let err = generic(endpoint.introspection())
        .build()
        .authorize::<()>("opaque-dpop")
        .await
        .expect_err("DPoP without cnf.jkt");
    assert_eq!(err.kind(), AuthErrorKind::MalformedClaim);

    answer["cnf"] = serde_json::json!({"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"});
    let bound = Endpoint::start(Duration::ZERO, answer).await;
    let claims = generic(bound.introspection())
        .build()
        .authorize::<()>("opaque-dpop")
        .await
        .expect("a DPoP-bound access token");
    assert_eq!(
        claims.dpop_jkt(),
        Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I")
    );
}

#[tokio::test]
async fn a_flood_of_made_up_tokens_costs_the_issuer_at_most_max_in_flight_requests() {
    let endpoint = Endpoint::start(Duration::from_secs(3), active(unix_now() + 600)).await;
    let authorizer = generic(endpoint.introspection().max_in_flight(2)).build();
    let slow: Vec<_> = (0..2)
        .map(|i| {
            let authorizer = authorizer.clone();
            tokio::spawn(async move { authorizer.authorize::<()>(&format!("slow-{i}")).await })
        })
        .collect();
    while endpoint.requests() < 2 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let started = std::time::Instant::now();
    for i in 0..50 {
        let err = authorizer
            .authorize::<()>(&format!("flood-{i}"))
            .await
            .expect_err("no room");
        assert_eq!(err.kind(), AuthErrorKind::IntrospectionUnavailable);
        assert_eq!(err.status(), 503);
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "refusals waited"
    );
    assert_eq!(endpoint.requests(), 2);
    for task in slow {
        task.await.expect("task").expect("active once answered");
    }
    // Room again once they are answered.
    authorizer.authorize::<()>("later").await.expect("active");
    assert_eq!(endpoint.requests(), 3);
}

#[test]
fn outside_tokio_an_opaque_token_is_unavailable_not_a_panic() {
    let authorizer = Authorizer::builder(Profile::generic())
        .issuer(ISSUER)
        .client_id("app")
        .introspection(
            Introspection::new(
                "http://127.0.0.1:9/introspect",
                ClientAuth::basic("api", "api-secret"),
            )
            .expect("URL"),
        )
        .build();
    let err = no_tokio::block_on_without_tokio(authorizer.authorize::<()>("opaque-1"))
        .expect_err("no runtime");
    assert_eq!(err.kind(), AuthErrorKind::IntrospectionUnavailable);
}
