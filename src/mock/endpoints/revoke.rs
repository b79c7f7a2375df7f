//! `POST /oauth2/revoke` (RFC 7009, as Cognito runs it).
//!
//! - The client authenticates as at the token endpoint (`invalid_client`: 401 with a Basic
//!   challenge after Basic, 400 after `client_secret_post`). `token` is required
//!   (`invalid_request`); `token_type_hint` is ignored.
//! - A refresh token of this client: its family is revoked, and with it every access and ID
//!   token issued from its sign-in (their `origin_jti`). 200, empty body.
//! - An unknown (or already revoked) token: 200, empty body (RFC 7009 §2.2).
//! - A refresh token issued to another client: 400 `unauthorized_client`, and nothing is
//!   revoked. RFC 7009 §2.1 has the server check that the token was issued to the caller and
//!   refuse otherwise; Cognito answers 400. `unauthorized_client` (the authenticated client
//!   may not do this) says what happened; `invalid_grant` is a token-endpoint code.
//! - A JWT (an access or ID token): 400 `unsupported_token_type`, as Cognito: only refresh
//!   tokens are revocable, and revoking one revokes the JWTs issued from it.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use crate::mock::error::OAuthError;
use crate::mock::form::Params;
use crate::mock::{Shared, client_auth, json};

pub(crate) async fn revoke(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    json::oauth_empty(handle(&shared, &headers, &body))
}

fn handle(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Result<(), OAuthError> {
    let params = Params::from_form(headers, body)?;
    let now = shared.now();
    let mut state = shared.state();
    let client = client_auth::authenticate(&state, headers, &params)?;
    let token = params.require("token")?;
    match state.refresh.get(token) {
        Some(record) if record.client_id == client.id => {
            let family = record.family.clone();
            state.revoke_family(&family, now);
            Ok(())
        }
        Some(_) => Err(OAuthError::unauthorized_client(
            "the token was not issued to this client",
        )),
        None if looks_like_jwt(token) => Err(OAuthError::unsupported_token_type()),
        None => Ok(()),
    }
}

/// Three dot-separated segments whose first is a base64url JSON object: an access or ID token
/// (refresh tokens here are opaque and never contain a dot).
fn looks_like_jwt(token: &str) -> bool {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .is_some_and(|v| v.is_object())
}
