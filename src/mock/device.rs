//! The device authorization grant's user-facing half (RFC 8628): the device authorization
//! endpoint (§3.1–3.2) and the `/device` verification page (§3.3) where a signed-in user
//! enters the user code and approves or denies the device. The token endpoint's half (polling)
//! is in `grants::device`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use crate::mock::authorize::{encode, redirect};
use crate::mock::config::Grant;
use crate::mock::discovery::oauth_json;
use crate::mock::error::OAuthError;
use crate::mock::form::Params;
use crate::mock::html::escape;
use crate::mock::keys::new_id;
use crate::mock::login::html_response;
use crate::mock::store::{DeviceDecision, DeviceRecord};
use crate::mock::{Shared, client_auth, scopes};

/// User-code letters: no vowels (no words), no look-alikes (RFC 8628 §6.1).
const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";

/// Letters in a user code (shown as `XXXX-XXXX`): 20^8 ≈ 2^34.5 codes.
const USER_CODE_LEN: usize = 8;

/// The CSRF field of the `/device` form.
const CSRF_FIELD: &str = "csrf";

/// A fresh user code, `XXXX-XXXX`, letters drawn uniformly (rejection sampling).
fn new_user_code() -> String {
    let mut letters = Vec::with_capacity(USER_CODE_LEN);
    let limit = 256 - 256 % USER_CODE_ALPHABET.len();
    while letters.len() < USER_CODE_LEN {
        let mut buf = [0u8; 16];
        let _ = aws_lc_rs::rand::fill(&mut buf);
        for b in buf {
            if usize::from(b) < limit && letters.len() < USER_CODE_LEN {
                letters.push(USER_CODE_ALPHABET[usize::from(b) % USER_CODE_ALPHABET.len()]);
            }
        }
    }
    let (a, b) = letters.split_at(USER_CODE_LEN / 2);
    format!(
        "{}-{}",
        String::from_utf8_lossy(a),
        String::from_utf8_lossy(b)
    )
}

/// A user code as typed (any case, with or without the dash or spaces) in its stored form.
/// Input that cannot be a user code is returned as is: it matches nothing.
pub(crate) fn normalize_user_code(input: &str) -> String {
    let letters: String = input
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\t'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if letters.len() == USER_CODE_LEN && letters.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)) {
        let (a, b) = letters.split_at(USER_CODE_LEN / 2);
        format!("{a}-{b}")
    } else {
        input.trim().to_owned()
    }
}

// ---------------------------------------------------------------------------------------------
// POST /oauth2/device_authorization
// ---------------------------------------------------------------------------------------------

/// RFC 8628 §3.1–3.2: a device asks for a device code and a user code.
pub(crate) async fn device_authorization(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    oauth_json(authorize_device(&shared, &headers, &body))
}

fn authorize_device(
    shared: &Shared,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, OAuthError> {
    let params = Params::from_form(headers, body)?;
    let now = shared.now();
    let mut state = shared.state();
    let client = client_auth::authenticate(&state, headers, &params)?;
    if !client.allows(Grant::DeviceCode) {
        return Err(OAuthError::unauthorized_client(
            "the client may not use the device authorization grant",
        ));
    }
    let scopes = scopes::resolve(&state, &client, params.get("scope"), false)?;
    let lifetimes = state.config.lifetimes.clone();
    // Forget codes long expired; recently expired ones stay, so polls hear `expired_token`.
    state
        .devices
        .retain(|_, d| d.expires_at.saturating_add(lifetimes.device_code) > now);
    let user_code = loop {
        let code = new_user_code();
        if !state.devices.values().any(|d| d.user_code == code) {
            break code;
        }
    };
    let device_code = format!("{}{}", new_id(), new_id());
    state.devices.insert(
        device_code.clone(),
        DeviceRecord {
            client_id: client.id.clone(),
            user_code: user_code.clone(),
            scopes,
            expires_at: now + lifetimes.device_code,
            interval: lifetimes.device_interval,
            last_poll: None,
            decision: DeviceDecision::Pending,
        },
    );
    drop(state);
    let verification_uri = shared.url("/device");
    Ok(json!({
        "device_code": device_code,
        "user_code": user_code,
        "verification_uri": verification_uri,
        "verification_uri_complete":
            format!("{verification_uri}?user_code={}", encode(&user_code)),
        "expires_in": lifetimes.device_code,
        "interval": lifetimes.device_interval,
    }))
}

// ---------------------------------------------------------------------------------------------
// GET and POST /device
// ---------------------------------------------------------------------------------------------

fn error_page(message: &str) -> Response {
    html_response(
        StatusCode::BAD_REQUEST,
        "Device sign-in",
        &format!("<p class=\"error\">{}</p>", escape(message)),
    )
}

/// 302 to the sign-in page, which comes back to `/device` (with the user code) afterwards.
fn to_login(shared: &Shared, user_code: Option<&str>) -> Response {
    let next = match user_code {
        Some(code) => format!("/device?user_code={}", encode(code)),
        None => "/device".to_owned(),
    };
    redirect(&shared.url(&format!("/login?next={}", encode(&next))))
}

/// The form: who is signed in, what the code asks for (when it is known), the code field,
/// Approve and Deny. Everything interpolated is escaped.
fn form(shared: &Shared, username: &str, user_code: &str, error: Option<&str>) -> String {
    let csrf = shared.csrf_token();
    let now = shared.now();
    let request = (!user_code.is_empty())
        .then(|| normalize_user_code(user_code))
        .and_then(|code| {
            let state = shared.state();
            state
                .devices
                .values()
                .find(|d| {
                    d.user_code == code
                        && d.expires_at > now
                        && d.decision == DeviceDecision::Pending
                })
                .map(|d| (d.client_id.clone(), d.scopes.join(" ")))
        });
    let mut body = String::new();
    if let Some(error) = error {
        body.push_str(&format!("<p class=\"error\">{}</p>", escape(error)));
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
        "<form method=\"post\" action=\"/device\">\
         <input type=\"hidden\" name=\"{CSRF_FIELD}\" value=\"{}\">\
         <label for=\"user_code\">Code</label>\
         <input id=\"user_code\" name=\"user_code\" value=\"{}\" autocomplete=\"off\" \
         autocapitalize=\"characters\" spellcheck=\"false\" required>\
         <button type=\"submit\" name=\"action\" value=\"approve\">Approve</button>\
         <button type=\"submit\" name=\"action\" value=\"deny\">Deny</button>\
         </form>",
        escape(&csrf),
        escape(user_code)
    ));
    body
}

/// `GET /device`: the verification page (RFC 8628 §3.3), behind the hosted sign-in.
pub(crate) async fn page(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = match Params::from_query(query.as_deref()) {
        Ok(params) => params,
        Err(err) => return error_page(&err.description),
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
    html_response(StatusCode::OK, "Device sign-in", &body)
}

/// `POST /device`: the user's decision.
pub(crate) async fn submit(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = match Params::from_form(&headers, &body) {
        Ok(params) => params,
        Err(err) => return error_page(&err.description),
    };
    if !params
        .get(CSRF_FIELD)
        .is_some_and(|token| shared.consume_csrf(token))
    {
        return error_page("The form has expired or was not sent by this page. Reload it.");
    }
    let user_code = params.get("user_code");
    let Some(session) = shared.session(&headers) else {
        return to_login(&shared, user_code);
    };
    let retry = |message: &str| {
        html_response(
            StatusCode::BAD_REQUEST,
            "Device sign-in",
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
    let decided = shared
        .state()
        .decide_device(&normalize_user_code(code), now, decision);
    if let Err(err) = decided {
        let reason = match err.kind() {
            crate::error::ErrorKind::Config(reason) => reason.clone(),
            other => other.to_string(),
        };
        return retry(&format!("This code cannot be used: {reason}."));
    }
    let message = if approved {
        "<p>Device approved. You may return to your device.</p>"
    } else {
        "<p>Request denied. You may return to your device.</p>"
    };
    html_response(StatusCode::OK, "Device sign-in", message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_have_the_documented_shape() {
        for _ in 0..200 {
            let code = new_user_code();
            assert_eq!(code.len(), 9);
            assert_eq!(&code[4..5], "-");
            assert!(
                code.bytes()
                    .filter(|b| *b != b'-')
                    .all(|b| USER_CODE_ALPHABET.contains(&b))
            );
        }
    }

    #[test]
    fn user_codes_are_matched_ignoring_case_dash_and_spaces() {
        assert_eq!(normalize_user_code("bcdf-ghjk"), "BCDF-GHJK");
        assert_eq!(normalize_user_code("bcdfghjk"), "BCDF-GHJK");
        assert_eq!(normalize_user_code(" BCDF GHJK "), "BCDF-GHJK");
        // Not a user code: left alone, it matches nothing.
        assert_eq!(normalize_user_code("AEIO-UAEI"), "AEIO-UAEI");
    }

    #[test]
    fn percent_encoding_keeps_only_unreserved_characters() {
        assert_eq!(
            encode("/device?user_code=AB CD&x"),
            "%2Fdevice%3Fuser_code%3DAB%20CD%26x"
        );
    }
}
