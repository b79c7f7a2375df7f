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

/// Whether `b` may appear in RFC 6750 §2.1's `b64token` body: `A-Z a-z 0-9 - . _ ~ + /`
/// (`-./0-9` are contiguous in ASCII). Comparisons without branches, so that the compiler can
/// check a block of bytes with vector instructions.
#[inline(always)]
fn is_b64token_byte(b: u8) -> bool {
    let folded = b | 0x20;
    (folded.wrapping_sub(b'a') < 26)
        | (b.wrapping_sub(b'-') < 13)
        | (b == b'+')
        | (b == b'_')
        | (b == b'~')
}

/// Whether every byte is a `b64token` byte. On the path of every request, over a token of
/// about a kilobyte: checked 64 bytes at a time without a branch per byte, which the compiler
/// turns into vector compares (BENCHMARKS.md, "The per-request path", has the instructions).
fn all_b64token_bytes(bytes: &[u8]) -> bool {
    const BLOCK: usize = 64;
    let block_ok = |block: &[u8]| block.iter().fold(true, |ok, &b| ok & is_b64token_byte(b));
    let mut blocks = bytes.chunks_exact(BLOCK);
    if !blocks.all(block_ok) {
        return false;
    }
    // The last bytes as one more block, padded with a b64token byte.
    let rest = blocks.remainder();
    let mut last = [b'a'; BLOCK];
    last[..rest.len()].copy_from_slice(rest);
    block_ok(&last)
}

/// RFC 6750 §2.1 `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token_bytes(token: &[u8]) -> bool {
    let body_len = token.len() - token.iter().rev().take_while(|&&b| b == b'=').count();
    body_len > 0 && all_b64token_bytes(&token[..body_len])
}

/// [`is_b64token_bytes`] of a string.
pub(crate) fn is_b64token(token: &str) -> bool {
    is_b64token_bytes(token.as_bytes())
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
    let (scheme, rest) = match value.iter().position(|&b| b == b' ') {
        Some(space) => (&value[..space], &value[space + 1..]),
        None => (value, &[][..]),
    };
    // RFC 7235 §2.1: the scheme is case-insensitive; RFC 6750 §2.1: one b64token follows.
    let scheme = if scheme.eq_ignore_ascii_case(b"bearer") {
        Scheme::Bearer
    } else if dpop && scheme.eq_ignore_ascii_case(b"dpop") {
        Scheme::Dpop
    } else {
        // Another scheme is no credential, but a field that is not UTF-8 is malformed
        // whatever its scheme.
        std::str::from_utf8(value).map_err(|_| malformed())?;
        return Ok(None);
    };
    let start = rest.iter().position(|&b| b != b' ').unwrap_or(rest.len());
    let token = &rest[start..];
    // b64token bytes are ASCII: a token that passes is UTF-8, as is the whole field.
    if !is_b64token_bytes(token) {
        return Err(malformed());
    }
    let token = std::str::from_utf8(token).map_err(|_| malformed())?;
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
    fn b64token_bytes_are_exactly_rfc_6750s_in_every_position() {
        for b in 0..=255u8 {
            let expected =
                b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
            assert_eq!(is_b64token_byte(b), expected, "{b:#04x}");
            // In a 64-byte block, and in the remainder after one.
            for len in [1, 63, 64, 65, 130] {
                for at in [0, len / 2, len - 1] {
                    let mut token = vec![b'a'; len];
                    token[at] = b;
                    assert_eq!(
                        all_b64token_bytes(&token),
                        expected,
                        "{b:#04x} at {at} of {len}"
                    );
                }
            }
        }
        assert!(is_b64token("abc=="));
        assert!(!is_b64token("=="));
        assert!(!is_b64token("a=b"));
    }

    #[test]
    fn a_field_that_is_not_utf8_is_malformed_whatever_its_scheme() {
        for value in [
            &b"Basic \xff\xfe"[..],
            b"Bearer abc\xff",
            b"Bearer \xc3\xa9t\xc3\xa9",
            b"\xffBearer abc",
        ] {
            let mut h = HeaderMap::new();
            h.insert(
                AUTHORIZATION,
                HeaderValue::from_bytes(value).expect("value"),
            );
            assert_eq!(
                kind(TokenSource::default().extract(&h)),
                AuthErrorKind::MalformedRequest,
                "{value:?}"
            );
        }
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
