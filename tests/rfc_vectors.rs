//! Known-answer tests: the published JWS examples of RFC 7515 Appendix A.2 (RS256) and A.3
//! (ES256), and RFC 8037 Appendix A.4 (Ed25519), exactly as published.
//!
//! Sources of the vectors:
//! - RFC 7515 Appendix A.2, A.3: <https://www.rfc-editor.org/rfc/rfc7515#appendix-A.2>,
//!   <https://www.rfc-editor.org/rfc/rfc7515#appendix-A.3>
//! - RFC 8037 Appendix A.2 (public key), A.4 (JWS): <https://www.rfc-editor.org/rfc/rfc8037#appendix-A.4>
//!
//! The RFC 7515 payload holds CRLF line breaks inside the JSON; the tokens below are the
//! published compact serializations with the display line breaks removed, nothing else.

use aws_lc_rs::signature::{ED25519, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tokengate::{AuthErrorKind, Authorizer, KeySet, ManualClock, Profile, VerifyingKey};

// ---------------------------------------------------------------------------------------------
// RFC 7515 Appendix A.2 and A.3: shared payload.
// ---------------------------------------------------------------------------------------------

/// The JWS Payload of RFC 7515 A.1–A.3, as the octets the RFC lists: CRLF after the first and
/// second lines, one leading space on the second and third, no trailing line break.
const RFC7515_PAYLOAD: &[u8] =
    b"{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";

/// `exp` of the RFC 7515 payload (2011-03-22T18:43:00Z).
const RFC7515_EXP: u64 = 1_300_819_380;

/// A time at which the RFC 7515 examples are still valid.
const BEFORE_EXP: u64 = RFC7515_EXP - 100;

// ---------------------------------------------------------------------------------------------
// RFC 7515 Appendix A.2: RSASSA-PKCS1-v1_5 using SHA-256.
// ---------------------------------------------------------------------------------------------

/// A.2.1: the complete JWS, header `{"alg":"RS256"}` (no `kid`).
const A2_JWS: &str = concat!(
    "eyJhbGciOiJSUzI1NiJ9",
    ".",
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt",
    "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ",
    ".",
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7",
    "AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4",
    "BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K",
    "0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqv",
    "hJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrB",
    "p0igcN_IoypGlUPQGe77Rw",
);

/// A.2.1: the RSA public key's modulus `n`.
const A2_N: &str = concat!(
    "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddx",
    "HmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMs",
    "D1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSH",
    "SXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdV",
    "MTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8",
    "NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ",
);

/// A.2.1: the RSA public key's exponent `e`.
const A2_E: &str = "AQAB";

/// A.2.1: the RSASSA-PKCS1-v1_5 SHA-256 signature, as the octets the RFC lists.
const A2_SIGNATURE_OCTETS: [u8; 256] = [
    112, 46, 33, 137, 67, 232, 143, 209, 30, 181, 216, 45, 191, 120, 69, 243, 65, 6, 174, 27, 129,
    255, 247, 115, 17, 22, 173, 209, 113, 125, 131, 101, 109, 66, 10, 253, 60, 150, 238, 221, 115,
    162, 102, 62, 81, 102, 104, 123, 0, 11, 135, 34, 110, 1, 135, 237, 16, 115, 249, 69, 229, 130,
    173, 252, 239, 22, 216, 90, 121, 142, 232, 198, 109, 219, 61, 184, 151, 91, 23, 208, 148, 2,
    190, 237, 213, 217, 217, 112, 7, 16, 141, 178, 129, 96, 213, 248, 4, 12, 167, 68, 87, 98, 184,
    31, 190, 127, 249, 217, 46, 10, 231, 111, 36, 242, 91, 51, 187, 230, 244, 74, 230, 30, 177, 4,
    10, 203, 32, 4, 77, 62, 249, 18, 142, 212, 1, 48, 121, 91, 212, 189, 59, 65, 238, 202, 208,
    102, 171, 101, 25, 129, 253, 228, 141, 247, 127, 55, 45, 195, 139, 159, 175, 221, 59, 239, 177,
    139, 93, 163, 204, 60, 46, 176, 47, 158, 58, 65, 214, 18, 202, 173, 21, 145, 18, 115, 160, 95,
    35, 185, 232, 56, 250, 175, 132, 157, 105, 132, 41, 239, 90, 30, 136, 121, 130, 54, 195, 212,
    14, 96, 69, 34, 165, 68, 200, 242, 122, 122, 45, 184, 6, 99, 209, 108, 247, 202, 234, 86, 222,
    64, 92, 178, 33, 90, 69, 178, 194, 85, 102, 181, 90, 193, 167, 72, 160, 112, 223, 200, 163, 42,
    70, 149, 67, 208, 25, 238, 251, 71,
];

// ---------------------------------------------------------------------------------------------
// RFC 7515 Appendix A.3: ECDSA using P-256 and SHA-256.
// ---------------------------------------------------------------------------------------------

/// A.3.1: the complete JWS, header `{"alg":"ES256"}`.
const A3_JWS: &str = concat!(
    "eyJhbGciOiJFUzI1NiJ9",
    ".",
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt",
    "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ",
    ".",
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSA",
    "pmWQxfKTUJqPP3-Kg6NU1Q",
);

/// A.3.1: the P-256 public key's `x` coordinate.
const A3_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";

/// A.3.1: the P-256 public key's `y` coordinate.
const A3_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";

/// A.3.1: the signature's `R`, as the octets the RFC lists.
const A3_R_OCTETS: [u8; 32] = [
    14, 209, 33, 83, 121, 99, 108, 72, 60, 47, 127, 21, 88, 7, 212, 2, 163, 178, 40, 3, 58, 249,
    124, 126, 23, 129, 154, 195, 22, 158, 166, 101,
];

/// A.3.1: the signature's `S`, as the octets the RFC lists.
const A3_S_OCTETS: [u8; 32] = [
    197, 10, 7, 211, 140, 60, 112, 229, 216, 241, 45, 175, 8, 74, 84, 128, 166, 101, 144, 197, 242,
    147, 80, 154, 143, 63, 127, 138, 131, 163, 84, 213,
];

// ---------------------------------------------------------------------------------------------
// RFC 8037 Appendix A.2 and A.4: Ed25519.
// ---------------------------------------------------------------------------------------------

/// RFC 8037 A.2: the Ed25519 public key `x`.
const ED25519_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

/// RFC 8037 A.4: the JWS, header `{"alg":"EdDSA"}`, payload the ASCII string below.
const A4_JWS: &str = concat!(
    "eyJhbGciOiJFZERTQSJ9",
    ".",
    "RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc",
    ".",
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt",
    "9g7sVvpAr_MuM0KAg",
);

/// RFC 8037 A.4: the payload, which is not a JSON object.
const A4_PAYLOAD: &[u8] = b"Example of Ed25519 signing";

// ---------------------------------------------------------------------------------------------
// Helpers.
// ---------------------------------------------------------------------------------------------

fn b64d(segment: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .unwrap_or_else(|e| panic!("{segment:?} is not base64url: {e}"))
}

/// The three segments of a compact JWS.
fn segments(token: &str) -> (&str, &str, &str) {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        panic!("not three segments: {token}");
    };
    (h, p, s)
}

/// `header.payload`, the octets the signature covers.
fn signing_input(token: &str) -> &str {
    token.rsplit_once('.').expect("a dot").0
}

fn key_set(jwk: &Value) -> KeySet {
    let document = serde_json::to_vec(&json!({ "keys": [jwk] })).expect("JSON");
    let keys = KeySet::from_jwks_json(&document).expect("the RFC's public key is accepted");
    assert_eq!(keys.len(), 1);
    assert!(keys.skipped().is_empty(), "{:?}", keys.skipped());
    keys
}

/// RFC 7515 A.2.1's public key (n, e), as a JWKS with no `kid` and no `alg`.
fn a2_keys() -> KeySet {
    key_set(&json!({ "kty": "RSA", "n": A2_N, "e": A2_E }))
}

/// RFC 7515 A.3.1's public key (x, y), as a JWKS with no `kid` and no `alg`.
fn a3_keys() -> KeySet {
    key_set(&json!({ "kty": "EC", "crv": "P-256", "x": A3_X, "y": A3_Y }))
}

/// RFC 8037 A.2's public key, as a JWKS.
fn ed25519_keys() -> KeySet {
    key_set(&json!({ "kty": "OKP", "crv": "Ed25519", "x": ED25519_X }))
}

/// An authorizer whose clock reads `BEFORE_EXP`, with no issuer or audience check.
fn authorizer_before_exp(keys: KeySet) -> Authorizer {
    Authorizer::builder(Profile::generic())
        .skip_issuer_check()
        .skip_audience_check()
        .clock(ManualClock::new(BEFORE_EXP))
        .keys(keys)
        .build()
}

/// An authorizer on the default `SystemClock`, with no issuer or audience check.
fn authorizer_on_system_clock(keys: KeySet) -> Authorizer {
    Authorizer::builder(Profile::generic())
        .skip_issuer_check()
        .skip_audience_check()
        .keys(keys)
        .build()
}

/// An authorizer whose clock reads `BEFORE_EXP` and that expects `issuer`.
fn authorizer_for_issuer(keys: KeySet, issuer: &str) -> Authorizer {
    Authorizer::builder(Profile::generic())
        .issuer(issuer)
        .skip_audience_check()
        .clock(ManualClock::new(BEFORE_EXP))
        .keys(keys)
        .build()
}

/// The token with one bit of signature octet `index` flipped (re-encoded as base64url, so
/// only the signature's value changes, never its encoding's validity or length).
fn with_signature_octet_changed(token: &str, index: usize) -> String {
    let (input, signature) = token.rsplit_once('.').expect("a dot");
    let mut octets = b64d(signature);
    octets[index] ^= 0x01;
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(octets))
}

async fn assert_rfc7515_claims(authorizer: &Authorizer, token: &str) {
    let claims = authorizer
        .authorize::<Value>(token)
        .await
        .unwrap_or_else(|e| panic!("the published vector must verify: {e:?}"));
    assert_eq!(claims.issuer(), "joe");
    assert_eq!(claims.expires_at(), RFC7515_EXP);
    assert_eq!(claims.subject(), None);
    let custom = claims.custom();
    assert_eq!(custom["http://example.com/is_root"], Value::Bool(true));
    assert_eq!(custom["iss"], "joe");
    assert_eq!(custom["exp"], RFC7515_EXP);
}

// ---------------------------------------------------------------------------------------------
// The vectors themselves, checked against the RFCs' other representations.
// ---------------------------------------------------------------------------------------------

#[test]
fn rfc7515_vectors_match_the_published_octets() {
    for (token, header) in [
        (A2_JWS, &br#"{"alg":"RS256"}"#[..]),
        (A3_JWS, &br#"{"alg":"ES256"}"#[..]),
    ] {
        let (h, p, _) = segments(token);
        assert_eq!(b64d(h), header);
        // The payload keeps its CRLF line breaks: re-serialized JSON would not verify.
        assert_eq!(b64d(p), RFC7515_PAYLOAD);
        assert_eq!(URL_SAFE_NO_PAD.encode(RFC7515_PAYLOAD), p);
    }
    assert_eq!(b64d(segments(A2_JWS).2), A2_SIGNATURE_OCTETS);
    // RFC 7518 §3.4: an ES256 signature is R || S, 32 octets each.
    assert_eq!(
        b64d(segments(A3_JWS).2),
        [A3_R_OCTETS, A3_S_OCTETS].concat()
    );
    // A 2048-bit modulus and the exponent 65537.
    assert_eq!(b64d(A2_N).len(), 256);
    assert_eq!(b64d(A2_E), [1, 0, 1]);
    assert_eq!(b64d(A3_X).len(), 32);
    assert_eq!(b64d(A3_Y).len(), 32);
}

#[test]
fn rfc8037_a4_vector_matches_the_published_header_and_payload() {
    let (h, p, s) = segments(A4_JWS);
    assert_eq!(b64d(h), br#"{"alg":"EdDSA"}"#);
    assert_eq!(b64d(p), A4_PAYLOAD);
    assert_eq!(b64d(s).len(), 64);
    assert_eq!(b64d(ED25519_X).len(), 32);
}

// ---------------------------------------------------------------------------------------------
// RFC 7515 A.2 (RS256) and A.3 (ES256) through the authorizer.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn rfc7515_a2_rs256_vector_verifies() {
    let keys = a2_keys();
    assert_eq!(keys.keys()[0].bits(), 2048);
    // The header has no `kid`: with exactly one RSA key in the set, that key is chosen.
    assert_rfc7515_claims(&authorizer_before_exp(keys), A2_JWS).await;
}

#[tokio::test]
async fn rfc7515_a3_es256_vector_verifies() {
    let keys = a3_keys();
    assert_eq!(keys.keys()[0].bits(), 256);
    assert_rfc7515_claims(&authorizer_before_exp(keys), A3_JWS).await;
}

#[tokio::test]
async fn rfc7515_vectors_are_expired_on_the_system_clock() {
    // The signature is checked before `exp`, so `Expired` (not `InvalidSignature`) also shows
    // the published signatures verify.
    for (keys, token) in [(a2_keys(), A2_JWS), (a3_keys(), A3_JWS)] {
        let err = authorizer_on_system_clock(keys)
            .authorize::<Value>(token)
            .await
            .expect_err("exp 1300819380 is long past");
        assert_eq!(err.kind(), AuthErrorKind::Expired, "{token}");
        assert_eq!(err.claim_name(), Some("exp"));
    }
}

#[tokio::test]
async fn rfc7515_vectors_are_expired_just_after_exp_plus_leeway() {
    // Default leeway is 30 seconds: valid at exp + 29, expired at exp + 30.
    for (keys, token) in [(a2_keys(), A2_JWS), (a3_keys(), A3_JWS)] {
        let clock = ManualClock::new(RFC7515_EXP + 29);
        let authorizer = Authorizer::builder(Profile::generic())
            .skip_issuer_check()
            .skip_audience_check()
            .clock(clock.clone())
            .keys(keys)
            .build();
        assert!(authorizer.authorize::<()>(token).await.is_ok(), "{token}");
        clock.advance(1);
        let err = authorizer.authorize::<()>(token).await.unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::Expired, "{token}");
    }
}

#[tokio::test]
async fn rfc7515_vectors_pass_the_issuer_check_for_joe_only() {
    for (keys, token) in [(a2_keys(), A2_JWS), (a3_keys(), A3_JWS)] {
        let joe = authorizer_for_issuer(keys.clone(), "joe");
        assert_rfc7515_claims(&joe, token).await;

        // Issuer comparison is exact: no case folding.
        let err = authorizer_for_issuer(keys, "Joe")
            .authorize::<Value>(token)
            .await
            .expect_err("`Joe` is not `joe`");
        assert_eq!(err.kind(), AuthErrorKind::WrongIssuer, "{token}");
        assert_eq!(err.claim_name(), Some("iss"));
    }
}

#[tokio::test]
async fn rfc7515_a2_one_octet_change_in_the_signature_is_an_invalid_signature() {
    let authorizer = authorizer_before_exp(a2_keys());
    for index in 0..A2_SIGNATURE_OCTETS.len() {
        let tampered = with_signature_octet_changed(A2_JWS, index);
        assert_ne!(tampered, A2_JWS);
        let err = authorizer.authorize::<Value>(&tampered).await.unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::InvalidSignature, "octet {index}");
    }
}

#[tokio::test]
async fn rfc7515_a3_one_octet_change_in_the_signature_is_an_invalid_signature() {
    let authorizer = authorizer_before_exp(a3_keys());
    for index in 0..A3_R_OCTETS.len() + A3_S_OCTETS.len() {
        let tampered = with_signature_octet_changed(A3_JWS, index);
        assert_ne!(tampered, A3_JWS);
        let err = authorizer.authorize::<Value>(&tampered).await.unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::InvalidSignature, "octet {index}");
    }
}

#[tokio::test]
async fn rfc7515_vectors_do_not_verify_with_each_others_key() {
    // A.2's RS256 token meets only an EC key, and A.3's ES256 token only an RSA key.
    for (keys, token) in [(a3_keys(), A2_JWS), (a2_keys(), A3_JWS)] {
        let err = authorizer_before_exp(keys)
            .authorize::<Value>(token)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::NoMatchingKey, "{token}");
    }
}

// ---------------------------------------------------------------------------------------------
// RFC 8037 A.4 (Ed25519).
//
// Its payload is the ASCII string "Example of Ed25519 signing", not a JSON object. The
// authorizer validates access tokens, whose payload must be a JWT claims set (a JSON object,
// RFC 7519 §7.2), and refuses any other payload as `Malformed` before it selects a key or
// checks a signature. So the authorizer cannot show that this signature verifies; the tests
// below show it directly: the RFC's public key is accepted by `VerifyingKey::ed25519` and by
// `KeySet::from_jwks_json`, and aws-lc-rs's Ed25519 (the primitive behind `VerifyingKey`)
// verifies the published signature over the published signing input with it.
// ---------------------------------------------------------------------------------------------

#[test]
fn rfc8037_a4_ed25519_vector_verifies_with_the_a2_public_key() {
    let x = b64d(ED25519_X);
    let key = VerifyingKey::ed25519(&x).expect("RFC 8037 A.2's public key is accepted");
    assert_eq!(key.bits(), 256);
    assert_eq!(key.algorithm(), Some(tokengate::Algorithm::EdDSA));

    let signature = b64d(segments(A4_JWS).2);
    UnparsedPublicKey::new(&ED25519, &x)
        .verify(signing_input(A4_JWS).as_bytes(), &signature)
        .expect("the published Ed25519 signature verifies");
}

#[test]
fn rfc8037_a4_one_octet_change_in_the_signature_does_not_verify() {
    let x = b64d(ED25519_X);
    let public = UnparsedPublicKey::new(&ED25519, &x);
    for index in 0..64 {
        let tampered = with_signature_octet_changed(A4_JWS, index);
        let signature = b64d(segments(&tampered).2);
        assert!(
            public
                .verify(signing_input(&tampered).as_bytes(), &signature)
                .is_err(),
            "octet {index}"
        );
    }
}

#[tokio::test]
async fn rfc8037_a4_token_is_refused_as_malformed_because_its_payload_is_not_a_json_object() {
    let from_raw_key = KeySet::from_keys([VerifyingKey::ed25519(&b64d(ED25519_X)).expect("key")]);
    for keys in [ed25519_keys(), from_raw_key] {
        let authorizer = authorizer_before_exp(keys);
        let err = authorizer
            .authorize::<Value>(A4_JWS)
            .await
            .expect_err("a non-object payload is not a claims set");
        assert_eq!(err.kind(), AuthErrorKind::Malformed);
        let err = authorizer.authorize::<()>(A4_JWS).await.unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::Malformed);

        // The payload check comes before any crypto, so a changed signature is refused the same.
        let tampered = with_signature_octet_changed(A4_JWS, 0);
        let err = authorizer.authorize::<Value>(&tampered).await.unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::Malformed);
    }
}
