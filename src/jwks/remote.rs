//! [`RemoteJwks`]: an issuer's key set fetched over HTTP, cached, refreshed in the background.
//!
//! Reads are lock-free (an `ArcSwap` snapshot). Fetches are single flight: every caller that
//! needs keys while one fetch runs waits for that fetch, and no lock is held across I/O (the
//! fetch runs in its own task and reports through a `watch` channel).

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, SystemTime};

use arc_swap::{ArcSwapOption, Guard};
use reqwest::{Client, Url};
use tokio::sync::watch;

use crate::clock::Clock;
use crate::error::{AuthError, AuthErrorKind, Error, ErrorKind};
use crate::jwks::KeySet;
use crate::jwks::discovery::discover_jwks_uri;
use crate::jwks::fetch::{FetchLimits, default_client, fetch_json};
use crate::jwks::key_set::DEFAULT_MAX_KEYS;

/// Where a remote key set comes from, and how it is cached.
///
/// ```
/// use std::time::Duration;
/// use tokengate::RemoteJwks;
///
/// let jwks = RemoteJwks::discover("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example")?
///     .cooldown(Duration::from_secs(10))
///     .max_staleness(Duration::from_secs(6 * 3600));
/// # Ok::<(), tokengate::Error>(())
/// ```
#[derive(Clone)]
pub struct RemoteJwks {
    source: Source,
    config: Config,
    client: Option<Client>,
}

#[derive(Clone, Debug)]
enum Source {
    Discovery { issuer: String, url: Url },
    Uri(Url),
}

#[derive(Clone, Debug)]
struct Config {
    ttl: Duration,
    max_ttl: Duration,
    cooldown: Duration,
    max_staleness: Duration,
    connect_timeout: Duration,
    limits: FetchLimits,
    max_keys: usize,
    min_backoff: Duration,
    max_backoff: Duration,
    check_interval: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(10 * 60),
            max_ttl: Duration::from_secs(24 * 3600),
            cooldown: Duration::from_secs(30),
            max_staleness: Duration::from_secs(24 * 3600),
            connect_timeout: Duration::from_secs(2),
            limits: FetchLimits {
                timeout: Duration::from_secs(5),
                max_body: 1024 * 1024,
            },
            max_keys: DEFAULT_MAX_KEYS,
            min_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(5 * 60),
            check_interval: Duration::from_secs(1),
        }
    }
}

pub(crate) fn parse_url(url: &str) -> Result<Url, Error> {
    let invalid = |reason| {
        Error::new(ErrorKind::InvalidUrl {
            url: url.to_owned(),
            reason,
        })
    };
    let parsed = Url::parse(url).map_err(|_| invalid("not an absolute URL"))?;
    match parsed.scheme() {
        "https" | "http" => {}
        _ => {
            return Err(invalid(
                "the scheme must be https (or http for local tests)",
            ));
        }
    }
    if parsed.cannot_be_a_base() || parsed.host().is_none() {
        return Err(invalid("no host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() || parsed.fragment().is_some() {
        return Err(invalid("credentials and fragments are not allowed"));
    }
    Ok(parsed)
}

impl RemoteJwks {
    /// Keys found through the issuer's metadata: `{issuer}/.well-known/openid-configuration`,
    /// then RFC 8414's `/.well-known/oauth-authorization-server`. The document's `issuer` must
    /// equal `issuer` exactly.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidUrl`] when `issuer` is not an http(s) URL with a host.
    pub fn discover(issuer: impl Into<String>) -> Result<Self, Error> {
        let issuer = issuer.into();
        let url = parse_url(&issuer)?;
        Ok(Self::new(Source::Discovery { issuer, url }))
    }

    /// Keys fetched from this JWKS URL.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidUrl`] when `jwks_uri` is not an http(s) URL with a host.
    pub fn from_uri(jwks_uri: impl AsRef<str>) -> Result<Self, Error> {
        Ok(Self::new(Source::Uri(parse_url(jwks_uri.as_ref())?)))
    }

    fn new(source: Source) -> Self {
        Self {
            source,
            config: Config::default(),
            client: None,
        }
    }

    /// How long a fetched set is fresh when the response has no `Cache-Control: max-age`.
    /// A background refresh runs at about 80 % of it. Defaults to 10 minutes.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.config.ttl = ttl;
        self
    }

    /// The least time between two fetches caused by unknown `kid`s; during it an unknown `kid`
    /// is refused at once. Also the floor for `max-age`. Defaults to 30 seconds.
    pub fn cooldown(mut self, cooldown: Duration) -> Self {
        self.config.cooldown = cooldown;
        self
    }

    /// How long the last good set keeps being used while the issuer cannot be reached. Past
    /// it, requests get [`AuthErrorKind::KeysUnavailable`] (a 503). Defaults to 24 hours.
    pub fn max_staleness(mut self, max_staleness: Duration) -> Self {
        self.config.max_staleness = max_staleness;
        self
    }

    /// Time allowed to connect. Defaults to 2 seconds. Ignored with [`RemoteJwks::http_client`].
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout = timeout;
        self
    }

    /// Time allowed for a whole fetch, body included. Defaults to 5 seconds.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.config.limits.timeout = timeout;
        self
    }

    /// The largest document accepted, in bytes. Defaults to 1 MiB.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.config.limits.max_body = bytes;
        self
    }

    /// The most keys a set may hold. Defaults to 100.
    pub fn max_keys(mut self, max_keys: usize) -> Self {
        self.config.max_keys = max_keys;
        self
    }

    /// Bounds of the exponential backoff between background retries while fetches fail.
    /// Default to 1 second and 5 minutes.
    pub fn retry_backoff(mut self, min: Duration, max: Duration) -> Self {
        self.config.min_backoff = min;
        self.config.max_backoff = max.max(min);
        self
    }

    /// How often the background task looks at the clock to see whether a refresh or a retry
    /// is due. Defaults to 1 second.
    pub fn refresh_check_interval(mut self, interval: Duration) -> Self {
        self.config.check_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// Your own HTTP client (proxies, root certificates). Its redirects are still refused.
    pub fn http_client(mut self, client: Client) -> Self {
        self.client = Some(client);
        self
    }

    pub(crate) fn into_cache(self, clock: Arc<dyn Clock>) -> KeyCache {
        KeyCache {
            shared: Arc::new(Shared {
                clock,
                source: self.source,
                config: self.config,
                client: self.client,
                default_client: std::sync::OnceLock::new(),
                snapshot: ArcSwapOption::empty(),
                jwks_uri: ArcSwapOption::empty(),
                inflight: Mutex::new(None),
                last_attempt: Mutex::new(None),
                retry_at: Mutex::new(None),
                refresher_started: AtomicBool::new(false),
                generation: AtomicU64::new(0),
                fetches: AtomicU64::new(0),
                failures: AtomicU64::new(0),
                last_error: Mutex::new(None),
                last_success: Mutex::new(None),
            }),
        }
    }
}

impl fmt::Debug for RemoteJwks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteJwks")
            .field("source", &self.source)
            .field("config", &self.config)
            .field("custom_client", &self.client.is_some())
            .finish()
    }
}

/// A key set as fetched at one moment.
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub(crate) keys: KeySet,
    /// Clock milliseconds when fetched.
    fetched_at: u64,
    ttl: Duration,
    /// Clock milliseconds when the background refresh is due (≈80 % of the TTL, jittered).
    refresh_at: u64,
    generation: u64,
}

type Outcome = Result<(), Arc<Error>>;

/// The state of one remote key set; cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct KeyCache {
    shared: Arc<Shared>,
}

struct Shared {
    clock: Arc<dyn Clock>,
    source: Source,
    config: Config,
    client: Option<Client>,
    default_client: std::sync::OnceLock<Result<Client, String>>,
    snapshot: ArcSwapOption<Snapshot>,
    jwks_uri: ArcSwapOption<Url>,
    inflight: Mutex<Option<watch::Receiver<Option<Outcome>>>>,
    /// Clock milliseconds when the last fetch started.
    last_attempt: Mutex<Option<u64>>,
    /// Clock milliseconds before which the background task does not retry (backoff).
    retry_at: Mutex<Option<(u64, Duration)>>,
    refresher_started: AtomicBool,
    generation: AtomicU64,
    fetches: AtomicU64,
    failures: AtomicU64,
    last_error: Mutex<Option<String>>,
    last_success: Mutex<Option<SystemTime>>,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyCache")
            .field("source", &self.source)
            .field("generation", &self.generation.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    fn now(&self) -> u64 {
        self.clock.now_millis()
    }

    /// Time since the clock read `millis`.
    fn since(&self, millis: u64) -> Duration {
        Duration::from_millis(self.now().saturating_sub(millis))
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// What the current snapshot can do for a request.
#[derive(Debug)]
pub(crate) enum Lookup<'a> {
    /// No set was ever fetched.
    Cold,
    /// The set is older than the staleness bound.
    Stale,
    /// A usable set.
    Ready(&'a Snapshot),
}

impl Snapshot {
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }
}

/// How healthy one issuer's key set is.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyStatus {
    /// Within its TTL (or static keys).
    Fresh,
    /// Past its TTL but within the staleness bound: still used while refreshes fail.
    Stale,
    /// No usable set: requests get 503.
    Unavailable,
}

/// A snapshot of one issuer's key set, for health endpoints and logs.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct KeySetHealth {
    /// The issuer, when known.
    pub issuer: Option<String>,
    /// Where the keys come from: a URL, or `static`.
    pub source: String,
    /// Fresh, stale or unavailable.
    pub status: KeyStatus,
    /// The `kid`s of the usable keys.
    pub kids: Vec<String>,
    /// Time since the set was fetched.
    pub age: Option<Duration>,
    /// When the last fetch succeeded.
    pub last_success: Option<SystemTime>,
    /// The last fetch error, if the last fetch failed.
    pub last_error: Option<String>,
    /// Fetches started.
    pub fetches: u64,
    /// Fetches that failed.
    pub failures: u64,
}

impl KeySetHealth {
    pub(crate) fn of_static(issuer: Option<&str>, keys: &KeySet) -> Self {
        Self {
            issuer: issuer.map(str::to_owned),
            source: "static".to_owned(),
            status: KeyStatus::Fresh,
            kids: keys
                .keys()
                .iter()
                .filter_map(|k| k.kid().map(str::to_owned))
                .collect(),
            age: None,
            last_success: None,
            last_error: None,
            fetches: 0,
            failures: 0,
        }
    }
}

impl KeyCache {
    /// The current snapshot, without waiting.
    pub(crate) fn load(&self) -> Guard<Option<Arc<Snapshot>>> {
        self.ensure_refresher();
        self.shared.snapshot.load()
    }

    /// Classifies a loaded snapshot.
    pub(crate) fn lookup<'a>(&self, snapshot: Option<&'a Snapshot>) -> Lookup<'a> {
        match snapshot {
            None => Lookup::Cold,
            Some(s) if self.shared.since(s.fetched_at) > self.shared.config.max_staleness => {
                Lookup::Stale
            }
            Some(s) => Lookup::Ready(s),
        }
    }

    /// Whether a set was ever fetched.
    pub(crate) fn has_keys(&self) -> bool {
        self.shared.snapshot.load().is_some()
    }

    /// The error a request gets when no usable set can be had now.
    ///
    /// Its retry hint is the sooner of two moments when keys may come: the background task's
    /// next retry, and the end of the cooldown (when a request may fetch again).
    pub(crate) fn unavailable(&self) -> AuthError {
        let shared = &self.shared;
        let cooldown_left = lock(&shared.last_attempt)
            .map(|at| shared.config.cooldown.saturating_sub(shared.since(at)))
            .unwrap_or_default();
        let retry_left = lock(&shared.retry_at)
            .map(|(at, _)| Duration::from_millis(at.saturating_sub(shared.now())));
        let wait = retry_left.map_or(cooldown_left, |r| r.min(cooldown_left));
        AuthError::new(AuthErrorKind::KeysUnavailable)
            .with_retry_after(wait.as_secs_f64().ceil().max(1.0) as u64)
    }

    /// Whether a newer set than `generation` is in place.
    pub(crate) fn newer_than(&self, generation: u64) -> bool {
        self.shared.generation.load(Ordering::Acquire) > generation
    }

    /// Joins the running fetch, or starts one if the last began longer than the cooldown ago.
    /// `None` when the cooldown forbids a fetch: the caller answers at once.
    pub(crate) async fn refetch_within_cooldown(&self) -> Option<Outcome> {
        let rx = self.join_or_start(true)?;
        Some(wait(rx).await)
    }

    /// Joins the running fetch or starts one, whatever the cooldown.
    pub(crate) async fn refresh(&self) -> Outcome {
        match self.join_or_start(false) {
            Some(rx) => wait(rx).await,
            None => Ok(()),
        }
    }

    fn join_or_start(&self, respect_cooldown: bool) -> Option<watch::Receiver<Option<Outcome>>> {
        let shared = &self.shared;
        let mut inflight = lock(&shared.inflight);
        if let Some(rx) = &*inflight {
            return Some(rx.clone());
        }
        {
            let mut last = lock(&shared.last_attempt);
            if respect_cooldown && last.is_some_and(|at| shared.since(at) < shared.config.cooldown)
            {
                return None;
            }
            *last = Some(shared.now());
        }
        let (tx, rx) = watch::channel(None);
        *inflight = Some(rx.clone());
        drop(inflight);
        let cache = self.clone();
        tokio::spawn(async move {
            let outcome = cache.fetch_and_install().await.map_err(Arc::new);
            *lock(&cache.shared.inflight) = None;
            let _ = tx.send(Some(outcome));
        });
        Some(rx)
    }

    async fn fetch_and_install(&self) -> Result<(), Error> {
        let shared = &self.shared;
        shared.fetches.fetch_add(1, Ordering::Relaxed);
        let result = self.fetch().await;
        match &result {
            Ok(count) => {
                *lock(&shared.last_error) = None;
                *lock(&shared.last_success) = Some(SystemTime::now());
                tracing::debug!(source = %self.source_url(), keys = count, "key set fetched");
            }
            Err(err) => {
                shared.failures.fetch_add(1, Ordering::Relaxed);
                *lock(&shared.last_error) = Some(err.to_string());
                // Discover again next time: the metadata may have moved the key set.
                shared.jwks_uri.store(None);
                tracing::warn!(source = %self.source_url(), error = %err, "key set fetch failed");
            }
        }
        result.map(|_| ())
    }

    async fn fetch(&self) -> Result<usize, Error> {
        let shared = &self.shared;
        let client = match &shared.client {
            Some(client) => client.clone(),
            None => shared
                .default_client
                .get_or_init(|| {
                    default_client(shared.config.connect_timeout).map_err(|e| e.to_string())
                })
                .clone()
                .map_err(|e| Error::new(ErrorKind::Config(e)))?,
        };
        let limits = &shared.config.limits;
        let uri = match &shared.source {
            Source::Uri(url) => url.clone(),
            Source::Discovery { issuer, url } => match shared.jwks_uri.load_full() {
                Some(found) => (*found).clone(),
                None => {
                    tracing::debug!(issuer = %issuer, "discovering the key set");
                    let found = discover_jwks_uri(&client, issuer, url, limits).await?;
                    shared.jwks_uri.store(Some(Arc::new(found.clone())));
                    found
                }
            },
        };
        tracing::debug!(url = %uri, "fetching key set");
        let fetched = fetch_json(&client, &uri, limits).await?;
        let keys = KeySet::from_jwks_json_with_limit(&fetched.body, shared.config.max_keys)?;
        let ttl = fetched.max_age.map_or(shared.config.ttl, |age| {
            age.clamp(shared.config.cooldown, shared.config.max_ttl)
        });
        let count = keys.len();
        let generation = shared.generation.load(Ordering::Acquire) + 1;
        let now = shared.now();
        shared.snapshot.store(Some(Arc::new(Snapshot {
            keys,
            fetched_at: now,
            ttl,
            refresh_at: now.saturating_add(millis(ttl.mul_f64(0.8 * jitter()))),
            generation,
        })));
        shared.generation.store(generation, Ordering::Release);
        Ok(count)
    }

    fn source_url(&self) -> String {
        match &self.shared.source {
            Source::Uri(url) => url.to_string(),
            Source::Discovery { url, .. } => url.to_string(),
        }
    }

    /// Starts the background refresher once, from within a runtime.
    fn ensure_refresher(&self) {
        let shared = &self.shared;
        if shared.refresher_started.load(Ordering::Relaxed)
            || tokio::runtime::Handle::try_current().is_err()
            || shared.refresher_started.swap(true, Ordering::AcqRel)
        {
            return;
        }
        tokio::spawn(refresh_loop(Arc::downgrade(shared)));
    }

    pub(crate) fn health(&self, issuer: Option<&str>) -> KeySetHealth {
        let shared = &self.shared;
        let snapshot = shared.snapshot.load_full();
        let status = match (&snapshot, self.lookup(snapshot.as_deref())) {
            (_, Lookup::Cold | Lookup::Stale) => KeyStatus::Unavailable,
            (Some(s), _) if shared.since(s.fetched_at) > s.ttl => KeyStatus::Stale,
            _ => KeyStatus::Fresh,
        };
        KeySetHealth {
            issuer: issuer.map(str::to_owned),
            source: self.source_url(),
            status,
            kids: snapshot
                .as_ref()
                .map(|s| {
                    s.keys
                        .keys()
                        .iter()
                        .filter_map(|k| k.kid().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            age: snapshot.as_ref().map(|s| shared.since(s.fetched_at)),
            last_success: *lock(&shared.last_success),
            last_error: lock(&shared.last_error).clone(),
            fetches: shared.fetches.load(Ordering::Relaxed),
            failures: shared.failures.load(Ordering::Relaxed),
        }
    }
}

async fn wait(mut rx: watch::Receiver<Option<Outcome>>) -> Outcome {
    match rx.wait_for(Option::is_some).await {
        Ok(outcome) => outcome.clone().unwrap_or(Ok(())),
        Err(_) => Err(Arc::new(Error::new(ErrorKind::Config(
            "the key fetch task ended without an answer".into(),
        )))),
    }
}

/// A fraction in [0.9, 1.1), so that many services do not refresh in step.
fn jitter() -> f64 {
    let mut byte = [0u8; 2];
    let _ = aws_lc_rs::rand::fill(&mut byte);
    0.9 + f64::from(u16::from_le_bytes(byte)) / f64::from(u16::MAX) * 0.2
}

/// Refreshes ahead of expiry (≈80 % of the TTL) and retries failures with exponential
/// backoff, looking at the clock every `check_interval`. Ends when the cache is dropped.
async fn refresh_loop(shared: Weak<Shared>) {
    loop {
        let interval = match shared.upgrade() {
            Some(shared) => shared.config.check_interval,
            None => return,
        };
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let now = shared.now();
        let retry = *lock(&shared.retry_at);
        let due = match (retry, shared.snapshot.load().as_deref()) {
            (Some((at, _)), _) => now >= at,
            (None, Some(snapshot)) => now >= snapshot.refresh_at,
            (None, None) => true,
        };
        if due {
            let outcome = KeyCache {
                shared: Arc::clone(&shared),
            }
            .refresh()
            .await;
            let now = shared.now();
            let config = &shared.config;
            *lock(&shared.retry_at) = match (outcome, retry) {
                (Ok(()), _) => None,
                (Err(_), previous) => {
                    let backoff = previous
                        .map_or(config.min_backoff, |(_, b)| (b * 2).min(config.max_backoff));
                    Some((
                        now.saturating_add(millis(backoff.mul_f64(jitter()))),
                        backoff,
                    ))
                }
            };
        }
        drop(shared);
        tokio::time::sleep(interval).await;
    }
}
