//! The mock issuer's hosted pages in a real browser: headless Chromium driven over WebDriver
//! (ChromeDriver + `fantoccini`). A user signs in on `/login` for the authorization code flow
//! with PKCE, and approves a device on `/device`; the tokens then open a protected axum API
//! behind tokengate's `JwtAuthLayer`.
//!
//! Needs `chromedriver` (and Chromium) on `PATH`: `apt-get install chromium chromium-driver`.
//! Without it the tests say so and pass, unless `CI=true`, where a missing driver fails them.
#![cfg(all(feature = "mock", feature = "axum"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::io::Write as _;
use std::net::TcpListener as StdListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_lc_rs::digest::{SHA256, digest};
use axum::Router;
use axum::response::Html;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fantoccini::{Client as Browser, ClientBuilder, Locator};
use reqwest::{StatusCode, Url};
use serde_json::{Value, json};
use tokengate::mock::{Client, Grant, MockIssuer};
use tokengate::{Claims, JwtAuthLayer, Profile};

/// The longest any single wait (page, element, URL, driver start, HTTP call) may take.
const WAIT: Duration = Duration::from_secs(20);
/// The longest a whole test body may take in the browser.
const TEST_BUDGET: Duration = Duration::from_secs(120);

const ALICE_SUB: &str = "8f2c1e4a-0000-4000-8000-00000000a11c";
const WEB_CLIENT: &str = "browser-web";
const WEB_SECRET: &str = "browser-web-secret";
const DEVICE_CLIENT: &str = "demo-device";
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

// ------------------------------------------------------------------------------------------
// ChromeDriver and the browser session
// ------------------------------------------------------------------------------------------

/// `chromedriver` on `PATH`, if there is one.
fn find_chromedriver() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("chromedriver"))
        .find(|candidate| candidate.is_file())
}

/// The skipping rule: `None` (and a message) when there is no driver and this is not CI;
/// under `CI=true` a missing driver is a failure, never a skip.
fn chromedriver_or_skip(test: &str) -> Option<PathBuf> {
    if let Some(path) = find_chromedriver() {
        return Some(path);
    }
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!(
            "{test}: `chromedriver` is not on PATH and CI=true, so this test must run: \
             install it (`apt-get install -y chromium chromium-driver`)"
        );
    }
    // Straight to stderr, not `eprintln!`: the harness would hide it on a passing test.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: `chromedriver` is not on PATH (install Chromium and ChromeDriver, \
         e.g. `apt-get install -y chromium chromium-driver`, to run the browser tests; \
         with CI=true a missing driver fails instead)"
    );
    None
}

/// A running `chromedriver`, killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

impl Driver {
    /// Starts `chromedriver` on a free port and waits (bounded) until it reports ready.
    async fn start(path: &PathBuf) -> Driver {
        let port = free_port();
        let child = Command::new(path)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", path.display()));
        let mut driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let status_url = format!("{}/status", driver.url);
        let http = http();
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(exit) = driver.child.try_wait().expect("chromedriver status") {
                panic!("chromedriver exited before it was ready: {exit}");
            }
            if let Ok(response) = http.get(&status_url).send().await {
                let body = response.bytes().await.unwrap_or_default();
                let ready = serde_json::from_slice::<Value>(&body)
                    .is_ok_and(|v| v["value"]["ready"] == json!(true));
                if ready {
                    return driver;
                }
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver on port {port} not ready after {WAIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Headless Chromium; `--no-sandbox` because CI runs as root.
fn capabilities() -> fantoccini::wd::Capabilities {
    let caps = json!({
        "goog:chromeOptions": {
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--window-size=1024,768",
            ]
        },
        // Bounded navigation: a page that never loads fails the command, not the whole run.
        "timeouts": { "pageLoad": WAIT.as_millis() as u64, "script": WAIT.as_millis() as u64 },
    });
    match caps {
        Value::Object(map) => map,
        _ => unreachable!(),
    }
}

/// Runs `body` against a fresh browser session. On failure (panic or timeout) prints where
/// the browser was and the page source, then fails with the original message. The session
/// is closed and the driver stopped either way.
async fn with_browser<F, Fut>(test: &str, body: F)
where
    F: FnOnce(Browser) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(path) = chromedriver_or_skip(test) else {
        return;
    };
    let started = Instant::now();
    let driver = Driver::start(&path).await;
    let mut builder = ClientBuilder::rustls().expect("a rustls WebDriver connector");
    builder.capabilities(capabilities());
    let browser = tokio::time::timeout(WAIT, builder.connect(&driver.url))
        .await
        .unwrap_or_else(|_| panic!("no WebDriver session after {WAIT:?}"))
        .unwrap_or_else(|e| panic!("cannot start a Chromium session via {}: {e}", driver.url));
    eprintln!("{test}: browser session ready in {:?}", started.elapsed());

    let task = tokio::spawn(body(browser.clone()));
    let abort = task.abort_handle();
    let outcome = tokio::time::timeout(TEST_BUDGET, task).await;
    let failure = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(join)) if join.is_panic() => Some(join.into_panic()),
        Ok(Err(join)) => Some(Box::new(format!("{test}: the test task failed: {join}")) as _),
        Err(_) => {
            abort.abort();
            Some(Box::new(format!("{test}: did not finish within {TEST_BUDGET:?}")) as _)
        }
    };
    if failure.is_some() {
        let url = match tokio::time::timeout(WAIT, browser.current_url()).await {
            Ok(Ok(url)) => url.to_string(),
            other => format!("(unknown: {other:?})"),
        };
        let source = tokio::time::timeout(WAIT, browser.source()).await;
        eprintln!("---- {test} failed; the browser was at {url}");
        match source {
            Ok(Ok(source)) => eprintln!("---- page source:\n{source}\n---- end of page source"),
            other => eprintln!("---- page source unavailable: {other:?}"),
        }
    }
    let _ = tokio::time::timeout(WAIT, browser.close()).await;
    drop(driver);
    eprintln!("{test}: {:?} in the browser", started.elapsed());
    if let Some(panic) = failure {
        std::panic::resume_unwind(panic);
    }
}

/// Waits (bounded) until the browser's URL starts with `prefix`; returns it.
async fn wait_for_url(browser: &Browser, prefix: &str) -> Url {
    let deadline = Instant::now() + WAIT;
    loop {
        let url = browser.current_url().await.expect("the current URL");
        if url.as_str().starts_with(prefix) {
            return url;
        }
        assert!(
            Instant::now() < deadline,
            "waited {WAIT:?} for a URL starting with {prefix}; the browser is at {url}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits (bounded) until the page's source contains `text`; returns the source.
async fn wait_for_text(browser: &Browser, text: &str) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let source = browser.source().await.expect("the page source");
        if source.contains(text) {
            return source;
        }
        assert!(
            Instant::now() < deadline,
            "waited {WAIT:?} for the page to show {text:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The element matching the CSS `selector`, waiting (bounded) for it to appear.
async fn element(browser: &Browser, selector: &str) -> fantoccini::elements::Element {
    browser
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(selector))
        .await
        .unwrap_or_else(|e| panic!("no element `{selector}` within {WAIT:?}: {e}"))
}

/// Types the credentials into the hosted form (inputs found by name) and submits it.
async fn sign_in(browser: &Browser, username: &str, password: &str) {
    element(browser, "input[name='username']")
        .await
        .send_keys(username)
        .await
        .expect("type the user name");
    element(browser, "input[name='password']")
        .await
        .send_keys(password)
        .await
        .expect("type the password");
    element(browser, "form button[type='submit']")
        .await
        .click()
        .await
        .expect("click Sign in");
}

/// Asserts a PNG with a non-empty image: signature, then an `IHDR` with width and height.
fn assert_png(bytes: &[u8]) {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    assert!(bytes.len() > 24, "a screenshot of {} bytes", bytes.len());
    assert_eq!(&bytes[..8], SIGNATURE, "PNG magic bytes");
    assert_eq!(&bytes[12..16], b"IHDR", "a PNG header chunk");
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert!(width > 0 && height > 0, "a {width}x{height} screenshot");
}

// ------------------------------------------------------------------------------------------
// The issuer, the protected API, HTTP helpers
// ------------------------------------------------------------------------------------------

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(WAIT)
        .build()
        .expect("a reqwest client")
}

/// Who the API sees: the token's claims, as JSON.
async fn me(claims: Claims) -> axum::Json<Value> {
    axum::Json(json!({
        "username": claims.username(),
        "sub": claims.subject(),
        "client_id": claims.client_id(),
        "scopes": claims.scopes().iter().collect::<Vec<_>>(),
    }))
}

/// The web app's redirect target: it only shows that it was reached; the test reads the
/// code and state from the browser's URL.
async fn callback() -> Html<&'static str> {
    Html("<!doctype html><title>Callback</title><p id=\"callback\">callback received</p>")
}

/// The demo pool plus `browser-web`, redirecting to the API's `/callback`; the API
/// (`/me` behind `JwtAuthLayer`, accepting `browser-web` and `demo-device` tokens) and its
/// base URL. Both stop when the test's runtime ends.
async fn start() -> (MockIssuer, String) {
    let issuer = MockIssuer::demo()
        .start()
        .await
        .expect("the mock issuer starts");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port for the API");
    // `localhost`, not 127.0.0.1: Cognito (and the mock) allow plain HTTP redirect URIs only
    // for http://localhost.
    let port = listener.local_addr().expect("an address").port();
    let api = format!("http://localhost:{port}");
    issuer
        .add_client(
            Client::confidential(WEB_CLIENT, WEB_SECRET)
                .redirect_uri(format!("{api}/callback"))
                .grants([Grant::AuthorizationCode, Grant::RefreshToken])
                .scopes(["openid", "email", "api/read"]),
        )
        .expect("a valid client");
    let authorizer = issuer
        .authorizer(Profile::cognito_access())
        .expect("an authorizer builder")
        .client_id(WEB_CLIENT)
        .client_id(DEVICE_CLIENT)
        .build()
        .expect("valid authorizer settings");
    let app = Router::new()
        .route("/me", get(me))
        .route_layer(JwtAuthLayer::new(authorizer))
        .route("/callback", get(callback));
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("the API serves");
    });
    (issuer, api)
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut url = Url::parse("http://x/").unwrap();
    url.query_pairs_mut().extend_pairs(pairs);
    url.query().unwrap_or_default().to_owned()
}

/// POSTs a form (with Basic client authentication when given); the status and JSON body.
async fn post_form(
    url: &str,
    pairs: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> (StatusCode, Value) {
    let mut request = http()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(pairs));
    if let Some((user, password)) = basic {
        request = request.basic_auth(user, Some(password));
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    let status = response.status();
    let body = response.bytes().await.expect("a body");
    let json = serde_json::from_slice(&body).unwrap_or_else(|e| {
        panic!(
            "POST {url}: {status}, not JSON ({e}): {}",
            String::from_utf8_lossy(&body)
        )
    });
    (status, json)
}

/// `GET {api}/me` with `token`: the status and JSON body (`null` when not JSON).
async fn call_api(api: &str, token: Option<&str>) -> (StatusCode, Value) {
    let mut request = http().get(format!("{api}/me"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("the API answers");
    let status = response.status();
    let body = response.bytes().await.expect("a body");
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).expect("random bytes");
    URL_SAFE_NO_PAD.encode(bytes)
}

// ------------------------------------------------------------------------------------------
// The tests
// ------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_code_with_pkce_through_the_hosted_sign_in_page() {
    with_browser("code flow", |browser| async move {
        let (issuer, api) = start().await;
        let redirect_uri = format!("{api}/callback");
        let verifier = random_token();
        let challenge = URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()));
        let state = random_token();
        let authorize = Url::parse_with_params(
            &issuer.authorize_endpoint(),
            [
                ("response_type", "code"),
                ("client_id", WEB_CLIENT),
                ("redirect_uri", redirect_uri.as_str()),
                ("state", state.as_str()),
                ("scope", "openid api/read"),
                ("code_challenge", challenge.as_str()),
                ("code_challenge_method", "S256"),
            ],
        )
        .expect("an authorization URL");

        // Not signed in: the authorization endpoint sends the browser to the hosted form.
        browser
            .goto(authorize.as_str())
            .await
            .expect("open /oauth2/authorize");
        wait_for_url(&browser, &format!("{}?", issuer.login_url())).await;
        assert_eq!(browser.title().await.expect("a title"), "Sign in");
        let screenshot = browser.screenshot().await.expect("a screenshot");
        assert_png(&screenshot);

        // Sign in as a person would: type into the inputs, click the button.
        sign_in(&browser, "alice", "alice-password").await;

        // /login → 302 /oauth2/authorize → 302 the callback, with the code and our state.
        let back = wait_for_url(&browser, &format!("{redirect_uri}?")).await;
        wait_for_text(&browser, "callback received").await;
        let params: Vec<(String, String)> = back.query_pairs().into_owned().collect();
        let param = |name: &str| {
            params
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(param("error"), None, "an error at the callback: {back}");
        assert_eq!(param("state").as_deref(), Some(state.as_str()), "{back}");
        let code = param("code").unwrap_or_else(|| panic!("no code at the callback: {back}"));

        // The web app's back end redeems the code with the PKCE verifier.
        let (status, tokens) = post_form(
            &issuer.token_endpoint(),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &redirect_uri),
                ("code_verifier", &verifier),
            ],
            Some((WEB_CLIENT, WEB_SECRET)),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        assert_eq!(tokens["token_type"], "Bearer", "{tokens}");
        assert!(tokens["id_token"].is_string(), "{tokens}");
        assert!(tokens["refresh_token"].is_string(), "{tokens}");
        let access = tokens["access_token"].as_str().expect("an access token");

        // The code is single-use.
        let (again, _) = post_form(
            &issuer.token_endpoint(),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &redirect_uri),
                ("code_verifier", &verifier),
            ],
            Some((WEB_CLIENT, WEB_SECRET)),
        )
        .await;
        assert_eq!(again, StatusCode::BAD_REQUEST);

        // The protected API: refused without a token, alice with it.
        assert_eq!(call_api(&api, None).await.0, StatusCode::UNAUTHORIZED);
        let (status, who) = call_api(&api, Some(access)).await;
        assert_eq!(status, StatusCode::OK, "{who}");
        assert_eq!(who["username"], "alice", "{who}");
        assert_eq!(who["sub"], ALICE_SUB, "{who}");
        assert_eq!(who["client_id"], WEB_CLIENT, "{who}");
        assert!(
            who["scopes"]
                .as_array()
                .is_some_and(|s| s.contains(&json!("api/read"))),
            "{who}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_authorization_approved_on_the_device_page() {
    with_browser("device flow", |browser| async move {
        let (issuer, api) = start().await;

        // The device asks for codes.
        let (status, grant) = post_form(
            &issuer.device_authorization_endpoint(),
            &[("client_id", DEVICE_CLIENT), ("scope", "openid api/read")],
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{grant}");
        let user_code = grant["user_code"].as_str().expect("a user code").to_owned();
        let device_code = grant["device_code"]
            .as_str()
            .expect("a device code")
            .to_owned();
        let complete = grant["verification_uri_complete"]
            .as_str()
            .expect("verification_uri_complete")
            .to_owned();
        let interval = grant["interval"].as_u64().unwrap_or(5);

        // The user opens the link, is sent to sign in, and comes back to /device.
        browser
            .goto(&complete)
            .await
            .expect("open the verification URI");
        wait_for_url(&browser, &format!("{}?next=", issuer.login_url())).await;
        sign_in(&browser, "alice", "alice-password").await;
        wait_for_url(
            &browser,
            &format!("{}?user_code=", issuer.device_verification_uri()),
        )
        .await;
        let source = wait_for_text(&browser, "Signed in as <strong>alice</strong>").await;
        assert!(source.contains(DEVICE_CLIENT), "the page names the client");
        let prefilled = element(&browser, "input[name='user_code']")
            .await
            .prop("value")
            .await
            .expect("the code field's value");
        assert_eq!(prefilled.as_deref(), Some(user_code.as_str()));

        // Approve.
        element(&browser, "button[name='action'][value='approve']")
            .await
            .click()
            .await
            .expect("click Approve");
        wait_for_text(&browser, "Device approved").await;

        // The device polls (bounded) and gets its tokens.
        let deadline = Instant::now() + WAIT;
        let tokens = loop {
            let (status, body) = post_form(
                &issuer.token_endpoint(),
                &[
                    ("grant_type", DEVICE_GRANT),
                    ("client_id", DEVICE_CLIENT),
                    ("device_code", &device_code),
                ],
                None,
            )
            .await;
            if status == StatusCode::OK {
                break body;
            }
            let pending = matches!(
                body["error"].as_str(),
                Some("authorization_pending" | "slow_down")
            );
            assert!(pending, "the device poll failed: {status} {body}");
            assert!(
                Instant::now() < deadline,
                "no tokens within {WAIT:?}: {body}"
            );
            tokio::time::sleep(Duration::from_secs(interval)).await;
        };
        assert_eq!(tokens["token_type"], "Bearer", "{tokens}");
        let access = tokens["access_token"].as_str().expect("an access token");

        let (status, who) = call_api(&api, Some(access)).await;
        assert_eq!(status, StatusCode::OK, "{who}");
        assert_eq!(who["username"], "alice", "{who}");
        assert_eq!(who["sub"], ALICE_SUB, "{who}");
        assert_eq!(who["client_id"], DEVICE_CLIENT, "{who}");
    })
    .await;
}
