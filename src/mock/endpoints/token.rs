//! `POST /oauth2/token`: client authentication, the DPoP proof when there is one (RFC 9449
//! §5), then the grant (RFC 6749 §3.2, §5).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
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
    let jkt = dpop_key(shared, headers)?;
    let dpop = jkt.as_deref();
    match grant {
        Grant::AuthorizationCode => grants::code::exchange(shared, &client, &params, dpop),
        Grant::ClientCredentials => {
            grants::client_credentials::issue(shared, &client, &params, dpop)
        }
        Grant::RefreshToken => grants::refresh::refresh(shared, &client, &params, dpop),
        Grant::DeviceCode => grants::device::poll(shared, &client, &params, dpop),
        Grant::TokenExchange => grants::exchange::exchange(shared, &client, &params, dpop).await,
        Grant::Implicit => Err(OAuthError::unsupported_grant_type()),
    }
}

/// The thumbprint of the request's DPoP key, when it sent a proof: checked as the layer checks
/// proofs (no `ath`: no access token yet), its `jti` used up. A bad proof is
/// `invalid_dpop_proof` (RFC 9449 §5).
fn dpop_key(shared: &Shared, headers: &HeaderMap) -> Result<Option<String>, OAuthError> {
    let refused = |description: &str| {
        OAuthError::new(StatusCode::BAD_REQUEST, "invalid_dpop_proof", description)
    };
    let proof =
        crate::dpop::check_token_request(headers, &shared.url("/oauth2/token"), shared.now())
            .map_err(|err| refused(err.description()))?;
    let Some(proof) = proof else {
        return Ok(None);
    };
    let ttl = std::time::Duration::from_secs(proof.ttl_secs);
    match shared.state().dpop_proofs.record(&proof.replay_key, ttl) {
        Ok(true) => Ok(Some(proof.jkt)),
        Ok(false) => Err(refused(
            crate::AuthErrorKind::DpopProofReplayed.description(),
        )),
        Err(_) => Err(OAuthError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "too many DPoP proofs in their window; retry shortly",
        )),
    }
}
