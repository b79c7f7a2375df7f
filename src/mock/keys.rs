//! The mock's signing keys: RS256, one for access tokens and one for ID tokens (as Cognito),
//! with rotation in three steps: publish the next key, switch to it, retire the old one.

use std::fmt;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::error::{Error, ErrorKind};
use crate::mock::error::ApiError;

/// One RSA signing key and its `kid`.
pub(crate) struct SigningKey {
    pub(crate) kid: String,
    pair: RsaKeyPair,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// `bytes` random bytes, base64url: ids, key ids, cookie-name suffixes.
pub(crate) fn random_id(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    let _ = aws_lc_rs::rand::fill(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

impl SigningKey {
    pub(crate) fn generate() -> Result<Self, Error> {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048)
            .map_err(|_| Error::new(ErrorKind::Config("cannot generate an RSA key".into())))?;
        Ok(Self {
            kid: random_id(12),
            pair,
        })
    }

    /// The public JWK, as Cognito publishes it: `kid`, `alg`, `kty`, `e`, `n`, `use`.
    pub(crate) fn jwk(&self) -> Value {
        let public = self.pair.public_key();
        json!({
            "alg": "RS256",
            "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
            "kid": self.kid,
            "kty": "RSA",
            "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
            "use": "sig",
        })
    }

    /// The public key's JWK as JSON text: what an HS256 forgery uses as its "secret".
    pub(crate) fn public_jwk_text(&self) -> String {
        self.jwk().to_string()
    }

    /// RS256 over `message`.
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        let mut signature = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                message,
                &mut signature,
            )
            .map_err(|_| Error::new(ErrorKind::Config("RSA signing failed".into())))?;
        Ok(signature)
    }

    /// A compact JWS of `claims` with this key: header `{"kid", "alg": "RS256"}`.
    pub(crate) fn sign_claims(&self, claims: &Value) -> Result<String, Error> {
        let header = json!({"kid": self.kid, "alg": "RS256"});
        self.sign_with_header(&header, claims)
    }

    pub(crate) fn sign_with_header(&self, header: &Value, claims: &Value) -> Result<String, Error> {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self.sign(input.as_bytes())?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }
}

/// Which kind of token a key signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyUse {
    /// Access tokens.
    Access,
    /// ID tokens.
    Id,
}

/// The published keys, which two of them sign, and the retired ones (kept to mint tokens
/// "signed by a retired key").
#[derive(Debug)]
pub(crate) struct KeyRing {
    published: Vec<SigningKey>,
    retired: Vec<SigningKey>,
    access: String,
    id: String,
}

impl KeyRing {
    pub(crate) fn generate() -> Result<Self, Error> {
        let access = SigningKey::generate()?;
        let id = SigningKey::generate()?;
        Ok(Self {
            access: access.kid.clone(),
            id: id.kid.clone(),
            published: vec![access, id],
            retired: Vec::new(),
        })
    }

    pub(crate) fn jwks(&self) -> Value {
        json!({"keys": self.published.iter().map(SigningKey::jwk).collect::<Vec<_>>()})
    }

    pub(crate) fn current(&self, key_use: KeyUse) -> &SigningKey {
        let kid = match key_use {
            KeyUse::Access => &self.access,
            KeyUse::Id => &self.id,
        };
        // The current kids always name published keys (switch and retire keep it so).
        self.published
            .iter()
            .find(|k| &k.kid == kid)
            .unwrap_or(&self.published[0])
    }

    pub(crate) fn retired(&self) -> Option<&SigningKey> {
        self.retired.last()
    }

    pub(crate) fn kids(&self) -> Vec<String> {
        self.published.iter().map(|k| k.kid.clone()).collect()
    }

    /// Step 1: publish a new key in the JWKS without signing with it yet.
    pub(crate) fn publish(&mut self, key: SigningKey) {
        self.published.push(key);
    }

    /// Step 2: sign `key_use` tokens with the published key `kid`.
    pub(crate) fn switch(&mut self, key_use: KeyUse, kid: &str) -> Result<(), ApiError> {
        if !self.published.iter().any(|k| k.kid == kid) {
            return Err(ApiError::NotFound(format!("no published key `{kid}`")));
        }
        match key_use {
            KeyUse::Access => self.access = kid.to_owned(),
            KeyUse::Id => self.id = kid.to_owned(),
        }
        Ok(())
    }

    /// Step 3: remove `kid` from the JWKS. The keys in use cannot be retired.
    pub(crate) fn retire(&mut self, kid: &str) -> Result<(), ApiError> {
        let Some(at) = self.published.iter().position(|k| k.kid == kid) else {
            return Err(ApiError::NotFound(format!("no published key `{kid}`")));
        };
        if kid == self.access || kid == self.id {
            return Err(ApiError::Invalid(format!(
                "key `{kid}` still signs tokens: switch first"
            )));
        }
        let key = self.published.remove(at);
        self.retired.push(key);
        Ok(())
    }
}

pub(crate) fn new_id() -> String {
    random_id(18)
}

/// A UUID v4 string, as Cognito's `sub`, `jti`, `event_id`.
pub(crate) fn uuid() -> String {
    let mut b = [0u8; 16];
    let _ = aws_lc_rs::rand::fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}
