//! Who may use the admin API: the checks in front of every `/_admin` route, so a mock left
//! running on a laptop cannot be driven by the web pages its developer visits.
//!
//! 1. `Host` must name this server: `localhost`, an IP literal (`127.0.0.1`, `[::1]`, the
//!    address it is bound to), or the host of the advertised issuer, with any port. A DNS
//!    rebinding attack reaches the mock under the attacker's own name, so that name is
//!    refused (403). The port is not compared: a name an attacker controls is refused on
//!    every port, and port forwarding (`docker -p 8080:9000`) keeps working.
//! 2. `Origin`, when a browser sends one, must be one of this server's own origins (403): no
//!    other page may drive the admin API, even from `localhost`.
//! 3. With an admin token, `Authorization: Bearer <token>`, compared in constant time (401).
//! 4. Every request but `GET` and `HEAD` must be `Content-Type: application/json` (415), bodies
//!    or not: a web page can send `text/plain`, form and bodiless `POST`s cross-origin without
//!    a preflight (`fetch(…, {mode: "no-cors"})`), never `application/json`; and no CORS
//!    header is ever sent, so a preflight fails.

use std::net::IpAddr;
use std::sync::Arc;

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest::{SHA256, digest};
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, HOST, ORIGIN, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::json;

use crate::mock::error::sanitize;
use crate::mock::{Shared, json};

/// What the guard lets through.
#[derive(Clone, Debug)]
pub(crate) struct AdminGuard {
    /// Host names (lower case, IPv6 without brackets) besides IP literals and `localhost`.
    names: Vec<String>,
    /// The origins of this server (`http://localhost:PORT` …).
    origins: Vec<String>,
    /// SHA-256 of the admin token, if one is required.
    token: Option<Vec<u8>>,
}

/// The host of an `authority` (`host`, `host:port`, `[v6]`, `[v6]:port`), lower case, IPv6
/// without brackets; `None` when it is malformed.
fn host_of(authority: &str) -> Option<String> {
    let host = if let Some(rest) = authority.strip_prefix('[') {
        let (v6, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.starts_with(':')) {
            return None;
        }
        v6
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
            Some(_) => return None,
            None => authority,
        }
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// The authority of an `http(s)://authority/…` URL.
fn authority_of(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(&rest[..end])
}

impl AdminGuard {
    /// The guard of a server listening at `base` (`http://IP:PORT`) and advertising `issuer`.
    pub(crate) fn new(base: &str, issuer: &str, port: u16, token: Option<&str>) -> Self {
        let mut names = Vec::new();
        let mut origins: Vec<String> = ["localhost", "127.0.0.1", "[::1]"]
            .iter()
            .map(|host| format!("http://{host}:{port}"))
            .collect();
        for url in [base, issuer] {
            if let Some(authority) = authority_of(url) {
                if let Some(host) = host_of(authority) {
                    names.push(host);
                }
                if let Some(scheme_end) = url.find("://") {
                    origins
                        .push(format!("{}://{authority}", &url[..scheme_end]).to_ascii_lowercase());
                }
            }
        }
        Self {
            names,
            origins,
            token: token.map(|t| digest(&SHA256, t.as_bytes()).as_ref().to_vec()),
        }
    }

    fn host_allowed(&self, host: &str) -> bool {
        host == "localhost"
            || host.parse::<IpAddr>().is_ok()
            || self.names.iter().any(|n| n == host)
    }

    /// Why a request may not use the admin API, as the response that says so.
    fn refusal(&self, method: &Method, headers: &HeaderMap) -> Option<Response> {
        // 1. Host.
        let host = headers
            .get(HOST)
            .and_then(|v| v.to_str().ok())
            .and_then(host_of);
        if !host.as_deref().is_some_and(|h| self.host_allowed(h)) {
            let named = headers
                .get(HOST)
                .and_then(|v| v.to_str().ok())
                .map(sanitize)
                .unwrap_or_default();
            return Some(refuse(
                StatusCode::FORBIDDEN,
                "forbidden",
                &format!(
                    "the admin API answers only under this server's own names (localhost, an IP \
                     address or the issuer's host), not `{named}`"
                ),
            ));
        }
        // 2. Origin.
        if let Some(origin) = headers.get(ORIGIN) {
            let own = origin
                .to_str()
                .is_ok_and(|o| self.origins.iter().any(|x| x.eq_ignore_ascii_case(o)));
            if !own {
                return Some(refuse(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "the admin API does not answer requests from other web pages",
                ));
            }
        }
        // 3. The admin token.
        if let Some(expected) = &self.token {
            let presented = headers
                .get(AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split_once(' '))
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, token)| digest(&SHA256, token.trim().as_bytes()));
            let valid =
                presented.is_some_and(|p| verify_slices_are_equal(p.as_ref(), expected).is_ok());
            if !valid {
                let mut response = refuse(
                    StatusCode::UNAUTHORIZED,
                    "invalid_token",
                    "the admin API needs `Authorization: Bearer <admin token>`",
                );
                response.headers_mut().insert(
                    WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"tokengate-mock admin\""),
                );
                return Some(response);
            }
        }
        // 4. JSON only, for anything that may change something.
        if method != Method::GET && method != Method::HEAD {
            let json = headers
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(';').next())
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
            if !json {
                return Some(refuse(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "invalid_request",
                    "admin requests other than GET must be `Content-Type: application/json`",
                ));
            }
        }
        None
    }
}

fn refuse(status: StatusCode, error: &str, description: &str) -> Response {
    json::json(
        status,
        &json!({"error": error, "error_description": description}),
    )
}

/// The middleware in front of `/_admin`.
pub(crate) async fn guard(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    match shared.admin.refusal(request.method(), request.headers()) {
        Some(refusal) => refusal,
        None => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_read_with_or_without_port_and_brackets() {
        assert_eq!(host_of("LocalHost:9000").as_deref(), Some("localhost"));
        assert_eq!(host_of("127.0.0.1").as_deref(), Some("127.0.0.1"));
        assert_eq!(host_of("[::1]:9000").as_deref(), Some("::1"));
        assert_eq!(host_of("[::1]").as_deref(), Some("::1"));
        assert_eq!(
            host_of("evil.example:9000").as_deref(),
            Some("evil.example")
        );
        assert_eq!(host_of("[::1]x"), None);
        assert_eq!(host_of("a:b"), None);
        assert_eq!(host_of(":9000"), None);
    }

    #[test]
    fn only_this_servers_names_are_allowed() {
        let guard = AdminGuard::new(
            "http://127.0.0.1:9000",
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Mock",
            9000,
            None,
        );
        for host in [
            "localhost",
            "127.0.0.1",
            "::1",
            "10.0.0.7",
            "cognito-idp.eu-west-1.amazonaws.com",
        ] {
            assert!(guard.host_allowed(host), "{host}");
        }
        for host in [
            "evil.example",
            "localhost.evil.example",
            "127.0.0.1.nip.io",
            "mock",
        ] {
            assert!(!guard.host_allowed(host), "{host}");
        }
    }
}
