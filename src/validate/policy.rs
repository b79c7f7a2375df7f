//! The policy for one issuer: the checks after the signature (RFC 7519 §4.1, RFC 9068 §4).

use crate::claims::{NameSet, OneOrMany, RawClaims, Str, is_scope_token, parse_scope_string};
use crate::error::{AuthError, AuthErrorKind};
use crate::validate::{Header, Profile};

/// Every rule a token's header and claims must meet, besides its signature.
#[derive(Clone, Debug)]
pub(crate) struct Policy {
    pub(crate) profile: Profile,
    /// `None` when the issuer check was explicitly skipped.
    pub(crate) issuer: Option<Box<str>>,
    /// Any-of; empty means not checked.
    pub(crate) audiences: Box<[Box<str>]>,
    /// Any-of; empty means not checked.
    pub(crate) client_ids: Box<[Box<str>]>,
    pub(crate) leeway: u64,
}

fn any_of(values: &[Str<'_>], wanted: &[Box<str>]) -> bool {
    values.iter().any(|v| wanted.iter().any(|w| **w == *v.0))
}

impl Policy {
    pub(crate) fn check_header(&self, header: &Header) -> Result<(), AuthError> {
        if self.profile.accepts_typ(header.typ.as_deref()) {
            Ok(())
        } else {
            Err(AuthError::claim(AuthErrorKind::WrongTokenType, "typ"))
        }
    }

    /// Checks the claims at time `now`; returns `exp` and the scopes.
    pub(crate) fn check_claims(
        &self,
        raw: &RawClaims<'_>,
        now: u64,
    ) -> Result<(u64, NameSet), AuthError> {
        let profile = self.profile;
        // `token_use` first: an ID token presented as an access token is named as such,
        // rather than as one lacking `client_id`.
        if let Some(expected) = profile.token_use()
            && raw
                .token_use
                .as_ref()
                .is_some_and(|u| *u.0 != *expected.as_str())
        {
            return Err(AuthError::claim(AuthErrorKind::WrongTokenUse, "token_use"));
        }
        for claim in profile.required_claims() {
            let present = match *claim {
                "iss" => raw.iss.is_some(),
                "exp" => raw.exp.is_some(),
                "iat" => raw.iat.is_some(),
                "sub" => raw.sub.is_some(),
                "aud" => raw.aud.as_ref().is_some_and(|a| !a.as_slice().is_empty()),
                "jti" => raw.jti.is_some(),
                "client_id" => raw.client_id.is_some(),
                "token_use" => raw.token_use.is_some(),
                _ => true,
            };
            if !present {
                return Err(AuthError::claim(AuthErrorKind::MissingClaim, claim));
            }
        }
        if let Some(expected) = &self.issuer {
            // RFC 7519 §4.1.1 with OIDC Core §3.1.3.7: exact string comparison.
            if raw.iss.as_ref().is_none_or(|iss| *iss.0 != **expected) {
                return Err(AuthError::claim(AuthErrorKind::WrongIssuer, "iss"));
            }
        }
        let exp = raw
            .exp
            .ok_or(AuthError::claim(AuthErrorKind::MissingClaim, "exp"))?
            .0;
        let leeway = self.leeway;
        // RFC 7519 §4.1.4: the current time must be before `exp`.
        if now >= exp.saturating_add(leeway) {
            return Err(AuthError::claim(AuthErrorKind::Expired, "exp"));
        }
        if raw
            .nbf
            .is_some_and(|nbf| nbf.0 > now.saturating_add(leeway))
        {
            return Err(AuthError::claim(AuthErrorKind::NotYetValid, "nbf"));
        }
        if raw
            .iat
            .is_some_and(|iat| iat.0 > now.saturating_add(leeway))
        {
            return Err(AuthError::claim(AuthErrorKind::IssuedInFuture, "iat"));
        }
        if let Some(expected) = profile.token_use()
            && raw
                .token_use
                .as_ref()
                .is_none_or(|u| *u.0 != *expected.as_str())
        {
            return Err(AuthError::claim(AuthErrorKind::WrongTokenUse, "token_use"));
        }
        let aud = raw.aud.as_ref().map_or(&[][..], OneOrMany::as_slice);
        if !self.audiences.is_empty() && !any_of(aud, &self.audiences) {
            return Err(AuthError::claim(AuthErrorKind::WrongAudience, "aud"));
        }
        if !self.client_ids.is_empty() {
            let ok = if profile.client_id_in_aud() {
                any_of(aud, &self.client_ids)
            } else {
                raw.client_id
                    .as_ref()
                    .is_some_and(|c| any_of(std::slice::from_ref(c), &self.client_ids))
            };
            if !ok {
                return Err(AuthError::claim(AuthErrorKind::WrongClient, "client_id"));
            }
        }
        Ok((exp, self.scopes(raw)?))
    }

    fn scopes(&self, raw: &RawClaims<'_>) -> Result<NameSet, AuthError> {
        let malformed = |claim| AuthError::claim(AuthErrorKind::MalformedClaim, claim);
        if self.profile.reads_scope()
            && let Some(scope) = &raw.scope
        {
            return parse_scope_string(&scope.0).ok_or(malformed("scope"));
        }
        if self.profile.reads_scp() {
            match &raw.scp {
                // `scp` as one string is space separated, as `scope` is.
                Some(OneOrMany::One(s)) => {
                    return parse_scope_string(&s.0).ok_or(malformed("scp"));
                }
                // As an array, each element is one scope token: "a b" is not two scopes.
                Some(OneOrMany::Many(v)) => {
                    if !v.iter().all(|s| is_scope_token(&s.0)) {
                        return Err(malformed("scp"));
                    }
                    return Ok(NameSet::from_names(v.iter().map(|s| &*s.0)));
                }
                None => {}
            }
        }
        Ok(NameSet::default())
    }
}
