//! The device verification page, `/device` (RFC 8628 §3.3): a signed-in user enters the user
//! code a device shows and approves or denies it. Without a session, the hosted sign-in page
//! comes first and brings the user back here.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use crate::mock::form::Params;
use crate::mock::html::{self, escape};
use crate::mock::redirect::{self, encode};
use crate::mock::store::DeviceDecision;
use crate::mock::{Shared, user_code};

/// The page's title.
const TITLE: &str = "Device sign-in";

/// The CSRF field of the `/device` form.
const CSRF_FIELD: &str = "csrf";

/// 302 to the sign-in page, which comes back to `/device` (with the user code) afterwards.
fn to_login(shared: &Shared, user_code: Option<&str>) -> Response {
    let next = match user_code {
        Some(code) => format!("/device?user_code={}", encode(code)),
        None => "/device".to_owned(),
    };
    redirect::found(&shared.url(&format!("/login?next={}", encode(&next))))
}

/// The form: who is signed in, what the code asks for (when it is known), the code field,
/// Approve and Deny. Everything interpolated is escaped.
fn form(shared: &Shared, username: &str, typed_code: &str, error: Option<&str>) -> String {
    let csrf = shared.csrf_token();
    let now = shared.now();
    let request = user_code::normalize(typed_code).and_then(|code| {
        let state = shared.state();
        state
            .device_by_user_code(&code)
            .filter(|d| d.expires_at > now && d.decision == DeviceDecision::Pending)
            .map(|d| (d.client_id.clone(), d.scopes.join(" ")))
    });
    let mut body = String::new();
    if let Some(error) = error {
        body.push_str(&html::error_paragraph(error));
    }
    body.push_str(&format!(
        "<p>Signed in as <strong>{}</strong>. Enter the code your device shows, and only if \
         you started this sign-in on that device, approve it.</p>",
        escape(username)
    ));
    if let Some((client_id, scopes)) = request {
        body.push_str(&format!(
            "<p>The app <strong>{}</strong> asks for: <code>{}</code></p>",
            escape(&client_id),
            escape(&scopes)
        ));
    }
    body.push_str(&format!(
        "<form method=\"post\" action=\"/device\">{}\
         <label for=\"user_code\">Code</label>\
         <input id=\"user_code\" name=\"user_code\" value=\"{}\" autocomplete=\"off\" \
         autocapitalize=\"characters\" spellcheck=\"false\" required>\
         <button type=\"submit\" name=\"action\" value=\"approve\">Approve</button>\
         <button type=\"submit\" name=\"action\" value=\"deny\">Deny</button>\
         </form>",
        html::hidden_input(CSRF_FIELD, &csrf),
        escape(typed_code)
    ));
    body
}

/// `GET /device`: the verification page, behind the hosted sign-in.
pub(crate) async fn page(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = match Params::from_query(query.as_deref()) {
        Ok(params) => params,
        Err(err) => return html::error_page(StatusCode::BAD_REQUEST, &err.description),
    };
    let user_code = params.get("user_code");
    let Some(session) = shared.session(&headers) else {
        return to_login(&shared, user_code);
    };
    let body = form(
        &shared,
        &session.username,
        user_code.unwrap_or_default(),
        None,
    );
    html::page(StatusCode::OK, TITLE, &body)
}

/// `POST /device`: the user's decision.
pub(crate) async fn submit(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = match Params::from_form(&headers, &body) {
        Ok(params) => params,
        Err(err) => return html::error_page(StatusCode::BAD_REQUEST, &err.description),
    };
    if !params
        .get(CSRF_FIELD)
        .is_some_and(|token| shared.consume_csrf(token))
    {
        return html::error_page(
            StatusCode::BAD_REQUEST,
            "The form has expired or was not sent by this page. Reload it.",
        );
    }
    let user_code = params.get("user_code");
    let Some(session) = shared.session(&headers) else {
        return to_login(&shared, user_code);
    };
    let retry = |message: &str| {
        html::page(
            StatusCode::BAD_REQUEST,
            TITLE,
            &form(
                &shared,
                &session.username,
                user_code.unwrap_or_default(),
                Some(message),
            ),
        )
    };
    let decision = match params.get("action") {
        Some("approve") => DeviceDecision::Approved {
            username: session.username.clone(),
            // When the user signed in: the access token's `auth_time`.
            auth_time: session.auth_time,
        },
        Some("deny") => DeviceDecision::Denied,
        _ => return retry("Choose Approve or Deny."),
    };
    let Some(code) = user_code else {
        return retry("Enter the code your device shows.");
    };
    let approved = matches!(decision, DeviceDecision::Approved { .. });
    let now = shared.now();
    let decided = shared.state().decide_device(code, now, decision);
    if let Err(err) = decided {
        return retry(&format!("This code cannot be used: {err}."));
    }
    let message = if approved {
        "<p>Device approved. You may return to your device.</p>"
    } else {
        "<p>Request denied. You may return to your device.</p>"
    };
    html::page(StatusCode::OK, TITLE, message)
}
