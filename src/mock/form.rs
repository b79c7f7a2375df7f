//! Strict parameters: `application/x-www-form-urlencoded` bodies and query strings, each
//! parameter at most once (RFC 6749 §3.1), valid UTF-8, empty values as absent.

use std::collections::HashMap;

use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;

use crate::mock::error::OAuthError;

/// Request parameters, each present at most once.
#[derive(Clone, Debug, Default)]
pub(crate) struct Params(HashMap<String, String>);

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes one name or value (`+` is a space); `None` on a bad escape or bad UTF-8.
pub(crate) fn decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = bytes.get(i + 1).copied().and_then(hex)?;
                let lo = bytes.get(i + 2).copied().and_then(hex)?;
                out.push(hi << 4 | lo);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Whether the body is `application/x-www-form-urlencoded`.
pub(crate) fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

impl Params {
    /// Parses `a=1&b=2`.
    pub(crate) fn parse(raw: &str) -> Result<Self, OAuthError> {
        let mut map = HashMap::new();
        for pair in raw.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = decode(name)
                .ok_or_else(|| OAuthError::invalid_request("malformed parameter encoding"))?;
            let value = decode(value)
                .ok_or_else(|| OAuthError::invalid_request("malformed parameter encoding"))?;
            if map.contains_key(&name) {
                return Err(OAuthError::invalid_request(format!(
                    "parameter `{}` is repeated",
                    crate::mock::error::sanitize(&name)
                )));
            }
            map.insert(name, value);
        }
        Ok(Self(map))
    }

    /// Parses a query string (absent: no parameters).
    pub(crate) fn from_query(query: Option<&str>) -> Result<Self, OAuthError> {
        query.map_or_else(|| Ok(Self::default()), Self::parse)
    }

    /// Parses a form body; the content type must be `application/x-www-form-urlencoded`.
    pub(crate) fn from_form(headers: &HeaderMap, body: &[u8]) -> Result<Self, OAuthError> {
        if !is_form(headers) {
            return Err(OAuthError::invalid_request(
                "the body must be application/x-www-form-urlencoded",
            ));
        }
        let body = std::str::from_utf8(body)
            .map_err(|_| OAuthError::invalid_request("the body is not UTF-8"))?;
        Self::parse(body)
    }

    /// A parameter; empty values count as absent (RFC 6749 §3.1).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// A required parameter.
    pub(crate) fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("missing parameter `{name}`")))
    }

    /// The parameters, for re-rendering in a form.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_decodes() {
        let p = Params::parse("a=1&b=x+y&c=%2F%C3%A9").expect("ok");
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), Some("x y"));
        assert_eq!(p.get("c"), Some("/é"));
    }

    #[test]
    fn repeated_parameters_are_refused() {
        let err = Params::parse("scope=a&scope=b").unwrap_err();
        assert_eq!(err.error, "invalid_request");
    }

    #[test]
    fn bad_escapes_and_invalid_utf8_are_refused() {
        assert!(Params::parse("a=%zz").is_err());
        assert!(Params::parse("a=%ff%fe").is_err());
        assert!(Params::parse("a=%4").is_err());
    }

    #[test]
    fn empty_values_count_as_absent() {
        let p = Params::parse("a=&b").expect("ok");
        assert_eq!(p.get("a"), None);
        assert!(p.require("b").is_err());
    }
}
