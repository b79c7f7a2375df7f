//! The hosted sign-in page: `GET /login` renders the form, `POST /login` signs the user in.
//!
//! The page is reached in three ways:
//! - from `/oauth2/authorize` without a session, with the authorization request's query: those
//!   parameters ride along as hidden fields and, once signed in, the browser goes back to
//!   `/oauth2/authorize` with them, which then issues the code or tokens;
//! - with `next`, a local path that must be `/device` or start with `/device?` (the device
//!   verification page sends users here): once signed in, the browser goes there. Nothing
//!   else is accepted in `next` (no open redirect);
//! - bare: once signed in, a page says so.
//!
//! Authorization parameters name a known client and one of its registered redirect URIs or
//! the page refuses (400), before any credential is asked. Every value shown is HTML-escaped.
//! The form carries a single-use CSRF token; a missing, unknown, used or expired one is a 400.
//! Wrong credentials are a 401 with the form again (fresh CSRF token) and no session.

use std::sync::Arc;

use aws_lc_rs::constant_time::verify_slices_are_equal;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;

use crate::mock::Shared;
use crate::mock::form::Params;
use crate::mock::html::{self, error_page, escape};
use crate::mock::redirect::{self, encode_pairs};

/// Fields of the form itself, never carried over to the authorization request; and `prompt`,
/// which the sign-in on this page has just answered (carried back, `prompt=login` would ask
/// again forever).
const FORM_FIELDS: [&str; 5] = ["csrf", "username", "password", "next", "prompt"];

/// Where the browser goes once signed in.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Destination {
    /// Back to `/oauth2/authorize` with these parameters (sorted by name).
    Authorize(Vec<(String, String)>),
    /// A local `/device` path.
    Next(String),
    /// Nowhere: a "signed in" page.
    Nowhere,
}

/// Whether `next` is a path of the device page: `/device` or `/device?…`, printable ASCII
/// without backslashes, so that it can only ever be a path of this server.
fn valid_next(next: &str) -> bool {
    (next == "/device" || next.starts_with("/device?"))
        && next
            .bytes()
            .all(|b| (0x21..0x7f).contains(&b) && b != b'\\')
}

/// The destination the parameters ask for, or the page refusing them.
fn destination(shared: &Shared, params: &Params) -> Result<Destination, String> {
    if let Some(next) = params.get("next") {
        if !valid_next(next) {
            return Err("`next` must be a path of this server's device page.".to_owned());
        }
        return Ok(Destination::Next(next.to_owned()));
    }
    let mut carried: Vec<(String, String)> = params
        .iter()
        .filter(|(name, value)| !FORM_FIELDS.contains(name) && !value.is_empty())
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
    if carried.is_empty() {
        return Ok(Destination::Nowhere);
    }
    carried.sort();
    let Some(client_id) = params.get("client_id") else {
        return Err("The sign-in request has no client_id.".to_owned());
    };
    let state = shared.state();
    let Some(client) = state.client(client_id) else {
        return Err(format!("There is no client `{client_id}`."));
    };
    let registered = params
        .get("redirect_uri")
        .is_some_and(|uri| client.redirect_uris.iter().any(|u| u == uri));
    if !registered {
        return Err("The redirect_uri is missing or not registered for this client.".to_owned());
    }
    Ok(Destination::Authorize(carried))
}

/// The sign-in form: a fresh CSRF token, the carried parameters as hidden fields.
fn form(
    shared: &Shared,
    status: StatusCode,
    destination: &Destination,
    username: &str,
    error: Option<&str>,
) -> Response {
    let csrf = shared.csrf_token();
    let mut body = String::new();
    if let Some(error) = error {
        body.push_str(&html::error_paragraph(error));
    }
    body.push_str("<form method=\"post\" action=\"/login\">");
    let hidden = html::hidden_input;
    body.push_str(&hidden("csrf", &csrf));
    match destination {
        Destination::Authorize(pairs) => {
            for (name, value) in pairs {
                body.push_str(&hidden(name, value));
            }
        }
        Destination::Next(next) => body.push_str(&hidden("next", next)),
        Destination::Nowhere => {}
    }
    body.push_str(&format!(
        "<label for=\"username\">User name</label>\
         <input id=\"username\" name=\"username\" autocomplete=\"username\" required \
         value=\"{}\">\
         <label for=\"password\">Password</label>\
         <input id=\"password\" name=\"password\" type=\"password\" \
         autocomplete=\"current-password\" required>\
         <button type=\"submit\">Sign in</button></form>",
        escape(username)
    ));
    html::page(status, "Sign in", &body)
}

/// `GET /login`.
pub(crate) async fn page(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Response {
    let params = match Params::from_query(query.as_deref()) {
        Ok(params) => params,
        Err(err) => return error_page(StatusCode::BAD_REQUEST, &err.description),
    };
    match destination(&shared, &params) {
        Ok(destination) => form(&shared, StatusCode::OK, &destination, "", None),
        Err(message) => error_page(StatusCode::BAD_REQUEST, &message),
    }
}

/// `POST /login`.
pub(crate) async fn submit(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = match Params::from_form(&headers, &body) {
        Ok(params) => params,
        Err(err) => return error_page(StatusCode::BAD_REQUEST, &err.description),
    };
    if !params.get("csrf").is_some_and(|t| shared.consume_csrf(t)) {
        return error_page(
            StatusCode::BAD_REQUEST,
            "The form expired or was already sent. Go back and sign in again.",
        );
    }
    let destination = match destination(&shared, &params) {
        Ok(destination) => destination,
        Err(message) => return error_page(StatusCode::BAD_REQUEST, &message),
    };
    let username = params.get("username").unwrap_or_default();
    let password = params.get("password").unwrap_or_default();
    // The pool's rules: any case unless case-sensitive, or the email or phone number in a
    // pool with username attributes. The session holds the user's configured name.
    let signed_in = {
        let state = shared.state();
        state
            .config
            .sign_in_user(username)
            .filter(|user| {
                verify_slices_are_equal(user.password.as_bytes(), password.as_bytes()).is_ok()
            })
            .map(|user| user.username.clone())
    };
    let Some(signed_in) = signed_in else {
        return form(
            &shared,
            StatusCode::UNAUTHORIZED,
            &destination,
            username,
            Some("Incorrect user name or password."),
        );
    };
    // A new session id on every sign-in (no fixation); the old one, if any, is dropped.
    let _ = shared.end_session(&headers);
    let cookie = shared.start_session(&signed_in);
    let mut response = match &destination {
        Destination::Authorize(pairs) => redirect::found(&format!(
            "{}?{}",
            shared.url("/oauth2/authorize"),
            encode_pairs(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())))
        )),
        Destination::Next(next) => redirect::found(&shared.url(next)),
        Destination::Nowhere => html::page(
            StatusCode::OK,
            "Signed in",
            &format!(
                "<p id=\"signed-in\">Signed in as {}.</p>",
                escape(&signed_in)
            ),
        ),
    };
    match HeaderValue::from_str(&cookie) {
        Ok(value) => {
            response.headers_mut().insert(SET_COOKIE, value);
        }
        Err(_) => {
            return error_page(StatusCode::INTERNAL_SERVER_ERROR, "Cannot set the session.");
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_only_the_device_page() {
        assert!(valid_next("/device"));
        assert!(valid_next("/device?user_code=ABCD-EFGH"));
        for bad in [
            "//evil.example/device",
            "https://evil.example/device",
            "/devices",
            "/device/../admin",
            "/device?x=\\evil",
            "/device?a=b c",
            "/login",
            "device",
        ] {
            assert!(!valid_next(bad), "{bad}");
        }
    }
}
