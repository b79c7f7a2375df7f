//! `POST /oauth2/token`: client authentication, then the grant (RFC 6749 §3.2, §5).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::Value;

use crate::mock::config::Grant;
use crate::mock::error::OAuthError;
use crate::mock::form::Params;
use crate::mock::{Shared, client_auth, grants, json};

pub(crate) async fn token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    json::oauth(handle(&shared, &headers, &body).await)
}

async fn handle(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Result<Value, OAuthError> {
    let params = Params::from_form(headers, body)?;
    let grant_type = params.require("grant_type")?;
    let grant = Grant::ALL
        .into_iter()
        .find(|g| g.grant_type() == Some(grant_type))
        .ok_or_else(OAuthError::unsupported_grant_type)?;
    let client = client_auth::authenticate(&shared.state(), headers, &params)?;
    if !client.allows(grant) {
        return Err(OAuthError::unauthorized_client(
            "the client may not use this grant type",
        ));
    }
    match grant {
        Grant::AuthorizationCode => grants::code::exchange(shared, &client, &params),
        Grant::ClientCredentials => grants::client_credentials::issue(shared, &client, &params),
        Grant::RefreshToken => grants::refresh::refresh(shared, &client, &params),
        Grant::DeviceCode => grants::device::poll(shared, &client, &params),
        Grant::TokenExchange => grants::exchange::exchange(shared, &client, &params).await,
        Grant::Implicit => Err(OAuthError::unsupported_grant_type()),
    }
}
