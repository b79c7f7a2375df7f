//! Token customization, as Cognito's pre token generation trigger (its V2/V3 events): before
//! a grant signs its tokens, each customization that applies is told who the tokens are for
//! ([`TokenEvent`], Cognito's event `request`) and answers what to change ([`TokenChanges`],
//! Cognito's `claimsAndScopeOverrideDetails`): claims added, overridden or suppressed in either
//! token, scopes added to or suppressed from the access token, the groups replaced in both.
//!
//! Two forms, applied in this order to every token every grant issues (code, implicit,
//! refresh, device, client credentials, token exchange; not the tokens minted directly with
//! [`TokenBuilder`](crate::mock::TokenBuilder)):
//! - declarative [`TokenCustomization`]s (TOML `[[token_customizations]]`, the admin API,
//!   [`MockIssuer::add_token_customization`](crate::mock::MockIssuer::add_token_customization)),
//!   for one client, one user, both or every token, in the order they were added;
//! - Rust closures ([`MockIssuerBuilder::customize_tokens`](crate::mock::MockIssuerBuilder::customize_tokens)),
//!   which see the event and decide.
//!
//! Each applies to the result of the previous one. Within one, claims are added or overridden
//! first and suppressed after, so a claim both set and suppressed is suppressed (as Cognito
//! documents). The claims Cognito does not let a trigger touch are refused ([`PROTECTED`],
//! [`ACCESS_PROTECTED`]): a declarative customization that names one is a configuration error,
//! a closure that returns one fails the grant with `server_error`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::claims::is_scope_token;

/// Claims no customization may add, override or suppress, in either token: the list Cognito
/// documents for its pre token generation trigger.
pub const PROTECTED: [&str; 17] = [
    "acr",
    "amr",
    "aud",
    "at_hash",
    "auth_time",
    "azp",
    "cognito:username",
    "exp",
    "iat",
    "identities",
    "iss",
    "jti",
    "nbf",
    "nonce",
    "origin_jti",
    "sub",
    "token_use",
];

/// Claims that only change the mock's own way: `scope` through
/// [`AccessTokenChanges::scopes_to_add`] and [`scopes_to_suppress`](AccessTokenChanges::scopes_to_suppress),
/// `cognito:groups` through [`TokenChanges::groups_to_override`]; the access token's
/// `client_id`, `username`, `version`, `event_id` and `cnf` (its DPoP binding) not at all
/// (resource servers check the first two and the last).
pub const ACCESS_PROTECTED: [&str; 7] = [
    "scope",
    "cognito:groups",
    "client_id",
    "username",
    "version",
    "event_id",
    "cnf",
];

/// Changes to an access token (Cognito's `accessTokenGeneration`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccessTokenChanges {
    /// Claims to add, or to set when there (any JSON value).
    pub claims_to_add_or_override: Map<String, Value>,
    /// Claims to leave out.
    pub claims_to_suppress: Vec<String>,
    /// Scopes to add to `scope`.
    pub scopes_to_add: Vec<String>,
    /// Scopes to take out of `scope`.
    pub scopes_to_suppress: Vec<String>,
}

/// Changes to an ID token (Cognito's `idTokenGeneration`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdTokenChanges {
    /// Claims to add, or to set when there (any JSON value).
    pub claims_to_add_or_override: Map<String, Value>,
    /// Claims to leave out.
    pub claims_to_suppress: Vec<String>,
}

/// What a customization changes (Cognito's `claimsAndScopeOverrideDetails`).
///
/// ```
/// use tokengate::mock::TokenChanges;
///
/// let changes = TokenChanges::default()
///     .access_claim("tenant", "acme")
///     .suppress_id_claim("email")
///     .add_scope("api/write")
///     .override_groups(["auditors"]);
/// # let _ = changes;
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenChanges {
    /// Changes to the access token.
    pub access_token: AccessTokenChanges,
    /// Changes to the ID token (when one is issued).
    pub id_token: IdTokenChanges,
    /// Replaces `cognito:groups` in both tokens; an empty list removes the claim (Cognito's
    /// `groupOverrideDetails.groupsToOverride`). `None` leaves the groups as they are.
    pub groups_to_override: Option<Vec<String>>,
}

impl TokenChanges {
    /// Adds or overrides an access-token claim.
    #[must_use]
    pub fn access_claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.access_token
            .claims_to_add_or_override
            .insert(name.into(), value.into());
        self
    }

    /// Leaves an access-token claim out.
    #[must_use]
    pub fn suppress_access_claim(mut self, name: impl Into<String>) -> Self {
        self.access_token.claims_to_suppress.push(name.into());
        self
    }

    /// Adds or overrides an ID-token claim.
    #[must_use]
    pub fn id_claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.id_token
            .claims_to_add_or_override
            .insert(name.into(), value.into());
        self
    }

    /// Leaves an ID-token claim out.
    #[must_use]
    pub fn suppress_id_claim(mut self, name: impl Into<String>) -> Self {
        self.id_token.claims_to_suppress.push(name.into());
        self
    }

    /// Adds a scope to the access token's `scope`.
    #[must_use]
    pub fn add_scope(mut self, scope: impl Into<String>) -> Self {
        self.access_token.scopes_to_add.push(scope.into());
        self
    }

    /// Takes a scope out of the access token's `scope`.
    #[must_use]
    pub fn suppress_scope(mut self, scope: impl Into<String>) -> Self {
        self.access_token.scopes_to_suppress.push(scope.into());
        self
    }

    /// Replaces the groups (`cognito:groups`) of both tokens; none removes the claim.
    #[must_use]
    pub fn override_groups<I, S>(mut self, groups: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.groups_to_override = Some(groups.into_iter().map(Into::into).collect());
        self
    }

    /// What makes these changes impossible, if anything: a protected claim, a scope that
    /// cannot be one.
    pub(crate) fn check(&self) -> Result<(), String> {
        let touched = |claims: &Map<String, Value>, suppressed: &[String]| {
            claims
                .keys()
                .chain(suppressed)
                .cloned()
                .collect::<Vec<String>>()
        };
        let access = touched(
            &self.access_token.claims_to_add_or_override,
            &self.access_token.claims_to_suppress,
        );
        let id = touched(
            &self.id_token.claims_to_add_or_override,
            &self.id_token.claims_to_suppress,
        );
        for (token, names) in [("access", &access), ("ID", &id)] {
            if let Some(name) = names.iter().find(|n| PROTECTED.contains(&n.as_str())) {
                return Err(format!(
                    "`{name}` cannot be changed in the {token} token (Cognito protects it)"
                ));
            }
            if let Some(name) = names.iter().find(|n| n.as_str() == "cognito:groups") {
                return Err(format!(
                    "`{name}` changes through `groups_to_override`, not as a claim"
                ));
            }
        }
        if let Some(name) = access
            .iter()
            .find(|n| ACCESS_PROTECTED.contains(&n.as_str()))
        {
            return Err(match name.as_str() {
                "scope" => "`scope` changes through `scopes_to_add` and `scopes_to_suppress`, \
                            not as a claim"
                    .to_owned(),
                _ => format!("`{name}` cannot be changed in the access token"),
            });
        }
        let scopes = self
            .access_token
            .scopes_to_add
            .iter()
            .chain(&self.access_token.scopes_to_suppress);
        for scope in scopes {
            if !is_scope_token(scope) {
                return Err(format!("`{scope}` cannot be a scope"));
            }
        }
        Ok(())
    }

    /// Applies the changes to an access token's claims: add or override, then suppress;
    /// groups; then scopes added and suppressed.
    pub(crate) fn apply_access(&self, access: &mut Map<String, Value>) {
        change(
            access,
            &self.access_token.claims_to_add_or_override,
            &self.access_token.claims_to_suppress,
        );
        let mut scopes: Vec<String> = access
            .get("scope")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        for scope in &self.access_token.scopes_to_add {
            if !scopes.contains(scope) {
                scopes.push(scope.clone());
            }
        }
        scopes.retain(|s| !self.access_token.scopes_to_suppress.contains(s));
        access.insert("scope".into(), json!(scopes.join(" ")));
        if let Some(groups) = &self.groups_to_override {
            set_groups(access, groups);
        }
    }

    /// Applies the changes to an ID token's claims: add or override, then suppress; groups.
    pub(crate) fn apply_id(&self, id: &mut Map<String, Value>) {
        change(
            id,
            &self.id_token.claims_to_add_or_override,
            &self.id_token.claims_to_suppress,
        );
        if let Some(groups) = &self.groups_to_override {
            set_groups(id, groups);
        }
    }
}

fn change(claims: &mut Map<String, Value>, set: &Map<String, Value>, suppress: &[String]) {
    claims.extend(set.iter().map(|(k, v)| (k.clone(), v.clone())));
    for name in suppress {
        claims.remove(name);
    }
}

fn set_groups(claims: &mut Map<String, Value>, groups: &[String]) {
    if groups.is_empty() {
        claims.remove("cognito:groups");
    } else {
        claims.insert("cognito:groups".into(), json!(groups));
    }
}

/// A declarative customization: [`TokenChanges`] for the tokens of one client, one user,
/// both, or every token. In TOML and the admin API its fields are flat:
///
/// ```toml
/// [[token_customizations]]
/// client_id = "demo-web"          # optional: every client
/// username = "alice"              # optional: every user (and client-credentials tokens)
/// groups_to_override = ["auditors"]
/// [token_customizations.access_token]
/// claims_to_add_or_override = { tenant = "acme" }
/// scopes_to_add = ["api/write"]
/// [token_customizations.id_token]
/// claims_to_suppress = ["email"]
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "Flat", into = "Flat")]
pub struct TokenCustomization {
    /// Only tokens issued to this client; `None`: any client.
    pub client_id: Option<String>,
    /// Only tokens of this user (by configured user name); `None`: any token, those of
    /// client credentials included.
    pub username: Option<String>,
    /// What changes.
    pub changes: TokenChanges,
}

impl TokenCustomization {
    /// `changes` for every token.
    pub fn new(changes: TokenChanges) -> Self {
        Self {
            client_id: None,
            username: None,
            changes,
        }
    }

    /// Only tokens issued to `client_id`.
    #[must_use]
    pub fn client(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// Only tokens of `username`.
    #[must_use]
    pub fn user(mut self, username: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self
    }
}

/// The wire form of [`TokenCustomization`]: its fields and the changes' side by side.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Flat {
    client_id: Option<String>,
    username: Option<String>,
    access_token: AccessTokenChanges,
    id_token: IdTokenChanges,
    groups_to_override: Option<Vec<String>>,
}

impl From<Flat> for TokenCustomization {
    fn from(flat: Flat) -> Self {
        Self {
            client_id: flat.client_id,
            username: flat.username,
            changes: TokenChanges {
                access_token: flat.access_token,
                id_token: flat.id_token,
                groups_to_override: flat.groups_to_override,
            },
        }
    }
}

impl From<TokenCustomization> for Flat {
    fn from(c: TokenCustomization) -> Self {
        Self {
            client_id: c.client_id,
            username: c.username,
            access_token: c.changes.access_token,
            id_token: c.changes.id_token,
            groups_to_override: c.changes.groups_to_override,
        }
    }
}

/// Which grant is issuing (Cognito's `triggerSource`, where Cognito has one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TriggerSource {
    /// A sign-in on the hosted pages: the authorization code and implicit grants.
    HostedAuth,
    /// The refresh token grant.
    RefreshTokens,
    /// The client credentials grant (Cognito's V3 event).
    ClientCredentials,
    /// The device authorization grant (the mock's own; Cognito has none).
    DeviceCode,
    /// Token exchange (the mock's own; Cognito has none).
    TokenExchange,
}

impl TriggerSource {
    /// Cognito's name (`TokenGeneration_HostedAuth` …), or the mock's in the same style.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::HostedAuth => "TokenGeneration_HostedAuth",
            Self::RefreshTokens => "TokenGeneration_RefreshTokens",
            Self::ClientCredentials => "TokenGeneration_ClientCredentials",
            Self::DeviceCode => "TokenGeneration_DeviceCode",
            Self::TokenExchange => "TokenGeneration_TokenExchange",
        }
    }
}

/// What a customization is told about the tokens about to be signed (Cognito's event:
/// `triggerSource`, `callerContext.clientId`, `userName` and `request`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenEvent {
    /// Which grant is issuing.
    pub trigger_source: TriggerSource,
    /// The client the tokens are issued to.
    pub client_id: String,
    /// The user's configured user name; `None` for client credentials (and for token
    /// exchange of a subject that is not a user of this pool).
    pub username: Option<String>,
    /// The user's attributes as Cognito sends them: all strings (`email_verified: "true"`).
    pub user_attributes: BTreeMap<String, String>,
    /// The user's groups.
    pub groups: Vec<String>,
    /// The scopes granted, before any customization.
    pub scopes: Vec<String>,
}

/// A Rust customization: the event in, the changes out.
pub(crate) type Customizer = Arc<dyn Fn(&TokenEvent) -> TokenChanges + Send + Sync>;

/// The closures of an instance, for `Debug`.
#[derive(Clone, Default)]
pub(crate) struct Customizers(pub(crate) Vec<Customizer>);

impl fmt::Debug for Customizers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Customizers({})", self.0.len())
    }
}

impl TokenCustomization {
    /// Whether it applies to tokens of `client_id` for `username` (`same_name` compares user
    /// names as the pool does).
    pub(crate) fn applies(
        &self,
        client_id: &str,
        username: Option<&str>,
        same_name: impl Fn(&str, &str) -> bool,
    ) -> bool {
        self.client_id.as_deref().is_none_or(|c| c == client_id)
            && self
                .username
                .as_deref()
                .is_none_or(|u| username.is_some_and(|name| same_name(u, name)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suppressing_wins_over_setting_and_scopes_and_groups_change_in_place() {
        let mut access = json!({"scope": "openid api/read", "cognito:groups": ["a"], "x": 1})
            .as_object()
            .cloned()
            .expect("an object");
        let mut id = json!({"cognito:groups": ["a"], "email": "e"})
            .as_object()
            .cloned()
            .expect("an object");
        let changes = TokenChanges::default()
            .access_claim("tenant", "acme")
            .access_claim("x", 2)
            .suppress_access_claim("tenant")
            .suppress_id_claim("email")
            .add_scope("api/write")
            .add_scope("api/read")
            .suppress_scope("openid")
            .override_groups(Vec::<String>::new());
        changes.apply_access(&mut access);
        changes.apply_id(&mut id);
        assert_eq!(
            Value::Object(access),
            json!({"scope": "api/read api/write", "x": 2})
        );
        assert_eq!(Value::Object(id), json!({}));
    }

    #[test]
    fn protected_claims_are_refused_in_either_token() {
        for changes in [
            TokenChanges::default().access_claim("iss", "x"),
            TokenChanges::default().suppress_id_claim("exp"),
            TokenChanges::default().access_claim("client_id", "x"),
            TokenChanges::default().access_claim("scope", "x"),
            TokenChanges::default().id_claim("cognito:groups", "x"),
            TokenChanges::default().add_scope("two words"),
        ] {
            assert!(changes.check().is_err(), "{changes:?}");
        }
        let fine = TokenChanges::default()
            .id_claim("client_id", "shown in the ID token")
            .access_claim("tenant", "acme");
        assert_eq!(fine.check(), Ok(()));
    }

    #[test]
    fn the_wire_form_is_flat_and_refuses_unknown_fields() {
        let parsed: TokenCustomization = serde_json::from_value(json!({
            "client_id": "web",
            "access_token": {"scopes_to_add": ["api/write"]},
            "groups_to_override": [],
        }))
        .expect("valid");
        assert_eq!(parsed.client_id.as_deref(), Some("web"));
        assert_eq!(parsed.changes.access_token.scopes_to_add, ["api/write"]);
        assert_eq!(parsed.changes.groups_to_override, Some(vec![]));
        assert!(serde_json::from_value::<TokenCustomization>(json!({"changes": {}})).is_err());
    }
}
