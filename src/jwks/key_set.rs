//! A set of verifying keys, and the choice of the key for one token (RFC 7515 §4.1.4, §6).

use std::sync::Arc;

use serde::Deserialize;

use crate::algorithm::Algorithm;
use crate::error::{AuthErrorKind, Error, ErrorKind};
use crate::jwks::VerifyingKey;

/// Keys in one document beyond this are refused, unless configured otherwise.
pub(crate) const DEFAULT_MAX_KEYS: usize = 100;

/// A key from a JWKS document that was left out, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedKey {
    /// The key's `kid`, if it had one.
    pub kid: Option<String>,
    /// Why it was left out.
    pub reason: String,
}

/// An immutable set of verifying keys; cheap to clone.
///
/// One unusable key (an encryption key, a short RSA key, a curve tokengate does not implement)
/// does not spoil the set: it is left out and listed in [`KeySet::skipped`].
///
/// ```
/// use tokengate::KeySet;
///
/// let jwks = br#"{"keys": [{"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}]}"#;
/// // A symmetric key is never used, so this set has nothing to verify with.
/// assert!(KeySet::from_jwks_json(jwks).is_err());
/// ```
#[derive(Clone, Debug, Default)]
pub struct KeySet {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    keys: Box<[VerifyingKey]>,
    skipped: Box<[SkippedKey]>,
}

#[derive(Deserialize)]
struct RawJwks {
    keys: Vec<serde_json::Value>,
}

impl KeySet {
    /// A set of the given keys.
    pub fn from_keys(keys: impl IntoIterator<Item = VerifyingKey>) -> Self {
        Self {
            inner: Arc::new(Inner {
                keys: keys.into_iter().collect(),
                skipped: Box::default(),
            }),
        }
    }

    /// Parses a JWKS document (RFC 7517 §5), keeping every usable signing key.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidKeySet`] when the document is not a JSON object with a `keys` array,
    /// [`ErrorKind::TooManyKeys`] beyond 100 keys, [`ErrorKind::NoUsableKeys`] when no key
    /// can verify signatures.
    pub fn from_jwks_json(document: &[u8]) -> Result<Self, Error> {
        Self::from_jwks_json_with_limit(document, DEFAULT_MAX_KEYS)
    }

    /// Like [`KeySet::from_jwks_json`], with a limit on the number of keys.
    ///
    /// # Errors
    ///
    /// As [`KeySet::from_jwks_json`].
    pub fn from_jwks_json_with_limit(document: &[u8], max_keys: usize) -> Result<Self, Error> {
        if !crate::validate::starts_as_object(document) {
            return Err(ErrorKind::InvalidKeySet("not a JSON object".into()).into());
        }
        let raw: RawJwks = serde_json::from_slice(document)
            .map_err(|e| Error::new(ErrorKind::InvalidKeySet(e.to_string())))?;
        if raw.keys.len() > max_keys {
            return Err(ErrorKind::TooManyKeys {
                count: raw.keys.len(),
                limit: max_keys,
            }
            .into());
        }
        let mut keys = Vec::with_capacity(raw.keys.len());
        let mut skipped = Vec::new();
        for jwk in &raw.keys {
            match VerifyingKey::from_jwk(jwk) {
                Ok(key) => keys.push(key),
                Err(err) => skipped.push(SkippedKey {
                    kid: jwk.get("kid").and_then(|k| k.as_str()).map(str::to_owned),
                    reason: err.to_string(),
                }),
            }
        }
        if keys.is_empty() {
            return Err(ErrorKind::NoUsableKeys.into());
        }
        Ok(Self {
            inner: Arc::new(Inner {
                keys: keys.into(),
                skipped: skipped.into(),
            }),
        })
    }

    /// The usable keys.
    pub fn keys(&self) -> &[VerifyingKey] {
        &self.inner.keys
    }

    /// The keys of the document that were left out, with the reason.
    pub fn skipped(&self) -> &[SkippedKey] {
        &self.inner.skipped
    }

    /// Number of usable keys.
    pub fn len(&self) -> usize {
        self.inner.keys.len()
    }

    /// Whether the set has no usable key.
    pub fn is_empty(&self) -> bool {
        self.inner.keys.is_empty()
    }

    /// Whether a key with this `kid` is in the set.
    pub fn contains_kid(&self, kid: &str) -> bool {
        self.inner.keys.iter().any(|k| k.kid() == Some(kid))
    }

    /// Whether `other` holds exactly the same keys, in any order: a refresh that returns them
    /// changes nothing that was verified with this set.
    pub(crate) fn same_keys(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self
                .keys()
                .iter()
                .all(|key| other.keys().iter().any(|o| key.same_key(o)))
            && other
                .keys()
                .iter()
                .all(|key| self.keys().iter().any(|o| key.same_key(o)))
    }

    /// Chooses the one key that may verify a token with this `alg` and `kid`.
    ///
    /// With a `kid`, the keys of that id that fit the algorithm; without, every key that fits.
    /// Exactly one must remain: none is [`AuthErrorKind::UnknownKey`] (the `kid` is absent) or
    /// [`AuthErrorKind::NoMatchingKey`] (keys exist but none fits); two or more are ambiguous,
    /// also [`AuthErrorKind::NoMatchingKey`].
    pub(crate) fn select(
        &self,
        alg: Algorithm,
        kid: Option<&str>,
    ) -> Result<&VerifyingKey, AuthErrorKind> {
        let mut found_kid = false;
        let mut chosen = None;
        for key in self.inner.keys.iter() {
            if let Some(kid) = kid {
                if key.kid() != Some(kid) {
                    continue;
                }
                found_kid = true;
            }
            if key.fits(alg) {
                if chosen.is_some() {
                    return Err(AuthErrorKind::NoMatchingKey);
                }
                chosen = Some(key);
            }
        }
        match chosen {
            Some(key) => Ok(key),
            None if kid.is_some() && !found_kid => Err(AuthErrorKind::UnknownKey),
            None => Err(AuthErrorKind::NoMatchingKey),
        }
    }
}
