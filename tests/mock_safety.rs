//! The mock left running on a laptop: its admin API refuses what any web page can send and
//! names that are not its own, takes an optional admin token; the binary stays on loopback
//! unless told otherwise; every store is bounded (memory flat under a flood); two mocks on
//! one host keep their own sessions; no lifetime from a configuration can overflow.
#![cfg(all(feature = "mock", feature = "axum"))]

#[path = "support/e2e.rs"]
mod e2e;
#[path = "support/mock_binary.rs"]
mod mock_binary;

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::header::{
    ACCESS_CONTROL_ALLOW_ORIGIN, AUTHORIZATION, CONTENT_TYPE, HOST, ORIGIN, WWW_AUTHENTICATE,
};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokengate::mock::{Lifetimes, MockIssuer};
use tokengate::{Authorizer, ManualClock, Profile, RemoteJwks};

use e2e::{
    ALICE_PASSWORD, Approval, BOB_PASSWORD, Browser, WEB_CALLBACK, client_credentials,
    code_flow_with_pkce, device_flow, http, post_form, random_text, refresh,
};
use mock_binary::{TempFile, run_to_end, start_binary};

/// 9999-12-31T23:59:59Z: the last NumericDate verifiers read, where the mock caps expiries.
const MAX_DATE: u64 = 253_402_300_799;

async fn demo() -> MockIssuer {
    MockIssuer::demo().start().await.expect("the demo starts")
}

/// The status, headers and JSON body (`Null` when none) of a request.
async fn send(request: reqwest::RequestBuilder) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let response = request.send().await.expect("answered");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await.expect("a body");
    (
        status,
        headers,
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

/// What the admin API would reveal or change: users, keys in use, the JWKS fault.
async fn snapshot(issuer: &MockIssuer) -> (Vec<String>, Vec<String>, Value) {
    let users = issuer
        .config()
        .users
        .into_iter()
        .map(|u| u.username)
        .collect();
    let fault = send(http().get(format!("{}/_admin/jwks-fault", issuer.url())))
        .await
        .2;
    (users, issuer.kids(), fault)
}

// ---- what a web page can send ------------------------------------------------------------------

/// What `fetch(url, {method: "POST", mode: "no-cors", body})` can send from any page: no
/// preflight, so only `text/plain`, forms, multipart, or nothing.
fn simple_requests() -> Vec<(&'static str, Option<&'static str>, &'static str)> {
    let user = r#"{"username": "mallory", "password": "mallory-password"}"#;
    vec![
        ("/_admin/users", Some("text/plain"), user),
        ("/_admin/users", Some("text/plain;charset=UTF-8"), user),
        (
            "/_admin/users",
            Some("application/x-www-form-urlencoded"),
            user,
        ),
        (
            "/_admin/users",
            Some("multipart/form-data; boundary=x"),
            user,
        ),
        ("/_admin/users", None, user),
        (
            "/_admin/trusted-issuers",
            Some("text/plain"),
            r#"{"issuer": "https://evil.example", "jwks_uri": "https://evil.example/jwks",
               "audience": "x"}"#,
        ),
        (
            "/_admin/jwks-fault",
            Some("text/plain"),
            r#"{"fault": "hang"}"#,
        ),
        ("/_admin/keys/rotate", None, ""),
        ("/_admin/keys/publish", Some("text/plain"), ""),
    ]
}

#[tokio::test]
async fn a_web_pages_no_cors_posts_are_refused_and_change_nothing() {
    let issuer = demo().await;
    let before = snapshot(&issuer).await;
    for (path, content_type, body) in simple_requests() {
        for origin in [None, Some("http://evil.example")] {
            let mut request = http()
                .post(format!("{}{path}", issuer.url()))
                .body(body.to_owned());
            if let Some(content_type) = content_type {
                request = request.header(CONTENT_TYPE, content_type);
            }
            if let Some(origin) = origin {
                request = request.header(ORIGIN, origin);
            }
            let (status, headers, reply) = send(request).await;
            // A page's own origin is refused first; without one (curl), the content type.
            let expected = if origin.is_some() {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            };
            assert_eq!(
                status, expected,
                "{path} {content_type:?} {origin:?}: {reply}"
            );
            assert!(reply["error_description"].is_string(), "{reply}");
            assert!(!headers.contains_key(ACCESS_CONTROL_ALLOW_ORIGIN));
        }
    }
    assert_eq!(snapshot(&issuer).await, before, "nothing changed");
}

#[tokio::test]
async fn a_preflight_is_never_granted_and_json_from_another_page_is_refused() {
    let issuer = demo().await;
    let users = format!("{}/_admin/users", issuer.url());
    let (status, headers, _) = send(
        http()
            .request(Method::OPTIONS, &users)
            .header(ORIGIN, "http://evil.example")
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type"),
    )
    .await;
    assert!(!status.is_success(), "{status}");
    assert!(!headers.contains_key(ACCESS_CONTROL_ALLOW_ORIGIN));
    // Even a page on localhost, another port: not this server's origin.
    for origin in ["http://evil.example", "http://localhost:3000", "null"] {
        let (status, _, reply) = send(
            http()
                .post(&users)
                .header(ORIGIN, origin)
                .header(CONTENT_TYPE, "application/json")
                .body(r#"{"username": "mallory", "password": "x"}"#),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{origin}: {reply}");
    }
    // The mock's own origin (what a page it served would send) passes.
    let own = format!("http://127.0.0.1:{}", issuer.local_addr().port());
    let (status, _, reply) = send(
        http()
            .post(&users)
            .header(ORIGIN, own)
            .header(CONTENT_TYPE, "application/json")
            .body(r#"{"username": "carol", "password": "carol-password"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let users: Vec<String> = issuer
        .config()
        .users
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert!(users.contains(&"carol".to_owned()) && !users.contains(&"mallory".to_owned()));
}

// ---- DNS rebinding -----------------------------------------------------------------------------

#[tokio::test]
async fn a_rebinding_host_is_refused_and_reads_no_secret() {
    const ISSUER: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Mock";
    let issuer = MockIssuer::demo()
        .issuer_url(ISSUER)
        .start()
        .await
        .expect("starts");
    let port = issuer.local_addr().port();
    let config = format!("{}/_admin/config", issuer.url());
    for host in [
        format!("evil.example:{port}"),
        "evil.example".to_owned(),
        format!("localhost.evil.example:{port}"),
        format!("127.0.0.1.nip.io:{port}"),
        "mock:9000".to_owned(),
        String::new(),
    ] {
        let (status, _, reply) = send(http().get(&config).header(HOST, &host)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "Host {host:?}: {reply}");
        assert!(
            !reply.to_string().contains("demo-backend-secret"),
            "{reply}"
        );
    }
    // A rebinding page cannot change anything either.
    let (status, _, _) = send(
        http()
            .post(format!("{}/_admin/users", issuer.url()))
            .header(HOST, format!("evil.example:{port}"))
            .header(CONTENT_TYPE, "application/json")
            .body(r#"{"username": "mallory", "password": "x"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        issuer
            .config()
            .users
            .iter()
            .all(|u| u.username != "mallory")
    );
    // Its own names pass, with or without the port, in any case.
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("LocalHost:{port}"),
        format!("[::1]:{port}"),
        "localhost".to_owned(),
        "cognito-idp.eu-west-1.amazonaws.com".to_owned(),
    ] {
        let (status, _, reply) = send(http().get(&config).header(HOST, &host)).await;
        assert_eq!(status, StatusCode::OK, "Host {host}: {reply}");
    }
    // The OAuth endpoints answer under any name (a resource server in a container fetches
    // `http://mock:9000/.well-known/jwks.json`).
    let (status, _, keys) = send(http().get(issuer.jwks_uri()).header(HOST, "mock:9000")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(keys["keys"].is_array());
}

// ---- the admin token ---------------------------------------------------------------------------

#[tokio::test]
async fn with_an_admin_token_the_admin_api_needs_it() {
    let issuer = MockIssuer::demo()
        .admin_token("s3cret-admin-token")
        .start()
        .await
        .expect("starts");
    let config = format!("{}/_admin/config", issuer.url());
    for authorization in [
        None,
        Some("Bearer wrong"),
        Some("Bearer s3cret-admin-token-and-more"),
        Some("Bearer s3cret-admin-toke"),
        Some("Basic czNjcmV0LWFkbWluLXRva2Vu"),
        Some("s3cret-admin-token"),
    ] {
        let mut request = http().get(&config);
        if let Some(authorization) = authorization {
            request = request.header(AUTHORIZATION, authorization);
        }
        let (status, headers, reply) = send(request).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{authorization:?}: {reply}"
        );
        assert_eq!(reply["error"], "invalid_token");
        assert!(
            headers[WWW_AUTHENTICATE]
                .to_str()
                .is_ok_and(|v| v.starts_with("Bearer realm=")),
            "{headers:?}"
        );
    }
    let (status, _, reply) = send(http().get(&config).bearer_auth("s3cret-admin-token")).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["users"][0]["username"], "alice");
    let (status, _, _) = send(
        http()
            .post(format!("{}/_admin/keys/publish", issuer.url()))
            .bearer_auth("s3cret-admin-token")
            .header(CONTENT_TYPE, "application/json"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(issuer.kids().len(), 3);
    // The OAuth endpoints need no admin token.
    client_credentials(&http(), &issuer, "demo-backend", Some("api/read")).await;
}

#[tokio::test]
async fn an_empty_admin_token_is_a_configuration_error() {
    let err = MockIssuer::demo()
        .admin_token(" ")
        .start()
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("admin token"), "{err}");
}

// ---- loopback by default -----------------------------------------------------------------------

#[tokio::test]
async fn a_non_loopback_address_needs_an_explicit_opt_in() {
    let anywhere = SocketAddr::from(([0, 0, 0, 0], 0));
    let err = MockIssuer::demo()
        .addr(anywhere)
        .start()
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("allow_non_loopback"), "{err}");
    let issuer = MockIssuer::demo()
        .addr(anywhere)
        .allow_non_loopback()
        .start()
        .await
        .expect("allowed");
    assert!(issuer.local_addr().ip().is_unspecified());
}

#[test]
fn the_binary_refuses_a_non_loopback_address_unless_told_so_and_then_warns() {
    for args in [
        &["--addr", "0.0.0.0:0"][..],
        &["--addr", "[::]:0"],
        &["--addr", "0.0.0.0:0", "--allow-non-loopback=yes"],
        &[
            "--addr",
            "0.0.0.0:0",
            "--allow-non-loopback",
            "--allow-non-loopback",
        ],
        &["--addr", "127.0.0.1:0", "--admin-token", ""],
    ] {
        let (status, stderr) = run_to_end(args);
        assert_eq!(status.code(), Some(2), "{args:?}: {stderr}");
    }
    let (_, stderr) = run_to_end(&["--addr", "0.0.0.0:0"]);
    assert!(stderr.contains("--allow-non-loopback"), "{stderr}");

    let open = start_binary(&["--addr", "0.0.0.0:0", "--allow-non-loopback"]);
    let warning = open.stderr().join("\n");
    assert!(
        warning.contains("warning") && warning.contains("beyond loopback"),
        "{warning}"
    );
    assert!(warning.contains("no --admin-token"), "{warning}");

    let guarded = start_binary(&[
        "--addr",
        "0.0.0.0:0",
        "--allow-non-loopback",
        "--admin-token",
        "t0ken",
    ]);
    let warning = guarded.stderr().join("\n");
    assert!(warning.contains("needs the admin token"), "{warning}");
    assert!(
        guarded.output.join("\n").contains("Authorization: Bearer"),
        "{:?}",
        guarded.output
    );
}

#[tokio::test]
async fn the_binarys_admin_token_guards_the_admin_api() {
    let server = start_binary(&["--addr", "127.0.0.1:0", "--admin-token", "t0ken"]);
    let config = format!("{}/_admin/config", server.base);
    assert_eq!(send(http().get(&config)).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        send(http().get(&config).bearer_auth("t0ken")).await.0,
        StatusCode::OK
    );
}

// ---- one browser, two mocks --------------------------------------------------------------------

#[tokio::test]
async fn two_mocks_on_one_host_keep_their_own_sessions_in_one_browser() {
    let (a, b) = (demo().await, demo().await);
    assert_ne!(a.session_cookie_name(), b.session_cookie_name());
    let browser = Browser::new();
    let page = browser
        .sign_in(&a, &a.device_verification_uri(), "alice", ALICE_PASSWORD)
        .await;
    assert!(
        page.body.contains("Signed in as <strong>alice</strong>"),
        "{}",
        page.body
    );
    let page = browser
        .sign_in(&b, &b.device_verification_uri(), "bob", BOB_PASSWORD)
        .await;
    assert!(
        page.body.contains("Signed in as <strong>bob</strong>"),
        "{}",
        page.body
    );
    // Cookies are per host, not per port: one jar holds both, and each mock reads its own.
    let page = browser.get(&a.device_verification_uri()).await;
    assert_eq!(page.status, StatusCode::OK, "{:?}", page.location);
    assert!(
        page.body.contains("Signed in as <strong>alice</strong>"),
        "{}",
        page.body
    );
    let page = browser.get(&b.device_verification_uri()).await;
    assert!(
        page.body.contains("Signed in as <strong>bob</strong>"),
        "{}",
        page.body
    );
}

// ---- bounded stores ----------------------------------------------------------------------------

/// Signs in on the bare sign-in page; returns the session's `name=value`.
async fn session_cookie(issuer: &MockIssuer, username: &str, password: &str) -> String {
    let page = http()
        .get(issuer.login_url())
        .send()
        .await
        .expect("the sign-in page")
        .text()
        .await
        .expect("HTML");
    let marker = "name=\"csrf\" value=\"";
    let start = page.find(marker).expect("a CSRF field") + marker.len();
    let csrf = &page[start..start + page[start..].find('"').expect("a closing quote")];
    let response = http()
        .post(issuer.login_url())
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(e2e::form_encode(&[
            ("csrf", csrf),
            ("username", username),
            ("password", password),
        ]))
        .send()
        .await
        .expect("signed in");
    assert_eq!(response.status(), StatusCode::OK);
    let set = response.headers()[reqwest::header::SET_COOKIE]
        .to_str()
        .expect("ASCII");
    assert!(set.starts_with(issuer.session_cookie_name()), "{set}");
    set.split(';').next().expect("name=value").to_owned()
}

/// Runs `requests` requests from `tasks` concurrent tasks; `make(i)` builds the i-th.
async fn flood<F>(requests: usize, tasks: usize, make: F)
where
    F: Fn(usize) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let mut handles = Vec::new();
    for task in 0..tasks {
        let make = Arc::clone(&make);
        handles.push(tokio::spawn(async move {
            for i in (task..requests).step_by(tasks) {
                let response = make(i).send().await.expect("answered");
                assert!(
                    !response.status().is_server_error(),
                    "request {i}: {}",
                    response.status()
                );
                let _ = response.bytes().await;
            }
        }));
    }
    for handle in handles {
        handle.await.expect("the flood task");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_store_stays_within_its_bounds_under_a_flood() {
    // Just past the 10,000-entry bounds: each store fills, then prunes on every insert.
    const EACH: usize = 10_200;
    const PATHS: usize = 2_000;
    let issuer = demo().await;
    let base = issuer.url().to_owned();
    let client = http();
    // A signed-in session, for codes.
    let cookie = session_cookie(&issuer, "alice", ALICE_PASSWORD).await;
    let authorize = format!(
        "{base}/oauth2/authorize?response_type=code&client_id=demo-web&scope=openid\
         &redirect_uri=http%3A%2F%2Flocalhost%3A8000%2Fcallback"
    );
    let requests: Vec<Box<dyn Fn(usize) -> reqwest::RequestBuilder + Send + Sync>> = vec![
        // A CSRF token each.
        Box::new({
            let (client, base) = (client.clone(), base.clone());
            move |_| client.get(format!("{base}/login"))
        }),
        // A device code each.
        Box::new({
            let (client, base) = (client.clone(), base.clone());
            move |_| {
                client
                    .post(format!("{base}/oauth2/device_authorization"))
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body("client_id=demo-device&scope=openid")
            }
        }),
        // An authorization code each.
        Box::new({
            let client = client.clone();
            move |i| {
                client
                    .get(format!("{authorize}&state={i}"))
                    .header("cookie", cookie.clone())
            }
        }),
    ];
    for make in requests {
        flood(EACH, 8, make).await;
    }
    // Paths nobody serves, 900 bytes long, each different.
    flood(PATHS, 8, move |i| {
        client.get(format!("{base}/{i}/{}", "x".repeat(900)))
    })
    .await;
    let sizes = issuer.store_sizes();
    for store in &sizes {
        assert!(
            store.entries <= store.max_entries && store.bytes <= store.max_bytes,
            "{store:?}"
        );
    }
    let size = |name: &str| {
        sizes
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no store {name}"))
            .clone()
    };
    // Filled to the bound, then pruned on every insert: the newest kept.
    for name in ["csrf", "devices", "codes"] {
        assert_eq!(
            size(name).entries,
            size(name).max_entries,
            "{:?}",
            size(name)
        );
    }
    let log = size("requests");
    assert_eq!(log.entries, log.max_entries, "{log:?}");
    // Counted by route: a handful of keys, not one per path.
    assert!(
        size("request_counts").entries <= 8,
        "{:?}",
        issuer.request_counts()
    );
    assert_eq!(issuer.request_count("(no route)"), PATHS as u64);
    // The flood's, and the two of signing in.
    assert_eq!(issuer.request_count("/login"), EACH as u64 + 2);
    let last = issuer.requests().last().cloned().expect("a logged request");
    assert!(last.path().ends_with(&"x".repeat(900)), "{last:?}");
    for store in &sizes {
        eprintln!(
            "{:<18} {:>6} entries {:>10} bytes (bounds {} / {})",
            store.name, store.entries, store.bytes, store.max_entries, store.max_bytes
        );
    }
}

/// The resident set of a process, in KiB (`/proc/PID/status`).
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmRSS line")
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binarys_memory_is_flat_under_100000_requests_to_random_paths() {
    let server = start_binary(&["--addr", "127.0.0.1:0"]);
    let base = Arc::new(server.base.clone());
    let client = http();
    // A third each: new paths nobody serves (1 KB, random), sign-in pages (a CSRF token
    // each), device authorizations (a device code each).
    let request = move |i: usize| match i % 3 {
        0 => client.get(format!("{base}/{}", random_text(700))),
        1 => client.get(format!("{base}/login?{}", random_text(32))),
        _ => client
            .post(format!("{base}/oauth2/device_authorization"))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body("client_id=demo-device&scope=openid"),
    };
    let request = Arc::new(request);
    let mut rounds = Vec::new();
    let start = rss_kib(server.pid());
    // Round 1 fills every store to its bound (10,000 CSRF tokens, device codes, log
    // entries); the rounds after must not grow.
    for round in 0..5 {
        let request = Arc::clone(&request);
        flood(20_000, 8, move |i| request(round * 20_000 + i)).await;
        rounds.push(rss_kib(server.pid()));
    }
    eprintln!("RSS (KiB): at start {start}, after each 20,000 requests {rounds:?}");
    let growth = rounds[4].saturating_sub(rounds[1]);
    assert!(
        growth < 8 * 1024,
        "RSS grew {growth} KiB over the last 60,000 requests: {rounds:?}"
    );
}

// ---- time arithmetic ---------------------------------------------------------------------------

/// Every lifetime and interval as long as it can be: Cognito's maxima for the tokens (longer
/// ones are refused as Cognito refuses them), the largest number for what Cognito does not
/// bound (codes, device polling).
fn huge() -> Lifetimes {
    Lifetimes {
        access_token: 86_400,
        id_token: 86_400,
        refresh_token: 3_650 * 86_400,
        authorization_code: u64::MAX,
        device_code: u64::MAX,
        device_interval: u64::MAX,
    }
}

fn payload(token: &str) -> Value {
    use base64::Engine as _;
    let segment = token.split('.').nth(1).expect("a payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON")
}

#[tokio::test]
async fn huge_lifetimes_saturate_at_the_last_readable_date_through_every_grant() {
    // An hour before the last readable date: every token's lifetime reaches past it.
    let clock = ManualClock::new(MAX_DATE - 3_600);
    let issuer = MockIssuer::demo()
        .lifetimes(huge())
        .clock(clock.clone())
        .start()
        .await
        .expect("starts");
    let check = |token: &str| {
        let claims = payload(token);
        assert_eq!(claims["exp"].as_u64(), Some(MAX_DATE), "{claims}");
    };
    let backend = client_credentials(&http(), &issuer, "demo-backend", None).await;
    check(&backend.access_token);
    let web = code_flow_with_pkce(
        &issuer,
        "demo-web",
        WEB_CALLBACK,
        "openid email api/read",
        ("alice", ALICE_PASSWORD),
    )
    .await;
    check(&web.access_token);
    check(web.id_token.as_deref().expect("an ID token"));
    let again = refresh(
        &issuer,
        "demo-web",
        web.refresh_token.as_deref().expect("a refresh token"),
        None,
    )
    .await;
    check(&again.access_token);
    let device = device_flow(&issuer, "demo-device", "openid", Approval::TestApi("alice")).await;
    check(&device.access_token);
    // The tokens validate: an expiry past year 9999 would not.
    let authorizer = issuer
        .authorizer(Profile::cognito_access())
        .expect("builder")
        .client_id("demo-web")
        .clock(clock.clone())
        .build()
        .expect("valid authorizer settings");
    authorizer
        .authorize::<()>(&again.access_token)
        .await
        .expect("valid");
    let (status, body) = post_form(
        &http(),
        &issuer.device_authorization_endpoint(),
        None,
        &[("client_id", "demo-device"), ("scope", "openid")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["interval"].as_u64(), Some(u64::MAX));
    assert!(
        body["expires_in"]
            .as_u64()
            .is_some_and(|e| e > 0 && e <= MAX_DATE)
    );
    // Tokens minted directly and revocations use the same arithmetic.
    check(
        &issuer
            .access_token()
            .client("demo-web")
            .user("alice")
            .sign()
            .expect("minted"),
    );
    check(
        &issuer
            .id_token()
            .client("demo-web")
            .user("alice")
            .sign()
            .expect("minted"),
    );
    let (status, _) = post_form(
        &http(),
        &issuer.revocation_endpoint(),
        Some(("demo-web", "demo-web-secret")),
        &[("token", web.refresh_token.as_deref().expect("refresh"))],
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn the_binary_takes_the_largest_lifetimes_toml_can_write() {
    let config = TempFile::new(
        "huge.toml",
        r#"
[[clients]]
id = "backend"
secret = "backend-secret"
grants = ["client_credentials"]
scopes = ["api/read"]

[[resource_servers]]
identifier = "api"
scopes = ["read"]

[lifetimes]
access_token = 86400
id_token = 86400
refresh_token = 315360000
authorization_code = 9223372036854775807
device_code = 9223372036854775807
device_interval = 9223372036854775807
"#,
    );
    let server = start_binary(&["--config", config.path(), "--addr", "127.0.0.1:0"]);
    let response = http()
        .post(format!("{}/oauth2/token", server.base))
        .basic_auth("backend", Some("backend-secret"))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), 200);
    let body: Value =
        serde_json::from_slice(&response.bytes().await.expect("a body")).expect("JSON");
    let token = body["access_token"].as_str().expect("a token");
    let claims = payload(token);
    assert_eq!(
        claims["exp"].as_u64(),
        claims["iat"].as_u64().map(|iat| iat + 86_400)
    );
    let issuer = format!("{}/us-east-1_tokengate", server.base);
    let authorizer = Authorizer::builder(Profile::cognito_access())
        .issuer(issuer.clone())
        .remote_jwks(RemoteJwks::discover(issuer).expect("url"))
        .client_id("backend")
        .build()
        .expect("valid authorizer settings");
    authorizer.authorize::<()>(token).await.expect("valid");
    assert_eq!(body["expires_in"].as_u64(), Some(86_400));
}
