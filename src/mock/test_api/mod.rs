//! The Rust test API of [`MockIssuer`]: runtime configuration, direct minting (hostile tokens
//! included), key rotation, fault injection, the request log, device decisions, and shortcuts
//! past the browser.
//!
//! Each operation is written once, on `Shared`, with its rules; [`MockIssuer`]'s methods and
//! the admin API's handlers (`endpoints::admin`) both call it, the admin API only parsing JSON
//! and rendering the answer.

mod code_flow;
mod sign_in;
mod token_builder;

use std::collections::BTreeMap;

pub use code_flow::{CodeFlow, FlowError, TokenResponse};
pub use token_builder::TokenBuilder;

use crate::authorizer::builder::{IssuerSet, NoAudience, RemoteKeysSet};
use crate::authorizer::{Authorizer, AuthorizerBuilder};
use crate::error::Error;
use crate::jwks::RemoteJwks;
use crate::mock::config::{Client, MockConfig, ResourceServer, TrustedIssuer, User};
use crate::mock::customize::{TokenChanges, TokenCustomization, TokenEvent};
use crate::mock::error::ApiError;
use crate::mock::keys::{KeyUse, SigningKey};
use crate::mock::store::{DeviceDecision, JwksFault, RecordedRequest, StoreSize};
use crate::mock::{MockIssuer, Shared};
use crate::validate::Profile;

/// What a rotation did: the keys that sign now, and the ones retired.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Rotation {
    pub(crate) access: String,
    pub(crate) id: String,
    pub(crate) retired: Vec<String>,
}

/// The operations, with their rules, shared by [`MockIssuer`] and the admin API.
impl Shared {
    pub(crate) fn config(&self) -> MockConfig {
        self.state().config.clone()
    }

    /// Applies `change` to a copy of the configuration and keeps it only if the whole still
    /// passes the checks [`MockIssuerBuilder::start`](crate::mock::MockIssuerBuilder::start)
    /// makes: a change is refused for what a configuration would be refused for.
    fn change_config(&self, change: impl FnOnce(&mut MockConfig)) -> Result<(), ApiError> {
        let mut state = self.state();
        let mut next = state.config.clone();
        change(&mut next);
        next.check().map_err(ApiError::Invalid)?;
        state.config = next;
        Ok(())
    }

    pub(crate) fn add_client(&self, client: Client) -> Result<(), ApiError> {
        self.change_config(|config| {
            config.clients.retain(|c| c.id != client.id);
            config.clients.push(client);
        })
    }

    pub(crate) fn add_user(&self, user: User) -> Result<(), ApiError> {
        self.change_config(|config| {
            let same = |u: &User| config.same_name(&u.username, &user.username);
            let kept: Vec<User> = config.users.iter().filter(|u| !same(u)).cloned().collect();
            config.users = kept;
            config.users.push(user);
        })
    }

    pub(crate) fn add_resource_server(&self, server: ResourceServer) -> Result<(), ApiError> {
        self.change_config(|config| {
            config
                .resource_servers
                .retain(|r| r.identifier != server.identifier);
            config.resource_servers.push(server);
        })
    }

    pub(crate) fn add_trusted_issuer(&self, issuer: TrustedIssuer) -> Result<(), ApiError> {
        self.change_config(|config| {
            config.trusted_issuers.retain(|t| t.issuer != issuer.issuer);
            config.trusted_issuers.push(issuer);
        })
    }

    pub(crate) fn add_token_customization(
        &self,
        customization: TokenCustomization,
    ) -> Result<(), ApiError> {
        self.change_config(|config| config.token_customizations.push(customization))
    }

    /// Forgets every customization: the declarative ones and the closures.
    pub(crate) fn clear_token_customizations(&self) {
        let mut state = self.state();
        state.config.token_customizations.clear();
        state.customizers.0.clear();
    }

    pub(crate) fn kids(&self) -> Vec<String> {
        self.state().keys.kids()
    }

    pub(crate) fn current_kid(&self, key_use: KeyUse) -> String {
        self.state().keys.current(key_use).kid.clone()
    }

    pub(crate) fn publish_next_key(&self) -> Result<String, ApiError> {
        // Generating an RSA key takes a while: do it outside the lock.
        let key = SigningKey::generate()?;
        let kid = key.kid.clone();
        self.state().keys.publish(key);
        Ok(kid)
    }

    pub(crate) fn switch_key(&self, key_use: KeyUse, kid: &str) -> Result<(), ApiError> {
        self.state().keys.switch(key_use, kid)
    }

    pub(crate) fn retire_key(&self, kid: &str) -> Result<(), ApiError> {
        self.state().keys.retire(kid)
    }

    /// All three rotation steps for both keys, under one lock (the keys made before it).
    pub(crate) fn rotate_keys(&self) -> Result<Rotation, ApiError> {
        let (access, id) = (SigningKey::generate()?, SigningKey::generate()?);
        let (access_kid, id_kid) = (access.kid.clone(), id.kid.clone());
        let mut state = self.state();
        let old_access = state.keys.current(KeyUse::Access).kid.clone();
        let old_id = state.keys.current(KeyUse::Id).kid.clone();
        state.keys.publish(access);
        state.keys.publish(id);
        state.keys.switch(KeyUse::Access, &access_kid)?;
        state.keys.switch(KeyUse::Id, &id_kid)?;
        let mut retired = vec![old_access];
        if old_id != retired[0] {
            retired.push(old_id);
        }
        for kid in &retired {
            state.keys.retire(kid)?;
        }
        Ok(Rotation {
            access: access_kid,
            id: id_kid,
            retired,
        })
    }

    pub(crate) fn jwks_fault(&self) -> JwksFault {
        self.state().jwks_fault
    }

    pub(crate) fn set_jwks_fault(&self, fault: JwksFault) {
        self.state().jwks_fault = fault;
    }

    pub(crate) fn request_count(&self, route: &str) -> u64 {
        self.state().log.count(route)
    }

    pub(crate) fn request_counts(&self) -> BTreeMap<String, u64> {
        self.state().log.counts().clone()
    }

    pub(crate) fn requests(&self) -> Vec<RecordedRequest> {
        self.state().log.requests().cloned().collect()
    }

    pub(crate) fn clear_requests(&self) {
        self.state().log.clear();
    }

    pub(crate) fn store_sizes(&self) -> Vec<StoreSize> {
        self.state().sizes()
    }

    /// Approves as `username` (signed in now); returns the user code as issued.
    pub(crate) fn approve_device(
        &self,
        user_code: &str,
        username: &str,
    ) -> Result<String, ApiError> {
        let now = self.now();
        let decision = DeviceDecision::Approved {
            username: username.to_owned(),
            auth_time: now,
        };
        self.state().decide_device(user_code, now, decision)
    }

    /// Denies; returns the user code as issued.
    pub(crate) fn deny_device(&self, user_code: &str) -> Result<String, ApiError> {
        let now = self.now();
        self.state()
            .decide_device(user_code, now, DeviceDecision::Denied)
    }
}

impl MockIssuer {
    /// The configuration in force (clients, users, resource servers, trusted issuers,
    /// lifetimes), secrets included.
    pub fn config(&self) -> MockConfig {
        self.shared.config()
    }

    /// Adds (or replaces, by id) an app client while running.
    ///
    /// # Errors
    ///
    /// When the configuration it would make is refused ([`MockConfig::validate`]): an empty
    /// id, client credentials without a secret, a scope no resource server defines …
    pub fn add_client(&self, client: Client) -> Result<(), Error> {
        Ok(self.shared.add_client(client)?)
    }

    /// Adds (or replaces, by user name as the pool compares them) a user while running.
    ///
    /// # Errors
    ///
    /// When the configuration it would make is refused ([`MockConfig::validate`]): an empty
    /// user name, an email another user signs in with …
    pub fn add_user(&self, user: User) -> Result<(), Error> {
        Ok(self.shared.add_user(user)?)
    }

    /// Adds (or replaces, by identifier) a resource server while running.
    ///
    /// # Errors
    ///
    /// When the configuration it would make is refused ([`MockConfig::validate`]): an empty
    /// identifier, or a replacement that drops a scope a client still names.
    pub fn add_resource_server(&self, server: ResourceServer) -> Result<(), Error> {
        Ok(self.shared.add_resource_server(server)?)
    }

    /// Trusts another issuer for token exchange while running (replacing one with the same
    /// `issuer`).
    ///
    /// # Errors
    ///
    /// When the trusted issuer is invalid (an empty issuer or JWKS URL, neither `client_id`
    /// nor `audience`).
    pub fn add_trusted_issuer(&self, issuer: TrustedIssuer) -> Result<(), Error> {
        Ok(self.shared.add_trusted_issuer(issuer)?)
    }

    /// Adds a declarative token customization while running, applied after those already
    /// there (see [`TokenCustomization`]).
    ///
    /// ```
    /// # use tokengate::mock::{MockIssuer, TokenChanges, TokenCustomization};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let issuer = MockIssuer::demo().start().await?;
    /// issuer.add_token_customization(
    ///     TokenCustomization::new(TokenChanges::default().access_claim("tenant", "acme"))
    ///         .client("demo-spa"),
    /// )?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// When it would change a protected claim ([`PROTECTED`](crate::mock::PROTECTED),
    /// [`ACCESS_PROTECTED`](crate::mock::ACCESS_PROTECTED)) or names a scope that cannot be one.
    pub fn add_token_customization(&self, customization: TokenCustomization) -> Result<(), Error> {
        Ok(self.shared.add_token_customization(customization)?)
    }

    /// Adds a Rust token customization while running, applied after every declarative one
    /// and the closures already there: it sees each [`TokenEvent`] and answers the
    /// [`TokenChanges`]. It runs while the mock's state is locked, so it must not call this
    /// `MockIssuer`; changes to protected claims fail the grant with `server_error`.
    pub fn customize_tokens(
        &self,
        customize: impl Fn(&TokenEvent) -> TokenChanges + Send + Sync + 'static,
    ) {
        self.shared
            .state()
            .customizers
            .0
            .push(std::sync::Arc::new(customize));
    }

    /// Forgets every token customization, declarative and Rust.
    pub fn clear_token_customizations(&self) {
        self.shared.clear_token_customizations();
    }

    /// An authorizer builder for this issuer's tokens: issuer set, keys from its JWKS URL.
    /// Choose the client id or audience, then build.
    ///
    /// ```
    /// # use tokengate::mock::MockIssuer;
    /// # use tokengate::Profile;
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), tokengate::Error> {
    /// let issuer = MockIssuer::demo().start().await?;
    /// let authorizer = issuer
    ///     .authorizer(Profile::cognito_access())?
    ///     .client_id("demo-backend")
    ///     .build()?;
    /// # let _ = authorizer; Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// Never in practice: the JWKS URL is this server's own.
    pub fn authorizer(
        &self,
        profile: Profile,
    ) -> Result<AuthorizerBuilder<IssuerSet, NoAudience, RemoteKeysSet>, Error> {
        Ok(Authorizer::builder(profile)
            .issuer(self.issuer())
            .remote_jwks(RemoteJwks::from_uri(self.jwks_uri())?))
    }

    /// Starts an access token minted directly, without a grant.
    pub fn access_token(&self) -> TokenBuilder<'_> {
        TokenBuilder::new(&self.shared, KeyUse::Access)
    }

    /// Starts an ID token minted directly, without a grant.
    pub fn id_token(&self) -> TokenBuilder<'_> {
        TokenBuilder::new(&self.shared, KeyUse::Id)
    }

    /// The `kid`s in the JWKS now.
    pub fn kids(&self) -> Vec<String> {
        self.shared.kids()
    }

    /// The `kid` signing `key_use` tokens now.
    pub fn current_kid(&self, key_use: KeyUse) -> String {
        self.shared.current_kid(key_use)
    }

    /// Rotation step 1: publishes a new key in the JWKS, not yet signing. Returns its `kid`.
    ///
    /// # Errors
    ///
    /// When no key can be generated.
    pub fn publish_next_key(&self) -> Result<String, Error> {
        Ok(self.shared.publish_next_key()?)
    }

    /// Rotation step 2: signs `key_use` tokens with the published key `kid`.
    ///
    /// # Errors
    ///
    /// When `kid` is not published.
    pub fn switch_key(&self, key_use: KeyUse, kid: &str) -> Result<(), Error> {
        Ok(self.shared.switch_key(key_use, kid)?)
    }

    /// Rotation step 3: removes `kid` from the JWKS; tokens it signed stop validating once
    /// resource servers refresh their key sets.
    ///
    /// # Errors
    ///
    /// When `kid` is not published or still signs tokens.
    pub fn retire_key(&self, kid: &str) -> Result<(), Error> {
        Ok(self.shared.retire_key(kid)?)
    }

    /// All three steps for both access and ID keys. Returns the new access key's `kid`.
    ///
    /// # Errors
    ///
    /// When no key can be generated.
    pub fn rotate_keys(&self) -> Result<String, Error> {
        Ok(self.shared.rotate_keys()?.access)
    }

    /// Makes the JWKS endpoint fail, hang or serve garbage (or work again).
    pub fn set_jwks_fault(&self, fault: JwksFault) {
        self.shared.set_jwks_fault(fault);
    }

    /// How many requests reached `route`: an endpoint's path, such as `/oauth2/token` or
    /// `/.well-known/jwks.json`, or `"(no route)"` for every request no endpoint answered.
    pub fn request_count(&self, route: &str) -> u64 {
        self.shared.request_count(route)
    }

    /// How many requests reached each route (see [`request_count`](Self::request_count)).
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        self.shared.request_counts()
    }

    /// The last requests, oldest first, credentials redacted (see [`RecordedRequest`]): up to
    /// 10,000 of them, and 16 MiB.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests()
    }

    /// How full each of the mock's stores is, against its bounds in entries and bytes.
    /// Every store requests can fill (sessions, CSRF tokens, codes, refresh tokens, device
    /// codes, revocations, the request log) is bounded and pruned on insert.
    pub fn store_sizes(&self) -> Vec<StoreSize> {
        self.shared.store_sizes()
    }

    /// Forgets the request log and the counts.
    pub fn clear_requests(&self) {
        self.shared.clear_requests();
    }

    /// Approves a pending device authorization as `username`, as the `/device` page would.
    /// The user code is matched as the page matches it (any case, with or without the dash).
    ///
    /// # Errors
    ///
    /// When the user code or the user is unknown, or the code expired or was already decided.
    pub fn approve_device(&self, user_code: &str, username: &str) -> Result<(), Error> {
        self.shared.approve_device(user_code, username)?;
        Ok(())
    }

    /// Denies a pending device authorization.
    ///
    /// # Errors
    ///
    /// When the user code is unknown, or expired or was already decided.
    pub fn deny_device(&self, user_code: &str) -> Result<(), Error> {
        self.shared.deny_device(user_code)?;
        Ok(())
    }
}
