//! The mock's signing keys: RS256, one for access tokens and one for ID tokens (as Cognito),
//! with rotation in three steps: publish the next key, switch to it, retire the old one.
//!
//! Keys are made by aws-lc-rs, tokens signed by `jsonwebtoken`: tokengate verifies with
//! aws-lc-rs directly, so every test against the mock crosses two JOSE implementations, and
//! a mistake in how either encodes a JWS fails the tests instead of passing on both sides.

use std::fmt;

use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::error::{Error, ErrorKind};
use crate::mock::error::ApiError;

/// One RSA signing key and its `kid`.
pub(crate) struct SigningKey {
    pub(crate) kid: String,
    /// The key pair, for the public JWK.
    pair: RsaKeyPair,
    /// The same private key, as `jsonwebtoken` signs with it (PKCS#1 DER).
    encoding: EncodingKey,
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

/// One DER element (X.690 §8.1): its tag, its contents, and what follows it.
fn der_element(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let octets = usize::from(first & 0x7f);
        if octets == 0 || octets > 4 || rest.len() < octets {
            return None;
        }
        let (len, rest) = rest.split_at(octets);
        (
            len.iter().fold(0usize, |n, b| (n << 8) | usize::from(*b)),
            rest,
        )
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// The PKCS#1 `RSAPrivateKey` inside a PKCS#8 `PrivateKeyInfo` (RFC 5208 §5: a SEQUENCE of
/// the version, the algorithm and an OCTET STRING holding the key): aws-lc-rs exports the
/// latter, `jsonwebtoken` signs with the former.
pub(crate) fn pkcs1_of_pkcs8(pkcs8: &[u8]) -> Option<&[u8]> {
    let (0x30, info, _) = der_element(pkcs8)? else {
        return None;
    };
    let (0x02, _, rest) = der_element(info)? else {
        return None;
    };
    let (0x30, _, rest) = der_element(rest)? else {
        return None;
    };
    match der_element(rest)? {
        (0x04, key, _) => Some(key),
        _ => None,
    }
}

impl SigningKey {
    pub(crate) fn generate() -> Result<Self, Error> {
        let failed = || Error::new(ErrorKind::Config("cannot generate an RSA key".into()));
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| failed())?;
        let pkcs8 = pair.as_der().map_err(|_| failed())?;
        let pkcs1 = pkcs1_of_pkcs8(pkcs8.as_ref()).ok_or_else(failed)?;
        Ok(Self {
            kid: random_id(12),
            encoding: EncodingKey::from_rsa_der(pkcs1),
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

    /// The public key as a PKCS#1 `RSAPublicKey` (RFC 8017 §A.1.1), DER.
    pub(crate) fn public_pkcs1_der(&self) -> Vec<u8> {
        self.pair.public_key().as_ref().to_vec()
    }

    /// The public key as a SubjectPublicKeyInfo (RFC 5280 §4.1.2.7), DER.
    pub(crate) fn public_spki_der(&self) -> Result<Vec<u8>, Error> {
        let der: PublicKeyX509Der<'static> = self.pair.public_key().as_der().map_err(|_| {
            Error::new(ErrorKind::Config("cannot encode the RSA public key".into()))
        })?;
        Ok(der.as_ref().to_vec())
    }

    /// A compact JWS of `claims` with this key: header `{"alg": "RS256", "kid"}`, as
    /// Cognito's (no `typ`).
    pub(crate) fn sign_claims(&self, claims: &Value) -> Result<String, Error> {
        let mut header = Header::new(Algorithm::RS256);
        header.typ = None;
        header.kid = Some(self.kid.clone());
        self.sign_with(&header, claims)
    }

    /// A compact JWS of `claims` with this key under `header` (RS256 for this key).
    pub(crate) fn sign_with(&self, header: &Header, claims: &Value) -> Result<String, Error> {
        jsonwebtoken::encode(header, claims, &self.encoding)
            .map_err(|e| Error::new(ErrorKind::Config(format!("signing failed: {e}"))))
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

#[cfg(test)]
mod tests {
    use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};

    use super::*;

    #[test]
    fn jsonwebtoken_signs_what_aws_lc_rs_verifies_under_the_published_key() {
        let key = SigningKey::generate().expect("a key");
        let token = key.sign_claims(&json!({"sub": "x"})).expect("signed");
        let (input, signature) = token.rsplit_once('.').expect("three segments");
        let header = input.split('.').next().expect("a header");
        assert_eq!(
            URL_SAFE_NO_PAD.decode(header).expect("base64url"),
            format!(r#"{{"alg":"RS256","kid":"{}"}}"#, key.kid).into_bytes()
        );
        let public = UnparsedPublicKey::new(
            &RSA_PKCS1_2048_8192_SHA256,
            key.pair.public_key().as_ref().to_vec(),
        );
        public
            .verify(
                input.as_bytes(),
                &URL_SAFE_NO_PAD.decode(signature).expect("base64url"),
            )
            .expect("aws-lc-rs verifies jsonwebtoken's signature");
    }

    #[test]
    fn pkcs1_is_found_inside_pkcs8_and_garbage_is_not() {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).expect("a key");
        let pkcs8 = pair.as_der().expect("PKCS#8");
        let pkcs1 = pkcs1_of_pkcs8(pkcs8.as_ref()).expect("PKCS#1 inside");
        RsaKeyPair::from_der(pkcs1).expect("aws-lc-rs reads it back");
        for bad in [
            &[][..],
            &[0x30],
            &[0x30, 0x82, 0xff],
            &[0x04, 0x00],
            &pkcs8.as_ref()[..40],
        ] {
            assert!(pkcs1_of_pkcs8(bad).is_none(), "{bad:?}");
        }
    }
}
