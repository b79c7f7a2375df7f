//! Rule 3, first half: every algorithm verifies, and no change to a signed token survives.

use tokengate::{AlgorithmSet, AuthErrorKind::*};

use super::*;

/// An authorizer allowing every implemented algorithm, with one key per algorithm.
fn all_algorithms() -> Authorizer {
    let keys: Vec<&TestKey> = Algorithm::ALL.iter().map(|a| key_for(*a)).collect();
    access_builder(keyset(&keys))
        .algorithms(AlgorithmSet::DEFAULT.with(Algorithm::ES512))
        .build()
}

/// A valid token by `key` whose header carries an ignored `x5t` of "abcd", so one header
/// byte can change while the header stays valid JSON.
fn token_with_x5t(key: &TestKey) -> String {
    let header = json!({"alg": key.alg.as_str(), "kid": key.kid, "x5t": "abcd"});
    key.sign_token(&header, &access_claims())
}

/// Re-encodes `segment` with the first occurrence of `from` replaced by `to` in its bytes.
fn replace_in_segment(segment: &str, from: &str, to: &str) -> String {
    let decoded = String::from_utf8(unb64(segment)).expect("utf-8");
    assert!(decoded.contains(from), "{decoded} lacks {from}");
    b64(decoded.replacen(from, to, 1))
}

/// `text` with the character at `index` swapped for another base64url character.
fn swap_char(text: &str, index: usize) -> String {
    let mut bytes = text.as_bytes().to_vec();
    bytes[index] = if bytes[index] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).expect("ascii")
}

#[tokio::test]
async fn accepts_every_implemented_algorithm() {
    let auth = all_algorithms();
    for alg in Algorithm::ALL {
        let token = key_for(alg).token(&access_claims());
        let claims = auth
            .authorize::<()>(&token)
            .await
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(claims.username(), Some("alice"), "{alg}");
    }
}

#[tokio::test]
async fn rejects_signature_with_one_byte_changed() {
    let auth = all_algorithms();
    for alg in Algorithm::ALL {
        let [h, p, s] = segments(&key_for(alg).token(&access_claims()));
        let mut sig = unb64(&s);
        for index in [0, sig.len() / 2, sig.len() - 1] {
            let mut tampered = sig.clone();
            tampered[index] ^= 0x01;
            let token = format!("{h}.{p}.{}", b64(&tampered));
            let err = auth.authorize::<()>(&token).await.expect_err(alg.as_str());
            assert_eq!(err.kind(), InvalidSignature, "{alg} byte {index}");
        }
        sig.truncate(sig.len() - 1);
        let token = format!("{h}.{p}.{}", b64(&sig));
        refused(auth.authorize::<()>(&token).await, InvalidSignature);
    }
}

#[tokio::test]
async fn rejects_payload_with_one_byte_changed() {
    let auth = all_algorithms();
    for alg in Algorithm::ALL {
        let [h, p, s] = segments(&key_for(alg).token(&access_claims()));
        // The payload stays valid JSON: only the `jti` value differs.
        let tampered = replace_in_segment(&p, "a1b2c3d4", "a1b2c3d5");
        let token = format!("{h}.{tampered}.{s}");
        let err = auth.authorize::<()>(&token).await.expect_err(alg.as_str());
        assert_eq!(err.kind(), InvalidSignature, "{alg}");
        // Raising a privilege: same length, another user.
        let tampered = replace_in_segment(&p, "\"alice\"", "\"admin\"");
        let token = format!("{h}.{tampered}.{s}");
        refused(auth.authorize::<()>(&token).await, InvalidSignature);
    }
}

#[tokio::test]
async fn rejects_header_with_one_byte_changed() {
    let auth = all_algorithms();
    for alg in Algorithm::ALL {
        let [h, p, s] = segments(&token_with_x5t(key_for(alg)));
        let tampered = replace_in_segment(&h, "abcd", "abce");
        let token = format!("{tampered}.{p}.{s}");
        let err = auth.authorize::<()>(&token).await.expect_err(alg.as_str());
        assert_eq!(err.kind(), InvalidSignature, "{alg}");
    }
}

#[tokio::test]
async fn rejects_header_whose_first_byte_is_no_longer_a_brace_as_malformed() {
    let auth = all_algorithms();
    for alg in Algorithm::ALL {
        let [h, p, s] = segments(&key_for(alg).token(&access_claims()));
        // "eyJ" is `{"`; 'e' -> 'f' turns the '{' into 0x7F.
        assert!(h.starts_with("eyJ"));
        let tampered = format!("f{}", &h[1..]);
        refused(
            auth.authorize::<()>(&format!("{tampered}.{p}.{s}")).await,
            Malformed,
        );
    }
}

#[tokio::test]
async fn rejects_one_character_changed_in_the_middle_of_the_token_text() {
    let auth = all_algorithms();
    for alg in Algorithm::ALL {
        let token = key_for(alg).token(&access_claims());
        let [h, p, s] = segments(&token);
        // Middle of the payload: the JSON still starts with '{', so the signature decides.
        let payload = swap_char(&p, p.len() / 2);
        refused(
            auth.authorize::<()>(&format!("{h}.{payload}.{s}")).await,
            InvalidSignature,
        );
        let sig = swap_char(&s, s.len() / 2);
        refused(
            auth.authorize::<()>(&format!("{h}.{p}.{sig}")).await,
            InvalidSignature,
        );
    }
}

#[tokio::test]
async fn rejects_signature_with_non_canonical_trailing_bits_as_malformed() {
    // A 64-byte Ed25519 signature ends in a 2-character group whose last character carries
    // only 2 bits; setting one of the 4 unused bits gives another encoding of the same bytes.
    let auth = all_algorithms();
    let token = ed().token(&access_claims());
    let [h, p, s] = segments(&token);
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let last = s.as_bytes()[s.len() - 1];
    let value = ALPHABET.iter().position(|c| *c == last).expect("base64url");
    assert_eq!(value & 0x0F, 0, "canonical encoding");
    let twin = format!("{}{}", &s[..s.len() - 1], ALPHABET[value | 1] as char);
    refused(
        auth.authorize::<()>(&format!("{h}.{p}.{twin}")).await,
        Malformed,
    );
}

#[tokio::test]
async fn rejects_overlong_signature_as_malformed() {
    let auth = all_algorithms();
    let [h, p, _] = segments(&rsa_like_token());
    let long = b64(vec![1u8; 2048]);
    refused(
        auth.authorize::<()>(&format!("{h}.{p}.{long}")).await,
        Malformed,
    );
}

fn rsa_like_token() -> String {
    key_for(Algorithm::RS256).token(&access_claims())
}

#[tokio::test]
async fn rejects_signature_moved_from_another_token() {
    let auth = all_algorithms();
    for alg in Algorithm::ALL {
        let key = key_for(alg);
        let [h, p, _] = segments(&key.token(&access_claims()));
        let other = with(access_claims(), "username", json!("mallory"));
        let [_, _, s] = segments(&key.token(&other));
        let err = auth
            .authorize::<()>(&format!("{h}.{p}.{s}"))
            .await
            .expect_err(alg.as_str());
        assert_eq!(err.kind(), InvalidSignature, "{alg}");
    }
}

#[tokio::test]
async fn rejects_signature_made_by_another_key_of_the_same_kind() {
    let auth = access_builder(keyset(&[rsa()])).build();
    // rsa_b signs, the header names rsa-1.
    let token = rsa_b().sign_token(&header_of(rsa()), &access_claims());
    refused(auth.authorize::<()>(&token).await, InvalidSignature);
}

#[tokio::test]
async fn rejects_rsa_signature_made_with_another_padding_than_alg_names() {
    // The JWK has no `alg`, so the key fits all six RSA algorithms.
    let auth = access_builder(keyset_of(&[rsa().jwk_without_alg()])).build();
    let header = json!({"alg": "RS256", "kid": "rsa-1"});
    let input = format!(
        "{}.{}",
        b64(serde_json::to_vec(&header).expect("json")),
        b64(serde_json::to_vec(&access_claims()).expect("json"))
    );
    for alg in [Algorithm::PS256, Algorithm::RS384, Algorithm::RS512] {
        let sig = rsa().sign_with(alg, input.as_bytes());
        let token = format!("{input}.{}", b64(sig));
        refused(auth.authorize::<()>(&token).await, InvalidSignature);
    }
    let sig = rsa().sign_with(Algorithm::RS256, input.as_bytes());
    accepted(auth.authorize::<()>(&format!("{input}.{}", b64(sig))).await);
}

#[tokio::test]
async fn rejects_ecdsa_signature_of_wrong_length_or_all_zero() {
    // An ES256 signature is exactly 64 bytes of R || S; anything else fails.
    let auth = all_algorithms();
    let [h, p, s] = segments(&ec().token(&access_claims()));
    let mut sig = unb64(&s);
    sig.push(0);
    refused(
        auth.authorize::<()>(&format!("{h}.{p}.{}", b64(&sig)))
            .await,
        InvalidSignature,
    );
    refused(
        auth.authorize::<()>(&format!("{h}.{p}.{}", b64([0u8; 64])))
            .await,
        InvalidSignature,
    );
}
