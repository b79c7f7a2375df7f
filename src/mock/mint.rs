//! What a grant issues: the access token, the ID token (with `openid`), the opaque refresh
//! token (recorded in the store), claims from [`Cognito`], changed by the token
//! customizations that apply (`customize.rs`), signed with the current keys.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::error::{Error, ErrorKind};
use crate::mock::claims::{Cognito, Verified, expiry, user_attributes};
use crate::mock::config::{MockConfig, User};
use crate::mock::customize::{TokenChanges, TokenEvent, TriggerSource};
use crate::mock::keys::{KeyUse, new_id};
use crate::mock::store::{RefreshRecord, State};

/// Who a token is for and what it grants: the input of every grant's minting.
#[derive(Clone, Debug)]
pub(crate) struct Issue {
    pub(crate) client_id: String,
    /// The signed-in user; `None` for client credentials.
    pub(crate) user: Option<User>,
    pub(crate) scopes: Vec<String>,
    pub(crate) auth_time: u64,
    pub(crate) nonce: Option<String>,
    /// Shared by all tokens of one sign-in; a new one is made when `None`.
    pub(crate) origin_jti: Option<String>,
    /// Also issue an opaque refresh token (authorization code and device grants).
    pub(crate) refresh: bool,
    /// When the refresh token belongs to an existing family (rotation).
    pub(crate) family: Option<String>,
    /// Extra access-token claims (token exchange's `act`, a partner subject's `sub`).
    pub(crate) extra: Map<String, Value>,
    /// The thumbprint of the DPoP key of the token request (RFC 9449 §5): the access token
    /// gets `cnf.jkt`, the refresh token records it.
    pub(crate) dpop_jkt: Option<String>,
    /// Which grant issues (what token customizations are told).
    pub(crate) trigger: TriggerSource,
}

/// A token endpoint response (RFC 6749 §5.1).
#[derive(Clone, Debug)]
pub(crate) struct Tokens {
    pub(crate) access_token: String,
    pub(crate) id_token: Option<String>,
    pub(crate) refresh_token: Option<String>,
    pub(crate) expires_in: u64,
    /// The access token's `scope`, customizations applied.
    pub(crate) scope: String,
    /// The access token is DPoP-bound.
    pub(crate) dpop: bool,
    /// The sign-in the tokens belong to (revoking it revokes them).
    pub(crate) origin_jti: String,
    /// The refresh token's family, when one was issued.
    pub(crate) family: Option<String>,
}

impl Tokens {
    /// `DPoP` for a DPoP-bound access token (RFC 9449 §5), else `Bearer`.
    pub(crate) fn token_type(&self) -> &'static str {
        if self.dpop { "DPoP" } else { "Bearer" }
    }

    pub(crate) fn to_json(&self) -> Value {
        let mut body = json!({
            "access_token": self.access_token,
            "token_type": self.token_type(),
            "expires_in": self.expires_in,
        });
        if let Some(id) = &self.id_token {
            body["id_token"] = json!(id);
        }
        if let Some(refresh) = &self.refresh_token {
            body["refresh_token"] = json!(refresh);
        }
        body
    }
}

impl State {
    /// The changes every customization that applies makes to this issuance, in order: the
    /// declarative ones (checked when configured), then the closures (checked here).
    fn token_changes(&self, pool: &MockConfig, issue: &Issue) -> Result<Vec<TokenChanges>, Error> {
        let username = issue.user.as_ref().map(|u| u.username.as_str());
        let mut changes: Vec<TokenChanges> = pool
            .token_customizations
            .iter()
            .filter(|c| c.applies(&issue.client_id, username, |a, b| pool.same_name(a, b)))
            .map(|c| c.changes.clone())
            .collect();
        if self.customizers.0.is_empty() {
            return Ok(changes);
        }
        let mut attributes = BTreeMap::new();
        if let Some(user) = &issue.user {
            for (name, value) in user_attributes(user, None, Verified::Strings) {
                let text = value
                    .as_str()
                    .map_or_else(|| value.to_string(), str::to_owned);
                attributes.insert(name, text);
            }
            attributes.insert("cognito:user_status".into(), "CONFIRMED".into());
        }
        let event = TokenEvent {
            trigger_source: issue.trigger,
            client_id: issue.client_id.clone(),
            username: username.map(str::to_owned),
            user_attributes: attributes,
            groups: issue
                .user
                .as_ref()
                .map(|u| u.groups.clone())
                .unwrap_or_default(),
            scopes: issue.scopes.clone(),
        };
        for customize in &self.customizers.0 {
            let answer = customize(&event);
            answer.check().map_err(|e| {
                Error::new(ErrorKind::Config(format!(
                    "a token customization answered a change Cognito refuses: {e}"
                )))
            })?;
            changes.push(answer);
        }
        Ok(changes)
    }

    /// Mints the tokens of a successful grant, recording the refresh token.
    pub(crate) fn mint(&mut self, issuer: &str, now: u64, issue: Issue) -> Result<Tokens, Error> {
        let pool = self.config.clone();
        let changes = self.token_changes(&pool, &issue)?;
        let mut claims = Cognito::new(
            issuer,
            &issue.client_id,
            issue.user.as_ref(),
            &issue.scopes,
            now,
            &pool,
        );
        claims.auth_time = issue.auth_time;
        if let Some(origin_jti) = &issue.origin_jti {
            claims.origin_jti.clone_from(origin_jti);
        }
        let mut access = claims.access();
        access.extend(issue.extra.clone());
        if let Some(jkt) = &issue.dpop_jkt {
            access.insert("cnf".into(), json!({ "jkt": jkt }));
        }
        for change in &changes {
            change.apply_access(&mut access);
        }
        let scope = access
            .get("scope")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let access_token = self
            .keys
            .current(KeyUse::Access)
            .sign_claims(&Value::Object(access))?;

        let id_token = match claims.id(issue.nonce.as_deref(), Some(&access_token)) {
            Some(mut id) if issue.scopes.iter().any(|s| s == "openid") => {
                for change in &changes {
                    change.apply_id(&mut id);
                }
                Some(
                    self.keys
                        .current(KeyUse::Id)
                        .sign_claims(&Value::Object(id))?,
                )
            }
            _ => None,
        };

        let (refresh_token, family) = match (&issue.user, issue.refresh) {
            (Some(user), true) => {
                let token = new_id() + &new_id();
                let expires_at = expiry(now, pool.lifetimes.refresh_token);
                let family = issue.family.clone().unwrap_or_else(new_id);
                self.refresh.insert(
                    token.clone(),
                    RefreshRecord {
                        client_id: issue.client_id.clone(),
                        username: user.username.clone(),
                        scopes: issue.scopes.clone(),
                        auth_time: issue.auth_time,
                        origin_jti: claims.origin_jti.clone(),
                        family: family.clone(),
                        expires_at,
                        rotated_at: None,
                        dpop_jkt: issue.dpop_jkt.clone(),
                    },
                    expires_at,
                    now,
                );
                (Some(token), Some(family))
            }
            _ => (None, None),
        };
        Ok(Tokens {
            access_token,
            id_token,
            refresh_token,
            expires_in: expiry(now, pool.lifetimes.access_token).saturating_sub(now),
            scope,
            dpop: issue.dpop_jkt.is_some(),
            origin_jti: claims.origin_jti.clone(),
            family,
        })
    }
}
