//! The two requests of introspection: the issuer's metadata (once, when the endpoint is
//! discovered), and RFC 7662 §2.1's POST per token.

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE};
use reqwest::{Client, StatusCode, Url};
use serde::Deserialize;

use crate::error::{Error, ErrorKind};
use crate::introspect::Introspection;
use crate::jwks::{FetchLimits, default_client, fetch_json, metadata_urls, transport_allowed};

/// Where the endpoint comes from: configured, or the issuer's metadata.
#[derive(Clone, Debug)]
pub(crate) enum Endpoint {
    Given(Url),
    Discover { issuer: Box<str>, url: Url },
}

#[derive(Deserialize)]
struct Metadata {
    issuer: String,
    introspection_endpoint: Option<String>,
}

/// The HTTP client: built from the caller's settings or tokengate's (connect timeout); never
/// one that follows redirects.
pub(crate) fn client(config: &Introspection) -> Result<Client, String> {
    match &config.client {
        Some(built) => built.clone(),
        None => default_client(config.connect_timeout).map_err(|err| err.to_string()),
    }
}

/// Refuses plain HTTP beyond loopback unless the caller gave up transport security.
fn allowed(config: &Introspection, url: &Url) -> Result<(), Error> {
    if transport_allowed(url, config.allow_insecure_http) {
        return Ok(());
    }
    Err(Error::new(ErrorKind::InvalidUrl {
        url: url.to_string(),
        reason: "http:// is allowed only for loopback hosts; use https, or call \
                 `Introspection::allow_insecure_http()` to give up transport security",
    }))
}

/// Whether the configured endpoint, or the issuer whose metadata names it, may be contacted.
pub(crate) fn check_transport(config: &Introspection) -> Result<(), Error> {
    match &config.endpoint {
        Endpoint::Given(url) | Endpoint::Discover { url, .. } => allowed(config, url),
    }
}

/// The endpoint: configured, or read from the issuer's metadata, which must name exactly
/// this issuer; HTTPS unless the issuer itself is HTTP.
pub(crate) async fn resolve(config: &Introspection, client: &Client) -> Result<Url, Error> {
    check_transport(config)?;
    let (issuer, issuer_url) = match &config.endpoint {
        Endpoint::Given(url) => return Ok(url.clone()),
        Endpoint::Discover { issuer, url } => (issuer, url),
    };
    let limits = FetchLimits {
        timeout: config.timeout,
        max_body: config.max_body_bytes,
    };
    let mut last = None;
    for url in metadata_urls(issuer_url) {
        let fetched = match fetch_json(client, &url, &limits).await {
            Ok(fetched) => fetched,
            Err(err) if matches!(err.kind(), ErrorKind::Status { status: 404, .. }) => {
                last = Some(err);
                continue;
            }
            Err(err) => return Err(err),
        };
        let invalid = |reason: &str| {
            Error::new(ErrorKind::Discovery {
                url: url.to_string(),
                reason: reason.to_owned(),
            })
        };
        if !crate::validate::starts_as_object(&fetched.body) {
            return Err(invalid("not a JSON object"));
        }
        let metadata: Metadata =
            serde_json::from_slice(&fetched.body).map_err(|e| invalid(&e.to_string()))?;
        if *metadata.issuer != **issuer {
            return Err(ErrorKind::IssuerMismatch {
                expected: issuer.to_string(),
                found: metadata.issuer,
            }
            .into());
        }
        let endpoint = metadata
            .introspection_endpoint
            .ok_or_else(|| invalid("no `introspection_endpoint`"))?;
        let endpoint =
            Url::parse(&endpoint).map_err(|_| invalid("bad `introspection_endpoint`"))?;
        if !matches!(endpoint.scheme(), "https" | "http") {
            return Err(invalid("`introspection_endpoint` is not an http(s) URL"));
        }
        allowed(config, &endpoint)?;
        return Ok(endpoint);
    }
    Err(last.unwrap_or_else(|| {
        Error::new(ErrorKind::InvalidUrl {
            url: issuer.to_string(),
            reason: "no discovery URL can be formed",
        })
    }))
}

/// `application/x-www-form-urlencoded` (also what RFC 6749 §2.3.1 applies to Basic
/// credentials): unreserved characters as they are, space as `+`, the rest percent-encoded.
fn form_encode(out: &mut String, value: &str) {
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
}

/// RFC 7662 §2.1: POSTs the token with the client's credentials; returns the answer's body.
pub(crate) async fn post(
    config: &Introspection,
    client: &Client,
    endpoint: &Url,
    token: &str,
) -> Result<Vec<u8>, Error> {
    let at = || endpoint.to_string();
    let auth = &config.auth;
    let mut body = String::with_capacity(token.len() + 64);
    body.push_str("token=");
    form_encode(&mut body, token);
    body.push_str("&token_type_hint=access_token");
    let mut request = client
        .post(endpoint.clone())
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(ACCEPT, "application/json")
        .timeout(config.timeout);
    if auth.basic {
        let mut credentials = String::new();
        form_encode(&mut credentials, &auth.id);
        credentials.push(':');
        form_encode(&mut credentials, &auth.secret);
        request = request.header(
            AUTHORIZATION,
            format!("Basic {}", STANDARD.encode(credentials)),
        );
    } else {
        body.push_str("&client_id=");
        form_encode(&mut body, &auth.id);
        body.push_str("&client_secret=");
        form_encode(&mut body, &auth.secret);
    }
    let response = request.body(body).send().await.map_err(|source| {
        if source.is_timeout() {
            Error::new(ErrorKind::Timeout { url: at() })
        } else {
            Error::new(ErrorKind::Request { url: at(), source })
        }
    })?;
    if response.status().is_redirection() || response.url() != endpoint {
        return Err(ErrorKind::Redirect { url: at() }.into());
    }
    if response.status() != StatusCode::OK {
        return Err(ErrorKind::Status {
            url: at(),
            status: response.status().as_u16(),
        }
        .into());
    }
    let headers = response.headers();
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return Err(ErrorKind::ContentType {
            url: at(),
            content_type,
        }
        .into());
    }
    let limit = config.max_body_bytes;
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(ErrorKind::BodyTooLarge { url: at(), limit }.into());
    }
    let mut response = response;
    let mut out = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|source| Error::new(ErrorKind::Request { url: at(), source }))?
    {
        if out.len() + chunk.len() > limit {
            return Err(ErrorKind::BodyTooLarge { url: at(), limit }.into());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding_keeps_unreserved_and_escapes_the_rest() {
        let mut out = String::new();
        form_encode(&mut out, "a b+c/d=é:~");
        assert_eq!(out, "a+b%2Bc%2Fd%3D%C3%A9%3A%7E");
    }
}
