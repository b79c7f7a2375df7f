//! `GET /oauth2/authorize` (RFC 6749 §4.1.1, §4.2.1; RFC 7636 §4.3), as Cognito runs it.
//!
//! Order of checks, strict:
//! 1. the query must parse (each parameter at most once) and name a known `client_id` and one of
//!    its registered `redirect_uri`s, exactly; otherwise a 400 HTML page and never a redirect
//!    (RFC 6749 §4.1.2.1: the redirect URI cannot be trusted);
//! 2. then every other problem is a redirect to the redirect URI with `error` (in the query for
//!    `code`, in the fragment for `token`) and the `state`: `unsupported_response_type`,
//!    `unauthorized_client` (the client may not use the flow), `invalid_request` (PKCE other
//!    than S256, a malformed challenge, PKCE with the implicit flow) and `invalid_scope`;
//!    `invalid_scope`, and for `prompt` (OIDC Core §3.1.2.1) an unknown value or `none`
//!    beside another (`invalid_request`);
//! 3. without a session — or with `prompt=login` (`consent` and `select_account` are taken
//!    as `login`: the mock has no consent or account pages) — the browser goes to `/login`
//!    with the same query; with `prompt=none` and no session, back to the client with
//!    `error=login_required` instead;
//! 4. with one, a code (single use, `lifetimes.authorization_code`) or, for the implicit flow,
//!    an access token (and an ID token when `openid` was asked; never a refresh token).
//!
//! A `code_challenge` without `code_challenge_method` means `plain` (RFC 7636 §4.3), which is
//! refused like an explicit `plain`.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::Map;

use crate::mock::claims::expiry;
use crate::mock::config::{Client, Grant};
use crate::mock::customize::TriggerSource;
use crate::mock::error::OAuthError;
use crate::mock::form::Params;
use crate::mock::html::error_page;
use crate::mock::keys::new_id;
use crate::mock::mint::Issue;
use crate::mock::redirect::{self, Mode};
use crate::mock::store::{CodeRecord, Session};
use crate::mock::{Shared, scopes};

/// A validated authorization request.
#[derive(Clone, Debug)]
struct Request {
    client: Client,
    redirect_uri: String,
    mode: Mode,
    scopes: Vec<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
}

/// Whether `challenge` is an S256 challenge: 43–128 characters of the base64url alphabet
/// (RFC 7636 §4.2 makes it exactly 43; the spec's verifier bounds are accepted).
fn valid_challenge(challenge: &str) -> bool {
    (43..=128).contains(&challenge.len())
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What `prompt` asks for (OIDC Core §3.1.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Prompt {
    /// Nothing: a session is used when there is one.
    Default,
    /// Never show a page: no session is `login_required`.
    None,
    /// Sign in again, whatever the session.
    Login,
}

fn prompt(params: &Params) -> Result<Prompt, OAuthError> {
    let Some(value) = params.get("prompt") else {
        return Ok(Prompt::Default);
    };
    let values: Vec<&str> = value.split(' ').filter(|v| !v.is_empty()).collect();
    if values.contains(&"none") {
        return if values.len() == 1 {
            Ok(Prompt::None)
        } else {
            Err(OAuthError::invalid_request(
                "prompt=none cannot be combined with another value",
            ))
        };
    }
    match values
        .iter()
        .find(|v| !matches!(**v, "login" | "consent" | "select_account"))
    {
        Some(_) => Err(OAuthError::invalid_request(
            "prompt must be none, login, consent or select_account",
        )),
        None => Ok(Prompt::Login),
    }
}

/// Step 2: everything after the client and redirect URI are known good.
fn validate(
    shared: &Shared,
    client: &Client,
    params: &Params,
) -> Result<(Mode, Vec<String>, Option<String>, Prompt), OAuthError> {
    let response_type = params
        .get("response_type")
        .ok_or_else(|| OAuthError::invalid_request("missing parameter `response_type`"))?;
    let (mode, grant) = match response_type {
        "code" => (Mode::Query, Grant::AuthorizationCode),
        "token" => (Mode::Fragment, Grant::Implicit),
        _ => {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_response_type",
                "response_type must be `code` or `token`",
            ));
        }
    };
    if !client.allows(grant) {
        return Err(OAuthError::unauthorized_client(
            "the client may not use this response type",
        ));
    }
    let challenge = params.get("code_challenge");
    let method = params.get("code_challenge_method");
    let code_challenge = match (challenge, method) {
        (None, None) => None,
        (None, Some(_)) => {
            return Err(OAuthError::invalid_request(
                "code_challenge_method without code_challenge",
            ));
        }
        (Some(_), _) if mode == Mode::Fragment => {
            return Err(OAuthError::invalid_request(
                "PKCE applies to the authorization code flow only",
            ));
        }
        (Some(_), None | Some("plain")) => {
            return Err(OAuthError::invalid_request(
                "code_challenge_method must be S256; plain is not supported",
            ));
        }
        (Some(challenge), Some("S256")) => {
            if !valid_challenge(challenge) {
                return Err(OAuthError::invalid_request(
                    "code_challenge must be 43 to 128 base64url characters",
                ));
            }
            Some(challenge.to_owned())
        }
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(
                "code_challenge_method must be S256",
            ));
        }
    };
    let scopes = scopes::resolve(&shared.state(), client, params.get("scope"), false)?;
    Ok((mode, scopes, code_challenge, prompt(params)?))
}

/// Step 1: the client and its redirect URI, or the page that refuses without redirecting.
fn client_and_redirect(shared: &Shared, params: &Params) -> Result<(Client, String), String> {
    let Some(client_id) = params.get("client_id") else {
        return Err("The request has no client_id.".to_owned());
    };
    let Some(client) = shared.state().client(client_id).cloned() else {
        return Err(format!("There is no client `{client_id}`."));
    };
    let Some(redirect_uri) = params.get("redirect_uri") else {
        return Err("The request has no redirect_uri.".to_owned());
    };
    if !client.redirect_uris.iter().any(|u| u == redirect_uri) {
        return Err(format!(
            "The redirect_uri `{redirect_uri}` is not registered for this client."
        ));
    }
    Ok((client, redirect_uri.to_owned()))
}

pub(crate) async fn authorize(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = match Params::from_query(query.as_deref()) {
        Ok(params) => params,
        Err(err) => return error_page(StatusCode::BAD_REQUEST, &err.description),
    };
    let (client, redirect_uri) = match client_and_redirect(&shared, &params) {
        Ok(found) => found,
        Err(message) => return error_page(StatusCode::BAD_REQUEST, &message),
    };
    let state = params.get("state");
    let mode_guess = if params.get("response_type") == Some("token") {
        Mode::Fragment
    } else {
        Mode::Query
    };
    let (mode, scopes, code_challenge, prompt) = match validate(&shared, &client, &params) {
        Ok(valid) => valid,
        Err(err) => return redirect::error_to_client(&redirect_uri, mode_guess, state, &err),
    };
    let session = shared.session(&headers).filter(|_| prompt != Prompt::Login);
    let Some(session) = session else {
        if prompt == Prompt::None {
            let err = OAuthError::new(
                StatusCode::BAD_REQUEST,
                "login_required",
                "prompt=none and nobody is signed in",
            );
            return redirect::error_to_client(&redirect_uri, mode, state, &err);
        }
        // The hosted sign-in page, with the very same (valid) query; once signed in, the
        // browser comes back without `prompt` (the sign-in it asked for just happened).
        let query = query.unwrap_or_default();
        return redirect::found(&format!("{}?{query}", shared.url("/login")));
    };
    let request = Request {
        client,
        redirect_uri,
        mode,
        scopes,
        nonce: params.get("nonce").map(str::to_owned),
        code_challenge,
    };
    match request.mode {
        Mode::Query => issue_code(&shared, &request, &session, state),
        Mode::Fragment => issue_implicit(&shared, &request, &session, state),
    }
}

/// The code flow: a single-use code for the token endpoint.
fn issue_code(
    shared: &Shared,
    request: &Request,
    session: &Session,
    state: Option<&str>,
) -> Response {
    let code = new_id();
    let now = shared.now();
    {
        let mut store = shared.state();
        let expires_at = expiry(now, store.config.lifetimes.authorization_code);
        store.codes.insert(
            code.clone(),
            CodeRecord {
                client_id: request.client.id.clone(),
                redirect_uri: request.redirect_uri.clone(),
                username: session.username.clone(),
                scopes: request.scopes.clone(),
                nonce: request.nonce.clone(),
                code_challenge: request.code_challenge.clone(),
                auth_time: session.auth_time,
                expires_at,
            },
            expires_at,
            now,
        );
    }
    let mut pairs = vec![("code", code.as_str())];
    if let Some(state) = state {
        pairs.push(("state", state));
    }
    redirect::to_client(&request.redirect_uri, Mode::Query, &pairs)
}

/// The implicit flow: tokens in the fragment, never a refresh token.
fn issue_implicit(
    shared: &Shared,
    request: &Request,
    session: &Session,
    state: Option<&str>,
) -> Response {
    let now = shared.now();
    let minted = {
        let mut store = shared.state();
        let Some(user) = store.user(&session.username).cloned() else {
            let err = OAuthError::server_error("the signed-in user no longer exists");
            drop(store);
            return redirect::error_to_client(&request.redirect_uri, Mode::Fragment, state, &err);
        };
        store.mint(
            &shared.issuer,
            now,
            Issue {
                client_id: request.client.id.clone(),
                user: Some(user),
                scopes: request.scopes.clone(),
                auth_time: session.auth_time,
                nonce: request.nonce.clone(),
                origin_jti: None,
                refresh: false,
                family: None,
                extra: Map::new(),
                dpop_jkt: None,
                trigger: TriggerSource::HostedAuth,
            },
        )
    };
    let tokens = match minted {
        Ok(tokens) => tokens,
        Err(e) => {
            let err = OAuthError::server_error(e.to_string());
            return redirect::error_to_client(&request.redirect_uri, Mode::Fragment, state, &err);
        }
    };
    let expires_in = tokens.expires_in.to_string();
    let mut pairs = vec![
        ("access_token", tokens.access_token.as_str()),
        ("token_type", "bearer"),
        ("expires_in", expires_in.as_str()),
    ];
    if let Some(id_token) = &tokens.id_token {
        pairs.push(("id_token", id_token.as_str()));
    }
    if let Some(state) = state {
        pairs.push(("state", state));
    }
    redirect::to_client(&request.redirect_uri, Mode::Fragment, &pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_are_base64url_of_the_right_length() {
        assert!(valid_challenge(&"a".repeat(43)));
        assert!(!valid_challenge(&"a".repeat(42)));
        assert!(!valid_challenge(&"a".repeat(129)));
        assert!(!valid_challenge(&format!("{}=", "a".repeat(43))));
        assert!(!valid_challenge(&format!("{}+", "a".repeat(43))));
    }
}
