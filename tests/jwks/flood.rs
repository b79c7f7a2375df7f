//! Unknown `kid`s: one shared refetch, at most one per cooldown, never on a request's whim.

use std::sync::Arc;

use serde_json::json;
use tokengate::AuthErrorKind;

use crate::support::{b64, jwks};
use crate::{JwksServer, authorizer, claims, clock, ec_key};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_concurrent_requests_with_a_new_kid_cause_exactly_one_fetch() {
    let old = ec_key("old");
    let new = ec_key("new");
    let server = JwksServer::start(jwks(&[&old])).await;
    let clock = clock();
    let authorizer = authorizer(&server, &clock);
    authorizer.ready().await.expect("keys at startup");
    assert_eq!(server.jwks_hits(), 1);

    server.set_jwks(jwks(&[&old, &new]));
    clock.advance(31);
    let token = Arc::new(new.token(&claims(&server.base, &clock)));
    let mut tasks = Vec::with_capacity(10_000);
    for _ in 0..10_000 {
        let authorizer = authorizer.clone();
        let token = Arc::clone(&token);
        tasks.push(tokio::spawn(async move {
            authorizer.authorize::<()>(&token).await.map(|_| ())
        }));
    }
    let mut accepted = 0;
    for task in tasks {
        task.await.expect("task").expect("every request validates");
        accepted += 1;
    }
    assert_eq!(accepted, 10_000);
    assert_eq!(
        server.jwks_hits(),
        2,
        "one fetch at startup, exactly one for the new kid"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_kids_over_five_simulated_minutes_fetch_at_most_once_per_cooldown() {
    let key = ec_key("real");
    let server = JwksServer::start(jwks(&[&key])).await;
    let clock = clock();
    let authorizer = authorizer(&server, &clock);
    authorizer.ready().await.expect("keys at startup");

    let payload = b64(serde_json::to_vec(&claims(&server.base, &clock)).expect("json"));
    let signature = b64([7u8; 64]);
    let mut unknown = 0;
    // 100,000 tokens, 3 ms of simulated time apart: five minutes in all.
    for i in 0..100_000u32 {
        let header = b64(format!(
            r#"{{"alg":"ES256","kid":"random-{i:x}-{}"}}"#,
            i.wrapping_mul(2_654_435_761)
        ));
        let token = format!("{header}.{payload}.{signature}");
        let err = authorizer.authorize::<()>(&token).await.unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::UnknownKey);
        unknown += 1;
        clock.advance_millis(3);
    }
    assert_eq!(unknown, 100_000);
    let refetches = server.jwks_hits() - 1;
    // 300 s of traffic, a 30 s cooldown: at most one refetch per cooldown window.
    assert!(refetches >= 1, "unknown kids do trigger refetches");
    assert!(
        refetches <= 11,
        "{refetches} refetches in 300 s with a 30 s cooldown"
    );
    // And the real key still works throughout.
    let token = key.token(&claims(&server.base, &clock));
    authorizer
        .authorize::<()>(&token)
        .await
        .expect("known kid validates");
}

#[tokio::test]
async fn unknown_kid_within_the_cooldown_is_refused_at_once_without_a_fetch() {
    let old = ec_key("old");
    let new = ec_key("new");
    let server = JwksServer::start(jwks(&[&old])).await;
    let clock = clock();
    let authorizer = authorizer(&server, &clock);
    authorizer.ready().await.expect("keys at startup");
    server.set_jwks(jwks(&[&old, &new]));

    let token = new.token(&claims(&server.base, &clock));
    let err = authorizer.authorize::<()>(&token).await.unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::UnknownKey);
    assert_eq!(err.status(), 401);
    assert_eq!(server.jwks_hits(), 1, "no fetch inside the cooldown");

    clock.advance(30);
    authorizer
        .authorize::<()>(&token)
        .await
        .expect("after the cooldown the new key is fetched");
    assert_eq!(server.jwks_hits(), 2);
}

#[tokio::test]
async fn a_kid_still_unknown_after_the_refetch_is_refused() {
    let key = ec_key("k1");
    let stranger = ec_key("k2");
    let server = JwksServer::start(jwks(&[&key])).await;
    let clock = clock();
    let authorizer = authorizer(&server, &clock);
    authorizer.ready().await.expect("keys");
    clock.advance(31);
    let token = stranger
        .token(&json!({"iss": server.base, "aud": crate::AUDIENCE, "exp": 4_000_000_000u64}));
    let err = authorizer.authorize::<()>(&token).await.unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::UnknownKey);
    assert_eq!(server.jwks_hits(), 2, "one refetch, then the answer");
}
