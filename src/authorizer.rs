//! [`Authorizer`]: validates one token against an issuer's keys and policy, with no HTTP involved.

use std::any::{Any, TypeId};
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{DeserializeOwned, IntoDeserializer};
use tracing::Instrument as _;
use tracing::field::Empty;

use crate::algorithm::AlgorithmSet;
use crate::claims::{ClaimPath, Claims, Str};
use crate::clock::{Clock, SystemClock};
use crate::error::{AuthError, AuthErrorKind, Error, ErrorKind};
use crate::introspect::{Introspection, IntrospectionStats, Introspector};
use crate::jwks::{KeyCache, KeySet, KeySetHealth, Lookup, RemoteJwks};
use crate::metrics::{self, ValidationTimer, outcome_label};
use crate::token_cache::{Entry, TokenCache, custom_weight, weigh};
use crate::validate::{
    Check, Compact, DEFAULT_LEEWAY_SECS, DEFAULT_MAX_TOKEN_LEN, Header, HeaderMemo,
    MAX_SIGNATURE_LEN, Policy, PolicyParts, Profile, RequiredClaim, TENANT_PLACEHOLDER,
    starts_as_object,
};

/// Validates access tokens: signature, registered claims and the profile's rules.
///
/// Cheap to clone; share one across the whole service. Built with [`Authorizer::builder`],
/// which does not compile until the issuer and the audience (or client id) are chosen or
/// explicitly skipped, and keys are given. Several issuers combine with [`Authorizer::any_of`].
///
/// # Example
///
/// ```
/// use tokengate::{Authorizer, AuthErrorKind, KeySet, Profile};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), tokengate::Error> {
/// // RFC 8037 §A.2's Ed25519 public key.
/// let jwks = br#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1",
///     "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
/// let authorizer = Authorizer::builder(Profile::cognito_access())
///     .issuer("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example")
///     .client_id("3n4b5urk1ft4fl3mg5e62d9ado")
///     .keys(KeySet::from_jwks_json(jwks)?)
///     .build();
///
/// let err = authorizer.authorize::<()>("not-a-token").await.unwrap_err();
/// assert_eq!(err.kind(), AuthErrorKind::Malformed);
/// assert_eq!(err.status(), 401);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Authorizer {
    issuers: Arc<[Issuer]>,
    /// The largest `max_token_len` among the issuers: the first, issuer-blind limit.
    max_token_len: usize,
    /// Validated tokens, when the cache is on (the default).
    cache: Option<Arc<TokenCache>>,
}

/// The token cache's default budget: about 16 MiB of tokens and claims.
pub(crate) const DEFAULT_TOKEN_CACHE_BYTES: u64 = 16 * 1024 * 1024;

/// What the token cache says about a token.
enum Cached<T> {
    Hit(Claims<T>),
    /// Known, and refused now (expired since, or its keys are unavailable).
    Refused(AuthError),
    Miss,
}

/// One issuer: its policy, its keys, its limits.
#[derive(Clone)]
struct Issuer {
    policy: Policy,
    /// Headers of this issuer's tokens, parsed (see [`HeaderMemo`]).
    headers: HeaderMemo,
    keys: KeySource,
    /// Whether keys were given: without them, every token of this issuer is introspected.
    has_keys: bool,
    introspection: Option<Arc<Introspector>>,
    algorithms: AlgorithmSet,
    max_token_len: usize,
    clock: Arc<dyn Clock>,
}

#[derive(Clone, Debug)]
enum KeySource {
    Static(KeySet),
    Remote(KeyCache),
}

/// The registered claim read to choose among several issuers.
#[derive(Deserialize)]
struct IssuerOnly<'a> {
    #[serde(borrow)]
    iss: Option<Str<'a>>,
}

/// A token's header, and whether it was parsed for this token (not found in the memo).
struct Verifying {
    header: Arc<Header>,
    parsed: bool,
}

enum Next<T> {
    /// The answer, with the key-set generation that verified the token.
    Done(Result<(Claims<T>, u64), AuthError>),
    /// Fetch keys (joining a fetch in flight); `Some(generation)` of the set that lacked the
    /// `kid`, `None` when there was no set at all.
    Refetch(Option<u64>),
    /// Refresh a set past its TTL that nobody refreshes, then look again.
    Revalidate,
}

/// One validation, as operators see it: its `authorize` span (the outcome, never the token)
/// and its timer. Started once per validation, handed from the token-cache lookup to the full
/// check on a miss, finished once.
#[derive(Debug)]
pub(crate) struct Validation {
    span: tracing::Span,
    timer: ValidationTimer,
}

impl Validation {
    pub(crate) fn start() -> Self {
        Self {
            span: tracing::debug_span!(target: "tokengate", "authorize", outcome = Empty),
            timer: ValidationTimer::start(),
        }
    }

    fn finish<T>(self, result: &Result<T, AuthError>) {
        let outcome = result.as_ref().map(|_| ()).map_err(AuthError::kind);
        self.span.record("outcome", outcome_label(outcome));
        self.timer.finish(outcome);
    }
}

impl Authorizer {
    /// Starts building an authorizer for tokens of `profile`.
    pub fn builder(profile: Profile) -> AuthorizerBuilder<NoIssuer, NoAudience, NoKeys> {
        AuthorizerBuilder {
            profile,
            issuer: None,
            tenants: Vec::new(),
            audiences: Vec::new(),
            client_ids: Vec::new(),
            authorized_parties: Vec::new(),
            required: Vec::new(),
            checks: Vec::new(),
            keys: NoKeys(()),
            introspection: None,
            token_cache_bytes: Some(DEFAULT_TOKEN_CACHE_BYTES),
            leeway: DEFAULT_LEEWAY_SECS,
            algorithms: AlgorithmSet::DEFAULT,
            max_token_len: DEFAULT_MAX_TOKEN_LEN,
            clock: Arc::new(SystemClock),
            _state: PhantomData,
        }
    }

    /// Keycloak access tokens from `issuer` (`https://HOST/realms/REALM`), keys by discovery:
    /// [`Profile::keycloak`]. Then choose the client with
    /// [`authorized_party`](AuthorizerBuilder::authorized_party) (or an audience, when a mapper
    /// adds one).
    ///
    /// ```
    /// # fn main() -> Result<(), tokengate::Error> {
    /// let authorizer = tokengate::Authorizer::keycloak("https://sso.example.com/realms/acme")?
    ///     .authorized_party("orders-web")
    ///     .build()?;
    /// # let _ = authorizer; Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidUrl`] when `issuer` is not an http(s) URL with a host.
    pub fn keycloak(issuer: &str) -> Result<VendorBuilder, Error> {
        Self::vendor(Profile::keycloak(), issuer)
    }

    /// Entra ID v2.0 access tokens of one tenant, from its issuer
    /// (`https://login.microsoftonline.com/TENANT-ID/v2.0`, the tenant's id, not a domain),
    /// keys by discovery: [`Profile::entra`]. The token's `tid` must be that tenant too. For
    /// several tenants, [`Authorizer::entra_tenants`].
    ///
    /// ```
    /// # fn main() -> Result<(), tokengate::Error> {
    /// let issuer = "https://login.microsoftonline.com/8c3f5a0e-1f2b-4c5d-9e8f-0a1b2c3d4e5f/v2.0";
    /// let authorizer = tokengate::Authorizer::entra(issuer)?.audience("api://orders").build()?;
    /// # let _ = authorizer; Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidUrl`] when `issuer` is not an http(s) URL with a host.
    pub fn entra(issuer: &str) -> Result<VendorBuilder, Error> {
        let builder = Self::vendor(Profile::entra(), issuer)?;
        // `https://HOST/TENANT/v2.0`: the issuer is checked against the token's own `tid`.
        let trimmed = issuer.trim_end_matches('/');
        let tenant = trimmed
            .strip_suffix("/v2.0")
            .and_then(|rest| rest.rsplit_once('/'))
            .filter(|(origin, tenant)| origin.contains("://") && !tenant.is_empty());
        Ok(match tenant {
            Some((origin, tenant)) => AuthorizerBuilder {
                issuer: Some(format!("{origin}/{TENANT_PLACEHOLDER}/v2.0").into()),
                ..builder
            }
            .tenants([tenant]),
            None => builder,
        })
    }

    /// Entra ID v2.0 access tokens of any of `tenants` (tenant ids): the issuer must be
    /// `https://login.microsoftonline.com/{tid}/v2.0` with the token's own `tid`, one of them;
    /// keys from Entra's common key set. See [`AuthorizerBuilder::tenants`].
    ///
    /// ```
    /// # fn main() -> Result<(), tokengate::Error> {
    /// let authorizer = tokengate::Authorizer::entra_tenants([
    ///     "8c3f5a0e-1f2b-4c5d-9e8f-0a1b2c3d4e5f",
    ///     "0f9e8d7c-6b5a-4938-2716-05f4e3d2c1b0",
    /// ])?
    /// .audience("api://orders")
    /// .build()?;
    /// # let _ = authorizer; Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// Never in practice: the common key set's URL is fixed.
    pub fn entra_tenants<T, S>(tenants: T) -> Result<VendorBuilder, Error>
    where
        T: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Ok(Self::builder(Profile::entra())
            .issuer(format!(
                "https://login.microsoftonline.com/{TENANT_PLACEHOLDER}/v2.0"
            ))
            .tenants(tenants)
            .remote_jwks(RemoteJwks::from_uri(
                "https://login.microsoftonline.com/common/discovery/v2.0/keys",
            )?))
    }

    /// Auth0 access tokens from `issuer` (`https://TENANT.auth0.com/`, with its trailing
    /// slash), keys by discovery: [`Profile::auth0`]. Then choose the API's audience.
    ///
    /// ```
    /// # fn main() -> Result<(), tokengate::Error> {
    /// let authorizer = tokengate::Authorizer::auth0("https://acme.eu.auth0.com/")?
    ///     .audience("https://api.acme.example")
    ///     .build()?;
    /// # let _ = authorizer; Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidUrl`] when `issuer` is not an http(s) URL with a host.
    pub fn auth0(issuer: &str) -> Result<VendorBuilder, Error> {
        Self::vendor(Profile::auth0(), issuer)
    }

    /// Okta access tokens from `issuer` (`https://ORG.okta.com/oauth2/default`, a custom
    /// authorization server), keys by discovery: [`Profile::okta`]. Then choose the audience
    /// (`api://default` unless configured otherwise).
    ///
    /// ```
    /// # fn main() -> Result<(), tokengate::Error> {
    /// let authorizer = tokengate::Authorizer::okta("https://acme.okta.com/oauth2/default")?
    ///     .audience("api://default")
    ///     .build()?;
    /// # let _ = authorizer; Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidUrl`] when `issuer` is not an http(s) URL with a host.
    pub fn okta(issuer: &str) -> Result<VendorBuilder, Error> {
        Self::vendor(Profile::okta(), issuer)
    }

    fn vendor(profile: Profile, issuer: &str) -> Result<VendorBuilder, Error> {
        Ok(Self::builder(profile)
            .issuer(issuer)
            .remote_jwks(RemoteJwks::discover(issuer)?))
    }

    /// One authorizer for several issuers. A token's unverified `iss` picks the issuer, only
    /// among these; a token naming any other issuer is refused before any key is looked up,
    /// and no URL is ever taken from a token.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Combine`] when none is given, when one skips the issuer check, or when two
    /// name the same issuer.
    pub fn any_of(authorizers: impl IntoIterator<Item = Authorizer>) -> Result<Self, Error> {
        let authorizers: Vec<Authorizer> = authorizers.into_iter().collect();
        // One cache for the combination, as large as the largest of theirs.
        let cache_bytes = authorizers
            .iter()
            .filter_map(|a| a.cache.as_ref().map(|c| c.max_bytes()))
            .max();
        let issuers: Vec<Issuer> = authorizers
            .iter()
            .flat_map(|a| a.issuers.iter().cloned().collect::<Vec<_>>())
            .collect();
        if issuers.is_empty() {
            return Err(ErrorKind::Combine("no authorizer was given").into());
        }
        for (i, issuer) in issuers.iter().enumerate() {
            if issuer.policy.issuer.is_none() {
                return Err(ErrorKind::Combine(
                    "an authorizer that skips the issuer check cannot be combined",
                )
                .into());
            }
            let names = issuer.policy.issuer_names();
            if issuers[..i]
                .iter()
                .any(|o| names.iter().any(|n| o.policy.issuer_matches(n)))
            {
                return Err(ErrorKind::Combine("two authorizers name the same issuer").into());
            }
        }
        if issuers.iter().filter(|i| i.introspection.is_some()).count() > 1 {
            // An opaque token names no issuer: only one may introspect.
            return Err(ErrorKind::Combine("two authorizers introspect opaque tokens").into());
        }
        Ok(Self::from_issuers(issuers, cache_bytes))
    }

    fn from_issuers(issuers: Vec<Issuer>, cache_bytes: Option<u64>) -> Self {
        Self {
            max_token_len: issuers.iter().map(|i| i.max_token_len).max().unwrap_or(0),
            issuers: issuers.into(),
            cache: cache_bytes.map(|bytes| Arc::new(TokenCache::new(bytes))),
        }
    }

    /// The token cache's answer for a token it holds.
    fn cached<T>(&self, token: &str, entry: Entry) -> Cached<T>
    where
        T: Send + Sync + 'static,
    {
        if entry.custom_type != TypeId::of::<T>() {
            return Cached::Miss;
        }
        let Some(issuer) = self.issuers.get(entry.issuer) else {
            return Cached::Miss;
        };
        // Time moves on: every time rule is checked again, on the authorizer's clock.
        let claims = &entry.registered;
        let now = issuer.clock.now_unix();
        let leeway = issuer.policy.leeway;
        if now >= claims.exp.saturating_add(leeway) {
            if let Some(cache) = &self.cache {
                cache.remove(token);
            }
            return Cached::Refused(AuthError::claim(AuthErrorKind::Expired, "exp"));
        }
        if claims
            .nbf
            .is_some_and(|nbf| nbf > now.saturating_add(leeway))
            || claims
                .iat
                .is_some_and(|iat| iat > now.saturating_add(leeway))
        {
            return Cached::Miss;
        }
        // The keys move on too: a new key set (rotation, removal) means verifying again.
        if let KeySource::Remote(keys) = &issuer.keys {
            let current = keys.load_and_lookup(|lookup| match lookup {
                Lookup::Ready(snapshot) => snapshot.generation() == entry.generation,
                // Keys past the bound, or past their TTL with nobody refreshing them: the
                // full path refreshes them first.
                _ => false,
            });
            if !current {
                return Cached::Miss;
            }
        }
        match entry.custom.downcast::<T>() {
            Ok(custom) => Cached::Hit(Claims::from_parts(entry.registered, custom)),
            Err(_) => Cached::Miss,
        }
    }

    /// Validates `token` and returns its claims, with your own claims read into `T`
    /// (use `()` for none).
    ///
    /// The steps, in order: size limit; three base64url segments; header (`alg` allowlisted,
    /// never `none` or HMAC, no `crit`, no `b64: false`, no nested JWT, the profile's `typ`);
    /// key chosen by `kid` and `alg`; signature; then `iss`, `exp`, `nbf`, `iat` (one leeway),
    /// the profile's required claims and `token_use`, audience or client id; scopes.
    ///
    /// With remote keys, an unknown `kid` waits for one shared refetch when the last fetch is
    /// older than the cooldown, and is refused at once otherwise.
    ///
    /// It sees no DPoP proof, so it does **not** refuse a DPoP-bound token (one with
    /// `cnf.jkt`, in [`Claims::dpop_jkt`]): [`JwtAuthLayer`](crate::JwtAuthLayer) checks the
    /// binding against the request's proof with [`dpop`](crate::JwtAuthLayer::dpop), and
    /// refuses a bound token sent as a bearer token in every mode. Called on its own, refuse
    /// a token whose `dpop_jkt()` is `Some` unless you checked its proof. A `cnf` holding a
    /// confirmation method tokengate cannot check is refused here
    /// ([`AuthErrorKind::UnsupportedConfirmation`]).
    ///
    /// # Errors
    ///
    /// An [`AuthError`] whose kind names the first rule the token broke, or
    /// [`AuthErrorKind::KeysUnavailable`] when the issuer's keys cannot be had.
    pub async fn authorize<T>(&self, token: &str) -> Result<Claims<T>, AuthError>
    where
        T: DeserializeOwned + Send + Sync + 'static,
    {
        match self.authorize_cached::<T>(token, Validation::start()) {
            Ok(answer) => answer,
            Err(validation) => self.authorize_fresh::<T>(token, validation).await,
        }
    }

    /// The verified-token cache's answer for `token`, at once: its claims, or its refusal
    /// (expired since it was cached), counted and traced as `validation`. The validation back
    /// when the cache cannot answer (off, or the token is not in it, or an opaque token for
    /// introspection): then [`Authorizer::authorize_fresh`] validates it, in the same span.
    pub(crate) fn authorize_cached<T>(
        &self,
        token: &str,
        validation: Validation,
    ) -> Result<Result<Claims<T>, AuthError>, Validation>
    where
        T: Send + Sync + 'static,
    {
        let Some(cache) = &self.cache else {
            return Err(validation);
        };
        // Not a compact JWS: an opaque token, for the issuer that introspects.
        if self.issuers.iter().any(|i| i.introspection.is_some()) && !looks_like_jws(token) {
            return Err(validation);
        }
        let entered = validation.span.enter();
        let cached = cache.get(token).map(|entry| self.cached::<T>(token, entry));
        drop(entered);
        let result = match cached {
            Some(Cached::Hit(claims)) => Ok(claims),
            Some(Cached::Refused(err)) => Err(err),
            None | Some(Cached::Miss) => {
                metrics::token_cache_miss();
                return Err(validation);
            }
        };
        metrics::token_cache_hit();
        validation.finish(&result);
        Ok(result)
    }

    /// Validates `token` in full, without looking it up in the token cache (the caller did),
    /// and caches it when it passes.
    pub(crate) async fn authorize_fresh<T>(
        &self,
        token: &str,
        validation: Validation,
    ) -> Result<Claims<T>, AuthError>
    where
        T: DeserializeOwned + Send + Sync + 'static,
    {
        let result = self
            .authorize_uncounted::<T>(token)
            .instrument(validation.span.clone())
            .await;
        validation.finish(&result);
        result
    }

    async fn authorize_uncounted<T>(&self, token: &str) -> Result<Claims<T>, AuthError>
    where
        T: DeserializeOwned + Send + Sync + 'static,
    {
        // Not a compact JWS: an opaque token, for the issuer that introspects, if any. (The
        // introspection's future is boxed: an HTTP exchange's future is large, and the future
        // of every validation would carry its size.)
        if let Some(issuer) = self.issuers.iter().find(|i| i.introspection.is_some())
            && !looks_like_jws(token)
        {
            return Box::pin(issuer.introspect(token)).await;
        }
        let compact = Compact::split(token, self.max_token_len)?;
        let (index, payload) = match &*self.issuers {
            [_] => (0, None),
            many => {
                let payload = decode_payload(&compact)?;
                let peek: IssuerOnly<'_> =
                    serde_json::from_slice(&payload).map_err(|_| AuthErrorKind::MalformedClaim)?;
                let iss = peek.iss.as_ref().map(|s| &*s.0);
                let index = many
                    .iter()
                    .position(|i| iss.is_some_and(|iss| i.policy.issuer_matches(iss)))
                    .ok_or(AuthError::claim(AuthErrorKind::WrongIssuer, "iss"))?;
                (index, Some(payload))
            }
        };
        let issuer = &self.issuers[index];
        if !issuer.has_keys && issuer.introspection.is_some() {
            return Box::pin(issuer.introspect(token)).await;
        }
        let (claims, generation) = issuer.authorize::<T>(token, &compact, payload).await?;
        // A token already past `exp` plus leeway (but valid within the leeway's rounding)
        // is not worth keeping.
        if let Some(cache) = &self.cache
            && claims.expires_at().saturating_add(issuer.policy.leeway) > issuer.clock.now_unix()
            && cache.admit(token)
        {
            // Base64url without padding: 4 characters carry 3 bytes.
            let payload_len = compact.payload.len().div_ceil(4) * 3;
            let custom = custom_weight(&**claims.custom_arc(), payload_len);
            cache.insert(
                token,
                Entry {
                    weight: weigh(token, claims.registered(), custom),
                    registered: Arc::clone(claims.registered()),
                    custom: Arc::clone(claims.custom_arc()) as Arc<dyn Any + Send + Sync>,
                    custom_type: TypeId::of::<T>(),
                    issuer: index,
                    generation,
                },
            );
        }
        Ok(claims)
    }

    /// How often opaque tokens were introspected and answered from the cache (`None` when no
    /// introspection is configured).
    pub fn introspection_stats(&self) -> Option<IntrospectionStats> {
        self.issuers
            .iter()
            .find_map(|i| i.introspection.as_ref())
            .map(|i| i.stats())
    }

    /// Internal, for the benchmarks' bake-off: the token cache over another store, with the
    /// same byte budget for what one entry may weigh. Not a public API.
    #[cfg(feature = "bench-internals")]
    #[doc(hidden)]
    pub fn with_token_store(mut self, store: Arc<dyn crate::bench::TokenStore>) -> Self {
        let max_bytes = self
            .cache
            .as_ref()
            .map_or(DEFAULT_TOKEN_CACHE_BYTES, |c| c.max_bytes());
        self.cache = Some(Arc::new(TokenCache::plugged(store, max_bytes)));
        self
    }

    /// How many validated tokens the cache holds, and their weight in bytes (`None` when the
    /// cache is off).
    pub fn token_cache_usage(&self) -> Option<(u64, u64)> {
        self.cache.as_ref().map(|c| c.usage())
    }

    /// Fetches every remote key set that has none yet, and waits for it. Services that want
    /// keys before they take traffic call this at startup; without it the first request
    /// fetches them.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::KeysUnavailable`] naming the issuer whose keys could not be fetched.
    pub async fn ready(&self) -> Result<(), Error> {
        for issuer in self.issuers.iter() {
            if let KeySource::Remote(cache) = &issuer.keys
                && !cache.has_keys()
            {
                cache.refresh().await.map_err(|source| {
                    Error::new(ErrorKind::KeysUnavailable {
                        issuer: issuer
                            .policy
                            .issuer
                            .as_deref()
                            .unwrap_or_default()
                            .to_owned(),
                        source,
                    })
                })?;
            }
        }
        Ok(())
    }

    /// The state of each issuer's keys, for health endpoints and logs.
    pub fn health(&self) -> Vec<KeySetHealth> {
        self.issuers
            .iter()
            .map(|issuer| {
                let name = issuer.policy.issuer.as_deref();
                match &issuer.keys {
                    KeySource::Remote(cache) => cache.health(name),
                    KeySource::Static(set) => KeySetHealth::of_static(name, set),
                }
            })
            .collect()
    }

    /// The expected issuers (none when the issuer check was skipped; one per tenant when
    /// several tenants are accepted).
    pub fn issuers(&self) -> impl Iterator<Item = String> + '_ {
        self.issuers.iter().flat_map(|i| i.policy.issuer_names())
    }
}

/// Whether `token` has the shape of a compact JWS: three non-empty segments, the first the
/// base64url of a JSON object (`{` encodes to a leading `e`). Anything else is opaque.
fn looks_like_jws(token: &str) -> bool {
    let mut dots = memchr::memchr_iter(b'.', token.as_bytes());
    match (dots.next(), dots.next(), dots.next()) {
        (Some(first), Some(second), None) => {
            token.starts_with('e') && second > first + 1 && second + 1 < token.len()
        }
        _ => false,
    }
}

fn decode_payload(compact: &Compact<'_>) -> Result<Vec<u8>, AuthError> {
    let payload = compact.decode_payload()?;
    if starts_as_object(&payload) {
        Ok(payload)
    } else {
        Err(AuthErrorKind::Malformed.into())
    }
}

impl Issuer {
    /// Checks an opaque token by introspection, under this issuer's policy.
    async fn introspect<T>(&self, token: &str) -> Result<Claims<T>, AuthError>
    where
        T: DeserializeOwned + Send + Sync + 'static,
    {
        if token.len() > self.max_token_len {
            return Err(AuthErrorKind::TokenTooLarge.into());
        }
        match &self.introspection {
            Some(introspector) => introspector.authorize(token, &self.policy).await,
            None => Err(AuthErrorKind::Malformed.into()),
        }
    }

    async fn authorize<T>(
        &self,
        token: &str,
        compact: &Compact<'_>,
        payload: Option<Vec<u8>>,
    ) -> Result<(Claims<T>, u64), AuthError>
    where
        T: DeserializeOwned + 'static,
    {
        if token.len() > self.max_token_len {
            return Err(AuthErrorKind::TokenTooLarge.into());
        }
        let (header, parsed) = match self.headers.get(compact.header) {
            Some(header) => (header, false),
            None => (
                Arc::new(Header::parse(compact.header, self.algorithms)?),
                true,
            ),
        };
        self.policy.check_header(&header)?;
        let header = Verifying { header, parsed };
        let payload = match payload {
            Some(payload) => payload,
            None => decode_payload(compact)?,
        };
        let cache = match &self.keys {
            KeySource::Static(keys) => {
                return self
                    .verify(keys, compact, &header, &payload)
                    .map(|claims| (claims, 0));
            }
            KeySource::Remote(cache) => cache,
        };
        let mut refetched = false;
        loop {
            let next = cache.load_and_lookup(|lookup| {
                match lookup {
                    // Past its TTL with no refresher at work: refresh first (once).
                    Lookup::Overdue(_) if !refetched => Next::Revalidate,
                    Lookup::Ready(snapshot) | Lookup::Overdue(snapshot) => {
                        match self.verify(&snapshot.keys, compact, &header, &payload) {
                            // Before fetching for an unknown `kid`, a token that does not even
                            // claim this issuer is refused: it cannot cause a fetch.
                            Err(e) if e.kind() == AuthErrorKind::UnknownKey && !refetched => {
                                if self.claims_other_issuer(&payload) {
                                    Next::Done(Err(AuthError::claim(
                                        AuthErrorKind::WrongIssuer,
                                        "iss",
                                    )))
                                } else {
                                    Next::Refetch(Some(snapshot.generation()))
                                }
                            }
                            done => Next::Done(done.map(|c| (c, snapshot.generation()))),
                        }
                    }
                    // No usable set (never fetched, or past the staleness bound): wait for
                    // the one shared fetch, at most once per cooldown.
                    Lookup::Cold | Lookup::Stale if !refetched => Next::Refetch(None),
                    Lookup::Cold | Lookup::Stale => Next::Done(Err(cache.unavailable())),
                }
            });
            let seen = match next {
                Next::Done(result) => return result,
                Next::Refetch(seen) => seen,
                Next::Revalidate => {
                    refetched = true;
                    // Whatever the outcome: a failed refresh leaves the set as it is, served
                    // up to the staleness bound.
                    let _ = Box::pin(cache.refetch_within_cooldown()).await;
                    continue;
                }
            };
            refetched = true;
            let missing = || match seen {
                Some(_) => AuthError::new(AuthErrorKind::UnknownKey),
                None => cache.unavailable(),
            };
            // Boxed, as the introspection above: a fetch's future is large, and rare; the
            // future of every validation stays small.
            match Box::pin(cache.refetch_within_cooldown()).await {
                Some(Ok(())) => {}
                Some(Err(_)) => return Err(missing()),
                // Within the cooldown: answer at once, unless a newer set came in meanwhile.
                None if seen.is_some_and(|g| cache.newer_than(g)) => {}
                None => return Err(missing()),
            }
        }
    }

    /// Whether the unverified payload names an issuer other than the expected one.
    fn claims_other_issuer(&self, payload: &[u8]) -> bool {
        if self.policy.issuer.is_none() {
            return false;
        }
        serde_json::from_slice::<IssuerOnly<'_>>(payload).is_ok_and(|peek| {
            !peek
                .iss
                .as_ref()
                .is_some_and(|iss| self.policy.issuer_matches(&iss.0))
        })
    }

    fn verify<T>(
        &self,
        keys: &KeySet,
        compact: &Compact<'_>,
        verifying: &Verifying,
        payload: &[u8],
    ) -> Result<Claims<T>, AuthError>
    where
        T: DeserializeOwned + 'static,
    {
        let header = &*verifying.header;
        let key = keys.select(header.alg, header.kid.as_deref())?;
        let mut signature = [0u8; MAX_SIGNATURE_LEN];
        let len = compact.decode_signature(&mut signature)?;
        if !key.verify(
            header.alg,
            compact.signing_input.as_bytes(),
            &signature[..len],
        ) {
            return Err(AuthErrorKind::InvalidSignature.into());
        }
        // Signed by the issuer's key: a header worth remembering.
        if verifying.parsed {
            self.headers.remember(compact.header, &verifying.header);
        }
        // RFC 7519 §7.2: the claims set is UTF-8, all of it, read or not.
        let payload = std::str::from_utf8(payload).map_err(|_| AuthErrorKind::MalformedClaim)?;
        let raw = self.policy.parse(payload)?;
        let registered = Arc::new(self.policy.check_claims(&raw, self.clock.now_unix())?);
        // The service's own checks, before the token can be cached.
        self.policy.run_checks(&registered, payload)?;
        let custom = if TypeId::of::<T>() == TypeId::of::<()>() {
            // `()` reads nothing: skip a second pass over the payload.
            T::deserialize(().into_deserializer())
                .map_err(|_: serde::de::value::Error| AuthErrorKind::MalformedClaim)?
        } else {
            serde_json::from_str(payload)
                .map_err(|_| AuthError::claim(AuthErrorKind::MalformedClaim, "custom claims"))?
        };
        Ok(Claims::from_parts(registered, Arc::new(custom)))
    }
}

impl fmt::Debug for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issuer")
            .field("policy", &self.policy)
            .field("keys", &self.keys)
            .field("introspection", &self.introspection)
            .field("algorithms", &self.algorithms)
            .field("max_token_len", &self.max_token_len)
            .field("clock", &self.clock)
            .finish()
    }
}

impl fmt::Debug for Authorizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authorizer")
            .field("issuers", &self.issuers)
            .finish()
    }
}

/// Builds an [`Authorizer`]. The type parameters track the mandatory choices; see
/// [`Authorizer::builder`].
///
/// `build()` exists only once the issuer, the audience or client id, and the keys are
/// chosen; forgetting one is a compile error, not a runtime surprise:
///
/// ```compile_fail
/// use tokengate::{Authorizer, KeySet, Profile};
/// let authorizer = Authorizer::builder(Profile::generic())
///     .issuer("https://issuer.example")
///     .keys(KeySet::default())
///     .build(); // error: the audience is not chosen
/// ```
#[must_use = "an authorizer builder does nothing until `.build()`"]
pub struct AuthorizerBuilder<I, A, K> {
    profile: Profile,
    issuer: Option<Box<str>>,
    tenants: Vec<Box<str>>,
    audiences: Vec<Box<str>>,
    client_ids: Vec<Box<str>>,
    authorized_parties: Vec<Box<str>>,
    required: Vec<RequiredClaim>,
    checks: Vec<Check>,
    /// The keys state holds the keys themselves.
    keys: K,
    introspection: Option<Introspection>,
    token_cache_bytes: Option<u64>,
    leeway: u64,
    algorithms: AlgorithmSet,
    max_token_len: usize,
    clock: Arc<dyn Clock>,
    _state: States<I, A>,
}

type States<I, A> = PhantomData<fn() -> (I, A)>;

/// What the vendor shortcuts ([`Authorizer::keycloak`], [`Authorizer::entra`],
/// [`Authorizer::auth0`], [`Authorizer::okta`]) return: issuer and keys chosen, the audience
/// or client still to choose.
pub type VendorBuilder = AuthorizerBuilder<IssuerSet, NoAudience, RemoteKeysSet>;

/// Type states of [`AuthorizerBuilder`].
pub mod builder {
    use super::{Authorizer, AuthorizerBuilder, KeySource};
    use crate::error::Error;
    use crate::jwks::{KeySet, RemoteJwks};

    mod sealed {
        pub trait Sealed {}
    }

    /// The issuer is not chosen yet.
    #[derive(Debug)]
    pub enum NoIssuer {}
    /// The issuer is chosen (or its check explicitly skipped).
    #[derive(Debug)]
    pub enum IssuerSet {}
    /// Neither audience nor client id is chosen yet.
    #[derive(Debug)]
    pub enum NoAudience {}
    /// An audience or client id is chosen (or the check explicitly skipped).
    #[derive(Debug)]
    pub enum AudienceSet {}
    /// No keys are given yet.
    #[derive(Debug)]
    pub struct NoKeys(pub(super) ());
    /// Static keys are given: `build()` cannot fail and returns the [`Authorizer`].
    #[derive(Debug)]
    pub struct KeysSet(pub(super) KeySet);
    /// Remote keys are given: `build()` checks their settings and returns
    /// `Result<Authorizer, Error>`.
    #[derive(Debug)]
    pub struct RemoteKeysSet(pub(super) Box<RemoteJwks>);
    /// No keys, but introspection: every token is introspected; `build()` returns the
    /// [`Authorizer`].
    #[derive(Debug)]
    pub struct IntrospectionOnly(pub(super) ());

    /// Marks a builder whose issuer is chosen.
    #[diagnostic::on_unimplemented(
        message = "the issuer is not chosen",
        label = "call `.issuer(..)` or `.skip_issuer_check()` before `.build()`"
    )]
    pub trait IssuerChosen: sealed::Sealed {}
    /// Marks a builder whose audience or client id is chosen.
    #[diagnostic::on_unimplemented(
        message = "the audience or client id is not chosen",
        label = "call `.audience(..)`, `.client_id(..)` or `.skip_audience_check()` before `.build()`"
    )]
    pub trait AudienceChosen: sealed::Sealed {}
    /// Marks a builder whose keys are given.
    #[diagnostic::on_unimplemented(
        message = "no keys are given",
        label = "call `.keys(..)`, `.remote_jwks(..)` or `.introspection(..)` before `.build()`"
    )]
    pub trait KeysChosen: sealed::Sealed {}

    /// What `build()` returns for a keys state: the [`Authorizer`] for static keys,
    /// `Result<Authorizer, Error>` for remote keys, whose settings can be wrong. (Also defined
    /// for [`NoKeys`], whose `build()` never compiles, so that the missing-keys error names
    /// the missing call.)
    pub trait KeysState: sealed::Sealed + Sized {
        /// What `build()` returns.
        type Built;
        /// The state once introspection is added: the keys already chosen stay.
        type WithIntrospection;
        #[doc(hidden)]
        fn build<I, A>(builder: AuthorizerBuilder<I, A, Self>) -> Self::Built;
        #[doc(hidden)]
        fn with_introspection(self) -> Self::WithIntrospection;
    }

    impl sealed::Sealed for IssuerSet {}
    impl sealed::Sealed for AudienceSet {}
    impl sealed::Sealed for NoKeys {}
    impl sealed::Sealed for KeysSet {}
    impl sealed::Sealed for RemoteKeysSet {}
    impl sealed::Sealed for IntrospectionOnly {}
    impl IssuerChosen for IssuerSet {}
    impl AudienceChosen for AudienceSet {}
    impl KeysChosen for KeysSet {}
    impl KeysChosen for RemoteKeysSet {}
    impl KeysChosen for IntrospectionOnly {}

    impl KeysState for NoKeys {
        type Built = ();
        type WithIntrospection = IntrospectionOnly;

        fn build<I, A>(_: AuthorizerBuilder<I, A, Self>) {}

        fn with_introspection(self) -> IntrospectionOnly {
            IntrospectionOnly(())
        }
    }

    impl KeysState for IntrospectionOnly {
        type Built = Authorizer;
        type WithIntrospection = Self;

        fn build<I, A>(builder: AuthorizerBuilder<I, A, Self>) -> Authorizer {
            builder.assemble(KeySource::Static(KeySet::default()), false)
        }

        fn with_introspection(self) -> Self {
            self
        }
    }

    impl KeysState for KeysSet {
        type Built = Authorizer;
        type WithIntrospection = Self;

        fn build<I, A>(builder: AuthorizerBuilder<I, A, Self>) -> Authorizer {
            let keys = KeySource::Static(builder.keys.0.clone());
            builder.assemble(keys, true)
        }

        fn with_introspection(self) -> Self {
            self
        }
    }

    impl KeysState for RemoteKeysSet {
        type Built = Result<Authorizer, Error>;
        type WithIntrospection = Self;

        fn build<I, A>(builder: AuthorizerBuilder<I, A, Self>) -> Result<Authorizer, Error> {
            let remote = (*builder.keys.0).clone();
            let cache = remote.into_cache(
                std::sync::Arc::clone(&builder.clock),
                builder.issuer.as_deref(),
            )?;
            Ok(builder.assemble(KeySource::Remote(cache), true))
        }

        fn with_introspection(self) -> Self {
            self
        }
    }
}

use builder::{
    AudienceChosen, AudienceSet, IssuerChosen, IssuerSet, KeysChosen, KeysSet, KeysState,
    NoAudience, NoIssuer, NoKeys, RemoteKeysSet,
};

impl<I, A, K> AuthorizerBuilder<I, A, K> {
    fn to<I2, A2>(self) -> AuthorizerBuilder<I2, A2, K> {
        self.retype(|keys| keys)
    }

    fn retype<I2, A2, K2>(self, keys: impl FnOnce(K) -> K2) -> AuthorizerBuilder<I2, A2, K2> {
        AuthorizerBuilder {
            profile: self.profile,
            issuer: self.issuer,
            tenants: self.tenants,
            audiences: self.audiences,
            client_ids: self.client_ids,
            authorized_parties: self.authorized_parties,
            required: self.required,
            checks: self.checks,
            keys: keys(self.keys),
            introspection: self.introspection,
            token_cache_bytes: self.token_cache_bytes,
            leeway: self.leeway,
            algorithms: self.algorithms,
            max_token_len: self.max_token_len,
            clock: self.clock,
            _state: PhantomData,
        }
    }

    /// The issuer: `iss` must equal it exactly (no trailing-slash or case folding).
    pub fn issuer(mut self, issuer: impl Into<String>) -> AuthorizerBuilder<IssuerSet, A, K> {
        self.issuer = Some(issuer.into().into_boxed_str());
        self.to()
    }

    /// Accepts any `iss`. Gives up the check that the token came from your issuer: only the
    /// keys then tie a token to it.
    pub fn skip_issuer_check(mut self) -> AuthorizerBuilder<IssuerSet, A, K> {
        self.issuer = None;
        self.to()
    }

    /// Adds an accepted audience: `aud` must hold at least one of those added.
    pub fn audience(mut self, audience: impl Into<String>) -> AuthorizerBuilder<I, AudienceSet, K> {
        self.audiences.push(audience.into().into_boxed_str());
        self.to()
    }

    /// Accepts the issuer of each of these tenants (Entra ID with several tenants): `issuer`
    /// must be set to a template holding `{tenantid}` (as Entra's multi-tenant metadata writes
    /// it, `https://login.microsoftonline.com/{tenantid}/v2.0`); a token's `iss` must be that
    /// template filled with the token's own `tid`, which must be one of `tenants`. With an
    /// exact issuer, or the issuer check skipped, the token's `tid` must still be one of them.
    ///
    /// ```
    /// use tokengate::{Authorizer, KeySet, Profile};
    ///
    /// let authorizer = Authorizer::builder(Profile::entra())
    ///     .issuer("https://login.microsoftonline.com/{tenantid}/v2.0")
    ///     .tenants(["8c3f5a0e-1f2b-4c5d-9e8f-0a1b2c3d4e5f", "0f9e8d7c-6b5a-4938-2716-05f4e3d2c1b0"])
    ///     .audience("api://orders")
    ///     .keys(KeySet::default())
    ///     .build();
    /// assert_eq!(authorizer.issuers().count(), 2);
    /// ```
    pub fn tenants<T, S>(mut self, tenants: T) -> Self
    where
        T: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tenants
            .extend(tenants.into_iter().map(|t| t.into().into_boxed_str()));
        self
    }

    /// Adds an accepted authorized party: `azp` must be one of those added. Keycloak's access
    /// tokens name the client there and often carry no `aud` for the API, so this stands in
    /// for the audience check.
    pub fn authorized_party(
        mut self,
        client_id: impl Into<String>,
    ) -> AuthorizerBuilder<I, AudienceSet, K> {
        self.authorized_parties
            .push(client_id.into().into_boxed_str());
        self.to()
    }

    /// Requires a claim to hold one of `values`: a string equal to one, an array of strings
    /// holding one, or a number or boolean written as one (`"true"`, `"2"`). The claim is a
    /// [`ClaimPath`] (`"tid"`, `"realm_access.roles"`, a namespaced URL). Absent →
    /// [`AuthErrorKind::MissingClaim`]; another value → [`AuthErrorKind::ClaimMismatch`].
    /// Requirements added for several claims must all hold.
    ///
    /// ```
    /// use tokengate::{Authorizer, KeySet, Profile};
    ///
    /// let authorizer = Authorizer::builder(Profile::entra())
    ///     .issuer("https://login.microsoftonline.com/8c3f5a0e-1f2b-4c5d-9e8f-0a1b2c3d4e5f/v2.0")
    ///     .audience("api://orders")
    ///     .require_claim("azpacr", ["1", "2"]) // a client that authenticated with a secret or a certificate
    ///     .keys(KeySet::default())
    ///     .build();
    /// # let _ = authorizer;
    /// ```
    pub fn require_claim<P, V, S>(mut self, claim: P, values: V) -> Self
    where
        P: Into<ClaimPath>,
        V: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let path = claim.into();
        let values = values.into_iter().map(|v| v.into().into_boxed_str());
        match self.required.iter_mut().find(|r| r.path == path) {
            Some(existing) => {
                let mut all = std::mem::take(&mut existing.values).into_vec();
                all.extend(values);
                existing.values = all.into();
            }
            None => self.required.push(RequiredClaim {
                path,
                values: values.collect(),
            }),
        }
        self
    }

    /// Adds a check of your own over the claims (your typed `T` included, read from the
    /// payload). A token it refuses gets 401 `invalid_token` with a fixed description
    /// ([`AuthErrorKind::CheckFailed`]).
    ///
    /// Checks run after every other rule and before the token is cached: the verified-token
    /// cache only ever holds tokens that passed them, and a cache hit does not run them again.
    /// So a check must depend on the token alone; one whose answer changes with time (a deny
    /// list) belongs in a per-route [`Requirement::predicate`](crate::Requirement::predicate),
    /// which runs on every request, or needs [`disable_token_cache`](Self::disable_token_cache).
    ///
    /// ```
    /// use tokengate::{Authorizer, Claims, KeySet, Profile};
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Tenant { tenant: String }
    ///
    /// let authorizer = Authorizer::builder(Profile::generic())
    ///     .issuer("https://issuer.example")
    ///     .audience("https://api.example")
    ///     .check(|claims: &Claims<Tenant>| claims.tenant.starts_with("eu-"))
    ///     .keys(KeySet::default())
    ///     .build();
    /// # let _ = authorizer;
    /// ```
    pub fn check<T, F>(mut self, check: F) -> Self
    where
        T: DeserializeOwned + Send + Sync + 'static,
        F: Fn(&Claims<T>) -> bool + Send + Sync + 'static,
    {
        self.checks.push(Check::new(check));
        self
    }

    /// Adds an accepted client id: the profile's client claim must be one of those added
    /// (`client_id`; `azp` for Keycloak and Entra ID; `azp` or `client_id` for Auth0; `cid` for
    /// Okta; for Cognito ID tokens, `aud` must hold one).
    pub fn client_id(
        mut self,
        client_id: impl Into<String>,
    ) -> AuthorizerBuilder<I, AudienceSet, K> {
        self.client_ids.push(client_id.into().into_boxed_str());
        self.to()
    }

    /// Accepts tokens for any audience and any client. Gives up the check that the token
    /// was meant for this API: a token the issuer minted for another service passes.
    pub fn skip_audience_check(mut self) -> AuthorizerBuilder<I, AudienceSet, K> {
        self.audiences.clear();
        self.client_ids.clear();
        self.authorized_parties.clear();
        self.to()
    }

    /// Static keys that verify signatures: a set known in advance, never refreshed.
    pub fn keys(self, keys: KeySet) -> AuthorizerBuilder<I, A, KeysSet> {
        self.retype(|_| KeysSet(keys))
    }

    /// Keys fetched from the issuer and cached: by discovery or from a JWKS URL. `build()`
    /// then checks their settings and returns a `Result`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tokengate::{Authorizer, ErrorKind, Profile, RemoteJwks};
    ///
    /// const ISSUER: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example";
    /// let builder = || {
    ///     Authorizer::builder(Profile::cognito_access())
    ///         .issuer(ISSUER)
    ///         .client_id("3n4b5urk1ft4fl3mg5e62d9ado")
    /// };
    /// let authorizer = builder().remote_jwks(RemoteJwks::discover(ISSUER)?).build()?;
    ///
    /// // A cooldown longer than the TTL is refused when the authorizer is built.
    /// let jwks = RemoteJwks::discover(ISSUER)?.cooldown(Duration::from_secs(3600));
    /// let err = builder().remote_jwks(jwks).build().unwrap_err();
    /// assert!(matches!(err.kind(), ErrorKind::Config(_)));
    /// # let _ = authorizer;
    /// # Ok::<(), tokengate::Error>(())
    /// ```
    pub fn remote_jwks(self, jwks: RemoteJwks) -> AuthorizerBuilder<I, A, RemoteKeysSet> {
        self.retype(|_| RemoteKeysSet(Box::new(jwks)))
    }

    /// Checks opaque tokens (anything that is not a compact JWS) by RFC 7662 introspection at
    /// the issuer, under the same policy as JWTs: issuer, audience or client, scopes, required
    /// claims, custom checks, `exp`. With keys as well, JWTs are verified here and only opaque
    /// tokens are introspected; without keys, every token is introspected. See
    /// [`Introspection`] for the answers' cache and its TTLs. The keys already chosen stay
    /// (and with them what `build()` returns).
    pub fn introspection(
        mut self,
        introspection: Introspection,
    ) -> AuthorizerBuilder<I, A, K::WithIntrospection>
    where
        K: KeysState,
    {
        self.introspection = Some(introspection);
        self.retype(K::with_introspection)
    }

    /// The budget of the verified-token cache, in bytes of tokens and claims. Defaults to
    /// 16 MiB (some 10,000 Cognito access tokens read with `()` claims).
    ///
    /// A token that validated is not verified again until it expires, its issuer's key set
    /// changes or it is evicted; every time rule is still checked on each use, and per-route
    /// requirements still run on every request. Once the cache is full, a token is kept from
    /// its second validation, so a flood of one-shot tokens neither evicts the tokens that
    /// come back nor pays for an eviction. An entry's weight counts your claims type `T`:
    /// `serde_json::Value` as allocated, any other non-empty `T` as its size plus the
    /// payload's length. The cache has up to four shards per core, each with its share of
    /// the budget; an entry heavier than one share is not kept.
    pub fn token_cache_max_bytes(mut self, bytes: u64) -> Self {
        self.token_cache_bytes = Some(bytes);
        self
    }

    /// Verifies every token's signature on every request. Gives up speed only.
    pub fn disable_token_cache(mut self) -> Self {
        self.token_cache_bytes = None;
        self
    }

    /// One leeway for `exp`, `nbf` and `iat`. Defaults to 30 seconds.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway.as_secs();
        self
    }

    /// The accepted signature algorithms. Defaults to [`AlgorithmSet::DEFAULT`]
    /// (RS256/384/512, PS256/384/512, ES256/384, EdDSA).
    pub fn algorithms(mut self, algorithms: AlgorithmSet) -> Self {
        self.algorithms = algorithms;
        self
    }

    /// The longest token accepted, in bytes. Defaults to 8 KiB.
    pub fn max_token_len(mut self, bytes: usize) -> Self {
        self.max_token_len = bytes;
        self
    }

    /// The clock every time check reads. Defaults to [`SystemClock`].
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }
}

impl<I, A, K> AuthorizerBuilder<I, A, K> {
    /// Builds the authorizer: with static keys ([`AuthorizerBuilder::keys`]) the
    /// [`Authorizer`] itself, with remote keys ([`AuthorizerBuilder::remote_jwks`]) a
    /// `Result`, since their settings are checked here.
    ///
    /// # Errors
    ///
    /// With remote keys, [`ErrorKind::Config`] when the trust bounds do not nest
    /// (`cooldown ≤ ttl ≤ max_ttl ≤ max_staleness`), a timeout is zero, or the HTTP client
    /// cannot be built; [`ErrorKind::InvalidUrl`] for an `http://` URL to a host other than
    /// loopback without [`RemoteJwks::allow_insecure_http`].
    pub fn build(self) -> K::Built
    where
        I: IssuerChosen,
        A: AudienceChosen,
        K: KeysChosen + KeysState,
    {
        K::build(self)
    }

    /// The authorizer, with keys already resolved.
    fn assemble(self, keys: KeySource, has_keys: bool) -> Authorizer {
        let mut parts = PolicyParts::new(self.profile, self.issuer, self.leeway);
        parts.tenants = self.tenants;
        parts.audiences = self.audiences;
        parts.client_ids = self.client_ids;
        parts.authorized_parties = self.authorized_parties;
        parts.required = self.required;
        parts.checks = self.checks;
        Authorizer::from_issuers(
            vec![Issuer {
                policy: Policy::new(parts),
                headers: HeaderMemo::default(),
                keys,
                has_keys,
                introspection: self
                    .introspection
                    .map(|i| Arc::new(i.into_introspector(Arc::clone(&self.clock)))),
                algorithms: self.algorithms,
                max_token_len: self.max_token_len,
                clock: self.clock,
            }],
            self.token_cache_bytes,
        )
    }
}

impl<I, A, K: fmt::Debug> fmt::Debug for AuthorizerBuilder<I, A, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizerBuilder")
            .field("profile", &self.profile)
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .field("client_ids", &self.client_ids)
            .field("authorized_parties", &self.authorized_parties)
            .field("tenants", &self.tenants)
            .field("required", &self.required)
            .field("keys", &self.keys)
            .field("leeway", &self.leeway)
            .field("algorithms", &self.algorithms)
            .finish_non_exhaustive()
    }
}
