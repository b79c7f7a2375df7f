//! Minting Cognito-shaped tokens: access (no `aud`), ID (`aud`, `at_hash`), opaque refresh.

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use crate::error::Error;
use crate::mock::config::User;
use crate::mock::keys::{KeyUse, new_id, uuid};
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
    /// Extra access-token claims (token exchange's `act`).
    pub(crate) extra: Map<String, Value>,
}

/// A token endpoint response (RFC 6749 §5.1).
#[derive(Clone, Debug)]
pub(crate) struct Tokens {
    pub(crate) access_token: String,
    pub(crate) id_token: Option<String>,
    pub(crate) refresh_token: Option<String>,
    pub(crate) expires_in: u64,
    pub(crate) scope: String,
}

impl Tokens {
    pub(crate) fn to_json(&self) -> Value {
        let mut body = json!({
            "access_token": self.access_token,
            "token_type": "Bearer",
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

/// The user's `sub`: configured, or derived from the user name so it is stable.
pub(crate) fn user_sub(user: &User) -> String {
    user.sub.clone().unwrap_or_else(|| {
        let hash = digest(&SHA256, user.username.as_bytes());
        let h: String = hash.as_ref()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!(
            "{}-{}-4{}-8{}-{}",
            &h[0..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..32]
        )
    })
}

/// OIDC Core §3.1.3.6 `at_hash`: the left half of SHA-256 of the access token, base64url.
pub(crate) fn at_hash(access_token: &str) -> String {
    let hash = digest(&SHA256, access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&hash.as_ref()[..16])
}

/// The attributes an ID token or `/oauth2/userInfo` shows; `scopes` filters as userInfo does
/// (`None`: everything, as in ID tokens).
pub(crate) fn user_attributes(user: &User, scopes: Option<&[String]>) -> Map<String, Value> {
    let has = |s: &str| scopes.is_none_or(|scopes| scopes.iter().any(|x| x == s));
    let mut out = Map::new();
    out.insert("sub".into(), json!(user_sub(user)));
    if has("email")
        && let Some(email) = &user.email
    {
        out.insert("email".into(), json!(email));
        out.insert("email_verified".into(), json!(true));
    }
    if has("phone")
        && let Some(phone) = &user.phone_number
    {
        out.insert("phone_number".into(), json!(phone));
        out.insert("phone_number_verified".into(), json!(true));
    }
    if has("profile") {
        for (name, value) in &user.attributes {
            out.insert(name.clone(), json!(value));
        }
    }
    out
}

impl State {
    /// Mints the tokens of a successful grant, recording the refresh token.
    pub(crate) fn mint(&mut self, issuer: &str, now: u64, issue: Issue) -> Result<Tokens, Error> {
        let lifetimes = self.config.lifetimes.clone();
        let origin_jti = issue.origin_jti.clone().unwrap_or_else(uuid);
        let event_id = uuid();
        let scope = issue.scopes.join(" ");
        let mut access = Map::new();
        match &issue.user {
            Some(user) => {
                access.insert("sub".into(), json!(user_sub(user)));
                if !user.groups.is_empty() {
                    access.insert("cognito:groups".into(), json!(user.groups));
                }
            }
            // Client-credentials tokens carry no user claims; `sub` is the client.
            None => {
                access.insert("sub".into(), json!(issue.client_id));
            }
        }
        access.insert("iss".into(), json!(issuer));
        access.insert("version".into(), json!(2));
        access.insert("client_id".into(), json!(issue.client_id));
        access.insert("origin_jti".into(), json!(origin_jti));
        access.insert("event_id".into(), json!(event_id));
        access.insert("token_use".into(), json!("access"));
        access.insert("scope".into(), json!(scope));
        access.insert("auth_time".into(), json!(issue.auth_time));
        access.insert("exp".into(), json!(now + lifetimes.access_token));
        access.insert("iat".into(), json!(now));
        access.insert("jti".into(), json!(uuid()));
        if let Some(user) = &issue.user {
            access.insert("username".into(), json!(user.username));
        }
        access.extend(issue.extra.clone());
        let access_token = self
            .keys
            .current(KeyUse::Access)
            .sign_claims(&Value::Object(access))?;

        let id_token = match &issue.user {
            Some(user) if issue.scopes.iter().any(|s| s == "openid") => {
                let mut id = user_attributes(user, None);
                id.insert("aud".into(), json!(issue.client_id));
                if !user.groups.is_empty() {
                    id.insert("cognito:groups".into(), json!(user.groups));
                }
                id.insert("token_use".into(), json!("id"));
                id.insert("auth_time".into(), json!(issue.auth_time));
                id.insert("iss".into(), json!(issuer));
                id.insert("cognito:username".into(), json!(user.username));
                id.insert("exp".into(), json!(now + lifetimes.id_token));
                id.insert("iat".into(), json!(now));
                id.insert("jti".into(), json!(uuid()));
                id.insert("origin_jti".into(), json!(origin_jti));
                id.insert("event_id".into(), json!(event_id));
                id.insert("at_hash".into(), json!(at_hash(&access_token)));
                if let Some(nonce) = &issue.nonce {
                    id.insert("nonce".into(), json!(nonce));
                }
                Some(
                    self.keys
                        .current(KeyUse::Id)
                        .sign_claims(&Value::Object(id))?,
                )
            }
            _ => None,
        };

        let refresh_token = match (&issue.user, issue.refresh) {
            (Some(user), true) => {
                let token = new_id() + &new_id();
                self.refresh.insert(
                    token.clone(),
                    RefreshRecord {
                        client_id: issue.client_id.clone(),
                        username: user.username.clone(),
                        scopes: issue.scopes.clone(),
                        auth_time: issue.auth_time,
                        origin_jti: origin_jti.clone(),
                        family: issue.family.clone().unwrap_or_else(new_id),
                        expires_at: now + lifetimes.refresh_token,
                        rotated_at: None,
                    },
                );
                Some(token)
            }
            _ => None,
        };
        Ok(Tokens {
            access_token,
            id_token,
            refresh_token,
            expires_in: lifetimes.access_token,
            scope,
        })
    }
}
