//! Attacks on the `Authorization` header as `JwtAuthLayer` reads it: duplicated headers, two
//! tokens, control characters, and headers of 100 KiB. Every answer is 400 or 401 (403 for a
//! scope), never 500, and the protected handler is never called.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{HeaderValue, Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::json;
use tokengate::{AuthErrorKind, JwtAuthLayer, RequireScope};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tower::ServiceExt as _;

use crate::{access, access_claims, rsa, text, with};

/// Counts calls of the protected handler.
#[derive(Clone, Default)]
struct Hits(Arc<AtomicUsize>);

impl Hits {
    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// `/` behind `JwtAuthLayer` (Cognito access tokens at T0), `/read` also requiring
/// `api/read`.
fn app(hits: &Hits) -> Router {
    let (a, b) = (hits.0.clone(), hits.0.clone());
    Router::new()
        .route(
            "/",
            get(move || async move {
                a.fetch_add(1, Ordering::SeqCst);
                "through"
            }),
        )
        .merge(
            Router::new()
                .route(
                    "/read",
                    get(move || async move {
                        b.fetch_add(1, Ordering::SeqCst);
                        "read"
                    }),
                )
                .route_layer(RequireScope::all(["api/read"])),
        )
        .layer(JwtAuthLayer::new(access()))
}

/// What the client sees.
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    www_authenticate: Option<String>,
    body: String,
}

/// Sends `GET path` with these raw `Authorization` values through the app, in process.
async fn call(hits: &Hits, path: &str, values: &[HeaderValue]) -> Reply {
    let mut request = Request::builder().uri(path);
    for value in values {
        request = request.header("authorization", value.clone());
    }
    let response = app(hits)
        .oneshot(request.body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    let status = response.status();
    let www_authenticate = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().expect("ascii").to_owned());
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    Reply {
        status,
        www_authenticate,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

fn value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).expect("a valid header value")
}

fn bearer(token: &str) -> HeaderValue {
    value(&format!("Bearer {token}"))
}

/// Asserts a 400 `invalid_request`.
#[track_caller]
fn assert_invalid_request(reply: &Reply) {
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{reply:?}");
    assert!(
        reply
            .www_authenticate
            .as_deref()
            .is_some_and(|c| c.contains("error=\"invalid_request\"")),
        "{reply:?}"
    );
    let body: serde_json::Value = serde_json::from_str(&reply.body).expect("a JSON body");
    assert_eq!(body["error"], "invalid_request");
}

/// Asserts a 401 `invalid_token` naming `kind`.
#[track_caller]
fn assert_invalid_token(reply: &Reply, kind: AuthErrorKind) {
    assert_eq!(
        reply.status,
        StatusCode::UNAUTHORIZED,
        "{kind:?}: {reply:?}"
    );
    let body: serde_json::Value = serde_json::from_str(&reply.body).expect("a JSON body");
    assert_eq!(body["error"], "invalid_token", "{reply:?}");
    assert_eq!(body["error_description"], kind.description(), "{reply:?}");
}

fn good() -> String {
    rsa().token(&access_claims())
}

#[tokio::test]
async fn two_bearer_authorization_headers() {
    let hits = Hits::default();
    let good = good();
    for pair in [
        [bearer(&good), bearer(&good)],
        [bearer(&good), bearer("junk.junk.junk")],
        [bearer("junk.junk.junk"), bearer(&good)],
        [bearer(&good), value("Bearer")],
    ] {
        assert_invalid_request(&call(&hits, "/", &pair).await);
    }
    assert_eq!(hits.count(), 0);
    // A control: the same token once goes through.
    let reply = call(&hits, "/", &[bearer(&good)]).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(hits.count(), 1);
}

#[tokio::test]
async fn two_authorization_headers_of_different_schemes() {
    // RFC 9110 §5.3: `Authorization` is not a list; two field lines are a malformed request,
    // and a proxy that reads the first (Basic) and an app that reads the Bearer one must not
    // disagree about who is calling.
    let hits = Hits::default();
    let good = good();
    for pair in [
        [value("Basic YWxpY2U6cHc="), bearer(&good)],
        [bearer(&good), value("Basic YWxpY2U6cHc=")],
        [value("Digest username=\"alice\""), bearer(&good)],
    ] {
        assert_invalid_request(&call(&hits, "/", &pair).await);
    }
    assert_eq!(hits.count(), 0, "the handler was reached");
}

#[tokio::test]
async fn bearer_with_two_tokens() {
    let hits = Hits::default();
    let good = good();
    for text in [
        format!("Bearer {good} {good}"),
        format!("Bearer {good},{good}"),
        format!("Bearer {good}, Bearer {good}"),
        format!("Bearer {good}\t{good}"),
        format!("Bearer {good} x"),
        format!("Bearer x {good}"),
        format!("Bearer {good};{good}"),
    ] {
        assert_invalid_request(&call(&hits, "/", &[value(&text)]).await);
    }
    assert_eq!(hits.count(), 0);
}

#[tokio::test]
async fn token_with_nul_newline_or_other_control_characters() {
    let hits = Hits::default();
    let good = good();
    // What `HeaderValue` itself refuses never reaches a service.
    for bad in [
        format!("Bearer {good}\0"),
        format!("Bearer {good}\n"),
        format!("Bearer {good}\r\nX-Injected: 1"),
        format!("Bearer {good}\u{7f}"),
        format!("Bearer \u{1}{good}"),
    ] {
        assert!(HeaderValue::from_bytes(bad.as_bytes()).is_err(), "{bad:?}");
    }
    // What it accepts: a tab, and bytes beyond ASCII (valid UTF-8 or not).
    let mut values = vec![
        value(&format!("Bearer {good}\t")),
        value(&format!("Bearer \t{good}")),
        value(&format!("Bearer {}\t{}", &good[..10], &good[10..])),
        value(&format!("Bearer {good}é")),
        value(&format!("Bearer {}\u{200B}{}", &good[..10], &good[10..])),
    ];
    let mut raw = format!("Bearer {good}").into_bytes();
    raw.push(0xff);
    values.push(HeaderValue::from_bytes(&raw).expect("obs-text is a valid header value"));
    let mut raw = b"Bearer \xc3".to_vec();
    raw.extend(good.as_bytes());
    values.push(HeaderValue::from_bytes(&raw).expect("obs-text is a valid header value"));
    for value in values {
        assert_invalid_request(&call(&hits, "/", &[value]).await);
    }
    assert_eq!(hits.count(), 0);
}

/// A raw HTTP/1.1 exchange on a fresh connection to `addr`: the status line of the answer.
async fn raw_exchange(addr: std::net::SocketAddr, request: &[u8]) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request).await.expect("write");
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stream.read_to_end(&mut answer),
    )
    .await;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    answer.lines().next().unwrap_or_default().to_owned()
}

/// Serves `app` on a loopback port.
async fn serve(hits: &Hits) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = app(hits);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, task)
}

#[tokio::test]
async fn nul_and_newline_in_the_header_on_the_wire() {
    let hits = Hits::default();
    let (addr, task) = serve(&hits).await;
    let good = good();
    for (what, header) in [
        ("NUL", format!("Authorization: Bearer {good}\0\r\n")),
        ("bare LF", format!("Authorization: Bearer {good}\nx\r\n")),
        ("bare CR", format!("Authorization: Bearer {good}\rx\r\n")),
        ("obs-fold", format!("Authorization: Bearer\r\n {good}\r\n")),
        ("DEL", format!("Authorization: Bearer {good}\u{7f}\r\n")),
    ] {
        let request = format!("GET / HTTP/1.1\r\nHost: x\r\n{header}Connection: close\r\n\r\n");
        let status = raw_exchange(addr, request.as_bytes()).await;
        assert!(
            status.starts_with("HTTP/1.1 400"),
            "{what}: answered {status:?}"
        );
    }
    // A token with a tab inside, on the wire: the layer's own 400.
    let request = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\t{}\r\nConnection: close\r\n\r\n",
        &good[..10],
        &good[10..]
    );
    let status = raw_exchange(addr, request.as_bytes()).await;
    assert!(status.starts_with("HTTP/1.1 400"), "tab: {status:?}");
    assert_eq!(hits.count(), 0);
    task.abort();
}

#[tokio::test]
async fn authorization_header_of_100_kib() {
    let hits = Hits::default();
    let big = 100 * 1024;
    // A b64token of 100 KiB: a token, too large.
    let reply = call(&hits, "/", &[bearer(&"a".repeat(big))]).await;
    assert_invalid_token(&reply, AuthErrorKind::TokenTooLarge);
    // A real token padded to 100 KiB.
    let padded = format!("{}{}", good(), "A".repeat(big));
    assert_invalid_token(
        &call(&hits, "/", &[bearer(&padded)]).await,
        AuthErrorKind::TokenTooLarge,
    );
    // 100 KiB that is not a b64token: a malformed request.
    assert_invalid_request(&call(&hits, "/", &[bearer(&"!".repeat(big))]).await);
    assert_invalid_request(
        &call(
            &hits,
            "/",
            &[value(&format!("Bearer a {}", "b".repeat(big)))],
        )
        .await,
    );
    assert_eq!(hits.count(), 0);

    // On the wire too: a client error, never a server error.
    let (addr, task) = serve(&hits).await;
    let request = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        "a".repeat(big)
    );
    let status = raw_exchange(addr, request.as_bytes()).await;
    let code: u16 = status
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {status:?}"));
    assert!((400..500).contains(&code), "answered {status:?}");
    assert_eq!(hits.count(), 0);
    task.abort();
}

#[tokio::test]
async fn hostile_alg_through_the_layer_is_401_not_a_dropped_connection() {
    // The same `alg` values as `alg_with_multibyte_characters_is_unsupported_not_a_panic`,
    // through a real server: the client must get a 401, not a reset connection.
    let hits = Hits::default();
    let (addr, task) = serve(&hits).await;
    let header = crate::support::b64(text(&json!({"alg": "hé12", "kid": rsa().kid})));
    let payload = crate::support::b64(text(&access_claims()));
    let token = format!("{header}.{payload}.{}", crate::support::b64([7u8; 64]));
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let response = client
        .get(format!("http://{addr}/"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("an HTTP answer, not a dropped connection");
    assert_eq!(response.status().as_u16(), 401);
    // The server is still up for the next client.
    let response = client
        .get(format!("http://{addr}/"))
        .bearer_auth(good())
        .send()
        .await
        .expect("still serving");
    assert_eq!(response.status().as_u16(), 200);
    task.abort();
}

#[tokio::test]
async fn scope_look_alikes_never_meet_a_scope_requirement() {
    let hits = Hits::default();
    let with_scope = |scope: &str| rsa().token(&with(access_claims(), "scope", json!(scope)));
    // Look-alike characters: the claim itself is malformed.
    for scope in ["api/reаd", "api/read\u{200B}"] {
        let reply = call(&hits, "/read", &[bearer(&with_scope(scope))]).await;
        assert_invalid_token(&reply, AuthErrorKind::MalformedClaim);
    }
    // Well-formed scopes that only resemble `api/read`: 403 insufficient_scope.
    for scope in [
        "api/READ",
        "api/read-only",
        "api/rea",
        "api/readx api/write",
        "api/*",
    ] {
        let reply = call(&hits, "/read", &[bearer(&with_scope(scope))]).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{scope}: {reply:?}");
        assert!(
            reply
                .www_authenticate
                .as_deref()
                .is_some_and(|c| c.contains("insufficient_scope")),
            "{reply:?}"
        );
    }
    assert_eq!(hits.count(), 0);
    let reply = call(&hits, "/read", &[bearer(&with_scope("api/read"))]).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
}
