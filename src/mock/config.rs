//! What the mock issuer knows: clients, users, resource servers, trusted issuers, lifetimes.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

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

    /// Rotates refresh tokens on use, the old one working for `grace` more (at most 60 s).
    #[must_use]
    pub fn rotate_refresh_tokens(mut self, grace: Duration) -> Self {
        self.rotate_refresh_tokens = true;
        self.rotation_grace_seconds = grace.as_secs().min(60);
        self
    }

    pub(crate) fn allows(&self, grant: Grant) -> bool {
        self.grants.contains(&grant)
    }

    /// What makes the client unusable, if anything.
    pub(crate) fn check(&self) -> Result<(), String> {
        required("id", &self.id)
    }
}

/// A required text field must not be blank.
fn required(name: &str, value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        Err(format!("`{name}` must not be empty"))
    } else {
        Ok(())
    }
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
    /// `phone_number`.
    #[serde(default)]
    pub phone_number: Option<String>,
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
            phone_number: None,
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

    /// Sets `email` (verified).
    #[must_use]
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    /// Sets `phone_number` (verified).
    #[must_use]
    pub fn phone_number(mut self, phone: impl Into<String>) -> Self {
        self.phone_number = Some(phone.into());
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

    /// What makes the user unusable, if anything.
    pub(crate) fn check(&self) -> Result<(), String> {
        required("username", &self.username)
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

    /// What makes the resource server unusable, if anything.
    pub(crate) fn check(&self) -> Result<(), String> {
        required("identifier", &self.identifier)
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

impl TrustedIssuer {
    /// What makes the trusted issuer unusable, if anything.
    pub(crate) fn check(&self) -> Result<(), String> {
        required("issuer", &self.issuer)?;
        required("jwks_uri", &self.jwks_uri)
    }
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
    /// The advertised issuer; defaults to the listening address.
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
}

impl MockConfig {
    /// Every entry checked as the test API checks what it adds: the first problem found.
    pub(crate) fn check(&self) -> Result<(), String> {
        self.clients.iter().try_for_each(Client::check)?;
        self.users.iter().try_for_each(User::check)?;
        self.resource_servers
            .iter()
            .try_for_each(ResourceServer::check)?;
        self.trusted_issuers
            .iter()
            .try_for_each(TrustedIssuer::check)
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
        }
    }
}
