//! The mock issuer's device authorization grant (RFC 8628) and token exchange (RFC 8693), over
//! real HTTP on loopback: the device polls, a user signs in on the hosted pages and decides on
//! `/device`, and external tokens are traded for the mock's own.
#![cfg(feature = "mock")]

#[path = "support/oauth_client.rs"]
mod oauth_client;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use oauth2::basic::BasicClient;
use oauth2::url::{Url, form_urlencoded};
use oauth2::{
    ClientId, DeviceAuthorizationUrl, Scope, StandardDeviceAuthorizationResponse,
    TokenResponse as _, TokenUrl,
};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use serde_json::Value;
use tokengate::mock::{Client, Forgery, Grant, MockIssuer, ResourceServer, TrustedIssuer, User};
use tokengate::{ManualClock, Profile};

use oauth_client::http_client;

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
const ALICE_SUB: &str = "8f2c1e4a-0000-4000-8000-00000000a11c";

// ------------------------------------------------------------------------------------------
// Fixtures and HTTP helpers
// ------------------------------------------------------------------------------------------

struct Fixture {
    issuer: MockIssuer,
    clock: ManualClock,
}

fn alice() -> User {
    User::new("alice", "alice-password")
        .subject(ALICE_SUB)
        .email("alice@example.com")
        .groups(["admins"])
}

/// `tv` and `console` (public, device grant), `kiosk` (confidential, device grant), `web`
/// (no device grant), `exchanger` (confidential, token exchange, custom scopes only),
/// `plain` (confidential, client credentials only).
async fn start() -> Fixture {
    start_with(|b| b).await
}

async fn start_with(
    extra: impl FnOnce(tokengate::mock::MockIssuerBuilder) -> tokengate::mock::MockIssuerBuilder,
) -> Fixture {
    let clock = ManualClock::starting_now();
    let device = |c: Client| {
        c.grants([Grant::DeviceCode, Grant::RefreshToken]).scopes([
            "openid",
            "email",
            "api/read",
            "api/write",
        ])
    };
    let builder = MockIssuer::builder()
        .clock(clock.clone())
        .resource_server(ResourceServer::new("api", ["read", "write"]))
        .client(device(Client::public("tv")))
        .client(device(Client::public("console")))
        .client(device(Client::confidential("kiosk", "kiosk-secret")))
        .client(
            Client::public("web")
                .grants([Grant::AuthorizationCode])
                .redirect_uri("http://localhost:8000/callback")
                .scopes(["openid", "api/read"]),
        )
        .client(
            Client::confidential("exchanger", "exchanger-secret")
                .grants([Grant::TokenExchange])
                .scopes(["openid", "api/read", "api/write"]),
        )
        .client(
            Client::confidential("plain", "plain-secret")
                .grants([Grant::ClientCredentials])
                .scopes(["api/read"]),
        )
        .user(alice())
        .user(User::new("<b>mallory</b>", "mallory-password"));
    let issuer = extra(builder)
        .start()
        .await
        .expect("the mock issuer starts");
    Fixture { issuer, clock }
}

fn encode(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a reqwest client")
}

/// POSTs a form, optionally with Basic client authentication; returns the status and JSON.
async fn post_json(
    url: &str,
    pairs: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> (StatusCode, Value) {
    let mut request = http()
        .post(url)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(encode(pairs));
    if let Some((id, secret)) = basic {
        request = request.header(
            AUTHORIZATION,
            format!("Basic {}", STANDARD.encode(format!("{id}:{secret}"))),
        );
    }
    let response = request.send().await.expect("the request is answered");
    let status = response.status();
    let body = response.bytes().await.expect("a body");
    let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
    (status, json)
}

/// Starts a device authorization for a public client.
async fn authorize_device(fx: &Fixture, client_id: &str, scope: Option<&str>) -> Value {
    let mut pairs = vec![("client_id", client_id)];
    if let Some(scope) = scope {
        pairs.push(("scope", scope));
    }
    let (status, body) = post_json(&fx.issuer.device_authorization_endpoint(), &pairs, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// One poll of the token endpoint by a public client.
async fn poll(fx: &Fixture, client_id: &str, device_code: &str) -> (StatusCode, Value) {
    post_json(
        &fx.issuer.token_endpoint(),
        &[
            ("grant_type", DEVICE_GRANT),
            ("client_id", client_id),
            ("device_code", device_code),
        ],
        None,
    )
    .await
}

fn error_of(body: &Value) -> &str {
    body["error"].as_str().unwrap_or("<no error>")
}

fn str_of<'a>(body: &'a Value, name: &str) -> &'a str {
    body[name]
        .as_str()
        .unwrap_or_else(|| panic!("`{name}` in {body}"))
}

/// The `value` of the input named `name` in a page (values here need no unescaping but `&amp;`).
fn input_value(html: &str, name: &str) -> Option<String> {
    let start = html.find(&format!("name=\"{name}\""))?;
    let tag_start = html[..start].rfind('<')?;
    let tag_end = start + html[start..].find('>')?;
    let tag = &html[tag_start..tag_end];
    let value = tag.split("value=\"").nth(1)?;
    let value = &value[..value.find('"')?];
    Some(value.replace("&amp;", "&"))
}

/// A browser: no redirects followed, one session cookie remembered.
struct Browser {
    http: reqwest::Client,
    cookie: Option<String>,
}

struct Page {
    status: StatusCode,
    location: Option<String>,
    body: String,
}

impl Browser {
    fn new() -> Self {
        Self {
            http: http(),
            cookie: None,
        }
    }

    async fn finish(&mut self, request: reqwest::RequestBuilder) -> Page {
        let request = match &self.cookie {
            Some(cookie) => request.header(COOKIE, cookie),
            None => request,
        };
        let response = request.send().await.expect("the page is answered");
        if let Some(set) = response.headers().get(SET_COOKIE) {
            let pair = set.to_str().expect("ascii").split(';').next().unwrap_or("");
            self.cookie = Some(pair.to_owned());
        }
        Page {
            status: response.status(),
            location: response
                .headers()
                .get(LOCATION)
                .map(|v| v.to_str().expect("ascii").to_owned()),
            body: response.text().await.expect("a body"),
        }
    }

    async fn get(&mut self, url: &str) -> Page {
        let request = self.http.get(url);
        self.finish(request).await
    }

    async fn post(&mut self, url: &str, pairs: &[(&str, &str)]) -> Page {
        let request = self
            .http
            .post(url)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(encode(pairs));
        self.finish(request).await
    }

    /// Opens `device_url` (the verification URI, maybe complete); when sent to the sign-in
    /// page, signs in as `username` there and comes back. Returns the `/device` form page.
    async fn open_device_page(
        &mut self,
        fx: &Fixture,
        device_url: &str,
        username: &str,
        password: &str,
    ) -> Page {
        let page = self.get(device_url).await;
        if page.status != StatusCode::FOUND {
            return page;
        }
        let login = page.location.expect("a redirect to the sign-in page");
        assert!(
            login.starts_with(&fx.issuer.login_url()),
            "sent to the sign-in page: {login}"
        );
        let form = self.get(&login).await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.body);
        let csrf = input_value(&form.body, "csrf").expect("a CSRF field on the sign-in page");
        let next = input_value(&form.body, "next").expect("the device page rides along");
        let signed_in = self
            .post(
                &fx.issuer.login_url(),
                &[
                    ("csrf", &csrf),
                    ("next", &next),
                    ("username", username),
                    ("password", password),
                ],
            )
            .await;
        assert_eq!(signed_in.status, StatusCode::FOUND, "{}", signed_in.body);
        let back = signed_in.location.expect("back to the device page");
        assert_eq!(back, device_url, "the sign-in page sends the user back");
        self.get(&back).await
    }

    /// Submits the device form of `page` with `action` (`approve` or `deny`).
    async fn decide(&mut self, fx: &Fixture, page: &Page, user_code: &str, action: &str) -> Page {
        let csrf = input_value(&page.body, "csrf").expect("a CSRF field on the device page");
        self.post(
            &fx.issuer.device_verification_uri(),
            &[
                ("csrf", &csrf),
                ("user_code", user_code),
                ("action", action),
            ],
        )
        .await
    }
}

/// Signs alice in on the device page and decides on `user_code` there.
async fn decide_on_page(fx: &Fixture, user_code: &str, action: &str) -> Page {
    let mut browser = Browser::new();
    let url = format!(
        "{}?user_code={}",
        fx.issuer.device_verification_uri(),
        form_urlencoded::byte_serialize(user_code.as_bytes()).collect::<String>()
    );
    let page = browser
        .open_device_page(fx, &url, "alice", "alice-password")
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    browser.decide(fx, &page, user_code, action).await
}

// ------------------------------------------------------------------------------------------
// Device authorization grant
// ------------------------------------------------------------------------------------------

/// The whole flow as a real client library runs it: `oauth2` asks for codes, then polls while
/// alice signs in on the hosted pages and approves; the tokens validate with tokengate.
#[tokio::test]
async fn oauth2_crate_device_flow_with_approval_on_the_page() {
    let fx = start().await;
    let client = BasicClient::new(ClientId::new("tv".into()))
        .set_device_authorization_url(
            DeviceAuthorizationUrl::new(fx.issuer.device_authorization_endpoint()).expect("URL"),
        )
        .set_token_uri(TokenUrl::new(fx.issuer.token_endpoint()).expect("URL"));
    let details: StandardDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scope(Scope::new("openid".into()))
        .add_scope(Scope::new("api/read".into()))
        .request_async(&http_client)
        .await
        .expect("device authorization");
    assert_eq!(details.interval(), Duration::from_secs(5));
    assert_eq!(details.expires_in(), Duration::from_secs(600));
    assert_eq!(
        details.verification_uri().as_str(),
        fx.issuer.device_verification_uri()
    );
    let user_code = details.user_code().secret().clone();
    let complete = details
        .verification_uri_complete()
        .expect("verification_uri_complete")
        .secret()
        .clone();
    assert_eq!(
        complete,
        format!(
            "{}?user_code={user_code}",
            fx.issuer.device_verification_uri()
        )
    );

    // The device's sleeps move the issuer's clock instead of waiting for real: its first 20
    // (about 100 s of issuer time, well within the code's 600 s). If the user is
    // slower than that on a loaded machine, the clock stands still and the device hears
    // `slow_down`, which it also survives.
    let sleeps = AtomicUsize::new(0);
    let sleep = |d: Duration| {
        if sleeps.fetch_add(1, Ordering::SeqCst) < 20 {
            fx.clock.advance(d.as_secs());
        }
        tokio::time::sleep(Duration::from_millis(20))
    };
    let polling =
        client
            .exchange_device_access_token(&details)
            .request_async(&http_client, sleep, None);
    let user = async {
        // Decide only once the device has been told `authorization_pending`.
        while fx.issuer.request_count("/oauth2/token") == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let mut browser = Browser::new();
        let page = browser
            .open_device_page(&fx, &complete, "alice", "alice-password")
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert_eq!(
            input_value(&page.body, "user_code").as_deref(),
            Some(user_code.as_str()),
            "the code is prefilled from the complete URI"
        );
        assert!(page.body.contains("tv"), "the page names the client");
        let done = browser.decide(&fx, &page, &user_code, "approve").await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.body);
        assert!(done.body.contains("return to your device"), "{}", done.body);
    };
    let (tokens, ()) = tokio::join!(polling, user);
    let tokens = tokens.expect("tokens once approved");
    assert!(sleeps.load(Ordering::SeqCst) >= 1, "the device had to wait");
    assert!(
        tokens.refresh_token().is_some(),
        "the device grant issues a refresh token"
    );

    let authorizer = fx
        .issuer
        .authorizer(Profile::cognito_access())
        .expect("authorizer")
        .client_id("tv")
        .clock(fx.clock.clone())
        .build()
        .expect("valid authorizer settings");
    let claims = authorizer
        .authorize::<()>(tokens.access_token().secret())
        .await
        .expect("the access token validates");
    assert_eq!(claims.subject(), Some(ALICE_SUB));
    assert_eq!(claims.username(), Some("alice"));
    assert!(claims.scopes().contains_all(["openid", "api/read"]));
    assert!(!claims.scopes().contains("api/write"));
    assert!(claims.groups().contains("admins"));
}

/// RFC 8628 §3.2's response, then §3.5's polling rules: pending, too fast, slower, approved,
/// and a device code that works once.
#[tokio::test]
async fn polling_pending_slow_down_approval_and_single_use() {
    let fx = start().await;
    let auth = authorize_device(&fx, "tv", Some("api/read")).await;
    let device_code = str_of(&auth, "device_code");
    let user_code = str_of(&auth, "user_code");
    assert!(device_code.len() >= 40, "a long device code: {device_code}");
    assert_eq!(user_code.len(), 9);
    assert_eq!(&user_code[4..5], "-");
    assert!(
        user_code
            .chars()
            .filter(|c| *c != '-')
            .all(|c| "BCDFGHJKLMNPQRSTVWXZ".contains(c)),
        "{user_code}"
    );
    assert_eq!(
        auth["verification_uri"],
        fx.issuer.device_verification_uri()
    );
    assert_eq!(
        str_of(&auth, "verification_uri_complete"),
        format!(
            "{}?user_code={user_code}",
            fx.issuer.device_verification_uri()
        )
    );
    assert_eq!(auth["expires_in"], 600);
    assert_eq!(auth["interval"], 5);

    let (status, body) = poll(&fx, "tv", device_code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body), "authorization_pending");

    // At once again: too fast. The interval grows by 5 s each time (RFC 8628 §3.5).
    fx.clock.advance(1);
    let (_, body) = poll(&fx, "tv", device_code).await;
    assert_eq!(error_of(&body), "slow_down");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap_or("")
            .contains("10")
    );
    fx.clock.advance(9);
    let (_, body) = poll(&fx, "tv", device_code).await;
    assert_eq!(
        error_of(&body),
        "slow_down",
        "5 s is no longer enough after slow_down"
    );
    fx.clock.advance(15);
    let (_, body) = poll(&fx, "tv", device_code).await;
    assert_eq!(error_of(&body), "authorization_pending");

    // The test API matches the user code ignoring case (the page also ignores the dash).
    fx.issuer
        .approve_device(&user_code.to_lowercase(), "alice")
        .expect("approved");
    let (status, tokens) = poll(&fx, "tv", device_code).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3600);
    assert!(tokens["refresh_token"].is_string());
    assert!(
        tokens.get("id_token").is_none(),
        "no ID token without openid"
    );

    let authorizer = fx
        .issuer
        .authorizer(Profile::cognito_access())
        .expect("authorizer")
        .client_id("tv")
        .clock(fx.clock.clone())
        .build()
        .expect("valid authorizer settings");
    let claims = authorizer
        .authorize::<()>(str_of(&tokens, "access_token"))
        .await
        .expect("valid");
    assert_eq!(claims.username(), Some("alice"));
    assert_eq!(claims.scopes().iter().collect::<Vec<_>>(), ["api/read"]);

    let (status, body) = poll(&fx, "tv", device_code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body), "invalid_grant", "a device code works once");
    assert!(
        fx.issuer.approve_device(user_code, "alice").is_err(),
        "and its user code is gone"
    );
}

#[tokio::test]
async fn denial_on_the_page_is_access_denied_then_the_code_is_gone() {
    let fx = start().await;
    let auth = authorize_device(&fx, "tv", None).await;
    let device_code = str_of(&auth, "device_code");
    let user_code = str_of(&auth, "user_code");

    // Typed in lower case and without the dash: still the code.
    let typed = user_code.replace('-', "").to_lowercase();
    let done = decide_on_page(&fx, &typed, "deny").await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("denied"), "{}", done.body);

    let (status, body) = poll(&fx, "tv", device_code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body), "access_denied");
    let (_, body) = poll(&fx, "tv", device_code).await;
    assert_eq!(error_of(&body), "invalid_grant");
}

#[tokio::test]
async fn approval_on_the_page_issues_tokens_for_the_signed_in_user() {
    let fx = start().await;
    let auth = authorize_device(&fx, "tv", Some("openid email")).await;
    let device_code = str_of(&auth, "device_code");
    let user_code = str_of(&auth, "user_code");

    let done = decide_on_page(&fx, user_code, "approve").await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);

    let (status, tokens) = poll(&fx, "tv", device_code).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let id = fx
        .issuer
        .authorizer(Profile::cognito_id())
        .expect("authorizer")
        .client_id("tv")
        .clock(fx.clock.clone())
        .build()
        .expect("valid authorizer settings")
        .authorize::<()>(str_of(&tokens, "id_token"))
        .await
        .expect("an ID token with openid");
    assert_eq!(id.username(), Some("alice"));
    // A second decision on the same code is refused on the page.
    let again = decide_on_page(&fx, user_code, "approve").await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_expired_device_code_is_expired_token() {
    let fx = start().await;
    let auth = authorize_device(&fx, "tv", None).await;
    let device_code = str_of(&auth, "device_code");
    let user_code = str_of(&auth, "user_code");

    fx.clock.advance(601);
    let (status, body) = poll(&fx, "tv", device_code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body), "expired_token");
    assert!(fx.issuer.approve_device(user_code, "alice").is_err());
    let page = decide_on_page(&fx, user_code, "approve").await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.body.contains("expired"), "{}", page.body);
    let (_, body) = poll(&fx, "tv", device_code).await;
    assert_eq!(error_of(&body), "expired_token", "it stays expired");
}

#[tokio::test]
async fn another_clients_device_code_is_invalid_grant() {
    let fx = start().await;
    let auth = authorize_device(&fx, "tv", None).await;
    let device_code = str_of(&auth, "device_code");

    let (status, body) = poll(&fx, "console", device_code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body), "invalid_grant");
    // The owner's polling state is untouched: its first poll is not "too fast".
    let (_, body) = poll(&fx, "tv", device_code).await;
    assert_eq!(error_of(&body), "authorization_pending");

    // Approved, it still is not the other client's.
    fx.issuer
        .approve_device(str_of(&auth, "user_code"), "alice")
        .expect("approved");
    let (_, body) = poll(&fx, "console", device_code).await;
    assert_eq!(error_of(&body), "invalid_grant");
    let (status, _) = poll(&fx, "tv", device_code).await;
    assert_eq!(status, StatusCode::OK);

    let (_, body) = poll(&fx, "tv", "no-such-device-code").await;
    assert_eq!(error_of(&body), "invalid_grant");
    let (_, body) = post_json(
        &fx.issuer.token_endpoint(),
        &[("grant_type", DEVICE_GRANT), ("client_id", "tv")],
        None,
    )
    .await;
    assert_eq!(
        error_of(&body),
        "invalid_request",
        "device_code is required"
    );
}

#[tokio::test]
async fn device_authorization_checks_the_client_and_scopes() {
    let fx = start().await;
    let endpoint = fx.issuer.device_authorization_endpoint();

    let (status, body) = post_json(&endpoint, &[("client_id", "web")], None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body), "unauthorized_client");

    let (_, body) = post_json(&endpoint, &[("client_id", "nobody")], None).await;
    assert_eq!(error_of(&body), "invalid_client");

    let (_, body) = post_json(&endpoint, &[("client_id", "tv"), ("scope", "phone")], None).await;
    assert_eq!(error_of(&body), "invalid_scope");

    // A confidential client authenticates; without its secret it is refused.
    let (status, body) = post_json(&endpoint, &[("client_id", "kiosk")], None).await;
    assert_eq!(error_of(&body), "invalid_client", "{status}");
    let (status, body) = post_json(&endpoint, &[], Some(("kiosk", "kiosk-secret"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, body) = post_json(
        &fx.issuer.token_endpoint(),
        &[
            ("grant_type", DEVICE_GRANT),
            ("device_code", str_of(&body, "device_code")),
        ],
        Some(("kiosk", "kiosk-secret")),
    )
    .await;
    assert_eq!(error_of(&body), "authorization_pending");

    // Not a form.
    let response = http()
        .post(&endpoint)
        .header(CONTENT_TYPE, "application/json")
        .body(r#"{"client_id":"tv"}"#)
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

/// The page without a session goes to sign-in (and back); with one it shows an escaped form;
/// its POST needs the CSRF token and a session, and refuses unknown codes.
#[tokio::test]
async fn the_device_page_needs_a_session_csrf_and_escapes_everything() {
    let fx = start().await;
    let device = fx.issuer.device_verification_uri();

    // No session: to the sign-in page, with the way back (percent-encoded) in `next`.
    let mut browser = Browser::new();
    let hostile = "<script>x</script>\"";
    let url = format!(
        "{device}?user_code={}",
        form_urlencoded::byte_serialize(hostile.as_bytes()).collect::<String>()
    );
    let page = browser.get(&url).await;
    assert_eq!(page.status, StatusCode::FOUND);
    let location = Url::parse(&page.location.expect("Location")).expect("a URL");
    assert_eq!(location.path(), "/login");
    let next: Vec<(String, String)> = location.query_pairs().into_owned().collect();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].0, "next");
    let back = Url::parse(&format!("{}{}", fx.issuer.url(), next[0].1)).expect("a path");
    assert_eq!(back.path(), "/device");
    assert_eq!(
        back.query_pairs().into_owned().collect::<Vec<_>>(),
        [("user_code".to_owned(), hostile.to_owned())]
    );
    let bare = browser.get(&device).await;
    assert_eq!(bare.status, StatusCode::FOUND);
    assert!(
        bare.location
            .expect("Location")
            .ends_with("/login?next=%2Fdevice")
    );

    // Signed in (as a user whose name is markup): everything shown is escaped.
    let page = browser
        .open_device_page(&fx, &url, "<b>mallory</b>", "mallory-password")
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(!page.body.contains("<script>"), "{}", page.body);
    assert!(!page.body.contains("<b>mallory"), "{}", page.body);
    assert!(page.body.contains("&lt;script&gt;x&lt;/script&gt;&quot;"));
    assert!(page.body.contains("&lt;b&gt;mallory&lt;/b&gt;"));
    assert!(page.body.contains("value=\"approve\"") && page.body.contains("value=\"deny\""));
    let csrf = input_value(&page.body, "csrf").expect("CSRF field");

    // POST without the CSRF token (or with a made-up one): 400.
    let auth = authorize_device(&fx, "tv", None).await;
    let user_code = str_of(&auth, "user_code");
    for token in ["", "made-up"] {
        let refused = browser
            .post(
                &device,
                &[
                    ("csrf", token),
                    ("user_code", user_code),
                    ("action", "approve"),
                ],
            )
            .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "csrf `{token}`");
    }

    // An unknown code: 400, with an error and the form again.
    let unknown = browser
        .post(
            &device,
            &[
                ("csrf", &csrf),
                ("user_code", "BCDF-BCDF"),
                ("action", "approve"),
            ],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(unknown.body.contains("class=\"error\""), "{}", unknown.body);
    assert!(unknown.body.contains("unknown"), "{}", unknown.body);
    // The CSRF token was single use.
    let replay = browser
        .post(
            &device,
            &[
                ("csrf", &csrf),
                ("user_code", user_code),
                ("action", "approve"),
            ],
        )
        .await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST);
    assert!(
        !replay.body.contains("<form"),
        "no form after a replayed token"
    );

    // A valid CSRF token but no session: to the sign-in page; nothing decided.
    let mut stranger = Browser::new();
    let fresh = input_value(&unknown.body, "csrf").expect("a fresh CSRF token");
    let bounced = stranger
        .post(
            &device,
            &[
                ("csrf", &fresh),
                ("user_code", user_code),
                ("action", "approve"),
            ],
        )
        .await;
    assert_eq!(bounced.status, StatusCode::FOUND);
    assert!(bounced.location.expect("Location").contains("/login?next="));
    let (_, body) = poll(&fx, "tv", str_of(&auth, "device_code")).await;
    assert_eq!(error_of(&body), "authorization_pending");

    // The page is not cached nor framed.
    let page = browser.get(&device).await;
    assert_eq!(page.status, StatusCode::OK);
    let response = http()
        .get(&device)
        .header(COOKIE, browser.cookie.clone().expect("a session"))
        .send()
        .await
        .expect("answered");
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["x-frame-options"], "DENY");
}

// ------------------------------------------------------------------------------------------
// Token exchange
// ------------------------------------------------------------------------------------------

/// A second issuer playing the trusted third party: `partner` is its client.
async fn third_party() -> MockIssuer {
    MockIssuer::builder()
        .client(Client::public("partner").scopes(["openid"]))
        .client(Client::public("someone-else").scopes(["openid"]))
        .user(alice())
        .start()
        .await
        .expect("the third party starts")
}

fn trusting(other: &MockIssuer) -> TrustedIssuer {
    TrustedIssuer {
        issuer: other.issuer().to_owned(),
        jwks_uri: other.jwks_uri(),
        client_id: Some("partner".into()),
        audience: None,
    }
}

async fn exchange(fx: &Fixture, pairs: &[(&str, &str)]) -> (StatusCode, Value) {
    let mut all = vec![("grant_type", EXCHANGE_GRANT)];
    all.extend_from_slice(pairs);
    post_json(
        &fx.issuer.token_endpoint(),
        &all,
        Some(("exchanger", "exchanger-secret")),
    )
    .await
}

async fn exchange_token(fx: &Fixture, subject: &str) -> (StatusCode, Value) {
    exchange(
        fx,
        &[
            ("subject_token", subject),
            ("subject_token_type", ACCESS_TOKEN_TYPE),
        ],
    )
    .await
}

#[tokio::test]
async fn a_trusted_issuers_token_is_exchanged_for_ours() {
    let other = third_party().await;
    let fx = start_with(|b| b.trusted_issuer(trusting(&other))).await;
    let subject = other
        .access_token()
        .client("partner")
        .user("alice")
        .sign()
        .expect("signed");

    let (status, body) = exchange(
        &fx,
        &[
            ("subject_token", &subject),
            ("subject_token_type", ACCESS_TOKEN_TYPE),
            ("scope", "api/read"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["issued_token_type"], ACCESS_TOKEN_TYPE);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "api/read");
    assert!(body.get("refresh_token").is_none());
    assert!(body.get("id_token").is_none());
    assert_eq!(
        other.request_count(&other.jwks_path()),
        1,
        "keys from the configured URL"
    );

    let claims = fx
        .issuer
        .authorizer(Profile::cognito_access())
        .expect("authorizer")
        .client_id("exchanger")
        .clock(fx.clock.clone())
        .build()
        .expect("valid authorizer settings")
        .authorize::<serde_json::Map<String, Value>>(str_of(&body, "access_token"))
        .await
        .expect("our token validates");
    assert_eq!(claims.issuer(), fx.issuer.issuer());
    assert_eq!(claims.subject(), Some(ALICE_SUB));
    assert_eq!(claims.username(), Some("alice"));
    assert_eq!(claims.client_id(), Some("exchanger"));
    assert_eq!(claims.scopes().iter().collect::<Vec<_>>(), ["api/read"]);
    assert!(
        claims.groups().is_empty(),
        "the other issuer's groups are not carried"
    );
    assert!(
        !claims.custom().contains_key("act"),
        "impersonation: no actor"
    );

    // Without `scope`: every custom scope of the client, never its reserved ones.
    let (status, body) = exchange_token(&fx, &subject).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "api/read api/write");

    // A `jwt` subject token type is accepted too; a client-credentials token has no user.
    let machine = other
        .access_token()
        .client("partner")
        .sign()
        .expect("signed");
    let (status, body) = exchange(
        &fx,
        &[
            ("subject_token", &machine),
            ("subject_token_type", "urn:ietf:params:oauth:token-type:jwt"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn an_untrusted_issuer_is_refused_without_touching_its_keys() {
    let other = third_party().await;
    let untrusted = third_party().await;
    let fx = start_with(|b| b.trusted_issuer(trusting(&other))).await;

    let foreign = untrusted
        .access_token()
        .client("partner")
        .user("alice")
        .sign()
        .expect("signed");
    let (status, body) = exchange_token(&fx, &foreign).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // RFC 8693 §2.2.2: an unacceptable subject token is `invalid_request`.
    assert_eq!(error_of(&body), "invalid_request");

    // Claiming the trusted issuer does not help: its keys do not verify the signature, and
    // the untrusted issuer's keys are never fetched.
    let impostor = untrusted
        .access_token()
        .client("partner")
        .user("alice")
        .claim("iss", other.issuer())
        .sign()
        .expect("signed");
    let (_, body) = exchange_token(&fx, &impostor).await;
    assert_eq!(error_of(&body), "invalid_request");
    assert_eq!(untrusted.request_count(&untrusted.jwks_path()), 0);

    // Our own tokens are checked against our own keys in memory: no fetch of our JWKS.
    let own = fx
        .issuer
        .access_token()
        .client("tv")
        .user("alice")
        .scopes(["api/read"])
        .sign()
        .expect("signed");
    let (status, body) = exchange_token(&fx, &own).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(fx.issuer.request_count(&fx.issuer.jwks_path()), 0);
}

#[tokio::test]
async fn expired_forged_or_misdirected_subject_tokens_are_invalid_request() {
    let other = third_party().await;
    let fx = start_with(|b| b.trusted_issuer(trusting(&other))).await;
    let token = || other.access_token().client("partner").user("alice");

    let cases = [
        ("expired", token().expired().sign()),
        ("alg none", token().forge(Forgery::AlgNone).sign()),
        (
            "HS256 key confusion",
            token().forge(Forgery::Hs256WithPublicKey).sign(),
        ),
        ("unknown kid", token().forge(Forgery::UnknownKid).sign()),
        ("tampered", token().forge(Forgery::TamperedSignature).sign()),
        (
            "another client",
            other
                .access_token()
                .client("someone-else")
                .user("alice")
                .sign(),
        ),
        (
            "an ID token",
            other.id_token().client("partner").user("alice").sign(),
        ),
        ("no sub", token().without("sub").sign()),
        ("not a JWT", Ok("not-a-token".to_owned())),
    ];
    for (name, subject) in cases {
        let subject = subject.expect("signed");
        let (status, body) = exchange_token(&fx, &subject).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {body}");
        // RFC 8693 §2.2.2: not `invalid_grant`.
        assert_eq!(error_of(&body), "invalid_request", "{name}: {body}");
    }
    let (_, body) = exchange_token(&fx, &token().expired().sign().expect("signed")).await;
    assert!(
        str_of(&body, "error_description").contains("expired"),
        "the description says why: {body}"
    );

    // Time moves on our clock: a valid token becomes expired.
    let valid = token().sign().expect("signed");
    let (status, _) = exchange_token(&fx, &valid).await;
    assert_eq!(status, StatusCode::OK);
    fx.clock.advance(3600 + 120);
    let (_, body) = exchange_token(&fx, &valid).await;
    assert_eq!(error_of(&body), "invalid_request");
}

#[tokio::test]
async fn malformed_exchange_requests_are_refused() {
    let other = third_party().await;
    let fx = start_with(|b| b.trusted_issuer(trusting(&other))).await;
    let subject = other
        .access_token()
        .client("partner")
        .user("alice")
        .sign()
        .expect("signed");

    for wrong in [
        "urn:ietf:params:oauth:token-type:id_token",
        "urn:ietf:params:oauth:token-type:refresh_token",
        "access_token",
    ] {
        let (status, body) = exchange(
            &fx,
            &[("subject_token", &subject), ("subject_token_type", wrong)],
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(error_of(&body), "invalid_request", "{wrong}");
    }
    let (_, body) = exchange(&fx, &[("subject_token_type", ACCESS_TOKEN_TYPE)]).await;
    assert_eq!(
        error_of(&body),
        "invalid_request",
        "subject_token is required"
    );
    let (_, body) = exchange(&fx, &[("subject_token", &subject)]).await;
    assert_eq!(
        error_of(&body),
        "invalid_request",
        "subject_token_type is required"
    );
    // RFC 8693 §2.1: an actor token comes with its type, and a type with a token.
    for actor in [
        [("actor_token", subject.as_str())],
        [("actor_token_type", ACCESS_TOKEN_TYPE)],
    ] {
        let mut pairs = vec![
            ("subject_token", subject.as_str()),
            ("subject_token_type", ACCESS_TOKEN_TYPE),
        ];
        pairs.extend(actor);
        let (_, body) = exchange(&fx, &pairs).await;
        assert_eq!(error_of(&body), "invalid_request", "{actor:?}");
    }

    // Scopes the client lacks, or reserved ones, are never granted.
    for scope in ["api/admin", "openid", "api/read email"] {
        let (_, body) = exchange(
            &fx,
            &[
                ("subject_token", &subject),
                ("subject_token_type", ACCESS_TOKEN_TYPE),
                ("scope", scope),
            ],
        )
        .await;
        assert_eq!(error_of(&body), "invalid_scope", "{scope}");
    }

    // A client without the grant.
    let (_, body) = post_json(
        &fx.issuer.token_endpoint(),
        &[
            ("grant_type", EXCHANGE_GRANT),
            ("subject_token", &subject),
            ("subject_token_type", ACCESS_TOKEN_TYPE),
        ],
        Some(("plain", "plain-secret")),
    )
    .await;
    assert_eq!(error_of(&body), "unauthorized_client");
    assert_eq!(
        other.request_count(&other.jwks_path()),
        0,
        "refused before any key fetch"
    );
}

/// A trusted issuer identified by audience (a generic OAuth server's tokens, `aud` checked).
#[tokio::test]
async fn a_trusted_issuer_can_be_checked_by_audience() {
    let other = third_party().await;
    let fx = start_with(|b| {
        b.trusted_issuer(TrustedIssuer {
            issuer: other.issuer().to_owned(),
            jwks_uri: other.jwks_uri(),
            client_id: None,
            audience: Some("https://api.example".into()),
        })
    })
    .await;
    let token = || other.access_token().client("partner").user("alice");

    let with_aud = token()
        .claim("aud", "https://api.example")
        .sign()
        .expect("signed");
    let (status, body) = exchange_token(&fx, &with_aud).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let other_aud = token()
        .claim("aud", "https://elsewhere.example")
        .sign()
        .expect("signed");
    let (_, body) = exchange_token(&fx, &other_aud).await;
    assert_eq!(error_of(&body), "invalid_request");
    let (_, body) = exchange_token(&fx, &token().sign().expect("signed")).await;
    assert_eq!(error_of(&body), "invalid_request", "no aud at all");
}
