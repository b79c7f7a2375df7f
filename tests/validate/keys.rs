//! Rule 2: choosing the key, and which JWKs a key set keeps.

use tokengate::{AuthErrorKind::*, ErrorKind, VerifyingKey};

use super::*;

/// A 1024-bit RSA modulus: random, top bit set, odd. Refused before any use.
fn rsa_1024_jwk(kid: &str) -> Value {
    let mut n = [0u8; 128];
    aws_lc_rs::rand::fill(&mut n).expect("random");
    n[0] |= 0x80;
    n[127] |= 0x01;
    json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": b64(n), "e": "AQAB"})
}

/// One JWK of every kind a key set must leave out.
fn unusable_jwks() -> Vec<Value> {
    let mut enc = ec().jwk();
    enc["kid"] = json!("enc-key");
    enc["use"] = json!("enc");
    let mut ops = ed().jwk_without_alg();
    ops["kid"] = json!("sign-only");
    ops["key_ops"] = json!(["sign", "encrypt"]);
    let oct = json!({"kty": "oct", "kid": "hmac", "k": b64("a shared secret, not a public key")});
    let mut private = ec().jwk();
    private["kid"] = json!("private");
    private["d"] = json!(b64([1u8; 32]));
    vec![enc, ops, oct, private, rsa_1024_jwk("short-rsa")]
}

#[tokio::test]
async fn rejects_token_whose_kid_is_not_in_the_key_set() {
    let header = json!({"alg": "RS256", "kid": "rotated-away"});
    let token = rsa().sign_token(&header, &access_claims());
    refused(rsa_access().authorize::<()>(&token).await, UnknownKey);
}

#[tokio::test]
async fn rejects_token_signed_by_removed_key() {
    let token = rsa_b().token(&access_claims());
    let before = access_builder(keyset(&[rsa(), rsa_b()])).build();
    accepted(before.authorize::<()>(&token).await);
    let after = access_builder(keyset(&[rsa()])).build();
    refused(after.authorize::<()>(&token).await, UnknownKey);
}

#[tokio::test]
async fn rejects_rs256_token_naming_an_ec_key() {
    let auth = access_builder(keyset(&[rsa(), ec()])).build();
    let header = json!({"alg": "RS256", "kid": ec().kid});
    let token = rsa().sign_token(&header, &access_claims());
    refused(auth.authorize::<()>(&token).await, NoMatchingKey);
}

#[tokio::test]
async fn rejects_es384_token_naming_a_p256_key() {
    let auth = access_builder(keyset(&[ec()])).build();
    let header = json!({"alg": "ES384", "kid": ec().kid});
    let token = key_for(Algorithm::ES384).sign_token(&header, &access_claims());
    refused(auth.authorize::<()>(&token).await, NoMatchingKey);
}

#[tokio::test]
async fn rejects_rs256_token_for_jwk_bound_to_rs384() {
    let key = key_for(Algorithm::RS384);
    assert_eq!(key.jwk()["alg"], "RS384");
    let auth = access_builder(keyset(&[key])).build();
    let rs256 = key.sign_token(&json!({"alg": "RS256", "kid": key.kid}), &access_claims());
    refused(auth.authorize::<()>(&rs256).await, NoMatchingKey);
    // The algorithm the JWK names passes.
    accepted(auth.authorize::<()>(&key.token(&access_claims())).await);
}

#[tokio::test]
async fn accepts_token_without_kid_when_exactly_one_key_fits() {
    let auth = access_builder(keyset(&[rsa(), ec(), ed()])).build();
    for key in [rsa(), ec(), ed()] {
        let token = key.sign_token(&json!({"alg": key.alg.as_str()}), &access_claims());
        accepted(auth.authorize::<()>(&token).await);
    }
}

#[tokio::test]
async fn rejects_token_without_kid_when_two_keys_fit() {
    let auth = access_builder(keyset(&[rsa(), rsa_b(), ec()])).build();
    let token = rsa().sign_token(&json!({"alg": "RS256"}), &access_claims());
    refused(auth.authorize::<()>(&token).await, NoMatchingKey);
    // With its kid, the same key is unambiguous.
    accepted(auth.authorize::<()>(&rsa().token(&access_claims())).await);
}

#[tokio::test]
async fn rejects_token_without_kid_when_no_key_fits() {
    let auth = access_builder(keyset(&[rsa()])).build();
    let token = ec().sign_token(&json!({"alg": "ES256"}), &access_claims());
    refused(auth.authorize::<()>(&token).await, NoMatchingKey);
}

#[tokio::test]
async fn rejects_kid_shared_by_two_fitting_keys() {
    let mut twin = rsa_b().jwk();
    twin["kid"] = json!("rsa-1");
    let auth = access_builder(keyset_of(&[rsa().jwk(), twin])).build();
    refused(
        auth.authorize::<()>(&rsa().token(&access_claims())).await,
        NoMatchingKey,
    );
}

#[tokio::test]
async fn skips_unusable_jwks_and_lists_them() {
    let mut all = vec![rsa().jwk()];
    all.extend(unusable_jwks());
    let keys = keyset_of(&all);
    assert_eq!(keys.len(), 1);
    assert_eq!(keys.keys()[0].kid(), Some("rsa-1"));
    let skipped: Vec<Option<&str>> = keys.skipped().iter().map(|s| s.kid.as_deref()).collect();
    assert_eq!(
        skipped,
        [
            Some("enc-key"),
            Some("sign-only"),
            Some("hmac"),
            Some("private"),
            Some("short-rsa")
        ]
    );
    for skip in keys.skipped() {
        assert!(!skip.reason.is_empty(), "{skip:?}");
        assert!(!keys.contains_kid(skip.kid.as_deref().expect("kid")));
    }
    assert!(
        keys.skipped()[4].reason.contains("1024"),
        "{:?}",
        keys.skipped()[4]
    );

    // A token naming a skipped key finds no key, even when properly signed by it.
    let auth = access_builder(keys).build();
    let by_enc = ec().sign_token(&json!({"alg": "ES256", "kid": "enc-key"}), &access_claims());
    refused(auth.authorize::<()>(&by_enc).await, UnknownKey);
    let by_ops = ed().sign_token(
        &json!({"alg": "EdDSA", "kid": "sign-only"}),
        &access_claims(),
    );
    refused(auth.authorize::<()>(&by_ops).await, UnknownKey);
    accepted(auth.authorize::<()>(&rsa().token(&access_claims())).await);
}

#[test]
fn keeps_jwk_with_key_ops_verify_and_use_sig() {
    let mut jwk = ed().jwk();
    jwk["key_ops"] = json!(["verify"]);
    let keys = keyset_of(&[jwk]);
    assert_eq!(keys.len(), 1);
    assert!(keys.skipped().is_empty());
}

#[test]
fn rejects_key_set_with_only_unusable_keys() {
    let doc = serde_json::to_vec(&json!({"keys": unusable_jwks()})).expect("json");
    let err = KeySet::from_jwks_json(&doc).expect_err("no usable key");
    assert!(matches!(err.kind(), ErrorKind::NoUsableKeys), "{err}");
    let empty = KeySet::from_jwks_json(br#"{"keys":[]}"#).expect_err("empty");
    assert!(matches!(empty.kind(), ErrorKind::NoUsableKeys), "{empty}");
}

#[test]
fn rejects_1024_bit_rsa_jwk() {
    let err = VerifyingKey::from_jwk(&rsa_1024_jwk("short")).expect_err("1024-bit key");
    assert!(matches!(err.kind(), ErrorKind::KeyRejected(_)), "{err}");
}

/// `count` copies of the Ed25519 JWK with distinct kids.
fn many_keys(count: usize) -> Vec<u8> {
    let keys: Vec<Value> = (0..count)
        .map(|i| {
            let mut jwk = ed().jwk();
            jwk["kid"] = json!(format!("k{i}"));
            jwk
        })
        .collect();
    serde_json::to_vec(&json!({ "keys": keys })).expect("json")
}

#[test]
fn rejects_key_set_of_more_than_100_keys() {
    let err = KeySet::from_jwks_json(&many_keys(101)).expect_err("too many");
    assert!(
        matches!(
            err.kind(),
            ErrorKind::TooManyKeys {
                count: 101,
                limit: 100
            }
        ),
        "{err}"
    );
    let keys = KeySet::from_jwks_json(&many_keys(100)).expect("100 keys is the limit");
    assert_eq!(keys.len(), 100);
}

#[test]
fn rejects_key_set_over_custom_limit() {
    let err = KeySet::from_jwks_json_with_limit(&many_keys(3), 2).expect_err("too many");
    assert!(
        matches!(err.kind(), ErrorKind::TooManyKeys { count: 3, limit: 2 }),
        "{err}"
    );
}

#[test]
fn rejects_key_set_that_is_not_a_jwks_object() {
    for doc in [
        &b"[]"[..],
        b"not json",
        br#"{"keys":{}}"#,
        br#"{"nokeys":[]}"#,
    ] {
        let err = KeySet::from_jwks_json(doc).expect_err("not a JWKS");
        assert!(matches!(err.kind(), ErrorKind::InvalidKeySet(_)), "{err}");
    }
}

#[tokio::test]
async fn accepts_rsa_jwk_whose_modulus_has_a_leading_zero_byte() {
    let mut jwk = rsa().jwk();
    let mut n = vec![0u8];
    n.extend(unb64(jwk["n"].as_str().expect("n")));
    jwk["n"] = json!(b64(&n));
    let keys = keyset_of(&[jwk]);
    assert_eq!(keys.keys()[0].bits(), 2048);
    let auth = access_builder(keys).build();
    accepted(auth.authorize::<()>(&rsa().token(&access_claims())).await);
}

#[tokio::test]
async fn accepts_keys_built_from_raw_material() {
    let jwk = rsa().jwk();
    let n = unb64(jwk["n"].as_str().expect("n"));
    let e = unb64(jwk["e"].as_str().expect("e"));
    let key = VerifyingKey::rsa(&n, &e, Some(Algorithm::RS256))
        .expect("rsa key")
        .with_kid("rsa-1");
    let auth = access_builder(KeySet::from_keys([key])).build();
    accepted(auth.authorize::<()>(&rsa().token(&access_claims())).await);
}
