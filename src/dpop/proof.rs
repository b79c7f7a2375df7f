//! One DPoP proof checked as RFC 9449 §4.3 says, with no state touched: the replay check
//! comes after, once the token is valid too.

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::HeaderMap;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::algorithm::AlgorithmSet;
use crate::claims::{NumericDate, Str};
use crate::error::{AuthError, AuthErrorKind};
use crate::jwks::VerifyingKey;
use crate::token::is_b64token;
use crate::validate::{Compact, Header, MAX_SIGNATURE_LEN, media_type_is, starts_as_object};

use super::htu;
use super::nonce::{NonceCheck, Nonces};
use super::thumbprint::thumbprint;

/// The longest `jti` accepted: RFC 9449 §11.1 asks servers to refuse "unnecessarily large"
/// ones; 96 random bits (§4.2) take 16 characters.
const MAX_JTI_LEN: usize = 256;

/// JWK members that hold private key material (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// What a proof is checked against.
pub(crate) struct Expected<'a> {
    pub(crate) method: &'a str,
    /// The normalised URI the proof must name (`None` when the request gives none).
    pub(crate) htu: Option<&'a str>,
    /// The access token presented with the proof; `None` at a token endpoint (no `ath`).
    pub(crate) token: Option<&'a str>,
    pub(crate) now: u64,
    pub(crate) window: u64,
    pub(crate) algorithms: AlgorithmSet,
    pub(crate) max_len: usize,
    pub(crate) nonces: Option<&'a Nonces>,
}

/// A proof that passed every stateless check.
#[derive(Debug)]
pub(crate) struct Proof {
    /// RFC 7638 thumbprint of the proof's key.
    pub(crate) jkt: String,
    /// SHA-256 of the thumbprint and the `jti`: what the replay store records.
    pub(crate) replay_key: [u8; 32],
    /// How long to remember its `jti`, in seconds ([`replay_ttl_secs`]).
    pub(crate) ttl_secs: u64,
    /// The proof carried the previous period's nonce: send the current one.
    pub(crate) renew_nonce: bool,
}

#[derive(Deserialize)]
struct JwkOnly {
    jwk: Option<Value>,
}

#[derive(Deserialize)]
struct RawProof<'a> {
    #[serde(borrow)]
    jti: Option<Str<'a>>,
    #[serde(borrow)]
    htm: Option<Str<'a>>,
    #[serde(borrow)]
    htu: Option<Str<'a>>,
    iat: Option<NumericDate>,
    #[serde(borrow)]
    ath: Option<Str<'a>>,
    #[serde(borrow)]
    nonce: Option<Str<'a>>,
}

fn refuse(kind: AuthErrorKind, claim: &'static str) -> AuthError {
    AuthError::claim(kind, claim)
}

fn malformed(claim: &'static str) -> AuthError {
    refuse(AuthErrorKind::DpopProofMalformed, claim)
}

/// The one `DPoP` header of a request (§4.3 steps 1–2): `None` when there is none.
pub(crate) fn header_value(headers: &HeaderMap, max_len: usize) -> Result<Option<&str>, AuthError> {
    let mut values = headers.get_all("dpop").iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(malformed("DPoP header"));
    }
    if value.len() > max_len {
        return Err(malformed("DPoP header"));
    }
    // RFC 9449 §4.1: the value is a token68.
    let value = value.to_str().map_err(|_| malformed("DPoP header"))?;
    if !is_b64token(value) {
        return Err(malformed("DPoP header"));
    }
    Ok(Some(value))
}

/// base64url(SHA-256(token)): the `ath` of a proof for `token` (RFC 9449 §4.2).
pub(crate) fn token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, token.as_bytes()))
}

/// Checks `proof` (RFC 9449 §4.3, every step but the replay check): cheap checks first, the
/// key and signature last.
pub(crate) fn check(proof: &str, expected: &Expected<'_>) -> Result<Proof, AuthError> {
    // Steps 2, 4, 5: a compact JWS, `typ` dpop+jwt, an asymmetric allowlisted `alg`, and the
    // header rules every token here follows (no `crit`, no `b64: false`, no nested JWT).
    let compact = Compact::split(proof, expected.max_len).map_err(|e| match e.kind() {
        AuthErrorKind::UnsignedToken => refuse(AuthErrorKind::DpopProofAlgorithm, "alg"),
        _ => malformed("compact JWS"),
    })?;
    let header =
        Header::parse(compact.header, expected.algorithms).map_err(|e| match e.kind() {
            AuthErrorKind::UnsignedToken
            | AuthErrorKind::SymmetricAlgorithm
            | AuthErrorKind::UnsupportedAlgorithm
            | AuthErrorKind::DisallowedAlgorithm => {
                refuse(AuthErrorKind::DpopProofAlgorithm, "alg")
            }
            _ => malformed(e.claim_name().unwrap_or("header")),
        })?;
    if !header
        .typ
        .as_deref()
        .is_some_and(|typ| media_type_is(typ, "dpop+jwt"))
    {
        return Err(malformed("typ"));
    }

    // Step 3: the claims, each of the right type, no member twice.
    let payload = URL_SAFE_NO_PAD
        .decode(compact.payload)
        .map_err(|_| malformed("payload"))?;
    let payload = std::str::from_utf8(&payload).map_err(|_| malformed("payload"))?;
    if !starts_as_object(payload.as_bytes()) {
        return Err(malformed("payload"));
    }
    let claims: RawProof<'_> = serde_json::from_str(payload).map_err(|_| malformed("payload"))?;
    let jti = claims.jti.as_ref().ok_or(malformed("jti"))?;
    if jti.0.is_empty() || jti.0.len() > MAX_JTI_LEN {
        return Err(malformed("jti"));
    }
    let htm = claims.htm.as_ref().ok_or(malformed("htm"))?;
    let htu = claims.htu.as_ref().ok_or(malformed("htu"))?;
    let iat = claims.iat.ok_or(malformed("iat"))?.0;

    // Steps 8, 9: this request's method and URI.
    if htm.0 != expected.method {
        return Err(refuse(AuthErrorKind::DpopProofMismatch, "htm"));
    }
    let same_uri = expected
        .htu
        .is_some_and(|want| htu::normalize(&htu.0).as_deref() == Some(want));
    if !same_uri {
        return Err(refuse(AuthErrorKind::DpopProofMismatch, "htu"));
    }
    // Step 11: created within the window, either side of now.
    if iat.abs_diff(expected.now) > expected.window {
        return Err(refuse(AuthErrorKind::DpopProofStale, "iat"));
    }
    // Step 12, first half: for this very token.
    if let Some(token) = expected.token {
        let ath = claims.ath.as_ref().ok_or(malformed("ath"))?;
        if ath.0 != token_hash(token) {
            return Err(refuse(AuthErrorKind::DpopProofTokenHash, "ath"));
        }
    }
    // Step 10: the server's nonce, when it asks for one.
    let renew_nonce = match expected.nonces {
        None => false,
        Some(nonces) => match nonces.check(claims.nonce.as_ref().map(|n| &*n.0), expected.now) {
            NonceCheck::Current => false,
            NonceCheck::Previous => true,
            NonceCheck::Refused => return Err(refuse(AuthErrorKind::DpopNonceRequired, "nonce")),
        },
    };

    // Steps 6, 7: a public key, and the signature made by it.
    let jwk: JwkOnly = serde_json::from_str(
        std::str::from_utf8(
            &URL_SAFE_NO_PAD
                .decode(compact.header)
                .map_err(|_| malformed("header"))?,
        )
        .map_err(|_| malformed("header"))?,
    )
    .map_err(|_| malformed("header"))?;
    let jwk: Map<String, Value> = match jwk.jwk {
        Some(Value::Object(jwk)) => jwk,
        _ => return Err(refuse(AuthErrorKind::DpopProofKey, "jwk")),
    };
    if PRIVATE_MEMBERS.iter().any(|m| jwk.contains_key(*m)) {
        return Err(refuse(AuthErrorKind::DpopProofKey, "jwk"));
    }
    let jkt = thumbprint(&jwk).ok_or(refuse(AuthErrorKind::DpopProofKey, "jwk"))?;
    let key = VerifyingKey::for_proof(&Value::Object(jwk), header.alg)
        .map_err(|_| refuse(AuthErrorKind::DpopProofKey, "jwk"))?;
    if !key.fits(header.alg) {
        return Err(refuse(AuthErrorKind::DpopProofKey, "jwk"));
    }
    let mut signature = [0u8; MAX_SIGNATURE_LEN];
    let len = compact
        .decode_signature(&mut signature)
        .map_err(|_| refuse(AuthErrorKind::DpopProofSignature, "signature"))?;
    if !key.verify(
        header.alg,
        compact.signing_input.as_bytes(),
        &signature[..len],
    ) {
        return Err(refuse(AuthErrorKind::DpopProofSignature, "signature"));
    }

    let mut replay_input = Vec::with_capacity(jkt.len() + jti.0.len());
    replay_input.extend_from_slice(jkt.as_bytes());
    replay_input.extend_from_slice(jti.0.as_bytes());
    let mut replay_key = [0u8; 32];
    replay_key.copy_from_slice(digest(&SHA256, &replay_input).as_ref());
    Ok(Proof {
        jkt,
        replay_key,
        ttl_secs: replay_ttl_secs(expected.window),
        renew_nonce,
    })
}

/// How long the replay store keeps a `jti`, counted by the store's own clock from the first
/// use: twice `window` and [`DPOP_REPLAY_TTL_MARGIN`](super::DPOP_REPLAY_TTL_MARGIN).
///
/// Whatever its `iat`, a proof passes for at most 2 × `window` of one clock (`iat − window`
/// to `iat + window`). Derived from `now` instead, the TTL would end when the proof leaves the
/// window of the replica that recorded it, while a replica whose clock is behind still
/// takes it; independent of `now`, it covers every replica whose clock is within the margin.
pub(crate) fn replay_ttl_secs(window: u64) -> u64 {
    window
        .saturating_mul(2)
        .saturating_add(super::DPOP_REPLAY_TTL_MARGIN.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 9449 Figure 13: a proof for `GET https://resource.example.org/protectedresource`
    /// with the access token of Figure 6, created at 1562262618.
    const RFC_PROOF: &str = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiJlMWozVl9iS2ljOC1MQUVCIiwiaHRtIjoiR0VUIiwiaHR1IjoiaHR0cHM6Ly9yZXNvdXJjZS5leGFtcGxlLm9yZy9wcm90ZWN0ZWRyZXNvdXJjZSIsImlhdCI6MTU2MjI2MjYxOCwiYXRoIjoiZlVIeU8ycjJaM0RaNTNFc05yV0JiMHhXWG9hTnk1OUlpS0NBcWtzbVFFbyJ9.2oW9RP35yRqzhrtNP86L-Ey71EOptxRimPPToA1plemAgR6pxHF8y6-yqyVnmcw6Fy1dqd-jfxSYoMxhAJpLjA";
    const RFC_TOKEN: &str = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU";
    const RFC_HTU: &str = "https://resource.example.org/protectedresource";

    fn expected(now: u64) -> Expected<'static> {
        Expected {
            method: "GET",
            htu: Some(RFC_HTU),
            token: Some(RFC_TOKEN),
            now,
            window: 60,
            algorithms: AlgorithmSet::DEFAULT,
            max_len: 4096,
            nonces: None,
        }
    }

    fn kind(result: Result<Proof, AuthError>) -> AuthErrorKind {
        result.expect_err("refused").kind()
    }

    #[test]
    fn the_rfc_example_proof_passes_and_names_the_rfc_thumbprint() {
        assert_eq!(
            token_hash(RFC_TOKEN),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
        let proof = check(RFC_PROOF, &expected(1_562_262_618)).expect("valid");
        assert_eq!(proof.jkt, "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
        assert_eq!(proof.ttl_secs, 125);
        assert!(!proof.renew_nonce);
    }

    #[test]
    fn the_rfc_example_proof_is_refused_when_anything_differs() {
        let at = 1_562_262_618;
        assert_eq!(
            kind(check(
                RFC_PROOF,
                &Expected {
                    method: "POST",
                    ..expected(at)
                }
            )),
            AuthErrorKind::DpopProofMismatch
        );
        assert_eq!(
            kind(check(
                RFC_PROOF,
                &Expected {
                    htu: Some("https://resource.example.org/other"),
                    ..expected(at)
                }
            )),
            AuthErrorKind::DpopProofMismatch
        );
        assert_eq!(
            kind(check(
                RFC_PROOF,
                &Expected {
                    htu: None,
                    ..expected(at)
                }
            )),
            AuthErrorKind::DpopProofMismatch
        );
        assert_eq!(
            kind(check(RFC_PROOF, &expected(at + 61))),
            AuthErrorKind::DpopProofStale
        );
        assert_eq!(
            kind(check(RFC_PROOF, &expected(at - 61))),
            AuthErrorKind::DpopProofStale
        );
        assert!(check(RFC_PROOF, &expected(at + 60)).is_ok());
        assert_eq!(
            kind(check(
                RFC_PROOF,
                &Expected {
                    token: Some("another-token"),
                    ..expected(at)
                }
            )),
            AuthErrorKind::DpopProofTokenHash
        );
        let only_rsa = AlgorithmSet::from_iter([crate::Algorithm::RS256]);
        assert_eq!(
            kind(check(
                RFC_PROOF,
                &Expected {
                    algorithms: only_rsa,
                    ..expected(at)
                }
            )),
            AuthErrorKind::DpopProofAlgorithm
        );
        assert_eq!(
            kind(check(
                RFC_PROOF,
                &Expected {
                    max_len: 100,
                    ..expected(at)
                }
            )),
            AuthErrorKind::DpopProofMalformed
        );
        let nonces = Nonces::new(&[1; 32], 300);
        assert_eq!(
            kind(check(
                RFC_PROOF,
                &Expected {
                    nonces: Some(&nonces),
                    ..expected(at)
                }
            )),
            AuthErrorKind::DpopNonceRequired
        );
        // One changed signature byte.
        let mut tampered = RFC_PROOF.to_owned();
        let at_char = tampered.len() - 10;
        let was = tampered.as_bytes()[at_char];
        tampered.replace_range(at_char..=at_char, if was == b'A' { "B" } else { "A" });
        assert_eq!(
            kind(check(&tampered, &expected(at))),
            AuthErrorKind::DpopProofSignature
        );
    }

    #[test]
    fn an_rsa_proof_key_over_4096_bits_is_refused_before_its_signature_is_checked() {
        let at = 1_562_262_618u64;
        let b64 = |v: &[u8]| URL_SAFE_NO_PAD.encode(v);
        let jwk = serde_json::json!({"kty": "RSA", "n": b64(&[0xff; 513]), "e": "AQAB"});
        let header = serde_json::json!({"typ": "dpop+jwt", "alg": "RS256", "jwk": jwk});
        let claims = serde_json::json!({
            "jti": "j", "htm": "GET", "htu": RFC_HTU, "iat": at, "ath": token_hash(RFC_TOKEN),
        });
        let proof = format!(
            "{}.{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes()),
            b64(&[1; 513])
        );
        let roomy = Expected {
            max_len: 8192,
            ..expected(at)
        };
        assert_eq!(kind(check(&proof, &roomy)), AuthErrorKind::DpopProofKey);
    }

    #[test]
    fn the_replay_key_depends_on_the_key_and_the_jti() {
        let a = check(RFC_PROOF, &expected(1_562_262_618)).expect("valid");
        let b = check(RFC_PROOF, &expected(1_562_262_630)).expect("valid");
        assert_eq!(a.replay_key, b.replay_key);
    }

    #[test]
    fn the_replay_ttl_does_not_depend_on_how_old_the_proof_is() {
        // At both ends of the window, and in the middle: twice the window and the margin.
        for now in [1_562_262_618 - 60, 1_562_262_618, 1_562_262_618 + 60] {
            let proof = check(RFC_PROOF, &expected(now)).expect("valid");
            assert_eq!(proof.ttl_secs, 2 * 60 + 5, "{now}");
        }
        assert_eq!(replay_ttl_secs(3_600), 7_205);
    }

    #[test]
    fn one_dpop_header_of_token68_within_the_limit() {
        let mut headers = HeaderMap::new();
        assert_eq!(header_value(&headers, 100).expect("none"), None);
        headers.append("dpop", "abc.def.ghi".parse().expect("value"));
        assert_eq!(
            header_value(&headers, 100).expect("one"),
            Some("abc.def.ghi")
        );
        assert_eq!(
            header_value(&headers, 5).unwrap_err().kind(),
            AuthErrorKind::DpopProofMalformed
        );
        headers.append("DPoP", "x.y.z".parse().expect("value"));
        assert_eq!(
            header_value(&headers, 100).unwrap_err().kind(),
            AuthErrorKind::DpopProofMalformed
        );
        let mut spaced = HeaderMap::new();
        spaced.insert("dpop", "a b".parse().expect("value"));
        assert_eq!(
            header_value(&spaced, 100).unwrap_err().kind(),
            AuthErrorKind::DpopProofMalformed
        );
    }
}
