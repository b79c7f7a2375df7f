//! Attacks on where keys come from: key URLs and keys carried in the token's header, a key
//! removed upstream, and hostile key sets (short RSA keys, encryption keys, duplicate kids,
//! symmetric keys, ten thousand keys, a body of megabytes).

use std::time::Duration;

use aws_lc_rs::signature::{self, RsaPublicKeyComponents};
use http::{Request, StatusCode};
use serde_json::{Value, json};
use tokengate::{
    Algorithm, AuthErrorKind::*, Authorizer, Clock, ErrorKind, JwtAuthLayer, KeySet, ManualClock,
    Profile, RemoteJwks, VerifyingKey,
};
use tower::ServiceExt as _;

use crate::jwks_server::{JwksServer, Mode};
use crate::support::{AUDIENCE, TestKey, b64, jwks};
use crate::{
    T0, access, access_builder, access_claims, attacker_ec, ec256, keyset_of, refuses, rsa, text,
    unb64,
};

/// A generic authorizer for `server`'s issuer, keys from its JWKS URL.
fn remote(server: &JwksServer, clock: &ManualClock) -> Authorizer {
    let jwks = RemoteJwks::from_uri(server.jwks_uri())
        .expect("loopback uri")
        .refresh_check_interval(Duration::from_millis(5))
        .timeout(Duration::from_secs(5));
    Authorizer::builder(Profile::generic())
        .issuer(&server.base)
        .audience(AUDIENCE)
        .remote_jwks(jwks)
        .clock(clock.clone())
        .build()
        .expect("valid authorizer settings")
}

/// Generic claims for `issuer`, valid for two days from the clock's now.
fn claims_for(issuer: &str, clock: &ManualClock) -> Value {
    let now = clock.now_unix();
    json!({"iss": issuer, "aud": AUDIENCE, "sub": "user-1", "iat": now, "exp": now + 2 * 86_400})
}

/// Polls `condition` for up to five seconds.
async fn eventually(what: &str, condition: impl Fn() -> bool) {
    for _ in 0..1000 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("timed out waiting for: {what}");
}

// ---- keys and key URLs named by the token ------------------------------------------------------

/// Runs one header-URL attack: `extra(evil)` is merged into the header of tokens signed by
/// the attacker's key, which `evil` publishes. The authorizer fetches from `legit` only.
async fn header_key_source_attack(extra: impl Fn(&JwksServer) -> Value) {
    let legit = JwksServer::start(jwks(&[ec256()])).await;
    let evil = JwksServer::start(jwks(&[attacker_ec()])).await;
    // Make the attacker's server look as good as it can: its discovery names the legit issuer.
    evil.set_discovery_issuer(&legit.base);
    let clock = ManualClock::starting_now();
    let auth = remote(&legit, &clock);
    auth.ready().await.expect("legit keys");
    let claims = claims_for(&legit.base, &clock);
    let extra = extra(&evil);
    let header = |kid: Option<&str>| {
        let mut header = json!({"alg": "ES256"});
        if let Some(kid) = kid {
            header["kid"] = json!(kid);
        }
        for (name, value) in extra.as_object().expect("object") {
            header[name] = value.clone();
        }
        header
    };

    // The attacker's kid: unknown here, whatever the header says about where to find it.
    let token = attacker_ec().sign_token(&header(Some(&attacker_ec().kid)), &claims);
    refuses(&auth, &token, UnknownKey).await;
    // After the cooldown an unknown kid refetches, from the configured URL only.
    clock.advance(31);
    refuses(&auth, &token, UnknownKey).await;
    assert_eq!(legit.jwks_hits(), 2, "startup, then one refetch");
    // The trusted key's kid, or no kid at all, with the attacker's signature.
    let token = attacker_ec().sign_token(&header(Some(&ec256().kid)), &claims);
    refuses(&auth, &token, InvalidSignature).await;
    let token = attacker_ec().sign_token(&header(None), &claims);
    refuses(&auth, &token, InvalidSignature).await;
    // A control: the trusted key with the same header is accepted, still without a fetch
    // from the attacker.
    let token = ec256().sign_token(&header(Some(&ec256().kid)), &claims);
    crate::accepted(auth.authorize::<()>(&token).await);

    assert_eq!(evil.jwks_hits(), 0, "the attacker's key set was fetched");
    assert_eq!(
        evil.discovery_hits(),
        0,
        "the attacker's discovery was fetched"
    );
    assert_eq!(evil.other_hits(), 0, "another attacker URL was fetched");
}

#[tokio::test]
async fn jku_header_pointing_to_the_attackers_key_set() {
    header_key_source_attack(|evil| json!({ "jku": evil.jwks_uri() })).await;
}

#[tokio::test]
async fn x5u_header_pointing_to_the_attackers_certificate() {
    header_key_source_attack(|evil| json!({ "x5u": format!("{}/cert.pem", evil.base) })).await;
}

#[tokio::test]
async fn jwk_header_embedding_the_attackers_key() {
    header_key_source_attack(|_| json!({ "jwk": attacker_ec().jwk() })).await;
}

#[tokio::test]
async fn x5c_header_with_the_attackers_certificate_chain() {
    header_key_source_attack(|evil| {
        json!({
            "x5c": [crate::std_b64(&[0x30, 0x82, 0x01, 0x0a, 0x02, 0x82, 0x01, 0x01, 0x00])],
            "x5t": b64([0u8; 20]),
            "x5t#S256": b64([0u8; 32]),
            "x5u": format!("{}/x5u", evil.base),
        })
    })
    .await;
}

#[tokio::test]
async fn every_key_source_header_at_once_with_a_static_key_set() {
    // With static keys there is nothing to fetch at all: the headers are simply ignored.
    let header = json!({
        "alg": "ES256",
        "kid": attacker_ec().kid,
        "jku": "http://127.0.0.1:9/jwks.json",
        "x5u": "http://127.0.0.1:9/cert.pem",
        "jwk": attacker_ec().jwk(),
        "x5c": ["MIIB"],
    });
    let token = attacker_ec().sign_token(&header, &access_claims());
    refuses(&access(), &token, UnknownKey).await;
}

// ---- a key removed upstream --------------------------------------------------------------------

#[tokio::test]
async fn token_signed_by_a_key_removed_in_a_rotation() {
    let old = TestKey::generate(Algorithm::ES256, "old");
    let new = TestKey::generate(Algorithm::ES256, "new");
    let server = JwksServer::start(jwks(&[&old, &new])).await;
    let clock = ManualClock::starting_now();
    let auth = remote(&server, &clock);
    auth.ready().await.expect("keys");
    let old_token = old.token(&claims_for(&server.base, &clock));
    crate::accepted(auth.authorize::<()>(&old_token).await);

    // The issuer rotates the old key out (say it leaked); the background refresh picks it up.
    server.set_jwks(jwks(&[&new]));
    clock.advance(10 * 60);
    eventually("the rotated set in place", || {
        auth.health()[0].kids == ["new".to_owned()]
    })
    .await;
    refuses(&auth, &old_token, UnknownKey).await;
    // Past the cooldown the unknown kid refetches, and is still unknown.
    clock.advance(31);
    let hits = server.jwks_hits();
    refuses(&auth, &old_token, UnknownKey).await;
    assert_eq!(server.jwks_hits(), hits + 1);
    // A control: the remaining key still works.
    let new_token = new.token(&claims_for(&server.base, &clock));
    crate::accepted(auth.authorize::<()>(&new_token).await);
}

// ---- hostile key sets --------------------------------------------------------------------------

/// A 1024-bit RSA public key (generated with OpenSSL for this suite) and a Cognito access
/// token it signed with RS256, valid at [`T0`].
const SHORT_N: &str = "uUdY--So76WKJuYhVzh32Yf9uQBayk_NSuw1uX_eO5vLNm5gTWpGe_E4q6Z0DuImTGznEUmbftYC0WdrNLJy1NE2xiNiCttoUowczym6HYUktIaHDUoeN2DEu9ceyv3KI2aICu4B4cfXkSAqGjutmo-odiyXZ57P7fOxM6EAMO8";
const SHORT_HEADER: &str = r#"{"alg":"RS256","kid":"short-1024"}"#;
const SHORT_PAYLOAD: &str = r#"{"iss":"https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TestPool","client_id":"3n4b5urk1ft4fl3mg5e62d9ado","token_use":"access","scope":"api/read","iat":1749999990,"exp":1750003600,"sub":"u-1"}"#;
const SHORT_SIGNATURE: &str = "E_pgdtRUTdH-TzDo03KtXqgQFBKqYBOtUHI7ARPIJpWdZdh7yco7npFDuptuaknHMj9znAP0X6dJ86-YBFT7qEHLe77TG5zS8MuS6p8IS_fdyj7ePtQ5HS_VN1A9zZllse_lt-g0jqCc_Td_8GFHLSAEYtyivP2XnwEQn8YlBi0";

#[tokio::test]
async fn short_rsa_key_of_1024_bits() {
    assert_eq!(T0, 1_750_000_000, "the embedded token is valid at T0");
    let input = format!("{}.{}", b64(SHORT_HEADER), b64(SHORT_PAYLOAD));
    let signature = unb64(SHORT_SIGNATURE);
    let n = unb64(SHORT_N);
    let e = [1u8, 0, 1];
    // The token really is signed by the 1024-bit key (checked with legacy-size verification).
    RsaPublicKeyComponents {
        n: n.as_slice(),
        e: &e[..],
    }
    .verify(
        &signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
        input.as_bytes(),
        &signature,
    )
    .expect("the embedded signature verifies with the short key");
    assert_eq!(n.len() * 8, 1024);

    let short = json!({"kty": "RSA", "kid": "short-1024", "use": "sig", "alg": "RS256",
        "n": SHORT_N, "e": "AQAB"});
    let keys = keyset_of(&[short.clone(), rsa().jwk()]);
    let skipped = keys.skipped();
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].kid.as_deref(), Some("short-1024"));
    assert!(skipped[0].reason.contains("1024"), "{}", skipped[0].reason);
    let token = format!("{input}.{SHORT_SIGNATURE}");
    refuses(&access_builder(keys).build(), &token, UnknownKey).await;
    // Alone in a set, it leaves nothing to verify with; as raw material it is refused.
    let alone = serde_json::to_vec(&json!({ "keys": [short] })).expect("json");
    assert!(matches!(
        KeySet::from_jwks_json(&alone).unwrap_err().kind(),
        ErrorKind::NoUsableKeys
    ));
    let err = VerifyingKey::rsa(&n, &e, None).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::KeyRejected(_)), "{err}");
}

#[tokio::test]
async fn encryption_key_use_enc_or_key_ops_without_verify() {
    let enc = TestKey::generate(Algorithm::ES256, "enc");
    let ops = TestKey::generate(Algorithm::ES256, "ops");
    let mut enc_jwk = enc.jwk();
    enc_jwk["use"] = json!("enc");
    let mut ops_jwk = ops.jwk_without_alg();
    ops_jwk["key_ops"] = json!(["encrypt", "wrapKey"]);
    let keys = keyset_of(&[enc_jwk, ops_jwk, rsa().jwk()]);
    assert_eq!(keys.skipped().len(), 2);
    let auth = access_builder(keys).build();
    refuses(&auth, &enc.token(&access_claims()), UnknownKey).await;
    refuses(&auth, &ops.token(&access_claims()), UnknownKey).await;
}

#[tokio::test]
async fn duplicate_kids_naming_two_different_keys() {
    let first = TestKey::generate(Algorithm::ES256, "dup");
    let second = TestKey::generate(Algorithm::ES256, "dup");
    let auth = access_builder(keyset_of(&[first.jwk(), second.jwk(), rsa().jwk()])).build();
    // Either key's token: which key was meant is ambiguous, so neither is accepted.
    refuses(&auth, &first.token(&access_claims()), NoMatchingKey).await;
    refuses(&auth, &second.token(&access_claims()), NoMatchingKey).await;
    // The same with RSA keys, one of them the trusted key under a second name.
    let mut twin = rsa().jwk();
    twin["kid"] = json!("rsa-dup");
    let other = TestKey::generate(Algorithm::RS256, "rsa-dup");
    let auth = access_builder(keyset_of(&[twin, other.jwk()])).build();
    refuses(&auth, &other.token(&access_claims()), NoMatchingKey).await;
    let header = json!({"alg": "RS256", "kid": "rsa-dup"});
    refuses(
        &auth,
        &rsa().sign_token(&header, &access_claims()),
        NoMatchingKey,
    )
    .await;
}

#[tokio::test]
async fn symmetric_keys_in_the_key_set_are_skipped() {
    let secret = b"a shared secret the attacker guessed";
    let oct = json!({"kty": "oct", "kid": "hmac", "alg": "HS256", "use": "sig", "k": b64(secret)});
    let mut rsa_as_hmac = rsa().jwk();
    rsa_as_hmac["kid"] = json!("rsa-hs");
    rsa_as_hmac["alg"] = json!("HS256");
    let keys = keyset_of(&[oct.clone(), rsa_as_hmac, ec256().jwk()]);
    let skipped: Vec<_> = keys
        .skipped()
        .iter()
        .map(|s| s.kid.clone().unwrap_or_default())
        .collect();
    assert_eq!(skipped, ["hmac", "rsa-hs"]);
    let auth = access_builder(keys).build();
    // HS256 keyed with the published secret: refused as symmetric, before any key.
    let input = format!(
        "{}.{}",
        b64(text(&json!({"alg": "HS256", "kid": "hmac"}))),
        b64(text(&access_claims()))
    );
    let tag = aws_lc_rs::hmac::sign(
        &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret),
        input.as_bytes(),
    );
    refuses(
        &auth,
        &format!("{input}.{}", b64(tag.as_ref())),
        SymmetricAlgorithm,
    )
    .await;
    // An asymmetric algorithm naming the skipped keys: they are not in the set.
    let header = json!({"alg": "RS256", "kid": "rsa-hs"});
    refuses(
        &auth,
        &rsa().sign_token(&header, &access_claims()),
        UnknownKey,
    )
    .await;
    let header = json!({"alg": "ES256", "kid": "hmac"});
    refuses(
        &auth,
        &attacker_ec().sign_token(&header, &access_claims()),
        UnknownKey,
    )
    .await;
    // A set of symmetric keys only has nothing to verify with.
    let only = serde_json::to_vec(&json!({ "keys": [oct] })).expect("json");
    assert!(matches!(
        KeySet::from_jwks_json(&only).unwrap_err().kind(),
        ErrorKind::NoUsableKeys
    ));
}

#[tokio::test]
async fn private_key_material_in_the_key_set_is_skipped() {
    let mut leaked = ec256().jwk();
    leaked["kid"] = json!("leaked");
    leaked["d"] = json!(b64([1u8; 32]));
    let keys = keyset_of(&[leaked, rsa().jwk()]);
    assert_eq!(keys.skipped().len(), 1);
    let header = json!({"alg": "ES256", "kid": "leaked"});
    refuses(
        &access_builder(keys).build(),
        &ec256().sign_token(&header, &access_claims()),
        UnknownKey,
    )
    .await;
}

#[tokio::test]
async fn rsa_key_bound_to_one_algorithm_refuses_another() {
    let mut ps = rsa().jwk();
    ps["alg"] = json!("PS256");
    let auth = access_builder(keyset_of(&[ps])).build();
    // The same key, a valid RS256 signature: the JWK allows PS256 only.
    refuses(&auth, &rsa().token(&access_claims()), NoMatchingKey).await;
    let header = json!({"alg": "PS256", "kid": rsa().kid});
    crate::accepted(
        auth.authorize::<()>(&rsa().sign_token(&header, &access_claims()))
            .await,
    );
}

#[tokio::test]
async fn key_set_nested_ten_thousand_deep() {
    let deep = format!(
        r#"{{"keys":[{}{}]}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let err = KeySet::from_jwks_json(deep.as_bytes()).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidKeySet(_)), "{err}");
}

/// `count` small JWKs with distinct kids.
fn many_keys(count: usize) -> Vec<u8> {
    let keys: Vec<Value> = (0..count)
        .map(|i| json!({"kty": "oct", "kid": format!("k{i}"), "k": "AA"}))
        .collect();
    serde_json::to_vec(&json!({ "keys": keys })).expect("json")
}

/// An app behind `JwtAuthLayer` with `auth`, answering 200 to whoever gets through.
fn app(auth: Authorizer) -> axum::Router {
    axum::Router::new()
        .route("/", axum::routing::get(|| async { "through" }))
        .layer(JwtAuthLayer::new(auth))
}

async fn status_through_layer(auth: Authorizer, token: &str) -> (StatusCode, http::HeaderMap) {
    let request = Request::builder()
        .uri("/")
        .header("authorization", format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .expect("request");
    let response = app(auth).oneshot(request).await.expect("infallible");
    (response.status(), response.headers().clone())
}

#[tokio::test]
async fn key_set_of_ten_thousand_keys_is_a_cold_start_503() {
    let server = JwksServer::start(many_keys(10_000)).await;
    let clock = ManualClock::starting_now();
    let auth = remote(&server, &clock);
    let err = auth.ready().await.unwrap_err();
    match err.kind() {
        ErrorKind::KeysUnavailable { source, .. } => assert!(
            matches!(
                source.kind(),
                ErrorKind::TooManyKeys {
                    count: 10_000,
                    limit: 100
                }
            ),
            "{source}"
        ),
        other => panic!("expected KeysUnavailable, got {other:?}"),
    }
    let token = ec256().token(&claims_for(&server.base, &clock));
    let refusal = refuses(&auth, &token, KeysUnavailable).await;
    assert!(refusal.retry_after().is_some());
    // What a client of the service sees: 503 with a Retry-After, never a 401 or a 500.
    let (status, headers) = status_through_layer(auth, &token).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(headers.contains_key("retry-after"));
}

#[tokio::test]
async fn key_set_body_of_two_mib() {
    let server = JwksServer::start(jwks(&[ec256()])).await;
    server.set_mode(Mode::Oversized(2 * 1024 * 1024));
    let clock = ManualClock::starting_now();
    let auth = remote(&server, &clock);
    let err = auth.ready().await.unwrap_err();
    match err.kind() {
        ErrorKind::KeysUnavailable { source, .. } => assert!(
            matches!(
                source.kind(),
                ErrorKind::BodyTooLarge {
                    limit: 1_048_576,
                    ..
                }
            ),
            "{source}"
        ),
        other => panic!("expected KeysUnavailable, got {other:?}"),
    }
    let token = ec256().token(&claims_for(&server.base, &clock));
    refuses(&auth, &token, KeysUnavailable).await;
    let (status, _) = status_through_layer(auth, &token).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}
