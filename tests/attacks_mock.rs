//! The mock authorization server under attack, over real HTTP (`MockIssuer::demo()`, a client
//! that never follows redirects): garbage and oversized bodies, repeated parameters, wrong
//! content types, bad encodings, code replay, PKCE downgrades, open redirects, reflected
//! markup, and other clients' tokens.
//!
//! Every reply of the suite goes through [`send`], which asserts it is never a 5xx and that no
//! HTML reply carries raw `<script>` or `<img` markup. Each case then asserts the RFC error
//! and that the refused request changed nothing the legitimate user relies on.
#![cfg(feature = "mock")]

#[path = "support/jwks_server.rs"]
mod jwks_server;
#[path = "support/mod.rs"]
mod support;

use std::time::Duration;

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, HeaderMap, LOCATION, SET_COOKIE};
use reqwest::{StatusCode, Url};
use serde_json::{Value, json};
use tokengate::mock::{Client, Grant, MockIssuer, TrustedIssuer};
use tokengate::{Algorithm, Clock as _, ManualClock};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const WEB: &str = "demo-web";
const WEB_SECRET: &str = "demo-web-secret";
const WEB_CALLBACK: &str = "http://localhost:8000/callback";
const WEB_LOGOUT: &str = "http://localhost:8000/";
const SPA: &str = "demo-spa";
const SPA_CALLBACK: &str = "http://localhost:3000/callback";
const SPA_LOGOUT: &str = "http://localhost:3000/";
const BACKEND: &str = "demo-backend";
const BACKEND_SECRET: &str = "demo-backend-secret";
const DEVICE: &str = "demo-device";
const FORM: &str = "application/x-www-form-urlencoded";
/// The mock's body limit.
const LIMIT: usize = 64 * 1024;

async fn demo() -> MockIssuer {
    MockIssuer::demo()
        .start()
        .await
        .expect("the demo issuer starts")
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("reqwest client")
}

// ---- replies -----------------------------------------------------------------------------------

#[derive(Debug)]
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("ASCII header"))
    }

    fn location(&self) -> Option<&str> {
        self.header(LOCATION.as_str())
    }

    fn is_html(&self) -> bool {
        self.header(CONTENT_TYPE.as_str())
            .is_some_and(|c| c.starts_with("text/html"))
    }

    fn json(&self) -> Value {
        assert!(
            self.header(CONTENT_TYPE.as_str())
                .is_some_and(|c| c.starts_with("application/json")),
            "not JSON: {self:?}"
        );
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {:?}", self.body))
    }

    fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().expect("ASCII").to_owned())
            .collect()
    }
}

/// Sends a request; asserts the two things that hold for every reply of the suite.
async fn send(request: reqwest::RequestBuilder) -> Reply {
    let response = request.send().await.expect("the mock answers");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.text().await.expect("a body");
    let reply = Reply {
        status,
        headers,
        body,
    };
    assert!(!reply.status.is_server_error(), "a server error: {reply:?}");
    assert_no_markup(&reply);
    reply
}

/// No HTML reply contains markup an attacker could have put there, and no `Location` carries
/// a raw `<`, quote or control character.
#[track_caller]
fn assert_no_markup(reply: &Reply) {
    if reply.is_html() {
        let lower = reply.body.to_ascii_lowercase();
        for needle in ["<script", "<img", "<svg", "<iframe"] {
            assert!(!lower.contains(needle), "raw {needle} in {:?}", reply.body);
        }
    }
    if let Some(location) = reply.location() {
        assert!(
            !location.contains(['<', '>', '"', '\'', '\r', '\n', ' ']),
            "unescaped Location {location:?}"
        );
    }
}

/// `application/x-www-form-urlencoded` of these pairs.
fn form(pairs: &[(&str, &str)]) -> String {
    let mut url = Url::parse("http://x/").expect("url");
    url.query_pairs_mut().extend_pairs(pairs.iter().copied());
    url.query().unwrap_or_default().to_owned()
}

/// `base?pairs`.
fn url_with(base: &str, pairs: &[(&str, &str)]) -> String {
    let mut url = Url::parse(base).expect("url");
    url.query_pairs_mut().extend_pairs(pairs.iter().copied());
    url.to_string()
}

async fn get(url: &str) -> Reply {
    send(http().get(url)).await
}

async fn get_with_cookie(url: &str, cookie: &str) -> Reply {
    send(http().get(url).header(COOKIE, cookie)).await
}

/// POSTs `body` with this content type (none when `None`).
async fn post(url: &str, content_type: Option<&str>, body: impl Into<reqwest::Body>) -> Reply {
    let mut request = http().post(url).body(body);
    if let Some(content_type) = content_type {
        request = request.header(CONTENT_TYPE, content_type);
    }
    send(request).await
}

async fn post_form(url: &str, pairs: &[(&str, &str)]) -> Reply {
    post(url, Some(FORM), form(pairs)).await
}

/// Asserts an OAuth JSON error: this status, this `error`.
#[track_caller]
fn assert_oauth_error(reply: &Reply, status: u16, error: &str) {
    assert_eq!(reply.status.as_u16(), status, "{reply:?}");
    let body = reply.json();
    assert_eq!(body["error"], error, "{reply:?}");
    assert!(body["error_description"].is_string(), "{reply:?}");
    assert!(
        body.get("access_token").is_none() && body.get("refresh_token").is_none(),
        "a refusal carried tokens: {reply:?}"
    );
}

/// Asserts an HTML error page with this status that redirects nowhere and sets no cookie.
#[track_caller]
fn assert_error_page(reply: &Reply, status: u16) {
    assert_eq!(reply.status.as_u16(), status, "{reply:?}");
    assert!(reply.is_html(), "not an HTML page: {reply:?}");
    assert!(
        reply.location().is_none(),
        "an error page redirected: {reply:?}"
    );
    assert!(
        reply.set_cookies().is_empty(),
        "an error page set a cookie: {reply:?}"
    );
}

/// The value of the `<input>` named `name` of a page, unescaped.
fn input(body: &str, name: &str) -> Option<String> {
    let unescape = |text: &str| {
        text.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#x27;", "'")
            .replace("&amp;", "&")
    };
    let attribute = |tag: &str, attr: &str| {
        let needle = format!(" {attr}=\"");
        let start = tag.find(&needle)? + needle.len();
        let end = tag[start..].find('"')? + start;
        Some(unescape(&tag[start..end]))
    };
    let mut rest = body;
    while let Some(start) = rest.find("<input") {
        let end = rest[start..].find('>')? + start;
        let tag = &rest[start..end];
        if attribute(tag, "name").as_deref() == Some(name) {
            return Some(attribute(tag, "value").unwrap_or_default());
        }
        rest = &rest[end..];
    }
    None
}

/// A query parameter of an absolute URL.
fn query_param(url: &str, name: &str) -> Option<String> {
    Url::parse(url)
        .expect("absolute URL")
        .query_pairs()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
}

// ---- flows -------------------------------------------------------------------------------------

/// Signs alice in on the bare sign-in page; returns the `Cookie` header value.
async fn sign_in(issuer: &MockIssuer) -> String {
    let page = get(&issuer.login_url()).await;
    let csrf = input(&page.body, "csrf").expect("a CSRF field");
    let reply = post_form(
        &issuer.login_url(),
        &[
            ("csrf", &csrf),
            ("username", "alice"),
            ("password", "alice-password"),
        ],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    let set = reply.set_cookies();
    let pair = set
        .iter()
        .find(|c| c.starts_with(&format!("{}=", issuer.session_cookie_name())))
        .expect("a session cookie");
    pair.split(';').next().expect("name=value").to_owned()
}

/// A fresh CSRF token of the bare sign-in page.
async fn csrf(issuer: &MockIssuer) -> String {
    input(&get(&issuer.login_url()).await.body, "csrf").expect("a CSRF field")
}

/// The authorization request of `client` to `redirect_uri`, with `extra` parameters.
fn authorize_url(
    issuer: &MockIssuer,
    client: &str,
    redirect_uri: &str,
    extra: &[(&str, &str)],
) -> String {
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", client),
        ("redirect_uri", redirect_uri),
        ("scope", "openid api/read"),
        ("state", "s-1"),
    ];
    for (name, value) in extra {
        pairs.retain(|(n, _)| n != name);
        pairs.push((name, value));
    }
    url_with(&issuer.authorize_endpoint(), &pairs)
}

/// A code for `client` through a signed-in browser.
async fn code_for(
    issuer: &MockIssuer,
    cookie: &str,
    client: &str,
    redirect_uri: &str,
    extra: &[(&str, &str)],
) -> String {
    let reply = get_with_cookie(&authorize_url(issuer, client, redirect_uri, extra), cookie).await;
    assert_eq!(reply.status, StatusCode::FOUND, "{reply:?}");
    let location = reply.location().expect("Location").to_owned();
    assert!(location.starts_with(redirect_uri), "{location}");
    query_param(&location, "code").unwrap_or_else(|| panic!("no code in {location}"))
}

async fn token(issuer: &MockIssuer, pairs: &[(&str, &str)]) -> Reply {
    post_form(&issuer.token_endpoint(), pairs).await
}

/// Exchanges a code of the web client.
async fn exchange_web(issuer: &MockIssuer, code: &str) -> Reply {
    token(
        issuer,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", WEB_CALLBACK),
            ("client_id", WEB),
            ("client_secret", WEB_SECRET),
        ],
    )
    .await
}

/// Exchanges a code of the public SPA, with `verifier` when given.
async fn exchange_spa(issuer: &MockIssuer, code: &str, verifier: Option<&str>) -> Reply {
    let mut pairs = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", SPA_CALLBACK),
        ("client_id", SPA),
    ];
    if let Some(verifier) = verifier {
        pairs.push(("code_verifier", verifier));
    }
    token(issuer, &pairs).await
}

/// Refreshes the web client's `refresh_token`: the reply.
async fn refresh_web(issuer: &MockIssuer, refresh_token: &str) -> Reply {
    token(
        issuer,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", WEB),
            ("client_secret", WEB_SECRET),
        ],
    )
    .await
}

/// Asserts the web client's refresh token still refreshes; returns the new access token.
async fn assert_refreshes(issuer: &MockIssuer, refresh_token: &str) -> String {
    let reply = refresh_web(issuer, refresh_token).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    reply.json()["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

/// Introspects `token` as the backend client.
async fn introspect(issuer: &MockIssuer, token: &str) -> Value {
    let reply = post_form(
        &issuer.introspection_endpoint(),
        &[
            ("token", token),
            ("client_id", BACKEND),
            ("client_secret", BACKEND_SECRET),
        ],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    reply.json()
}

fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()))
}

/// A refresh token of the web client for alice.
fn web_refresh_token(issuer: &MockIssuer) -> String {
    issuer
        .issue_refresh_token_for_tests(WEB, "alice", ["openid", "api/read"])
        .expect("refresh token")
}

// ---- bodies ------------------------------------------------------------------------------------

/// Every endpoint that reads a body, with a body it would otherwise accept as a start.
fn body_endpoints(issuer: &MockIssuer) -> Vec<(String, &'static str, String)> {
    let base = issuer.url();
    let backend = format!("client_id={BACKEND}&client_secret={BACKEND_SECRET}");
    vec![
        (
            issuer.token_endpoint(),
            FORM,
            format!("grant_type=client_credentials&{backend}&pad="),
        ),
        (
            issuer.revocation_endpoint(),
            FORM,
            format!("token=x&{backend}&pad="),
        ),
        (
            issuer.introspection_endpoint(),
            FORM,
            format!("token=x&{backend}&pad="),
        ),
        (
            issuer.device_authorization_endpoint(),
            FORM,
            format!("client_id={DEVICE}&pad="),
        ),
        (issuer.login_url(), FORM, "username=alice&pad=".to_owned()),
        (
            issuer.device_verification_uri(),
            FORM,
            "user_code=x&pad=".to_owned(),
        ),
        (
            format!("{base}/_admin/clients"),
            "application/json",
            r#"{"id":"huge","redirect_uris":[""#.to_owned(),
        ),
        (
            format!("{base}/_admin/users"),
            "application/json",
            r#"{"username":"huge","password":""#.to_owned(),
        ),
        (
            format!("{base}/_admin/tokens"),
            "application/json",
            r#"{"kind":"access","client_id":""#.to_owned(),
        ),
        (
            format!("{base}/_admin/jwks-fault"),
            "application/json",
            r#"{"fault":""#.to_owned(),
        ),
        (
            format!("{base}/_admin/keys/retire"),
            "application/json",
            r#"{"kid":""#.to_owned(),
        ),
        (
            format!("{base}/_admin/devices/approve"),
            "application/json",
            r#"{"username":"alice","user_code":""#.to_owned(),
        ),
    ]
}

#[tokio::test]
async fn oversized_bodies_are_413_everywhere() {
    let issuer = demo().await;
    for (url, content_type, start) in body_endpoints(&issuer) {
        let mut body = start.into_bytes();
        body.resize(LIMIT + 1, b'a');
        let reply = post(&url, Some(content_type), body).await;
        assert_eq!(
            reply.status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{url}: {reply:?}"
        );
        // Far over the limit too.
        let reply = post(&url, Some(content_type), vec![b'a'; 4 * LIMIT]).await;
        assert_eq!(
            reply.status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{url}: {reply:?}"
        );
    }
    // Nothing was added by the refused admin calls.
    let config = get(&format!("{}/_admin/config", issuer.url())).await.json();
    assert!(
        !config.to_string().contains("\"huge\""),
        "an oversized admin call changed the configuration"
    );
}

#[tokio::test]
async fn oversized_bodies_at_oauth_endpoints_get_a_json_error() {
    // RFC 6749 §5.2 (and the admin API's own contract): errors of these endpoints are JSON
    // objects with an `error` code, whatever the status. A client library parsing the answer
    // of a 413 must find one.
    let issuer = demo().await;
    for (url, content_type, start) in body_endpoints(&issuer) {
        if url == issuer.login_url() || url == issuer.device_verification_uri() {
            continue; // HTML pages
        }
        let mut body = start.into_bytes();
        body.resize(LIMIT + 1, b'a');
        let reply = post(&url, Some(content_type), body).await;
        assert_eq!(
            reply.status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{url}: {reply:?}"
        );
        assert!(
            reply
                .header(CONTENT_TYPE.as_str())
                .is_some_and(|c| c.starts_with("application/json")),
            "{url}: a 413 that is not an OAuth JSON error: {reply:?}"
        );
        assert_eq!(reply.json()["error"], "invalid_request", "{url}");
    }
}

#[tokio::test]
async fn a_body_at_the_limit_is_read_and_one_byte_over_is_413() {
    let issuer = demo().await;
    let start = format!(
        "grant_type=client_credentials&client_id={BACKEND}&client_secret={BACKEND_SECRET}&pad="
    );
    let mut body = start.clone().into_bytes();
    body.resize(LIMIT, b'a');
    let reply = post(&issuer.token_endpoint(), Some(FORM), body.clone()).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    body.push(b'a');
    let reply = post(&issuer.token_endpoint(), Some(FORM), body).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE, "{reply:?}");
}

#[tokio::test]
async fn chunked_body_over_the_limit_without_a_length_is_413() {
    // No Content-Length to refuse up front: the limit must hold while reading.
    let issuer = demo().await;
    let mut stream = tokio::net::TcpStream::connect(issuer.local_addr())
        .await
        .expect("connect");
    let mut request = format!(
        "POST /oauth2/token HTTP/1.1\r\nHost: {}\r\nContent-Type: {FORM}\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        issuer.local_addr()
    )
    .into_bytes();
    // Eight chunks of 8 KiB and one byte: one over the limit, and little left unread.
    let mut chunks = vec![vec![b'a'; 8 * 1024]; 8];
    chunks.push(vec![b'a']);
    for chunk in chunks {
        request.extend(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend(&chunk);
        request.extend(b"\r\n");
    }
    request.extend(b"0\r\n\r\n");
    // The server may answer and close before reading everything: ignore write errors.
    let _ = stream.write_all(&request).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 413"),
        "{:?}",
        answer.lines().next()
    );
}

#[tokio::test]
async fn garbage_bodies_get_the_rfc_error() {
    let issuer = demo().await;
    let garbage: [&[u8]; 5] = [
        b"\x00\xff\xfe\xfd garbage \x80",
        b"grant_type=%zz",
        b"a=%",
        b"a=%4",
        b"client_id=demo-backend&x=%C3",
    ];
    let oauth = [
        issuer.token_endpoint(),
        issuer.revocation_endpoint(),
        issuer.introspection_endpoint(),
        issuer.device_authorization_endpoint(),
    ];
    for body in garbage {
        for url in &oauth {
            let reply = post(url, Some(FORM), body.to_vec()).await;
            assert_oauth_error(&reply, 400, "invalid_request");
        }
        for url in [issuer.login_url(), issuer.device_verification_uri()] {
            let reply = post(&url, Some(FORM), body.to_vec()).await;
            assert_error_page(&reply, 400);
        }
    }
    // The admin API reads JSON: garbage, JSON of the wrong shape, nesting 10,000 deep.
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    for path in [
        "clients",
        "users",
        "tokens",
        "keys/switch",
        "jwks-fault",
        "devices/approve",
    ] {
        let url = format!("{}/_admin/{path}", issuer.url());
        for body in [
            b"\x00\xff garbage".to_vec(),
            b"[]".to_vec(),
            b"\"a string\"".to_vec(),
            b"{\"unknown_field\":1}".to_vec(),
            deep.clone().into_bytes(),
            b"{".to_vec(),
            Vec::new(),
        ] {
            let reply = post(&url, Some("application/json"), body).await;
            assert_oauth_error(&reply, 400, "invalid_request");
        }
    }
    // Nothing changed: the demo's clients and users are as they were.
    let config = get(&format!("{}/_admin/config", issuer.url())).await.json();
    assert_eq!(config["clients"].as_array().expect("clients").len(), 5);
    assert_eq!(config["users"].as_array().expect("users").len(), 2);
}

#[tokio::test]
async fn repeated_parameters_are_invalid_request() {
    let issuer = demo().await;
    let backend = [("client_id", BACKEND), ("client_secret", BACKEND_SECRET)];
    let cc = [("grant_type", "client_credentials")];
    let with = |extra: &[(&str, &str)]| -> String {
        let mut pairs: Vec<(&str, &str)> = cc.iter().chain(backend.iter()).copied().collect();
        pairs.extend_from_slice(extra);
        form(&pairs)
    };
    for body in [
        with(&[("grant_type", "client_credentials")]),
        with(&[("client_id", BACKEND)]),
        with(&[("client_secret", "guess")]),
        with(&[("scope", "api/read"), ("scope", "api/write")]),
    ] {
        let reply = post(&issuer.token_endpoint(), Some(FORM), body).await;
        assert_oauth_error(&reply, 400, "invalid_request");
    }
    let rt = web_refresh_token(&issuer);
    for (url, pairs) in [
        (
            issuer.revocation_endpoint(),
            vec![
                ("token", rt.as_str()),
                ("token", "other"),
                ("client_id", WEB),
                ("client_secret", WEB_SECRET),
            ],
        ),
        (
            issuer.introspection_endpoint(),
            vec![
                ("token", rt.as_str()),
                ("token", "x"),
                ("client_id", BACKEND),
                ("client_secret", BACKEND_SECRET),
            ],
        ),
        (
            issuer.device_authorization_endpoint(),
            vec![("client_id", DEVICE), ("client_id", DEVICE)],
        ),
        (
            issuer.token_endpoint(),
            vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", rt.as_str()),
                ("refresh_token", rt.as_str()),
                ("client_id", WEB),
                ("client_secret", WEB_SECRET),
            ],
        ),
    ] {
        assert_oauth_error(&post_form(&url, &pairs).await, 400, "invalid_request");
    }
    // The refused revocation revoked nothing.
    assert_refreshes(&issuer, &rt).await;

    // In a query: a page, never a redirect (the redirect URI cannot be trusted).
    let cookie = sign_in(&issuer).await;
    for url in [
        format!(
            "{}&redirect_uri={}",
            authorize_url(&issuer, WEB, WEB_CALLBACK, &[]),
            "https%3A%2F%2Fevil.example%2F"
        ),
        format!(
            "{}&state=two",
            authorize_url(&issuer, WEB, WEB_CALLBACK, &[])
        ),
        format!(
            "{}&client_id={SPA}",
            authorize_url(&issuer, WEB, WEB_CALLBACK, &[])
        ),
    ] {
        assert_error_page(&get_with_cookie(&url, &cookie).await, 400);
    }
    let logout = format!(
        "{}?client_id={WEB}&logout_uri={}&logout_uri=https%3A%2F%2Fevil.example%2F",
        issuer.logout_endpoint(),
        "http%3A%2F%2Flocalhost%3A8000%2F"
    );
    assert_error_page(&get_with_cookie(&logout, &cookie).await, 400);
    let login = format!(
        "{}?next=%2Fdevice&next=%2F%2Fevil.example",
        issuer.login_url()
    );
    assert_error_page(&get(&login).await, 400);
    // The session survived: a code comes straight back.
    code_for(&issuer, &cookie, WEB, WEB_CALLBACK, &[]).await;
}

#[tokio::test]
async fn wrong_content_types_are_invalid_request() {
    let issuer = demo().await;
    let body = form(&[
        ("grant_type", "client_credentials"),
        ("client_id", BACKEND),
        ("client_secret", BACKEND_SECRET),
    ]);
    let json_body = json!({
        "grant_type": "client_credentials",
        "client_id": BACKEND,
        "client_secret": BACKEND_SECRET,
    })
    .to_string();
    let cases: Vec<(Option<&str>, String)> = vec![
        (Some("application/json"), json_body.clone()),
        (Some("application/json"), body.clone()),
        (Some("text/plain"), body.clone()),
        (Some("multipart/form-data; boundary=x"), body.clone()),
        (None, body.clone()),
        (Some("application/x-www-form-urlencoded-evil"), body.clone()),
        (Some("application/x-www-form-urlencodedx"), body.clone()),
        (
            Some("text/html; a=application/x-www-form-urlencoded"),
            body.clone(),
        ),
        (Some("application/xml"), body.clone()),
        (Some(""), body.clone()),
    ];
    for url in [
        issuer.token_endpoint(),
        issuer.revocation_endpoint(),
        issuer.introspection_endpoint(),
        issuer.device_authorization_endpoint(),
    ] {
        for (content_type, body) in &cases {
            let reply = post(&url, *content_type, body.clone()).await;
            assert_oauth_error(&reply, 400, "invalid_request");
        }
    }
    for url in [issuer.login_url(), issuer.device_verification_uri()] {
        for (content_type, body) in &cases {
            assert_error_page(&post(&url, *content_type, body.clone()).await, 400);
        }
    }
    // A control: the form type in another case and with a charset is the form type.
    let reply = post(
        &issuer.token_endpoint(),
        Some("Application/X-WWW-Form-Urlencoded; charset=UTF-8"),
        body,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
}

#[tokio::test]
async fn invalid_utf8_and_bad_percent_escapes() {
    let issuer = demo().await;
    let prefix = format!("grant_type=client_credentials&client_id={BACKEND}&client_secret=");
    for bad in [
        "%ff%fe",
        "%zz",
        "%4",
        "%",
        "%C3",
        "%ED%A0%80",
        "%C0%AF",
        "%F8%88%80%80%80",
    ] {
        let body = format!("{prefix}{bad}");
        let reply = post(&issuer.token_endpoint(), Some(FORM), body).await;
        assert_oauth_error(&reply, 400, "invalid_request");
    }
    // Raw bytes that are not UTF-8 at all.
    let mut raw = prefix.clone().into_bytes();
    raw.extend(b"\xc3\x28");
    assert_oauth_error(
        &post(&issuer.token_endpoint(), Some(FORM), raw).await,
        400,
        "invalid_request",
    );
    // A NUL decodes fine, and names no client.
    let body = format!(
        "grant_type=client_credentials&client_id={BACKEND}%00&client_secret={BACKEND_SECRET}"
    );
    assert_oauth_error(
        &post(&issuer.token_endpoint(), Some(FORM), body).await,
        400,
        "invalid_client",
    );
    let body = format!(
        "grant_type=client_credentials&client_id={BACKEND}&client_secret={BACKEND_SECRET}%00"
    );
    assert_oauth_error(
        &post(&issuer.token_endpoint(), Some(FORM), body).await,
        400,
        "invalid_client",
    );
    // In queries: a page.
    for url in [
        format!("{}?client_id=%zz", issuer.authorize_endpoint()),
        format!(
            "{}?client_id={WEB}&redirect_uri=%ff",
            issuer.authorize_endpoint()
        ),
        format!("{}?next=%C3", issuer.login_url()),
        format!("{}?client_id=%4", issuer.logout_endpoint()),
        format!("{}?user_code=%ED%A0%80", issuer.device_verification_uri()),
    ] {
        assert_error_page(&get(&url).await, 400);
    }
}

// ---- codes and PKCE ----------------------------------------------------------------------------

#[tokio::test]
async fn authorization_code_replay() {
    let issuer = demo().await;
    let cookie = sign_in(&issuer).await;
    let code = code_for(&issuer, &cookie, WEB, WEB_CALLBACK, &[]).await;
    let first = exchange_web(&issuer, &code).await;
    assert_eq!(first.status, StatusCode::OK, "{first:?}");
    let tokens = first.json();
    let refresh_token = tokens["refresh_token"].as_str().expect("refresh_token");
    let access_token = tokens["access_token"].as_str().expect("access_token");

    assert_eq!(introspect(&issuer, access_token).await["active"], true);

    // The replay, by another client and by the same: refused, and (RFC 6749 §4.1.2) what the
    // code bought is revoked — whoever replays it may have stolen it.
    let by_spa = exchange_spa(&issuer, &code, None).await;
    assert_oauth_error(&by_spa, 400, "invalid_grant");
    assert_eq!(introspect(&issuer, access_token).await["active"], false);
    let refreshed = refresh_web(&issuer, refresh_token).await;
    assert_oauth_error(&refreshed, 400, "invalid_grant");
    assert_oauth_error(&exchange_web(&issuer, &code).await, 400, "invalid_grant");
}

#[tokio::test]
async fn pkce_with_a_wrong_short_long_or_missing_verifier() {
    let issuer = demo().await;
    let cookie = sign_in(&issuer).await;
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-0123456789";
    let challenge = s256(verifier);
    let pkce = [
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let wrong = format!("{}x", &verifier[..verifier.len() - 1]);
    let short = verifier[..42].to_owned();
    let long = "a".repeat(129);
    let bad_chars = format!("{verifier}+/=");
    // The challenge itself sent as the verifier, and the plain-method guess.
    for attempt in [
        Some(wrong.as_str()),
        Some(short.as_str()),
        Some(long.as_str()),
        Some(bad_chars.as_str()),
        Some(challenge.as_str()),
        None,
    ] {
        let code = code_for(&issuer, &cookie, SPA, SPA_CALLBACK, &pkce).await;
        let reply = exchange_spa(&issuer, &code, attempt).await;
        assert_oauth_error(&reply, 400, "invalid_grant");
        // By design the code is spent by the failed attempt (no guessing of verifiers):
        // even the right verifier cannot use it now.
        let again = exchange_spa(&issuer, &code, Some(verifier)).await;
        assert_oauth_error(&again, 400, "invalid_grant");
    }
    // The user is unaffected: a fresh code with the right verifier works.
    let code = code_for(&issuer, &cookie, SPA, SPA_CALLBACK, &pkce).await;
    let reply = exchange_spa(&issuer, &code, Some(verifier)).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
}

#[tokio::test]
async fn pkce_downgrade_verifier_for_a_code_without_challenge() {
    let issuer = demo().await;
    let cookie = sign_in(&issuer).await;
    let code = code_for(&issuer, &cookie, SPA, SPA_CALLBACK, &[]).await;
    let reply = exchange_spa(&issuer, &code, Some(&"a".repeat(43))).await;
    assert_oauth_error(&reply, 400, "invalid_grant");
    // A plain challenge is refused at the authorization endpoint, to the registered URI.
    let url = authorize_url(
        &issuer,
        SPA,
        SPA_CALLBACK,
        &[
            ("code_challenge", &"a".repeat(43)),
            ("code_challenge_method", "plain"),
        ],
    );
    let reply = get_with_cookie(&url, &cookie).await;
    let location = reply.location().expect("an error redirect");
    assert!(location.starts_with(SPA_CALLBACK), "{location}");
    assert_eq!(
        query_param(location, "error").as_deref(),
        Some("invalid_request")
    );
    assert!(query_param(location, "code").is_none());
}

// ---- open redirects ----------------------------------------------------------------------------

/// Redirect URIs that are not `registered` but resemble it.
fn look_alikes(registered: &str) -> Vec<String> {
    let url = Url::parse(registered).expect("url");
    let host = url.host_str().expect("host");
    let port = url.port().expect("port");
    let path = url.path();
    let trimmed = registered.trim_end_matches('/');
    vec![
        format!("{trimmed}/evil"),
        format!("{trimmed}evil"),
        format!("{trimmed}.evil.example"),
        format!("http://{host}:{}{path}", port + 1),
        format!("http://{host}{path}"),
        format!("http://{host}:{port}@evil.example{path}"),
        format!("http://evil.example@{host}:{port}{path}"),
        format!("{trimmed}@evil.example"),
        format!("{registered}#evil"),
        format!("{registered}#"),
        format!("{registered}?next=https://evil.example"),
        format!("{registered}?"),
        registered.to_uppercase(),
        registered.replacen("http://", "HTTP://", 1),
        format!("{trimmed}/"),
        if registered.ends_with('/') {
            trimmed.to_owned()
        } else {
            format!("{registered}/.")
        },
        format!("javascript:alert(1)//{registered}"),
        "javascript:alert(document.cookie)".to_owned(),
        format!("data:text/html,<script>alert(1)</script>{registered}"),
        format!("//evil.example{path}"),
        format!("https://{host}:{port}{path}"),
        format!("http://127.0.0.1:{port}{path}"),
        format!("{registered} "),
        format!(" {registered}"),
        format!("{registered}\t"),
        format!("{trimmed}%2F..%2F..%2Fevil"),
        format!("{trimmed}/../evil"),
        format!("http://{host}:{port}/./{}", path.trim_start_matches('/')),
        registered.replace("://", "%3A%2F%2F"),
        "https://evil.example/".to_owned(),
    ]
    .into_iter()
    .filter(|uri| uri != registered)
    .collect()
}

#[tokio::test]
async fn redirect_uri_open_redirect_attempts() {
    let issuer = demo().await;
    let cookie = sign_in(&issuer).await;
    for (client, registered, response_type) in [
        (WEB, WEB_CALLBACK, "code"),
        (SPA, SPA_CALLBACK, "code"),
        (SPA, SPA_CALLBACK, "token"),
    ] {
        for uri in look_alikes(registered) {
            let url = authorize_url(
                &issuer,
                client,
                registered,
                &[
                    ("redirect_uri", &uri),
                    ("response_type", response_type),
                    ("state", "<script>alert(1)</script>"),
                ],
            );
            // Signed in or not, a page and never a redirect.
            assert_error_page(&get(&url).await, 400);
            assert_error_page(&get_with_cookie(&url, &cookie).await, 400);
            // The sign-in page refuses it too.
            let login = url.replacen(&issuer.authorize_endpoint(), &issuer.login_url(), 1);
            assert_error_page(&get(&login).await, 400);
        }
        // Another client's registered URI is not this client's.
        let other = if client == WEB {
            SPA_CALLBACK
        } else {
            WEB_CALLBACK
        };
        let url = authorize_url(&issuer, client, other, &[]);
        assert_error_page(&get_with_cookie(&url, &cookie).await, 400);
    }
    // At the token endpoint a code bound to the registered URI is refused for another one.
    let code = code_for(&issuer, &cookie, WEB, WEB_CALLBACK, &[]).await;
    let reply = token(
        &issuer,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &format!("{WEB_CALLBACK}/")),
            ("client_id", WEB),
            ("client_secret", WEB_SECRET),
        ],
    )
    .await;
    assert_oauth_error(&reply, 400, "invalid_grant");
    // A control: the registered URI still works for the signed-in user.
    code_for(&issuer, &cookie, WEB, WEB_CALLBACK, &[]).await;
}

#[tokio::test]
async fn logout_uri_open_redirect_attempts() {
    let issuer = demo().await;
    let cookie = sign_in(&issuer).await;
    let logout = |pairs: &[(&str, &str)]| url_with(&issuer.logout_endpoint(), pairs);
    let mut cases: Vec<String> = look_alikes(WEB_LOGOUT)
        .iter()
        .map(|uri| logout(&[("client_id", WEB), ("logout_uri", uri)]))
        .collect();
    cases.extend([
        // Another client's sign-out URL, or a redirect URI, is not this client's sign-out URL.
        logout(&[("client_id", WEB), ("logout_uri", SPA_LOGOUT)]),
        logout(&[("client_id", WEB), ("logout_uri", WEB_CALLBACK)]),
        logout(&[("client_id", "nobody"), ("logout_uri", WEB_LOGOUT)]),
        logout(&[("logout_uri", WEB_LOGOUT)]),
        // The re-sign-in form with a look-alike redirect URI.
        logout(&[
            ("client_id", WEB),
            ("redirect_uri", "http://localhost:8000/callback/evil"),
            ("response_type", "code"),
        ]),
        logout(&[
            ("client_id", WEB),
            ("redirect_uri", WEB_CALLBACK),
            ("response_type", "javascript:alert(1)"),
        ]),
        logout(&[
            ("client_id", WEB),
            ("logout_uri", WEB_LOGOUT),
            ("redirect_uri", WEB_CALLBACK),
            ("response_type", "code"),
        ]),
    ]);
    for url in &cases {
        // No redirect, and the session is left alone (no cookie cleared).
        assert_error_page(&get_with_cookie(url, &cookie).await, 400);
    }
    // No state change: the session still gets codes without the form.
    code_for(&issuer, &cookie, WEB, WEB_CALLBACK, &[]).await;
    // A control: the registered sign-out URL redirects there and ends the session.
    let reply = get_with_cookie(
        &logout(&[("client_id", WEB), ("logout_uri", WEB_LOGOUT)]),
        &cookie,
    )
    .await;
    assert_eq!(reply.location(), Some(WEB_LOGOUT));
}

#[tokio::test]
async fn login_next_open_redirect_attempts() {
    let issuer = demo().await;
    let nexts = [
        "//evil.example",
        "//evil.example/device",
        "/\\evil.example",
        "/\\/evil.example/device",
        "https://evil.example",
        "https://evil.example/device",
        "http:/evil.example/device",
        "/device@evil.example",
        "/device.evil.example",
        "/devicex",
        "/device/../oauth2/authorize",
        "/device#@evil.example",
        "/device?x=\\evil",
        "/device?a=b c",
        "/device?\r\nLocation: https://evil.example",
        "/DEVICE",
        "device",
        " /device",
        "\t/device",
        "/device\u{0}",
        "/device?é",
        "javascript:alert(1)",
        "/login",
        "",
    ];
    for next in nexts {
        let url = url_with(&issuer.login_url(), &[("next", next)]);
        let reply = get(&url).await;
        if next.is_empty() {
            // An empty `next` counts as absent: the bare form, no redirect anywhere.
            assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
            assert!(reply.location().is_none());
            continue;
        }
        assert_error_page(&reply, 400);
    }
    // Posting the form with a hostile `next` and the right password: refused, no session.
    for next in [
        "//evil.example",
        "/\\evil.example",
        "https://evil.example",
        "/device@evil.example",
    ] {
        let csrf = csrf(&issuer).await;
        let reply = post_form(
            &issuer.login_url(),
            &[
                ("csrf", &csrf),
                ("username", "alice"),
                ("password", "alice-password"),
                ("next", next),
            ],
        )
        .await;
        assert_error_page(&reply, 400);
    }
    // A control: the device page is allowed, and stays on this server.
    let csrf = csrf(&issuer).await;
    let reply = post_form(
        &issuer.login_url(),
        &[
            ("csrf", &csrf),
            ("username", "alice"),
            ("password", "alice-password"),
            ("next", "/device?user_code=BCDF-GHJK"),
        ],
    )
    .await;
    let location = reply.location().expect("a redirect");
    assert_eq!(
        location,
        format!("{}/device?user_code=BCDF-GHJK", issuer.url())
    );
}

// ---- reflected markup --------------------------------------------------------------------------

const SCRIPT: &str = "<script>alert(1)</script>";
const BREAKOUT: &str = "\"><img src=x onerror=alert(1)>";

#[tokio::test]
async fn script_in_state_is_never_reflected_raw() {
    let issuer = demo().await;
    for state in [
        SCRIPT,
        BREAKOUT,
        "'><svg onload=alert(1)>",
        "</form><script>x</script>",
    ] {
        // An unknown client: the error page.
        let url = authorize_url(&issuer, "<script>", WEB_CALLBACK, &[("state", state)]);
        assert_error_page(&get(&url).await, 400);
        // Not signed in: to the sign-in page, which renders the state as a hidden field.
        let url = authorize_url(&issuer, WEB, WEB_CALLBACK, &[("state", state)]);
        let to_login = get(&url).await;
        let location = to_login.location().expect("to the sign-in page").to_owned();
        let page = get(&location).await;
        assert_eq!(page.status, StatusCode::OK, "{page:?}");
        assert_eq!(input(&page.body, "state").as_deref(), Some(state));
        // Signed in: the state comes back percent-encoded in the Location, intact.
        let cookie = sign_in(&issuer).await;
        let reply = get_with_cookie(&url, &cookie).await;
        let location = reply.location().expect("the callback");
        assert_eq!(query_param(location, "state").as_deref(), Some(state));
        // An error redirect (an unknown scope) carries it the same way.
        let url = authorize_url(
            &issuer,
            WEB,
            WEB_CALLBACK,
            &[("state", state), ("scope", "api/admin")],
        );
        let reply = get_with_cookie(&url, &cookie).await;
        let location = reply.location().expect("an error redirect");
        assert_eq!(
            query_param(location, "error").as_deref(),
            Some("invalid_scope")
        );
        assert_eq!(query_param(location, "state").as_deref(), Some(state));
    }
}

#[tokio::test]
async fn script_in_form_fields_is_never_reflected_raw() {
    let issuer = demo().await;
    // A wrong password: the form again, with the user name escaped.
    for username in [SCRIPT, BREAKOUT] {
        let csrf = csrf(&issuer).await;
        let reply = post_form(
            &issuer.login_url(),
            &[
                ("csrf", &csrf),
                ("username", username),
                ("password", "wrong"),
            ],
        )
        .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{reply:?}");
        assert!(reply.set_cookies().is_empty());
        assert_eq!(
            input(&reply.body, "username").as_deref(),
            Some(username),
            "{}",
            reply.body
        );
    }
    // Values and names echoed on error pages.
    for url in [
        url_with(
            &issuer.login_url(),
            &[("client_id", SCRIPT), ("redirect_uri", WEB_CALLBACK)],
        ),
        format!("{}?%3Cscript%3E=1&%3Cscript%3E=2", issuer.login_url()),
        url_with(
            &issuer.authorize_endpoint(),
            &[("client_id", WEB), ("redirect_uri", SCRIPT)],
        ),
        url_with(
            &issuer.authorize_endpoint(),
            &[("client_id", WEB), ("redirect_uri", BREAKOUT)],
        ),
        url_with(&issuer.authorize_endpoint(), &[("client_id", BREAKOUT)]),
        url_with(
            &issuer.logout_endpoint(),
            &[("client_id", SCRIPT), ("logout_uri", WEB_LOGOUT)],
        ),
        url_with(
            &issuer.logout_endpoint(),
            &[("client_id", WEB), ("logout_uri", BREAKOUT)],
        ),
    ] {
        let reply = get(&url).await;
        assert_error_page(&reply, 400);
        assert!(
            reply.body.contains("&lt;"),
            "nothing echoed in {}",
            reply.body
        );
    }
    // The device page: the user code as typed, echoed back.
    let cookie = sign_in(&issuer).await;
    for code in [SCRIPT, BREAKOUT] {
        let url = url_with(&issuer.device_verification_uri(), &[("user_code", code)]);
        let page = get_with_cookie(&url, &cookie).await;
        assert_eq!(page.status, StatusCode::OK, "{page:?}");
        assert_eq!(input(&page.body, "user_code").as_deref(), Some(code));
        let csrf = input(&page.body, "csrf").expect("csrf");
        let reply = send(
            http()
                .post(issuer.device_verification_uri())
                .header(COOKIE, &cookie)
                .header(CONTENT_TYPE, FORM)
                .body(form(&[
                    ("csrf", &csrf),
                    ("user_code", code),
                    ("action", "approve"),
                ])),
        )
        .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{reply:?}");
        assert_eq!(input(&reply.body, "user_code").as_deref(), Some(code));
    }
    // Not signed in: to the sign-in page, the code carried in `next`, encoded.
    let url = url_with(&issuer.device_verification_uri(), &[("user_code", SCRIPT)]);
    let reply = get(&url).await;
    let location = reply.location().expect("to the sign-in page").to_owned();
    let page = get(&location).await;
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
}

#[tokio::test]
async fn header_injection_through_state() {
    let issuer = demo().await;
    let cookie = sign_in(&issuer).await;
    let state = "x\r\nSet-Cookie: evil=1\r\nLocation: https://evil.example";
    let url = authorize_url(&issuer, WEB, WEB_CALLBACK, &[("state", state)]);
    let reply = get_with_cookie(&url, &cookie).await;
    let location = reply.location().expect("the callback");
    assert!(location.starts_with(WEB_CALLBACK), "{location}");
    assert_eq!(query_param(location, "state").as_deref(), Some(state));
    assert!(reply.set_cookies().iter().all(|c| !c.contains("evil")));
    assert_eq!(reply.headers.get_all(LOCATION).iter().count(), 1);
}

// ---- sessions and CSRF -------------------------------------------------------------------------

#[tokio::test]
async fn login_without_a_valid_csrf_token_changes_nothing() {
    let issuer = demo().await;
    let fields = |csrf: &str| {
        vec![
            ("csrf".to_owned(), csrf.to_owned()),
            ("username".to_owned(), "alice".to_owned()),
            ("password".to_owned(), "alice-password".to_owned()),
        ]
    };
    let used = csrf(&issuer).await;
    let first = post_form(
        &issuer.login_url(),
        &fields(&used)
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect::<Vec<_>>(),
    )
    .await;
    assert_eq!(first.status, StatusCode::OK);
    for csrf in ["", "forged", used.as_str(), &"A".repeat(4096)] {
        let pairs = fields(csrf);
        let pairs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        assert_error_page(&post_form(&issuer.login_url(), &pairs).await, 400);
    }
}

#[tokio::test]
async fn session_fixation_with_an_attacker_chosen_cookie() {
    let issuer = demo().await;
    let planted = format!("{}=attacker-chosen-id", issuer.session_cookie_name());
    let page = get_with_cookie(&issuer.login_url(), &planted).await;
    let csrf = input(&page.body, "csrf").expect("csrf");
    let reply = send(
        http()
            .post(issuer.login_url())
            .header(COOKIE, &planted)
            .header(CONTENT_TYPE, FORM)
            .body(form(&[
                ("csrf", &csrf),
                ("username", "alice"),
                ("password", "alice-password"),
            ])),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    let cookie = reply
        .set_cookies()
        .into_iter()
        .next()
        .expect("a session cookie");
    assert!(!cookie.contains("attacker-chosen-id"), "{cookie}");
    // The planted id is no session: authorize sends it to the sign-in page.
    let url = authorize_url(&issuer, WEB, WEB_CALLBACK, &[]);
    let reply = get_with_cookie(&url, &planted).await;
    let location = reply.location().expect("a redirect");
    assert!(location.starts_with(&issuer.login_url()), "{location}");
}

#[tokio::test]
async fn device_approval_without_csrf_or_session_changes_nothing() {
    let issuer = demo().await;
    let reply = post_form(
        &issuer.device_authorization_endpoint(),
        &[("client_id", DEVICE), ("scope", "openid")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    let started = reply.json();
    let device_code = started["device_code"]
        .as_str()
        .expect("device_code")
        .to_owned();
    let user_code = started["user_code"].as_str().expect("user_code").to_owned();
    let cookie = sign_in(&issuer).await;
    // No CSRF token, a forged one, and one without a session.
    for (csrf, with_cookie) in [("", true), ("forged", true), ("fresh", false)] {
        let csrf = if csrf == "fresh" {
            self::csrf(&issuer).await
        } else {
            csrf.to_owned()
        };
        let mut request = http()
            .post(issuer.device_verification_uri())
            .header(CONTENT_TYPE, FORM)
            .body(form(&[
                ("csrf", &csrf),
                ("user_code", &user_code),
                ("action", "approve"),
            ]));
        if with_cookie {
            request = request.header(COOKIE, &cookie);
        }
        let reply = send(request).await;
        assert!(
            reply.status.is_client_error() || reply.status == StatusCode::FOUND,
            "{reply:?}"
        );
        if reply.status == StatusCode::FOUND {
            let location = reply.location().expect("to sign-in");
            assert!(location.starts_with(&issuer.login_url()), "{location}");
        }
    }
    // Another client polling this device code: as good as unknown, and the device's own
    // polling state is untouched (its next poll is not told to slow down).
    issuer
        .add_client(
            Client::public("other-device")
                .grants([Grant::DeviceCode])
                .scopes(["openid"]),
        )
        .expect("a valid client");
    let poll = |client: &'static str| {
        let device_code = device_code.clone();
        let url = issuer.token_endpoint();
        async move {
            post_form(
                &url,
                &[
                    ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                    ("device_code", &device_code),
                    ("client_id", client),
                ],
            )
            .await
        }
    };
    assert_oauth_error(&poll("other-device").await, 400, "invalid_grant");
    assert_oauth_error(&poll(DEVICE).await, 400, "authorization_pending");
}

// ---- other clients' tokens ---------------------------------------------------------------------

#[tokio::test]
async fn refresh_token_of_another_client() {
    let issuer = demo().await;
    let rt = web_refresh_token(&issuer);
    for pairs in [
        vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", rt.as_str()),
            ("client_id", SPA),
        ],
        vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", rt.as_str()),
            ("client_id", DEVICE),
        ],
    ] {
        assert_oauth_error(&token(&issuer, &pairs).await, 400, "invalid_grant");
    }
    // Claiming to be the web client without its secret.
    let reply = token(
        &issuer,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt),
            ("client_id", WEB),
        ],
    )
    .await;
    assert_oauth_error(&reply, 400, "invalid_client");
    // Introspected by another confidential client: not active for it.
    assert_eq!(introspect(&issuer, &rt).await, json!({"active": false}));
    // No state change: the token still refreshes for its own client.
    let access = assert_refreshes(&issuer, &rt).await;
    assert_eq!(introspect(&issuer, &access).await["active"], true);
}

#[tokio::test]
async fn revoke_of_another_clients_refresh_token() {
    let issuer = demo().await;
    let rt = web_refresh_token(&issuer);
    let before = assert_refreshes(&issuer, &rt).await;
    // A public client, and a confidential one with its own valid credentials.
    let by_spa = post_form(
        &issuer.revocation_endpoint(),
        &[("token", &rt), ("client_id", SPA)],
    )
    .await;
    assert_oauth_error(&by_spa, 400, "unauthorized_client");
    let by_backend = post_form(
        &issuer.revocation_endpoint(),
        &[
            ("token", &rt),
            ("client_id", BACKEND),
            ("client_secret", BACKEND_SECRET),
        ],
    )
    .await;
    assert_oauth_error(&by_backend, 400, "unauthorized_client");
    // The owner with a wrong secret, by Basic: 401 with a challenge.
    let basic = STANDARD.encode(format!("{WEB}:wrong"));
    let reply = send(
        http()
            .post(issuer.revocation_endpoint())
            .header(AUTHORIZATION, format!("Basic {basic}"))
            .header(CONTENT_TYPE, FORM)
            .body(form(&[("token", &rt)])),
    )
    .await;
    assert_oauth_error(&reply, 401, "invalid_client");
    assert!(
        reply
            .header("www-authenticate")
            .is_some_and(|c| c.starts_with("Basic"))
    );
    // No state change: the token and what was issued from it still work.
    assert_eq!(introspect(&issuer, &before).await["active"], true);
    assert_refreshes(&issuer, &rt).await;
}

#[tokio::test]
async fn client_authentication_tricks_at_the_token_endpoint() {
    let issuer = demo().await;
    let cc = |extra: &[(&str, &str)]| {
        let mut pairs = vec![("grant_type", "client_credentials")];
        pairs.extend_from_slice(extra);
        form(&pairs)
    };
    let basic =
        |id: &str, secret: &str| format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")));
    let good_basic = basic(BACKEND, BACKEND_SECRET);
    let cases: Vec<(Vec<String>, String, u16, &str)> = vec![
        // Wrong secrets.
        (
            vec![basic(BACKEND, "wrong")],
            cc(&[]),
            401,
            "invalid_client",
        ),
        (
            vec![],
            cc(&[("client_id", BACKEND), ("client_secret", "wrong")]),
            400,
            "invalid_client",
        ),
        (
            vec![],
            cc(&[
                ("client_id", BACKEND),
                ("client_secret", &BACKEND_SECRET[..5]),
            ]),
            400,
            "invalid_client",
        ),
        (
            vec![],
            cc(&[
                ("client_id", BACKEND),
                ("client_secret", &format!("{BACKEND_SECRET}x")),
            ]),
            400,
            "invalid_client",
        ),
        (
            vec![],
            cc(&[
                ("client_id", BACKEND),
                ("client_secret", &BACKEND_SECRET.to_uppercase()),
            ]),
            400,
            "invalid_client",
        ),
        // A confidential client without its secret, or with an empty one.
        (vec![], cc(&[("client_id", BACKEND)]), 400, "invalid_client"),
        (
            vec![],
            cc(&[("client_id", BACKEND), ("client_secret", "")]),
            400,
            "invalid_client",
        ),
        (vec![basic(BACKEND, "")], cc(&[]), 401, "invalid_client"),
        // Two ways at once, two headers, a mismatched id.
        (
            vec![good_basic.clone()],
            cc(&[("client_secret", BACKEND_SECRET)]),
            400,
            "invalid_request",
        ),
        (
            vec![good_basic.clone(), good_basic.clone()],
            cc(&[]),
            400,
            "invalid_request",
        ),
        (
            vec![good_basic.clone()],
            cc(&[("client_id", WEB)]),
            400,
            "invalid_request",
        ),
        // Malformed or foreign schemes.
        (
            vec!["Basic !!!not-base64!!!".into()],
            cc(&[]),
            401,
            "invalid_client",
        ),
        (
            vec![format!("Basic {}", STANDARD.encode(BACKEND))],
            cc(&[]),
            401,
            "invalid_client",
        ),
        (
            vec!["Bearer abc.def.ghi".into()],
            cc(&[]),
            401,
            "invalid_client",
        ),
        (vec!["Basic".into()], cc(&[]), 401, "invalid_client"),
        // A public client presenting a secret it does not have.
        (
            vec![],
            cc(&[("client_id", SPA), ("client_secret", "anything")]),
            400,
            "invalid_client",
        ),
        // An unknown client.
        (vec![basic("nobody", "x")], cc(&[]), 401, "invalid_client"),
    ];
    for (headers, body, status, error) in cases {
        let mut request = http()
            .post(issuer.token_endpoint())
            .header(CONTENT_TYPE, FORM)
            .body(body.clone());
        for header in &headers {
            request = request.header(AUTHORIZATION, header);
        }
        let reply = send(request).await;
        assert_oauth_error(&reply, status, error);
        if status == 401 {
            assert!(
                reply
                    .header("www-authenticate")
                    .is_some_and(|c| c.starts_with("Basic")),
                "{headers:?} {body}: {reply:?}"
            );
        }
    }
    // A control: the right credentials by Basic.
    let reply = send(
        http()
            .post(issuer.token_endpoint())
            .header(AUTHORIZATION, good_basic)
            .header(CONTENT_TYPE, FORM)
            .body(cc(&[])),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
}

#[tokio::test]
async fn grant_and_scope_tricks_at_the_token_endpoint() {
    let issuer = demo().await;
    let backend = [("client_id", BACKEND), ("client_secret", BACKEND_SECRET)];
    for grant_type in [
        "password",
        "implicit",
        "client_credentials ",
        "CLIENT_CREDENTIALS",
        "client_credentials\u{0}",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
    ] {
        let mut pairs = vec![("grant_type", grant_type)];
        pairs.extend_from_slice(&backend);
        assert_oauth_error(&token(&issuer, &pairs).await, 400, "unsupported_grant_type");
    }
    // A grant the client is not allowed.
    let mut pairs = vec![
        ("grant_type", "authorization_code"),
        ("code", "x"),
        ("redirect_uri", WEB_CALLBACK),
    ];
    pairs.extend_from_slice(&backend);
    assert_oauth_error(&token(&issuer, &pairs).await, 400, "unauthorized_client");
    for scope in [
        "api/read openid",
        "api/admin",
        "api/*",
        "api/reаd", // Cyrillic 'а'
        "api/read\u{0}",
        "API/READ",
        "aws.cognito.signin.user.admin",
    ] {
        let mut pairs = vec![("grant_type", "client_credentials"), ("scope", scope)];
        pairs.extend_from_slice(&backend);
        assert_oauth_error(&token(&issuer, &pairs).await, 400, "invalid_scope");
    }
}

#[tokio::test]
async fn introspection_and_userinfo_refuse_what_they_should() {
    let issuer = demo().await;
    let rt = web_refresh_token(&issuer);
    // A public client cannot introspect; no client at all is invalid_client too.
    let reply = post_form(
        &issuer.introspection_endpoint(),
        &[("token", &rt), ("client_id", SPA)],
    )
    .await;
    assert_oauth_error(&reply, 401, "invalid_client");
    let reply = post_form(&issuer.introspection_endpoint(), &[("token", &rt)]).await;
    assert_oauth_error(&reply, 400, "invalid_client");
    // userInfo takes the token from the header only, never the query or body.
    let access = assert_refreshes(&issuer, &rt).await;
    let reply = get(&url_with(
        &issuer.userinfo_endpoint(),
        &[("access_token", &access)],
    ))
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{reply:?}");
    let reply = post_form(&issuer.userinfo_endpoint(), &[("access_token", &access)]).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{reply:?}");
    // Two Authorization headers: a malformed request.
    let reply = send(
        http()
            .get(issuer.userinfo_endpoint())
            .header(AUTHORIZATION, format!("Bearer {access}"))
            .header(AUTHORIZATION, format!("Bearer {access}")),
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{reply:?}");
    // A control: the header works.
    let reply = send(http().get(issuer.userinfo_endpoint()).bearer_auth(&access)).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
}

#[tokio::test]
async fn admin_paths_and_methods_that_do_not_exist() {
    let issuer = demo().await;
    let base = issuer.url();
    for path in [
        "/_admin/%2e%2e/oauth2/token",
        "/_admin/config/",
        "/_admin/CONFIG",
        "/_admin/clients%2F..%2Fconfig",
        "/_admin/keys/publish/x",
    ] {
        let reply = get(&format!("{base}{path}")).await;
        assert!(
            matches!(reply.status.as_u16(), 404 | 405),
            "{path}: {reply:?}"
        );
    }
    let reply = send(
        http()
            .delete(format!("{base}/_admin/config"))
            .header(CONTENT_TYPE, "application/json"),
    )
    .await;
    assert_oauth_error(&reply, 405, "method_not_allowed");
    let reply = post(
        &format!("{base}/_admin/jwks-fault"),
        Some("application/json"),
        r#"{"fault":{"status":99}}"#,
    )
    .await;
    assert_oauth_error(&reply, 400, "invalid_request");
    let reply = post(
        &format!("{base}/_admin/jwks-fault"),
        Some("application/json"),
        r#"{"fault":{"status":70000}}"#,
    )
    .await;
    assert_oauth_error(&reply, 400, "invalid_request");
}

// ---- token exchange ----------------------------------------------------------------------------

#[tokio::test]
async fn token_exchange_never_fetches_a_url_the_subject_token_names() {
    let issuer = demo().await;
    let trusted_key = support::TestKey::generate(Algorithm::ES256, "trusted");
    let attacker_key = support::TestKey::generate(Algorithm::ES256, "attacker");
    let legit = jwks_server::JwksServer::start(support::jwks(&[&trusted_key])).await;
    let evil = jwks_server::JwksServer::start(support::jwks(&[&attacker_key])).await;
    issuer
        .add_trusted_issuer(TrustedIssuer {
            issuer: legit.base.clone(),
            jwks_uri: legit.jwks_uri(),
            audience: Some("partner-api".into()),
            client_id: None,
        })
        .expect("a valid trusted issuer");
    let now = ManualClock::starting_now().now_unix();
    let claims = |iss: &str| json!({"iss": iss, "aud": "partner-api", "sub": "partner-user", "iat": now, "exp": now + 600});
    let exchange = |subject: String| {
        let url = issuer.token_endpoint();
        async move {
            post_form(
                &url,
                &[
                    (
                        "grant_type",
                        "urn:ietf:params:oauth:grant-type:token-exchange",
                    ),
                    ("subject_token", &subject),
                    (
                        "subject_token_type",
                        "urn:ietf:params:oauth:token-type:access_token",
                    ),
                    ("client_id", "demo-exchange"),
                    ("client_secret", "demo-exchange-secret"),
                ],
            )
            .await
        }
    };
    let pointing_to_evil = json!({
        "alg": "ES256",
        "kid": attacker_key.kid,
        "jku": evil.jwks_uri(),
        "x5u": format!("{}/cert.pem", evil.base),
        "jwk": attacker_key.jwk(),
    });
    // An untrusted issuer (the attacker's own server): refused before any fetch.
    let token = attacker_key.sign_token(&pointing_to_evil, &claims(&evil.base));
    assert_oauth_error(&exchange(token).await, 400, "invalid_request");
    assert_eq!(legit.jwks_hits(), 0);
    // The trusted issuer's name, the attacker's key and key URLs: the configured key set is
    // fetched, the attacker's never.
    let token = attacker_key.sign_token(&pointing_to_evil, &claims(&legit.base));
    assert_oauth_error(&exchange(token).await, 400, "invalid_request");
    let mut trusted_kid = pointing_to_evil.clone();
    trusted_kid["kid"] = json!(trusted_key.kid);
    let token = attacker_key.sign_token(&trusted_kid, &claims(&legit.base));
    assert_oauth_error(&exchange(token).await, 400, "invalid_request");
    assert!(legit.jwks_hits() >= 1);
    assert_eq!(
        evil.jwks_hits() + evil.discovery_hits() + evil.other_hits(),
        0
    );
    // A control: the trusted key's token is exchanged.
    let token = trusted_key.token(&claims(&legit.base));
    let reply = exchange(token).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(
        evil.jwks_hits() + evil.discovery_hits() + evil.other_hits(),
        0
    );
}
