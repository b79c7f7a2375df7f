//! What the mock issuer knows: clients, users, resource servers, trusted issuers, lifetimes.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::mock::config_rules;
use crate::mock::customize::TokenCustomization;
use crate::mock::users::UsernameAttribute;

/// An OAuth 2.0 grant type a client may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grant {
    /// `authorization_code` (with or without PKCE).
    AuthorizationCode,
    /// `implicit` (`response_type=token`).
    Implicit,
    /// `client_credentials`.
    ClientCredentials,
    /// `refresh_token`.
    RefreshToken,
    /// `urn:ietf:params:oauth:grant-type:device_code` (RFC 8628).
    DeviceCode,
    /// `urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693).
    TokenExchange,
}

impl Grant {
    /// The `grant_type` value at the token endpoint (`None` for implicit, which has none).
    pub const fn grant_type(self) -> Option<&'static str> {
        match self {
            Self::AuthorizationCode => Some("authorization_code"),
            Self::Implicit => None,
            Self::ClientCredentials => Some("client_credentials"),
            Self::RefreshToken => Some("refresh_token"),
            Self::DeviceCode => Some("urn:ietf:params:oauth:grant-type:device_code"),
            Self::TokenExchange => Some("urn:ietf:params:oauth:grant-type:token-exchange"),
        }
    }

    /// Every grant.
    pub const ALL: [Self; 6] = [
        Self::AuthorizationCode,
        Self::Implicit,
        Self::ClientCredentials,
        Self::RefreshToken,
        Self::DeviceCode,
        Self::TokenExchange,
    ];
}

/// An app client of the user pool.
///
/// ```
/// use tokengate::mock::{Client, Grant};
///
/// let spa = Client::public("spa")
///     .redirect_uri("http://localhost:3000/callback")
///     .grants([Grant::AuthorizationCode, Grant::RefreshToken])
///     .scopes(["openid", "email", "api/read"]);
/// let backend = Client::confidential("backend", "backend-secret")
///     .grants([Grant::ClientCredentials])
///     .scopes(["api/read", "api/write"]);
/// # let _ = (spa, backend);
/// ```
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Client {
    /// The client id.
    pub id: String,
    /// The secret; `None` for a public client.
    #[serde(default)]
    pub secret: Option<String>,
    /// Registered redirect URIs (exact match).
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Registered sign-out URLs for `/logout`.
    #[serde(default)]
    pub logout_uris: Vec<String>,
    /// Grants the client may use.
    #[serde(default)]
    pub grants: Vec<Grant>,
    /// Scopes the client may ask for.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Whether refresh tokens rotate on use. Off by default, as in Cognito.
    #[serde(default)]
    pub rotate_refresh_tokens: bool,
    /// How long a rotated refresh token still works (0–60 s). Defaults to 0.
    #[serde(default)]
    pub rotation_grace_seconds: u64,
}

impl Client {
    /// A client without a secret (a SPA, a mobile or CLI app).
    pub fn public(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            secret: None,
            redirect_uris: Vec::new(),
            logout_uris: Vec::new(),
            grants: Vec::new(),
            scopes: Vec::new(),
            rotate_refresh_tokens: false,
            rotation_grace_seconds: 0,
        }
    }

    /// A client with a secret (a server).
    pub fn confidential(id: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            secret: Some(secret.into()),
            ..Self::public(id)
        }
    }

    /// Adds a redirect URI.
    #[must_use]
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uris.push(uri.into());
        self
    }

    /// Adds a sign-out URL.
    #[must_use]
    pub fn logout_uri(mut self, uri: impl Into<String>) -> Self {
        self.logout_uris.push(uri.into());
        self
    }

    /// The grants the client may use.
    #[must_use]
    pub fn grants(mut self, grants: impl IntoIterator<Item = Grant>) -> Self {
        self.grants = grants.into_iter().collect();
        self
    }

    /// The scopes the client may ask for.
    #[must_use]
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Rotates refresh tokens on use, the old one working for `grace` more (Cognito allows
    /// 0 to 60 s; more is refused when the configuration is checked).
    #[must_use]
    pub fn rotate_refresh_tokens(mut self, grace: Duration) -> Self {
        self.rotate_refresh_tokens = true;
        self.rotation_grace_seconds = grace.as_secs();
        self
    }

    pub(crate) fn allows(&self, grant: Grant) -> bool {
        self.grants.contains(&grant)
    }
}

/// The default of `email_verified` and `phone_number_verified`.
const fn verified() -> bool {
    true
}

/// A user of the pool.
///
/// ```
/// use tokengate::mock::User;
///
/// let alice = User::new("alice", "alice-password")
///     .email("alice@example.com")
///     .groups(["admins"])
///     .attribute("custom:tenant", "acme");
/// # let _ = alice;
/// ```
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// The user name (what the sign-in form asks for).
    pub username: String,
    /// The password.
    pub password: String,
    /// The subject (`sub`); a UUID is made when absent.
    #[serde(default)]
    pub sub: Option<String>,
    /// `email`.
    #[serde(default)]
    pub email: Option<String>,
    /// `email_verified`. Defaults to true.
    #[serde(default = "verified")]
    pub email_verified: bool,
    /// `phone_number`.
    #[serde(default)]
    pub phone_number: Option<String>,
    /// `phone_number_verified`. Defaults to true.
    #[serde(default = "verified")]
    pub phone_number_verified: bool,
    /// Groups (`cognito:groups`).
    #[serde(default)]
    pub groups: Vec<String>,
    /// Other attributes (`name`, `custom:*` …), all strings as in Cognito.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

impl User {
    /// A user with a name and a password.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            password: password.into(),
            sub: None,
            email: None,
            email_verified: true,
            phone_number: None,
            phone_number_verified: true,
            groups: Vec::new(),
            attributes: BTreeMap::new(),
        }
    }

    /// Sets the subject (`sub`).
    #[must_use]
    pub fn subject(mut self, sub: impl Into<String>) -> Self {
        self.sub = Some(sub.into());
        self
    }

    /// Sets `email` (verified unless [`email_verified`](Self::email_verified) says not).
    #[must_use]
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    /// Sets `email_verified`.
    #[must_use]
    pub fn email_verified(mut self, verified: bool) -> Self {
        self.email_verified = verified;
        self
    }

    /// Sets `phone_number` (verified unless
    /// [`phone_number_verified`](Self::phone_number_verified) says not).
    #[must_use]
    pub fn phone_number(mut self, phone: impl Into<String>) -> Self {
        self.phone_number = Some(phone.into());
        self
    }

    /// Sets `phone_number_verified`.
    #[must_use]
    pub fn phone_number_verified(mut self, verified: bool) -> Self {
        self.phone_number_verified = verified;
        self
    }

    /// The user's groups.
    #[must_use]
    pub fn groups<I, S>(mut self, groups: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.groups = groups.into_iter().map(Into::into).collect();
        self
    }

    /// Sets another attribute (`name`, `custom:tenant` …).
    #[must_use]
    pub fn attribute(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.insert(name.into(), value.into());
        self
    }
}

/// A resource server: its identifier and custom scopes, asked for as `<identifier>/<scope>`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceServer {
    /// The identifier (`api`, or a URL).
    pub identifier: String,
    /// The scope names, without the identifier.
    #[serde(default)]
    pub scopes: Vec<String>,
}

impl ResourceServer {
    /// A resource server with these scopes.
    pub fn new<I, S>(identifier: impl Into<String>, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            identifier: identifier.into(),
            scopes: scopes.into_iter().map(Into::into).collect(),
        }
    }

    /// The full custom scopes, `<identifier>/<scope>`.
    pub fn full_scopes(&self) -> impl Iterator<Item = String> + '_ {
        self.scopes
            .iter()
            .map(|s| format!("{}/{}", self.identifier, s))
    }
}

/// An external issuer whose access tokens the token-exchange grant accepts (RFC 8693).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedIssuer {
    /// Its issuer URL (`iss`).
    pub issuer: String,
    /// Its JWKS URL.
    pub jwks_uri: String,
    /// The audience its tokens must carry; `None` checks `client_id` against
    /// `client_id` instead, as for Cognito access tokens.
    #[serde(default)]
    pub audience: Option<String>,
    /// The client id its tokens must carry, when `audience` is `None`.
    #[serde(default)]
    pub client_id: Option<String>,
}

/// The pool id of the default issuer, `http://ADDR/us-east-1_tokengate`: a Cognito pool id
/// (`REGION_ID`), so that the issuer has a path as Cognito's does.
pub const DEFAULT_POOL_ID: &str = "us-east-1_tokengate";

/// The path of `issuer` under which discovery and the key set are served (`/us-east-1_x`, or
/// `""` for an issuer without a path), or why the issuer cannot be one: it must be an
/// absolute `http`/`https` URL without credentials, query or fragment, whose path segments
/// are RFC 3986 unreserved characters (so that the path is a route as written), and not
/// under `/_admin`.
pub(crate) fn issuer_path(issuer: &str) -> Result<String, String> {
    let bad = |why: &str| Err(format!("`issuer` {why}: `{issuer}`"));
    let Ok(url) = reqwest::Url::parse(issuer) else {
        return bad("must be an absolute URL");
    };
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return bad("must be an http or https URL with a host");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return bad("must not carry credentials");
    }
    if url.query().is_some() || url.fragment().is_some() {
        return bad("must have no query or fragment");
    }
    let path = url.path().trim_end_matches('/');
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let unreserved = |s: &str| {
        !s.is_empty()
            && s != "."
            && s != ".."
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
    };
    if !segments.iter().all(|s| unreserved(s)) {
        return bad("must have a path of letters, digits, `-`, `.`, `_` and `~` only");
    }
    if segments.first() == Some(&"_admin") {
        return bad("must not be under `/_admin`, the admin API's path");
    }
    Ok(path.to_owned())
}

/// Token lifetimes, in seconds. Defaults as Cognito's: access and ID 1 h, refresh 30 days.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Lifetimes {
    /// Access tokens.
    pub access_token: u64,
    /// ID tokens.
    pub id_token: u64,
    /// Refresh tokens.
    pub refresh_token: u64,
    /// Authorization codes (Cognito: 5 minutes).
    pub authorization_code: u64,
    /// Device codes (RFC 8628 `expires_in`).
    pub device_code: u64,
    /// Device polling interval (RFC 8628 `interval`).
    pub device_interval: u64,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Self {
            access_token: 3600,
            id_token: 3600,
            refresh_token: 30 * 86_400,
            authorization_code: 300,
            device_code: 600,
            device_interval: 5,
        }
    }
}

/// The whole configuration, as the standalone server reads it from TOML.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MockConfig {
    /// The advertised issuer; defaults to `http://ADDR/` + [`DEFAULT_POOL_ID`], a pool path
    /// as Cognito's (`https://cognito-idp.REGION.amazonaws.com/POOL_ID`). Discovery and the
    /// key set are served under its path, on the listening address.
    pub issuer: Option<String>,
    /// App clients.
    pub clients: Vec<Client>,
    /// Users.
    pub users: Vec<User>,
    /// Resource servers and their custom scopes.
    pub resource_servers: Vec<ResourceServer>,
    /// Issuers trusted for token exchange.
    pub trusted_issuers: Vec<TrustedIssuer>,
    /// Token lifetimes.
    pub lifetimes: Lifetimes,
    /// Attributes users sign in with instead of a user name (`email`, `phone_number`): the
    /// tokens' `username` is then the user's `sub`, as in Cognito pools created so. Empty by
    /// default: users sign in with their user name.
    pub username_attributes: Vec<UsernameAttribute>,
    /// Whether sign-in names are case-sensitive. Off by default, as in new Cognito pools.
    pub case_sensitive_usernames: bool,
    /// Declarative token customizations, applied in order to every token the grants issue.
    pub token_customizations: Vec<TokenCustomization>,
}

impl MockConfig {
    /// Checks the configuration as Cognito checks a user pool's (and the mock its own
    /// additions): what [`MockIssuerBuilder::start`](crate::mock::MockIssuerBuilder::start)
    /// and every change of the test and admin APIs refuse.
    ///
    /// ```
    /// use tokengate::mock::{Client, Grant, MockConfig};
    ///
    /// let mut config = MockConfig::demo();
    /// assert!(config.validate().is_ok());
    /// config.clients.push(Client::public("cli").grants([Grant::ClientCredentials]));
    /// let err = config.validate().expect_err("client credentials need a secret");
    /// assert!(err.to_string().contains("client_credentials needs a client secret"));
    /// ```
    ///
    /// # Errors
    ///
    /// The first problem found, naming the entry and the rule: an issuer that cannot be
    /// served, lifetimes outside Cognito's ranges, client credentials without a secret or
    /// beside a user grant, redirect or sign-out URLs Cognito refuses (`http://` other than
    /// `localhost`, a fragment, not absolute), a browser grant without a redirect URI, a
    /// client scope no resource server defines, a rotation grace period over 60 s, duplicate
    /// ids or user names (or emails and phone numbers a pool signs in with), a trusted issuer
    /// with neither `client_id` nor `audience`, a customization that changes a protected claim.
    pub fn validate(&self) -> Result<(), crate::Error> {
        self.check()
            .map_err(|e| crate::Error::new(crate::error::ErrorKind::Config(e)))
    }

    /// [`validate`](Self::validate), the reason as text.
    pub(crate) fn check(&self) -> Result<(), String> {
        config_rules::check(self)
    }

    /// Whether users sign in with their email.
    pub(crate) fn signs_in_with_email(&self) -> bool {
        self.username_attributes.contains(&UsernameAttribute::Email)
    }

    /// Whether users sign in with their phone number.
    pub(crate) fn signs_in_with_phone(&self) -> bool {
        self.username_attributes
            .contains(&UsernameAttribute::PhoneNumber)
    }

    /// The documented demo configuration: a client for each grant, two users, custom scopes
    /// `api/read` and `api/write`, a group `admins`.
    pub fn demo() -> Self {
        let all_scopes = [
            "openid",
            "email",
            "profile",
            "phone",
            "api/read",
            "api/write",
        ];
        Self {
            issuer: None,
            clients: vec![
                Client::confidential("demo-backend", "demo-backend-secret")
                    .grants([Grant::ClientCredentials])
                    .scopes(["api/read", "api/write"]),
                Client::confidential("demo-web", "demo-web-secret")
                    .redirect_uri("http://localhost:8000/callback")
                    .logout_uri("http://localhost:8000/")
                    .grants([Grant::AuthorizationCode, Grant::RefreshToken])
                    .scopes(all_scopes),
                Client::public("demo-spa")
                    .redirect_uri("http://localhost:3000/callback")
                    .logout_uri("http://localhost:3000/")
                    .grants([
                        Grant::AuthorizationCode,
                        Grant::RefreshToken,
                        Grant::Implicit,
                    ])
                    .scopes(all_scopes),
                Client::public("demo-device")
                    .grants([Grant::DeviceCode, Grant::RefreshToken])
                    .scopes(all_scopes),
                Client::confidential("demo-exchange", "demo-exchange-secret")
                    .grants([Grant::TokenExchange])
                    .scopes(["api/read", "api/write"]),
            ],
            users: vec![
                User::new("alice", "alice-password")
                    .subject("8f2c1e4a-0000-4000-8000-00000000a11c")
                    .email("alice@example.com")
                    .groups(["admins"])
                    .attribute("name", "Alice Admin"),
                User::new("bob", "bob-password")
                    .subject("8f2c1e4a-0000-4000-8000-000000000b0b")
                    .email("bob@example.com")
                    .attribute("name", "Bob User"),
            ],
            resource_servers: vec![ResourceServer::new("api", ["read", "write"])],
            trusted_issuers: Vec::new(),
            lifetimes: Lifetimes::default(),
            username_attributes: Vec::new(),
            case_sensitive_usernames: false,
            token_customizations: Vec::new(),
        }
    }
}
