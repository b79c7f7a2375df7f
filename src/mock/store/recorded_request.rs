//! One request as the request log keeps it: method, path, query, headers and form body, every
//! credential replaced by [`RecordedRequest::REDACTED`] before it is stored, so a test can
//! assert what a client sent and the log can be printed or served by the admin API without
//! handing out a secret.

use std::mem::size_of;

use axum::http::HeaderMap;
use axum::http::request::Parts;
use serde::Serialize;

use crate::mock::form::decode;

/// Parameters (query or form) whose values are credentials: client authentication (RFC 6749
/// §2.3.1, RFC 7523), grants' secrets (codes, PKCE verifiers, refresh tokens, device codes,
/// RFC 8693's subject and actor tokens), tokens presented to userInfo, revocation and
/// introspection (RFC 6750 §2.2–2.3, RFC 7009, RFC 7662), the sign-in form's password and
/// CSRF token, and ID tokens given back at logout.
const SECRET_PARAMETERS: [&str; 15] = [
    "access_token",
    "actor_token",
    "assertion",
    "client_assertion",
    "client_secret",
    "code",
    "code_verifier",
    "csrf",
    "device_code",
    "id_token",
    "id_token_hint",
    "password",
    "refresh_token",
    "subject_token",
    "token",
];

/// Headers whose values are credentials. `Authorization` and `Proxy-Authorization` keep
/// their scheme (`Basic [redacted]`), `Cookie` its cookie names: which kind of credential a
/// client sent is what a test asserts, never its value.
const SECRET_HEADERS: [&str; 5] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "x-api-key",
    "x-amz-security-token",
];

/// One request the mock received, credentials redacted.
///
/// Names and values are as the client sent them, percent-decoded for the query and a form
/// body; headers keep the order they came in, names in lower case. A value that cannot be
/// decoded is kept as sent, except under a name that cannot be decoded either, whose value is
/// redacted: nothing says it is not a secret.
///
/// # Example
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use tokengate::mock::{MockIssuer, RecordedRequest};
///
/// let issuer = MockIssuer::demo().start().await?;
/// let response = reqwest::Client::new()
///     .post(issuer.token_endpoint())
///     .basic_auth("demo-backend", Some("demo-backend-secret"))
///     .header("content-type", "application/x-www-form-urlencoded")
///     .body("grant_type=client_credentials&scope=api%2Fread")
///     .send()
///     .await?;
/// assert_eq!(response.status(), 200);
///
/// let sent = issuer.requests().pop().expect("the token request");
/// assert_eq!(sent.path(), "/oauth2/token");
/// assert_eq!(sent.form_field("scope"), Some("api/read"));
/// assert_eq!(sent.header("authorization"), Some("Basic [redacted]"));
/// assert!(!format!("{sent:?}").contains("demo-backend-secret"));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecordedRequest {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    form: Option<Vec<(String, String)>>,
}

impl RecordedRequest {
    /// What stands in for a credential's value.
    pub const REDACTED: &'static str = "[redacted]";

    /// Records `parts`, and `form` when the body is `application/x-www-form-urlencoded`.
    pub(crate) fn new(parts: &Parts, form: Option<&[u8]>) -> Self {
        Self {
            method: parts.method.as_str().to_owned(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(parameters).unwrap_or_default(),
            headers: headers(&parts.headers),
            form: form.map(|body| parameters(&String::from_utf8_lossy(body))),
        }
    }

    /// The method, such as `POST`.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The path, without the query.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The query's parameters in the order sent, decoded, credentials redacted.
    pub fn query(&self) -> &[(String, String)] {
        &self.query
    }

    /// The first query parameter named `name`.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        first(&self.query, name)
    }

    /// The headers in the order sent, names in lower case, credentials redacted.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The first header named `name` (in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The form body's fields in the order sent, decoded, credentials redacted; `None` when
    /// the body was not `application/x-www-form-urlencoded` (other bodies are not kept), or
    /// was refused for its size.
    pub fn form(&self) -> Option<&[(String, String)]> {
        self.form.as_deref()
    }

    /// The first form field named `name`.
    pub fn form_field(&self, name: &str) -> Option<&str> {
        first(self.form.as_deref().unwrap_or_default(), name)
    }

    /// The bytes this record holds, as the log counts them against its bound.
    pub(crate) fn bytes(&self) -> usize {
        let pairs = |pairs: &[(String, String)]| {
            pairs
                .iter()
                .map(|(n, v)| size_of::<(String, String)>() + n.len() + v.len())
                .sum::<usize>()
        };
        size_of::<Self>()
            + self.method.len()
            + self.path.len()
            + pairs(&self.query)
            + pairs(&self.headers)
            + pairs(self.form.as_deref().unwrap_or_default())
    }
}

fn first<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// `a=1&b=2`, every pair kept (repeats included), secrets redacted.
fn parameters(raw: &str) -> Vec<(String, String)> {
    let mut pairs: Vec<_> = raw
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            match decode(name) {
                Some(name) if SECRET_PARAMETERS.contains(&name.as_str()) => {
                    (name, RecordedRequest::REDACTED.to_owned())
                }
                Some(name) => (name, decode(value).unwrap_or_else(|| value.to_owned())),
                None => (name.to_owned(), RecordedRequest::REDACTED.to_owned()),
            }
        })
        .collect();
    pairs.shrink_to_fit();
    pairs
}

fn headers(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut pairs: Vec<_> = headers
        .iter()
        .map(|(name, value)| {
            let name = name.as_str();
            let value = String::from_utf8_lossy(value.as_bytes());
            let value = if !SECRET_HEADERS.contains(&name) {
                value.into_owned()
            } else if name == "cookie" {
                cookie_names(&value)
            } else {
                credential_scheme(&value)
            };
            (name.to_owned(), value)
        })
        .collect();
    pairs.shrink_to_fit();
    pairs
}

/// `Basic [redacted]`: the scheme of an `Authorization` value (RFC 9110 §11.4), the rest
/// redacted.
fn credential_scheme(value: &str) -> String {
    match value.trim().split_once(' ') {
        Some((scheme, _)) => format!("{scheme} {}", RecordedRequest::REDACTED),
        None => RecordedRequest::REDACTED.to_owned(),
    }
}

/// `a=[redacted]; b=[redacted]`: the names of a `Cookie` header's cookies (RFC 6265 §4.2).
fn cookie_names(value: &str) -> String {
    value
        .split(';')
        .map(str::trim)
        .filter(|cookie| !cookie.is_empty())
        .map(|cookie| match cookie.split_once('=') {
            Some((name, _)) => format!("{}={}", name.trim(), RecordedRequest::REDACTED),
            None => RecordedRequest::REDACTED.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use axum::http::Request;

    use super::*;

    fn record(request: Request<()>, body: Option<&str>) -> RecordedRequest {
        let (parts, ()) = request.into_parts();
        RecordedRequest::new(&parts, body.map(str::as_bytes))
    }

    #[test]
    fn credentials_in_the_query_the_headers_and_the_form_are_redacted() {
        let request =
            Request::post("/oauth2/token?access_token=q-secret&state=s%201&%ZZ=raw-secret&x=%ZZ")
                .header("Authorization", "Basic ZGVtbzpzZWNyZXQ=")
                .header("cookie", "session=c-secret; csrf=c2-secret")
                .header("x-api-key", "k-secret")
                .header("dpop", "a.proof.jwt")
                .body(())
                .expect("a request");
        let form = "grant_type=refresh_token&refresh_token=r-secret&client_secret=s%2Dsecret\
                    &code_verifier=v-secret&code=c3-secret&scope=api%2Fread&scope=api%2Fwrite\
                    &subject_token=t-secret&actor_token=a-secret&client_assertion=j-secret";
        let recorded = record(request, Some(form));
        let text = format!("{recorded:?}");
        for secret in [
            "q-secret",
            "raw-secret",
            "ZGVtbz",
            "c-secret",
            "c2-secret",
            "k-secret",
        ] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        for secret in [
            "r-secret",
            "s-secret",
            "s%2Dsecret",
            "v-secret",
            "c3-secret",
        ] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        for secret in ["t-secret", "a-secret", "j-secret"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert_eq!(recorded.query_param("state"), Some("s 1"));
        assert_eq!(recorded.query_param("access_token"), Some("[redacted]"));
        // A name that does not decode: its value is redacted; a value that does not decode
        // is kept as sent.
        assert_eq!(recorded.query_param("%ZZ"), Some("[redacted]"));
        assert_eq!(recorded.query_param("x"), Some("%ZZ"));
        assert_eq!(recorded.header("AUTHORIZATION"), Some("Basic [redacted]"));
        assert_eq!(
            recorded.header("cookie"),
            Some("session=[redacted]; csrf=[redacted]")
        );
        assert_eq!(recorded.header("dpop"), Some("a.proof.jwt"));
        assert_eq!(recorded.form_field("grant_type"), Some("refresh_token"));
        assert_eq!(recorded.form_field("refresh_token"), Some("[redacted]"));
        let scopes: Vec<_> = recorded
            .form()
            .unwrap_or_default()
            .iter()
            .filter(|(n, _)| n == "scope")
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(scopes, ["api/read", "api/write"]);
    }

    #[test]
    fn a_body_that_is_not_a_form_is_not_kept() {
        let recorded = record(Request::get("/x").body(()).expect("a request"), None);
        assert_eq!(recorded.form(), None);
        assert_eq!(recorded.form_field("a"), None);
    }

    #[test]
    fn the_bytes_count_every_field() {
        let small = record(Request::get("/x").body(()).expect("a request"), None);
        let large = record(
            Request::get("/x?state=0123456789")
                .header("accept", "text/html")
                .body(())
                .expect("a request"),
            Some("scope=openid"),
        );
        let pair = size_of::<(String, String)>();
        assert_eq!(
            large.bytes() - small.bytes(),
            3 * pair + "state0123456789".len() + "accepttext/html".len() + "scopeopenid".len()
        );
    }
}
