//! Rendering a rejection: RFC 6750 §3 (and RFC 9449 §7.1 for DPoP) for HTTP, a trailers-only
//! response for gRPC.

use std::fmt;
use std::fmt::Write as _;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, Request, Response, StatusCode, Version};

use crate::error::{AuthError, AuthErrorKind, ErrorCode};
use crate::layer::ResponseBody;
use crate::token::Scheme;

type CustomBody = dyn Fn(&AuthError) -> (HeaderValue, Bytes) + Send + Sync;

/// What the body of an HTTP rejection holds. The status and `WWW-Authenticate` header are
/// the same whatever the body.
#[derive(Clone, Default)]
pub enum ErrorBody {
    /// `{"error": "…", "error_description": "…"}` as `application/json`. The default.
    #[default]
    Json,
    /// No body.
    Empty,
    /// A body of your own: its content type and bytes.
    Custom(Arc<CustomBody>),
}

impl ErrorBody {
    /// A body built by `render` from the error.
    ///
    /// ```
    /// use http::HeaderValue;
    /// use tokengate::ErrorBody;
    ///
    /// let body = ErrorBody::custom(|err| {
    ///     (HeaderValue::from_static("text/plain"), err.description().into())
    /// });
    /// # let _ = body;
    /// ```
    pub fn custom<F>(render: F) -> Self
    where
        F: Fn(&AuthError) -> (HeaderValue, Bytes) + Send + Sync + 'static,
    {
        Self::Custom(Arc::new(render))
    }
}

impl fmt::Debug for ErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Json => f.write_str("Json"),
            Self::Empty => f.write_str("Empty"),
            Self::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

/// How the layer answers a refused request; shared with the per-route requirements.
#[derive(Clone, Debug)]
pub(crate) struct Responder {
    pub(crate) realm: Option<Box<str>>,
    pub(crate) resource_metadata: Option<Box<str>>,
    pub(crate) body: ErrorBody,
    /// The schemes challenged, with DPoP's `algs` (RFC 9449 §7.1).
    pub(crate) schemes: Schemes,
    /// How the refused request presented its token, when known: its scheme's challenge
    /// carries the error (RFC 9449 §7.2); unknown, every challenge does.
    pub(crate) attempt: Option<Scheme>,
}

/// The authentication schemes a layer challenges with.
#[derive(Clone, Debug, Default)]
pub(crate) enum Schemes {
    /// `Bearer` only: no DPoP configured.
    #[default]
    Bearer,
    /// `Bearer` and `DPoP algs="…"`.
    Both { algs: Box<str> },
    /// `DPoP algs="…"` only.
    Dpop { algs: Box<str> },
}

impl Default for Responder {
    fn default() -> Self {
        Self {
            realm: Some("api".into()),
            resource_metadata: None,
            body: ErrorBody::Json,
            schemes: Schemes::Bearer,
            attempt: None,
        }
    }
}

/// The scheme whose challenge a refusal belongs to whatever was attempted: DPoP's own errors
/// to DPoP, a DPoP-bound token sent as bearer to Bearer.
const fn scheme_of(kind: AuthErrorKind) -> Option<Scheme> {
    match kind {
        AuthErrorKind::DpopBoundTokenAsBearer => Some(Scheme::Bearer),
        AuthErrorKind::DpopKeyMismatch | AuthErrorKind::DpopTokenUnbound => Some(Scheme::Dpop),
        _ => match kind.code() {
            Some(ErrorCode::InvalidDpopProof | ErrorCode::UseDpopNonce) => Some(Scheme::Dpop),
            _ => None,
        },
    }
}

/// Whether a request is answered the gRPC way (trailers-only, `grpc-status`): gRPC proper
/// (`application/grpc`, `application/grpc+…`) over HTTP/2, the only transport gRPC defines,
/// or gRPC-Web (`application/grpc-web`, `application/grpc-web-text`, each with an optional
/// `+…`) over any HTTP version. Anything else, an HTTP/1.1 request claiming
/// `application/grpc` included, gets its HTTP status: a 200 carrying `grpc-status: 16` would
/// read as success to a client or proxy that does not speak gRPC.
pub(crate) fn is_grpc<B>(request: &Request<B>) -> bool {
    let Some(content_type) = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    match grpc_flavour(content_type) {
        Some(Flavour::Grpc) => request.version() == Version::HTTP_2,
        Some(Flavour::Web) => true,
        None => false,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flavour {
    Grpc,
    Web,
}

/// The kind of gRPC a content type names, parameters ignored, case-insensitive.
fn grpc_flavour(content_type: &str) -> Option<Flavour> {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    // The message format after `+` (`proto`, `json`, …) does not matter here.
    let base = essence.split('+').next().unwrap_or_default();
    let is = |name: &str| base.eq_ignore_ascii_case(name);
    if is("application/grpc") {
        Some(Flavour::Grpc)
    } else if is("application/grpc-web") || is("application/grpc-web-text") {
        Some(Flavour::Web)
    } else {
        None
    }
}

/// The gRPC status code for a refusal: UNAUTHENTICATED, PERMISSION_DENIED or UNAVAILABLE.
pub(crate) const fn grpc_code(kind: AuthErrorKind) -> u16 {
    match kind {
        AuthErrorKind::InsufficientScope => 7,
        AuthErrorKind::KeysUnavailable
        | AuthErrorKind::IntrospectionUnavailable
        | AuthErrorKind::ReplayStoreUnavailable => 14,
        _ => 16,
    }
}

/// Appends `name="value"` to the challenge that starts at `start` of `challenge`, escaping as
/// RFC 9110 §5.6.4 quoted-string requires.
fn param(challenge: &mut String, start: usize, name: &str, value: &str) {
    let sep = if challenge[start..].contains('=') {
        ", "
    } else {
        " "
    };
    let _ = write!(challenge, "{sep}{name}=\"");
    for c in value.chars() {
        if c == '"' || c == '\\' {
            challenge.push('\\');
        }
        challenge.push(c);
    }
    challenge.push('"');
}

fn json_escape(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
}

impl Responder {
    /// The `WWW-Authenticate` value for `err` (RFC 6750 §3, RFC 9728 §5.1): one challenge
    /// per accepted scheme (RFC 9449 §7.2), the error in the one the request attempted.
    pub(crate) fn challenge(&self, err: &AuthError, scope: Option<&str>) -> String {
        let (bearer, dpop_algs) = match &self.schemes {
            Schemes::Bearer => (true, None),
            Schemes::Both { algs } => (true, Some(&**algs)),
            Schemes::Dpop { algs } => (false, Some(&**algs)),
        };
        let blamed = scheme_of(err.kind()).or(self.attempt);
        let mut challenge = String::new();
        if bearer {
            self.push_challenge(&mut challenge, "Bearer", err, scope, None, blamed);
        }
        if let Some(algs) = dpop_algs {
            if !challenge.is_empty() {
                challenge.push_str(", ");
            }
            self.push_challenge(&mut challenge, "DPoP", err, scope, Some(algs), blamed);
        }
        challenge
    }

    fn push_challenge(
        &self,
        out: &mut String,
        scheme_name: &str,
        err: &AuthError,
        scope: Option<&str>,
        algs: Option<&str>,
        blamed: Option<Scheme>,
    ) {
        let start = out.len();
        out.push_str(scheme_name);
        let this = if algs.is_some() {
            Scheme::Dpop
        } else {
            Scheme::Bearer
        };
        let carries_error = blamed.is_none_or(|b| b == this);
        if let Some(realm) = &self.realm {
            param(out, start, "realm", realm);
        }
        if carries_error && let Some(code) = err.code() {
            param(out, start, "error", code.as_str());
            param(out, start, "error_description", err.description());
        }
        if carries_error && let Some(scope) = scope {
            param(out, start, "scope", scope);
        }
        if let Some(algs) = algs {
            param(out, start, "algs", algs);
        }
        if let Some(url) = &self.resource_metadata {
            param(out, start, "resource_metadata", url);
        }
    }

    /// The response to a refused request, with the inner service's body type.
    pub(crate) fn respond<B>(
        &self,
        err: &AuthError,
        scope: Option<&str>,
        grpc: bool,
    ) -> Response<ResponseBody<B>> {
        self.render(err, scope, grpc).map(ResponseBody::rejection)
    }

    /// The response to a refused request.
    pub(crate) fn render(
        &self,
        err: &AuthError,
        scope: Option<&str>,
        grpc: bool,
    ) -> Response<Bytes> {
        tracing::debug!(
            target: "tokengate",
            reason = ?err.kind(),
            claim = err.claim_name(),
            status = err.status(),
            grpc,
            "request refused"
        );
        if grpc {
            let mut response = grpc_response(grpc_code(err.kind()), err.description());
            if let Some(seconds) = err.retry_after() {
                // gRPC's retry throttling hint, the counterpart of HTTP's Retry-After.
                response.headers_mut().insert(
                    "grpc-retry-pushback-ms",
                    HeaderValue::from(seconds.saturating_mul(1000)),
                );
            }
            return response;
        }
        let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::UNAUTHORIZED);
        let (content_type, body) = match &self.body {
            ErrorBody::Empty => (None, Bytes::new()),
            ErrorBody::Json => {
                let code = err.code().map_or(
                    if err.status() == 503 {
                        "temporarily_unavailable"
                    } else {
                        "unauthorized"
                    },
                    |c| c.as_str(),
                );
                let mut json = String::from("{\"error\":\"");
                json_escape(&mut json, code);
                json.push_str("\",\"error_description\":\"");
                json_escape(&mut json, err.description());
                json.push_str("\"}");
                (
                    Some(HeaderValue::from_static("application/json")),
                    Bytes::from(json),
                )
            }
            ErrorBody::Custom(render) => {
                let (content_type, body) = render(err);
                (Some(content_type), body)
            }
        };
        let mut response = Response::new(body);
        *response.status_mut() = status;
        let headers = response.headers_mut();
        if let Some(content_type) = content_type {
            headers.insert(CONTENT_TYPE, content_type);
        }
        if err.status() == 503 {
            let seconds = err.retry_after().unwrap_or(1);
            headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
        } else if let Ok(value) = HeaderValue::from_str(&self.challenge(err, scope)) {
            headers.insert(WWW_AUTHENTICATE, value);
        }
        response
    }
}

/// A trailers-only gRPC response (HTTP 200, `grpc-status` and `grpc-message` in the headers).
pub(crate) fn grpc_response(code: u16, message: &str) -> Response<Bytes> {
    let mut response = Response::new(Bytes::new());
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    headers.insert("grpc-status", HeaderValue::from(code));
    // gRPC over HTTP/2: grpc-message is percent-encoded; the descriptions are printable ASCII.
    let mut encoded = String::with_capacity(message.len());
    for b in message.bytes() {
        if (0x20..0x7f).contains(&b) && b != b'%' {
            encoded.push(b as char);
        } else {
            let _ = write!(encoded, "%{b:02X}");
        }
    }
    if let Ok(value) = HeaderValue::from_str(&encoded) {
        headers.insert("grpc-message", value);
    }
    response
}

/// The answer when a per-route requirement or an extractor finds no trace of the layer: a
/// server misconfiguration, not the client's fault.
pub(crate) fn missing_layer(grpc: bool, what: &str) -> Response<Bytes> {
    tracing::error!(target: "tokengate", "{what} found no claims: add tokengate's JwtAuthLayer in front of it");
    let message = "missing JwtAuthLayer: add tokengate's JwtAuthLayer in front of this route";
    if grpc {
        return grpc_response(13, message);
    }
    let mut response = Response::new(Bytes::from_static(message.as_bytes()));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(version: Version, content_type: &str) -> Request<()> {
        let mut request = Request::new(());
        *request.version_mut() = version;
        request.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_str(content_type).expect("header"),
        );
        request
    }

    #[test]
    fn grpc_proper_only_over_http2() {
        for content_type in [
            "application/grpc",
            "application/grpc+proto",
            "Application/GRPC; x=y",
        ] {
            assert!(
                is_grpc(&request(Version::HTTP_2, content_type)),
                "{content_type}"
            );
            assert!(
                !is_grpc(&request(Version::HTTP_11, content_type)),
                "{content_type}"
            );
        }
    }

    #[test]
    fn grpc_web_over_any_version() {
        for content_type in [
            "application/grpc-web",
            "application/grpc-web+proto",
            "application/grpc-web-text",
            "application/grpc-web-text+proto; charset=utf-8",
        ] {
            assert!(
                is_grpc(&request(Version::HTTP_11, content_type)),
                "{content_type}"
            );
            assert!(
                is_grpc(&request(Version::HTTP_2, content_type)),
                "{content_type}"
            );
        }
    }

    #[test]
    fn other_content_types_are_not_grpc() {
        for content_type in [
            "application/json",
            "application/grpcx",
            "application/grpc-webx",
            "application/grpc-web-textual",
            "text/grpc",
            "",
        ] {
            assert!(
                !is_grpc(&request(Version::HTTP_2, content_type)),
                "{content_type}"
            );
        }
        assert!(!is_grpc(&Request::new(())));
    }
}
