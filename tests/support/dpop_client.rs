//! A DPoP client for tests: a key pair, its RFC 7638 thumbprint (computed here, apart from the
//! crate's), and proofs for a method and URL — honest ones, and any edit of them.
#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicU64, Ordering};

use aws_lc_rs::digest::{SHA256, digest};
use serde_json::{Value, json};
use tokengate::Algorithm;

use crate::support::{TestKey, b64, now};

static NEXT_JTI: AtomicU64 = AtomicU64::new(0);

/// A fresh `jti`: unique in this process, and random across runs.
pub fn fresh_jti() -> String {
    let n = NEXT_JTI.fetch_add(1, Ordering::Relaxed);
    format!("jti-{n}-{}", b64(now().to_be_bytes()))
}

/// A client's DPoP key.
pub struct DpopKey {
    pub key: TestKey,
}

/// The claims of an honest proof, and its header, before signing.
pub struct ProofParts {
    pub header: Value,
    pub claims: Value,
}

impl DpopKey {
    pub fn generate(alg: Algorithm) -> Self {
        Self {
            key: TestKey::generate(alg, "dpop"),
        }
    }

    /// The public JWK, as a proof's header carries it (no `kid`, `alg` or `use`).
    pub fn public_jwk(&self) -> Value {
        let mut jwk = self.key.jwk_without_alg();
        jwk.as_object_mut().expect("object").remove("kid");
        jwk
    }

    /// RFC 7638: the required members in lexicographic order, no whitespace. serde_json's
    /// map is ordered, which gives exactly that.
    pub fn jkt(&self) -> String {
        let jwk = self.public_jwk();
        let required: Vec<&str> = match jwk["kty"].as_str().expect("kty") {
            "RSA" => vec!["e", "kty", "n"],
            "EC" => vec!["crv", "kty", "x", "y"],
            _ => vec!["crv", "kty", "x"],
        };
        let members: serde_json::Map<String, Value> = required
            .into_iter()
            .map(|m| (m.to_owned(), jwk[m].clone()))
            .collect();
        b64(digest(
            &SHA256,
            Value::Object(members).to_string().as_bytes(),
        ))
    }

    /// The parts of an honest proof for `method` `url` with `token`.
    pub fn parts(&self, method: &str, url: &str, token: &str) -> ProofParts {
        ProofParts {
            header: json!({"typ": "dpop+jwt", "alg": self.key.alg.as_str(), "jwk": self.public_jwk()}),
            claims: json!({
                "jti": fresh_jti(),
                "htm": method,
                "htu": url,
                "iat": now(),
                "ath": ath(token),
            }),
        }
    }

    /// Signs `parts` with this key (with the header's `alg` when it names one it can make).
    pub fn sign(&self, parts: &ProofParts) -> String {
        self.key.sign_token(&parts.header, &parts.claims)
    }

    /// An honest proof.
    pub fn proof(&self, method: &str, url: &str, token: &str) -> String {
        self.sign(&self.parts(method, url, token))
    }

    /// An honest proof, edited before signing.
    pub fn proof_with(
        &self,
        method: &str,
        url: &str,
        token: &str,
        edit: impl FnOnce(&mut ProofParts),
    ) -> String {
        let mut parts = self.parts(method, url, token);
        edit(&mut parts);
        self.sign(&parts)
    }
}

/// `ath`: base64url(SHA-256(token)).
pub fn ath(token: &str) -> String {
    b64(digest(&SHA256, token.as_bytes()))
}

/// A compact JWS with this header and claims and the given signature bytes: for proofs no
/// key could sign (`alg: none`, MACs).
pub fn unsigned(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64(header.to_string()),
        b64(claims.to_string()),
        b64(signature)
    )
}
