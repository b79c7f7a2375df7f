//! The device authorization grant at the token endpoint (RFC 8628 §3.4–3.5): the device polls
//! with its `device_code` until the user decides on the `/device` page.

use serde_json::{Map, Value};

use crate::mock::Shared;
use crate::mock::config::Client;
use crate::mock::customize::TriggerSource;
use crate::mock::error::OAuthError;
use crate::mock::form::Params;
use crate::mock::mint::Issue;
use crate::mock::store::DeviceDecision;

/// RFC 8628 §3.5: each `slow_down` adds this much to the polling interval, for good.
const SLOW_DOWN_STEP: u64 = 5;

pub(crate) fn poll(
    shared: &Shared,
    client: &Client,
    params: &Params,
    dpop: Option<&str>,
) -> Result<Value, OAuthError> {
    let device_code = params.require("device_code")?;
    let now = shared.now();
    let mut state = shared.state();
    let unknown = || OAuthError::invalid_grant("the device code is unknown, used or revoked");
    let record = state.devices.get(device_code).ok_or_else(unknown)?;
    // Another client's code is as good as unknown; its polling state is left untouched.
    if record.client_id != client.id {
        return Err(unknown());
    }
    if record.expires_at <= now {
        return Err(OAuthError::device(
            "expired_token",
            "the device code has expired; start again",
        ));
    }
    let (decision, scopes) = (record.decision.clone(), record.scopes.clone());
    match decision {
        DeviceDecision::Pending => {
            let slowed = state.devices.update(device_code, |record| {
                let too_fast = record
                    .last_poll
                    .is_some_and(|last| now < last.saturating_add(record.interval));
                record.last_poll = Some(now);
                if too_fast {
                    record.interval = record.interval.saturating_add(SLOW_DOWN_STEP);
                }
                too_fast.then_some(record.interval)
            });
            if let Some(Some(interval)) = slowed {
                Err(OAuthError::device(
                    "slow_down",
                    format!("polling too fast: wait {interval} seconds between polls"),
                ))
            } else {
                Err(OAuthError::device(
                    "authorization_pending",
                    "the user has not decided yet",
                ))
            }
        }
        DeviceDecision::Denied => {
            state.devices.remove(device_code);
            Err(OAuthError::device(
                "access_denied",
                "the user denied the request",
            ))
        }
        DeviceDecision::Approved {
            username,
            auth_time,
        } => {
            // Single use: whatever happens next, the code is spent.
            state.devices.remove(device_code);
            let user = state
                .user(&username)
                .cloned()
                .ok_or_else(|| OAuthError::invalid_grant("the approving user no longer exists"))?;
            let tokens = state
                .mint(
                    &shared.issuer,
                    now,
                    Issue {
                        client_id: client.id.clone(),
                        user: Some(user),
                        scopes,
                        auth_time,
                        nonce: None,
                        origin_jti: None,
                        refresh: true,
                        family: None,
                        extra: Map::new(),
                        dpop_jkt: dpop.map(str::to_owned),
                        trigger: TriggerSource::DeviceCode,
                    },
                )
                .map_err(|e| OAuthError::server_error(e.to_string()))?;
            Ok(tokens.to_json())
        }
    }
}
