//! Hostile tokens, for tests of what resource servers refuse: the [`Forgery`] kinds and how
//! each is signed (or not) from claims the [`TokenBuilder`](crate::mock::TokenBuilder) built.
//! Everything that has a signature is signed by `jsonwebtoken`, as the mock's real tokens.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::mock::Shared;
use crate::mock::error::ApiError;
use crate::mock::keys::{KeyUse, SigningKey};

/// How a minted token is spoiled, for tests of what resource servers refuse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Forgery {
    /// `alg: none` and an empty signature.
    AlgNone,
    /// HS256, keyed with the public JWK's JSON text (the classic key-confusion attack).
    Hs256WithPublicKey,
    /// Signed by a key the JWKS never published, under a fresh `kid`.
    UnknownKid,
    /// Signed by the last retired key (rotate first).
    RetiredKey,
    /// A valid token whose signature has one byte changed.
    TamperedSignature,
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// Signs `claims` as a `key_use` token of `shared`, spoiled by `forgery` (none: signed
/// properly by the current key).
pub(crate) fn sign(
    shared: &Shared,
    key_use: KeyUse,
    forgery: Option<Forgery>,
    claims: &Value,
) -> Result<String, ApiError> {
    if forgery == Some(Forgery::UnknownKid) {
        // Generating an RSA key takes a while: outside the lock.
        return Ok(SigningKey::generate()?.sign_claims(claims)?);
    }
    let state = shared.state();
    let key = state.keys.current(key_use);
    match forgery {
        None | Some(Forgery::UnknownKid) => Ok(key.sign_claims(claims)?),
        Some(Forgery::AlgNone) => {
            let header = json!({"kid": key.kid, "alg": "none"});
            Ok(format!("{}.{}.", b64(&header), b64(claims)))
        }
        Some(Forgery::Hs256WithPublicKey) => {
            let mut header = Header::new(Algorithm::HS256);
            header.typ = None;
            header.kid = Some(key.kid.clone());
            let secret = EncodingKey::from_secret(key.public_jwk_text().as_bytes());
            jsonwebtoken::encode(&header, claims, &secret)
                .map_err(|e| ApiError::Internal(format!("signing failed: {e}")))
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
    }
}
