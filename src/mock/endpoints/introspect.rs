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
//! Access tokens are checked as userInfo checks them (`verify::access_token`: tokengate's own
//! `Authorizer`, this issuer's keys and clock, no leeway).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::mock::error::OAuthError;
use crate::mock::form::Params;
use crate::mock::{Shared, client_auth, json, verify};

pub(crate) async fn introspect(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    json::oauth(handle(&shared, &headers, &body).await)
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
        && !state.revoked_families.contains_key(&record.family)
        && !state.revoked_origins.contains_key(&record.origin_jti)
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
    let claims = verify::access_token(shared, token).await.ok()?;
    let all = claims.custom();
    let mut out = Map::new();
    out.insert("active".into(), json!(true));
    for name in ["scope", "client_id", "username"] {
        if let Some(value) = all.get(name) {
            out.insert(name.into(), value.clone());
        }
    }
    // RFC 9449 §6.2: a DPoP-bound token is introspected as `DPoP`, with its binding.
    let bound = claims.dpop_jkt().is_some();
    out.insert(
        "token_type".into(),
        json!(if bound { "DPoP" } else { "Bearer" }),
    );
    for name in ["exp", "iat", "sub", "iss", "jti", "token_use", "cnf"] {
        if let Some(value) = all.get(name) {
            out.insert(name.into(), value.clone());
        }
    }
    Some(Value::Object(out))
}
