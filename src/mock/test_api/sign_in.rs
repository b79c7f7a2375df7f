//! Shortcuts past the browser: tokens as if a user had just signed in, for tests of what
//! comes after (refresh, revocation, introspection).

use serde_json::Map;

use crate::error::Error;
use crate::mock::MockIssuer;
use crate::mock::customize::TriggerSource;
use crate::mock::error::ApiError;
use crate::mock::mint::Issue;

impl MockIssuer {
    /// **Test helper, not part of the supported API.** Mints a refresh token (with its access
    /// and ID tokens, which are discarded) as if `username` had just signed in to `client_id`
    /// with `scopes`, without running the browser flow. Tests of the refresh grant,
    /// revocation and introspection use it; real clients get refresh tokens from the
    /// authorization code or device grants.
    ///
    /// # Errors
    ///
    /// When the client or the user is unknown, or signing fails.
    #[doc(hidden)]
    pub fn issue_refresh_token_for_tests<I, S>(
        &self,
        client_id: &str,
        username: &str,
        scopes: I,
    ) -> Result<String, Error>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let now = self.shared.now();
        let mut state = self.shared.state();
        if state.client(client_id).is_none() {
            return Err(ApiError::NotFound(format!("no client `{client_id}`")).into());
        }
        let user = state
            .user(username)
            .cloned()
            .ok_or_else(|| ApiError::NotFound(format!("no user `{username}`")))?;
        let tokens = state.mint(
            &self.shared.issuer,
            now,
            Issue {
                client_id: client_id.to_owned(),
                user: Some(user),
                scopes: scopes.into_iter().map(Into::into).collect(),
                auth_time: now,
                nonce: None,
                origin_jti: None,
                refresh: true,
                family: None,
                extra: Map::new(),
                dpop_jkt: None,
                trigger: TriggerSource::HostedAuth,
            },
        )?;
        tokens
            .refresh_token
            .ok_or_else(|| ApiError::Internal("no refresh token was minted".into()).into())
    }
}
