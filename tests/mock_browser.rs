//! The mock issuer's browser flows over real HTTP: `/oauth2/authorize`, the hosted `/login`
//! form, `/logout`, and the authorization code grant exchanged by a real OAuth client library
//! (the `oauth2` crate), the tokens then checked by tokengate's own `Authorizer`.
#![cfg(feature = "mock")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/oauth_client.rs"]
mod oauth_client;

#[path = "mock_browser/authorize_errors.rs"]
mod authorize_errors;
#[path = "mock_browser/flows.rs"]
mod flows;
#[path = "mock_browser/grant_errors.rs"]
mod grant_errors;
#[path = "mock_browser/pages.rs"]
mod pages;

use std::collections::BTreeMap;
use std::sync::Mutex;

use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthUrl, ClientId, ClientSecret, EndpointNotSet, EndpointSet, ExtraTokenFields, RedirectUrl,
    RequestTokenError, StandardRevocableToken, StandardTokenResponse, TokenUrl,
};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{StatusCode, Url};
use serde::{Deserialize, Serialize};
use tokengate::mock::{Client, Grant, MockIssuer, MockIssuerBuilder, ResourceServer, User};

pub const CALLBACK: &str = "http://localhost:3000/callback";
pub const OTHER_CALLBACK: &str = "http://localhost:3000/other-callback";
pub const SPA_CALLBACK: &str = "http://localhost:5173/cb";
pub const SIGNED_OUT: &str = "http://localhost:3000/signed-out";
pub const WEB_SECRET: &str = "web-secret";

/// The pool of every test: a confidential web app, a public SPA (code + implicit), another
/// confidential client sharing the web app's callback, and alice.
pub fn builder() -> MockIssuerBuilder {
    MockIssuer::builder()
        .resource_server(ResourceServer::new("api", ["read", "write"]))
        .client(
            Client::confidential("web", WEB_SECRET)
                .redirect_uri(CALLBACK)
                .redirect_uri(OTHER_CALLBACK)
                .logout_uri(SIGNED_OUT)
                .grants([Grant::AuthorizationCode, Grant::RefreshToken])
                .scopes(["openid", "email", "profile", "api/read"]),
        )
        .client(
            Client::public("spa")
                .redirect_uri(SPA_CALLBACK)
                .grants([Grant::AuthorizationCode, Grant::Implicit])
                .scopes(["openid", "email", "api/read"]),
        )
        .client(
            Client::confidential("other", "other-secret")
                .redirect_uri(CALLBACK)
                .grants([Grant::AuthorizationCode])
                .scopes(["openid", "api/read"]),
        )
        .client(
            Client::confidential("backend", "backend-secret")
                .grants([Grant::ClientCredentials])
                .scopes(["api/read"]),
        )
        .user(
            User::new("alice", "alice-password")
                .email("alice@example.com")
                .groups(["admins"])
                .attribute("name", "Alice"),
        )
}

pub async fn start() -> MockIssuer {
    builder().start().await.expect("mock issuer starts")
}

/// The ID token next to the standard fields of a token response.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct OidcFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

impl ExtraTokenFields for OidcFields {}

pub type OidcTokenResponse = StandardTokenResponse<OidcFields, BasicTokenType>;

/// An `oauth2` client that keeps the ID token, with its authorization and token URLs set.
pub type OidcClient = oauth2::Client<
    BasicErrorResponse,
    OidcTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// An `oauth2` client for `client_id` (with `secret` when confidential), redirecting to
/// `redirect`.
pub fn oauth_client(
    issuer: &MockIssuer,
    client_id: &str,
    secret: Option<&str>,
    redirect: &str,
) -> OidcClient {
    let client = oauth2::Client::new(ClientId::new(client_id.to_owned()))
        .set_auth_uri(AuthUrl::new(issuer.authorize_endpoint()).expect("auth url"))
        .set_token_uri(TokenUrl::new(issuer.token_endpoint()).expect("token url"))
        .set_redirect_uri(RedirectUrl::new(redirect.to_owned()).expect("redirect url"));
    match secret {
        Some(secret) => client.set_client_secret(ClientSecret::new(secret.to_owned())),
        None => client,
    }
}

/// The OAuth error code of a failed `oauth2` token request.
pub fn error_code<E: std::error::Error + 'static>(
    err: &RequestTokenError<E, BasicErrorResponse>,
) -> String {
    match err {
        RequestTokenError::ServerResponse(response) => response.error().as_ref().to_owned(),
        other => panic!("not an OAuth error response: {other:?}"),
    }
}

/// One HTTP response, read whole.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> Option<String> {
        self.headers
            .get(LOCATION)
            .map(|v| v.to_str().expect("ascii location").to_owned())
    }

    /// The `Location` of a 302, which must be there.
    pub fn redirect(&self) -> String {
        assert_eq!(self.status, StatusCode::FOUND, "{}", self.body);
        self.location().expect("a Location header")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().expect("ascii"))
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().expect("ascii").to_owned())
            .collect()
    }

    /// The `name`/`value` of every `<input>` of the page that has a name, values unescaped.
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

    /// The value of the input named `name`.
    pub fn input(&self, name: &str) -> Option<String> {
        self.inputs()
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }

    /// Asserts an HTML error page with this status and no redirect.
    pub fn assert_error_page(&self, status: StatusCode) {
        assert_eq!(self.status, status, "{}", self.body);
        assert!(self.location().is_none(), "an error page never redirects");
        assert!(
            self.header("content-type")
                .is_some_and(|c| c.starts_with("text/html")),
            "an HTML page"
        );
    }
}

/// `name="…"` of an HTML tag, unescaped.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let end = tag[start..].find('"')? + start;
    Some(unescape(&tag[start..end]))
}

pub fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

/// `application/x-www-form-urlencoded` of these pairs.
pub fn form_encode(pairs: &[(String, String)]) -> String {
    let mut url = Url::parse("http://x/").expect("url");
    url.query_pairs_mut()
        .extend_pairs(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    url.query().unwrap_or_default().to_owned()
}

/// The parameters of a query string or fragment.
pub fn decode_params(text: &str) -> BTreeMap<String, String> {
    let mut url = Url::parse("http://x/").expect("url");
    url.set_query(Some(text));
    url.query_pairs().into_owned().collect()
}

/// `(base, query params, fragment params)` of a URL.
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

/// A browser: never follows redirects, keeps cookies by hand.
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
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("reqwest client"),
            cookies: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn has_cookie(&self, name: &str) -> bool {
        self.cookies.lock().unwrap().contains_key(name)
    }

    fn cookie_header(&self) -> Option<String> {
        let cookies = self.cookies.lock().unwrap();
        (!cookies.is_empty()).then(|| {
            cookies
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Page {
        let request = match self.cookie_header() {
            Some(cookie) => request.header(COOKIE, cookie),
            None => request,
        };
        let response = request.send().await.expect("the request is answered");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.expect("a text body");
        let page = Page {
            status,
            headers,
            body,
        };
        let mut cookies = self.cookies.lock().unwrap();
        for set in page.set_cookies() {
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
        page
    }

    pub async fn get(&self, url: &str) -> Page {
        self.send(self.http.get(url)).await
    }

    pub async fn post_form(&self, url: &str, fields: &[(String, String)]) -> Page {
        self.send(
            self.http
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form_encode(fields)),
        )
        .await
    }

    /// Fills the sign-in form of `login` (a rendered `/login` page) and sends it.
    pub async fn submit_login(
        &self,
        issuer: &MockIssuer,
        login: &Page,
        username: &str,
        password: &str,
    ) -> Page {
        assert!(
            matches!(login.status, StatusCode::OK | StatusCode::UNAUTHORIZED),
            "{}",
            login.body
        );
        let mut fields: Vec<(String, String)> = login
            .inputs()
            .into_iter()
            .filter(|(n, _)| n != "username" && n != "password")
            .collect();
        fields.push(("username".into(), username.into()));
        fields.push(("password".into(), password.into()));
        self.post_form(&issuer.login_url(), &fields).await
    }

    /// The whole hosted sign-in from an authorization URL, as a browser does it:
    /// authorize → 302 /login → the form → POST → 302 authorize → 302 callback.
    /// Returns the callback `Location`.
    pub async fn sign_in_through(&self, issuer: &MockIssuer, authorize_url: &str) -> String {
        let to_login = self.get(authorize_url).await.redirect();
        assert!(
            to_login.starts_with(&format!("{}?", issuer.login_url())),
            "{to_login}"
        );
        let login = self.get(&to_login).await;
        let signed_in = self
            .submit_login(issuer, &login, "alice", "alice-password")
            .await;
        let back = signed_in.redirect();
        assert!(
            back.starts_with(&format!("{}?", issuer.authorize_endpoint())),
            "{back}"
        );
        self.get(&back).await.redirect()
    }
}

/// An authorization URL for `client_id`, built by hand from these extra parameters.
pub fn authorize_url(issuer: &MockIssuer, params: &[(&str, &str)]) -> String {
    let mut url = Url::parse(&issuer.authorize_endpoint()).expect("url");
    url.query_pairs_mut().extend_pairs(params.iter().copied());
    url.to_string()
}
