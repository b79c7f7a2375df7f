//! Integration tests for `Authorizer::authorize`: header rules, key selection, signatures,
//! registered claims, profiles, typed claims, errors and the clock.
//!
//! Every time check runs against a `ManualClock` reading [`T0`]; token times are set relative
//! to it, so no test depends on the wall clock.

#[path = "../support/jwks_server.rs"]
mod jwks_server;
#[path = "../support/mod.rs"]
mod support;

mod checks;
mod claims;
mod clock;
mod errors;
mod header;
mod keys;
mod profiles;
mod tampering;
mod typed;
mod vendors;

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tokengate::builder::{AudienceSet, IssuerSet, KeysSet};
use tokengate::{
    Algorithm, AuthError, AuthErrorKind, Authorizer, AuthorizerBuilder, Claims, ErrorCode, KeySet,
    ManualClock, Profile,
};

use support::{
    AUDIENCE, CLIENT_ID, ISSUER, TestKey, b64, cognito_access_claims, cognito_id_claims, jwks,
    rfc9068_claims,
};

/// The time every authorizer's clock reads, unless a test moves it.
pub const T0: u64 = 1_750_000_000;

/// Rewrites a claims set's times so it is valid at [`T0`]: issued 10 s before, expiring an
/// hour after.
pub fn at_t0(mut claims: Value) -> Value {
    let obj = claims.as_object_mut().expect("claims object");
    obj.insert("iat".into(), json!(T0 - 10));
    obj.insert("exp".into(), json!(T0 + 3600));
    if obj.contains_key("auth_time") {
        obj.insert("auth_time".into(), json!(T0 - 10));
    }
    claims
}

/// A Cognito access token's claims, valid at [`T0`].
pub fn access_claims() -> Value {
    at_t0(cognito_access_claims())
}

/// A Cognito ID token's claims, valid at [`T0`].
pub fn id_claims() -> Value {
    at_t0(cognito_id_claims())
}

/// An RFC 9068 access token's claims, valid at [`T0`].
pub fn rfc_claims() -> Value {
    at_t0(rfc9068_claims())
}

/// A generic access token's claims, valid at [`T0`], for [`AUDIENCE`].
pub fn generic_claims() -> Value {
    json!({
        "iss": ISSUER,
        "sub": "user-1",
        "aud": AUDIENCE,
        "iat": T0 - 10,
        "exp": T0 + 3600,
        "jti": "g1g2g3g4",
    })
}

/// `claims` with `name` removed.
pub fn without(mut claims: Value, name: &str) -> Value {
    claims
        .as_object_mut()
        .expect("claims object")
        .remove(name)
        .unwrap_or_else(|| panic!("claim {name} was not there"));
    claims
}

/// `claims` with `name` set to `value`.
pub fn with(mut claims: Value, name: &str, value: Value) -> Value {
    claims
        .as_object_mut()
        .expect("claims object")
        .insert(name.into(), value);
    claims
}

/// A key set of these keys' JWKs (with `alg` and `use: sig`).
pub fn keyset(keys: &[&TestKey]) -> KeySet {
    KeySet::from_jwks_json(&jwks(keys)).expect("key set")
}

/// A key set from a JWKS document built from raw JWK values.
pub fn keyset_of(jwks: &[Value]) -> KeySet {
    KeySet::from_jwks_json(&serde_json::to_vec(&json!({ "keys": jwks })).expect("json"))
        .expect("key set")
}

/// The shared RS256 key, kid `rsa-1`.
pub fn rsa() -> &'static TestKey {
    TestKey::rsa()
}

/// A second RS256 key, kid `rsa-2`.
pub fn rsa_b() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(|| TestKey::generate(Algorithm::RS256, "rsa-2"))
}

/// An RS256 key that is in no key set, kid `attacker`.
pub fn attacker_rsa() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(|| TestKey::generate(Algorithm::RS256, "attacker"))
}

/// One key per implemented algorithm, kid = the algorithm's name.
pub fn key_for(alg: Algorithm) -> &'static TestKey {
    static KEYS: [OnceLock<TestKey>; Algorithm::ALL.len()] =
        [const { OnceLock::new() }; Algorithm::ALL.len()];
    let index = Algorithm::ALL
        .iter()
        .position(|a| *a == alg)
        .expect("implemented algorithm");
    KEYS[index].get_or_init(|| TestKey::generate(alg, alg.as_str()))
}

/// The shared ES256 key, kid `ES256`.
pub fn ec() -> &'static TestKey {
    key_for(Algorithm::ES256)
}

/// The shared Ed25519 key, kid `EdDSA`.
pub fn ed() -> &'static TestKey {
    key_for(Algorithm::EdDSA)
}

/// The standard header for `key`: `alg` and `kid`.
pub fn header_of(key: &TestKey) -> Value {
    json!({"alg": key.alg.as_str(), "kid": key.kid})
}

pub type Ready = AuthorizerBuilder<IssuerSet, AudienceSet, KeysSet>;

/// Cognito access tokens from [`ISSUER`] for [`CLIENT_ID`], clock at [`T0`].
pub fn access_builder(keys: KeySet) -> Ready {
    Authorizer::builder(Profile::cognito_access())
        .issuer(ISSUER)
        .client_id(CLIENT_ID)
        .keys(keys)
        .clock(ManualClock::new(T0))
}

/// Cognito ID tokens from [`ISSUER`] for [`CLIENT_ID`], clock at [`T0`].
pub fn id_builder(keys: KeySet) -> Ready {
    Authorizer::builder(Profile::cognito_id())
        .issuer(ISSUER)
        .client_id(CLIENT_ID)
        .keys(keys)
        .clock(ManualClock::new(T0))
}

/// RFC 9068 tokens from [`ISSUER`] for [`AUDIENCE`] and [`CLIENT_ID`], clock at [`T0`].
pub fn rfc_builder(keys: KeySet) -> Ready {
    Authorizer::builder(Profile::rfc9068())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .client_id(CLIENT_ID)
        .keys(keys)
        .clock(ManualClock::new(T0))
}

/// Generic tokens from [`ISSUER`] for [`AUDIENCE`], clock at [`T0`].
pub fn generic_builder(keys: KeySet) -> Ready {
    Authorizer::builder(Profile::generic())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .keys(keys)
        .clock(ManualClock::new(T0))
}

/// The Cognito access authorizer with only [`rsa`] in its key set.
pub fn rsa_access() -> Authorizer {
    access_builder(keyset(&[rsa()])).build()
}

/// The generic authorizer with only [`rsa`] in its key set.
pub fn rsa_generic() -> Authorizer {
    generic_builder(keyset(&[rsa()])).build()
}

/// A token over exactly these header and payload bytes, signed by `key` with `alg`.
pub fn sign_raw(key: &TestKey, alg: Algorithm, header: &str, payload: &str) -> String {
    let input = format!("{}.{}", b64(header), b64(payload));
    let signature = key.sign_with(alg, input.as_bytes());
    format!("{input}.{}", b64(signature))
}

/// A token with these header and claims and a signature of junk bytes (for tokens that must
/// be refused before any signature is checked).
pub fn unsigned_with_junk_signature(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}.{}",
        b64(serde_json::to_vec(header).expect("json")),
        b64(serde_json::to_vec(claims).expect("json")),
        b64([7u8; 256])
    )
}

/// The three segments of a compact token.
pub fn segments(token: &str) -> [String; 3] {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a compact JWS");
    [parts[0].into(), parts[1].into(), parts[2].into()]
}

/// Decodes one base64url segment.
pub fn unb64(segment: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(segment).expect("base64url")
}

/// Asserts the token was accepted, and returns its claims.
#[track_caller]
pub fn accepted<T>(result: Result<Claims<T>, AuthError>) -> Claims<T> {
    match result {
        Ok(claims) => claims,
        Err(err) => panic!(
            "expected the token to be accepted, got {:?}: {err}",
            err.kind()
        ),
    }
}

/// Asserts the token was refused with `kind`, as an RFC 6750 `invalid_token` with status 401.
#[track_caller]
pub fn refused<T>(result: Result<Claims<T>, AuthError>, kind: AuthErrorKind) -> AuthError {
    match result {
        Ok(_) => panic!("expected the token to be refused with {kind:?}, it was accepted"),
        Err(err) => {
            assert_eq!(err.kind(), kind, "error kind (message: {err})");
            assert_eq!(err.status(), 401, "status of {kind:?}");
            assert_eq!(
                err.code(),
                Some(ErrorCode::InvalidToken),
                "code of {kind:?}"
            );
            err
        }
    }
}
