//! The client credentials grant (RFC 6749 §4.4), as Cognito runs it: confidential clients
//! only, custom scopes only, no user, no ID token, no refresh token.

use serde_json::{Map, Value};

use crate::mock::Shared;
use crate::mock::config::Client;
use crate::mock::customize::TriggerSource;
use crate::mock::error::OAuthError;
use crate::mock::form::Params;
use crate::mock::mint::Issue;
use crate::mock::scopes;

pub(crate) fn issue(
    shared: &Shared,
    client: &Client,
    params: &Params,
    dpop: Option<&str>,
) -> Result<Value, OAuthError> {
    // Authentication already proved the secret; a public client has none to prove.
    if client.secret.is_none() {
        return Err(OAuthError::unauthorized_client(
            "client credentials need a client with a secret",
        ));
    }
    let now = shared.now();
    let mut state = shared.state();
    let scopes = scopes::resolve(&state, client, params.get("scope"), true)?;
    let tokens = state
        .mint(
            &shared.issuer,
            now,
            Issue {
                client_id: client.id.clone(),
                user: None,
                scopes,
                auth_time: now,
                nonce: None,
                origin_jti: None,
                refresh: false,
                family: None,
                extra: Map::new(),
                dpop_jkt: dpop.map(str::to_owned),
                trigger: TriggerSource::ClientCredentials,
            },
        )
        .map_err(|e| OAuthError::server_error(e.to_string()))?;
    Ok(tokens.to_json())
}
