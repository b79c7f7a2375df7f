//! Where the token comes from: `Authorization: Bearer` (RFC 6750 §2.1), and opt-in sources.

use http::HeaderMap;
use http::header::{AUTHORIZATION, COOKIE, HeaderName};

use crate::error::{AuthError, AuthErrorKind};

/// Where the layer looks for the token. The `Authorization: Bearer` header is always read;
/// a custom header or a cookie may be added.
#[derive(Clone, Debug, Default)]
pub(crate) struct TokenSource {
    pub(crate) header: Option<HeaderName>,
    pub(crate) cookie: Option<String>,
}

/// The bytes of RFC 6750 §2.1's `b64token` body, as a table: one lookup per byte, on the
/// path of every request.
const B64TOKEN: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] =
            c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
        b += 1;
    }
    table
};

/// RFC 6750 §2.1 `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
pub(crate) fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty() && body.bytes().all(|b| B64TOKEN[usize::from(b)])
}

fn malformed() -> AuthError {
    AuthError::new(AuthErrorKind::MalformedRequest)
}

/// The bearer token of an `Authorization` header value; `None` for another scheme.
///
/// RFC 6750 §3.1: a request "attempted using an unsupported authentication method" is
/// answered as one without credentials (no error code), so `Basic …` is not a bearer token,
/// not a malformed one. A `Bearer` credential that is not one b64token is malformed.
fn from_authorization(value: &[u8]) -> Result<Option<&str>, AuthError> {
    let value = std::str::from_utf8(value).map_err(|_| malformed())?;
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    // RFC 7235 §2.1: the scheme is case-insensitive; RFC 6750 §2.1: one b64token follows.
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Ok(None);
    }
    let token = rest.trim_start_matches(' ');
    if !is_b64token(token) {
        return Err(malformed());
    }
    Ok(Some(token))
}

impl TokenSource {
    /// Finds the one token of the request: `None` when there is none, an `invalid_request`
    /// error when there are two, or the header is malformed or names another scheme.
    pub(crate) fn extract<'h>(&self, headers: &'h HeaderMap) -> Result<Option<&'h str>, AuthError> {
        let mut found: Option<&'h str> = None;
        let mut take = |token: &'h str| {
            if found.replace(token).is_some() {
                Err(malformed())
            } else {
                Ok(())
            }
        };
        // RFC 9110 §11.6.2: one Authorization field; two (whatever their schemes) could be
        // read differently by a proxy and by us.
        let mut authorizations = headers.get_all(AUTHORIZATION).iter();
        if let Some(value) = authorizations.next() {
            if authorizations.next().is_some() {
                return Err(malformed());
            }
            if let Some(token) = from_authorization(value.as_bytes())? {
                take(token)?;
            }
        }
        if let Some(name) = &self.header {
            for value in headers.get_all(name) {
                let token = value.to_str().map_err(|_| malformed())?.trim();
                if !is_b64token(token) {
                    return Err(malformed());
                }
                take(token)?;
            }
        }
        if let Some(cookie_name) = &self.cookie {
            for value in headers.get_all(COOKIE) {
                let Ok(value) = value.to_str() else { continue };
                for pair in value.split(';') {
                    let Some((name, token)) = pair.trim().split_once('=') else {
                        continue;
                    };
                    if name == cookie_name {
                        let token = token.trim_matches('"');
                        if !is_b64token(token) {
                            return Err(malformed());
                        }
                        take(token)?;
                    }
                }
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        map
    }

    fn kind(result: Result<Option<&str>, AuthError>) -> AuthErrorKind {
        result.unwrap_err().kind()
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        let source = TokenSource::default();
        for scheme in ["Bearer", "bearer", "BEARER"] {
            let h = headers(&[("authorization", &format!("{scheme} abc.def.ghi"))]);
            assert_eq!(source.extract(&h).expect("ok"), Some("abc.def.ghi"));
        }
    }

    #[test]
    fn no_header_is_no_token() {
        assert_eq!(
            TokenSource::default()
                .extract(&HeaderMap::new())
                .expect("ok"),
            None
        );
    }

    #[test]
    fn other_schemes_are_no_bearer_token() {
        let source = TokenSource::default();
        for value in [
            "Basic dXNlcjpwYXNz",
            "Digest username=\"a\"",
            "Bearerabc",
            "Token",
        ] {
            let h = headers(&[("authorization", value)]);
            assert_eq!(source.extract(&h).expect("ok"), None, "{value}");
        }
    }

    #[test]
    fn malformed_bearer_credentials_or_two_tokens_are_invalid_requests() {
        let source = TokenSource::default();
        for value in [
            "Bearer",
            "Bearer ",
            "Bearer a b",
            "Bearer a,b",
            "Bearer tok\"en",
            "bearer =abc",
        ] {
            let h = headers(&[("authorization", value)]);
            assert_eq!(
                kind(source.extract(&h)),
                AuthErrorKind::MalformedRequest,
                "{value}"
            );
        }
        let two = headers(&[("authorization", "Bearer a"), ("authorization", "Bearer b")]);
        assert_eq!(kind(source.extract(&two)), AuthErrorKind::MalformedRequest);
    }

    #[test]
    fn custom_header_and_cookie_are_opt_in_and_count_as_credentials() {
        let source = TokenSource {
            header: Some(HeaderName::from_static("x-access-token")),
            cookie: Some("access_token".into()),
        };
        let h = headers(&[("x-access-token", "abc")]);
        assert_eq!(source.extract(&h).expect("ok"), Some("abc"));
        let h = headers(&[("cookie", "theme=dark; access_token=xyz")]);
        assert_eq!(source.extract(&h).expect("ok"), Some("xyz"));
        let both = headers(&[("authorization", "Bearer a"), ("cookie", "access_token=b")]);
        assert_eq!(kind(source.extract(&both)), AuthErrorKind::MalformedRequest);
        let ignored = headers(&[("x-access-token", "abc")]);
        assert_eq!(TokenSource::default().extract(&ignored).expect("ok"), None);
    }
}
