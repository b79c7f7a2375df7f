//! The refresh token grant (RFC 6749 §6), as Cognito runs it.
//!
//! - The refresh token must be known, unexpired, not revoked (neither its family nor its
//!   sign-in's `origin_jti`) and issued to the authenticating client; its user must still
//!   exist. Anything else is `invalid_grant`.
//! - `scope` is ignored, as Cognito ignores it (it documents `scope` for client credentials
//!   only): the new tokens have the original scopes, `auth_time` and `origin_jti`. An ID token
//!   comes only with `openid`.
//! - Without rotation (the default) no new refresh token is issued: the same one keeps working
//!   until it expires. With the client's `rotate_refresh_tokens`, each use issues a new refresh
//!   token in the same family and marks the used one rotated. A rotated token still works for `rotation_grace_seconds` (for a client whose
//!   response was lost; each such use rotates again); used after that, it is reuse: the whole
//!   family, and every token issued from its sign-in, is revoked, and the answer is
//!   `invalid_grant`.
//! - RFC 9449 §5: a refresh token issued to a public client with a DPoP proof is bound to its
//!   key; using it needs a proof made with that key (else `invalid_dpop_proof`). A
//!   confidential client's refresh token is bound to the client already, not to a key.

use axum::http::StatusCode;
use serde_json::{Map, Value};

use crate::mock::Shared;
use crate::mock::config::Client;
use crate::mock::customize::TriggerSource;
use crate::mock::error::OAuthError;
use crate::mock::form::Params;
use crate::mock::mint::Issue;
use crate::mock::store::RefreshRecord;

pub(crate) fn refresh(
    shared: &Shared,
    client: &Client,
    params: &Params,
    dpop: Option<&str>,
) -> Result<Value, OAuthError> {
    let token = params.require("refresh_token")?;
    let now = shared.now();
    let mut state = shared.state();
    let record: RefreshRecord = state
        .refresh
        .get(token)
        .cloned()
        .ok_or_else(|| OAuthError::invalid_grant("the refresh token is unknown or revoked"))?;
    // Another client's token: refused, and left alone (it was not this client's to burn).
    if record.client_id != client.id {
        return Err(OAuthError::invalid_grant(
            "the refresh token was issued to another client",
        ));
    }
    if state.revoked_families.contains_key(&record.family)
        || state.revoked_origins.contains_key(&record.origin_jti)
    {
        return Err(OAuthError::invalid_grant("the refresh token was revoked"));
    }
    if record.expires_at <= now {
        return Err(OAuthError::invalid_grant("the refresh token has expired"));
    }
    if let Some(rotated_at) = record.rotated_at
        && now >= rotated_at.saturating_add(client.rotation_grace_seconds)
    {
        // Reuse of a rotated refresh token: someone else may hold the family. Burn it all.
        state.revoke_family(&record.family, now);
        return Err(OAuthError::invalid_grant(
            "the refresh token was already rotated; its family is revoked",
        ));
    }
    if client.secret.is_none()
        && let Some(bound) = &record.dpop_jkt
        && dpop != Some(bound.as_str())
    {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "invalid_dpop_proof",
            "the refresh token is bound to a DPoP key: send a proof made with it",
        ));
    }
    let user = state
        .user(&record.username)
        .cloned()
        .ok_or_else(|| OAuthError::invalid_grant("the user no longer exists"))?;
    let rotate = client.rotate_refresh_tokens;
    let tokens = state
        .mint(
            &shared.issuer,
            now,
            Issue {
                client_id: client.id.clone(),
                user: Some(user),
                scopes: record.scopes.clone(),
                auth_time: record.auth_time,
                nonce: None,
                origin_jti: Some(record.origin_jti.clone()),
                refresh: rotate,
                family: rotate.then(|| record.family.clone()),
                extra: Map::new(),
                dpop_jkt: dpop.map(str::to_owned),
                trigger: TriggerSource::RefreshTokens,
            },
        )
        .map_err(|e| OAuthError::server_error(e.to_string()))?;
    if tokens.refresh_token.is_some() {
        // The first rotation starts the grace period; a retry within it does not extend it.
        let _ = state.refresh.update(token, |old| {
            old.rotated_at.get_or_insert(now);
        });
    }
    Ok(tokens.to_json())
}
