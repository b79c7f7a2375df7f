//! Where the token comes from: `Authorization: Bearer` (RFC 6750 §2.1) or `DPoP` (RFC 9449
//! §7.1) when the layer takes DPoP, and opt-in sources.

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

/// How a token was presented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scheme {
    /// `Authorization: Bearer`, or an opt-in header or cookie: whoever holds it may use it.
    Bearer,
    /// `Authorization: DPoP`: only with a proof of the key it is bound to.
    Dpop,
}

/// A token and how it came.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Credential<'h> {
    pub(crate) token: &'h str,
    pub(crate) scheme: Scheme,
}

/// The token of an `Authorization` header value; `None` for another scheme.
///
/// RFC 6750 §3.1: a request "attempted using an unsupported authentication method" is
/// answered as one without credentials (no error code), so `Basic …` is not a bearer token,
/// not a malformed one; nor is `DPoP …` unless `dpop` says the layer takes it. A credential
/// of a taken scheme that is not one b64token (RFC 9449 §7.1's token68, the same syntax) is
/// malformed.
fn from_authorization(value: &[u8], dpop: bool) -> Result<Option<Credential<'_>>, AuthError> {
    let value = std::str::from_utf8(value).map_err(|_| malformed())?;
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    // RFC 7235 §2.1: the scheme is case-insensitive; RFC 6750 §2.1: one b64token follows.
    let scheme = if scheme.eq_ignore_ascii_case("bearer") {
        Scheme::Bearer
    } else if dpop && scheme.eq_ignore_ascii_case("dpop") {
        Scheme::Dpop
    } else {
        return Ok(None);
    };
    let token = rest.trim_start_matches(' ');
    if !is_b64token(token) {
        return Err(malformed());
    }
    Ok(Some(Credential { token, scheme }))
}

impl TokenSource {
    /// Finds the one bearer token of the request: `None` when there is none (another scheme,
    /// such as `Basic`, counts as none: RFC 6750 §3.1), an `invalid_request` error when there
    /// are two credentials or a malformed `Bearer` header.
    #[cfg_attr(not(any(test, feature = "fuzzing")), allow(dead_code))]
    pub(crate) fn extract<'h>(&self, headers: &'h HeaderMap) -> Result<Option<&'h str>, AuthError> {
        Ok(self.credential(headers, false)?.map(|c| c.token))
    }

    /// Finds the one credential of the request, `Authorization: DPoP` included when `dpop`:
    /// `None` when there is none, an `invalid_request` error when there are two, or a header
    /// is malformed.
    pub(crate) fn credential<'h>(
        &self,
        headers: &'h HeaderMap,
        dpop: bool,
    ) -> Result<Option<Credential<'h>>, AuthError> {
        let mut found: Option<Credential<'h>> = None;
        let mut take = |credential: Credential<'h>| {
            if found.replace(credential).is_some() {
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
            if let Some(credential) = from_authorization(value.as_bytes(), dpop)? {
                take(credential)?;
            }
        }
        if let Some(name) = &self.header {
            for value in headers.get_all(name) {
                let token = value.to_str().map_err(|_| malformed())?.trim();
                if !is_b64token(token) {
                    return Err(malformed());
                }
                take(Credential {
                    token,
                    scheme: Scheme::Bearer,
                })?;
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
                        take(Credential {
                            token,
                            scheme: Scheme::Bearer,
                        })?;
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
    fn dpop_scheme_is_a_credential_only_where_dpop_is_taken() {
        let source = TokenSource::default();
        for scheme in ["DPoP", "dpop", "DPOP"] {
            let h = headers(&[("authorization", &format!("{scheme} abc.def.ghi"))]);
            assert_eq!(source.credential(&h, false).expect("ok"), None);
            assert_eq!(
                source.credential(&h, true).expect("ok"),
                Some(Credential {
                    token: "abc.def.ghi",
                    scheme: Scheme::Dpop
                })
            );
        }
        let bad = headers(&[("authorization", "DPoP a b")]);
        assert_eq!(
            source.credential(&bad, true).unwrap_err().kind(),
            AuthErrorKind::MalformedRequest
        );
        let both = headers(&[("authorization", "Bearer a"), ("authorization", "DPoP a")]);
        assert_eq!(
            source.credential(&both, true).unwrap_err().kind(),
            AuthErrorKind::MalformedRequest
        );
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
