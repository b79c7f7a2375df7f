//! `POST /oauth2/introspect` (RFC 7662). Cognito has none; the mock offers it so resource
//! servers can be tested against opaque-token style checks too.
//!
//! - The caller authenticates as a confidential client (Basic or post); a public client is
//!   `invalid_client` (401, Basic challenge). `token` is required (`invalid_request`);
//!   `token_type_hint` is ignored.
//! - Any client may introspect this issuer's access tokens (a resource server is rarely the
//!   client the token was issued to); a refresh token is only active for the client it was
//!   issued to, since nobody else ever holds one.
//! - Whatever is not valid now — expired, revoked (by `/oauth2/revoke`, reuse detection or
//!   `/logout`), badly signed, an ID token, an unknown or rotated-away refresh token, garbage —
//!   is `{"active": false}`, never an error.
//!
//! Access tokens are checked with tokengate's own [`Authorizer`] over this issuer's current key
//! set and clock, with no leeway: the issuer knows its own time.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::authorizer::Authorizer;
use crate::claims::Claims;
use crate::clock::Clock;
use crate::jwks::KeySet;
use crate::mock::discovery::oauth_json;
use crate::mock::error::OAuthError;
use crate::mock::form::Params;
use crate::mock::{Shared, client_auth};
use crate::validate::Profile;

/// The mock's clock, shared with the authorizers it builds.
#[derive(Clone)]
struct SharedClock(Arc<dyn Clock>);

impl fmt::Debug for SharedClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SharedClock").field(&self.0).finish()
    }
}

impl Clock for SharedClock {
    fn now_unix(&self) -> u64 {
        self.0.now_unix()
    }

    fn now_millis(&self) -> u64 {
        self.0.now_millis()
    }
}

/// Why an access token of this issuer is not valid now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Invalid {
    /// It does not validate (signature, issuer, expiry, `token_use` …).
    Token(String),
    /// Its sign-in was revoked.
    Revoked,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Token(why) => f.write_str(why),
            Self::Revoked => f.write_str("the token was revoked"),
        }
    }
}

/// Validates an access token of this issuer as a resource server would (tokengate's own
/// [`Authorizer`], Cognito access profile, any client, no leeway), then checks that its
/// `origin_jti` was not revoked. Returns all its claims.
pub(crate) async fn validate_access_token(
    shared: &Shared,
    token: &str,
) -> Result<Claims<Map<String, Value>>, Invalid> {
    let jwks = shared.state().keys.jwks().to_string();
    let keys =
        KeySet::from_jwks_json(jwks.as_bytes()).map_err(|e| Invalid::Token(e.to_string()))?;
    let authorizer = Authorizer::builder(Profile::cognito_access())
        .issuer(&shared.issuer)
        .skip_audience_check()
        .keys(keys)
        .leeway(Duration::ZERO)
        .clock(SharedClock(Arc::clone(&shared.clock)))
        .build();
    let claims = authorizer
        .authorize::<Map<String, Value>>(token)
        .await
        .map_err(|e| Invalid::Token(e.to_string()))?;
    let revoked = match claims.custom().get("origin_jti").and_then(Value::as_str) {
        Some(origin) => shared.state().revoked_origins.contains(origin),
        None => false,
    };
    if revoked {
        return Err(Invalid::Revoked);
    }
    Ok(claims)
}

pub(crate) async fn introspect(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    oauth_json(handle(&shared, &headers, &body).await)
}

async fn handle(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Result<Value, OAuthError> {
    let params = Params::from_form(headers, body)?;
    let client = client_auth::authenticate(&shared.state(), headers, &params)?;
    if client.secret.is_none() {
        // RFC 7662 §2.1: the endpoint needs authorization; a public client has none to give.
        return Err(OAuthError {
            status: StatusCode::UNAUTHORIZED,
            description: "introspection needs a client with a secret".into(),
            ..OAuthError::invalid_client(true)
        });
    }
    let token = params.require("token")?;
    if let Some(active) = refresh_token(shared, &client.id, token) {
        return Ok(active);
    }
    Ok(access_token(shared, token)
        .await
        .unwrap_or_else(|| json!({"active": false})))
}

/// A known refresh token: active or not. `None` when it is not a refresh token we know.
fn refresh_token(shared: &Shared, client_id: &str, token: &str) -> Option<Value> {
    let now = shared.now();
    let state = shared.state();
    let record = state.refresh.get(token)?;
    let grace = state
        .client(&record.client_id)
        .map_or(0, |c| c.rotation_grace_seconds);
    let active = record.client_id == client_id
        && record.expires_at > now
        && !state.revoked_families.contains(&record.family)
        && !state.revoked_origins.contains(&record.origin_jti)
        && record
            .rotated_at
            .is_none_or(|at| now < at.saturating_add(grace))
        && state.user(&record.username).is_some();
    Some(if active {
        json!({
            "active": true,
            "client_id": record.client_id,
            "username": record.username,
            "scope": record.scopes.join(" "),
            "exp": record.expires_at,
            "token_type": "refresh_token",
        })
    } else {
        json!({"active": false})
    })
}

/// A valid access token's introspection response; `None` when it is not one.
async fn access_token(shared: &Shared, token: &str) -> Option<Value> {
    let claims = validate_access_token(shared, token).await.ok()?;
    let all = claims.custom();
    let mut out = Map::new();
    out.insert("active".into(), json!(true));
    for name in ["scope", "client_id", "username"] {
        if let Some(value) = all.get(name) {
            out.insert(name.into(), value.clone());
        }
    }
    out.insert("token_type".into(), json!("Bearer"));
    for name in ["exp", "iat", "sub", "iss", "jti", "token_use"] {
        if let Some(value) = all.get(name) {
            out.insert(name.into(), value.clone());
        }
    }
    Some(Value::Object(out))
}
