//! One JWK (RFC 7517 §4, RFC 7518 §6, RFC 8037 §2) prepared for verification.

use std::fmt;

use aws_lc_rs::signature::{self, ParsedPublicKey, RsaPublicKeyComponents};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use crate::algorithm::{Algorithm, Curve, KeyFamily};
use crate::error::{Error, ErrorKind};

/// RSA moduli shorter than this are refused (RFC 7518 §3.3: 2048 bits or larger).
const MIN_RSA_BITS: usize = 2048;
/// RSA moduli longer than this are refused: they only make verification slow.
const MAX_RSA_BITS: usize = 8192;
/// RSA moduli longer than this are refused in a DPoP proof: its key comes from the client,
/// with every request, and what a client may send should not cost the server more than a
/// 4096-bit verification (RSA keys of DPoP clients are 2048 bits in practice).
const MAX_PROOF_RSA_BITS: usize = 4096;

/// What a JWK is prepared for.
#[derive(Clone, Copy, Debug)]
struct Purpose {
    /// The one algorithm it will verify (a proof's header `alg`), or any its JWK allows.
    only: Option<Algorithm>,
    max_rsa_bits: usize,
}

/// A public key ready to verify signatures: parsed once, when the key set is loaded.
///
/// Build one from a JWK with [`VerifyingKey::from_jwk`], or from raw key material with
/// [`VerifyingKey::rsa`], [`VerifyingKey::ec`] or [`VerifyingKey::ed25519`].
///
/// ```
/// use tokengate::VerifyingKey;
///
/// // A 1024-bit RSA key is refused.
/// let short = serde_json::json!({"kty": "RSA", "kid": "k", "n": "AQAB".repeat(43), "e": "AQAB"});
/// assert!(VerifyingKey::from_jwk(&short).is_err());
/// ```
#[derive(Clone)]
pub struct VerifyingKey {
    kid: Option<Box<str>>,
    alg: Option<Algorithm>,
    family: KeyFamily,
    bits: usize,
    /// One prepared key per algorithm this key may verify.
    verifiers: Box<[(Algorithm, ParsedPublicKey)]>,
}

#[derive(Deserialize)]
struct RawJwk {
    kty: String,
    #[serde(rename = "use")]
    use_: Option<String>,
    key_ops: Option<Vec<String>>,
    alg: Option<String>,
    kid: Option<String>,
    n: Option<String>,
    e: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
    d: Option<serde::de::IgnoredAny>,
}

fn rejected(reason: impl Into<String>) -> Error {
    Error::new(ErrorKind::KeyRejected(reason.into()))
}

fn b64(field: &str, value: Option<&String>) -> Result<Vec<u8>, Error> {
    let value = value.ok_or_else(|| rejected(format!("missing `{field}`")))?;
    URL_SAFE_NO_PAD
        .decode(value)
        .map_err(|_| rejected(format!("`{field}` is not base64url")))
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

fn rsa_params(alg: Algorithm) -> &'static signature::RsaParameters {
    match alg {
        Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
        _ => &signature::RSA_PKCS1_2048_8192_SHA256,
    }
}

const RSA_ALGS: [Algorithm; 6] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];

impl VerifyingKey {
    /// Prepares a key from a JWK (a JSON object).
    ///
    /// The JWK's `kty`/`crv` must fit its `alg` when one is given; `use`, when present, must
    /// be `sig`; `key_ops`, when present, must include `verify`. RSA keys must be 2048 to 8192
    /// bits. Private key material (`d`) and symmetric keys (`oct`) are refused.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::KeyRejected`] naming the reason.
    pub fn from_jwk(jwk: &serde_json::Value) -> Result<Self, Error> {
        Self::prepare(
            jwk,
            Purpose {
                only: None,
                max_rsa_bits: MAX_RSA_BITS,
            },
        )
    }

    /// Prepares the `jwk` of a DPoP proof whose header names `alg`: a verifier for that
    /// algorithm only (an RSA JWK without `alg` is not prepared for all six RSA algorithms,
    /// on every request), and RSA keys of at most 4096 bits.
    ///
    /// # Errors
    ///
    /// As [`VerifyingKey::from_jwk`]; an RSA key over 4096 bits, or one for a non-RSA `alg`.
    pub(crate) fn for_proof(jwk: &serde_json::Value, alg: Algorithm) -> Result<Self, Error> {
        Self::prepare(
            jwk,
            Purpose {
                only: Some(alg),
                max_rsa_bits: MAX_PROOF_RSA_BITS,
            },
        )
    }

    fn prepare(jwk: &serde_json::Value, purpose: Purpose) -> Result<Self, Error> {
        let raw = RawJwk::deserialize(jwk).map_err(|e| rejected(format!("not a JWK: {e}")))?;
        if let Some(use_) = &raw.use_
            && use_ != "sig"
        {
            return Err(rejected(format!("`use` is `{use_}`, not `sig`")));
        }
        if let Some(ops) = &raw.key_ops
            && !ops.iter().any(|op| op == "verify")
        {
            return Err(rejected("`key_ops` does not include `verify`"));
        }
        if raw.d.is_some() {
            return Err(rejected("private key material in a public key set"));
        }
        let alg = match raw.alg.as_deref() {
            None => None,
            // RFC 9864 names Ed25519 as a fully specified algorithm; it is EdDSA here.
            Some("Ed25519") => Some(Algorithm::EdDSA),
            Some(name) => Some(
                Algorithm::from_name(name)
                    .ok_or_else(|| rejected(format!("unsupported `alg` `{name}`")))?,
            ),
        };
        let key = match raw.kty.as_str() {
            "RSA" => {
                let n = b64("n", raw.n.as_ref())?;
                let e = b64("e", raw.e.as_ref())?;
                Self::rsa_for(&n, &e, alg, purpose)?
            }
            "EC" => {
                let curve = match raw.crv.as_deref() {
                    Some("P-256") => Curve::P256,
                    Some("P-384") => Curve::P384,
                    Some("P-521") => Curve::P521,
                    Some(other) => return Err(rejected(format!("unsupported curve `{other}`"))),
                    None => return Err(rejected("missing `crv`")),
                };
                let x = b64("x", raw.x.as_ref())?;
                let y = b64("y", raw.y.as_ref())?;
                let curve_alg = match curve {
                    Curve::P256 => Algorithm::ES256,
                    Curve::P384 => Algorithm::ES384,
                    Curve::P521 => Algorithm::ES512,
                };
                if alg.is_some_and(|a| a != curve_alg) {
                    return Err(rejected("`alg` does not fit the curve"));
                }
                Self::ec(curve_alg, &x, &y)?
            }
            "OKP" => {
                match raw.crv.as_deref() {
                    Some("Ed25519") => {}
                    Some(other) => return Err(rejected(format!("unsupported curve `{other}`"))),
                    None => return Err(rejected("missing `crv`")),
                }
                if alg.is_some_and(|a| a != Algorithm::EdDSA) {
                    return Err(rejected("`alg` does not fit the curve"));
                }
                Self::ed25519(&b64("x", raw.x.as_ref())?)?
            }
            "oct" => return Err(rejected("symmetric keys are not accepted")),
            other => return Err(rejected(format!("unsupported `kty` `{other}`"))),
        };
        Ok(match raw.kid {
            Some(kid) => key.with_kid(kid),
            None => key,
        })
    }

    /// Prepares an RSA key from its big-endian modulus and exponent.
    ///
    /// With `alg`, the key verifies only that algorithm; without, any RSA algorithm.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::KeyRejected`] for a non-RSA `alg`, a modulus outside 2048–8192 bits, or
    /// components that do not form a key.
    pub fn rsa(n: &[u8], e: &[u8], alg: Option<Algorithm>) -> Result<Self, Error> {
        Self::rsa_for(
            n,
            e,
            alg,
            Purpose {
                only: None,
                max_rsa_bits: MAX_RSA_BITS,
            },
        )
    }

    fn rsa_for(
        n: &[u8],
        e: &[u8],
        alg: Option<Algorithm>,
        purpose: Purpose,
    ) -> Result<Self, Error> {
        // RFC 7518 §6.3.1.1 forbids leading zeros, but some libraries emit one; strip them.
        let n = strip_leading_zeros(n);
        let e = strip_leading_zeros(e);
        let bits = n
            .first()
            .map_or(0, |b| n.len() * 8 - b.leading_zeros() as usize);
        if bits < MIN_RSA_BITS {
            return Err(rejected(format!(
                "RSA key of {bits} bits is shorter than {MIN_RSA_BITS}"
            )));
        }
        if bits > purpose.max_rsa_bits {
            return Err(rejected(format!(
                "RSA key of {bits} bits is longer than {}",
                purpose.max_rsa_bits
            )));
        }
        // The JWK's own `alg` first: a proof whose header names another is refused by `fits`.
        let algs: &[Algorithm] = match alg.or(purpose.only) {
            Some(a) if a.family() == KeyFamily::Rsa => &[a],
            Some(_) => return Err(rejected("`alg` does not fit an RSA key")),
            None => &RSA_ALGS,
        };
        let components = RsaPublicKeyComponents { n, e };
        let verifiers = algs
            .iter()
            .map(|alg| {
                components
                    .to_parsed_public_key(rsa_params(*alg))
                    .map(|key| (*alg, key))
                    .map_err(|_| rejected("invalid RSA components"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            kid: None,
            alg,
            family: KeyFamily::Rsa,
            bits,
            verifiers,
        })
    }

    /// Prepares an ECDSA key for `alg` (ES256, ES384 or ES512) from its affine coordinates,
    /// each of the curve's full length.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::KeyRejected`] for a non-ECDSA `alg`, wrong lengths, or a point not on the curve.
    pub fn ec(alg: Algorithm, x: &[u8], y: &[u8]) -> Result<Self, Error> {
        let (curve, verification): (Curve, &'static signature::EcdsaVerificationAlgorithm) =
            match alg {
                Algorithm::ES256 => (Curve::P256, &signature::ECDSA_P256_SHA256_FIXED),
                Algorithm::ES384 => (Curve::P384, &signature::ECDSA_P384_SHA384_FIXED),
                Algorithm::ES512 => (Curve::P521, &signature::ECDSA_P521_SHA512_FIXED),
                _ => return Err(rejected("`alg` does not fit an EC key")),
            };
        let len = curve.coordinate_len();
        if x.len() != len || y.len() != len {
            return Err(rejected(
                "EC coordinates have the wrong length for the curve",
            ));
        }
        // SEC 1 §2.3.3 uncompressed point: 0x04 || x || y.
        let mut point = Vec::with_capacity(1 + 2 * len);
        point.push(0x04);
        point.extend_from_slice(x);
        point.extend_from_slice(y);
        let key = ParsedPublicKey::new(verification, &point)
            .map_err(|_| rejected("the EC point is not on the curve"))?;
        Ok(Self {
            kid: None,
            alg: Some(alg),
            family: KeyFamily::Ec(curve),
            bits: len * 8,
            verifiers: Box::new([(alg, key)]),
        })
    }

    /// Prepares an Ed25519 key from its 32 public bytes.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::KeyRejected`] when the bytes are not an Ed25519 public key.
    pub fn ed25519(public: &[u8]) -> Result<Self, Error> {
        if public.len() != signature::ED25519_PUBLIC_KEY_LEN {
            return Err(rejected("an Ed25519 key is 32 bytes"));
        }
        let key = ParsedPublicKey::new(&signature::ED25519, public)
            .map_err(|_| rejected("invalid Ed25519 key"))?;
        Ok(Self {
            kid: None,
            alg: Some(Algorithm::EdDSA),
            family: KeyFamily::Okp,
            bits: 256,
            verifiers: Box::new([(Algorithm::EdDSA, key)]),
        })
    }

    /// Sets the key id (`kid`).
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into().into_boxed_str());
        self
    }

    /// The key id, if the key has one.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The algorithm the key is bound to, if its JWK named one.
    pub fn algorithm(&self) -> Option<Algorithm> {
        self.alg
    }

    /// The key's size in bits (the RSA modulus, or the curve's coordinate size).
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// Whether this key may verify a signature made with `alg`: the family and curve fit, and
    /// the JWK's own `alg`, when present, is the same.
    pub(crate) fn fits(&self, alg: Algorithm) -> bool {
        alg.family() == self.family && self.alg.is_none_or(|own| own == alg)
    }

    /// Whether `other` is the same key: same `kid`, `alg`, and public key material for the
    /// same algorithms.
    pub(crate) fn same_key(&self, other: &Self) -> bool {
        self.kid == other.kid
            && self.alg == other.alg
            && self.verifiers.len() == other.verifiers.len()
            && self
                .verifiers
                .iter()
                .zip(other.verifiers.iter())
                .all(|((a, k), (b, l))| a == b && k.as_ref() == l.as_ref())
    }

    /// Verifies `signature` over `message` with `alg`.
    pub(crate) fn verify(&self, alg: Algorithm, message: &[u8], signature: &[u8]) -> bool {
        // RFC 7518 §3.4: an ECDSA signature is R || S, each exactly the coordinate length.
        if let KeyFamily::Ec(curve) = self.family
            && signature.len() != 2 * curve.coordinate_len()
        {
            return false;
        }
        self.verifiers
            .iter()
            .find(|(a, _)| *a == alg)
            .is_some_and(|(_, key)| key.verify_sig(message, signature).is_ok())
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("family", &self.family)
            .field("bits", &self.bits)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An RSA JWK without `alg` whose modulus has `bits` bits (not a real key: all ones,
    /// which aws-lc-rs takes as a modulus).
    fn rsa_jwk(bits: usize) -> serde_json::Value {
        let mut n = vec![0xff; bits.div_ceil(8)];
        n[0] >>= (8 - bits % 8) % 8;
        serde_json::json!({"kty": "RSA", "n": URL_SAFE_NO_PAD.encode(n), "e": "AQAB"})
    }

    fn prepared_for(key: &VerifyingKey) -> Vec<Algorithm> {
        key.verifiers.iter().map(|(alg, _)| *alg).collect()
    }

    #[test]
    fn a_proof_key_is_prepared_for_the_headers_algorithm_only() {
        let jwk = rsa_jwk(2048);
        let in_a_set = VerifyingKey::from_jwk(&jwk).expect("a key set's RSA key");
        assert_eq!(prepared_for(&in_a_set), RSA_ALGS);
        let for_proof = VerifyingKey::for_proof(&jwk, Algorithm::PS384).expect("a proof key");
        assert_eq!(prepared_for(&for_proof), [Algorithm::PS384]);
        assert!(for_proof.fits(Algorithm::PS384));
        assert_eq!(for_proof.algorithm(), None, "the JWK named no `alg`");
        // A JWK's own `alg` still decides: the header's other one does not fit.
        let mut own = jwk.clone();
        own["alg"] = "RS256".into();
        let key = VerifyingKey::for_proof(&own, Algorithm::PS384).expect("a proof key");
        assert_eq!(prepared_for(&key), [Algorithm::RS256]);
        assert!(!key.fits(Algorithm::PS384));
        // An RSA key for an EC algorithm is no key at all.
        assert!(VerifyingKey::for_proof(&jwk, Algorithm::ES256).is_err());
    }

    #[test]
    fn proof_rsa_keys_stop_at_4096_bits_where_key_sets_go_to_8192() {
        let key = VerifyingKey::for_proof(&rsa_jwk(4096), Algorithm::RS256).expect("4096 bits");
        assert_eq!(key.bits(), 4096);
        let err = VerifyingKey::for_proof(&rsa_jwk(4097), Algorithm::RS256).expect_err("4097");
        assert!(err.to_string().contains("longer than 4096"), "{err}");
        let key = VerifyingKey::from_jwk(&rsa_jwk(8192)).expect("8192 bits in a key set");
        assert_eq!(key.bits(), 8192);
    }
}
