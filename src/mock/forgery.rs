//! Hostile tokens, for tests of what resource servers refuse: the [`Forgery`] kinds and how
//! each is signed (or not) from claims the [`TokenBuilder`](crate::mock::TokenBuilder) built.
//! Everything that has a signature is signed by `jsonwebtoken`, as the mock's real tokens.
//!
//! Each is a token a real verifier bug accepted: HMAC keyed with the bytes a confused
//! verifier holds for the RSA key (PEM text and DER, as libraries load them), `none` in the
//! spellings case-sensitive checks miss, keys named by the token itself (`jwk`, `jku`, `x5u`,
//! the attacker's key set served by the mock under the issuer's path so that a verifier that
//! follows `jku` gets a key that verifies, and the request log shows the fetch), and an ID
//! token where an access token goes.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::mock::Shared;
use crate::mock::error::ApiError;
use crate::mock::keys::{KeyUse, SigningKey};

/// How a minted token is spoiled, for tests of what resource servers refuse.
///
/// In the admin API (`POST /_admin/tokens`) each is named in snake case (`alg_none`,
/// `hs256_with_spki_pem` …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Forgery {
    /// `alg: none` and an empty signature.
    AlgNone,
    /// `alg: None` and an empty signature (a case-sensitive `none` check misses it).
    AlgNoneCapitalized,
    /// `alg: NONE` and an empty signature.
    AlgNoneUppercase,
    /// HS256, keyed with the public JWK's JSON text.
    Hs256WithPublicKey,
    /// HS256 keyed with the public key's SubjectPublicKeyInfo PEM
    /// (`-----BEGIN PUBLIC KEY-----`, 64-character lines, a final newline, as OpenSSL writes
    /// it): the key-confusion attack on verifiers that pass a PEM file to any algorithm.
    Hs256WithSpkiPem,
    /// HS256 keyed with the public key's PKCS#1 PEM (`-----BEGIN RSA PUBLIC KEY-----`).
    Hs256WithPkcs1Pem,
    /// HS256 keyed with the public key's SubjectPublicKeyInfo DER.
    Hs256WithSpkiDer,
    /// HS256 keyed with the public key's PKCS#1 `RSAPublicKey` DER (what a verifier holding
    /// the key as DER, such as `jsonwebtoken`'s `DecodingKey::from_rsa_der`, has in hand).
    Hs256WithPkcs1Der,
    /// Signed by a key the JWKS never published, under a fresh `kid`.
    UnknownKid,
    /// Signed by the last retired key (rotate first).
    RetiredKey,
    /// A valid token whose signature has one byte changed.
    TamperedSignature,
    /// Signed by the attacker's key, which the header carries as `jwk` (RFC 7515 §4.1.3),
    /// under the attacker key's `kid`.
    EmbeddedJwk,
    /// Signed by the attacker's key, the header's `jku` (RFC 7515 §4.1.2) naming the
    /// attacker's key set, which the mock serves under the issuer's path
    /// (`ISSUER/_forgery/jwks.json`: a verifier checking only that `jku` starts with the
    /// issuer is fooled too).
    JkuHeader,
    /// Signed by the attacker's key, the header's `x5u` (RFC 7515 §4.1.5) naming
    /// `ISSUER/_forgery/x5u.pem` (not served: the mock makes no certificates; a verifier that
    /// fetches it shows in the request log).
    X5uHeader,
    /// The ID token of the same client and user, signed by the ID key, offered where an
    /// access token goes (`token_use: id`, `aud` instead of `client_id`).
    IdTokenAsAccessToken,
}

/// The path of the attacker's key set, under the issuer's path.
pub(crate) fn jku_path(shared: &Shared) -> String {
    format!("{}/_forgery/jwks.json", shared.key_path)
}

/// The path an `x5u` forgery names (not served).
fn x5u_path(shared: &Shared) -> String {
    format!("{}/_forgery/x5u.pem", shared.key_path)
}

/// The attacker's key: one per mock, made on first use, outside the state's lock
/// (generating an RSA key takes a while).
fn attacker_key(shared: &Shared) -> Result<&SigningKey, ApiError> {
    if let Some(key) = shared.attacker.get() {
        return Ok(key);
    }
    let key = SigningKey::generate()?;
    Ok(shared.attacker.get_or_init(|| key))
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// `der` as PEM (RFC 7468 §2): base64 in 64-character lines between the labels.
fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn signing_failed(e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(format!("signing failed: {e}"))
}

/// What an HS256 forgery is keyed with: the bytes a confused verifier holds for `key`.
fn hmac_secret(key: &SigningKey, forgery: Forgery) -> Result<Vec<u8>, ApiError> {
    Ok(match forgery {
        Forgery::Hs256WithSpkiPem => pem("PUBLIC KEY", &key.public_spki_der()?).into_bytes(),
        Forgery::Hs256WithPkcs1Pem => pem("RSA PUBLIC KEY", &key.public_pkcs1_der()).into_bytes(),
        Forgery::Hs256WithSpkiDer => key.public_spki_der()?,
        Forgery::Hs256WithPkcs1Der => key.public_pkcs1_der(),
        _ => key.public_jwk_text().into_bytes(),
    })
}

/// Signs `claims` as a `key_use` token of `shared`, spoiled by `forgery` (none: signed
/// properly by the current key).
pub(crate) fn sign(
    shared: &Shared,
    key_use: KeyUse,
    forgery: Option<Forgery>,
    claims: &Value,
) -> Result<String, ApiError> {
    match forgery {
        // Generating an RSA key takes a while: outside the lock.
        Some(Forgery::UnknownKid) => return Ok(SigningKey::generate()?.sign_claims(claims)?),
        Some(forgery @ (Forgery::EmbeddedJwk | Forgery::JkuHeader | Forgery::X5uHeader)) => {
            let attacker = attacker_key(shared)?;
            let mut header = Header::new(Algorithm::RS256);
            header.typ = None;
            header.kid = Some(attacker.kid.clone());
            match forgery {
                Forgery::EmbeddedJwk => {
                    header.jwk = Some(
                        serde_json::from_value::<Jwk>(attacker.jwk()).map_err(signing_failed)?,
                    );
                }
                Forgery::JkuHeader => header.jku = Some(shared.url(&jku_path(shared))),
                _ => header.x5u = Some(shared.url(&x5u_path(shared))),
            }
            return Ok(attacker.sign_with(&header, claims)?);
        }
        _ => {}
    }
    let state = shared.state();
    let key = state.keys.current(key_use);
    match forgery {
        Some(Forgery::AlgNone | Forgery::AlgNoneCapitalized | Forgery::AlgNoneUppercase) => {
            let alg = match forgery {
                Some(Forgery::AlgNoneCapitalized) => "None",
                Some(Forgery::AlgNoneUppercase) => "NONE",
                _ => "none",
            };
            let header = json!({"kid": key.kid, "alg": alg});
            Ok(format!("{}.{}.", b64(&header), b64(claims)))
        }
        Some(
            forgery @ (Forgery::Hs256WithPublicKey
            | Forgery::Hs256WithSpkiPem
            | Forgery::Hs256WithPkcs1Pem
            | Forgery::Hs256WithSpkiDer
            | Forgery::Hs256WithPkcs1Der),
        ) => {
            let mut header = Header::new(Algorithm::HS256);
            header.typ = None;
            header.kid = Some(key.kid.clone());
            let secret = EncodingKey::from_secret(&hmac_secret(key, forgery)?);
            jsonwebtoken::encode(&header, claims, &secret).map_err(signing_failed)
        }
        Some(Forgery::RetiredKey) => Ok(state
            .keys
            .retired()
            .ok_or_else(|| ApiError::Invalid("no key was retired yet: rotate first".into()))?
            .sign_claims(claims)?),
        Some(Forgery::TamperedSignature) => {
            let token = key.sign_claims(claims)?;
            let (input, signature) = token.rsplit_once('.').unwrap_or((&token, ""));
            let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap_or_default();
            if let Some(first) = bytes.first_mut() {
                *first ^= 0x01;
            }
            Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(bytes)))
        }
        // Signed properly: the ID token forgery's claims and key were chosen by the builder.
        None
        | Some(
            Forgery::IdTokenAsAccessToken
            | Forgery::UnknownKid
            | Forgery::EmbeddedJwk
            | Forgery::JkuHeader
            | Forgery::X5uHeader,
        ) => Ok(key.sign_claims(claims)?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_has_its_labels_and_64_character_lines() {
        let text = pem("PUBLIC KEY", &[7u8; 100]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.first(), Some(&"-----BEGIN PUBLIC KEY-----"));
        assert_eq!(lines.last(), Some(&"-----END PUBLIC KEY-----"));
        assert!(text.ends_with("-----\n"));
        // 100 bytes are 136 base64 characters: 64, 64, 8.
        let body: Vec<usize> = lines[1..lines.len() - 1].iter().map(|l| l.len()).collect();
        assert_eq!(body, [64, 64, 8]);
        assert_eq!(
            STANDARD
                .decode(lines[1..lines.len() - 1].concat())
                .expect("base64"),
            [7u8; 100]
        );
    }
}
