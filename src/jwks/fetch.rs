//! Fetching a JSON document with limits: timeouts, status 200 only, no redirects, JSON only,
//! a bounded body.

use std::time::Duration;

use reqwest::header::{ACCEPT, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE};
use reqwest::{Client, StatusCode, Url};

use crate::error::{Error, ErrorKind};

/// Limits applied to every fetch.
#[derive(Clone, Debug)]
pub(crate) struct FetchLimits {
    pub(crate) timeout: Duration,
    pub(crate) max_body: usize,
}

/// A fetched document and what its `Cache-Control: max-age` said.
#[derive(Debug)]
pub(crate) struct Fetched {
    pub(crate) body: Vec<u8>,
    pub(crate) max_age: Option<Duration>,
}

/// The HTTP client tokengate builds when none is given: connect timeout, no redirects.
pub(crate) fn default_client(connect_timeout: Duration) -> Result<Client, Error> {
    Client::builder()
        .connect_timeout(connect_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("tokengate/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| {
            Error::new(ErrorKind::Config(format!(
                "cannot build the HTTP client: {e}"
            )))
        })
}

/// Whether a content type is JSON: `application/json` or any `+json` suffix
/// (`application/jwk-set+json`), parameters ignored.
fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// `max-age` from a `Cache-Control` header; `no-cache`/`no-store` count as zero.
fn max_age(cache_control: &str) -> Option<Duration> {
    let mut age = None;
    for directive in cache_control.split(',') {
        let directive = directive.trim();
        let lower = directive.to_ascii_lowercase();
        if lower == "no-cache" || lower == "no-store" {
            return Some(Duration::ZERO);
        }
        if let Some(value) = lower.strip_prefix("max-age=") {
            age = value
                .trim_matches('"')
                .parse::<u64>()
                .ok()
                .map(Duration::from_secs);
        }
    }
    age
}

/// GETs `url` and returns its JSON body.
pub(crate) async fn fetch_json(
    client: &Client,
    url: &Url,
    limits: &FetchLimits,
) -> Result<Fetched, Error> {
    let at = || url.to_string();
    let response = client
        .get(url.clone())
        .header(ACCEPT, "application/json, application/jwk-set+json")
        .timeout(limits.timeout)
        .send()
        .await
        .map_err(|source| transport_error(at(), source))?;
    // Every client here has redirects off; should one ever be followed, the answer must
    // still come from `url` itself.
    if response.status().is_redirection() || response.url() != url {
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
        .unwrap_or_default();
    if !is_json(content_type) {
        return Err(ErrorKind::ContentType {
            url: at(),
            content_type: content_type.to_owned(),
        }
        .into());
    }
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limits.max_body as u64) {
        return Err(ErrorKind::BodyTooLarge {
            url: at(),
            limit: limits.max_body,
        }
        .into());
    }
    let max_age = headers
        .get(CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .and_then(max_age);
    let mut response = response;
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|source| transport_error(at(), source))?
    {
        if body.len() + chunk.len() > limits.max_body {
            return Err(ErrorKind::BodyTooLarge {
                url: at(),
                limit: limits.max_body,
            }
            .into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Fetched { body, max_age })
}

fn transport_error(url: String, source: reqwest::Error) -> Error {
    if source.is_timeout() {
        ErrorKind::Timeout { url }.into()
    } else {
        ErrorKind::Request { url, source }.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("application/json; charset=utf-8"));
        assert!(is_json("Application/JWK-Set+JSON"));
        assert!(!is_json("text/html"));
        assert!(!is_json("text/json+html"));
        assert!(!is_json(""));
    }

    #[test]
    fn cache_control_max_age() {
        assert_eq!(
            max_age("public, max-age=3600"),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(max_age("max-age=\"60\""), Some(Duration::from_secs(60)));
        assert_eq!(max_age("no-store"), Some(Duration::ZERO));
        assert_eq!(max_age("public"), None);
        assert_eq!(max_age("max-age=-5"), None);
    }
}
