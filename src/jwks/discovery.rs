//! Finding an issuer's `jwks_uri`: OpenID Connect Discovery 1.0 §4, then RFC 8414 §3.

use reqwest::{Client, Url};
use serde::Deserialize;

use crate::error::{Error, ErrorKind};
use crate::jwks::fetch::{FetchLimits, fetch_json};
use crate::jwks::remote::transport_allowed;

#[derive(Deserialize)]
struct Metadata {
    issuer: String,
    jwks_uri: Option<String>,
}

/// The documents to try, in order.
pub(crate) fn metadata_urls(issuer: &Url) -> Vec<Url> {
    let trimmed = issuer.as_str().trim_end_matches('/');
    let path = issuer.path().trim_end_matches('/');
    let mut origin = issuer.clone();
    origin.set_path("");
    origin.set_query(None);
    let origin = origin.as_str().trim_end_matches('/').to_owned();
    let candidates = [
        // OIDC Discovery §4: the well-known path appended to the issuer.
        format!("{trimmed}/.well-known/openid-configuration"),
        // RFC 8414 §3.1: the well-known path inserted between host and path.
        format!("{origin}/.well-known/oauth-authorization-server{path}"),
        // Some servers serve the RFC 8414 document appended, OIDC-style.
        format!("{trimmed}/.well-known/oauth-authorization-server"),
    ];
    let mut urls: Vec<Url> = Vec::with_capacity(3);
    for candidate in candidates {
        if let Ok(url) = Url::parse(&candidate)
            && !urls.contains(&url)
        {
            urls.push(url);
        }
    }
    urls
}

/// Fetches the issuer's metadata and returns its `jwks_uri`, after checking that the document
/// names exactly this issuer and that the key set's transport is allowed (see
/// [`parse_metadata`]).
pub(crate) async fn discover_jwks_uri(
    client: &Client,
    issuer: &str,
    issuer_url: &Url,
    limits: &FetchLimits,
    allow_insecure_http: bool,
) -> Result<Url, Error> {
    let mut last_error = None;
    for url in metadata_urls(issuer_url) {
        let fetched = match fetch_json(client, &url, limits).await {
            Ok(fetched) => fetched,
            Err(err) if matches!(err.kind(), ErrorKind::Status { status: 404, .. }) => {
                last_error = Some(err);
                continue;
            }
            Err(err) => return Err(err),
        };
        return parse_metadata(&fetched.body, issuer, issuer_url, &url, allow_insecure_http);
    }
    Err(last_error.unwrap_or_else(|| {
        Error::new(ErrorKind::InvalidUrl {
            url: issuer.to_owned(),
            reason: "no discovery URL can be formed",
        })
    }))
}

/// Reads the `jwks_uri` of a metadata document fetched from `url`: the document must be a
/// JSON object naming exactly `issuer`, and the key set must be served over HTTPS — over
/// HTTP only to a loopback host when the issuer is HTTP too (local tests), or anywhere with
/// `allow_insecure_http`.
///
/// Pure: no I/O, so the fuzz targets (feature `fuzzing`) call it directly.
pub(crate) fn parse_metadata(
    body: &[u8],
    issuer: &str,
    issuer_url: &Url,
    url: &Url,
    allow_insecure_http: bool,
) -> Result<Url, Error> {
    let invalid = |reason: String| {
        Error::new(ErrorKind::Discovery {
            url: url.to_string(),
            reason,
        })
    };
    if !crate::validate::starts_as_object(body) {
        return Err(invalid("not a JSON object".into()));
    }
    let metadata: Metadata = serde_json::from_slice(body).map_err(|e| invalid(e.to_string()))?;
    if metadata.issuer != issuer {
        return Err(ErrorKind::IssuerMismatch {
            expected: issuer.to_owned(),
            found: metadata.issuer,
        }
        .into());
    }
    let jwks_uri = metadata
        .jwks_uri
        .ok_or_else(|| invalid("no `jwks_uri`".into()))?;
    let jwks_uri = Url::parse(&jwks_uri).map_err(|e| invalid(format!("`jwks_uri`: {e}")))?;
    // An HTTPS issuer never hands its keys to plain HTTP, not even on loopback.
    let allowed = jwks_uri.scheme() == "https"
        || allow_insecure_http
        || (issuer_url.scheme() == "http" && transport_allowed(&jwks_uri, false));
    if !allowed {
        return Err(invalid(
            "`jwks_uri` is not HTTPS (http:// only on loopback, for an http:// issuer)".into(),
        ));
    }
    Ok(jwks_uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(issuer: &str) -> Vec<String> {
        metadata_urls(&Url::parse(issuer).expect("url"))
            .into_iter()
            .map(String::from)
            .collect()
    }

    #[test]
    fn issuer_with_a_path_gets_oidc_then_rfc8414_forms() {
        assert_eq!(
            urls("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Pool"),
            [
                "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Pool/.well-known/openid-configuration",
                "https://cognito-idp.eu-west-1.amazonaws.com/.well-known/oauth-authorization-server/eu-west-1_Pool",
                "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Pool/.well-known/oauth-authorization-server",
            ]
        );
    }

    fn jwks_uri_of(issuer: &str, jwks_uri: &str, insecure: bool) -> Result<Url, Error> {
        let issuer_url = Url::parse(issuer).expect("issuer");
        let url = Url::parse(&format!("{issuer}/.well-known/openid-configuration")).expect("url");
        let doc = format!(r#"{{"issuer":"{issuer}","jwks_uri":"{jwks_uri}"}}"#);
        parse_metadata(doc.as_bytes(), issuer, &issuer_url, &url, insecure)
    }

    #[test]
    fn jwks_uri_over_http_only_on_loopback_or_when_allowed() {
        assert!(jwks_uri_of("https://issuer.example", "https://keys.example/jwks", false).is_ok());
        assert!(jwks_uri_of("http://127.0.0.1:9", "http://127.0.0.1:9/jwks", false).is_ok());
        assert!(jwks_uri_of("http://localhost:9", "http://localhost:9/jwks", false).is_ok());
        // A loopback issuer pointing at another host over HTTP, an HTTPS issuer downgrading.
        assert!(jwks_uri_of("http://127.0.0.1:9", "http://keys.example/jwks", false).is_err());
        assert!(jwks_uri_of("https://issuer.example", "http://127.0.0.1/jwks", false).is_err());
        assert!(jwks_uri_of("http://issuer.internal", "http://keys.internal/jwks", true).is_ok());
    }

    #[test]
    fn issuer_without_a_path_gets_two_forms() {
        assert_eq!(
            urls("https://issuer.example/"),
            [
                "https://issuer.example/.well-known/openid-configuration",
                "https://issuer.example/.well-known/oauth-authorization-server",
            ]
        );
    }
}
