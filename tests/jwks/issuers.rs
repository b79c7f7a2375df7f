//! Several issuers in one authorizer: the token's `iss` picks among an allowlist only, and no
//! URL is ever taken from a token.

use serde_json::json;
use tokengate::{AuthErrorKind, Authorizer, ErrorKind, KeySet, Profile};

use crate::support::{AUDIENCE, jwks};
use crate::{JwksServer, authorizer, claims, clock, ec_key};

#[tokio::test]
async fn each_issuer_validates_with_its_own_keys_and_policy() {
    let key_a = ec_key("a");
    let key_b = ec_key("b");
    let a = JwksServer::start(jwks(&[&key_a])).await;
    let b = JwksServer::start(jwks(&[&key_b])).await;
    let clock = clock();
    let both = Authorizer::any_of([authorizer(&a, &clock), authorizer(&b, &clock)])
        .expect("distinct issuers");

    let from_a = both
        .authorize::<()>(&key_a.token(&claims(&a.base, &clock)))
        .await
        .expect("issuer a");
    assert_eq!(from_a.issuer(), a.base);
    let from_b = both
        .authorize::<()>(&key_b.token(&claims(&b.base, &clock)))
        .await
        .expect("issuer b");
    assert_eq!(from_b.issuer(), b.base);
    assert_eq!(both.health().len(), 2);
}

#[tokio::test]
async fn an_unknown_issuer_is_refused_without_any_fetch() {
    let key = ec_key("a");
    let a = JwksServer::start(jwks(&[&key])).await;
    let b = JwksServer::start(jwks(&[&key])).await;
    let attacker = JwksServer::start(jwks(&[&key])).await;
    let clock = clock();
    let both = Authorizer::any_of([authorizer(&a, &clock), authorizer(&b, &clock)]).expect("ok");

    let token = key.token(&claims(&attacker.base, &clock));
    let err = both.authorize::<()>(&token).await.unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::WrongIssuer);
    assert_eq!(a.jwks_hits() + b.jwks_hits() + attacker.jwks_hits(), 0);
    assert_eq!(attacker.discovery_hits(), 0);
}

#[tokio::test]
async fn a_token_signed_by_another_issuers_key_is_refused() {
    let key_a = ec_key("a");
    let key_b = ec_key("b");
    let a = JwksServer::start(jwks(&[&key_a])).await;
    let b = JwksServer::start(jwks(&[&key_b])).await;
    let clock = clock();
    let both = Authorizer::any_of([authorizer(&a, &clock), authorizer(&b, &clock)]).expect("ok");
    // Claims say issuer a, but b's key signed it.
    let token = key_b.token(&claims(&a.base, &clock));
    let err = both.authorize::<()>(&token).await.unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::UnknownKey);
    assert_eq!(
        b.jwks_hits(),
        0,
        "issuer b's keys are never consulted for issuer a"
    );
}

#[tokio::test]
async fn key_urls_in_the_token_header_are_never_fetched() {
    let key = ec_key("k");
    let server = JwksServer::start(jwks(&[&key])).await;
    let elsewhere = JwksServer::start(jwks(&[&key])).await;
    let clock = clock();
    let authorizer = authorizer(&server, &clock);
    let header = json!({
        "alg": "ES256", "kid": "unknown-kid",
        "jku": elsewhere.jwks_uri(), "x5u": elsewhere.jwks_uri(),
    });
    let token = key.sign_token(&header, &claims(&server.base, &clock));
    let err = authorizer.authorize::<()>(&token).await.unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::UnknownKey);
    assert_eq!(elsewhere.jwks_hits() + elsewhere.other_hits(), 0);
}

#[test]
fn issuers_that_cannot_be_told_apart_cannot_be_combined() {
    let keys = || KeySet::default();
    let skipping = Authorizer::builder(Profile::generic())
        .skip_issuer_check()
        .audience(AUDIENCE)
        .keys(keys())
        .build();
    let named = |iss: &str| {
        Authorizer::builder(Profile::generic())
            .issuer(iss)
            .audience(AUDIENCE)
            .keys(keys())
            .build()
    };
    for (combo, what) in [
        (
            vec![skipping.clone(), named("https://a")],
            "skipped issuer check",
        ),
        (
            vec![named("https://a"), named("https://a")],
            "duplicate issuer",
        ),
        (vec![], "nothing"),
    ] {
        let err = Authorizer::any_of(combo).unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::Combine(_)), "{what}: {err}");
    }
}
