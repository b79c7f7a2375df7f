//! Profiles: what a token of a given kind must look like beyond signature and registered claims,
//! and where its client, user, scopes and groups are read from.

use crate::claims::{ClaimPath, TokenUse};

/// The kind of token an authorizer accepts, chosen explicitly when it is built.
///
/// | profile | `typ` | required claims | client from | scopes from | groups from |
/// |---|---|---|---|---|---|
/// | [`Profile::cognito_access`] | absent, `JWT` or `at+jwt` | `iss` `exp` `iat` `token_use`=`access` `client_id` | `client_id` | `scope` | `cognito:groups` |
/// | [`Profile::cognito_id`] | absent, `JWT` | `iss` `exp` `iat` `token_use`=`id` `aud` `sub` | `aud` | — | `cognito:groups` |
/// | [`Profile::rfc9068`] | `at+jwt` (RFC 9068 §2.1) | `iss` `exp` `aud` `sub` `client_id` `iat` `jti` | `client_id` | `scope` | `groups` |
/// | [`Profile::generic`] | absent, `JWT` or `at+jwt` | `iss` `exp` | `client_id` | `scope`, else `scp` | `groups` |
/// | [`Profile::keycloak`] | absent, `JWT` or `at+jwt`; payload `typ` `Bearer` (or `DPoP` with `cnf.jkt`) | `iss` `exp` `iat` | `azp` | `scope` | `realm_access.roles` |
/// | [`Profile::entra`] | absent, `JWT` or `at+jwt` | `iss` `exp` `aud` `tid` `azp` | `azp` | `scp` | `roles` |
/// | [`Profile::auth0`] | absent, `JWT` or `at+jwt` | `iss` `exp` `aud` | `azp`, else `client_id` | `scope` | — |
/// | [`Profile::okta`] | absent, `JWT` or `at+jwt` | `iss` `exp` `aud` | `cid` | `scp` | `groups` |
///
/// Scopes and groups can be read from other claims with [`Profile::scope_claims`] and
/// [`Profile::groups_claims`]: a claim path (see [`ClaimPath`]) whose value is an array of
/// strings or a space-separated string. Only the claims a profile reads are typed: a claim it
/// does not read never refuses a token, whatever its type; a claim it reads with a value of the
/// wrong shape is [`MalformedClaim`](crate::AuthErrorKind::MalformedClaim).
///
/// **ID tokens are not access tokens.** Every profile but [`Profile::cognito_id`] refuses a
/// token that is recognisably an OpenID Connect ID token, as
/// [`WrongTokenUse`](crate::AuthErrorKind::WrongTokenUse): one carrying `nonce`, `at_hash` or
/// `c_hash`, or `token_use: "id"` (Keycloak: a payload `typ` other than `Bearer` or a bound
/// `DPoP`, or `at_hash` or `c_hash`; Keycloak copies `nonce` into access tokens). Without
/// this, an ID token whose `aud` is the API's audience (common with Entra ID, where the API
/// is often its own client) would pass as an access token. [`Profile::accept_id_tokens`]
/// gives that check up.
///
/// ```
/// use tokengate::{Profile, ScopeClaim};
///
/// // Keycloak, with the roles of client `orders-api` as well as the realm's.
/// let keycloak = Profile::keycloak().client_roles("orders-api");
/// // Auth0 with RBAC: permissions as scopes, roles from a namespaced claim.
/// let auth0 = Profile::auth0()
///     .scope_claims([ScopeClaim::Permissions])
///     .groups_claims(["https://example.com/roles"]);
/// # let _ = (keycloak, auth0);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    kind: Kind,
    scopes: Box<[ScopeClaim]>,
    groups: Box<[ClaimPath]>,
    id_tokens: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Cognito(TokenUse),
    Rfc9068,
    Generic,
    Keycloak,
    Entra,
    Auth0,
    Okta,
}

/// A claim scopes are read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ScopeClaim {
    /// `scope`: a space-separated string (RFC 8693 §4.2, RFC 9068 §2.2.3).
    Scope,
    /// `scp`: an array of scopes (Okta) or a space-separated string (Entra ID).
    Scp,
    /// `permissions`: an array of scopes (Auth0 with role-based access control).
    Permissions,
}

impl ScopeClaim {
    /// The claim's name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Scope => "scope",
            Self::Scp => "scp",
            Self::Permissions => "permissions",
        }
    }

    /// The claim named `name`, if it is one of the three.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "scope" => Some(Self::Scope),
            "scp" => Some(Self::Scp),
            "permissions" => Some(Self::Permissions),
            _ => None,
        }
    }
}

impl Profile {
    fn with_defaults(kind: Kind) -> Self {
        use ScopeClaim::{Scope, Scp};
        let (scopes, groups): (&[ScopeClaim], &[&str]) = match kind {
            Kind::Cognito(TokenUse::Access) => (&[Scope], &["cognito:groups"]),
            Kind::Cognito(TokenUse::Id) => (&[], &["cognito:groups"]),
            Kind::Rfc9068 => (&[Scope], &["groups"]),
            Kind::Generic => (&[Scope, Scp], &["groups"]),
            Kind::Keycloak => (&[Scope], &["realm_access.roles"]),
            Kind::Entra => (&[Scp], &["roles"]),
            Kind::Auth0 => (&[Scope], &[]),
            Kind::Okta => (&[Scp], &["groups"]),
        };
        Self {
            kind,
            scopes: scopes.into(),
            groups: groups.iter().map(|g| ClaimPath::parse(g)).collect(),
            id_tokens: kind == Kind::Cognito(TokenUse::Id),
        }
    }

    /// Cognito access tokens: `token_use` must be `access`; the client id is in `client_id`.
    pub fn cognito_access() -> Self {
        Self::with_defaults(Kind::Cognito(TokenUse::Access))
    }

    /// Cognito ID tokens: `token_use` must be `id`; the client id is in `aud`.
    pub fn cognito_id() -> Self {
        Self::with_defaults(Kind::Cognito(TokenUse::Id))
    }

    /// RFC 9068 JWT access tokens: `typ: at+jwt` and the claims the RFC requires.
    pub fn rfc9068() -> Self {
        Self::with_defaults(Kind::Rfc9068)
    }

    /// A generic OAuth 2.0 / OIDC access token.
    pub fn generic() -> Self {
        Self::with_defaults(Kind::Generic)
    }

    /// Keycloak access tokens (`https://HOST/realms/REALM`): the client is `azp` (Keycloak
    /// leaves `aud` absent or `account` unless a mapper adds the API), roles from
    /// `realm_access.roles` (add a client's with [`Profile::client_roles`]), scopes from
    /// `scope`, and the payload's `typ`, when present, must be `Bearer`, or `DPoP` for a
    /// token with the `cnf.jkt` binding (which [`JwtAuthLayer::dpop`](crate::JwtAuthLayer::dpop)
    /// checks a proof against).
    pub fn keycloak() -> Self {
        Self::with_defaults(Kind::Keycloak)
    }

    /// Microsoft Entra ID v2.0 access tokens (`https://login.microsoftonline.com/TENANT/v2.0`):
    /// `tid` and `azp` required, the client is `azp`, app roles from `roles`, delegated scopes
    /// from `scp` (a space-separated string).
    pub fn entra() -> Self {
        Self::with_defaults(Kind::Entra)
    }

    /// Auth0 access tokens (`https://TENANT.auth0.com/`, trailing slash included): `aud`
    /// required (a string or an array), the client is `azp` (Auth0 profile) or `client_id`
    /// (RFC 9068 profile), scopes from `scope`. With role-based access control, read
    /// `permissions` with [`Profile::scope_claims`]; namespaced roles with
    /// [`Profile::groups_claims`].
    pub fn auth0() -> Self {
        Self::with_defaults(Kind::Auth0)
    }

    /// Okta access tokens (`https://ORG.okta.com/oauth2/default`): `aud` required
    /// (`api://default`), the client is `cid`, scopes from `scp` (an array), groups from
    /// `groups` when the authorization server adds it.
    pub fn okta() -> Self {
        Self::with_defaults(Kind::Okta)
    }

    /// Reads scopes from these claims instead of the profile's: the first one the token
    /// carries gives the scopes; each one present must be well formed.
    #[must_use]
    pub fn scope_claims(mut self, claims: impl IntoIterator<Item = ScopeClaim>) -> Self {
        let mut out: Vec<ScopeClaim> = Vec::new();
        for claim in claims {
            if !out.contains(&claim) {
                out.push(claim);
            }
        }
        self.scopes = out.into();
        self
    }

    /// Reads groups (or roles) from these claim paths instead of the profile's: the groups are
    /// those of every path, together. Each value is an array of strings or a space-separated
    /// string.
    #[must_use]
    pub fn groups_claims<I, P>(mut self, paths: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<ClaimPath>,
    {
        let mut out: Vec<ClaimPath> = Vec::new();
        for path in paths {
            let path = path.into();
            if !out.contains(&path) {
                out.push(path);
            }
        }
        self.groups = out.into();
        self
    }

    /// Also reads the roles of Keycloak client `client_id`: `resource_access.<client_id>.roles`
    /// (the client id taken as one member, dots and all).
    #[must_use]
    pub fn client_roles(mut self, client_id: &str) -> Self {
        let path = ClaimPath::from_segments(["resource_access", client_id, "roles"]);
        if !self.groups.contains(&path) {
            let mut groups = self.groups.into_vec();
            groups.push(path);
            self.groups = groups.into();
        }
        self
    }

    /// Accepts tokens that look like OpenID Connect ID tokens (`nonce`, `at_hash`, `c_hash`,
    /// `token_use: "id"`). Gives up telling ID tokens from access tokens: an ID token issued for
    /// a client whose id is also your audience passes as an access token.
    #[must_use]
    pub fn accept_id_tokens(mut self) -> Self {
        self.id_tokens = true;
        self
    }

    /// The claims scopes are read from, in order.
    pub fn scope_sources(&self) -> &[ScopeClaim] {
        &self.scopes
    }

    /// The claim paths groups are read from.
    pub fn group_sources(&self) -> &[ClaimPath] {
        &self.groups
    }

    pub(crate) const fn kind(&self) -> Kind {
        self.kind
    }

    /// Whether ID tokens are taken (the Cognito ID profile, or [`Profile::accept_id_tokens`]).
    pub(crate) const fn takes_id_tokens(&self) -> bool {
        self.id_tokens
    }

    /// Whether the header's `typ` is acceptable (RFC 7515 §4.1.9: compared case-insensitively,
    /// with `application/` optional).
    pub(crate) fn accepts_typ(&self, typ: Option<&str>) -> bool {
        let is = |want| typ.is_some_and(|t| super::media_type_is(t, want));
        match self.kind {
            Kind::Rfc9068 => is("at+jwt"),
            Kind::Cognito(TokenUse::Id) => typ.is_none() || is("jwt"),
            _ => typ.is_none() || is("jwt") || is("at+jwt"),
        }
    }

    /// Claims that must be present.
    pub(crate) const fn required_claims(&self) -> &'static [&'static str] {
        match self.kind {
            Kind::Cognito(TokenUse::Access) => &["iss", "exp", "iat", "token_use", "client_id"],
            Kind::Cognito(TokenUse::Id) => &["iss", "exp", "iat", "token_use", "aud", "sub"],
            Kind::Rfc9068 => &["iss", "exp", "aud", "sub", "client_id", "iat", "jti"],
            Kind::Generic => &["iss", "exp"],
            Kind::Keycloak => &["iss", "exp", "iat"],
            Kind::Entra => &["iss", "exp", "aud", "tid", "azp"],
            Kind::Auth0 | Kind::Okta => &["iss", "exp", "aud"],
        }
    }

    pub(crate) const fn token_use(&self) -> Option<TokenUse> {
        match self.kind {
            Kind::Cognito(use_) => Some(use_),
            _ => None,
        }
    }

    /// Whether the client id lives in `aud` (Cognito ID tokens) rather than a claim of its own.
    pub(crate) const fn client_id_in_aud(&self) -> bool {
        matches!(self.kind, Kind::Cognito(TokenUse::Id))
    }

    /// The claims the client id is read from, the first present winning.
    pub(crate) const fn client_claims(&self) -> &'static [&'static str] {
        match self.kind {
            Kind::Cognito(TokenUse::Id) => &[],
            Kind::Cognito(TokenUse::Access) | Kind::Rfc9068 | Kind::Generic => &["client_id"],
            Kind::Keycloak | Kind::Entra => &["azp"],
            Kind::Auth0 => &["azp", "client_id"],
            Kind::Okta => &["cid"],
        }
    }

    /// The claims the user name is read from, the first present winning.
    pub(crate) const fn username_claims(&self) -> &'static [&'static str] {
        match self.kind {
            Kind::Cognito(_) => &["username", "cognito:username"],
            Kind::Rfc9068 | Kind::Generic => &["username", "preferred_username"],
            Kind::Keycloak | Kind::Entra => &["preferred_username"],
            Kind::Auth0 | Kind::Okta => &[],
        }
    }

    /// Members whose presence marks an OpenID Connect ID token.
    pub(crate) const fn id_token_markers(&self) -> &'static [&'static str] {
        if self.id_tokens {
            return &[];
        }
        match self.kind {
            Kind::Keycloak => &["at_hash", "c_hash"],
            _ => &["nonce", "at_hash", "c_hash"],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc9068_requires_at_jwt_in_any_case_with_optional_prefix() {
        let p = Profile::rfc9068();
        assert!(p.accepts_typ(Some("at+jwt")));
        assert!(p.accepts_typ(Some("AT+JWT")));
        assert!(p.accepts_typ(Some("application/at+jwt")));
        assert!(!p.accepts_typ(Some("JWT")));
        assert!(!p.accepts_typ(None));
    }

    #[test]
    fn generic_refuses_other_token_types() {
        let p = Profile::generic();
        assert!(p.accepts_typ(None));
        assert!(p.accepts_typ(Some("JWT")));
        assert!(!p.accepts_typ(Some("logout+jwt")));
        assert!(!p.accepts_typ(Some("dpop+jwt")));
        assert!(!Profile::cognito_id().accepts_typ(Some("at+jwt")));
    }

    #[test]
    fn configured_sources_replace_the_defaults_without_duplicates() {
        let p = Profile::generic()
            .scope_claims([ScopeClaim::Permissions, ScopeClaim::Permissions])
            .groups_claims(["realm_access.roles", "realm_access.roles", "roles"])
            .client_roles("my.app");
        assert_eq!(p.scope_sources(), [ScopeClaim::Permissions]);
        let groups: Vec<String> = p.group_sources().iter().map(ToString::to_string).collect();
        assert_eq!(
            groups,
            [
                "realm_access.roles",
                "roles",
                "resource_access.my.app.roles"
            ]
        );
        assert_eq!(p.group_sources()[2].segments().nth(1), Some("my.app"));
    }

    #[test]
    fn only_the_cognito_id_profile_takes_id_tokens_by_default() {
        assert!(Profile::cognito_id().id_token_markers().is_empty());
        assert!(!Profile::generic().id_token_markers().is_empty());
        assert!(
            Profile::generic()
                .accept_id_tokens()
                .id_token_markers()
                .is_empty()
        );
        assert!(!Profile::keycloak().id_token_markers().contains(&"nonce"));
    }
}
