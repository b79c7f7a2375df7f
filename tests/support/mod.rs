//! Test support: signing keys for every algorithm, their JWKs, and a token minter.
#![allow(dead_code, unreachable_pub)]

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tokengate::Algorithm;

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

enum Private {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// A signing key with a `kid`, for one algorithm family.
pub struct TestKey {
    pub kid: String,
    pub alg: Algorithm,
    private: Private,
}

impl TestKey {
    /// A fresh key for `alg` (RSA keys are 2048 bits).
    pub fn generate(alg: Algorithm, kid: &str) -> Self {
        let private = match alg {
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => {
                Private::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).expect("rsa keygen"))
            }
            Algorithm::ES256 => Private::Ec(
                EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
                    .expect("p256 keygen"),
            ),
            Algorithm::ES384 => Private::Ec(
                EcdsaKeyPair::generate(&signature::ECDSA_P384_SHA384_FIXED_SIGNING)
                    .expect("p384 keygen"),
            ),
            Algorithm::ES512 => Private::Ec(
                EcdsaKeyPair::generate(&signature::ECDSA_P521_SHA512_FIXED_SIGNING)
                    .expect("p521 keygen"),
            ),
            Algorithm::EdDSA => Private::Ed(Ed25519KeyPair::generate().expect("ed25519 keygen")),
            _ => panic!("unsupported alg {alg}"),
        };
        Self {
            kid: kid.to_owned(),
            alg,
            private,
        }
    }

    /// A shared RSA key (2048-bit generation is slow; tests share one per kid).
    pub fn rsa() -> &'static TestKey {
        static KEY: OnceLock<TestKey> = OnceLock::new();
        KEY.get_or_init(|| TestKey::generate(Algorithm::RS256, "rsa-1"))
    }

    /// The public JWK, with `alg` and `use: sig`.
    pub fn jwk(&self) -> Value {
        let mut jwk = self.jwk_without_alg();
        jwk["alg"] = json!(self.alg.as_str());
        jwk["use"] = json!("sig");
        jwk
    }

    /// The public JWK with only `kty`, key material and `kid`.
    pub fn jwk_without_alg(&self) -> Value {
        match &self.private {
            Private::Rsa(key) => {
                let public = key.public_key();
                json!({
                    "kty": "RSA",
                    "kid": self.kid,
                    "n": b64(public.modulus().big_endian_without_leading_zero()),
                    "e": b64(public.exponent().big_endian_without_leading_zero()),
                })
            }
            Private::Ec(key) => {
                let point = key.public_key().as_ref();
                let len = (point.len() - 1) / 2;
                let crv = match len {
                    32 => "P-256",
                    48 => "P-384",
                    _ => "P-521",
                };
                json!({
                    "kty": "EC",
                    "crv": crv,
                    "kid": self.kid,
                    "x": b64(&point[1..1 + len]),
                    "y": b64(&point[1 + len..]),
                })
            }
            Private::Ed(key) => json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "kid": self.kid,
                "x": b64(key.public_key().as_ref()),
            }),
        }
    }

    /// Signs `input` with this key's algorithm (or `alg` for RSA keys, which fit all six).
    pub fn sign_with(&self, alg: Algorithm, input: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match &self.private {
            Private::Rsa(key) => {
                let padding: &'static dyn signature::RsaEncoding = match alg {
                    Algorithm::RS256 => &signature::RSA_PKCS1_SHA256,
                    Algorithm::RS384 => &signature::RSA_PKCS1_SHA384,
                    Algorithm::RS512 => &signature::RSA_PKCS1_SHA512,
                    Algorithm::PS256 => &signature::RSA_PSS_SHA256,
                    Algorithm::PS384 => &signature::RSA_PSS_SHA384,
                    Algorithm::PS512 => &signature::RSA_PSS_SHA512,
                    _ => panic!("{alg} is not an RSA algorithm"),
                };
                let mut sig = vec![0; key.public_modulus_len()];
                key.sign(padding, &rng, input, &mut sig).expect("rsa sign");
                sig
            }
            Private::Ec(key) => key.sign(&rng, input).expect("ecdsa sign").as_ref().to_vec(),
            Private::Ed(key) => key.sign(input).as_ref().to_vec(),
        }
    }

    /// A token with this header and these claims, signed by this key.
    pub fn sign_token(&self, header: &Value, claims: &Value) -> String {
        let alg = header["alg"]
            .as_str()
            .and_then(Algorithm::from_name)
            .unwrap_or(self.alg);
        let input = format!(
            "{}.{}",
            b64(serde_json::to_vec(header).expect("header json")),
            b64(serde_json::to_vec(claims).expect("claims json"))
        );
        let sig = self.sign_with(alg, input.as_bytes());
        format!("{input}.{}", b64(sig))
    }

    /// A token with the standard header (`alg`, `kid`) for these claims.
    pub fn token(&self, claims: &Value) -> String {
        self.sign_token(&json!({"alg": self.alg.as_str(), "kid": self.kid}), claims)
    }
}

/// A JWKS document holding these keys' public JWKs.
pub fn jwks(keys: &[&TestKey]) -> Vec<u8> {
    serde_json::to_vec(&json!({"keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>()}))
        .expect("jwks json")
}

pub const ISSUER: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TestPool";
pub const CLIENT_ID: &str = "3n4b5urk1ft4fl3mg5e62d9ado";
pub const AUDIENCE: &str = "https://api.example.com";

/// Claims of a Cognito access token, valid for an hour from now.
pub fn cognito_access_claims() -> Value {
    let now = now();
    json!({
        "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "cognito:groups": ["admins", "readers"],
        "iss": ISSUER,
        "version": 2,
        "client_id": CLIENT_ID,
        "origin_jti": "f1e2d3c4",
        "event_id": "e1e2e3e4",
        "token_use": "access",
        "scope": "api/read api/write openid",
        "auth_time": now - 10,
        "exp": now + 3600,
        "iat": now - 10,
        "jti": "a1b2c3d4",
        "username": "alice",
    })
}

/// Claims of a Cognito ID token, valid for an hour from now.
pub fn cognito_id_claims() -> Value {
    let now = now();
    json!({
        "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "aud": CLIENT_ID,
        "cognito:groups": ["admins"],
        "email_verified": true,
        "token_use": "id",
        "auth_time": now - 10,
        "iss": ISSUER,
        "cognito:username": "alice",
        "exp": now + 3600,
        "iat": now - 10,
        "jti": "b1b2b3b4",
        "email": "alice@example.com",
    })
}

/// Claims of an RFC 9068 access token, valid for an hour from now.
pub fn rfc9068_claims() -> Value {
    let now = now();
    json!({
        "iss": ISSUER,
        "exp": now + 3600,
        "aud": AUDIENCE,
        "sub": "user-1",
        "client_id": CLIENT_ID,
        "iat": now - 10,
        "jti": "c1c2c3c4",
        "scope": "api/read",
    })
}
