//! Token exchange (RFC 8693 §2): a subject token — one of this pool's own access tokens (a
//! service exchanging the user token it received, on behalf of that user), or an access
//! token of a trusted partner issuer — is traded for one of this issuer's access tokens,
//! narrowed to an audience and scopes, with `act` naming the actor when there is one.
//!
//! - Subject and actor tokens are access tokens (`…:access_token` or `…:jwt`); each one's
//!   unverified `iss` picks how it is checked, and no URL is ever taken from a token: this
//!   issuer's own tokens as userInfo checks them (keys, clock, revocation of their sign-in);
//!   a trusted issuer's with tokengate's [`Authorizer`] over its configured `jwks_uri` — with
//!   `client_id` configured, as a Cognito access token of that client, else as a generic
//!   access token with that `aud` (one key-set fetch per exchange, nothing cached).
//! - A token that does not pass, from an issuer not trusted, of a type not accepted, or an
//!   actor the subject's `may_act` (§4.4) does not name, is `invalid_request` (§2.2.2);
//!   a trusted issuer whose keys cannot be fetched, `temporarily_unavailable` (503).
//! - `audience` or `resource` (§2.1) must name a resource server (its identifier), else
//!   `invalid_target`; the token then carries it as `aud` and only that server's scopes.
//! - Scopes: the client's custom scopes, as asked (default: all of them); for a subject of
//!   this pool, only scopes the subject token has (asking for another is `invalid_scope`), so
//!   an exchange never widens what the user granted.
//! - The new token is Cognito-shaped, issued to the exchanging client (`client_id`). For a
//!   user of this pool: that user's claims (`sub`, `username`, `cognito:groups`), the
//!   subject's `auth_time` and `origin_jti` (revoking the user's sign-in revokes it too). For a
//!   partner's user: `sub` and `username` from the subject token, no groups (the partner's
//!   mean nothing here), the subject's `auth_time`. No refresh token, no ID token.
//! - `act` (§4.1): with an actor token, `{"sub": <actor's sub>}` (plus `iss` when the actor
//!   is a partner's), nesting the subject token's own `act` as the prior actor chain; without
//!   one, the subject token's `act`, if any, carries over.
//! - `issued_token_type` is the `requested_token_type` (default `…:access_token`).

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use crate::authorizer::Authorizer;
use crate::claims::Claims;
use crate::clock::Clock;
use crate::error::AuthErrorKind;
use crate::jwks::RemoteJwks;
use crate::mock::Shared;
use crate::mock::config::{Client, TrustedIssuer, User};
use crate::mock::customize::TriggerSource;
use crate::mock::error::{OAuthError, sanitize};
use crate::mock::form::Params;
use crate::mock::mint::Issue;
use crate::mock::verify::{self, MockClock};
use crate::mock::{scopes, store::State};
use crate::validate::Profile;

/// RFC 8693 §3 token type identifiers.
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
const JWT_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";

/// How long fetching a trusted issuer's keys may take.
const JWKS_TIMEOUT: Duration = Duration::from_secs(5);

/// The token's `iss`, read without verifying anything: only to pick how to check it.
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
        // The configuration checks refuse such a trusted issuer; never reached.
        (None, None) => Err(OAuthError::server_error(
            "trusted issuer misconfigured: neither client_id nor audience is set",
        )),
    }
}

/// A subject or actor token that passed, and whose it is.
struct Checked {
    claims: Claims<Map<String, Value>>,
    /// Whether this issuer issued it (else a trusted partner did).
    own: bool,
}

/// Checks a subject or actor token (`what` names it in errors).
async fn check(shared: &Shared, token: &str, what: &str) -> Result<Checked, OAuthError> {
    let unacceptable = |why: String| OAuthError::invalid_request(format!("the {what} {why}"));
    let iss = unverified_issuer(token).ok_or_else(|| unacceptable("is not a JWT".into()))?;
    if iss == shared.issuer {
        let claims = verify::access_token(shared, token)
            .await
            .map_err(|e| unacceptable(format!("is not valid: {e}")))?;
        return Ok(Checked { claims, own: true });
    }
    let trusted = shared
        .state()
        .config
        .trusted_issuers
        .iter()
        .find(|t| t.issuer == iss)
        .cloned()
        .ok_or_else(|| {
            unacceptable(format!(
                "comes from `{}`, an issuer not trusted",
                sanitize(&iss)
            ))
        })?;
    let claims = authorizer(&trusted, Arc::clone(&shared.clock))?
        .authorize::<Map<String, Value>>(token)
        .await
        .map_err(|err| match err.kind() {
            AuthErrorKind::KeysUnavailable => OAuthError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                format!("the {what}'s issuer keys cannot be fetched"),
            ),
            _ => unacceptable(format!("is not valid: {err}")),
        })?;
    Ok(Checked { claims, own: false })
}

/// A token type parameter, which must name an access token.
fn token_type<'a>(params: &'a Params, name: &str) -> Result<Option<&'a str>, OAuthError> {
    match params.get(name) {
        Some(t) if t != ACCESS_TOKEN_TYPE && t != JWT_TYPE => Err(OAuthError::invalid_request(
            format!("{name} must be `{ACCESS_TOKEN_TYPE}` or `{JWT_TYPE}`"),
        )),
        other => Ok(other),
    }
}

/// The resource server `audience` or `resource` names (§2.1), if any.
fn target(state: &State, params: &Params) -> Result<Option<String>, OAuthError> {
    let named = match (params.get("audience"), params.get("resource")) {
        (Some(a), Some(r)) if a != r => {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "invalid_target",
                "`audience` and `resource` name different targets",
            ));
        }
        (Some(t), _) | (None, Some(t)) => t,
        (None, None) => return Ok(None),
    };
    if state
        .config
        .resource_servers
        .iter()
        .any(|r| r.identifier == named)
    {
        Ok(Some(named.to_owned()))
    } else {
        Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "invalid_target",
            format!(
                "`{}` is not a resource server of this pool",
                sanitize(named)
            ),
        ))
    }
}

/// The scopes granted: the client's custom scopes as asked, within the target's, and for a
/// subject of this pool within the subject's.
fn granted(
    state: &State,
    client: &Client,
    asked: Option<&str>,
    target: Option<&str>,
    subject: Option<&[String]>,
) -> Result<Vec<String>, OAuthError> {
    let in_target = |s: &str| {
        target.is_none_or(|t| s.strip_prefix(t).is_some_and(|rest| rest.starts_with('/')))
    };
    let in_subject = |s: &str| subject.is_none_or(|have| have.iter().any(|h| h == s));
    let scopes = match asked {
        Some(asked) => {
            let scopes = scopes::resolve(state, client, Some(asked), true)?;
            if let Some(outside) = scopes.iter().find(|s| !in_target(s)) {
                return Err(OAuthError::invalid_scope(format!(
                    "`{}` is not a scope of the requested audience",
                    sanitize(outside)
                )));
            }
            if let Some(outside) = scopes.iter().find(|s| !in_subject(s)) {
                return Err(OAuthError::invalid_scope(format!(
                    "the subject token does not grant `{}`",
                    sanitize(outside)
                )));
            }
            scopes
        }
        None => {
            let mut scopes = scopes::resolve(state, client, None, true)?;
            scopes.retain(|s| in_target(s) && in_subject(s));
            scopes
        }
    };
    if scopes.is_empty() {
        return Err(OAuthError::invalid_scope(
            "no scope of this client is left within the audience and the subject token",
        ));
    }
    Ok(scopes)
}

/// The subject token's `act` claim (its prior actors), if it is an object.
fn prior_actors(subject: &Checked) -> Option<Value> {
    subject
        .claims
        .custom()
        .get("act")
        .filter(|act| act.is_object())
        .cloned()
}

/// `act` for an actor (§4.1): its `sub`, its `iss` when a partner's, prior actors nested.
fn act(shared: &Shared, subject: &Checked, actor: &Checked) -> Result<Value, OAuthError> {
    let sub = actor
        .claims
        .subject()
        .ok_or_else(|| OAuthError::invalid_request("the actor token has no `sub`"))?;
    // §4.4: a subject that names who may act for it names this actor, or the exchange fails.
    if let Some(may_act) = subject.claims.custom().get("may_act") {
        let named = may_act.get("sub").and_then(Value::as_str) == Some(sub)
            && may_act
                .get("iss")
                .and_then(Value::as_str)
                .is_none_or(|iss| iss == actor.claims.issuer());
        if !named {
            return Err(OAuthError::invalid_request(
                "the subject token's `may_act` does not name this actor",
            ));
        }
    }
    let mut act = Map::new();
    act.insert("sub".into(), json!(sub));
    if actor.claims.issuer() != shared.issuer {
        act.insert("iss".into(), json!(actor.claims.issuer()));
    }
    if let Some(prior) = prior_actors(subject) {
        act.insert("act".into(), prior);
    }
    Ok(Value::Object(act))
}

pub(crate) async fn exchange(
    shared: &Shared,
    client: &Client,
    params: &Params,
    dpop: Option<&str>,
) -> Result<Value, OAuthError> {
    // 1. The request's shape (§2.1), before any token is looked at.
    let subject_token = params.require("subject_token")?;
    params.require("subject_token_type")?;
    token_type(params, "subject_token_type")?;
    let actor_token = params.get("actor_token");
    match (actor_token, token_type(params, "actor_token_type")?) {
        (Some(_), None) => {
            return Err(OAuthError::invalid_request(
                "actor_token needs actor_token_type",
            ));
        }
        (None, Some(_)) => {
            return Err(OAuthError::invalid_request(
                "actor_token_type without actor_token",
            ));
        }
        _ => {}
    }
    let issued_token_type =
        token_type(params, "requested_token_type")?.unwrap_or(ACCESS_TOKEN_TYPE);
    let target = target(&shared.state(), params)?;
    // A scope this client may never have fails before any token is checked or key fetched.
    if let Some(asked) = params.get("scope") {
        scopes::resolve(&shared.state(), client, Some(asked), true)?;
    }

    // 2. The subject (and actor) tokens.
    let subject = check(shared, subject_token, "subject token").await?;
    let actor = match actor_token {
        Some(token) => Some(check(shared, token, "actor token").await?),
        None => None,
    };
    // A DPoP-bound token is only good in the hands of its key's holder (RFC 9449): trading
    // it needs a proof made with that key, or the binding would be laundered away.
    for (checked, what) in [
        (Some(&subject), "subject token"),
        (actor.as_ref(), "actor token"),
    ] {
        let bound = checked.and_then(|c| c.claims.dpop_jkt());
        if bound.is_some_and(|jkt| dpop != Some(jkt)) {
            return Err(OAuthError::invalid_request(format!(
                "the {what} is DPoP-bound: the request needs a DPoP proof made with its key"
            )));
        }
    }
    let sub = subject
        .claims
        .subject()
        .ok_or_else(|| OAuthError::invalid_request("the subject token has no `sub`"))?
        .to_owned();

    // 3. Who the new token is for, and what it grants.
    let now = shared.now();
    let mut state = shared.state();
    let subject_scopes: Vec<String> = subject.claims.scopes().iter().map(str::to_owned).collect();
    let scopes = granted(
        &state,
        client,
        params.get("scope"),
        target.as_deref(),
        subject.own.then_some(subject_scopes.as_slice()),
    )?;
    let user: Option<User> = match (subject.own, subject.claims.username()) {
        (true, Some(username)) => Some(
            state
                .config
                .user_by_token_username(username)
                .cloned()
                .ok_or_else(|| {
                    OAuthError::invalid_request("the subject token's user no longer exists")
                })?,
        ),
        _ => None,
    };
    let mut extra = Map::new();
    if user.is_none() {
        extra.insert("sub".into(), json!(sub));
        if let Some(username) = subject.claims.username().filter(|_| !subject.own) {
            extra.insert("username".into(), json!(username));
        }
    }
    if let Some(target) = &target {
        extra.insert("aud".into(), json!(target));
    }
    let act = match &actor {
        Some(actor) => Some(act(shared, &subject, actor)?),
        None => prior_actors(&subject),
    };
    if let Some(act) = act {
        extra.insert("act".into(), act);
    }
    let origin_jti = subject
        .own
        .then(|| subject.claims.custom().get("origin_jti"))
        .flatten()
        .and_then(Value::as_str)
        .map(str::to_owned);
    let auth_time = subject
        .claims
        .auth_time()
        .filter(|t| *t <= now)
        .unwrap_or(now);
    let tokens = state
        .mint(
            &shared.issuer,
            now,
            Issue {
                client_id: client.id.clone(),
                user,
                scopes,
                auth_time,
                nonce: None,
                origin_jti,
                refresh: false,
                family: None,
                extra,
                dpop_jkt: dpop.map(str::to_owned),
                trigger: TriggerSource::TokenExchange,
            },
        )
        .map_err(|e| OAuthError::server_error(e.to_string()))?;
    Ok(json!({
        "access_token": tokens.access_token,
        "issued_token_type": issued_token_type,
        "token_type": tokens.token_type(),
        "expires_in": tokens.expires_in,
        "scope": tokens.scope,
    }))
}
