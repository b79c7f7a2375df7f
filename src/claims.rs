//! Claims: the registered ones read once from the payload, scopes and groups, and `Claims<T>`.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};

/// What a Cognito token is for: the `token_use` claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenUse {
    /// An access token (`"access"`), presented to resource servers.
    Access,
    /// An ID token (`"id"`), meant for the client, not for APIs.
    Id,
}

impl TokenUse {
    /// The claim value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Id => "id",
        }
    }
}

/// A set of names from a claim: scopes or groups. Order of first appearance, no duplicates.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct NameSet(Box<[Box<str>]>);

impl NameSet {
    pub(crate) fn from_names<'a>(names: impl Iterator<Item = &'a str>) -> Self {
        let mut out: Vec<Box<str>> = Vec::new();
        for name in names {
            if !out.iter().any(|n| &**n == name) {
                out.push(name.into());
            }
        }
        Self(out.into_boxed_slice())
    }

    /// Whether `name` is in the set (exact, case-sensitive).
    pub fn contains(&self, name: &str) -> bool {
        self.0.iter().any(|n| &**n == name)
    }

    /// Whether every one of `names` is in the set.
    pub fn contains_all<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> bool {
        names.into_iter().all(|n| self.contains(n))
    }

    /// Whether at least one of `names` is in the set.
    pub fn contains_any<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> bool {
        names.into_iter().any(|n| self.contains(n))
    }

    /// The names.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|n| &**n)
    }

    /// How many names.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for NameSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl fmt::Display for NameSet {
    /// Space separated, as in a `scope` claim.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, name) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(name)?;
        }
        Ok(())
    }
}

/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
pub(crate) fn is_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// Parses a space-delimited scope string; `None` when a scope token is invalid.
pub(crate) fn parse_scope_string(scope: &str) -> Option<NameSet> {
    let tokens = scope.split(' ').filter(|s| !s.is_empty());
    if tokens.clone().all(is_scope_token) {
        Some(NameSet::from_names(tokens))
    } else {
        None
    }
}

/// A string that borrows from the payload when it has no escapes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Str<'a>(pub(crate) Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Str<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V(std::marker::PhantomData))
    }
}

/// A string or an array of strings (`aud`, `scp`).
#[derive(Debug)]
pub(crate) enum OneOrMany<'a> {
    One(Str<'a>),
    Many(Vec<Str<'a>>),
}

impl<'a> OneOrMany<'a> {
    pub(crate) fn as_slice(&self) -> &[Str<'a>] {
        match self {
            Self::One(s) => std::slice::from_ref(s),
            Self::Many(v) => v,
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for OneOrMany<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = OneOrMany<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(OneOrMany::One(Str(Cow::Borrowed(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(OneOrMany::One(Str(Cow::Owned(v.to_owned()))))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(1).min(16));
                while let Some(s) = seq.next_element::<Str<'a>>()? {
                    out.push(s);
                }
                Ok(OneOrMany::Many(out))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// The latest NumericDate accepted: 9999-12-31T23:59:59Z. Later values are malformed.
const MAX_NUMERIC_DATE: f64 = 253_402_300_799.0;

/// RFC 7519 §2 NumericDate: seconds since the epoch, possibly fractional; here also
/// non-negative and no later than the year 9999. Fractions are truncated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NumericDate(pub(crate) u64);

impl<'de> Deserialize<'de> for NumericDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = NumericDate;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a NumericDate")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                if v as f64 > MAX_NUMERIC_DATE {
                    return Err(E::custom("date out of range"));
                }
                Ok(NumericDate(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                u64::try_from(v)
                    .map_err(|_| E::custom("negative date"))
                    .and_then(|v| self.visit_u64(v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                if !v.is_finite() || !(0.0..=MAX_NUMERIC_DATE).contains(&v) {
                    return Err(E::custom("date out of range"));
                }
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                Ok(NumericDate(v as u64))
            }
        }
        d.deserialize_any(V)
    }
}

/// The registered and well-known claims, read once, borrowing from the decoded payload.
///
/// Duplicate members are refused by the derive (`duplicate field`), so a payload cannot say
/// two things about one claim.
#[derive(Debug, Deserialize)]
pub(crate) struct RawClaims<'a> {
    #[serde(borrow)]
    pub(crate) iss: Option<Str<'a>>,
    #[serde(borrow)]
    pub(crate) sub: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub(crate) aud: Option<OneOrMany<'a>>,
    pub(crate) exp: Option<NumericDate>,
    pub(crate) nbf: Option<NumericDate>,
    pub(crate) iat: Option<NumericDate>,
    pub(crate) auth_time: Option<NumericDate>,
    #[serde(borrow)]
    pub(crate) jti: Option<Str<'a>>,
    #[serde(borrow)]
    pub(crate) client_id: Option<Str<'a>>,
    #[serde(borrow)]
    pub(crate) scope: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub(crate) scp: Option<OneOrMany<'a>>,
    #[serde(borrow)]
    pub(crate) token_use: Option<Str<'a>>,
    #[serde(borrow)]
    pub(crate) username: Option<Str<'a>>,
    #[serde(borrow, rename = "cognito:username")]
    pub(crate) cognito_username: Option<Str<'a>>,
    #[serde(borrow, default, rename = "cognito:groups")]
    pub(crate) cognito_groups: Option<Vec<Str<'a>>>,
    #[serde(borrow, default)]
    pub(crate) groups: Option<Vec<Str<'a>>>,
}

/// The validated claims of a token: registered claims, scopes, groups, and your own `T`.
///
/// Cheap to clone (the claims are shared). `Claims<T>` dereferences to `T`, so your own
/// claims read as fields: `claims.tenant`.
///
/// ```
/// # use tokengate::Claims;
/// #[derive(serde::Deserialize)]
/// struct Tenant { tenant: String }
///
/// fn handler(claims: Claims<Tenant>) -> String {
///     format!("{} of {}", claims.subject().unwrap_or("?"), claims.tenant)
/// }
/// ```
pub struct Claims<T = ()> {
    registered: Arc<Registered>,
    custom: Arc<T>,
}

#[derive(Debug)]
pub(crate) struct Registered {
    pub(crate) iss: Box<str>,
    pub(crate) sub: Option<Box<str>>,
    pub(crate) aud: Box<[Box<str>]>,
    pub(crate) exp: u64,
    pub(crate) nbf: Option<u64>,
    pub(crate) iat: Option<u64>,
    pub(crate) auth_time: Option<u64>,
    pub(crate) jti: Option<Box<str>>,
    pub(crate) client_id: Option<Box<str>>,
    pub(crate) username: Option<Box<str>>,
    pub(crate) token_use: Option<TokenUse>,
    pub(crate) scopes: NameSet,
    pub(crate) groups: NameSet,
}

fn boxed(s: Option<&Str<'_>>) -> Option<Box<str>> {
    s.map(|s| s.0.as_ref().into())
}

impl Registered {
    /// Bytes held on the heap by the claim strings: what the token cache weighs.
    pub(crate) fn heap_size(&self) -> usize {
        let opt = |s: &Option<Box<str>>| s.as_ref().map_or(0, |s| s.len());
        let names = |n: &NameSet| n.iter().map(|s| s.len() + 16).sum::<usize>();
        self.iss.len()
            + opt(&self.sub)
            + self.aud.iter().map(|a| a.len() + 16).sum::<usize>()
            + opt(&self.jti)
            + opt(&self.client_id)
            + opt(&self.username)
            + names(&self.scopes)
            + names(&self.groups)
    }

    /// Builds the owned claims from validated raw claims; `scopes` were parsed by the policy.
    pub(crate) fn from_raw(
        raw: &RawClaims<'_>,
        exp: u64,
        scopes: NameSet,
        groups_from_cognito: bool,
    ) -> Self {
        let groups = if groups_from_cognito {
            raw.cognito_groups.as_ref()
        } else {
            raw.groups.as_ref()
        };
        Self {
            iss: raw
                .iss
                .as_ref()
                .map_or_else(Box::default, |s| s.0.as_ref().into()),
            sub: boxed(raw.sub.as_ref()),
            aud: raw
                .aud
                .as_ref()
                .map(|a| a.as_slice().iter().map(|s| s.0.as_ref().into()).collect())
                .unwrap_or_default(),
            exp,
            nbf: raw.nbf.map(|d| d.0),
            iat: raw.iat.map(|d| d.0),
            auth_time: raw.auth_time.map(|d| d.0),
            jti: boxed(raw.jti.as_ref()),
            client_id: boxed(raw.client_id.as_ref()),
            username: boxed(raw.username.as_ref().or(raw.cognito_username.as_ref())),
            token_use: match raw.token_use.as_ref().map(|s| s.0.as_ref()) {
                Some("access") => Some(TokenUse::Access),
                Some("id") => Some(TokenUse::Id),
                _ => None,
            },
            scopes,
            groups: groups
                .map(|g| NameSet::from_names(g.iter().map(|s| s.0.as_ref())))
                .unwrap_or_default(),
        }
    }
}

impl<T> Claims<T> {
    pub(crate) fn new(registered: Registered, custom: T) -> Self {
        Self {
            registered: Arc::new(registered),
            custom: Arc::new(custom),
        }
    }

    /// Claims from already validated parts (a token-cache hit).
    pub(crate) fn from_parts(registered: Arc<Registered>, custom: Arc<T>) -> Self {
        Self { registered, custom }
    }

    /// Your own claims, shared.
    pub(crate) fn custom_arc(&self) -> &Arc<T> {
        &self.custom
    }

    /// The registered claims, shared: what per-route requirements read whatever `T` is.
    pub(crate) fn registered(&self) -> &Arc<Registered> {
        &self.registered
    }

    fn reg(&self) -> &Registered {
        &self.registered
    }

    /// `iss`: the issuer.
    pub fn issuer(&self) -> &str {
        &self.reg().iss
    }

    /// `sub`: the subject (absent on Cognito client-credentials tokens).
    pub fn subject(&self) -> Option<&str> {
        self.reg().sub.as_deref()
    }

    /// `aud`: the audiences (empty for Cognito access tokens, which have none).
    pub fn audience(&self) -> impl Iterator<Item = &str> {
        self.reg().aud.iter().map(|a| &**a)
    }

    /// `exp`: expiry, in seconds since the epoch.
    pub fn expires_at(&self) -> u64 {
        self.reg().exp
    }

    /// `nbf`: not before, in seconds since the epoch.
    pub fn not_before(&self) -> Option<u64> {
        self.reg().nbf
    }

    /// `iat`: issued at, in seconds since the epoch.
    pub fn issued_at(&self) -> Option<u64> {
        self.reg().iat
    }

    /// `auth_time`: when the user signed in, in seconds since the epoch.
    pub fn auth_time(&self) -> Option<u64> {
        self.reg().auth_time
    }

    /// `jti`: the token's unique id.
    pub fn jwt_id(&self) -> Option<&str> {
        self.reg().jti.as_deref()
    }

    /// `client_id`: the OAuth client the token was issued to.
    pub fn client_id(&self) -> Option<&str> {
        self.reg().client_id.as_deref()
    }

    /// `username`, or Cognito's `cognito:username` in ID tokens.
    pub fn username(&self) -> Option<&str> {
        self.reg().username.as_deref()
    }

    /// Cognito's `token_use`.
    pub fn token_use(&self) -> Option<TokenUse> {
        self.reg().token_use
    }

    /// The scopes granted: `scope` (space separated), or `scp` where the profile reads it.
    pub fn scopes(&self) -> &NameSet {
        &self.reg().scopes
    }

    /// The groups: `cognito:groups` for the Cognito profile, `groups` otherwise.
    pub fn groups(&self) -> &NameSet {
        &self.reg().groups
    }

    /// Your own claims.
    pub fn custom(&self) -> &T {
        &self.custom
    }
}

impl Claims<()> {
    /// Claims with no custom part, sharing already validated registered claims.
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    pub(crate) fn from_registered(registered: Arc<Registered>) -> Self {
        Self {
            registered,
            custom: Arc::new(()),
        }
    }
}

impl<T> Clone for Claims<T> {
    fn clone(&self) -> Self {
        Self {
            registered: Arc::clone(&self.registered),
            custom: Arc::clone(&self.custom),
        }
    }
}

impl<T> Deref for Claims<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.custom
    }
}

impl<T: fmt::Debug> fmt::Debug for Claims<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Claims")
            .field("registered", &self.registered)
            .field("custom", &self.custom)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_string_splits_on_spaces_and_drops_duplicates() {
        let scopes = parse_scope_string("api/read  api/write api/read").expect("valid");
        assert_eq!(scopes.iter().collect::<Vec<_>>(), ["api/read", "api/write"]);
        assert_eq!(scopes.to_string(), "api/read api/write");
    }

    #[test]
    fn scope_tokens_outside_rfc6749_are_refused() {
        assert!(parse_scope_string("api/read \"quoted\"").is_none());
        assert!(parse_scope_string("api/reаd").is_none(), "cyrillic a");
        assert!(parse_scope_string("back\\slash").is_none());
        assert!(parse_scope_string("tab\there").is_none());
    }

    #[test]
    fn numeric_dates_accept_fractions_and_refuse_negative_or_huge() {
        let d: NumericDate = serde_json::from_str("1700000000.9").expect("fraction");
        assert_eq!(d.0, 1_700_000_000);
        assert!(serde_json::from_str::<NumericDate>("-1").is_err());
        assert!(serde_json::from_str::<NumericDate>("1e300").is_err());
        assert!(serde_json::from_str::<NumericDate>("\"1700000000\"").is_err());
        assert!(serde_json::from_str::<NumericDate>("253402300800").is_err());
    }

    #[test]
    fn raw_claims_refuse_duplicate_members() {
        let dup = br#"{"iss":"a","iss":"b","exp":1}"#;
        assert!(serde_json::from_slice::<RawClaims<'_>>(dup).is_err());
    }

    #[test]
    fn escaped_strings_are_read_correctly() {
        let raw: RawClaims<'_> =
            serde_json::from_slice(br#"{"iss":"https:\/\/issuer","aud":["a","b"]}"#).expect("ok");
        assert_eq!(raw.iss.expect("iss").0, "https://issuer");
        assert_eq!(raw.aud.expect("aud").as_slice().len(), 2);
    }
}
