//! Rule 1: the compact form and the JOSE header, checked before any crypto.

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;
use tokengate::{AlgorithmSet, AuthErrorKind::*};

use super::*;

/// A valid token from [`rsa`] whose claims carry a `pad` string of `pad` bytes.
fn padded_token(pad: usize) -> String {
    rsa().token(&with(access_claims(), "pad", json!("x".repeat(pad))))
}

/// An HS* token over `claims`, keyed with `secret`, as an attacker would forge it.
fn hmac_token(alg: &str, secret: &[u8], claims: &Value) -> String {
    let algorithm = match alg {
        "HS256" => hmac::HMAC_SHA256,
        "HS384" => hmac::HMAC_SHA384,
        "HS512" => hmac::HMAC_SHA512,
        _ => unreachable!("{alg}"),
    };
    let input = format!(
        "{}.{}",
        b64(serde_json::to_vec(&json!({"alg": alg, "kid": rsa().kid})).expect("json")),
        b64(serde_json::to_vec(claims).expect("json"))
    );
    let tag = hmac::sign(&hmac::Key::new(algorithm, secret), input.as_bytes());
    format!("{input}.{}", b64(tag.as_ref()))
}

// ---- size ----------------------------------------------------------------------------------

#[tokio::test]
async fn rejects_token_over_default_8kib_limit() {
    let token = padded_token(9_000);
    assert!(token.len() > 8 * 1024);
    refused(rsa_access().authorize::<()>(&token).await, TokenTooLarge);
}

#[tokio::test]
async fn accepts_valid_token_just_within_default_8kib_limit() {
    // Grow the padding until one more byte would cross the limit.
    // Each padding byte adds 4/3 of a character; start a little short of the limit.
    let base = padded_token(0).len();
    let mut pad = ((8 * 1024 - base) * 3 / 4).saturating_sub(8);
    assert!(padded_token(pad).len() <= 8 * 1024);
    while padded_token(pad + 1).len() <= 8 * 1024 {
        pad += 1;
    }
    let token = padded_token(pad);
    assert!(
        token.len() <= 8 * 1024 && token.len() > 8 * 1024 - 4,
        "{}",
        token.len()
    );
    accepted(rsa_access().authorize::<()>(&token).await);
    let over = padded_token(pad + 1);
    assert!(over.len() > 8 * 1024);
    refused(rsa_access().authorize::<()>(&over).await, TokenTooLarge);
}

#[tokio::test]
async fn rejects_token_over_custom_max_token_len() {
    let token = rsa().token(&access_claims());
    let exact = access_builder(keyset(&[rsa()]))
        .max_token_len(token.len())
        .build();
    accepted(exact.authorize::<()>(&token).await);
    let short = access_builder(keyset(&[rsa()]))
        .max_token_len(token.len() - 1)
        .build();
    refused(short.authorize::<()>(&token).await, TokenTooLarge);
}

#[tokio::test]
async fn rejects_oversized_garbage_as_too_large_before_parsing() {
    let garbage = "!".repeat(8 * 1024 + 1);
    refused(rsa_access().authorize::<()>(&garbage).await, TokenTooLarge);
}

// ---- shape ---------------------------------------------------------------------------------

#[tokio::test]
async fn rejects_token_with_two_segments() {
    let [h, p, _] = segments(&rsa().token(&access_claims()));
    refused(
        rsa_access().authorize::<()>(&format!("{h}.{p}")).await,
        Malformed,
    );
}

#[tokio::test]
async fn rejects_token_with_four_or_five_segments() {
    let token = rsa().token(&access_claims());
    let [h, p, s] = segments(&token);
    let auth = rsa_access();
    refused(
        auth.authorize::<()>(&format!("{token}.{s}")).await,
        Malformed,
    );
    refused(auth.authorize::<()>(&format!("{token}.")).await, Malformed);
    // A JWE's five segments.
    refused(
        auth.authorize::<()>(&format!("{h}.{p}.{s}.{s}.{s}")).await,
        Malformed,
    );
}

#[tokio::test]
async fn rejects_empty_header_or_payload_segment() {
    let [h, p, s] = segments(&rsa().token(&access_claims()));
    let auth = rsa_access();
    refused(auth.authorize::<()>(&format!(".{p}.{s}")).await, Malformed);
    refused(auth.authorize::<()>(&format!("{h}..{s}")).await, Malformed);
    refused(auth.authorize::<()>("..").await, Malformed);
    refused(auth.authorize::<()>("").await, Malformed);
    refused(auth.authorize::<()>("not-a-token").await, Malformed);
}

#[tokio::test]
async fn rejects_signed_token_with_empty_signature_segment_as_unsigned() {
    let [h, p, _] = segments(&rsa().token(&access_claims()));
    refused(
        rsa_access().authorize::<()>(&format!("{h}.{p}.")).await,
        UnsignedToken,
    );
}

/// Padded base64url of `json`, with at least one `=` (adds a space if needed).
fn padded_b64(json: &str) -> String {
    let json = if json.len().is_multiple_of(3) {
        format!("{json} ")
    } else {
        json.to_owned()
    };
    let encoded = URL_SAFE.encode(json);
    assert!(encoded.ends_with('='));
    encoded
}

#[tokio::test]
async fn rejects_padded_base64_header() {
    let header = padded_b64(r#"{"alg":"RS256","kid":"rsa-1"}"#);
    let payload = b64(serde_json::to_vec(&access_claims()).expect("json"));
    let input = format!("{header}.{payload}");
    let sig = b64(rsa().sign_with(Algorithm::RS256, input.as_bytes()));
    refused(
        rsa_access()
            .authorize::<()>(&format!("{input}.{sig}"))
            .await,
        Malformed,
    );
}

#[tokio::test]
async fn rejects_padded_base64_payload() {
    let header = b64(r#"{"alg":"RS256","kid":"rsa-1"}"#);
    let payload = padded_b64(&serde_json::to_string(&access_claims()).expect("json"));
    let input = format!("{header}.{payload}");
    let sig = b64(rsa().sign_with(Algorithm::RS256, input.as_bytes()));
    refused(
        rsa_access()
            .authorize::<()>(&format!("{input}.{sig}"))
            .await,
        Malformed,
    );
}

#[tokio::test]
async fn rejects_padded_base64_signature() {
    let token = rsa().token(&access_claims());
    // A 2048-bit signature is 256 bytes: 256 % 3 == 1, so padding is `==`.
    refused(
        rsa_access().authorize::<()>(&format!("{token}==")).await,
        Malformed,
    );
}

/// A valid token whose header segment holds both `-` and `_` (base64url's own characters).
fn token_with_url_safe_chars_in_header() -> String {
    for n in 0..6 {
        let header = format!(
            r#"{{"alg":"RS256","kid":"rsa-1","x":"{}???~~~???~~~"}}"#,
            " ".repeat(n)
        );
        let token = sign_raw(
            rsa(),
            Algorithm::RS256,
            &header,
            &serde_json::to_string(&access_claims()).expect("json"),
        );
        let [h, _, _] = segments(&token);
        if h.contains('-') && h.contains('_') {
            return token;
        }
    }
    unreachable!("some alignment encodes `?` and `~` as `_` and `-`")
}

#[tokio::test]
async fn rejects_standard_base64_plus_or_slash_in_header() {
    let token = token_with_url_safe_chars_in_header();
    let auth = rsa_access();
    // The token as minted is fine: only the alphabet change below is refused.
    accepted(auth.authorize::<()>(&token).await);
    let [h, p, s] = segments(&token);
    let plus = h.replacen('-', "+", 1);
    refused(
        auth.authorize::<()>(&format!("{plus}.{p}.{s}")).await,
        Malformed,
    );
    let slash = h.replacen('_', "/", 1);
    refused(
        auth.authorize::<()>(&format!("{slash}.{p}.{s}")).await,
        Malformed,
    );
}

#[tokio::test]
async fn rejects_standard_base64_plus_or_slash_in_signature() {
    // ECDSA signatures are randomized: mint until one holds both `-` and `_`.
    let key = ec();
    let auth = access_builder(keyset(&[key])).build();
    let token = (0..1_000)
        .map(|_| key.token(&access_claims()))
        .find(|t| {
            let [_, _, s] = segments(t);
            s.contains('-') && s.contains('_')
        })
        .expect("a signature with both characters");
    accepted(auth.authorize::<()>(&token).await);
    let [h, p, s] = segments(&token);
    let plus = s.replacen('-', "+", 1);
    refused(
        auth.authorize::<()>(&format!("{h}.{p}.{plus}")).await,
        Malformed,
    );
    let slash = s.replacen('_', "/", 1);
    refused(
        auth.authorize::<()>(&format!("{h}.{p}.{slash}")).await,
        Malformed,
    );
}

#[tokio::test]
async fn rejects_non_json_header() {
    let payload = serde_json::to_string(&access_claims()).expect("json");
    let auth = rsa_access();
    for header in ["not json", "", "{", r#"{"alg":"RS256"} trailing"#, "\u{0}"] {
        let token = sign_raw(rsa(), Algorithm::RS256, header, &payload);
        refused(auth.authorize::<()>(&token).await, Malformed);
    }
}

#[tokio::test]
async fn rejects_header_that_is_a_json_array_or_string() {
    let payload = serde_json::to_string(&access_claims()).expect("json");
    let auth = rsa_access();
    for header in [
        r#"["RS256","rsa-1"]"#,
        r#"[{"alg":"RS256","kid":"rsa-1"}]"#,
        r#""RS256""#,
    ] {
        let token = sign_raw(rsa(), Algorithm::RS256, header, &payload);
        refused(auth.authorize::<()>(&token).await, Malformed);
    }
}

#[tokio::test]
async fn rejects_header_without_alg_or_with_non_string_alg() {
    let payload = serde_json::to_string(&access_claims()).expect("json");
    let auth = rsa_access();
    for header in [
        r#"{"kid":"rsa-1"}"#,
        r#"{"alg":256,"kid":"rsa-1"}"#,
        r#"{"alg":null,"kid":"rsa-1"}"#,
        r#"{"alg":["RS256"],"kid":"rsa-1"}"#,
    ] {
        let token = sign_raw(rsa(), Algorithm::RS256, header, &payload);
        refused(auth.authorize::<()>(&token).await, Malformed);
    }
}

#[tokio::test]
async fn rejects_header_with_duplicate_parameters() {
    let payload = serde_json::to_string(&access_claims()).expect("json");
    let auth = rsa_access();
    for header in [
        r#"{"alg":"RS256","alg":"RS256","kid":"rsa-1"}"#,
        r#"{"alg":"RS256","kid":"rsa-1","kid":"rsa-1"}"#,
    ] {
        let token = sign_raw(rsa(), Algorithm::RS256, header, &payload);
        refused(auth.authorize::<()>(&token).await, Malformed);
    }
}

#[tokio::test]
async fn rejects_payload_that_is_a_json_array_or_string() {
    let header = r#"{"alg":"RS256","kid":"rsa-1"}"#;
    let auth = rsa_access();
    let array = format!(
        "[{}]",
        serde_json::to_string(&access_claims()).expect("json")
    );
    for payload in [array.as_str(), r#""a string""#, "42", "null", "not json"] {
        // Properly signed: only the payload's shape is wrong.
        let token = sign_raw(rsa(), Algorithm::RS256, header, payload);
        refused(auth.authorize::<()>(&token).await, Malformed);
    }
}

// ---- alg -----------------------------------------------------------------------------------

#[tokio::test]
async fn rejects_alg_none_in_any_spelling_as_unsigned() {
    let auth = rsa_access();
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = json!({"alg": alg, "kid": "rsa-1"});
        // Even with a signature segment present.
        let token = unsigned_with_junk_signature(&header, &access_claims());
        refused(auth.authorize::<()>(&token).await, UnsignedToken);
        let [h, p, _] = segments(&token);
        refused(
            auth.authorize::<()>(&format!("{h}.{p}.")).await,
            UnsignedToken,
        );
    }
}

#[tokio::test]
async fn rejects_hmac_algorithms_as_symmetric() {
    let auth = rsa_access();
    for alg in ["HS256", "HS384", "HS512"] {
        let token = hmac_token(alg, b"some shared secret", &access_claims());
        refused(auth.authorize::<()>(&token).await, SymmetricAlgorithm);
    }
}

#[tokio::test]
async fn rejects_hs256_token_keyed_with_the_rsa_public_jwk_json() {
    let auth = rsa_access();
    let jwk = rsa().jwk();
    for secret in [
        serde_json::to_vec(&jwk).expect("json"),
        serde_json::to_vec(&json!({"keys": [jwk]})).expect("json"),
        serde_json::to_vec_pretty(&rsa().jwk_without_alg()).expect("json"),
    ] {
        for alg in ["HS256", "HS384", "HS512"] {
            let token = hmac_token(alg, &secret, &access_claims());
            refused(auth.authorize::<()>(&token).await, SymmetricAlgorithm);
        }
    }
}

#[tokio::test]
async fn rejects_hs256_token_keyed_with_the_rsa_modulus_bytes() {
    let auth = rsa_access();
    let n_b64 = rsa().jwk()["n"].as_str().expect("n").to_owned();
    for secret in [unb64(&n_b64), n_b64.into_bytes()] {
        let token = hmac_token("HS256", &secret, &access_claims());
        refused(auth.authorize::<()>(&token).await, SymmetricAlgorithm);
    }
}

#[tokio::test]
async fn rejects_unimplemented_algorithms_as_unsupported() {
    let auth = rsa_access();
    for alg in [
        "RS1", "ES256K", "rs256", "Rs256", "PS256 ", "ED25519", "ES", "",
    ] {
        let token =
            unsigned_with_junk_signature(&json!({"alg": alg, "kid": "rsa-1"}), &access_claims());
        refused(auth.authorize::<()>(&token).await, UnsupportedAlgorithm);
    }
}

#[tokio::test]
async fn rejects_es512_by_default_as_disallowed() {
    let key = key_for(Algorithm::ES512);
    let token = key.token(&access_claims());
    let default = access_builder(keyset(&[key])).build();
    refused(default.authorize::<()>(&token).await, DisallowedAlgorithm);
    let allowed = access_builder(keyset(&[key]))
        .algorithms(AlgorithmSet::DEFAULT.with(Algorithm::ES512))
        .build();
    accepted(allowed.authorize::<()>(&token).await);
}

#[tokio::test]
async fn rejects_rs384_when_only_rs256_is_allowed() {
    // The key has no `alg` in its JWK, so it fits every RSA algorithm.
    let keys = keyset_of(&[rsa().jwk_without_alg()]);
    let only_rs256 = access_builder(keys.clone())
        .algorithms(AlgorithmSet::from_iter([Algorithm::RS256]))
        .build();
    let rs384 = rsa().sign_token(&json!({"alg": "RS384", "kid": "rsa-1"}), &access_claims());
    refused(
        only_rs256.authorize::<()>(&rs384).await,
        DisallowedAlgorithm,
    );
    accepted(
        only_rs256
            .authorize::<()>(&rsa().token(&access_claims()))
            .await,
    );
    // The same RS384 token passes with the default allowlist.
    accepted(access_builder(keys).build().authorize::<()>(&rs384).await);
}

#[tokio::test]
async fn rejects_every_algorithm_with_empty_allowlist() {
    let auth = access_builder(keyset(&[rsa()]))
        .algorithms(AlgorithmSet::EMPTY)
        .build();
    refused(
        auth.authorize::<()>(&rsa().token(&access_claims())).await,
        DisallowedAlgorithm,
    );
}

// ---- header extensions ---------------------------------------------------------------------

#[tokio::test]
async fn rejects_any_crit_header() {
    let auth = rsa_access();
    for crit in [
        json!(["exp"]),
        json!([]),
        json!(["b64"]),
        json!("exp"),
        json!({}),
    ] {
        let header = json!({"alg": "RS256", "kid": "rsa-1", "crit": crit, "exp": 1});
        let token = rsa().sign_token(&header, &access_claims());
        let err = refused(auth.authorize::<()>(&token).await, UnsupportedHeader);
        assert_eq!(err.claim_name(), Some("crit"));
    }
}

#[tokio::test]
async fn rejects_crit_header_that_is_null() {
    // RFC 7515 §4.1.11: `crit` is an array of names, never empty; `null` is not a way to
    // leave it out. tokengate understands no extension, so any `crit` member is refused.
    let header = json!({"alg": "RS256", "kid": "rsa-1", "crit": null});
    let token = rsa().sign_token(&header, &access_claims());
    refused(
        rsa_access().authorize::<()>(&token).await,
        UnsupportedHeader,
    );
}

#[tokio::test]
async fn rejects_unencoded_payload_b64_false() {
    let auth = rsa_access();
    let header = json!({"alg": "RS256", "kid": "rsa-1", "b64": false});
    let token = rsa().sign_token(&header, &access_claims());
    let err = refused(auth.authorize::<()>(&token).await, UnsupportedHeader);
    assert_eq!(err.claim_name(), Some("b64"));
    let header = json!({"alg": "RS256", "kid": "rsa-1", "b64": false, "crit": ["b64"]});
    let token = rsa().sign_token(&header, &access_claims());
    refused(auth.authorize::<()>(&token).await, UnsupportedHeader);
}

#[tokio::test]
async fn rejects_nested_token_cty_jwt() {
    let auth = rsa_access();
    for cty in ["JWT", "jwt", "Jwt"] {
        let header = json!({"alg": "RS256", "kid": "rsa-1", "cty": cty});
        let token = rsa().sign_token(&header, &access_claims());
        refused(auth.authorize::<()>(&token).await, NestedToken);
    }
}

#[tokio::test]
async fn rejects_nested_token_cty_application_jwt() {
    // RFC 7515 §4.1.10: a `cty` without '/' means "application/" + cty, so
    // "application/JWT" is the same content type as "JWT".
    let auth = rsa_access();
    for cty in ["application/JWT", "application/jwt"] {
        let header = json!({"alg": "RS256", "kid": "rsa-1", "cty": cty});
        let token = rsa().sign_token(&header, &access_claims());
        refused(auth.authorize::<()>(&token).await, NestedToken);
    }
}

#[tokio::test]
async fn accepts_token_with_other_cty() {
    let header = json!({"alg": "RS256", "kid": "rsa-1", "cty": "json"});
    let token = rsa().sign_token(&header, &access_claims());
    accepted(rsa_access().authorize::<()>(&token).await);
}

// ---- keys named by the token are never fetched or used ---------------------------------------

#[tokio::test]
async fn ignores_jku_x5u_jwk_x5c_headers_on_valid_token() {
    let attacker = ed();
    let header = json!({
        "alg": "RS256",
        "kid": "rsa-1",
        "jku": "https://evil.example/jwks.json",
        "x5u": "https://evil.example/cert.pem",
        "jwk": attacker.jwk(),
        "x5c": ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"],
        "x5t": "dGh1bWJwcmludA",
    });
    let token = rsa().sign_token(&header, &access_claims());
    let claims = accepted(rsa_access().authorize::<()>(&token).await);
    assert_eq!(claims.username(), Some("alice"));
}

#[tokio::test]
async fn rejects_token_signed_by_attacker_key_embedded_in_jwk_header() {
    let attacker = attacker_rsa();
    let auth = rsa_access();
    // The attacker's own kid: not in the key set.
    let header = json!({
        "alg": "RS256",
        "kid": "attacker",
        "jwk": attacker.jwk(),
        "jku": "https://evil.example/jwks.json",
    });
    let token = attacker.sign_token(&header, &access_claims());
    refused(auth.authorize::<()>(&token).await, UnknownKey);
    // The issuer's kid: the configured key verifies, and the signature is not its.
    let mut header = header;
    header["kid"] = json!("rsa-1");
    let token = attacker.sign_token(&header, &access_claims());
    refused(auth.authorize::<()>(&token).await, InvalidSignature);
    // No kid at all: the one configured key is chosen, and it is not the signer.
    let header = json!({"alg": "RS256", "jwk": attacker.jwk(), "x5c": ["AAAA"]});
    let token = attacker.sign_token(&header, &access_claims());
    refused(auth.authorize::<()>(&token).await, InvalidSignature);
}
