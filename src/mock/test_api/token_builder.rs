//! [`TokenBuilder`]: tokens minted directly, without a grant: the claims a grant would give
//! (from the one Cognito claim builder), then the test's changes, then a forgery if asked.

use serde_json::{Map, Value};

use crate::error::Error;
use crate::mock::Shared;
use crate::mock::claims::Cognito;
use crate::mock::error::ApiError;
use crate::mock::forgery::{self, Forgery};
use crate::mock::keys::KeyUse;

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
        self.claim("nbf", now.saturating_add(3600))
            .claim("iat", now.saturating_add(3600))
    }

    /// Spoils the token the given way.
    #[must_use]
    pub fn forge(mut self, forgery: Forgery) -> Self {
        self.forgery = Some(forgery);
        self
    }

    /// Which key signs, and so which kind of token this is: an ID token for
    /// [`Forgery::IdTokenAsAccessToken`].
    fn key_use(&self) -> KeyUse {
        match self.forgery {
            Some(Forgery::IdTokenAsAccessToken) => KeyUse::Id,
            _ => self.key_use,
        }
    }

    /// The claims a grant would give this client and user now.
    fn default_claims(&self) -> Result<Map<String, Value>, ApiError> {
        let state = self.shared.state();
        let client_id = self.client_id.as_deref().unwrap_or("mock-client");
        let user = match &self.username {
            Some(name) => Some(
                state
                    .user(name)
                    .ok_or_else(|| ApiError::NotFound(format!("no user `{name}`")))?,
            ),
            None => None,
        };
        let scopes = self.scopes.clone().unwrap_or_else(|| {
            state
                .client(client_id)
                .map(|c| c.scopes.clone())
                .unwrap_or_default()
        });
        let issue = Cognito::new(
            &self.shared.issuer,
            client_id,
            user,
            &scopes,
            self.shared.now(),
            &state.config,
        );
        match self.key_use() {
            KeyUse::Access => Ok(issue.access()),
            KeyUse::Id => issue
                .id(None, None)
                .ok_or_else(|| ApiError::Invalid("an ID token needs a user".into())),
        }
    }

    /// Signs the token.
    ///
    /// # Errors
    ///
    /// When the user is unknown, an ID token (or [`Forgery::IdTokenAsAccessToken`]) has no
    /// user, or [`Forgery::RetiredKey`] is asked before any key was retired.
    pub fn sign(self) -> Result<String, Error> {
        Ok(self.try_sign()?)
    }

    /// [`sign`](Self::sign), telling what does not exist from what cannot be done (the
    /// admin API's 404 and 400).
    pub(crate) fn try_sign(self) -> Result<String, ApiError> {
        let key_use = self.key_use();
        let mut claims = self.default_claims()?;
        claims.extend(self.claims);
        for name in &self.removed {
            claims.remove(name);
        }
        forgery::sign(self.shared, key_use, self.forgery, &Value::Object(claims))
    }
}
