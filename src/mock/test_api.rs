//! The Rust test API of [`MockIssuer`]: runtime configuration, direct minting (hostile tokens
//! included), key rotation, fault injection, the request log, device decisions.

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use crate::authorizer::builder::{IssuerSet, KeysSet, NoAudience};
use crate::authorizer::{Authorizer, AuthorizerBuilder};
use crate::error::{Error, ErrorKind};
use crate::jwks::RemoteJwks;
use crate::mock::config::{Client, ResourceServer, TrustedIssuer, User};
use crate::mock::keys::{KeyUse, SigningKey, uuid};
use crate::mock::mint::user_sub;
use crate::mock::store::{DeviceDecision, JwksFault, RecordedRequest};
use crate::mock::{MockIssuer, Shared};
use crate::validate::Profile;

fn config_error(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Config(message.into()))
}

impl MockIssuer {
    /// Adds an app client while running.
    pub fn add_client(&self, client: Client) {
        let mut state = self.shared.state();
        state.config.clients.retain(|c| c.id != client.id);
        state.config.clients.push(client);
    }

    /// Adds (or replaces) a user while running.
    pub fn add_user(&self, user: User) {
        let mut state = self.shared.state();
        state.config.users.retain(|u| u.username != user.username);
        state.config.users.push(user);
    }

    /// Adds a resource server while running.
    pub fn add_resource_server(&self, server: ResourceServer) {
        let mut state = self.shared.state();
        state
            .config
            .resource_servers
            .retain(|r| r.identifier != server.identifier);
        state.config.resource_servers.push(server);
    }

    /// Trusts another issuer for token exchange while running.
    pub fn add_trusted_issuer(&self, issuer: TrustedIssuer) {
        let mut state = self.shared.state();
        state
            .config
            .trusted_issuers
            .retain(|t| t.issuer != issuer.issuer);
        state.config.trusted_issuers.push(issuer);
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
    ///     .build();
    /// # let _ = authorizer; Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// Never in practice: the JWKS URL is this server's own.
    pub fn authorizer(
        &self,
        profile: Profile,
    ) -> Result<AuthorizerBuilder<IssuerSet, NoAudience, KeysSet>, Error> {
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
        self.shared.state().keys.kids()
    }

    /// The `kid` signing `key_use` tokens now.
    pub fn current_kid(&self, key_use: KeyUse) -> String {
        self.shared.state().keys.current(key_use).kid.clone()
    }

    /// Rotation step 1: publishes a new key in the JWKS, not yet signing. Returns its `kid`.
    ///
    /// # Errors
    ///
    /// When no key can be generated.
    pub fn publish_next_key(&self) -> Result<String, Error> {
        // Generating an RSA key takes a while: do it outside the lock.
        let key = SigningKey::generate()?;
        let kid = key.kid.clone();
        self.shared.state().keys.publish(key);
        Ok(kid)
    }

    /// Rotation step 2: signs `key_use` tokens with the published key `kid`.
    ///
    /// # Errors
    ///
    /// When `kid` is not published.
    pub fn switch_key(&self, key_use: KeyUse, kid: &str) -> Result<(), Error> {
        self.shared.state().keys.switch(key_use, kid)
    }

    /// Rotation step 3: removes `kid` from the JWKS; tokens it signed stop validating once
    /// resource servers refresh their key sets.
    ///
    /// # Errors
    ///
    /// When `kid` is not published or still signs tokens.
    pub fn retire_key(&self, kid: &str) -> Result<(), Error> {
        self.shared.state().keys.retire(kid)
    }

    /// All three steps for both access and ID keys. Returns the new access key's `kid`.
    ///
    /// # Errors
    ///
    /// When no key can be generated.
    pub fn rotate_keys(&self) -> Result<String, Error> {
        let old_access = self.current_kid(KeyUse::Access);
        let old_id = self.current_kid(KeyUse::Id);
        let access = self.publish_next_key()?;
        let id = self.publish_next_key()?;
        self.switch_key(KeyUse::Access, &access)?;
        self.switch_key(KeyUse::Id, &id)?;
        self.retire_key(&old_access)?;
        if old_id != old_access {
            self.retire_key(&old_id)?;
        }
        Ok(access)
    }

    /// Makes the JWKS endpoint fail, hang or serve garbage (or work again).
    pub fn set_jwks_fault(&self, fault: JwksFault) {
        self.shared.state().jwks_fault = fault;
    }

    /// How many requests reached `path` (e.g. `/oauth2/token`).
    pub fn request_count(&self, path: &str) -> u64 {
        self.shared.state().counts.get(path).copied().unwrap_or(0)
    }

    /// The last requests, oldest first (up to 10,000).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.state().requests.clone()
    }

    /// Approves a pending device authorization as `username`, as the `/device` page would.
    ///
    /// # Errors
    ///
    /// When the user code or the user is unknown, or the code was already decided.
    pub fn approve_device(&self, user_code: &str, username: &str) -> Result<(), Error> {
        let now = self.shared.now();
        let mut state = self.shared.state();
        if state.user(username).is_none() {
            return Err(config_error(format!("no user `{username}`")));
        }
        state.decide_device(
            user_code,
            now,
            DeviceDecision::Approved {
                username: username.to_owned(),
                auth_time: now,
            },
        )
    }

    /// Denies a pending device authorization.
    ///
    /// # Errors
    ///
    /// When the user code is unknown or was already decided.
    pub fn deny_device(&self, user_code: &str) -> Result<(), Error> {
        let now = self.shared.now();
        self.shared
            .state()
            .decide_device(user_code, now, DeviceDecision::Denied)
    }
}

/// How a minted token is spoiled, for tests of what resource servers refuse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Forgery {
    /// `alg: none` and an empty signature.
    AlgNone,
    /// HS256, keyed with the public JWK's JSON text (the classic key-confusion attack).
    Hs256WithPublicKey,
    /// Signed by a key the JWKS never published, under a fresh `kid`.
    UnknownKid,
    /// Signed by the last retired key (rotate first).
    RetiredKey,
    /// A valid token whose signature has one byte changed.
    TamperedSignature,
}

/// A token minted directly: Cognito's claims by default, then your changes.
///
/// ```
/// # use tokengate::mock::{Forgery, MockIssuer};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), tokengate::Error> {
/// let issuer = MockIssuer::demo().start().await?;
/// let expired = issuer.access_token().client("demo-web").user("alice").expired().sign()?;
/// let forged = issuer.access_token().client("demo-web").forge(Forgery::AlgNone).sign()?;
/// # let _ = (expired, forged); Ok(()) }
/// ```
#[derive(Debug)]
pub struct TokenBuilder<'a> {
    shared: &'a Shared,
    key_use: KeyUse,
    client_id: Option<String>,
    username: Option<String>,
    scopes: Option<Vec<String>>,
    claims: Map<String, Value>,
    removed: Vec<String>,
    forgery: Option<Forgery>,
}

impl<'a> TokenBuilder<'a> {
    pub(crate) fn new(shared: &'a Shared, key_use: KeyUse) -> Self {
        Self {
            shared,
            key_use,
            client_id: None,
            username: None,
            scopes: None,
            claims: Map::new(),
            removed: Vec::new(),
            forgery: None,
        }
    }

    /// The client (`client_id`; `aud` for ID tokens).
    #[must_use]
    pub fn client(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// The user (`sub`, `username`, groups). Without, an access token is a client-credentials one.
    #[must_use]
    pub fn user(mut self, username: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self
    }

    /// The scopes (`scope`). Defaults to the client's scopes.
    #[must_use]
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// Sets any claim, replacing the default (`iss`, `exp`, `token_use`, `aud` …).
    #[must_use]
    pub fn claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.claims.insert(name.into(), value.into());
        self
    }

    /// Leaves a claim out.
    #[must_use]
    pub fn without(mut self, name: impl Into<String>) -> Self {
        self.removed.push(name.into());
        self
    }

    /// `exp` an hour ago (and `iat` two hours ago).
    #[must_use]
    pub fn expired(self) -> Self {
        let now = self.shared.now();
        self.claim("exp", now.saturating_sub(3600))
            .claim("iat", now.saturating_sub(7200))
            .claim("auth_time", now.saturating_sub(7200))
    }

    /// `nbf` and `iat` an hour from now.
    #[must_use]
    pub fn not_yet_valid(self) -> Self {
        let now = self.shared.now();
        self.claim("nbf", now + 3600).claim("iat", now + 3600)
    }

    /// Spoils the token the given way.
    #[must_use]
    pub fn forge(mut self, forgery: Forgery) -> Self {
        self.forgery = Some(forgery);
        self
    }

    fn default_claims(&self) -> Result<Map<String, Value>, Error> {
        let state = self.shared.state();
        let now = self.shared.now();
        let client_id = self
            .client_id
            .clone()
            .unwrap_or_else(|| "mock-client".into());
        let user = match &self.username {
            Some(name) => Some(
                state
                    .user(name)
                    .cloned()
                    .ok_or_else(|| config_error(format!("no user `{name}`")))?,
            ),
            None => None,
        };
        let scopes = self.scopes.clone().unwrap_or_else(|| {
            state
                .client(&client_id)
                .map(|c| c.scopes.clone())
                .unwrap_or_default()
        });
        let mut claims = Map::new();
        let origin = uuid();
        match self.key_use {
            KeyUse::Access => {
                let sub = user.as_ref().map_or_else(|| client_id.clone(), user_sub);
                claims.insert("sub".into(), json!(sub));
                if let Some(user) = &user {
                    if !user.groups.is_empty() {
                        claims.insert("cognito:groups".into(), json!(user.groups));
                    }
                    claims.insert("username".into(), json!(user.username));
                }
                claims.insert("version".into(), json!(2));
                claims.insert("client_id".into(), json!(client_id));
                claims.insert("token_use".into(), json!("access"));
                claims.insert("scope".into(), json!(scopes.join(" ")));
            }
            KeyUse::Id => {
                let user = user.ok_or_else(|| config_error("an ID token needs a user"))?;
                claims.extend(crate::mock::mint::user_attributes(&user, None));
                claims.insert("aud".into(), json!(client_id));
                if !user.groups.is_empty() {
                    claims.insert("cognito:groups".into(), json!(user.groups));
                }
                claims.insert("cognito:username".into(), json!(user.username));
                claims.insert("token_use".into(), json!("id"));
            }
        }
        claims.insert("iss".into(), json!(self.shared.issuer));
        claims.insert("origin_jti".into(), json!(origin));
        claims.insert("event_id".into(), json!(uuid()));
        claims.insert("auth_time".into(), json!(now));
        claims.insert("iat".into(), json!(now));
        claims.insert(
            "exp".into(),
            json!(now + state.config.lifetimes.access_token),
        );
        claims.insert("jti".into(), json!(uuid()));
        Ok(claims)
    }

    /// Signs the token.
    ///
    /// # Errors
    ///
    /// When the user is unknown, an ID token has no user, or [`Forgery::RetiredKey`] is asked
    /// before any key was retired.
    pub fn sign(self) -> Result<String, Error> {
        let mut claims = self.default_claims()?;
        claims.extend(self.claims.clone());
        for name in &self.removed {
            claims.remove(name);
        }
        let claims = Value::Object(claims);
        let state = self.shared.state();
        let key = state.keys.current(self.key_use);
        let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
        match self.forgery {
            None => key.sign_claims(&claims),
            Some(Forgery::AlgNone) => {
                let header = json!({"kid": key.kid, "alg": "none"});
                Ok(format!("{}.{}.", b64(&header), b64(&claims)))
            }
            Some(Forgery::Hs256WithPublicKey) => {
                let header = json!({"kid": key.kid, "alg": "HS256"});
                let input = format!("{}.{}", b64(&header), b64(&claims));
                let secret = hmac::Key::new(hmac::HMAC_SHA256, key.public_jwk_text().as_bytes());
                let tag = hmac::sign(&secret, input.as_bytes());
                Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref())))
            }
            Some(Forgery::UnknownKid) => {
                drop(state);
                SigningKey::generate()?.sign_claims(&claims)
            }
            Some(Forgery::RetiredKey) => state
                .keys
                .retired()
                .ok_or_else(|| config_error("no key was retired yet: rotate first"))?
                .sign_claims(&claims),
            Some(Forgery::TamperedSignature) => {
                let token = key.sign_claims(&claims)?;
                let (input, signature) = token.rsplit_once('.').unwrap_or((&token, ""));
                let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap_or_default();
                if let Some(first) = bytes.first_mut() {
                    *first ^= 0x01;
                }
                Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(bytes)))
            }
        }
    }
}
