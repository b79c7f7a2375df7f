//! `GET /logout`, as Cognito's: ends the hosted UI session, then either
//! - `client_id` + `logout_uri` (one of the client's registered sign-out URLs, exact match):
//!   302 there; or
//! - `client_id` + `redirect_uri` (registered) + `response_type` (`code` | `token`): 302 to
//!   `/login` with the same query, to sign in again.
//!
//! Anything else (unknown client, unregistered URL, both or neither form, a malformed query)
//! is a 400 page, the session untouched, and never a redirect. As in Cognito, signing out
//! ends the browser session only: tokens already issued stay valid until they expire or are
//! revoked at `/oauth2/revoke`.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;

use crate::mock::Shared;
use crate::mock::form::Params;
use crate::mock::html::error_page;
use crate::mock::redirect;

/// Where the browser goes after signing out, or why it may not.
fn target(shared: &Shared, params: &Params, query: &str) -> Result<String, String> {
    let client_id = params
        .get("client_id")
        .ok_or_else(|| "The sign-out request has no client_id.".to_owned())?;
    let state = shared.state();
    let client = state
        .client(client_id)
        .ok_or_else(|| format!("There is no client `{client_id}`."))?;
    match (params.get("logout_uri"), params.get("redirect_uri")) {
        (Some(_), Some(_)) => Err("Give logout_uri or redirect_uri, not both.".to_owned()),
        (Some(logout_uri), None) => {
            if client.logout_uris.iter().any(|u| u == logout_uri) {
                Ok(logout_uri.to_owned())
            } else {
                Err(format!(
                    "The logout_uri `{logout_uri}` is not registered for this client."
                ))
            }
        }
        (None, Some(redirect_uri)) => {
            if !client.redirect_uris.iter().any(|u| u == redirect_uri) {
                return Err(format!(
                    "The redirect_uri `{redirect_uri}` is not registered for this client."
                ));
            }
            match params.get("response_type") {
                Some("code" | "token") => Ok(format!("{}?{query}", shared.url("/login"))),
                Some(_) => Err("response_type must be `code` or `token`.".to_owned()),
                None => Err("The sign-out request has no response_type.".to_owned()),
            }
        }
        (None, None) => {
            Err("The sign-out request needs a logout_uri or a redirect_uri.".to_owned())
        }
    }
}

/// `GET /logout`.
pub(crate) async fn logout(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    let params = match Params::parse(&query) {
        Ok(params) => params,
        Err(err) => return error_page(StatusCode::BAD_REQUEST, &err.description),
    };
    let location = match target(&shared, &params, &query) {
        Ok(location) => location,
        Err(message) => return error_page(StatusCode::BAD_REQUEST, &message),
    };
    let cookie = shared.end_session(&headers);
    let mut response = redirect::found(&location);
    if response.status() == StatusCode::FOUND
        && let Ok(value) = HeaderValue::from_str(&cookie)
    {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    response
}
