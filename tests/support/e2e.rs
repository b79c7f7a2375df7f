//! Shared by the end-to-end tests (`tests/e2e_*.rs`): a protected axum API served on loopback
//! in front of the mock issuer, the mock's grants run over real HTTP (client credentials, the
//! hosted sign-in form, implicit, refresh, device, token exchange), and the exact RFC 6750
//! challenges the API must answer with.
//!
//! The browser is the minimum of `tests/mock_browser.rs`'s (cookies kept by hand, redirects
//! never followed), copied here rather than shared so the other suites stay untouched.
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use aws_lc_rs::digest::{SHA256, digest};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, HeaderMap, LOCATION, SET_COOKIE};
use reqwest::{StatusCode, Url};
use serde_json::{Value, json};
use tokengate::mock::MockIssuer;
use tokengate::{AuthErrorKind, Claims, JwtAuthLayer, RequireGroup, RequireLayer, RequireScope};

pub const ALICE_SUB: &str = "8f2c1e4a-0000-4000-8000-00000000a11c";
pub const BOB_SUB: &str = "8f2c1e4a-0000-4000-8000-000000000b0b";
pub const ALICE_PASSWORD: &str = "alice-password";
pub const BOB_PASSWORD: &str = "bob-password";
/// `demo-web`'s registered redirect URI.
pub const WEB_CALLBACK: &str = "http://localhost:8000/callback";
/// `demo-spa`'s registered redirect URI.
pub const SPA_CALLBACK: &str = "http://localhost:3000/callback";
pub const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
pub const EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// Every client of the demo pool.
pub const DEMO_CLIENTS: [&str; 5] = [
    "demo-backend",
    "demo-web",
    "demo-spa",
    "demo-device",
    "demo-exchange",
];
/// A demo client's secret (`None` for the public ones).
pub fn demo_secret(client_id: &str) -> Option<String> {
    match client_id {
        "demo-spa" | "demo-device" => None,
        id => Some(format!("{id}-secret")),
    }
}

/// A reqwest client that never follows redirects and never uses a proxy.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .expect("a reqwest client")
}

/// Polls `condition` every 5 ms of real time, up to 5 s.
pub async fn eventually(what: &str, condition: impl Fn() -> bool) {
    for _ in 0..1000 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("timed out waiting for: {what}");
}

// ------------------------------------------------------------------------------------------
// The protected API
// ------------------------------------------------------------------------------------------

fn sorted(names: &tokengate::NameSet) -> Vec<String> {
    let mut names: Vec<String> = names.iter().map(str::to_owned).collect();
    names.sort();
    names
}

/// `GET /me`: the claims the layer handed the handler, as JSON (scopes and groups sorted).
pub async fn me(claims: Claims) -> Json<Value> {
    Json(json!({
        "iss": claims.issuer(),
        "sub": claims.subject(),
        "username": claims.username(),
        "client_id": claims.client_id(),
        "token_use": claims.token_use().map(|u| u.as_str()),
        "aud": claims.audience().collect::<Vec<_>>(),
        "jti": claims.jwt_id(),
        "scopes": sorted(claims.scopes()),
        "groups": sorted(claims.groups()),
    }))
}

/// One route answering `"ok"` behind `requirement`.
fn guarded(path: &str, requirement: RequireLayer) -> Router {
    Router::new()
        .route(path, get(|| async { "ok" }))
        .route_layer(requirement)
}

/// The API every end-to-end test protects, behind `layer`:
/// - `GET /me`: any valid token; answers its claims ([`me`]);
/// - `GET /read`: scope `api/read`; `GET /write`: scope `api/write`;
/// - `GET /admin`: group `admins`.
pub fn protected_api(layer: JwtAuthLayer) -> Router {
    Router::new()
        .merge(guarded("/read", RequireScope::all(["api/read"])))
        .merge(guarded("/write", RequireScope::all(["api/write"])))
        .merge(guarded("/admin", RequireGroup::any(["admins"])))
        .route("/me", get(me))
        .layer(layer)
}

/// An axum app served on 127.0.0.1 for one test; stops when dropped.
pub struct Api {
    pub base: String,
    client: reqwest::Client,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Api {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Api {
    pub async fn start(app: Router) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let base = format!("http://{}", listener.local_addr().expect("local addr"));
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve");
        });
        Self {
            base,
            client: http(),
            task,
        }
    }

    /// `GET path`, with `Authorization: Bearer <token>` when there is a token.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        let mut request = self.client.get(format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("the API answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.expect("a body");
        Reply {
            status,
            headers,
            body,
        }
    }

    /// `GET /me` with `token`, which must be accepted: the claims the handler saw.
    pub async fn me(&self, token: &str) -> Value {
        let reply = self.get("/me", Some(token)).await;
        assert_eq!(reply.status, 200, "/me refused the token: {reply:?}");
        reply.json()
    }

    /// The statuses of `/read`, `/write` and `/admin` for `token`, in that order.
    pub async fn route_statuses(&self, token: &str) -> [u16; 3] {
        let mut out = [0; 3];
        for (slot, path) in out.iter_mut().zip(["/read", "/write", "/admin"]) {
            let reply = self.get(path, Some(token)).await;
            match reply.status {
                200 => assert_eq!(reply.body, "ok", "{path}"),
                403 => {
                    let scope = match path {
                        "/read" => Some("api/read"),
                        "/write" => Some("api/write"),
                        _ => None,
                    };
                    assert_eq!(
                        reply.www_authenticate(),
                        Some(insufficient_scope(scope).as_str()),
                        "{path}"
                    );
                }
                other => panic!("{path}: unexpected status {other}: {reply:?}"),
            }
            *slot = reply.status;
        }
        out
    }
}

/// A response as the client saw it.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    /// The one value of header `name`, as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        let mut values = self.headers.get_all(name).iter();
        let value = values.next()?;
        assert!(values.next().is_none(), "more than one {name} header");
        Some(value.to_str().expect("ASCII header"))
    }

    pub fn www_authenticate(&self) -> Option<&str> {
        self.header("www-authenticate")
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.body))
    }
}

// ------------------------------------------------------------------------------------------
// RFC 6750 challenges, as the layer renders them with the default realm
// ------------------------------------------------------------------------------------------

/// The `WWW-Authenticate` value for a 400/401 refusal of `kind` (realm `api`).
pub fn challenge(kind: AuthErrorKind) -> String {
    match kind.code() {
        None => "Bearer realm=\"api\"".to_owned(),
        Some(code) => format!(
            "Bearer realm=\"api\", error=\"{code}\", error_description=\"{}\"",
            kind.description()
        ),
    }
}

/// The `WWW-Authenticate` value for a 403 `insufficient_scope`, naming `scope` when given.
pub fn insufficient_scope(scope: Option<&str>) -> String {
    let mut out = challenge(AuthErrorKind::InsufficientScope);
    if let Some(scope) = scope {
        out.push_str(&format!(", scope=\"{scope}\""));
    }
    out
}

// ------------------------------------------------------------------------------------------
// The mock's grants over HTTP
// ------------------------------------------------------------------------------------------

/// `application/x-www-form-urlencoded` of these pairs.
pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    let mut url = Url::parse("http://x/").expect("url");
    url.query_pairs_mut().extend_pairs(pairs.iter().copied());
    url.query().unwrap_or_default().to_owned()
}

/// The parameters of a query string or fragment.
pub fn decode_params(text: &str) -> BTreeMap<String, String> {
    let mut url = Url::parse("http://x/").expect("url");
    url.set_query(Some(text));
    url.query_pairs().into_owned().collect()
}

/// `(base, query params, fragment params)` of an absolute URL.
pub fn split_url(location: &str) -> (String, BTreeMap<String, String>, BTreeMap<String, String>) {
    let url = Url::parse(location).expect("an absolute URL");
    let mut base = url.clone();
    base.set_query(None);
    base.set_fragment(None);
    (
        base.to_string(),
        url.query().map(decode_params).unwrap_or_default(),
        url.fragment().map(decode_params).unwrap_or_default(),
    )
}

/// POSTs a form to `url`, with HTTP Basic client authentication when given; the status and
/// the body as JSON (`Null` when not JSON).
pub async fn post_form(
    client: &reqwest::Client,
    url: &str,
    basic: Option<(&str, &str)>,
    pairs: &[(&str, &str)],
) -> (u16, Value) {
    let mut request = client
        .post(url)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form_encode(pairs));
    if let Some((id, secret)) = basic {
        request = request.header(
            AUTHORIZATION,
            format!("Basic {}", STANDARD.encode(format!("{id}:{secret}"))),
        );
    }
    let response = request.send().await.expect("the mock answers");
    let status = response.status().as_u16();
    let body = response.bytes().await.expect("a body");
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// A successful token response.
#[derive(Clone, Debug)]
pub struct Tokens {
    pub access_token: String,
    pub id_token: Option<String>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
}

impl Tokens {
    fn from_json(body: &Value) -> Self {
        let text = |name: &str| body[name].as_str().map(str::to_owned);
        Self {
            access_token: text("access_token")
                .unwrap_or_else(|| panic!("no access_token in {body}")),
            id_token: text("id_token"),
            refresh_token: text("refresh_token"),
            scope: text("scope"),
        }
    }
}

/// A request to the token endpoint that must succeed. A public client (no secret) sends its
/// `client_id` in the body.
pub async fn token_request(
    client: &reqwest::Client,
    mock: &MockIssuer,
    client_id: &str,
    secret: Option<&str>,
    pairs: &[(&str, &str)],
) -> Tokens {
    let mut all = pairs.to_vec();
    if secret.is_none() {
        all.push(("client_id", client_id));
    }
    let basic = secret.map(|s| (client_id, s));
    let (status, body) = post_form(client, &mock.token_endpoint(), basic, &all).await;
    assert_eq!(
        status, 200,
        "token request {pairs:?} by {client_id}: {body}"
    );
    assert_eq!(body["token_type"], "Bearer", "{body}");
    Tokens::from_json(&body)
}

/// The client credentials grant for a confidential demo client.
pub async fn client_credentials(
    client: &reqwest::Client,
    mock: &MockIssuer,
    client_id: &str,
    scope: Option<&str>,
) -> Tokens {
    let secret = demo_secret(client_id).expect("a confidential client");
    let mut pairs = vec![("grant_type", "client_credentials")];
    if let Some(scope) = scope {
        pairs.push(("scope", scope));
    }
    token_request(client, mock, client_id, Some(&secret), &pairs).await
}

/// The refresh grant for a demo client.
pub async fn refresh(
    mock: &MockIssuer,
    client_id: &str,
    refresh_token: &str,
    scope: Option<&str>,
) -> Tokens {
    let secret = demo_secret(client_id);
    let mut pairs = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];
    if let Some(scope) = scope {
        pairs.push(("scope", scope));
    }
    token_request(&http(), mock, client_id, secret.as_deref(), &pairs).await
}

/// Random URL-safe text from `bytes` random bytes.
pub fn random_text(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut buf).expect("random bytes");
    URL_SAFE_NO_PAD.encode(buf)
}

/// An authorization URL of `mock` with these parameters.
pub fn authorize_url(mock: &MockIssuer, params: &[(&str, &str)]) -> String {
    let mut url = Url::parse(&mock.authorize_endpoint()).expect("url");
    url.query_pairs_mut().extend_pairs(params.iter().copied());
    url.to_string()
}

/// The authorization code grant with PKCE (S256) through the hosted sign-in form, signed in
/// as `username`: authorize → /login → the form → authorize → the callback's code → the token
/// endpoint (Basic for a confidential client).
pub async fn code_flow_with_pkce(
    mock: &MockIssuer,
    client_id: &str,
    redirect_uri: &str,
    scope: &str,
    (username, password): (&str, &str),
) -> Tokens {
    let verifier = random_text(32);
    let challenge = URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()).as_ref());
    let state = random_text(12);
    let url = authorize_url(
        mock,
        &[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("scope", scope),
            ("state", &state),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let browser = Browser::new();
    let callback = browser
        .sign_in(mock, &url, username, password)
        .await
        .redirect();
    let (base, query, _) = split_url(&callback);
    assert_eq!(base, redirect_uri, "{callback}");
    assert_eq!(query.get("state"), Some(&state), "{callback}");
    let code = query
        .get("code")
        .unwrap_or_else(|| panic!("no code: {callback}"));
    let secret = demo_secret(client_id);
    token_request(
        &http(),
        mock,
        client_id,
        secret.as_deref(),
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", &verifier),
        ],
    )
    .await
}

/// The implicit grant through the hosted sign-in form: the callback's fragment parameters.
pub async fn implicit_flow(
    mock: &MockIssuer,
    client_id: &str,
    redirect_uri: &str,
    scope: &str,
    (username, password): (&str, &str),
) -> BTreeMap<String, String> {
    let state = random_text(12);
    let url = authorize_url(
        mock,
        &[
            ("response_type", "token"),
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("scope", scope),
            ("state", &state),
        ],
    );
    let callback = Browser::new()
        .sign_in(mock, &url, username, password)
        .await
        .redirect();
    let (base, query, fragment) = split_url(&callback);
    assert_eq!(base, redirect_uri, "{callback}");
    assert!(query.is_empty(), "tokens only in the fragment: {callback}");
    assert_eq!(fragment.get("state"), Some(&state), "{callback}");
    fragment
}

/// How the user decides on a device code.
#[derive(Clone, Copy, Debug)]
pub enum Approval<'a> {
    /// Signs in on the hosted pages and approves on `/device`, as a person would.
    Page(&'a str, &'a str),
    /// `MockIssuer::approve_device` for this user.
    TestApi(&'a str),
}

/// The device authorization grant (RFC 8628) for a public demo client: codes, one poll
/// (`authorization_pending`), the user's approval, the poll that gets the tokens.
pub async fn device_flow(
    mock: &MockIssuer,
    client_id: &str,
    scope: &str,
    approval: Approval<'_>,
) -> Tokens {
    let client = http();
    let (status, codes) = post_form(
        &client,
        &mock.device_authorization_endpoint(),
        None,
        &[("client_id", client_id), ("scope", scope)],
    )
    .await;
    assert_eq!(status, 200, "{codes}");
    let device_code = codes["device_code"]
        .as_str()
        .expect("device_code")
        .to_owned();
    let user_code = codes["user_code"].as_str().expect("user_code").to_owned();
    let poll = [
        ("grant_type", DEVICE_GRANT),
        ("client_id", client_id),
        ("device_code", device_code.as_str()),
    ];
    let (status, pending) = post_form(&client, &mock.token_endpoint(), None, &poll).await;
    assert_eq!(status, 400, "{pending}");
    assert_eq!(pending["error"], "authorization_pending", "{pending}");

    match approval {
        Approval::TestApi(username) => mock
            .approve_device(&user_code, username)
            .expect("the device code is approved"),
        Approval::Page(username, password) => {
            let browser = Browser::new();
            let page_url = format!(
                "{}?{}",
                mock.device_verification_uri(),
                form_encode(&[("user_code", &user_code)])
            );
            let page = browser.sign_in(mock, &page_url, username, password).await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.body);
            let csrf = page.input("csrf").expect("a CSRF field on the device page");
            let done = browser
                .post_form(
                    &mock.device_verification_uri(),
                    &[
                        ("csrf", &csrf),
                        ("user_code", &user_code),
                        ("action", "approve"),
                    ],
                )
                .await;
            assert_eq!(done.status, StatusCode::OK, "{}", done.body);
        }
    }
    token_request(
        &client,
        mock,
        client_id,
        None,
        &[
            ("grant_type", DEVICE_GRANT),
            ("device_code", device_code.as_str()),
        ],
    )
    .await
}

/// Token exchange (RFC 8693) of `subject_token` by a confidential demo client.
pub async fn token_exchange(
    mock: &MockIssuer,
    client_id: &str,
    subject_token: &str,
    scope: Option<&str>,
) -> Tokens {
    let secret = demo_secret(client_id).expect("a confidential client");
    let mut pairs = vec![
        ("grant_type", EXCHANGE_GRANT),
        ("subject_token", subject_token),
        ("subject_token_type", ACCESS_TOKEN_TYPE),
    ];
    if let Some(scope) = scope {
        pairs.push(("scope", scope));
    }
    token_request(&http(), mock, client_id, Some(&secret), &pairs).await
}

// ------------------------------------------------------------------------------------------
// A browser: cookies kept by hand, redirects never followed
// ------------------------------------------------------------------------------------------

/// One page, read whole.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: String,
}

impl Page {
    /// The `Location` of a 302, which must be there.
    pub fn redirect(&self) -> String {
        assert_eq!(self.status, StatusCode::FOUND, "{}", self.body);
        self.location.clone().expect("a Location header")
    }

    /// The `name`/`value` of every `<input>` that has a name, values unescaped.
    pub fn inputs(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut rest = self.body.as_str();
        while let Some(start) = rest.find("<input") {
            let tag_end = rest[start..].find('>').expect("a closed tag") + start;
            let tag = &rest[start..tag_end];
            if let Some(name) = attribute(tag, "name") {
                out.push((name, attribute(tag, "value").unwrap_or_default()));
            }
            rest = &rest[tag_end..];
        }
        out
    }

    pub fn input(&self, name: &str) -> Option<String> {
        self.inputs()
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }
}

/// `name="…"` of an HTML tag, unescaped.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let end = tag[start..].find('"')? + start;
    Some(
        tag[start..end]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#x27;", "'")
            .replace("&amp;", "&"),
    )
}

pub struct Browser {
    http: reqwest::Client,
    cookies: Mutex<BTreeMap<String, String>>,
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    pub fn new() -> Self {
        Self {
            http: http(),
            cookies: Mutex::new(BTreeMap::new()),
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Page {
        let cookie = {
            let cookies = self.cookies.lock().expect("cookie jar");
            (!cookies.is_empty()).then(|| {
                cookies
                    .iter()
                    .map(|(n, v)| format!("{n}={v}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
        };
        let request = match cookie {
            Some(cookie) => request.header(COOKIE, cookie),
            None => request,
        };
        let response = request.send().await.expect("the page is answered");
        let status = response.status();
        let location = response
            .headers()
            .get(LOCATION)
            .map(|v| v.to_str().expect("ascii location").to_owned());
        {
            let mut cookies = self.cookies.lock().expect("cookie jar");
            for set in response.headers().get_all(SET_COOKIE) {
                let set = set.to_str().expect("ascii cookie");
                let pair = set.split(';').next().unwrap_or_default();
                let (name, value) = pair.split_once('=').expect("name=value");
                let cleared = value.is_empty()
                    || set
                        .split(';')
                        .any(|attr| attr.trim().eq_ignore_ascii_case("max-age=0"));
                if cleared {
                    cookies.remove(name.trim());
                } else {
                    cookies.insert(name.trim().to_owned(), value.to_owned());
                }
            }
        }
        let body = response.text().await.expect("a text body");
        Page {
            status,
            location,
            body,
        }
    }

    pub async fn get(&self, url: &str) -> Page {
        self.send(self.http.get(url)).await
    }

    pub async fn post_form(&self, url: &str, fields: &[(&str, &str)]) -> Page {
        self.send(
            self.http
                .post(url)
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(form_encode(fields)),
        )
        .await
    }

    /// Opens `url`; when sent to the hosted sign-in page, fills its form as `username` and
    /// follows the redirect back. Returns the page `url` answers once signed in (a 302 to
    /// the callback for `/oauth2/authorize`, the form for `/device`).
    pub async fn sign_in(
        &self,
        mock: &MockIssuer,
        url: &str,
        username: &str,
        password: &str,
    ) -> Page {
        let first = self.get(url).await;
        let to_login = match &first.location {
            Some(location) if location.starts_with(&mock.login_url()) => location.clone(),
            _ => return first,
        };
        let login = self.get(&to_login).await;
        assert_eq!(login.status, StatusCode::OK, "{}", login.body);
        let mut fields: Vec<(String, String)> = login
            .inputs()
            .into_iter()
            .filter(|(n, _)| n != "username" && n != "password")
            .collect();
        fields.push(("username".into(), username.into()));
        fields.push(("password".into(), password.into()));
        let fields: Vec<(&str, &str)> = fields
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let back = self.post_form(&mock.login_url(), &fields).await.redirect();
        let back = if back.starts_with('/') {
            format!("{}{back}", mock.url())
        } else {
            back
        };
        self.get(&back).await
    }
}
