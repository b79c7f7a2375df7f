//! `GET|POST /oauth2/userInfo` (OIDC Core §5.3, as Cognito runs it).
//!
//! - The access token comes in `Authorization: Bearer …` only (as Cognito; never in the body
//!   or query). No header: 401 with a bare `Bearer realm` challenge (RFC 6750 §3.1); a
//!   malformed header (another scheme, two headers): 400 `invalid_request`.
//! - A token that does not validate now (signature, issuer, expiry, revoked sign-in, the user
//!   since deleted): 401 `invalid_token`.
//! - A token without `openid`: 401 `invalid_token`, as Cognito answers (not RFC 6750's 403
//!   `insufficient_scope`).
//! - Otherwise the user's attributes filtered by the token's scopes (`email` → `email`,
//!   `email_verified`; `phone` → `phone_number`, `phone_number_verified`; `profile` → the
//!   other attributes), `sub` always, plus `username` (the token's). The verified flags are
//!   the strings `"true"`/`"false"`, as Cognito writes them here (ID tokens carry booleans).
//!
//! Every refusal carries a `WWW-Authenticate: Bearer` challenge and a JSON error body.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::mock::claims::{Verified, user_attributes};
use crate::mock::{Shared, json, verify};

const REALM: &str = "tokengate-mock";

/// A refusal of the userInfo endpoint (RFC 6750 §3).
#[derive(Clone, Debug, PartialEq, Eq)]
struct BearerError {
    status: StatusCode,
    /// `None` when the request had no token at all (no error code then, RFC 6750 §3.1).
    error: Option<&'static str>,
    description: String,
}

impl BearerError {
    fn missing() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            error: None,
            description: "a bearer access token is required".into(),
        }
    }

    fn invalid_request(description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error: Some("invalid_request"),
            description: description.into(),
        }
    }

    fn invalid_token(description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            error: Some("invalid_token"),
            description: description.into(),
        }
    }
}

/// A quoted-string value: no quotes, backslashes or control characters.
fn quotable(s: &str) -> String {
    s.chars()
        .filter(|c| *c != '"' && *c != '\\' && (' '..='~').contains(c))
        .collect()
}

impl IntoResponse for BearerError {
    fn into_response(self) -> Response {
        let mut challenge = format!("Bearer realm=\"{REALM}\"");
        if let Some(error) = self.error {
            challenge.push_str(&format!(
                ", error=\"{error}\", error_description=\"{}\"",
                quotable(&self.description)
            ));
        }
        let body = json!({
            "error": self.error.unwrap_or("invalid_token"),
            "error_description": self.description,
        });
        let mut response = json::json(self.status, &body);
        let headers = response.headers_mut();
        json::no_store(headers);
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            headers.insert(WWW_AUTHENTICATE, value);
        }
        response
    }
}

pub(crate) async fn userinfo(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    match handle(&shared, &headers).await {
        Ok(body) => {
            let mut response = json::json(StatusCode::OK, &body);
            json::no_store(response.headers_mut());
            response
        }
        Err(err) => err.into_response(),
    }
}

/// The bearer token of `Authorization`; `None` when there is no such header.
fn bearer(headers: &HeaderMap) -> Result<Option<&str>, BearerError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(BearerError::invalid_request(
            "more than one Authorization header",
        ));
    }
    let value = value
        .to_str()
        .map_err(|_| BearerError::invalid_request("the Authorization header is not text"))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
            let token = token.trim();
            if token.is_empty() {
                return Err(BearerError::invalid_request("the bearer token is empty"));
            }
            Ok(Some(token))
        }
        _ => Err(BearerError::invalid_request(
            "the Authorization header must use the Bearer scheme",
        )),
    }
}

async fn handle(shared: &Shared, headers: &HeaderMap) -> Result<Value, BearerError> {
    let token = bearer(headers)?.ok_or_else(BearerError::missing)?;
    let claims = verify::access_token(shared, token)
        .await
        .map_err(|e| BearerError::invalid_token(e.to_string()))?;
    let scopes: Vec<String> = claims.scopes().iter().map(str::to_owned).collect();
    if !scopes.iter().any(|s| s == "openid") {
        return Err(BearerError::invalid_token(
            "the access token lacks the `openid` scope",
        ));
    }
    let username = claims
        .username()
        .ok_or_else(|| BearerError::invalid_token("the access token has no user"))?;
    let user = shared
        .state()
        .config
        .user_by_token_username(username)
        .cloned()
        .ok_or_else(|| BearerError::invalid_token("the user no longer exists"))?;
    let mut body = user_attributes(&user, Some(&scopes), Verified::Strings);
    body.insert("username".into(), json!(username));
    Ok(Value::Object(body))
}
