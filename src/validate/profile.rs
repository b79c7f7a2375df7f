//! Profiles: what a token of a given kind must look like beyond signature and registered claims.

use crate::claims::TokenUse;

/// The kind of token an authorizer accepts, chosen explicitly when it is built.
///
/// | profile | `typ` | required claims | client check reads | scopes from | groups from |
/// |---|---|---|---|---|---|
/// | [`Profile::cognito_access`] | absent, `JWT` or `at+jwt` | `iss` `exp` `iat` `token_use`=`access` `client_id` | `client_id` | `scope` | `cognito:groups` |
/// | [`Profile::cognito_id`] | absent, `JWT` | `iss` `exp` `iat` `token_use`=`id` `aud` `sub` | `aud` | — | `cognito:groups` |
/// | [`Profile::rfc9068`] | `at+jwt` (RFC 9068 §2.1) | `iss` `exp` `aud` `sub` `client_id` `iat` `jti` | `client_id` | `scope` | `groups` |
/// | [`Profile::generic`] | absent, `JWT` or `at+jwt` | `iss` `exp` | `client_id` | `scope` or `scp` | `groups` |
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Profile {
    /// Amazon Cognito user-pool tokens of the given `token_use`.
    Cognito(TokenUse),
    /// JWT access tokens as profiled by RFC 9068.
    Rfc9068,
    /// Any OAuth 2.0 / OIDC issuer's JWT access tokens.
    Generic,
}

impl Profile {
    /// Cognito access tokens: `token_use` must be `access`; the client id is in `client_id`.
    pub const fn cognito_access() -> Self {
        Self::Cognito(TokenUse::Access)
    }

    /// Cognito ID tokens: `token_use` must be `id`; the client id is in `aud`.
    pub const fn cognito_id() -> Self {
        Self::Cognito(TokenUse::Id)
    }

    /// RFC 9068 JWT access tokens: `typ: at+jwt` and the claims the RFC requires.
    pub const fn rfc9068() -> Self {
        Self::Rfc9068
    }

    /// A generic OAuth 2.0 / OIDC access token.
    pub const fn generic() -> Self {
        Self::Generic
    }

    /// Whether the header's `typ` is acceptable (RFC 7515 §4.1.9: compared case-insensitively,
    /// with `application/` optional).
    pub(crate) fn accepts_typ(self, typ: Option<&str>) -> bool {
        let is = |want| typ.is_some_and(|t| super::media_type_is(t, want));
        match self {
            Self::Rfc9068 => is("at+jwt"),
            Self::Cognito(TokenUse::Id) => typ.is_none() || is("jwt"),
            Self::Cognito(TokenUse::Access) | Self::Generic => {
                typ.is_none() || is("jwt") || is("at+jwt")
            }
        }
    }

    /// Claims that must be present.
    pub(crate) const fn required_claims(self) -> &'static [&'static str] {
        match self {
            Self::Cognito(TokenUse::Access) => &["iss", "exp", "iat", "token_use", "client_id"],
            Self::Cognito(TokenUse::Id) => &["iss", "exp", "iat", "token_use", "aud", "sub"],
            Self::Rfc9068 => &["iss", "exp", "aud", "sub", "client_id", "iat", "jti"],
            Self::Generic => &["iss", "exp"],
        }
    }

    pub(crate) const fn token_use(self) -> Option<TokenUse> {
        match self {
            Self::Cognito(use_) => Some(use_),
            _ => None,
        }
    }

    /// Whether the client id lives in `aud` (Cognito ID tokens) rather than `client_id`.
    pub(crate) const fn client_id_in_aud(self) -> bool {
        matches!(self, Self::Cognito(TokenUse::Id))
    }

    pub(crate) const fn reads_scp(self) -> bool {
        matches!(self, Self::Generic)
    }

    pub(crate) const fn reads_scope(self) -> bool {
        !matches!(self, Self::Cognito(TokenUse::Id))
    }

    pub(crate) const fn cognito_groups(self) -> bool {
        matches!(self, Self::Cognito(_))
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
}
