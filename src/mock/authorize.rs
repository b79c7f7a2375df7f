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
//! 3. without a session the browser goes to `/login` with the same query;
//! 4. with one, a code (single use, `lifetimes.authorization_code`) or, for the implicit flow,
//!    an access token (and an ID token when `openid` was asked; never a refresh token).
//!
//! A `code_challenge` without `code_challenge_method` means `plain` (RFC 7636 §4.3), which is
//! refused like an explicit `plain`.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::header::{CACHE_CONTROL, LOCATION, PRAGMA};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Map;

use crate::mock::Shared;
use crate::mock::config::{Client, Grant};
use crate::mock::error::OAuthError;
use crate::mock::form::Params;
use crate::mock::keys::new_id;
use crate::mock::login::error_page;
use crate::mock::mint::Issue;
use crate::mock::scopes;
use crate::mock::store::{CodeRecord, Session};

/// Percent-encodes a query or fragment component: everything but RFC 3986's unreserved
/// characters is escaped (so `+`, `&`, `=`, `#` and spaces survive any decoder).
pub(crate) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `a=1&b=2`, each name and value percent-encoded.
pub(crate) fn encode_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    pairs
        .into_iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A `302 Found` to `location`, never cached (it may carry a code or tokens).
pub(crate) fn redirect(location: &str) -> Response {
    let mut response = StatusCode::FOUND.into_response();
    let headers = response.headers_mut();
    match HeaderValue::from_str(location) {
        Ok(value) => {
            headers.insert(LOCATION, value);
        }
        // Every location is built from registered URIs and percent-encoded values; a URI that
        // cannot be a header is a configuration mistake, not a reason to send one unchecked.
        Err(_) => {
            return error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The redirect URI cannot be used in a Location header.",
            );
        }
    }
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// Where the response parameters go: the query (`code`) or the fragment (`token`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Query,
    Fragment,
}

/// `redirect_uri` with `pairs` added to its query or as its fragment.
fn redirect_with(redirect_uri: &str, mode: Mode, pairs: &[(&str, &str)]) -> Response {
    let encoded = encode_pairs(pairs.iter().copied());
    let location = match mode {
        Mode::Query => {
            // A registered URI may already have a query (RFC 6749 §3.1.2 allows it); it is
            // kept, and a fragment, which registered URIs must not have, goes after the query.
            let (base, fragment) = match redirect_uri.split_once('#') {
                Some((base, fragment)) => (base, Some(fragment)),
                None => (redirect_uri, None),
            };
            let sep = if base.contains('?') {
                if base.ends_with('?') || base.ends_with('&') {
                    ""
                } else {
                    "&"
                }
            } else {
                "?"
            };
            match fragment {
                Some(fragment) => format!("{base}{sep}{encoded}#{fragment}"),
                None => format!("{base}{sep}{encoded}"),
            }
        }
        Mode::Fragment => {
            let base = redirect_uri
                .split_once('#')
                .map_or(redirect_uri, |(b, _)| b);
            format!("{base}#{encoded}")
        }
    };
    redirect(&location)
}

/// An OAuth error sent back to the (validated) redirect URI, with the `state`.
fn error_redirect(
    redirect_uri: &str,
    mode: Mode,
    state: Option<&str>,
    error: &OAuthError,
) -> Response {
    let mut pairs = vec![("error", error.error)];
    let description = crate::mock::html::sanitize(&error.description);
    if !description.is_empty() {
        pairs.push(("error_description", description.as_str()));
    }
    if let Some(state) = state {
        pairs.push(("state", state));
    }
    redirect_with(redirect_uri, mode, &pairs)
}

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

/// Step 2: everything after the client and redirect URI are known good.
fn validate(
    shared: &Shared,
    client: &Client,
    params: &Params,
) -> Result<(Mode, Vec<String>, Option<String>), OAuthError> {
    let response_type = params
        .get("response_type")
        .ok_or_else(|| OAuthError::invalid_request("missing parameter `response_type`"))?;
    let (mode, grant) = match response_type {
        "code" => (Mode::Query, Grant::AuthorizationCode),
        "token" => (Mode::Fragment, Grant::Implicit),
        _ => {
            return Err(OAuthError {
                error: "unsupported_response_type",
                ..OAuthError::invalid_request("response_type must be `code` or `token`")
            });
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
    Ok((mode, scopes, code_challenge))
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
    let (mode, scopes, code_challenge) = match validate(&shared, &client, &params) {
        Ok(valid) => valid,
        Err(err) => return error_redirect(&redirect_uri, mode_guess, state, &err),
    };
    let Some(session) = shared.session(&headers) else {
        // Not signed in: the hosted sign-in page, with the very same (valid) query.
        let query = query.unwrap_or_default();
        return redirect(&format!("{}?{query}", shared.url("/login")));
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
        store.codes.retain(|_, c| c.expires_at > now);
        let lifetime = store.config.lifetimes.authorization_code;
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
                expires_at: now + lifetime,
            },
        );
    }
    let mut pairs = vec![("code", code.as_str())];
    if let Some(state) = state {
        pairs.push(("state", state));
    }
    redirect_with(&request.redirect_uri, Mode::Query, &pairs)
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
            return error_redirect(&request.redirect_uri, Mode::Fragment, state, &err);
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
            },
        )
    };
    let tokens = match minted {
        Ok(tokens) => tokens,
        Err(e) => {
            let err = OAuthError::server_error(e.to_string());
            return error_redirect(&request.redirect_uri, Mode::Fragment, state, &err);
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
    redirect_with(&request.redirect_uri, Mode::Fragment, &pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_everything_but_unreserved() {
        assert_eq!(encode("a b&c=d+e#f/é~"), "a%20b%26c%3Dd%2Be%23f%2F%C3%A9~");
    }

    #[test]
    fn challenges_are_base64url_of_the_right_length() {
        assert!(valid_challenge(&"a".repeat(43)));
        assert!(!valid_challenge(&"a".repeat(42)));
        assert!(!valid_challenge(&"a".repeat(129)));
        assert!(!valid_challenge(&format!("{}=", "a".repeat(43))));
        assert!(!valid_challenge(&format!("{}+", "a".repeat(43))));
    }
}
