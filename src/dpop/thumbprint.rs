//! RFC 7638 JWK thumbprints (SHA-256), the value of `cnf.jkt` (RFC 9449 §6.1).

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

/// The base64url SHA-256 thumbprint of a public JWK: its required members only, in
/// lexicographic order, without whitespace (RFC 7638 §3.2; RFC 8037 §2 for `OKP`).
///
/// `None` when the key type is not RSA, EC or OKP, or a required member is not a string.
pub(crate) fn thumbprint(jwk: &Map<String, Value>) -> Option<String> {
    let members: &[&str] = match jwk.get("kty")?.as_str()? {
        "RSA" => &["e", "kty", "n"],
        "EC" => &["crv", "kty", "x", "y"],
        "OKP" => &["crv", "kty", "x"],
        _ => return None,
    };
    let mut canonical = String::with_capacity(160);
    canonical.push('{');
    for (i, name) in members.iter().enumerate() {
        if i > 0 {
            canonical.push(',');
        }
        let value = jwk.get(*name)?.as_str()?;
        canonical.push('"');
        canonical.push_str(name);
        canonical.push_str("\":");
        // serde_json writes the string with JSON escaping, as RFC 7638 §3.3 requires.
        canonical.push_str(&serde_json::to_string(value).ok()?);
    }
    canonical.push('}');
    Some(URL_SAFE_NO_PAD.encode(digest(&SHA256, canonical.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn rfc7638_example_rsa_key() {
        // RFC 7638 §3.1.
        let jwk = map(serde_json::json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        }));
        assert_eq!(
            thumbprint(&jwk).as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
    }

    #[test]
    fn rfc9449_example_ec_key() {
        // RFC 9449 §6.1: the `jkt` of Figure 9 is the thumbprint of the key of Figure 4.
        let jwk = map(serde_json::json!({
            "kty": "EC",
            "x": "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
            "y": "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA",
            "crv": "P-256"
        }));
        assert_eq!(
            thumbprint(&jwk).as_deref(),
            Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I")
        );
    }

    #[test]
    fn optional_members_do_not_change_the_thumbprint_and_odd_keys_have_none() {
        let bare = map(serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": "abc"}));
        let dressed = map(
            serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": "abc", "kid": "k", "use": "sig"}),
        );
        assert_eq!(thumbprint(&bare), thumbprint(&dressed));
        assert!(thumbprint(&map(serde_json::json!({"kty": "oct", "k": "abc"}))).is_none());
        assert!(
            thumbprint(&map(
                serde_json::json!({"kty": "EC", "crv": "P-256", "x": "a"})
            ))
            .is_none()
        );
        assert!(thumbprint(&map(serde_json::json!({"kty": "RSA", "n": 1, "e": "AQAB"}))).is_none());
    }
}
