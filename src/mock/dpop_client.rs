//! A DPoP client for tests (RFC 9449): a P-256 key, its thumbprint, proofs for a method and a
//! URL, and hostile proofs that a resource server or this mock must refuse.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::error::{Error, ErrorKind};

/// A proof a server must refuse, for [`DpopClient::hostile_proof`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HostileProof {
    /// `htm` is another method.
    WrongMethod,
    /// `htu` is another URL.
    WrongUri,
    /// `iat` an hour ago.
    StaleIat,
    /// A new proof reusing the `jti` of this earlier one (a replay in all but the bytes).
    ReusedJti(String),
    /// `ath` is the hash of another token.
    WrongAth,
    /// A valid proof by another key: the token is not bound to it.
    AnotherKey,
    /// This client's `jwk`, signed by another key.
    ForgedSignature,
    /// The `jwk` carries a private member (`d`, random bytes).
    PrivateJwk,
    /// `alg: none`, no signature.
    AlgNone,
    /// `alg: HS256`, "signed" with the public key's `x` coordinate as the MAC secret.
    Mac,
}

/// A DPoP client: a fresh P-256 key, its RFC 7638 thumbprint, and proofs made with it.
///
/// # Example
///
/// ```
/// use tokengate::mock::DpopClient;
///
/// let client = DpopClient::new()?;
/// let proof = client.proof("GET", "https://api.example/orders", Some("the-access-token"));
/// assert_eq!(proof.split('.').count(), 3);
/// assert_eq!(client.jkt().len(), 43);
/// # Ok::<(), tokengate::Error>(())
/// ```
pub struct DpopClient {
    key: EcdsaKeyPair,
    jwk: Value,
    jkt: String,
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn random_id() -> String {
    let mut bytes = [0u8; 16];
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    b64(bytes)
}

impl DpopClient {
    /// A client with a fresh P-256 key (ES256 proofs).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] if the key cannot be generated.
    pub fn new() -> Result<Self, Error> {
        let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .map_err(|_| Error::from(ErrorKind::Config("cannot generate a P-256 key".into())))?;
        let point = key.public_key().as_ref().to_vec();
        let (x, y) = (b64(&point[1..33]), b64(&point[33..65]));
        // RFC 7638: the required members, in lexicographic order, no whitespace.
        let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let jkt = b64(digest(&SHA256, canonical.as_bytes()));
        let jwk = json!({"kty": "EC", "crv": "P-256", "x": x, "y": y});
        Ok(Self { key, jwk, jkt })
    }

    /// The RFC 7638 thumbprint of the key: the `cnf.jkt` of tokens bound to it.
    pub fn jkt(&self) -> &str {
        &self.jkt
    }

    /// The public key as a JWK.
    pub fn public_jwk(&self) -> &Value {
        &self.jwk
    }

    /// A proof for `method` `url`, with `ath` for `access_token` when there is one (none at
    /// a token endpoint).
    pub fn proof(&self, method: &str, url: &str, access_token: Option<&str>) -> String {
        self.sign(&self.header(), &self.claims(method, url, access_token))
    }

    /// A proof carrying the server's `nonce` (RFC 9449 §8, §9).
    pub fn proof_with_nonce(
        &self,
        method: &str,
        url: &str,
        access_token: Option<&str>,
        nonce: &str,
    ) -> String {
        let mut claims = self.claims(method, url, access_token);
        claims["nonce"] = json!(nonce);
        self.sign(&self.header(), &claims)
    }

    /// A proof for `method` `url` that is wrong in the way `hostile` says.
    pub fn hostile_proof(
        &self,
        hostile: HostileProof,
        method: &str,
        url: &str,
        access_token: Option<&str>,
    ) -> String {
        let mut header = self.header();
        let mut claims = self.claims(method, url, access_token);
        match hostile {
            HostileProof::WrongMethod => {
                claims["htm"] = json!(if method == "DELETE" { "GET" } else { "DELETE" });
            }
            HostileProof::WrongUri => claims["htu"] = json!(format!("{url}/elsewhere")),
            HostileProof::StaleIat => claims["iat"] = json!(now().saturating_sub(3600)),
            HostileProof::ReusedJti(earlier) => {
                if let Some(jti) = jti_of(&earlier) {
                    claims["jti"] = json!(jti);
                }
            }
            HostileProof::WrongAth => {
                claims["ath"] = json!(b64(digest(&SHA256, b"another access token")));
            }
            HostileProof::AnotherKey => {
                return match Self::new() {
                    Ok(other) => other.proof(method, url, access_token),
                    Err(_) => String::new(),
                };
            }
            HostileProof::ForgedSignature => {
                return match Self::new() {
                    Ok(other) => other.sign(&header, &claims),
                    Err(_) => String::new(),
                };
            }
            HostileProof::PrivateJwk => {
                let mut d = [0u8; 32];
                let _ = aws_lc_rs::rand::fill(&mut d);
                header["jwk"]["d"] = json!(b64(d));
            }
            HostileProof::AlgNone => {
                header["alg"] = json!("none");
                return format!("{}.", signing_input(&header, &claims));
            }
            HostileProof::Mac => {
                header["alg"] = json!("HS256");
                let input = signing_input(&header, &claims);
                let secret = self.jwk["x"].as_str().unwrap_or_default();
                let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
                return format!("{input}.{}", b64(hmac::sign(&key, input.as_bytes())));
            }
        }
        self.sign(&header, &claims)
    }

    fn header(&self) -> Value {
        json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk})
    }

    fn claims(&self, method: &str, url: &str, access_token: Option<&str>) -> Value {
        let mut claims = json!({"jti": random_id(), "htm": method, "htu": url, "iat": now()});
        if let Some(token) = access_token {
            claims["ath"] = json!(b64(digest(&SHA256, token.as_bytes())));
        }
        claims
    }

    fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = signing_input(header, claims);
        match self.key.sign(&SystemRandom::new(), input.as_bytes()) {
            Ok(signature) => format!("{input}.{}", b64(signature.as_ref())),
            Err(_) => format!("{input}."),
        }
    }
}

fn signing_input(header: &Value, claims: &Value) -> String {
    format!("{}.{}", b64(header.to_string()), b64(claims.to_string()))
}

/// The `jti` of a proof.
fn jti_of(proof: &str) -> Option<String> {
    let payload = URL_SAFE_NO_PAD.decode(proof.split('.').nth(1)?).ok()?;
    let claims: Value = serde_json::from_slice(&payload).ok()?;
    claims["jti"].as_str().map(str::to_owned)
}

impl fmt::Debug for DpopClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopClient")
            .field("jkt", &self.jkt)
            .finish_non_exhaustive()
    }
}
