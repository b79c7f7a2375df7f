//! `POST /oauth2/device_authorization` (RFC 8628 §3.1–3.2): a device asks for a device code
//! and a user code. The user decides on the `/device` page (`endpoints::device`); the device
//! polls the token endpoint (`grants::device`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};

use crate::mock::claims::expiry;
use crate::mock::config::Grant;
use crate::mock::error::OAuthError;
use crate::mock::form::Params;
use crate::mock::keys::new_id;
use crate::mock::redirect::encode;
use crate::mock::store::{DeviceDecision, DeviceRecord};
use crate::mock::{Shared, client_auth, json, scopes, user_code};

/// `POST /oauth2/device_authorization`.
pub(crate) async fn device_authorization(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    json::oauth(authorize_device(&shared, &headers, &body))
}

fn authorize_device(
    shared: &Shared,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, OAuthError> {
    let params = Params::from_form(headers, body)?;
    let now = shared.now();
    let mut state = shared.state();
    let client = client_auth::authenticate(&state, headers, &params)?;
    if !client.allows(Grant::DeviceCode) {
        return Err(OAuthError::unauthorized_client(
            "the client may not use the device authorization grant",
        ));
    }
    let scopes = scopes::resolve(&state, &client, params.get("scope"), false)?;
    let lifetimes = state.config.lifetimes.clone();
    let user_code = loop {
        let code = user_code::generate();
        if state.device_by_user_code(&code).is_none() {
            break code;
        }
    };
    let device_code = format!("{}{}", new_id(), new_id());
    let expires_at = expiry(now, lifetimes.device_code);
    state.devices.insert(
        device_code.clone(),
        DeviceRecord {
            client_id: client.id.clone(),
            user_code: user_code.clone(),
            scopes,
            expires_at,
            interval: lifetimes.device_interval,
            last_poll: None,
            decision: DeviceDecision::Pending,
        },
        // Kept a lifetime past expiry, so polls hear `expired_token` rather than "unknown".
        expires_at.saturating_add(lifetimes.device_code),
        now,
    );
    drop(state);
    let verification_uri = shared.url("/device");
    Ok(json!({
        "device_code": device_code,
        "user_code": user_code,
        "verification_uri": verification_uri,
        "verification_uri_complete":
            format!("{verification_uri}?user_code={}", encode(&user_code)),
        "expires_in": expires_at.saturating_sub(now),
        "interval": lifetimes.device_interval,
    }))
}
