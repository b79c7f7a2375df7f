//! Opaque access tokens, checked by the issuer's introspection endpoint (RFC 7662), with the
//! answers cached.
//!
//! A token that is not a compact JWS goes here when the authorizer has an [`Introspection`]
//! (see [`AuthorizerBuilder::introspection`](crate::AuthorizerBuilder::introspection)). The
//! endpoint is configured or discovered from the issuer's metadata, never taken from a token.

mod client;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use moka::Expiry;
use moka::future::Cache;
use reqwest::Url;
use serde::de::{DeserializeOwned, IntoDeserializer};
use serde_json::value::RawValue;

use crate::claims::{Claims, NumericDate, Registered};
use crate::clock::Clock;
use crate::error::{AuthError, AuthErrorKind, Error};
use crate::jwks::parse_url;
use crate::validate::Policy;

pub(crate) use client::Endpoint;

/// How a resource server authenticates to the introspection endpoint (RFC 7662 §2.1 requires
/// it): RFC 6749 §2.3.1's `client_secret_basic` or `client_secret_post`.
#[derive(Clone)]
pub struct ClientAuth {
    id: Box<str>,
    secret: Box<str>,
    basic: bool,
}

impl ClientAuth {
    /// `client_secret_basic`: HTTP Basic with the form-encoded id and secret.
    pub fn basic(id: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            id: id.into().into(),
            secret: secret.into().into(),
            basic: true,
        }
    }

    /// `client_secret_post`: `client_id` and `client_secret` in the request body.
    pub fn post(id: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            basic: false,
            ..Self::basic(id, secret)
        }
    }

    /// The client id.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientAuth")
            .field("id", &self.id)
            .field("secret", &"[redacted]")
            .field("method", &if self.basic { "basic" } else { "post" })
            .finish()
    }
}

/// Where opaque tokens are introspected (RFC 7662), and how the answers are cached.
///
/// Answers are cached by token: `active: true` until the token's `exp` or [`positive_ttl`]
/// from the answer, whichever is sooner — so a token revoked at the issuer keeps working here
/// for up to that long; `active: false` (and an active token this policy refuses) for
/// [`negative_ttl`]. Concurrent requests with the same token share one introspection. An
/// endpoint that cannot be reached, or answers anything but 200 with JSON, is a 503 with
/// `Retry-After`, never cached.
///
/// [`positive_ttl`]: Introspection::positive_ttl
/// [`negative_ttl`]: Introspection::negative_ttl
///
/// ```
/// use std::time::Duration;
/// use tokengate::{Authorizer, ClientAuth, Introspection, Profile};
///
/// let introspection = Introspection::new(
///     "https://sso.example.com/realms/acme/protocol/openid-connect/token/introspect",
///     ClientAuth::basic("orders-api", "s3cret"),
/// )?
/// .positive_ttl(Duration::from_secs(30));
/// let authorizer = Authorizer::builder(Profile::keycloak())
///     .issuer("https://sso.example.com/realms/acme")
///     .authorized_party("orders-web")
///     .introspection(introspection)
///     .build();
/// # let _ = authorizer;
/// # Ok::<(), tokengate::Error>(())
/// ```
#[derive(Clone)]
pub struct Introspection {
    endpoint: Endpoint,
    auth: ClientAuth,
    positive_ttl: Duration,
    negative_ttl: Duration,
    connect_timeout: Duration,
    timeout: Duration,
    max_body_bytes: usize,
    max_cache_bytes: u64,
    max_in_flight: usize,
    retry_after: Duration,
    allow_insecure_http: bool,
    client: Option<Result<reqwest::Client, String>>,
}

impl fmt::Debug for Introspection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Introspection")
            .field("endpoint", &self.endpoint)
            .field("auth", &self.auth)
            .field("positive_ttl", &self.positive_ttl)
            .field("negative_ttl", &self.negative_ttl)
            .field("timeout", &self.timeout)
            .field("max_cache_bytes", &self.max_cache_bytes)
            .field("max_in_flight", &self.max_in_flight)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .finish_non_exhaustive()
    }
}

impl Introspection {
    /// Introspection at this endpoint.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidUrl`](crate::ErrorKind::InvalidUrl) when `endpoint` is not an http(s) URL with a host.
    pub fn new(endpoint: &str, auth: ClientAuth) -> Result<Self, Error> {
        Ok(Self::with(Endpoint::Given(parse_url(endpoint)?), auth))
    }

    /// Introspection at the `introspection_endpoint` of the issuer's metadata (OIDC Discovery,
    /// then RFC 8414), fetched on first use; the document's `issuer` must equal `issuer`, and
    /// the endpoint must be HTTPS unless the issuer is HTTP.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidUrl`](crate::ErrorKind::InvalidUrl) when `issuer` is not an http(s) URL with a host.
    pub fn discover(issuer: &str, auth: ClientAuth) -> Result<Self, Error> {
        let url = parse_url(issuer)?;
        Ok(Self::with(
            Endpoint::Discover {
                issuer: issuer.into(),
                url,
            },
            auth,
        ))
    }

    fn with(endpoint: Endpoint, auth: ClientAuth) -> Self {
        Self {
            endpoint,
            auth,
            positive_ttl: Duration::from_secs(60),
            negative_ttl: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(2),
            timeout: Duration::from_secs(5),
            max_body_bytes: 64 * 1024,
            max_cache_bytes: 16 * 1024 * 1024,
            max_in_flight: 64,
            retry_after: Duration::from_secs(5),
            allow_insecure_http: false,
            client: None,
        }
    }

    /// The longest an `active: true` answer is trusted (never past the token's `exp`): how
    /// long a token revoked at the issuer may still pass here. Defaults to 60 seconds.
    #[must_use]
    pub fn positive_ttl(mut self, ttl: Duration) -> Self {
        self.positive_ttl = ttl;
        self
    }

    /// How long an `active: false` answer, or a refusal of an active token, is remembered.
    /// Defaults to 10 seconds.
    #[must_use]
    pub fn negative_ttl(mut self, ttl: Duration) -> Self {
        self.negative_ttl = ttl;
        self
    }

    /// The connect timeout of the built-in HTTP client. Defaults to 2 seconds.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The limit on one introspection request. Defaults to 5 seconds.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The largest answer read. Defaults to 64 KiB.
    #[must_use]
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// The memory the answer cache may hold, counted as each token's and answer's bytes plus
    /// a fixed overhead per entry. Defaults to 16 MiB.
    #[must_use]
    pub fn max_cache_bytes(mut self, bytes: u64) -> Self {
        self.max_cache_bytes = bytes;
        self
    }

    /// How many introspection requests may be under way at once; beyond that, a token that
    /// is not cached gets 503 with `Retry-After` at once instead of another request to the
    /// issuer. Bounds what a flood of made-up tokens costs the issuer (and the service's rate
    /// limit there). Defaults to 64.
    #[must_use]
    pub fn max_in_flight(mut self, requests: usize) -> Self {
        self.max_in_flight = requests;
        self
    }

    /// The `Retry-After` of a 503 when the endpoint is down. Defaults to 5 seconds.
    #[must_use]
    pub fn retry_after(mut self, after: Duration) -> Self {
        self.retry_after = after;
        self
    }

    /// Sends tokens and client credentials over plain `http://` to any host. Gives up
    /// transport security: anyone on the network path reads every token and the client
    /// secret, and can answer `active: true` for tokens of their own. Without it, `http://`
    /// is used only for loopback hosts (`localhost`, 127.0.0.0/8, `::1`), for local tests;
    /// an `http://` endpoint (or issuer, with [`Introspection::discover`]) elsewhere is
    /// never contacted: opaque tokens get 503 and the reason is logged.
    #[must_use]
    pub fn allow_insecure_http(mut self) -> Self {
        self.allow_insecure_http = true;
        self
    }

    /// Your own HTTP client settings (proxies, root certificates). tokengate builds the
    /// client itself after turning redirects off, so the token and the client's credentials
    /// never follow a redirect, whatever the builder said; the timeout of
    /// [`Introspection::timeout`] still applies per request, and
    /// [`Introspection::connect_timeout`] is then ignored.
    ///
    /// ```
    /// use tokengate::{ClientAuth, Introspection};
    ///
    /// let introspection = Introspection::new(
    ///     "https://sso.example.com/introspect",
    ///     ClientAuth::basic("orders-api", "secret"),
    /// )?
    /// .http_client(reqwest::Client::builder().user_agent("orders-api"));
    /// # let _ = introspection;
    /// # Ok::<(), tokengate::Error>(())
    /// ```
    ///
    /// A builder that cannot be built makes every introspection fail (503, logged).
    #[must_use]
    pub fn http_client(mut self, builder: reqwest::ClientBuilder) -> Self {
        let built = builder
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"));
        self.client = Some(built);
        self
    }

    pub(crate) fn into_introspector(self, clock: Arc<dyn Clock>) -> Introspector {
        if let Err(err) = client::check_transport(&self) {
            tracing::error!(target: "tokengate", error = %err, "introspection will not be used");
        }
        let cache = Cache::builder()
            .max_capacity(self.max_cache_bytes)
            .weigher(|token: &Arc<str>, answer: &Answer| {
                let bytes = ENTRY_OVERHEAD + token.len() + answer.body_len();
                u32::try_from(bytes).unwrap_or(u32::MAX)
            })
            .expire_after(AnswerExpiry)
            .build();
        Introspector {
            client: client::client(&self),
            in_flight: tokio::sync::Semaphore::new(self.max_in_flight),
            config: self,
            endpoint: tokio::sync::OnceCell::new(),
            cache,
            clock,
            stats: Counters::default(),
        }
    }
}

/// How often introspection was used: for tests, metrics and logs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct IntrospectionStats {
    /// Requests sent to the introspection endpoint.
    pub requests: u64,
    /// Tokens answered from the cache.
    pub hits: u64,
    /// Introspections that failed (endpoint down, bad answer): 503s.
    pub failures: u64,
}

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    hits: AtomicU64,
    failures: AtomicU64,
}

/// A cached answer: valid until `until_ms` on the authorizer's clock.
#[derive(Clone, Debug)]
enum Answer {
    Active {
        registered: Arc<Registered>,
        body: Arc<str>,
        until_ms: u64,
        ttl: Duration,
    },
    Refused {
        err: AuthError,
        until_ms: u64,
        ttl: Duration,
    },
}

/// What an answer costs beyond its token and body: the entry, its claims and moka's own.
const ENTRY_OVERHEAD: usize = 512;

impl Answer {
    fn body_len(&self) -> usize {
        match self {
            Self::Active { body, .. } => body.len(),
            Self::Refused { .. } => 0,
        }
    }

    fn until_ms(&self) -> u64 {
        match self {
            Self::Active { until_ms, .. } | Self::Refused { until_ms, .. } => *until_ms,
        }
    }

    fn ttl(&self) -> Duration {
        match self {
            Self::Active { ttl, .. } | Self::Refused { ttl, .. } => *ttl,
        }
    }
}

/// Each entry leaves the cache when its own answer stops being valid.
struct AnswerExpiry;

impl Expiry<Arc<str>, Answer> for AnswerExpiry {
    fn expire_after_create(
        &self,
        _key: &Arc<str>,
        value: &Answer,
        _created_at: std::time::Instant,
    ) -> Option<Duration> {
        Some(value.ttl())
    }
}

/// An [`Introspection`] at work: its client, its cache, its counters.
pub(crate) struct Introspector {
    config: Introspection,
    client: Result<reqwest::Client, String>,
    endpoint: tokio::sync::OnceCell<Url>,
    cache: Cache<Arc<str>, Answer>,
    clock: Arc<dyn Clock>,
    in_flight: tokio::sync::Semaphore,
    stats: Counters,
}

impl fmt::Debug for Introspector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Introspector")
            .field("config", &self.config)
            .field("cached", &self.cache.entry_count())
            .finish_non_exhaustive()
    }
}

/// RFC 7662 §2.2: the answer's `active` and `token_type`; the rest is read as claims.
#[derive(serde::Deserialize)]
struct Status<'a> {
    active: Option<bool>,
    #[serde(borrow)]
    token_type: Option<&'a RawValue>,
}

impl Introspector {
    pub(crate) fn stats(&self) -> IntrospectionStats {
        IntrospectionStats {
            requests: self.stats.requests.load(Ordering::Relaxed),
            hits: self.stats.hits.load(Ordering::Relaxed),
            failures: self.stats.failures.load(Ordering::Relaxed),
        }
    }

    /// The claims of an opaque `token`, as the issuer describes it and `policy` accepts it.
    pub(crate) async fn authorize<T>(
        &self,
        token: &str,
        policy: &Policy,
    ) -> Result<Claims<T>, AuthError>
    where
        T: DeserializeOwned + Send + Sync + 'static,
    {
        let now_ms = self.clock.now_millis();
        let answer = match self.cache.get(token).await {
            Some(answer) if now_ms < answer.until_ms() => {
                self.stats.hits.fetch_add(1, Ordering::Relaxed);
                answer
            }
            stale => {
                if stale.is_some() {
                    self.cache.invalidate(token).await;
                }
                let key: Arc<str> = Arc::from(token);
                // One introspection per token at a time: others with the same token wait for
                // its answer. A failure is shared with them, and not cached.
                self.cache
                    .try_get_with(key, self.introspect(token, policy))
                    .await
                    .map_err(|err| (*err).clone())?
            }
        };
        match answer {
            Answer::Refused { err, .. } => Err(err),
            Answer::Active {
                registered, body, ..
            } => {
                let custom = if std::any::TypeId::of::<T>() == std::any::TypeId::of::<()>() {
                    T::deserialize(().into_deserializer())
                        .map_err(|_: serde::de::value::Error| AuthErrorKind::MalformedClaim)?
                } else {
                    serde_json::from_str(&body).map_err(|_| {
                        AuthError::claim(AuthErrorKind::MalformedClaim, "custom claims")
                    })?
                };
                Ok(Claims::from_parts(registered, Arc::new(custom)))
            }
        }
    }

    fn unavailable(&self) -> AuthError {
        self.stats.failures.fetch_add(1, Ordering::Relaxed);
        AuthError::new(AuthErrorKind::IntrospectionUnavailable)
            .with_retry_after(self.config.retry_after.as_secs().max(1))
    }

    /// Asks the issuer, then applies the policy to its answer.
    async fn introspect(&self, token: &str, policy: &Policy) -> Result<Answer, AuthError> {
        // reqwest's timeouts need tokio's timer: outside a runtime, no request (and no panic).
        if tokio::runtime::Handle::try_current().is_err() {
            tracing::warn!(target: "tokengate", "introspection needs a tokio runtime");
            return Err(self.unavailable());
        }
        let http = self.client.as_ref().map_err(|err| {
            tracing::error!(target: "tokengate", error = %err, "introspection has no HTTP client");
            self.unavailable()
        })?;
        let Ok(_permit) = self.in_flight.try_acquire() else {
            tracing::warn!(target: "tokengate", "too many introspections under way");
            return Err(self.unavailable());
        };
        let endpoint = self
            .endpoint
            .get_or_try_init(|| client::resolve(&self.config, http))
            .await
            .map_err(|err| {
                tracing::warn!(target: "tokengate", error = %err, "introspection endpoint not found");
                self.unavailable()
            })?;
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        let body = client::post(&self.config, http, endpoint, token)
            .await
            .map_err(|err| {
                tracing::warn!(target: "tokengate", error = %err, "introspection failed");
                self.unavailable()
            })?;
        let now_ms = self.clock.now_millis();
        let negative = |err: AuthError| Answer::Refused {
            err,
            until_ms: now_ms.saturating_add(millis(self.config.negative_ttl)),
            ttl: self.config.negative_ttl,
        };
        // RFC 7662 §2.2: a JSON object; `active` is required.
        let Ok(body) = String::from_utf8(body) else {
            return Err(self.unavailable());
        };
        if !crate::validate::starts_as_object(body.as_bytes()) {
            return Err(self.unavailable());
        }
        let Ok(status) = serde_json::from_str::<Status<'_>>(&body) else {
            return Err(self.unavailable());
        };
        if status.active != Some(true) {
            return Ok(negative(AuthError::new(AuthErrorKind::InactiveToken)));
        }
        // A refresh token (or any other kind) is not an access token; a DPoP-bound one
        // (RFC 9449 §6.2) is, its binding read from `cnf.jkt` as a JWT's.
        let mut dpop_typed = false;
        if let Some(token_type) = status.token_type {
            let kind = serde_json::from_str::<&str>(token_type.get()).ok();
            dpop_typed = kind.is_some_and(|t| t.eq_ignore_ascii_case("dpop"));
            let access = dpop_typed
                || kind.is_some_and(|t| {
                    t.eq_ignore_ascii_case("bearer") || t.eq_ignore_ascii_case("access_token")
                });
            if !access {
                return Ok(negative(AuthError::claim(
                    AuthErrorKind::WrongTokenType,
                    "token_type",
                )));
            }
        }
        let now = now_ms / 1000;
        let checked = policy.parse(&body).and_then(|mut raw| {
            // RFC 7662 makes `exp` optional: without one, the answer holds for its TTL.
            if raw.exp.is_none() {
                let until = now.saturating_add(self.config.positive_ttl.as_secs().max(1));
                raw.exp = Some(NumericDate(until));
            }
            let registered = Arc::new(policy.check_claims(&raw, now)?);
            // A DPoP token without the key it is bound to could not be checked as one.
            if dpop_typed && registered.dpop_jkt.is_none() {
                return Err(AuthError::claim(AuthErrorKind::MalformedClaim, "cnf"));
            }
            policy.run_checks(&registered, &body)?;
            Ok(registered)
        });
        let registered = match checked {
            Ok(registered) => registered,
            Err(err) => return Ok(negative(err)),
        };
        let exp_ms = registered.exp.saturating_mul(1000);
        let until_ms = exp_ms.min(now_ms.saturating_add(millis(self.config.positive_ttl)));
        Ok(Answer::Active {
            registered,
            body: body.into(),
            until_ms,
            ttl: Duration::from_millis(until_ms.saturating_sub(now_ms)),
        })
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
