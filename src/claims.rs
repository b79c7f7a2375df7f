//! Claims: the registered ones read once from the payload, scopes and groups, and `Claims<T>`.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

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
    pub(crate) fn from_names<'a>(names: impl Iterator<Item = &'a str> + Clone) -> Self {
        // Sized once: no growth, and (unless a name repeats) no shrink when boxed.
        let mut out: Vec<Box<str>> = Vec::with_capacity(names.clone().count());
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

/// Where a claim is in a claims set: a top-level member, or a path into nested objects.
///
/// From a string ([`ClaimPath::parse`], or `From<&str>`): dots separate the members of a path
/// (`realm_access.roles`, `resource_access.api.roles`), except in a name that is a URL or a
/// URN (`https://example.com/roles`, `urn:example:roles`), which is always one top-level name,
/// dots and all, as issuers namespace custom claims that way. A name with dots that is neither
/// is written with [`ClaimPath::name`], and a path whose members hold dots (a Keycloak client
/// id such as `my.app`) with [`ClaimPath::segments`].
///
/// ```
/// use tokengate::ClaimPath;
///
/// assert_eq!(ClaimPath::parse("realm_access.roles").segments().count(), 2);
/// assert_eq!(ClaimPath::parse("https://example.com/roles").segments().count(), 1);
/// let client_roles = ClaimPath::from_segments(["resource_access", "my.app", "roles"]);
/// assert_eq!(client_roles.segments().nth(1), Some("my.app"));
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ClaimPath(Box<[Box<str>]>);

impl ClaimPath {
    /// A path from its written form: dotted, unless it is a URL or a URN (see the type's
    /// documentation).
    pub fn parse(path: &str) -> Self {
        let whole_name = path.contains("://") || path.starts_with("urn:");
        if whole_name {
            Self::name(path)
        } else {
            Self(path.split('.').map(Box::from).collect())
        }
    }

    /// One top-level member, whatever characters its name holds.
    pub fn name(name: &str) -> Self {
        Self(Box::new([Box::from(name)]))
    }

    /// A path given member by member: each segment is one member name, dots and all.
    pub fn from_segments<I, S>(segments: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let segments: Box<[Box<str>]> = segments
            .into_iter()
            .map(|s| Box::from(s.as_ref()))
            .collect();
        if segments.is_empty() {
            Self::name("")
        } else {
            Self(segments)
        }
    }

    /// The member names, outermost first.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|s| &**s)
    }

    /// The top-level member.
    pub(crate) fn head(&self) -> &str {
        &self.0[0]
    }

    /// The members below the top-level one.
    pub(crate) fn rest(&self) -> &[Box<str>] {
        &self.0[1..]
    }
}

impl From<&str> for ClaimPath {
    fn from(path: &str) -> Self {
        Self::parse(path)
    }
}

impl From<String> for ClaimPath {
    fn from(path: String) -> Self {
        Self::parse(&path)
    }
}

impl From<&String> for ClaimPath {
    fn from(path: &String) -> Self {
        Self::parse(path)
    }
}

impl fmt::Display for ClaimPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.segments().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            f.write_str(segment)?;
        }
        Ok(())
    }
}

impl fmt::Debug for ClaimPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.segments()).finish()
    }
}

/// Members the reader knows by name. The first [`FIXED`] are the registered claims every
/// profile reads, always parsed into their typed fields; the others are captured raw, and only
/// when the policy reads them (a bit of [`Plan::known`]).
pub(crate) const KNOWN: [&str; 29] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "auth_time",
    "jti",
    "token_use",
    "client_id",
    "azp",
    "cid",
    "scope",
    "scp",
    "permissions",
    "username",
    "cognito:username",
    "preferred_username",
    "groups",
    "cognito:groups",
    "roles",
    "realm_access",
    "resource_access",
    "nonce",
    "at_hash",
    "c_hash",
    "typ",
    "tid",
    // Read under every profile (RFC 9449's binding): known, so no token's read allocates for it.
    "cnf",
];

// Each known member has a bit in a `u32` (`Plan::known`, the reader's `seen`).
const _: () = assert!(KNOWN.len() <= 32);

/// How many of [`KNOWN`] are typed registered claims.
pub(crate) const FIXED: usize = 9;

fn known_index(name: &str) -> Option<usize> {
    Some(match name {
        "iss" => 0,
        "sub" => 1,
        "aud" => 2,
        "exp" => 3,
        "nbf" => 4,
        "iat" => 5,
        "auth_time" => 6,
        "jti" => 7,
        "token_use" => 8,
        "client_id" => 9,
        "azp" => 10,
        "cid" => 11,
        "scope" => 12,
        "scp" => 13,
        "permissions" => 14,
        "username" => 15,
        "cognito:username" => 16,
        "preferred_username" => 17,
        "groups" => 18,
        "cognito:groups" => 19,
        "roles" => 20,
        "realm_access" => 21,
        "resource_access" => 22,
        "nonce" => 23,
        "at_hash" => 24,
        "c_hash" => 25,
        "typ" => 26,
        "tid" => 27,
        "cnf" => 28,
        _ => return None,
    })
}

/// Where the reader left one top-level member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    /// One of [`KNOWN`].
    Known(u8),
    /// One of [`Plan::extra`].
    Extra(u16),
}

/// Which top-level members a policy reads besides the registered claims: decided once when
/// the authorizer is built, so reading a payload stays one borrowed pass. A member outside the
/// plan is skipped whatever its type, so a claim nobody reads never refuses a token.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Bit `i`: `KNOWN[i]` is captured raw (for a registered claim: as well as typed).
    known: u32,
    /// Members outside [`KNOWN`], captured raw.
    extra: Vec<Box<str>>,
}

impl Plan {
    /// Registers `name` as read; returns where its value will be.
    pub(crate) fn slot(&mut self, name: &str) -> Slot {
        if let Some(i) = known_index(name) {
            self.known |= 1 << i;
            #[allow(clippy::cast_possible_truncation)] // i < KNOWN.len()
            return Slot::Known(i as u8);
        }
        let index = match self.extra.iter().position(|n| &**n == name) {
            Some(index) => index,
            None => {
                self.extra.push(name.into());
                self.extra.len() - 1
            }
        };
        Slot::Extra(u16::try_from(index).unwrap_or(u16::MAX))
    }

    fn extra_index(&self, name: &str) -> Option<usize> {
        self.extra.iter().position(|n| &**n == name)
    }
}

/// The registered claims, typed, and the raw values of the members the plan reads, all
/// borrowing from the decoded payload: one pass over it.
///
/// Duplicate members are refused for every member read, so a payload cannot say two things
/// about one claim; duplicates of members nobody reads are skipped with them.
#[derive(Debug)]
pub(crate) struct RawClaims<'a> {
    pub(crate) iss: Option<Str<'a>>,
    pub(crate) sub: Option<Str<'a>>,
    pub(crate) aud: Option<OneOrMany<'a>>,
    pub(crate) exp: Option<NumericDate>,
    pub(crate) nbf: Option<NumericDate>,
    pub(crate) iat: Option<NumericDate>,
    pub(crate) auth_time: Option<NumericDate>,
    pub(crate) jti: Option<Str<'a>>,
    pub(crate) token_use: Option<Str<'a>>,
    known: [Option<&'a RawValue>; KNOWN.len()],
    extra: Vec<Option<&'a RawValue>>,
}

impl<'a> RawClaims<'a> {
    /// Reads `payload` (a JSON object) under `plan`.
    pub(crate) fn parse(payload: &'a str, plan: &Plan) -> Result<Self, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_str(payload);
        let raw = de::Deserializer::deserialize_map(&mut de, ClaimsVisitor { plan })?;
        de.end()?;
        Ok(raw)
    }

    /// The raw value of a member the plan reads; `None` when absent or `null`.
    pub(crate) fn get(&self, slot: Slot) -> Option<&'a RawValue> {
        let raw = match slot {
            Slot::Known(i) => self.known[usize::from(i)],
            Slot::Extra(i) => self.extra.get(usize::from(i)).copied().flatten(),
        };
        raw.filter(|r| r.get() != "null")
    }

    fn set_fixed<E: de::Error>(
        &mut self,
        index: usize,
        de: impl Deserializer<'a, Error = E>,
    ) -> Result<(), E> {
        match index {
            0 => self.iss = Option::deserialize(de)?,
            1 => self.sub = Option::deserialize(de)?,
            2 => self.aud = Option::deserialize(de)?,
            3 => self.exp = Option::deserialize(de)?,
            4 => self.nbf = Option::deserialize(de)?,
            5 => self.iat = Option::deserialize(de)?,
            6 => self.auth_time = Option::deserialize(de)?,
            7 => self.jti = Option::deserialize(de)?,
            _ => self.token_use = Option::deserialize(de)?,
        }
        Ok(())
    }
}

struct ClaimsVisitor<'p> {
    plan: &'p Plan,
}

/// One member's value, handed to [`RawClaims::set_fixed`] from inside a map.
struct FixedSeed<'r, 'a> {
    raw: &'r mut RawClaims<'a>,
    index: usize,
}

impl<'de> de::DeserializeSeed<'de> for FixedSeed<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.raw.set_fixed(self.index, d)
    }
}

impl<'de> Visitor<'de> for ClaimsVisitor<'_> {
    type Value = RawClaims<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of claims")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let plan = self.plan;
        let mut out = RawClaims {
            iss: None,
            sub: None,
            aud: None,
            exp: None,
            nbf: None,
            iat: None,
            auth_time: None,
            jti: None,
            token_use: None,
            known: [None; KNOWN.len()],
            extra: vec![None; plan.extra.len()],
        };
        let mut seen: u32 = 0;
        while let Some(key) = map.next_key::<Str<'de>>()? {
            let key = &*key.0;
            if let Some(i) = known_index(key) {
                let bit = 1u32 << i;
                let captured = plan.known & bit != 0;
                if i < FIXED || captured {
                    if seen & bit != 0 {
                        return Err(de::Error::custom(format_args!("duplicate member `{key}`")));
                    }
                    seen |= bit;
                }
                if captured {
                    let value: &'de RawValue = map.next_value()?;
                    out.known[i] = Some(value);
                    if i < FIXED {
                        let mut de = serde_json::Deserializer::from_str(value.get());
                        out.set_fixed(i, &mut de).map_err(de::Error::custom)?;
                    }
                } else if i < FIXED {
                    map.next_value_seed(FixedSeed {
                        raw: &mut out,
                        index: i,
                    })?;
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            } else if let Some(j) = plan.extra_index(key) {
                if out.extra[j].is_some() {
                    return Err(de::Error::custom(format_args!("duplicate member `{key}`")));
                }
                out.extra[j] = Some(map.next_value()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(out)
    }
}

/// The value at `rest` below a member: `None` when a member on the way is absent or `null`.
///
/// # Errors
///
/// When a value on the way is not an object, or holds the member looked for twice.
pub(crate) fn navigate<'a>(
    mut value: &'a RawValue,
    rest: &[Box<str>],
) -> Result<Option<&'a RawValue>, ()> {
    for name in rest {
        let mut de = serde_json::Deserializer::from_str(value.get());
        let found =
            de::Deserializer::deserialize_any(&mut de, MemberVisitor { name }).map_err(|_| ())?;
        match found.filter(|v| v.get() != "null") {
            Some(next) => value = next,
            None => return Ok(None),
        }
    }
    Ok(Some(value))
}

/// Finds one member of an object, refusing it twice.
struct MemberVisitor<'n> {
    name: &'n str,
}

impl<'de> Visitor<'de> for MemberVisitor<'_> {
    type Value = Option<&'de RawValue>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<Str<'de>>()? {
            if *key.0 == *self.name {
                if found.is_some() {
                    return Err(de::Error::custom("duplicate member"));
                }
                found = Some(map.next_value::<&'de RawValue>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// Names from a raw value: an array of strings (each one name), or a space-separated string.
/// `None` when the value has another shape.
pub(crate) fn names_of<'a>(value: &'a RawValue) -> Option<OneOrMany<'a>> {
    serde_json::from_str::<OneOrMany<'a>>(value.get()).ok()
}

/// A string from a raw value; `None` when it is not a string.
pub(crate) fn str_of<'a>(value: &'a RawValue) -> Option<Str<'a>> {
    serde_json::from_str::<Str<'a>>(value.get()).ok()
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
    pub(crate) azp: Option<Box<str>>,
    pub(crate) username: Option<Box<str>>,
    pub(crate) token_use: Option<TokenUse>,
    pub(crate) scopes: NameSet,
    pub(crate) groups: NameSet,
    /// `cnf.jkt`: the thumbprint of the DPoP key the token is bound to (RFC 9449 §6.1).
    pub(crate) dpop_jkt: Option<Box<str>>,
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
            + opt(&self.azp)
            + opt(&self.username)
            + names(&self.scopes)
            + names(&self.groups)
            + opt(&self.dpop_jkt)
    }
}

impl<T> Claims<T> {
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

    /// The OAuth client the token was issued to, from the claim the profile reads for it:
    /// `client_id` (Cognito, RFC 9068, generic), `azp` (Keycloak, Entra ID; Auth0, which
    /// also reads `client_id`), `cid` (Okta).
    pub fn client_id(&self) -> Option<&str> {
        self.reg().client_id.as_deref()
    }

    /// `azp`: the authorized party, when the profile or the authorizer reads it.
    pub fn authorized_party(&self) -> Option<&str> {
        self.reg().azp.as_deref()
    }

    /// The user's name, from the claim the profile reads for it: `username` or
    /// `cognito:username` (Cognito), `username` or `preferred_username` (RFC 9068, generic),
    /// `preferred_username` (Keycloak, Entra ID).
    pub fn username(&self) -> Option<&str> {
        self.reg().username.as_deref()
    }

    /// Cognito's `token_use`.
    pub fn token_use(&self) -> Option<TokenUse> {
        self.reg().token_use
    }

    /// The scopes granted, from the first of the profile's scope claims the token carries
    /// (`scope`, `scp` or `permissions`; see [`Profile`](crate::Profile)).
    pub fn scopes(&self) -> &NameSet {
        &self.reg().scopes
    }

    /// The groups or roles, from every claim path the profile reads them from (`cognito:groups`
    /// for Cognito, `groups` for the generic profile, `realm_access.roles` for Keycloak…).
    pub fn groups(&self) -> &NameSet {
        &self.reg().groups
    }

    /// `cnf.jkt`: the RFC 7638 thumbprint of the DPoP key the token is bound to (RFC 9449
    /// §6.1). When present, the layer accepted the token only with a proof signed by that key.
    pub fn dpop_jkt(&self) -> Option<&str> {
        self.reg().dpop_jkt.as_deref()
    }

    /// Your own claims.
    pub fn custom(&self) -> &T {
        &self.custom
    }
}

impl Claims<()> {
    /// Claims with no custom part, sharing already validated registered claims.
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
    fn every_known_member_is_found_at_its_own_index() {
        for (i, name) in KNOWN.iter().enumerate() {
            assert_eq!(known_index(name), Some(i), "{name}");
        }
        assert_eq!(known_index("unknown"), None);
    }

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

    fn plan(names: &[&str]) -> (Plan, Vec<Slot>) {
        let mut plan = Plan::default();
        let slots = names.iter().map(|n| plan.slot(n)).collect();
        (plan, slots)
    }

    #[test]
    fn raw_claims_refuse_duplicate_members_that_are_read() {
        let (none, _) = plan(&[]);
        assert!(RawClaims::parse(r#"{"iss":"a","iss":"b","exp":1}"#, &none).is_err());
        // Not read: skipped, duplicates and all.
        assert!(RawClaims::parse(r#"{"scope":"a","scope":1,"x":1,"x":2}"#, &none).is_ok());
        let (read, _) = plan(&["scope", "https://example.com/roles"]);
        assert!(RawClaims::parse(r#"{"scope":"a","scope":"b"}"#, &read).is_err());
        let dup = r#"{"https://example.com/roles":[],"https://example.com/roles":["x"]}"#;
        assert!(RawClaims::parse(dup, &read).is_err());
    }

    #[test]
    fn raw_claims_skip_members_nobody_reads_whatever_their_type() {
        let (plan, slots) = plan(&["cognito:groups"]);
        let raw = RawClaims::parse(
            r#"{"groups":"admins","scp":5,"cognito:groups":["a"]}"#,
            &plan,
        )
        .expect("unread members never refuse");
        assert_eq!(raw.get(slots[0]).map(RawValue::get), Some(r#"["a"]"#));
    }

    #[test]
    fn raw_claims_read_registered_claims_also_when_captured_raw() {
        let (plan, slots) = plan(&["sub"]);
        let raw = RawClaims::parse(r#"{"sub":"alice","exp":5}"#, &plan).expect("ok");
        assert_eq!(raw.get(slots[0]).map(RawValue::get), Some(r#""alice""#));
        assert_eq!(raw.sub.expect("sub").0, "alice");
        assert!(RawClaims::parse(r#"{"sub":5}"#, &plan).is_err());
    }

    #[test]
    fn raw_claims_refuse_arrays_and_trailing_bytes() {
        let (plan, _) = plan(&[]);
        assert!(RawClaims::parse(r#"["iss"]"#, &plan).is_err());
        assert!(RawClaims::parse(r#"{"iss":"a"} x"#, &plan).is_err());
    }

    #[test]
    fn escaped_strings_are_read_correctly() {
        let (plan, _) = plan(&[]);
        let raw = RawClaims::parse(r#"{"iss":"https:\/\/issuer","a\u0075d":["a","b"]}"#, &plan)
            .expect("ok");
        assert_eq!(raw.iss.expect("iss").0, "https://issuer");
        assert_eq!(raw.aud.expect("aud").as_slice().len(), 2);
    }

    #[test]
    fn paths_navigate_nested_objects() {
        let (plan, slots) = plan(&["resource_access"]);
        let payload = r#"{"resource_access":{"api":{"roles":["r"]},"web":null}}"#;
        let raw = RawClaims::parse(payload, &plan).expect("ok");
        let top = raw.get(slots[0]).expect("present");
        let rest = |p: &str| ClaimPath::parse(p).rest().to_vec();
        let roles = navigate(top, &rest("resource_access.api.roles")).expect("ok");
        assert_eq!(roles.map(RawValue::get), Some(r#"["r"]"#));
        assert!(matches!(
            navigate(top, &rest("resource_access.web.roles")),
            Ok(None)
        ));
        assert!(matches!(
            navigate(top, &rest("resource_access.other.roles")),
            Ok(None)
        ));
        assert!(navigate(top, &rest("resource_access.api.roles.x")).is_err());
        let dup =
            serde_json::from_str::<&RawValue>(r#"{"roles":[],"roles":["admin"]}"#).expect("raw");
        assert!(navigate(dup, &rest("x.roles")).is_err());
    }

    #[test]
    fn claim_paths_keep_urls_whole() {
        let segments = |p: &str| {
            ClaimPath::parse(p)
                .segments()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        assert_eq!(segments("realm_access.roles"), ["realm_access", "roles"]);
        assert_eq!(
            segments("https://example.com/roles"),
            ["https://example.com/roles"]
        );
        assert_eq!(segments("urn:example:a.b"), ["urn:example:a.b"]);
        assert_eq!(segments("groups"), ["groups"]);
        assert_eq!(ClaimPath::parse("a.b").to_string(), "a.b");
    }
}
