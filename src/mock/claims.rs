//! The one builder of Cognito-shaped claims. Whatever issues an access or ID token — a grant,
//! the test API's [`TokenBuilder`](crate::mock::TokenBuilder), the admin API through it —
//! starts from [`Cognito::access`] or [`Cognito::id`], so a claim or lifetime fixed here is
//! fixed everywhere.
//!
//! Access tokens: `sub`, `cognito:groups`, `iss`, `version`, `client_id`, `origin_jti`,
//! `event_id`, `token_use: access`, `scope`, `auth_time`, `exp`, `iat`, `jti`, `username`; no
//! `aud`. ID tokens: the user's attributes, `aud`, `cognito:groups`, `token_use: id`,
//! `auth_time`, `iss`, `cognito:username`, `exp`, `iat`, `jti`, `origin_jti`, `event_id`,
//! `at_hash` and `nonce` when there are some.

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use crate::mock::config::{MockConfig, User};
use crate::mock::keys::uuid;

/// The latest NumericDate a verifier takes (9999-12-31T23:59:59Z): expiries are capped here.
pub(crate) const MAX_DATE: u64 = 253_402_300_799;

/// `now + lifetime`, saturating at [`MAX_DATE`]: no lifetime from a configuration can
/// overflow, or make a date a verifier refuses to read.
pub(crate) fn expiry(now: u64, lifetime: u64) -> u64 {
    now.saturating_add(lifetime).min(MAX_DATE)
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

/// How `email_verified` and `phone_number_verified` are written: JSON booleans in ID tokens,
/// the strings `"true"`/`"false"` in `/oauth2/userInfo` answers and trigger events, as
/// Cognito writes them (clients that read userInfo's as booleans break on Cognito).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verified {
    /// `true` / `false`.
    Booleans,
    /// `"true"` / `"false"`.
    Strings,
}

/// The attributes an ID token or `/oauth2/userInfo` shows; `scopes` filters as userInfo does
/// (`None`: everything, as in ID tokens).
pub(crate) fn user_attributes(
    user: &User,
    scopes: Option<&[String]>,
    verified: Verified,
) -> Map<String, Value> {
    let has = |s: &str| scopes.is_none_or(|scopes| scopes.iter().any(|x| x == s));
    let flag = |b: bool| match verified {
        Verified::Booleans => json!(b),
        Verified::Strings => json!(b.to_string()),
    };
    let mut out = Map::new();
    out.insert("sub".into(), json!(user_sub(user)));
    if has("email")
        && let Some(email) = &user.email
    {
        out.insert("email".into(), json!(email));
        out.insert("email_verified".into(), flag(user.email_verified));
    }
    if has("phone")
        && let Some(phone) = &user.phone_number
    {
        out.insert("phone_number".into(), json!(phone));
        out.insert(
            "phone_number_verified".into(),
            flag(user.phone_number_verified),
        );
    }
    if has("profile") {
        for (name, value) in &user.attributes {
            out.insert(name.clone(), json!(value));
        }
    }
    out
}

/// One issuance: who, for which client, with what, when. Its access and ID tokens share
/// `origin_jti` and `event_id`.
#[derive(Clone, Debug)]
pub(crate) struct Cognito<'a> {
    /// `iss`.
    pub(crate) issuer: &'a str,
    /// `client_id` of access tokens, `aud` of ID tokens.
    pub(crate) client_id: &'a str,
    /// The signed-in user; `None` for client credentials (`sub` is then the client).
    pub(crate) user: Option<&'a User>,
    /// `scope` of access tokens.
    pub(crate) scopes: &'a [String],
    /// The original sign-in.
    pub(crate) auth_time: u64,
    /// `iat`.
    pub(crate) now: u64,
    /// The pool: lifetimes (`access_token` for access tokens, `id_token` for ID tokens) and
    /// what tokens call the user ([`MockConfig::token_username`]).
    pub(crate) pool: &'a MockConfig,
    /// Shared by every token of one sign-in.
    pub(crate) origin_jti: String,
    /// Shared by the tokens of this issuance.
    pub(crate) event_id: String,
}

impl<'a> Cognito<'a> {
    /// An issuance now, with a fresh `origin_jti` (unless given) and `event_id`.
    pub(crate) fn new(
        issuer: &'a str,
        client_id: &'a str,
        user: Option<&'a User>,
        scopes: &'a [String],
        now: u64,
        pool: &'a MockConfig,
    ) -> Self {
        Self {
            issuer,
            client_id,
            user,
            scopes,
            auth_time: now,
            now,
            pool,
            origin_jti: uuid(),
            event_id: uuid(),
        }
    }

    /// The claims shared by both kinds of token.
    fn common(&self, claims: &mut Map<String, Value>, lifetime: u64) {
        claims.insert("iss".into(), json!(self.issuer));
        claims.insert("origin_jti".into(), json!(self.origin_jti));
        claims.insert("event_id".into(), json!(self.event_id));
        claims.insert("auth_time".into(), json!(self.auth_time));
        claims.insert("iat".into(), json!(self.now));
        claims.insert("exp".into(), json!(expiry(self.now, lifetime)));
        claims.insert("jti".into(), json!(uuid()));
    }

    /// An access token's claims.
    pub(crate) fn access(&self) -> Map<String, Value> {
        let mut claims = Map::new();
        match self.user {
            Some(user) => {
                claims.insert("sub".into(), json!(user_sub(user)));
                if !user.groups.is_empty() {
                    claims.insert("cognito:groups".into(), json!(user.groups));
                }
                claims.insert("username".into(), json!(self.pool.token_username(user)));
            }
            // Client-credentials tokens carry no user claims; `sub` is the client.
            None => {
                claims.insert("sub".into(), json!(self.client_id));
            }
        }
        claims.insert("version".into(), json!(2));
        claims.insert("client_id".into(), json!(self.client_id));
        claims.insert("token_use".into(), json!("access"));
        claims.insert("scope".into(), json!(self.scopes.join(" ")));
        self.common(&mut claims, self.pool.lifetimes.access_token);
        claims
    }

    /// An ID token's claims, `None` without a user. `nonce` is the authorization request's;
    /// `access_token`, when one is issued beside, gives `at_hash`.
    pub(crate) fn id(
        &self,
        nonce: Option<&str>,
        access_token: Option<&str>,
    ) -> Option<Map<String, Value>> {
        let user = self.user?;
        let mut claims = user_attributes(user, None, Verified::Booleans);
        claims.insert("aud".into(), json!(self.client_id));
        if !user.groups.is_empty() {
            claims.insert("cognito:groups".into(), json!(user.groups));
        }
        claims.insert("token_use".into(), json!("id"));
        claims.insert(
            "cognito:username".into(),
            json!(self.pool.token_username(user)),
        );
        self.common(&mut claims, self.pool.lifetimes.id_token);
        if let Some(access_token) = access_token {
            claims.insert("at_hash".into(), json!(at_hash(access_token)));
        }
        if let Some(nonce) = nonce {
            claims.insert("nonce".into(), json!(nonce));
        }
        Some(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> MockConfig {
        MockConfig {
            lifetimes: crate::mock::config::Lifetimes {
                access_token: 600,
                id_token: 900,
                ..Default::default()
            },
            ..MockConfig::default()
        }
    }

    #[test]
    fn each_kind_of_token_gets_its_own_lifetime() {
        let user = User::new("alice", "pw");
        let pool = pool();
        let scopes = ["openid".to_owned()];
        let issue = Cognito::new("https://iss", "app", Some(&user), &scopes, 1000, &pool);
        assert_eq!(issue.access()["exp"], 1600);
        assert_eq!(issue.id(None, None).expect("a user")["exp"], 1900);
    }

    #[test]
    fn access_and_id_tokens_of_one_issuance_share_origin_and_event() {
        let user = User::new("alice", "pw").groups(["admins"]);
        let pool = pool();
        let scopes = ["openid".to_owned()];
        let issue = Cognito::new("https://iss", "app", Some(&user), &scopes, 1000, &pool);
        let (access, id) = (issue.access(), issue.id(Some("n"), Some("t")).expect("id"));
        for name in [
            "origin_jti",
            "event_id",
            "auth_time",
            "iss",
            "cognito:groups",
        ] {
            assert_eq!(access[name], id[name], "{name}");
        }
        assert_ne!(access["jti"], id["jti"]);
        assert_eq!(id["nonce"], "n");
        assert_eq!(id["at_hash"], at_hash("t"));
        assert!(!access.contains_key("aud"));
    }

    #[test]
    fn client_credentials_tokens_name_the_client_and_have_no_id_token() {
        let pool = pool();
        let issue = Cognito::new("https://iss", "backend", None, &[], 1000, &pool);
        let access = issue.access();
        assert_eq!(access["sub"], "backend");
        assert!(!access.contains_key("username"));
        assert!(issue.id(None, None).is_none());
    }

    #[test]
    fn verified_flags_are_booleans_in_id_tokens_and_strings_in_userinfo() {
        let user = User::new("alice", "pw")
            .email("a@example.com")
            .email_verified(false)
            .phone_number("+15555550100");
        let id = user_attributes(&user, None, Verified::Booleans);
        assert_eq!(id["email_verified"], json!(false));
        assert_eq!(id["phone_number_verified"], json!(true));
        let info = user_attributes(&user, None, Verified::Strings);
        assert_eq!(info["email_verified"], json!("false"));
        assert_eq!(info["phone_number_verified"], json!("true"));
    }

    #[test]
    fn expiries_saturate_at_the_last_readable_date() {
        assert_eq!(expiry(1000, 600), 1600);
        assert_eq!(expiry(1000, u64::MAX), MAX_DATE);
        assert_eq!(expiry(u64::MAX, 1), MAX_DATE);
    }
}
