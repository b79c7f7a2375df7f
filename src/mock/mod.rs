//! A test-mode authorization server shaped like an Amazon Cognito user pool (feature `mock`).
//!
//! It runs every OAuth 2.0 grant for real — authorization code with and without PKCE,
//! implicit, client credentials, refresh (with optional rotation), device authorization
//! (RFC 8628) and token exchange (RFC 8693) — on `127.0.0.1:0`, with in-memory state and fresh
//! keys per instance. It is for tests: never a production authorization server.
//!
//! ```
//! use tokengate::mock::{Client, Grant, MockIssuer, ResourceServer};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), tokengate::Error> {
//! let issuer = MockIssuer::builder()
//!     .resource_server(ResourceServer::new("api", ["read", "write"]))
//!     .client(
//!         Client::confidential("backend", "secret")
//!             .grants([Grant::ClientCredentials])
//!             .scopes(["api/read"]),
//!     )
//!     .start()
//!     .await?;
//! assert!(issuer.token_endpoint().ends_with("/oauth2/token"));
//! # Ok(()) }
//! ```

// The module map is drawn in ARCHITECTURE.md: state and keys, the one claim builder, the
// helpers every endpoint shares (pages, JSON answers, redirects), one file per endpoint and
// per grant, and the test API with the admin API over it.
mod admin_guard;
mod claims;
mod client_auth;
mod config;
mod config_rules;
mod customize;
mod dpop_client;
mod endpoints;
mod error;
mod forgery;
mod form;
mod grants;
mod html;
mod json;
pub(crate) mod keys;
mod mint;
mod redirect;
mod router;
mod scopes;
mod session;
pub(crate) mod store;
mod test_api;
mod user_code;
mod users;
mod verify;

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use tokio::sync::oneshot;

use crate::clock::{Clock, SystemClock};
use crate::error::{Error, ErrorKind};

pub use config::{
    Client, DEFAULT_POOL_ID, Grant, Lifetimes, MockConfig, ResourceServer, TrustedIssuer, User,
};
pub use customize::{
    ACCESS_PROTECTED, AccessTokenChanges, IdTokenChanges, PROTECTED, TokenChanges,
    TokenCustomization, TokenEvent, TriggerSource,
};
pub use dpop_client::{DpopClient, HostileProof};
pub use forgery::Forgery;
pub use keys::KeyUse;
pub use store::{JwksFault, RecordedRequest, StoreSize};
pub use test_api::{CodeFlow, FlowError, TokenBuilder, TokenResponse};
pub use users::UsernameAttribute;

/// What every handler shares.
pub(crate) struct Shared {
    pub(crate) issuer: String,
    pub(crate) base: String,
    /// The issuer's path (`/us-east-1_tokengate`, or `""`): discovery and the key set are
    /// served under it, as Cognito serves them under the pool id.
    pub(crate) key_path: String,
    pub(crate) clock: Arc<dyn Clock>,
    /// This instance's session cookie name.
    pub(crate) cookie_name: String,
    /// Who may use the admin API.
    pub(crate) admin: admin_guard::AdminGuard,
    pub(crate) state: Mutex<store::State>,
    /// The attacker's key of the `jwk`, `jku` and `x5u` forgeries, made on first use.
    pub(crate) attacker: OnceLock<keys::SigningKey>,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("issuer", &self.issuer)
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// The state of an issuer at `base` with no socket (unit tests of the grants).
    #[cfg(test)]
    pub(crate) fn for_tests(config: MockConfig) -> Self {
        let base = "http://127.0.0.1:9".to_owned();
        Self {
            issuer: base.clone(),
            admin: admin_guard::AdminGuard::new(&base, &base, 9, None),
            base,
            key_path: String::new(),
            clock: Arc::new(SystemClock),
            cookie_name: session::new_cookie_name(),
            attacker: OnceLock::new(),
            state: Mutex::new(store::State::new(
                config,
                keys::KeyRing::generate().expect("keys"),
            )),
        }
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, store::State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn now(&self) -> u64 {
        self.clock.now_unix()
    }

    /// An absolute URL of this server.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The path of a well-known document under the issuer's path
    /// (`/us-east-1_tokengate/.well-known/jwks.json`).
    pub(crate) fn well_known(&self, name: &str) -> String {
        format!("{}/.well-known/{name}", self.key_path)
    }
}

/// Builds a [`MockIssuer`].
#[must_use = "a builder does nothing until `.start()`"]
pub struct MockIssuerBuilder {
    config: MockConfig,
    addr: SocketAddr,
    allow_non_loopback: bool,
    admin_token: Option<String>,
    clock: Arc<dyn Clock>,
    customizers: customize::Customizers,
}

impl fmt::Debug for MockIssuerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockIssuerBuilder")
            .field("config", &self.config)
            .field("addr", &self.addr)
            .field("allow_non_loopback", &self.allow_non_loopback)
            .field(
                "admin_token",
                &self.admin_token.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

impl MockIssuerBuilder {
    /// The whole configuration at once (as read from TOML).
    pub fn config(mut self, config: MockConfig) -> Self {
        self.config = config;
        self
    }

    /// The advertised issuer (`iss`, discovery's `issuer`), independent of the listening
    /// address: for example `https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Mock`.
    /// Defaults to `http://ADDR/us-east-1_tokengate` ([`DEFAULT_POOL_ID`]). Discovery and the
    /// key set are served under its path on the listening address
    /// (`http://ADDR/eu-west-1_Mock/.well-known/jwks.json`), as Cognito serves them under
    /// the pool id.
    pub fn issuer_url(mut self, issuer: impl Into<String>) -> Self {
        self.config.issuer = Some(issuer.into());
        self
    }

    /// Adds an app client.
    pub fn client(mut self, client: Client) -> Self {
        self.config.clients.push(client);
        self
    }

    /// Adds a user.
    pub fn user(mut self, user: User) -> Self {
        self.config.users.push(user);
        self
    }

    /// Adds a resource server and its custom scopes.
    pub fn resource_server(mut self, server: ResourceServer) -> Self {
        self.config.resource_servers.push(server);
        self
    }

    /// Trusts an external issuer's access tokens for token exchange.
    pub fn trusted_issuer(mut self, issuer: TrustedIssuer) -> Self {
        self.config.trusted_issuers.push(issuer);
        self
    }

    /// Token lifetimes.
    pub fn lifetimes(mut self, lifetimes: Lifetimes) -> Self {
        self.config.lifetimes = lifetimes;
        self
    }

    /// Adds a declarative token customization (see [`TokenCustomization`]).
    pub fn token_customization(mut self, customization: TokenCustomization) -> Self {
        self.config.token_customizations.push(customization);
        self
    }

    /// Adds a Rust token customization, as Cognito's pre token generation trigger: before
    /// any grant signs its tokens, `customize` sees who they are for and answers what to
    /// change. Applied after the declarative ones, in the order added.
    ///
    /// ```
    /// use tokengate::mock::{MockIssuer, TokenChanges, TriggerSource};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), tokengate::Error> {
    /// let issuer = MockIssuer::demo()
    ///     .customize_tokens(|event| match event.username.as_deref() {
    ///         Some("alice") if event.trigger_source == TriggerSource::HostedAuth => {
    ///             TokenChanges::default().access_claim("tenant", "acme")
    ///         }
    ///         _ => TokenChanges::default(),
    ///     })
    ///     .start()
    ///     .await?;
    /// # let _ = issuer; Ok(()) }
    /// ```
    ///
    /// It runs while the mock's state is locked, so it must not call the `MockIssuer`; a
    /// change to a protected claim ([`PROTECTED`], [`ACCESS_PROTECTED`]) fails the grant with
    /// `server_error`.
    pub fn customize_tokens(
        mut self,
        customize: impl Fn(&TokenEvent) -> TokenChanges + Send + Sync + 'static,
    ) -> Self {
        self.customizers.0.push(Arc::new(customize));
        self
    }

    /// The address to listen on. Defaults to `127.0.0.1:0` (a free port). A non-loopback
    /// address also needs [`allow_non_loopback`](Self::allow_non_loopback).
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Lets [`addr`](Self::addr) be an address beyond loopback (`0.0.0.0`, a LAN address),
    /// giving up the one barrier between the mock and the network: whoever reaches it can
    /// read every secret and mint tokens, unless an [`admin_token`](Self::admin_token) guards
    /// the admin API — and the OAuth endpoints still serve the configured users to anyone.
    /// A warning is logged (`tracing`) when the mock starts that way.
    pub fn allow_non_loopback(mut self) -> Self {
        self.allow_non_loopback = true;
        self
    }

    /// Requires `Authorization: Bearer <token>` on every admin API request (compared in
    /// constant time). Without one, the admin API trusts whoever passes its `Host`, `Origin`
    /// and content-type checks.
    pub fn admin_token(mut self, token: impl Into<String>) -> Self {
        self.admin_token = Some(token.into());
        self
    }

    /// The clock for `iat`/`exp` and every expiry. Defaults to the system clock.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Generates the keys, binds the address and starts serving.
    ///
    /// # Errors
    ///
    /// When the configuration is refused ([`MockConfig::validate`]: Cognito's rules, an
    /// issuer that cannot be served), the admin token is empty, the address is not loopback
    /// and [`allow_non_loopback`](Self::allow_non_loopback) was not called, the address
    /// cannot be bound or keys cannot be generated.
    pub async fn start(self) -> Result<MockIssuer, Error> {
        let config_error = |message: String| Error::new(ErrorKind::Config(message));
        self.config.check().map_err(config_error)?;
        if self
            .admin_token
            .as_deref()
            .is_some_and(|t| t.trim().is_empty())
        {
            return Err(config_error("the admin token must not be empty".into()));
        }
        if !self.addr.ip().is_loopback() {
            if !self.allow_non_loopback {
                return Err(config_error(format!(
                    "refusing to listen on {}, beyond loopback: anyone who reaches the mock can \
                     read its secrets and mint tokens; allow it explicitly \
                     (allow_non_loopback, --allow-non-loopback) if that is what you want",
                    self.addr
                )));
            }
            tracing::warn!(
                addr = %self.addr,
                admin_token = self.admin_token.is_some(),
                "the mock issuer listens beyond loopback: anyone who reaches it can use its \
                 users, and without an admin token its admin API"
            );
        }
        let listener = tokio::net::TcpListener::bind(self.addr)
            .await
            .map_err(|e| {
                Error::new(ErrorKind::Config(format!("cannot bind {}: {e}", self.addr)))
            })?;
        let local = listener
            .local_addr()
            .map_err(|e| Error::new(ErrorKind::Config(format!("no local address: {e}"))))?;
        let base = format!("http://{local}");
        let issuer = match &self.config.issuer {
            Some(issuer) => issuer.clone(),
            None => format!("{base}/{DEFAULT_POOL_ID}"),
        };
        let key_path =
            config::issuer_path(&issuer).map_err(|e| Error::new(ErrorKind::Config(e)))?;
        let keys = keys::KeyRing::generate()?;
        let admin =
            admin_guard::AdminGuard::new(&base, &issuer, local.port(), self.admin_token.as_deref());
        let mut state = store::State::new(self.config, keys);
        state.customizers = self.customizers;
        let shared = Arc::new(Shared {
            issuer,
            base,
            key_path,
            clock: self.clock,
            cookie_name: session::new_cookie_name(),
            attacker: OnceLock::new(),
            admin,
            state: Mutex::new(state),
        });
        let app = router::router(Arc::clone(&shared));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(MockIssuer {
            shared,
            local,
            stop: Some(stop),
            task,
        })
    }
}

/// A running mock issuer; it stops when dropped.
pub struct MockIssuer {
    pub(crate) shared: Arc<Shared>,
    local: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl fmt::Debug for MockIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockIssuer")
            .field("issuer", &self.shared.issuer)
            .field("url", &self.shared.base)
            .finish_non_exhaustive()
    }
}

impl Drop for MockIssuer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.abort();
    }
}

impl MockIssuer {
    /// A builder with nothing configured.
    pub fn builder() -> MockIssuerBuilder {
        MockIssuerBuilder {
            config: MockConfig::default(),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            allow_non_loopback: false,
            admin_token: None,
            clock: Arc::new(SystemClock),
            customizers: customize::Customizers::default(),
        }
    }

    /// A builder with the documented demo configuration ([`MockConfig::demo`]).
    pub fn demo() -> MockIssuerBuilder {
        Self::builder().config(MockConfig::demo())
    }

    /// The same routes over the same state, to drive in process (`tower_service::Service`)
    /// with no socket: for the fuzz targets (feature `fuzzing`).
    #[cfg(feature = "fuzzing")]
    pub(crate) fn router_for_tests(&self) -> axum::Router {
        router::router(Arc::clone(&self.shared))
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Its base URL, `http://127.0.0.1:<port>`: where the OAuth endpoints are (Cognito's pool
    /// domain).
    pub fn url(&self) -> &str {
        &self.shared.base
    }

    /// The advertised issuer (`iss`).
    pub fn issuer(&self) -> &str {
        &self.shared.issuer
    }

    /// The name of this instance's session cookie (`tokengate_mock_session_` and a random
    /// suffix: two mocks on one host never share a session).
    pub fn session_cookie_name(&self) -> &str {
        &self.shared.cookie_name
    }

    /// `/.well-known/openid-configuration` under the issuer's path
    /// (`http://ADDR/us-east-1_tokengate/.well-known/openid-configuration` by default).
    pub fn discovery_url(&self) -> String {
        self.shared
            .url(&self.shared.well_known("openid-configuration"))
    }

    /// `/.well-known/jwks.json` under the issuer's path
    /// (`http://ADDR/us-east-1_tokengate/.well-known/jwks.json` by default). Nothing answers
    /// `http://ADDR/.well-known/jwks.json`: a resource server that joins the well-known path
    /// onto the issuer's origin, dropping the pool id, fails here as it would on Cognito.
    pub fn jwks_uri(&self) -> String {
        self.shared.url(&self.shared.well_known("jwks.json"))
    }

    /// The path part of [`jwks_uri`](Self::jwks_uri), as the request log counts it.
    pub fn jwks_path(&self) -> String {
        self.shared.well_known("jwks.json")
    }

    /// `/oauth2/authorize`.
    pub fn authorize_endpoint(&self) -> String {
        self.shared.url("/oauth2/authorize")
    }

    /// `/oauth2/token`.
    pub fn token_endpoint(&self) -> String {
        self.shared.url("/oauth2/token")
    }

    /// `/oauth2/userInfo`.
    pub fn userinfo_endpoint(&self) -> String {
        self.shared.url("/oauth2/userInfo")
    }

    /// `/oauth2/revoke`.
    pub fn revocation_endpoint(&self) -> String {
        self.shared.url("/oauth2/revoke")
    }

    /// `/oauth2/introspect`.
    pub fn introspection_endpoint(&self) -> String {
        self.shared.url("/oauth2/introspect")
    }

    /// `/oauth2/device_authorization`.
    pub fn device_authorization_endpoint(&self) -> String {
        self.shared.url("/oauth2/device_authorization")
    }

    /// `/device`, where a signed-in user enters a user code.
    pub fn device_verification_uri(&self) -> String {
        self.shared.url("/device")
    }

    /// `/login`, the hosted sign-in page.
    pub fn login_url(&self) -> String {
        self.shared.url("/login")
    }

    /// `/logout`.
    pub fn logout_endpoint(&self) -> String {
        self.shared.url("/logout")
    }
}
