//! The mock issuer's token life cycle over real HTTP: the client credentials and refresh
//! grants (driven by the `oauth2` crate), revocation, introspection and userInfo.
#![cfg(feature = "mock")]

#[path = "support/oauth_client.rs"]
mod oauth_client;

#[path = "mock_tokens/client_credentials.rs"]
mod client_credentials;
#[path = "mock_tokens/introspect.rs"]
mod introspect;
#[path = "mock_tokens/refresh.rs"]
mod refresh;
#[path = "mock_tokens/revoke.rs"]
mod revoke;
#[path = "mock_tokens/userinfo.rs"]
mod userinfo;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use oauth2::basic::{BasicClient, BasicErrorResponseType, BasicTokenResponse};
use oauth2::url::form_urlencoded;
use oauth2::{
    ClientId, ClientSecret, EndpointNotSet, EndpointSet, RefreshToken, RequestTokenError,
    TokenResponse as _, TokenUrl,
};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap};
use serde_json::{Map, Value};
use tokengate::mock::{Client, Grant, MockIssuer, ResourceServer, User};
use tokengate::{Claims, ManualClock, Profile};

pub use oauth_client::http_client;

/// Every scope the user-facing clients may ask for.
pub const ALL_SCOPES: [&str; 6] = [
    "openid",
    "email",
    "profile",
    "phone",
    "api/read",
    "api/write",
];

/// A running issuer and the clock it reads.
pub struct Fixture {
    pub issuer: MockIssuer,
    pub clock: ManualClock,
}

/// The issuer every test starts:
/// - `backend` (secret `backend-secret`): client credentials, `api/read`, `api/write`, and
///   `openid` (which client credentials must still refuse);
/// - `web` (secret `web-secret`), `other` (secret `other-secret`), `spa` (public): refresh,
///   no rotation;
/// - `rotating` (secret `rotating-secret`): rotation with a 10 s grace; `strict`: rotation
///   with no grace;
/// - `resource` (secret `resource-secret`): a resource server that introspects.
pub async fn start() -> Fixture {
    let clock = ManualClock::starting_now();
    let user_client = |c: Client| {
        c.grants([Grant::AuthorizationCode, Grant::RefreshToken])
            .redirect_uri("http://localhost:8000/callback")
            .scopes(ALL_SCOPES)
    };
    let issuer = MockIssuer::builder()
        .clock(clock.clone())
        .resource_server(ResourceServer::new("api", ["read", "write"]))
        .client(
            Client::confidential("backend", "backend-secret")
                .grants([Grant::ClientCredentials])
                .scopes(["openid", "api/read", "api/write"]),
        )
        .client(user_client(Client::confidential("web", "web-secret")))
        .client(user_client(Client::confidential("other", "other-secret")))
        .client(user_client(Client::public("spa")))
        .client(
            user_client(Client::confidential("rotating", "rotating-secret"))
                .rotate_refresh_tokens(Duration::from_secs(10)),
        )
        .client(
            user_client(Client::confidential("strict", "strict-secret"))
                .rotate_refresh_tokens(Duration::ZERO),
        )
        .client(
            Client::confidential("resource", "resource-secret")
                .grants([Grant::ClientCredentials])
                .scopes(["api/read"]),
        )
        .user(
            User::new("alice", "alice-password")
                .subject("8f2c1e4a-0000-4000-8000-00000000a11c")
                .email("alice@example.com")
                .phone_number("+15550100")
                .groups(["admins"])
                .attribute("name", "Alice Admin"),
        )
        .user(User::new("bob", "bob-password").email("bob@example.com"))
        .start()
        .await
        .expect("the mock issuer starts");
    Fixture { issuer, clock }
}

/// A confidential client's secret in the fixture.
pub fn secret_of(client_id: &str) -> Option<String> {
    match client_id {
        "spa" => None,
        id => Some(format!("{id}-secret")),
    }
}

pub type OAuthClient =
    BasicClient<EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// The `oauth2` crate's client for one of the fixture's clients (secret by Basic).
pub fn oauth(fx: &Fixture, client_id: &str) -> OAuthClient {
    let client = BasicClient::new(ClientId::new(client_id.to_owned()))
        .set_token_uri(TokenUrl::new(fx.issuer.token_endpoint()).expect("token URL"));
    match secret_of(client_id) {
        Some(secret) => client.set_client_secret(ClientSecret::new(secret)),
        None => client,
    }
}

/// Refreshes through the `oauth2` crate.
pub async fn refresh_with(
    fx: &Fixture,
    client_id: &str,
    refresh_token: &str,
) -> Result<BasicTokenResponse, BasicErrorResponseType> {
    oauth(fx, client_id)
        .exchange_refresh_token(&RefreshToken::new(refresh_token.to_owned()))
        .request_async(&http_client)
        .await
        .map_err(server_error)
}

/// The error code of a token-endpoint failure (panics on anything but an error response).
pub fn server_error<RE: std::error::Error + 'static>(
    err: RequestTokenError<RE, oauth2::basic::BasicErrorResponse>,
) -> BasicErrorResponseType {
    match err {
        RequestTokenError::ServerResponse(body) => body.error().clone(),
        other => panic!("expected an OAuth error response, got {other:?}"),
    }
}

/// A refresh token for `username` at `client_id`, as after a sign-in.
pub fn sign_in(fx: &Fixture, client_id: &str, username: &str, scopes: &[&str]) -> String {
    fx.issuer
        .issue_refresh_token_for_tests(client_id, username, scopes.iter().copied())
        .expect("a refresh token")
}

/// An access token for `username` at `client_id` (sign in, then refresh once).
pub async fn user_access_token(
    fx: &Fixture,
    client_id: &str,
    username: &str,
    scopes: &[&str],
) -> String {
    let rt = sign_in(fx, client_id, username, scopes);
    refresh_with(fx, client_id, &rt)
        .await
        .expect("the refresh succeeds")
        .access_token()
        .secret()
        .clone()
}

/// How a raw request authenticates.
#[derive(Clone, Copy, Debug)]
pub enum Auth<'a> {
    None,
    Basic(&'a str, &'a str),
}

/// A raw response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    /// The body as JSON (`Null` when empty or not JSON).
    pub json: Value,
}

impl Reply {
    pub fn error(&self) -> &str {
        self.json["error"].as_str().unwrap_or("")
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

async fn reply(response: reqwest::Response) -> Reply {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("a body");
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        text,
        json,
    }
}

/// POSTs a form, authenticating as told.
pub async fn post_form(url: &str, auth: Auth<'_>, params: &[(&str, &str)]) -> Reply {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let mut request = reqwest::Client::new()
        .post(url)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body);
    if let Auth::Basic(id, secret) = auth {
        let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let credentials = STANDARD.encode(format!("{}:{}", encode(id), encode(secret)));
        request = request.header(AUTHORIZATION, format!("Basic {credentials}"));
    }
    reply(request.send().await.expect("the mock answers")).await
}

/// Calls userInfo with `method`, and `Authorization: Bearer <token>` when given.
pub async fn userinfo(fx: &Fixture, method: reqwest::Method, token: Option<&str>) -> Reply {
    let mut request = reqwest::Client::new().request(method, fx.issuer.userinfo_endpoint());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    reply(request.send().await.expect("the mock answers")).await
}

/// Introspects `token` as the `resource` client.
pub async fn introspect(fx: &Fixture, token: &str) -> Value {
    let reply = post_form(
        &fx.issuer.introspection_endpoint(),
        Auth::Basic("resource", "resource-secret"),
        &[("token", token)],
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json
}

/// Validates an access token with tokengate's own authorizer, reading the mock's JWKS,
/// on the fixture's clock; returns its claims with every claim as custom.
pub async fn check_access(
    fx: &Fixture,
    client_id: &str,
    token: &str,
) -> Claims<Map<String, Value>> {
    fx.issuer
        .authorizer(Profile::cognito_access())
        .expect("an authorizer")
        .client_id(client_id)
        .clock(fx.clock.clone())
        .build()
        .expect("valid authorizer settings")
        .authorize::<Map<String, Value>>(token)
        .await
        .expect("the access token validates")
}

/// Validates an ID token likewise.
pub async fn check_id(fx: &Fixture, client_id: &str, token: &str) -> Claims<Map<String, Value>> {
    fx.issuer
        .authorizer(Profile::cognito_id())
        .expect("an authorizer")
        .client_id(client_id)
        .clock(fx.clock.clone())
        .build()
        .expect("valid authorizer settings")
        .authorize::<Map<String, Value>>(token)
        .await
        .expect("the ID token validates")
}

/// A JWT's payload, unverified (to look at claims of tokens that no longer validate).
pub fn payload(token: &str) -> Value {
    let middle = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(middle).expect("base64url")).expect("JSON")
}
