//! The `htu` comparison (RFC 9449 §4.3 step 9): both sides normalised as RFC 3986 §6.2.2
//! (syntax) and §6.2.3 (scheme) say, query and fragment dropped.

use std::fmt::Write as _;

use http::header::HOST;
use http::{HeaderMap, Uri};

/// What normalisation does with `.` and `..` path segments (literal or percent-encoded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DotSegments {
    /// Removed, as RFC 3986 §6.2.2.3 says: for the URI a client wrote in a proof.
    Remove,
    /// Refused: for the URI a request was sent to. Removed, they would make the request
    /// name a URL outside the path it was routed by (`/v1/../x` is `/x`), and a proof for
    /// that other URL would pass.
    Refuse,
}

/// An absolute `http`/`https` URI without query or fragment, normalised: scheme and host in
/// lower case, the scheme's default port dropped, an empty path made `/`, percent-encoding
/// of unreserved characters decoded and other escapes in upper case, dot segments removed.
///
/// `None` for anything else: another scheme, no host, user info, a bad escape.
pub(crate) fn normalize(uri: &str) -> Option<String> {
    normalize_with(uri, DotSegments::Remove)
}

fn normalize_with(uri: &str, dots: DotSegments) -> Option<String> {
    // RFC 9449 §4.2: `htu` is compared "without query and fragment parts".
    let end = uri.find(['?', '#']).unwrap_or(uri.len());
    let parsed: Uri = uri[..end].parse().ok()?;
    let scheme = parsed.scheme_str()?.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let authority = parsed.authority()?;
    if authority.as_str().contains('@') {
        return None;
    }
    let host = authority.host();
    if host.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(end + 1);
    out.push_str(&scheme);
    out.push_str("://");
    out.push_str(&host.to_ascii_lowercase());
    if let Some(port) = authority.port_u16()
        && port != default_port
    {
        let _ = write!(out, ":{port}");
    }
    push_path(&mut out, parsed.path(), dots)?;
    Some(out)
}

/// Whether `b` is an RFC 3986 §2.3 unreserved character.
const fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Appends `path` normalised: escapes (§6.2.2.1–2), then dot segments (§6.2.2.3, the
/// algorithm of §5.2.4, or refused); an empty path is `/` (§6.2.3).
fn push_path(out: &mut String, path: &str, dots: DotSegments) -> Option<()> {
    let mut decoded = String::with_capacity(path.len());
    let bytes = path.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let value = hex(*bytes.get(i + 1)?)? * 16 + hex(*bytes.get(i + 2)?)?;
            if is_unreserved(value) {
                decoded.push(char::from(value));
            } else {
                let _ = write!(decoded, "%{value:02X}");
            }
            i += 3;
        } else if b.is_ascii() {
            decoded.push(char::from(b));
            i += 1;
        } else {
            return None;
        }
    }
    if decoded.is_empty() {
        out.push('/');
        return Some(());
    }
    let mut segments: Vec<&str> = Vec::new();
    let ends_open = decoded.ends_with("/.") || decoded.ends_with("/..");
    for segment in decoded.split('/').skip(1) {
        match segment {
            "." | ".." if dots == DotSegments::Refuse => return None,
            "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    for segment in &segments {
        out.push('/');
        out.push_str(segment);
    }
    if segments.is_empty() || ends_open {
        out.push('/');
    }
    Some(())
}

/// Where the request was sent, for the `htu` comparison.
#[derive(Clone, Debug)]
pub(crate) enum Origin {
    /// The configured external base URL (normalised, no trailing `/`): the request's path is
    /// appended to it.
    Public(Box<str>),
    /// From the request: its absolute URI (HTTP/2), or `http://` and its `Host` header.
    FromRequest,
}

impl Origin {
    /// The external base URL a service behind a proxy is reached at.
    pub(crate) fn public(base: &str) -> Option<Self> {
        if base.contains(['?', '#']) {
            return None;
        }
        let normalized = normalize(base)?;
        Some(Self::Public(
            normalized.trim_end_matches('/').to_owned().into_boxed_str(),
        ))
    }

    /// The normalised URI a proof for this request must name; `None` when the request says
    /// too little (no `Host`) or too much (a malformed one, or a path with dot segments).
    pub(crate) fn expected(&self, uri: &Uri, headers: &HeaderMap) -> Option<String> {
        let path = uri.path();
        let normalize = |uri: &str| normalize_with(uri, DotSegments::Refuse);
        match self {
            Self::Public(base) => normalize(&format!("{base}{path}")),
            Self::FromRequest => match (uri.scheme_str(), uri.authority()) {
                (Some(scheme), Some(authority)) => {
                    normalize(&format!("{scheme}://{}{path}", authority.as_str()))
                }
                _ => {
                    let mut hosts = headers.get_all(HOST).iter();
                    let host = hosts.next()?.to_str().ok()?;
                    if hosts.next().is_some() || host.contains(['/', '?', '#', '@']) {
                        return None;
                    }
                    normalize(&format!("http://{host}{path}"))
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_default_ports_and_empty_paths_are_normalised() {
        for (input, expected) in [
            (
                "https://Server.Example.COM/token",
                "https://server.example.com/token",
            ),
            (
                "HTTPS://server.example.com:443/token",
                "https://server.example.com/token",
            ),
            ("http://server.example.com:80", "http://server.example.com/"),
            (
                "http://server.example.com:8080/a",
                "http://server.example.com:8080/a",
            ),
            ("https://server.example.com", "https://server.example.com/"),
            ("https://[::1]:8443/x", "https://[::1]:8443/x"),
        ] {
            assert_eq!(normalize(input).as_deref(), Some(expected), "{input}");
        }
    }

    #[test]
    fn query_and_fragment_are_ignored() {
        assert_eq!(
            normalize("https://api.example.com/orders?id=1#top").as_deref(),
            Some("https://api.example.com/orders")
        );
        assert_eq!(
            normalize("https://api.example.com#top").as_deref(),
            Some("https://api.example.com/")
        );
    }

    #[test]
    fn escapes_and_dot_segments_are_normalised() {
        for (input, expected) in [
            ("https://a.example/%7Euser/%61", "https://a.example/~user/a"),
            ("https://a.example/a%2fb", "https://a.example/a%2Fb"),
            ("https://a.example/a/./b/../c", "https://a.example/a/c"),
            ("https://a.example/a/b/..", "https://a.example/a/"),
            ("https://a.example/../../x", "https://a.example/x"),
            ("https://a.example/a/%2E%2E/b", "https://a.example/b"),
        ] {
            assert_eq!(normalize(input).as_deref(), Some(expected), "{input}");
        }
    }

    #[test]
    fn other_schemes_user_info_and_bad_escapes_are_refused() {
        for input in [
            "ftp://a.example/x",
            "https://user@a.example/x",
            "https://a.example/%zz",
            "https://a.example/%4",
            "/relative/path",
            "a.example/x",
            "",
        ] {
            assert_eq!(normalize(input), None, "{input}");
        }
    }

    #[test]
    fn the_expected_uri_comes_from_the_public_url_or_the_host_header() {
        let uri: Uri = "/orders/1?x=2".parse().expect("uri");
        let mut headers = HeaderMap::new();
        headers.insert(HOST, "API.example.com:80".parse().expect("host"));
        assert_eq!(
            Origin::FromRequest.expected(&uri, &headers).as_deref(),
            Some("http://api.example.com/orders/1")
        );
        let public = Origin::public("https://Example.com/api/").expect("public url");
        assert_eq!(
            public.expected(&uri, &headers).as_deref(),
            Some("https://example.com/api/orders/1")
        );
        let absolute: Uri = "https://h2.example:443/a".parse().expect("uri");
        assert_eq!(
            Origin::FromRequest
                .expected(&absolute, &HeaderMap::new())
                .as_deref(),
            Some("https://h2.example/a")
        );
        assert_eq!(Origin::FromRequest.expected(&uri, &HeaderMap::new()), None);
        for dotted in ["/a/../b", "/./b", "/%2e%2E/b", "/.%2e/b", "/b/%2E", "/.."] {
            let dotted: Uri = dotted.parse().expect("uri");
            assert_eq!(public.expected(&dotted, &headers), None, "{dotted}");
            assert_eq!(
                Origin::FromRequest.expected(&dotted, &headers),
                None,
                "{dotted}"
            );
        }
        assert!(Origin::public("https://example.com/api?x=1").is_none());
        assert!(Origin::public("not a url").is_none());
    }
}
