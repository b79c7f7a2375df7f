//! Token exchange (RFC 8693 §2), impersonation only: an access token of a trusted external
//! issuer (the subject token) is traded for one of this issuer's access tokens.
//!
//! - The subject token's unverified `iss` picks the trusted issuer, only among those
//!   configured; no URL is ever taken from the token. Its keys come from that issuer's
//!   configured `jwks_uri`.
//! - It is validated by tokengate's own [`Authorizer`]: with `client_id` configured, as a
//!   Cognito access token of that client (`token_use: access`, `client_id`); otherwise as a
//!   generic access token with that `aud`. A trusted issuer with neither is refused (it would
//!   accept tokens meant for anyone).
//! - An authorizer is built per request: one key-set fetch per exchange, nothing cached
//!   across requests or test runtimes.
//! - The new token is Cognito-shaped: `client_id` is the exchanging client, `sub` the
//!   subject's, `username` the subject's when it has one, `auth_time` the subject's (the
//!   original sign-in). No `cognito:groups` (the other issuer's groups mean nothing here), no
//!   `act` (there is no actor: delegation with `actor_token` is refused), no claim naming the
//!   source issuer, no `aud`, no refresh token, no ID token. Scopes: the client's custom scopes
//!   only, as asked (default: all of them). Its lifetime is this issuer's access-token
//!   lifetime, whatever is left of the subject's.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use crate::authorizer::Authorizer;
use crate::clock::Clock;
use crate::error::AuthErrorKind;
use crate::jwks::RemoteJwks;
use crate::mock::Shared;
use crate::mock::config::{Client, TrustedIssuer};
use crate::mock::error::{OAuthError, sanitize};
use crate::mock::form::Params;
use crate::mock::mint::Issue;
use crate::mock::scopes;
use crate::mock::verify::MockClock;
use crate::validate::Profile;

/// RFC 8693 §3 token type identifiers.
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
const JWT_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";

/// How long fetching the trusted issuer's keys may take.
const JWKS_TIMEOUT: Duration = Duration::from_secs(5);

/// The token's `iss`, read without verifying anything: only to pick a trusted issuer.
fn unverified_issuer(token: &str) -> Option<String> {
    let mut parts = token.split('.');
    let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: Map<String, Value> = serde_json::from_slice(&bytes).ok()?;
    claims.get("iss")?.as_str().map(str::to_owned)
}

/// The authorizer for one trusted issuer's access tokens.
fn authorizer(trusted: &TrustedIssuer, clock: Arc<dyn Clock>) -> Result<Authorizer, OAuthError> {
    let misconfigured = |e: &crate::error::Error| {
        OAuthError::server_error(format!("trusted issuer misconfigured: {e}"))
    };
    let keys = RemoteJwks::from_uri(&trusted.jwks_uri)
        .map_err(|e| misconfigured(&e))?
        .timeout(JWKS_TIMEOUT);
    let builder = |profile| {
        Authorizer::builder(profile)
            .issuer(trusted.issuer.clone())
            .remote_jwks(keys.clone())
            .clock(MockClock(Arc::clone(&clock)))
    };
    match (&trusted.client_id, &trusted.audience) {
        (Some(client_id), audience) => {
            let mut b = builder(Profile::cognito_access()).client_id(client_id.clone());
            if let Some(audience) = audience {
                b = b.audience(audience.clone());
            }
            b.build().map_err(|e| misconfigured(&e))
        }
        (None, Some(audience)) => builder(Profile::generic())
            .audience(audience.clone())
            .build()
            .map_err(|e| misconfigured(&e)),
        (None, None) => Err(OAuthError::server_error(
            "trusted issuer misconfigured: neither client_id nor audience is set",
        )),
    }
}

pub(crate) async fn exchange(
    shared: &Shared,
    client: &Client,
    params: &Params,
    dpop: Option<&str>,
) -> Result<Value, OAuthError> {
    let subject_token = params.require("subject_token")?;
    let subject_token_type = params.require("subject_token_type")?;
    if subject_token_type != ACCESS_TOKEN_TYPE && subject_token_type != JWT_TYPE {
        return Err(OAuthError::invalid_request(format!(
            "subject_token_type must be `{ACCESS_TOKEN_TYPE}` or `{JWT_TYPE}`"
        )));
    }
    if params.get("actor_token").is_some() || params.get("actor_token_type").is_some() {
        return Err(OAuthError::invalid_request(
            "delegation (actor_token) is not supported; only impersonation",
        ));
    }
    if let Some(requested) = params.get("requested_token_type")
        && requested != ACCESS_TOKEN_TYPE
        && requested != JWT_TYPE
    {
        return Err(OAuthError::invalid_request(format!(
            "only `{ACCESS_TOKEN_TYPE}` can be issued"
        )));
    }
    // Cognito access tokens carry no `aud`: a requested audience or resource cannot be honoured.
    if params.get("audience").is_some() || params.get("resource").is_some() {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "invalid_target",
            "this issuer's access tokens carry no audience; leave out `audience` and `resource`",
        ));
    }

    // Scopes first: a request this client may not make fails before any fetch.
    let (scopes, trusted) = {
        let state = shared.state();
        let scopes = scopes::resolve(&state, client, params.get("scope"), true)?;
        let iss = unverified_issuer(subject_token)
            .ok_or_else(|| OAuthError::invalid_grant("the subject token is not a JWT"))?;
        let trusted = state
            .config
            .trusted_issuers
            .iter()
            .find(|t| t.issuer == iss)
            .cloned()
            .ok_or_else(|| {
                OAuthError::invalid_grant(format!(
                    "the subject token's issuer `{}` is not trusted",
                    sanitize(&iss)
                ))
            })?;
        (scopes, trusted)
    };

    let claims = authorizer(&trusted, Arc::clone(&shared.clock))?
        .authorize::<()>(subject_token)
        .await
        .map_err(|err| match err.kind() {
            AuthErrorKind::KeysUnavailable => OAuthError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the subject token's issuer keys cannot be fetched",
            ),
            _ => OAuthError::invalid_grant(format!("the subject token is invalid: {err}")),
        })?;
    let sub = claims
        .subject()
        .ok_or_else(|| OAuthError::invalid_grant("the subject token has no `sub`"))?;

    let now = shared.now();
    let mut extra = Map::new();
    extra.insert("sub".into(), json!(sub));
    if let Some(username) = claims.username() {
        extra.insert("username".into(), json!(username));
    }
    let auth_time = claims.auth_time().filter(|t| *t <= now).unwrap_or(now);
    let tokens = shared
        .state()
        .mint(
            &shared.issuer,
            now,
            Issue {
                client_id: client.id.clone(),
                user: None,
                scopes,
                auth_time,
                nonce: None,
                origin_jti: None,
                refresh: false,
                family: None,
                extra,
                dpop_jkt: dpop.map(str::to_owned),
            },
        )
        .map_err(|e| OAuthError::server_error(e.to_string()))?;
    Ok(json!({
        "access_token": tokens.access_token,
        "issued_token_type": ACCESS_TOKEN_TYPE,
        "token_type": tokens.token_type(),
        "expires_in": tokens.expires_in,
        "scope": tokens.scope,
    }))
}
