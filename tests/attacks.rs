//! The attack suite: hostile tokens, hostile key sets and hostile requests against the
//! library, organised by attack. Every case names the attack and asserts the exact refusal a
//! user would see (the `AuthErrorKind`, its status, and where a layer is involved the HTTP
//! answer); none may panic, fetch a URL the attacker chose, or let the token through.
//!
//! Token times are relative to [`T0`], the time every authorizer's `ManualClock` reads, so no
//! case depends on the wall clock (the remote-key cases use a clock starting at the real now).

#[path = "support/jwks_server.rs"]
mod jwks_server;
#[path = "support/mod.rs"]
mod support;

#[path = "attacks/cache.rs"]
mod cache;
#[path = "attacks/claims.rs"]
mod claims;
#[path = "attacks/encoding.rs"]
mod encoding;
#[path = "attacks/header.rs"]
mod header;
#[path = "attacks/jwks.rs"]
mod jwks;
#[path = "attacks/layer.rs"]
mod layer;
#[path = "attacks/size.rs"]
mod size;

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use tokengate::builder::{AudienceSet, IssuerSet, KeysSet};
use tokengate::{
    Algorithm, AuthError, AuthErrorKind, Authorizer, AuthorizerBuilder, Claims, ErrorCode, KeySet,
    ManualClock, Profile,
};

use support::{
    AUDIENCE, CLIENT_ID, ISSUER, TestKey, b64, cognito_access_claims, cognito_id_claims, jwks,
};

/// The time every static-key authorizer's clock reads.
pub const T0: u64 = 1_750_000_000;

// ---- claims ----------------------------------------------------------------------------------

/// `claims` made valid at [`T0`]: issued 10 s before, expiring an hour after.
pub fn at_t0(mut claims: Value) -> Value {
    let obj = claims.as_object_mut().expect("claims object");
    obj.insert("iat".into(), json!(T0 - 10));
    obj.insert("exp".into(), json!(T0 + 3600));
    if obj.contains_key("auth_time") {
        obj.insert("auth_time".into(), json!(T0 - 10));
    }
    claims
}

/// A Cognito access token's claims, valid at [`T0`] (scope `api/read api/write openid`).
pub fn access_claims() -> Value {
    at_t0(cognito_access_claims())
}

/// A Cognito ID token's claims, valid at [`T0`].
pub fn id_claims() -> Value {
    at_t0(cognito_id_claims())
}

/// A generic access token's claims for [`AUDIENCE`], valid at [`T0`].
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

/// `claims` with `name` set to `value`.
pub fn with(mut claims: Value, name: &str, value: Value) -> Value {
    claims
        .as_object_mut()
        .expect("claims object")
        .insert(name.into(), value);
    claims
}

/// `claims` without `name`.
pub fn without(mut claims: Value, name: &str) -> Value {
    claims
        .as_object_mut()
        .expect("claims object")
        .remove(name)
        .unwrap_or_else(|| panic!("claim {name} was not there"));
    claims
}

// ---- keys ------------------------------------------------------------------------------------

/// The trusted RS256 key, kid `rsa-1`.
pub fn rsa() -> &'static TestKey {
    TestKey::rsa()
}

/// The trusted ES256 key, kid `ec-256`.
pub fn ec256() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(|| TestKey::generate(Algorithm::ES256, "ec-256"))
}

/// The trusted ES384 key, kid `ec-384`.
pub fn ec384() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(|| TestKey::generate(Algorithm::ES384, "ec-384"))
}

/// The trusted Ed25519 key, kid `ed`.
pub fn ed() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(|| TestKey::generate(Algorithm::EdDSA, "ed"))
}

/// An RS256 key the attacker holds; in no trusted key set. Kid `attacker`.
pub fn attacker_rsa() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(|| TestKey::generate(Algorithm::RS256, "attacker"))
}

/// An ES256 key the attacker holds; in no trusted key set. Kid `attacker-ec`.
pub fn attacker_ec() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(|| TestKey::generate(Algorithm::ES256, "attacker-ec"))
}

/// A key set of these keys' JWKs (each with `alg` and `use: sig`).
pub fn keyset(keys: &[&TestKey]) -> KeySet {
    KeySet::from_jwks_json(&jwks(keys)).expect("key set")
}

/// A key set from raw JWK values.
pub fn keyset_of(jwks: &[Value]) -> KeySet {
    KeySet::from_jwks_json(&serde_json::to_vec(&json!({ "keys": jwks })).expect("json"))
        .expect("key set")
}

/// Every trusted key: RSA, P-256, P-384, Ed25519.
pub fn trusted() -> KeySet {
    keyset(&[rsa(), ec256(), ec384(), ed()])
}

// ---- authorizers -----------------------------------------------------------------------------

pub type Ready = AuthorizerBuilder<IssuerSet, AudienceSet, KeysSet>;

/// Cognito access tokens from [`ISSUER`] for [`CLIENT_ID`], clock at [`T0`].
pub fn access_builder(keys: KeySet) -> Ready {
    Authorizer::builder(Profile::cognito_access())
        .issuer(ISSUER)
        .client_id(CLIENT_ID)
        .keys(keys)
        .clock(ManualClock::new(T0))
}

/// The Cognito access authorizer over every trusted key.
pub fn access() -> Authorizer {
    access_builder(trusted()).build()
}

/// The Cognito ID-token authorizer over every trusted key.
pub fn id() -> Authorizer {
    Authorizer::builder(Profile::cognito_id())
        .issuer(ISSUER)
        .client_id(CLIENT_ID)
        .keys(trusted())
        .clock(ManualClock::new(T0))
        .build()
}

/// The generic authorizer for [`AUDIENCE`] over every trusted key.
pub fn generic() -> Authorizer {
    Authorizer::builder(Profile::generic())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .keys(trusted())
        .clock(ManualClock::new(T0))
        .build()
}

// ---- tokens ----------------------------------------------------------------------------------

/// `{alg, kid}` of `key`.
pub fn header_of(key: &TestKey) -> Value {
    json!({"alg": key.alg.as_str(), "kid": key.kid})
}

/// A token over exactly these header and payload bytes, signed by `key` with `alg`.
pub fn sign_raw(
    key: &TestKey,
    alg: Algorithm,
    header: impl AsRef<[u8]>,
    payload: impl AsRef<[u8]>,
) -> String {
    let input = format!("{}.{}", b64(header), b64(payload));
    let signature = key.sign_with(alg, input.as_bytes());
    format!("{input}.{}", b64(signature))
}

/// A token over these header and payload bytes with 256 junk signature bytes.
pub fn junk_signed(header: impl AsRef<[u8]>, payload: impl AsRef<[u8]>) -> String {
    format!("{}.{}.{}", b64(header), b64(payload), b64([7u8; 256]))
}

/// The JSON text of a value.
pub fn text(value: &Value) -> String {
    serde_json::to_string(value).expect("json")
}

/// The three segments of a compact token.
pub fn segments(token: &str) -> [String; 3] {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a compact JWS");
    [parts[0].into(), parts[1].into(), parts[2].into()]
}

/// Decodes a base64url segment.
pub fn unb64(segment: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(segment).expect("base64url")
}

/// Standard base64 with padding (for PEM bodies).
pub fn std_b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

// ---- outcomes --------------------------------------------------------------------------------

/// Asserts the token was accepted.
#[track_caller]
pub fn accepted<T>(result: Result<Claims<T>, AuthError>) -> Claims<T> {
    match result {
        Ok(claims) => claims,
        Err(err) => panic!("expected acceptance, got {:?}: {err}", err.kind()),
    }
}

/// Asserts the token was refused with `kind`, status and code as a user would see them:
/// 401 `invalid_token` for every token fault, 503 without a code when keys are unavailable.
#[track_caller]
pub fn refused<T>(result: Result<Claims<T>, AuthError>, kind: AuthErrorKind) -> AuthError {
    let err = match result {
        Ok(_) => panic!("expected refusal with {kind:?}, the token was accepted"),
        Err(err) => err,
    };
    assert_eq!(err.kind(), kind, "error kind (message: {err})");
    match kind {
        AuthErrorKind::KeysUnavailable => {
            assert_eq!(err.status(), 503);
            assert_eq!(err.code(), None);
        }
        _ => {
            assert_eq!(err.status(), 401, "status of {kind:?}");
            assert_eq!(
                err.code(),
                Some(ErrorCode::InvalidToken),
                "code of {kind:?}"
            );
        }
    }
    err
}

/// Authorizes `token` with `authorizer` (registered claims only) and asserts the refusal.
pub async fn refuses(authorizer: &Authorizer, token: &str, kind: AuthErrorKind) -> AuthError {
    let result = authorizer.authorize::<()>(token).await;
    match result {
        Ok(_) => panic!("expected refusal with {kind:?}, accepted: {token:.120}"),
        Err(err) => {
            assert_eq!(
                err.kind(),
                kind,
                "error kind (message: {err}) for {token:.160}"
            );
            refused::<()>(Err(err), kind)
        }
    }
}
