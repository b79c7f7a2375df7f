//! The mock's two kinds of refusal: [`OAuthError`], what the OAuth endpoints answer
//! (RFC 6749 §5.2, RFC 8628 §3.5, RFC 7009 §2.2.1), and [`ApiError`], why the test API (and
//! the admin API over it) refused a change.

use std::fmt;

use axum::http::header::WWW_AUTHENTICATE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::{Error, ErrorKind};
use crate::mock::json;

/// Keeps only printable ASCII of a value echoed in an error description (RFC 6749 §5.2:
/// `error_description` is `%x20-21 / %x23-5B / %x5D-7E`), shortened.
pub(crate) fn sanitize(text: &str) -> String {
    text.chars()
        .filter(|c| matches!(*c as u32, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E))
        .take(64)
        .collect()
}

/// An OAuth error: its code, a description, its status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OAuthError {
    pub(crate) status: StatusCode,
    pub(crate) error: &'static str,
    pub(crate) description: String,
    /// Whether the client authenticated with HTTP Basic (then 401 carries a Basic challenge).
    pub(crate) basic_challenge: bool,
}

impl OAuthError {
    /// An error of any code, for the few an endpoint uses alone (`invalid_target`,
    /// `temporarily_unavailable`, `unsupported_response_type`).
    pub(crate) fn new(
        status: StatusCode,
        error: &'static str,
        description: impl Into<String>,
    ) -> Self {
        Self {
            status,
            error,
            description: description.into(),
            basic_challenge: false,
        }
    }

    pub(crate) fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// RFC 6749 §5.2: 401 when the client tried HTTP Basic, else 400.
    pub(crate) fn invalid_client(basic: bool) -> Self {
        let status = if basic {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::BAD_REQUEST
        };
        Self {
            basic_challenge: basic,
            ..Self::new(status, "invalid_client", "client authentication failed")
        }
    }

    pub(crate) fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
    }

    pub(crate) fn unauthorized_client(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "unauthorized_client", description)
    }

    pub(crate) fn unsupported_grant_type() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "the grant type is not supported",
        )
    }

    pub(crate) fn invalid_scope(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_scope", description)
    }

    pub(crate) fn unsupported_token_type() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "unsupported_token_type",
            "only refresh tokens can be revoked",
        )
    }

    /// The request body is over the limit (413), as an OAuth error.
    pub(crate) fn payload_too_large(description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            description,
        )
    }

    /// Something failed on the server's side (signing); never a client's mistake.
    pub(crate) fn server_error(description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            description,
        )
    }

    /// RFC 8628 §3.5 errors of the device grant: `authorization_pending`, `slow_down`,
    /// `access_denied`, `expired_token`.
    pub(crate) fn device(error: &'static str, description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, error, description)
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({"error": self.error, "error_description": self.description});
        let mut response = json::json(self.status, &body);
        let headers = response.headers_mut();
        json::no_store(headers);
        if self.basic_challenge {
            headers.insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"tokengate-mock\""),
            );
        }
        response
    }
}

/// Why the test API refused: something named does not exist (the admin API's 404), or the
/// request cannot be done (400), or the mock failed (500, never the caller's fault).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ApiError {
    /// A user, key or user code that does not exist.
    NotFound(String),
    /// A change that cannot be made as asked.
    Invalid(String),
    /// Key generation or signing failed.
    Internal(String),
}

impl ApiError {
    /// The reason, as the admin API's `error_description` and the Rust API's message.
    pub(crate) fn message(&self) -> &str {
        match self {
            Self::NotFound(m) | Self::Invalid(m) | Self::Internal(m) => m,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl From<ApiError> for Error {
    fn from(err: ApiError) -> Self {
        Self::new(ErrorKind::Config(err.message().to_owned()))
    }
}

impl From<Error> for ApiError {
    /// Errors of key generation and signing: the mock's own failures.
    fn from(err: Error) -> Self {
        match err.kind() {
            ErrorKind::Config(reason) => Self::Internal(reason.clone()),
            other => Self::Internal(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_drops_quotes_backslashes_and_control_characters() {
        assert_eq!(sanitize("a\"b\\c\nd"), "abcd");
    }
}
