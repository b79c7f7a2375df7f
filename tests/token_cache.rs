//! The verified-token cache never turns a refusal into an acceptance: expiry, key rotation and
//! removal, another policy, a forged twin, an outage each still refuse.

#[path = "support/jwks_server.rs"]
mod jwks_server;
#[path = "support/mod.rs"]
mod support;

use std::time::Duration;

use jwks_server::{JwksServer, Mode};
use serde_json::json;
use support::{AUDIENCE, TestKey, b64, jwks};
use tokengate::{
    Algorithm, AuthErrorKind, Authorizer, Clock, KeySet, ManualClock, Profile, RemoteJwks,
};

const ISS: &str = "https://issuer.example";

fn key() -> TestKey {
    TestKey::generate(Algorithm::ES256, "k1")
}

fn claims(clock: &ManualClock, lifetime: u64) -> serde_json::Value {
    let now = clock.now_unix();
    json!({"iss": ISS, "aud": AUDIENCE, "sub": "alice", "iat": now, "exp": now + lifetime,
        "tenant": "acme"})
}

fn static_authorizer(key: &TestKey, clock: &ManualClock, audience: &str) -> Authorizer {
    Authorizer::builder(Profile::generic())
        .issuer(ISS)
        .audience(audience)
        .keys(KeySet::from_jwks_json(&jwks(&[key])).expect("jwks"))
        .clock(clock.clone())
        .build()
}

fn entries(authorizer: &Authorizer) -> u64 {
    authorizer
        .token_cache_usage()
        .expect("cache on by default")
        .0
}

#[tokio::test]
async fn a_validated_token_is_remembered_and_served_again() {
    let key = key();
    let clock = ManualClock::starting_now();
    let auth = static_authorizer(&key, &clock, AUDIENCE);
    let token = key.token(&claims(&clock, 3600));
    let first = auth.authorize::<()>(&token).await.expect("valid");
    assert_eq!(entries(&auth), 1);
    let second = auth.authorize::<()>(&token).await.expect("still valid");
    assert_eq!(first.subject(), second.subject());
    assert_eq!(entries(&auth), 1);
}

#[tokio::test]
async fn refusals_are_never_cached() {
    let key = key();
    let clock = ManualClock::starting_now();
    let auth = static_authorizer(&key, &clock, AUDIENCE);
    let mut wrong = claims(&clock, 3600);
    wrong["aud"] = json!("someone-else");
    let token = key.token(&wrong);
    for _ in 0..2 {
        let err = auth.authorize::<()>(&token).await.unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::WrongAudience);
    }
    assert_eq!(entries(&auth), 0);
}

#[tokio::test]
async fn a_cached_token_expires_on_the_authorizers_clock() {
    let key = key();
    let clock = ManualClock::starting_now();
    let auth = static_authorizer(&key, &clock, AUDIENCE);
    let token = key.token(&claims(&clock, 60));
    auth.authorize::<()>(&token).await.expect("valid");
    clock.advance(60 + 30);
    let err = auth.authorize::<()>(&token).await.unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::Expired);
    assert_eq!(entries(&auth), 0, "the expired entry is dropped");
}

#[tokio::test]
async fn a_clock_set_back_before_nbf_is_checked_again() {
    let key = key();
    let clock = ManualClock::starting_now();
    let auth = static_authorizer(&key, &clock, AUDIENCE);
    let mut c = claims(&clock, 3600);
    c["nbf"] = json!(clock.now_unix());
    let token = key.token(&c);
    auth.authorize::<()>(&token).await.expect("valid");
    clock.rewind(3600);
    let err = auth.authorize::<()>(&token).await.unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::NotYetValid);
}

#[tokio::test]
async fn another_policy_never_sees_this_authorizers_cache() {
    let key = key();
    let clock = ManualClock::starting_now();
    let token = key.token(&claims(&clock, 3600));
    let ours = static_authorizer(&key, &clock, AUDIENCE);
    ours.authorize::<()>(&token).await.expect("valid here");
    let stricter = static_authorizer(&key, &clock, "https://other-api.example");
    let err = stricter.authorize::<()>(&token).await.unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::WrongAudience);
}

#[tokio::test]
async fn a_forged_twin_with_a_cached_tokens_signature_is_refused() {
    let key = key();
    let clock = ManualClock::starting_now();
    let auth = static_authorizer(&key, &clock, AUDIENCE);
    let token = key.token(&claims(&clock, 3600));
    auth.authorize::<()>(&token).await.expect("valid");
    // Same header and signature (same hash tail), another payload: another string.
    let mut forged_claims = claims(&clock, 3600);
    forged_claims["sub"] = json!("mallory");
    let parts: Vec<&str> = token.split('.').collect();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64(serde_json::to_vec(&forged_claims).expect("json")),
        parts[2]
    );
    let err = auth.authorize::<()>(&forged).await.unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::InvalidSignature);
    // And a token one character longer or shorter is another string too.
    let err = auth
        .authorize::<()>(&token[..token.len() - 1])
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.kind(),
            AuthErrorKind::InvalidSignature | AuthErrorKind::Malformed
        ),
        "{err:?}"
    );
}

#[derive(serde::Deserialize)]
struct Tenant {
    tenant: String,
}

#[tokio::test]
async fn another_claims_type_reads_its_own_claims() {
    let key = key();
    let clock = ManualClock::starting_now();
    let auth = static_authorizer(&key, &clock, AUDIENCE);
    let token = key.token(&claims(&clock, 3600));
    auth.authorize::<()>(&token).await.expect("valid");
    let typed = auth.authorize::<Tenant>(&token).await.expect("valid");
    assert_eq!(typed.tenant, "acme");
    let again = auth.authorize::<Tenant>(&token).await.expect("cached");
    assert_eq!(again.tenant, "acme");
}

#[tokio::test]
async fn the_cache_can_be_turned_off() {
    let key = key();
    let clock = ManualClock::starting_now();
    let auth = Authorizer::builder(Profile::generic())
        .issuer(ISS)
        .audience(AUDIENCE)
        .keys(KeySet::from_jwks_json(&jwks(&[&key])).expect("jwks"))
        .clock(clock.clone())
        .disable_token_cache()
        .build();
    let token = key.token(&claims(&clock, 3600));
    auth.authorize::<()>(&token).await.expect("valid");
    assert_eq!(auth.token_cache_usage(), None);
}

#[tokio::test]
async fn the_cache_stays_within_its_byte_budget() {
    let key = key();
    let clock = ManualClock::starting_now();
    let budget = 64 * 1024;
    let auth = Authorizer::builder(Profile::generic())
        .issuer(ISS)
        .audience(AUDIENCE)
        .keys(KeySet::from_jwks_json(&jwks(&[&key])).expect("jwks"))
        .clock(clock.clone())
        .token_cache_max_bytes(budget)
        .build();
    for i in 0..500 {
        let mut c = claims(&clock, 3600);
        c["jti"] = json!(format!("token-{i}"));
        auth.authorize::<()>(&key.token(&c)).await.expect("valid");
    }
    let (count, bytes) = auth.token_cache_usage().expect("on");
    assert!(
        bytes <= budget,
        "{bytes} bytes held for a {budget}-byte budget"
    );
    assert!(count > 0 && count < 500, "{count} entries");
}

fn remote(server: &JwksServer, clock: &ManualClock) -> Authorizer {
    Authorizer::builder(Profile::generic())
        .issuer(ISS)
        .audience(AUDIENCE)
        .remote_jwks(
            RemoteJwks::from_uri(server.jwks_uri())
                .expect("url")
                .timeout(Duration::from_millis(300))
                .refresh_check_interval(Duration::from_millis(5)),
        )
        .clock(clock.clone())
        .build()
        .expect("valid authorizer settings")
}

async fn eventually(what: &str, condition: impl Fn() -> bool) {
    for _ in 0..1000 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("timed out waiting for: {what}");
}

#[tokio::test]
async fn a_cached_token_of_a_removed_key_is_refused_once_the_set_changes() {
    let old = key();
    let new = TestKey::generate(Algorithm::ES256, "k2");
    let server = JwksServer::start(jwks(&[&old, &new])).await;
    let clock = ManualClock::starting_now();
    let auth = remote(&server, &clock);
    let token = old.token(&claims(&clock, 2 * 86_400));
    auth.authorize::<()>(&token).await.expect("valid");
    auth.authorize::<()>(&token).await.expect("cached");

    server.set_jwks(jwks(&[&new]));
    clock.advance(10 * 60);
    eventually("the refreshed set", || {
        auth.health()[0].kids == ["k2".to_owned()]
    })
    .await;
    let err = auth.authorize::<()>(&token).await.unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::UnknownKey);
}

#[tokio::test]
async fn a_cached_token_gets_503_once_the_keys_are_past_their_staleness_bound() {
    let key = key();
    let server = JwksServer::start(jwks(&[&key])).await;
    let clock = ManualClock::starting_now();
    let auth = remote(&server, &clock);
    let token = key.token(&claims(&clock, 3 * 86_400));
    auth.authorize::<()>(&token).await.expect("valid");

    server.set_mode(Mode::Status(500));
    clock.advance(25 * 3600);
    let err = auth.authorize::<()>(&token).await.unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::KeysUnavailable);
}
