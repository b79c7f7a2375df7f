//! The policy for one issuer: the checks after the signature (RFC 7519 §4.1, RFC 9068 §4), on
//! the claims the profile reads and the values the service requires.

use std::any::TypeId;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use serde::de::{DeserializeOwned, IgnoredAny, IntoDeserializer};
use serde_json::value::RawValue;

use crate::claims::{
    ClaimPath, Claims, NameSet, OneOrMany, Plan, RawClaims, Registered, Slot, Str, TokenUse,
    is_scope_token, names_of, navigate, parse_scope_string, str_of,
};
use crate::error::{AuthError, AuthErrorKind};
use crate::validate::profile::Kind;
use crate::validate::{Header, Profile, ScopeClaim};

/// The placeholder for the tenant in an issuer that names several tenants (Entra ID's
/// multi-tenant metadata writes its issuer this way).
pub(crate) const TENANT_PLACEHOLDER: &str = "{tenantid}";

/// A claim the service requires, with the values it accepts (any of them).
#[derive(Clone, Debug)]
pub(crate) struct RequiredClaim {
    pub(crate) path: ClaimPath,
    pub(crate) values: Box<[Box<str>]>,
}

type CheckFn = dyn Fn(&Arc<Registered>, &str) -> Result<(), AuthError> + Send + Sync;

/// A custom check over the claims, with its own claims type read from the payload.
#[derive(Clone)]
pub(crate) struct Check(Arc<CheckFn>);

impl Check {
    /// Wraps `check` over `Claims<T>`: `T` is read from the payload only when it is not `()`.
    pub(crate) fn new<T, F>(check: F) -> Self
    where
        T: DeserializeOwned + Send + Sync + 'static,
        F: Fn(&Claims<T>) -> bool + Send + Sync + 'static,
    {
        Self(Arc::new(move |registered, payload| {
            let custom: T = if TypeId::of::<T>() == TypeId::of::<()>() {
                T::deserialize(().into_deserializer())
                    .map_err(|_: serde::de::value::Error| AuthErrorKind::MalformedClaim)?
            } else {
                serde_json::from_str(payload)
                    .map_err(|_| AuthError::claim(AuthErrorKind::MalformedClaim, "custom claims"))?
            };
            let claims = Claims::from_parts(Arc::clone(registered), Arc::new(custom));
            if check(&claims) {
                Ok(())
            } else {
                Err(AuthError::new(AuthErrorKind::CheckFailed))
            }
        }))
    }
}

impl fmt::Debug for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Check(..)")
    }
}

/// What a policy is made of; [`Policy::new`] works out what to read.
#[derive(Clone, Debug)]
pub(crate) struct PolicyParts {
    pub(crate) profile: Profile,
    /// `None` when the issuer check was explicitly skipped.
    pub(crate) issuer: Option<Box<str>>,
    /// Several tenants: `issuer` holds [`TENANT_PLACEHOLDER`], `iss` must be it filled with the
    /// token's `tid`, which must be one of these.
    pub(crate) tenants: Vec<Box<str>>,
    /// Any-of; empty means not checked.
    pub(crate) audiences: Vec<Box<str>>,
    /// Any-of, read from the profile's client claim; empty means not checked.
    pub(crate) client_ids: Vec<Box<str>>,
    /// `azp` any-of; empty means not checked.
    pub(crate) authorized_parties: Vec<Box<str>>,
    pub(crate) required: Vec<RequiredClaim>,
    pub(crate) checks: Vec<Check>,
    pub(crate) leeway: u64,
}

impl PolicyParts {
    /// A policy of `profile` for `issuer`, checking nothing else yet.
    pub(crate) fn new(profile: Profile, issuer: Option<Box<str>>, leeway: u64) -> Self {
        Self {
            profile,
            issuer,
            tenants: Vec::new(),
            audiences: Vec::new(),
            client_ids: Vec::new(),
            authorized_parties: Vec::new(),
            required: Vec::new(),
            checks: Vec::new(),
            leeway,
        }
    }
}

/// Where each claim the policy reads is found, worked out once.
#[derive(Clone, Debug)]
struct Reads {
    plan: Plan,
    scopes: Box<[(ScopeClaim, Slot)]>,
    groups: Box<[(Slot, ClaimPath, &'static str)]>,
    client: Box<[Slot]>,
    username: Box<[Slot]>,
    azp: Option<Slot>,
    tid: Option<Slot>,
    typ: Option<Slot>,
    markers: Box<[(&'static str, Slot)]>,
    present: Box<[(&'static str, Slot)]>,
    required: Box<[(Slot, &'static str)]>,
    /// `cnf`, read whatever the profile: a DPoP-bound token must never pass as a bearer one.
    cnf: Slot,
}

/// Every rule a token's header and claims must meet, besides its signature.
#[derive(Clone, Debug)]
pub(crate) struct Policy {
    pub(crate) profile: Profile,
    pub(crate) issuer: Option<Box<str>>,
    tenants: Box<[Box<str>]>,
    /// The issuer split around [`TENANT_PLACEHOLDER`], when tenants are configured.
    tenant_issuer: Option<(Box<str>, Box<str>)>,
    pub(crate) audiences: Box<[Box<str>]>,
    pub(crate) client_ids: Box<[Box<str>]>,
    pub(crate) authorized_parties: Box<[Box<str>]>,
    required: Box<[RequiredClaim]>,
    checks: Box<[Check]>,
    pub(crate) leeway: u64,
    reads: Reads,
}

fn any_of(values: &[Str<'_>], wanted: &[Box<str>]) -> bool {
    values.iter().any(|v| wanted.iter().any(|w| **w == *v.0))
}

/// A `&'static` copy of a configured claim name, for error reports: each distinct name is
/// kept once for the life of the process.
pub(crate) fn intern(name: &str) -> &'static str {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(known) = names.get(name) {
        return known;
    }
    let leaked: &'static str = Box::leak(Box::from(name));
    names.insert(leaked);
    leaked
}

/// Everything the profile reads, typed: a claim of the wrong shape is refused here, before
/// any other rule, as when the claims are first parsed.
struct Read<'a> {
    client_id: Option<Str<'a>>,
    azp: Option<Str<'a>>,
    username: Option<Str<'a>>,
    tid: Option<Str<'a>>,
    typ: Option<Str<'a>>,
    id_marker: Option<&'static str>,
    dpop_jkt: Option<Str<'a>>,
    scopes: NameSet,
    groups: NameSet,
    /// The first required claim that is missing or holds no accepted value.
    required: Option<AuthError>,
}

fn malformed(claim: &'static str) -> AuthError {
    AuthError::claim(AuthErrorKind::MalformedClaim, claim)
}

/// A string claim, or `MalformedClaim`.
fn read_str<'a>(
    value: Option<&'a RawValue>,
    claim: &'static str,
) -> Result<Option<Str<'a>>, AuthError> {
    value
        .map(|v| str_of(v).ok_or_else(|| malformed(claim)))
        .transpose()
}

/// The scopes of one scope claim: `scope` is a space-separated string; `scp` and
/// `permissions` are that or an array whose elements are one scope each.
fn scope_set(claim: ScopeClaim, value: &RawValue) -> Result<NameSet, AuthError> {
    let bad = || malformed(claim.name());
    match names_of(value).ok_or_else(bad)? {
        OneOrMany::One(s) => parse_scope_string(&s.0).ok_or_else(bad),
        OneOrMany::Many(_) if claim == ScopeClaim::Scope => Err(bad()),
        // As an array, each element is one scope token: "a b" is not two scopes.
        OneOrMany::Many(v) => {
            if v.iter().all(|s| is_scope_token(&s.0)) {
                Ok(NameSet::from_names(v.iter().map(|s| &*s.0)))
            } else {
                Err(bad())
            }
        }
    }
}

/// Whether a required claim's value is one of `accepted`: a string equal to one, an array of
/// strings holding one, or a number or boolean written as one.
fn required_holds(value: &RawValue, accepted: &[Box<str>]) -> Result<bool, ()> {
    let text = value.get();
    match text.as_bytes().first() {
        Some(b'"' | b'[') => match names_of(value).ok_or(())? {
            OneOrMany::One(s) => Ok(accepted.iter().any(|a| **a == *s.0)),
            OneOrMany::Many(v) => Ok(v.iter().any(|s| accepted.iter().any(|a| **a == *s.0))),
        },
        Some(b'{') | None => Err(()),
        Some(_) => Ok(accepted.iter().any(|a| **a == *text)),
    }
}

impl Policy {
    pub(crate) fn new(parts: PolicyParts) -> Self {
        let profile = parts.profile;
        let mut plan = Plan::default();
        let scopes = profile
            .scope_sources()
            .iter()
            .map(|c| (*c, plan.slot(c.name())))
            .collect();
        let groups = profile
            .group_sources()
            .iter()
            .map(|p| (plan.slot(p.head()), p.clone(), intern(&p.to_string())))
            .collect();
        let client = profile
            .client_claims()
            .iter()
            .map(|c| plan.slot(c))
            .collect();
        let username = profile
            .username_claims()
            .iter()
            .map(|c| plan.slot(c))
            .collect();
        let markers = profile
            .id_token_markers()
            .iter()
            .map(|m| (*m, plan.slot(m)))
            .collect();
        let present = profile
            .required_claims()
            .iter()
            .map(|c| (*c, plan.slot(c)))
            .collect();
        let required = parts
            .required
            .iter()
            .map(|r| (plan.slot(r.path.head()), intern(&r.path.to_string())))
            .collect();
        let reads = Reads {
            azp: (profile.client_claims().contains(&"azp") || !parts.authorized_parties.is_empty())
                .then(|| plan.slot("azp")),
            tid: (profile.kind() == Kind::Entra || !parts.tenants.is_empty())
                .then(|| plan.slot("tid")),
            typ: (profile.kind() == Kind::Keycloak).then(|| plan.slot("typ")),
            cnf: plan.slot("cnf"),
            plan,
            scopes,
            groups,
            client,
            username,
            markers,
            present,
            required,
        };
        let tenant_issuer = parts
            .issuer
            .as_deref()
            .filter(|_| !parts.tenants.is_empty())
            .and_then(|i| i.split_once(TENANT_PLACEHOLDER))
            .map(|(prefix, suffix)| (prefix.into(), suffix.into()));
        Self {
            profile,
            issuer: parts.issuer,
            tenants: parts.tenants.into(),
            tenant_issuer,
            audiences: parts.audiences.into(),
            client_ids: parts.client_ids.into(),
            authorized_parties: parts.authorized_parties.into(),
            required: parts.required.into(),
            checks: parts.checks.into(),
            leeway: parts.leeway,
            reads,
        }
    }

    /// The concrete issuers this policy accepts: one, or one per tenant.
    pub(crate) fn issuer_names(&self) -> Vec<String> {
        match (&self.issuer, &self.tenant_issuer) {
            (_, Some((prefix, suffix))) => self
                .tenants
                .iter()
                .map(|t| format!("{prefix}{t}{suffix}"))
                .collect(),
            (Some(issuer), None) => vec![issuer.to_string()],
            (None, None) => Vec::new(),
        }
    }

    /// Whether `iss` names this policy's issuer (for several tenants: one of them). Used to
    /// pick among several issuers before any key is looked up.
    pub(crate) fn issuer_matches(&self, iss: &str) -> bool {
        match (&self.issuer, &self.tenant_issuer) {
            (_, Some((prefix, suffix))) => iss
                .strip_prefix(&**prefix)
                .and_then(|rest| rest.strip_suffix(&**suffix))
                .is_some_and(|tenant| self.tenants.iter().any(|t| **t == *tenant)),
            (Some(issuer), None) => **issuer == *iss,
            (None, None) => false,
        }
    }

    /// Reads a payload: the registered claims and every member this policy reads, one pass.
    pub(crate) fn parse<'a>(&self, payload: &'a str) -> Result<RawClaims<'a>, AuthError> {
        RawClaims::parse(payload, &self.reads.plan)
            .map_err(|_| AuthErrorKind::MalformedClaim.into())
    }

    pub(crate) fn check_header(&self, header: &Header) -> Result<(), AuthError> {
        if self.profile.accepts_typ(header.typ.as_deref()) {
            Ok(())
        } else {
            Err(AuthError::claim(AuthErrorKind::WrongTokenType, "typ"))
        }
    }

    fn read<'a>(&self, raw: &RawClaims<'a>) -> Result<Read<'a>, AuthError> {
        let reads = &self.reads;
        let mut client_id = None;
        for (slot, name) in reads.client.iter().zip(self.profile.client_claims()) {
            let value = read_str(raw.get(*slot), name)?;
            if client_id.is_none() {
                client_id = value;
            }
        }
        let mut username = None;
        for (slot, name) in reads.username.iter().zip(self.profile.username_claims()) {
            let value = read_str(raw.get(*slot), name)?;
            if username.is_none() {
                username = value;
            }
        }
        let optional = |slot: Option<Slot>, name| match slot {
            Some(slot) => read_str(raw.get(slot), name),
            None => Ok(None),
        };
        let azp = optional(reads.azp, "azp")?;
        let tid = optional(reads.tid, "tid")?;
        let typ = optional(reads.typ, "typ")?;
        // RFC 9449 §6.1: `cnf.jkt`; a `cnf` that is no object, or a `jkt` no string, is
        // malformed rather than ignored (the token would pass as unbound).
        let dpop_jkt = match raw.get(reads.cnf) {
            None => None,
            Some(cnf) => {
                let jkt = navigate(cnf, &["jkt".into()]).map_err(|()| malformed("cnf"))?;
                // RFC 7800 §3.1: each member is a confirmation method the presenter must
                // satisfy. One tokengate cannot check (`x5t#S256`, RFC 8705 §3.1) would be
                // dropped, and the token taken as less bound than it is.
                let members: HashMap<Cow<'_, str>, IgnoredAny> =
                    serde_json::from_str(cnf.get()).map_err(|_| malformed("cnf"))?;
                if members.keys().any(|method| method != "jkt") {
                    return Err(AuthError::claim(
                        AuthErrorKind::UnsupportedConfirmation,
                        "cnf",
                    ));
                }
                read_str(jkt, "cnf")?
            }
        };
        let id_marker = reads
            .markers
            .iter()
            .find(|(_, slot)| raw.get(*slot).is_some())
            .map(|(marker, _)| *marker);
        let mut scopes = None;
        for (claim, slot) in &reads.scopes {
            if let Some(value) = raw.get(*slot) {
                let set = scope_set(*claim, value)?;
                if scopes.is_none() {
                    scopes = Some(set);
                }
            }
        }
        let mut groups: Vec<Str<'a>> = Vec::new();
        for (slot, path, name) in &reads.groups {
            let Some(top) = raw.get(*slot) else { continue };
            let value = navigate(top, path.rest()).map_err(|()| malformed(name))?;
            match value.map(names_of) {
                None => {}
                Some(None) => return Err(malformed(name)),
                Some(Some(OneOrMany::One(s))) => {
                    groups.extend(
                        s.0.split(' ')
                            .filter(|g| !g.is_empty())
                            .map(|g| Str(g.to_owned().into())),
                    );
                }
                Some(Some(OneOrMany::Many(v))) => groups.extend(v),
            }
        }
        let mut required = None;
        for ((slot, name), claim) in reads.required.iter().zip(&self.required) {
            let value = match raw.get(*slot) {
                Some(top) => navigate(top, claim.path.rest()).map_err(|()| malformed(name))?,
                None => None,
            };
            let outcome = match value {
                None => Some(AuthError::claim(AuthErrorKind::MissingClaim, name)),
                Some(value) => match required_holds(value, &claim.values) {
                    Ok(true) => None,
                    Ok(false) => Some(AuthError::claim(AuthErrorKind::ClaimMismatch, name)),
                    Err(()) => return Err(malformed(name)),
                },
            };
            if required.is_none() {
                required = outcome;
            }
        }
        Ok(Read {
            client_id,
            azp,
            username,
            tid,
            typ,
            id_marker,
            dpop_jkt,
            scopes: scopes.unwrap_or_default(),
            groups: NameSet::from_names(groups.iter().map(|g| &*g.0)),
            required,
        })
    }

    fn present(&self, raw: &RawClaims<'_>, claim: &str) -> bool {
        match claim {
            "iss" => raw.iss.is_some(),
            "exp" => raw.exp.is_some(),
            "iat" => raw.iat.is_some(),
            "sub" => raw.sub.is_some(),
            "aud" => raw.aud.as_ref().is_some_and(|a| !a.as_slice().is_empty()),
            "jti" => raw.jti.is_some(),
            "token_use" => raw.token_use.is_some(),
            other => self
                .reads
                .present
                .iter()
                .find(|(name, _)| *name == other)
                .is_some_and(|(_, slot)| raw.get(*slot).is_some()),
        }
    }

    /// Checks the claims at time `now`; returns the validated registered claims.
    pub(crate) fn check_claims(
        &self,
        raw: &RawClaims<'_>,
        now: u64,
    ) -> Result<Registered, AuthError> {
        let read = self.read(raw)?;
        let profile = &self.profile;
        let token_use = raw.token_use.as_ref().map(|u| &*u.0);
        // `token_use` first: an ID token presented as an access token is named as such,
        // rather than as one lacking `client_id`.
        if let Some(expected) = profile.token_use()
            && token_use.is_some_and(|u| u != expected.as_str())
        {
            return Err(AuthError::claim(AuthErrorKind::WrongTokenUse, "token_use"));
        }
        if !profile.takes_id_tokens() {
            if let Some(marker) = read.id_marker {
                return Err(AuthError::claim(AuthErrorKind::WrongTokenUse, marker));
            }
            if token_use == Some(TokenUse::Id.as_str()) {
                return Err(AuthError::claim(AuthErrorKind::WrongTokenUse, "token_use"));
            }
        }
        // Keycloak's access tokens say `typ: Bearer`, or `DPoP` when bound to a key (RFC 9449
        // §6); a `DPoP` one only with the `cnf.jkt` the layer checks the proof against.
        match read.typ.as_ref().map(|t| &*t.0) {
            None | Some("Bearer") => {}
            Some("DPoP") if read.dpop_jkt.is_some() => {}
            Some(_) => return Err(AuthError::claim(AuthErrorKind::WrongTokenUse, "typ")),
        }
        for claim in profile.required_claims() {
            if !self.present(raw, claim) {
                return Err(AuthError::claim(AuthErrorKind::MissingClaim, claim));
            }
        }
        if self.issuer.is_some() {
            // RFC 7519 §4.1.1 with OIDC Core §3.1.3.7: exact string comparison.
            let iss = raw.iss.as_ref().map(|s| &*s.0);
            let ok = match &self.tenant_issuer {
                // Several tenants: the issuer must be that of the token's own tenant.
                Some((prefix, suffix)) => iss
                    .and_then(|iss| iss.strip_prefix(&**prefix))
                    .and_then(|rest| rest.strip_suffix(&**suffix))
                    .is_some_and(|tenant| {
                        self.tenants.iter().any(|t| **t == *tenant)
                            && read.tid.as_ref().is_some_and(|tid| *tid.0 == *tenant)
                    }),
                None => iss == self.issuer.as_deref(),
            };
            if !ok {
                return Err(AuthError::claim(AuthErrorKind::WrongIssuer, "iss"));
            }
        }
        // A tenant allowlist holds whatever the issuer check is (skipped, or one exact
        // issuer): the token's own `tid` must be on it.
        if !self.tenants.is_empty() && self.tenant_issuer.is_none() {
            let listed = read
                .tid
                .as_ref()
                .is_some_and(|tid| self.tenants.iter().any(|t| **t == *tid.0));
            if !listed {
                return Err(AuthError::claim(AuthErrorKind::WrongIssuer, "tid"));
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
            && token_use != Some(expected.as_str())
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
                read.client_id
                    .as_ref()
                    .is_some_and(|c| any_of(std::slice::from_ref(c), &self.client_ids))
            };
            if !ok {
                let claim = profile
                    .client_claims()
                    .first()
                    .copied()
                    .unwrap_or("client_id");
                return Err(AuthError::claim(AuthErrorKind::WrongClient, claim));
            }
        }
        if !self.authorized_parties.is_empty()
            && !read
                .azp
                .as_ref()
                .is_some_and(|a| any_of(std::slice::from_ref(a), &self.authorized_parties))
        {
            return Err(AuthError::claim(AuthErrorKind::WrongClient, "azp"));
        }
        if let Some(err) = read.required {
            return Err(err);
        }
        let owned = |s: Option<&Str<'_>>| s.map(|s| Box::<str>::from(&*s.0));
        Ok(Registered {
            iss: raw
                .iss
                .as_ref()
                .map_or_else(Box::default, |s| (&*s.0).into()),
            sub: owned(raw.sub.as_ref()),
            aud: aud.iter().map(|s| (&*s.0).into()).collect(),
            exp,
            nbf: raw.nbf.map(|d| d.0),
            iat: raw.iat.map(|d| d.0),
            auth_time: raw.auth_time.map(|d| d.0),
            jti: owned(raw.jti.as_ref()),
            client_id: owned(read.client_id.as_ref()),
            azp: owned(read.azp.as_ref()),
            username: owned(read.username.as_ref()),
            token_use: match token_use {
                Some("access") => Some(TokenUse::Access),
                Some("id") => Some(TokenUse::Id),
                _ => None,
            },
            scopes: read.scopes,
            groups: read.groups,
            dpop_jkt: owned(read.dpop_jkt.as_ref()),
        })
    }

    /// Runs the service's own checks on validated claims (`payload` is where their typed claims
    /// are read from).
    pub(crate) fn run_checks(
        &self,
        registered: &Arc<Registered>,
        payload: &str,
    ) -> Result<(), AuthError> {
        for check in self.checks.iter() {
            (check.0)(registered, payload)?;
        }
        Ok(())
    }
}
