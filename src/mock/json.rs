//! The mock's JSON answers: plain documents (discovery, the key set, the admin API) and the
//! OAuth endpoints' answers, which are never cached (RFC 6749 §5.1) whether they carry tokens
//! or an error.

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, PRAGMA};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::mock::error::OAuthError;

/// `body` as `application/json` with `status`.
pub(crate) fn json(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Marks an answer as never to be stored (`Cache-Control: no-store`, `Pragma: no-cache`).
pub(crate) fn no_store(headers: &mut HeaderMap) {
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
}

/// An OAuth endpoint's answer: 200 with the body, or the error; never cached.
pub(crate) fn oauth(result: Result<Value, OAuthError>) -> Response {
    match result {
        Ok(body) => {
            let mut response = json(StatusCode::OK, &body);
            no_store(response.headers_mut());
            response
        }
        Err(err) => err.into_response(),
    }
}

/// An OAuth endpoint's answer without a body (revocation, RFC 7009 §2.2): 200, or the error.
pub(crate) fn oauth_empty(result: Result<(), OAuthError>) -> Response {
    match result {
        Ok(()) => {
            let mut response = StatusCode::OK.into_response();
            no_store(response.headers_mut());
            response
        }
        Err(err) => err.into_response(),
    }
}
