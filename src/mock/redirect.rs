//! Redirects and the URL encoding they need: `302 Found` never cached, and the authorization
//! response's parameters added to a client's redirect URI, in its query (`code`) or fragment
//! (`token`), errors included (RFC 6749 §4.1.2, §4.2.2).

use axum::http::header::LOCATION;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::mock::error::{OAuthError, sanitize};
use crate::mock::{html, json};

/// Percent-encodes a query or fragment component: everything but RFC 3986's unreserved
/// characters is escaped (so `+`, `&`, `=`, `#` and spaces survive any decoder).
pub(crate) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `a=1&b=2`, each name and value percent-encoded.
pub(crate) fn encode_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    pairs
        .into_iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A `302 Found` to `location`, never cached (it may carry a code or tokens).
pub(crate) fn found(location: &str) -> Response {
    let mut response = StatusCode::FOUND.into_response();
    let headers = response.headers_mut();
    match HeaderValue::from_str(location) {
        Ok(value) => {
            headers.insert(LOCATION, value);
        }
        // Every location is built from registered URIs and percent-encoded values; a URI that
        // cannot be a header is a configuration mistake, not a reason to send one unchecked.
        Err(_) => {
            return html::error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The redirect URI cannot be used in a Location header.",
            );
        }
    }
    json::no_store(headers);
    response
}

/// Where an authorization response's parameters go: the query (`code`) or the fragment
/// (`token`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `?code=…&state=…`
    Query,
    /// `#access_token=…&state=…`
    Fragment,
}

/// `redirect_uri` with `pairs` added to its query or as its fragment.
pub(crate) fn to_client(redirect_uri: &str, mode: Mode, pairs: &[(&str, &str)]) -> Response {
    let encoded = encode_pairs(pairs.iter().copied());
    let location = match mode {
        Mode::Query => {
            // A registered URI may already have a query (RFC 6749 §3.1.2 allows it); it is
            // kept, and a fragment, which registered URIs must not have, goes after the query.
            let (base, fragment) = match redirect_uri.split_once('#') {
                Some((base, fragment)) => (base, Some(fragment)),
                None => (redirect_uri, None),
            };
            let sep = if base.contains('?') {
                if base.ends_with('?') || base.ends_with('&') {
                    ""
                } else {
                    "&"
                }
            } else {
                "?"
            };
            match fragment {
                Some(fragment) => format!("{base}{sep}{encoded}#{fragment}"),
                None => format!("{base}{sep}{encoded}"),
            }
        }
        Mode::Fragment => {
            let base = redirect_uri
                .split_once('#')
                .map_or(redirect_uri, |(b, _)| b);
            format!("{base}#{encoded}")
        }
    };
    found(&location)
}

/// An OAuth error sent back to the (validated) redirect URI, with the `state`.
pub(crate) fn error_to_client(
    redirect_uri: &str,
    mode: Mode,
    state: Option<&str>,
    error: &OAuthError,
) -> Response {
    let mut pairs = vec![("error", error.error)];
    let description = sanitize(&error.description);
    if !description.is_empty() {
        pairs.push(("error_description", description.as_str()));
    }
    if let Some(state) = state {
        pairs.push(("state", state));
    }
    to_client(redirect_uri, mode, &pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_everything_but_unreserved() {
        assert_eq!(encode("a b&c=d+e#f/é~"), "a%20b%26c%3Dd%2Be%23f%2F%C3%A9~");
        assert_eq!(
            encode("/device?user_code=AB CD&x"),
            "%2Fdevice%3Fuser_code%3DAB%20CD%26x"
        );
    }

    #[test]
    fn parameters_join_an_existing_query_and_go_before_a_fragment() {
        let location = |uri: &str, mode| {
            to_client(uri, mode, &[("code", "c d")]).headers()[LOCATION]
                .to_str()
                .expect("ascii")
                .to_owned()
        };
        assert_eq!(
            location("https://a/cb", Mode::Query),
            "https://a/cb?code=c%20d"
        );
        assert_eq!(
            location("https://a/cb?x=1", Mode::Query),
            "https://a/cb?x=1&code=c%20d"
        );
        assert_eq!(
            location("https://a/cb#f", Mode::Query),
            "https://a/cb?code=c%20d#f"
        );
        assert_eq!(
            location("https://a/cb#f", Mode::Fragment),
            "https://a/cb#code=c%20d"
        );
    }
}
