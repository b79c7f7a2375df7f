//! [`KeyCache`]: one issuer's remote key set, cached and kept fresh.
//!
//! Reads are lock-free (an `ArcSwap` snapshot). Fetches are single flight: every caller that
//! needs keys while one fetch runs waits for that fetch, and no lock is held across I/O (the
//! fetch runs in its own task and reports through a `watch` channel).
//!
//! Nothing here depends on one task or one runtime staying alive:
//! - the in-flight marker is cleared by a guard that runs however the fetch ends (answer,
//!   error, panic, or its runtime dropping the task), and a marker whose sender is gone,
//!   whose answer is already out, or older than a fetch may last, counts as no fetch; a
//!   fetch that was dropped gives its cooldown back;
//! - requests keep the TTL themselves: a set past it is still used while one shared refresh
//!   runs on the caller's runtime (stale-while-revalidate);
//! - the background refresher is started again from the next call on a live runtime once it
//!   has ended, and judges whether the set is due under the lock that starts fetches, so a
//!   fetch that ended since it last looked is never followed by a second one;
//! - outside any tokio runtime, a fetch is never attempted: the caller gets
//!   [`ErrorKind::NoRuntime`] (or a 503), and cached keys keep verifying.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::{ArcSwapOption, Guard};
use reqwest::{Client, Url};
use tokio::runtime::Handle;
use tokio::sync::watch;
use tracing::Instrument as _;
use tracing::field::Empty;

use crate::clock::Clock;
use crate::error::{AuthError, AuthErrorKind, Error, ErrorKind};
use crate::jwks::KeySet;
use crate::jwks::discovery::discover_jwks_uri;
use crate::jwks::fetch::fetch_json;
use crate::jwks::remote::{Config, Source};
use crate::metrics::{self, FetchResult};

/// A key set as fetched at one moment.
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub(crate) keys: KeySet,
    /// Clock milliseconds when fetched.
    fetched_at: u64,
    /// Clock milliseconds when the set stops being fresh: requests then start a refresh.
    expires_at: u64,
    /// Clock milliseconds when the background refresh is due (≈80 % of the TTL, jittered).
    refresh_at: u64,
    generation: u64,
}

impl Snapshot {
    /// Changes only when the key material does: tokens verified under one generation stay
    /// verified while it lasts.
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }
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
    /// A set past its TTL (and the refresher's interval) while its issuer answers as far as
    /// anyone knows: no refresher is keeping it fresh (no runtime outlived a fetch). A
    /// request waits for the one shared refresh, as on a cold start, and uses this set only
    /// when the refresh cannot be had; stale-while-error, never stale-while-nobody-fetches.
    Overdue(&'a Snapshot),
}

type Outcome = Result<(), Arc<Error>>;

/// The state of one remote key set; cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct KeyCache {
    shared: Arc<Shared>,
}

/// The fetch in flight, as the waiters see it.
struct InFlight {
    id: u64,
    rx: watch::Receiver<Option<Outcome>>,
    /// Real time, since the fetch runs in real time whatever the authorizer's clock says.
    started: Instant,
}

/// When fetches happened and may happen again, in clock milliseconds.
#[derive(Clone, Copy, Debug, Default)]
struct Timing {
    /// When the last fetch that counts against the cooldown started.
    last_attempt: Option<u64>,
    /// After failures: when the next retry may start, and the backoff that led to it.
    retry: Option<(u64, Duration)>,
}

struct Shared {
    clock: Arc<dyn Clock>,
    source: Source,
    config: Config,
    client: Client,
    /// The issuer (or the source URL) in metrics and logs.
    label: String,
    snapshot: ArcSwapOption<Snapshot>,
    jwks_uri: ArcSwapOption<Url>,
    inflight: Mutex<Option<InFlight>>,
    next_fetch: AtomicU64,
    timing: Mutex<Timing>,
    /// Clock milliseconds before which no request starts a refresh of a set past its TTL:
    /// the later of the cooldown's end and the backoff's. An atomic, so that requests during
    /// an outage take no lock.
    revalidate_after: AtomicU64,
    /// Whether the last fetch failed (a retry is scheduled): a set past its TTL is then
    /// served as it is, up to `max_staleness`.
    failing: AtomicBool,
    refresher_running: AtomicBool,
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

/// Milliseconds of `d`, saturating.
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// `millis` scaled by `factor`, saturating (a float-to-integer `as` saturates).
fn scaled(millis: u64, factor: f64) -> u64 {
    (millis as f64 * factor) as u64
}

impl Shared {
    fn now(&self) -> u64 {
        self.clock.now_millis()
    }

    /// Time since the clock read `millis`.
    fn since(&self, millis: u64) -> Duration {
        Duration::from_millis(self.now().saturating_sub(millis))
    }

    /// Records new timing and the request gate derived from it.
    fn set_timing(&self, timing: &mut Timing, new: Timing) {
        *timing = new;
        let cooldown_end = new
            .last_attempt
            .map_or(0, |at| at.saturating_add(millis(self.config.cooldown)));
        let retry = new.retry.map_or(0, |(at, _)| at);
        self.failing.store(new.retry.is_some(), Ordering::Release);
        self.revalidate_after
            .store(cooldown_end.max(retry), Ordering::Release);
    }

    /// Whether the background task should fetch now.
    fn refresh_due(&self, now: u64) -> bool {
        self.refresh_due_by(&lock(&self.timing), now)
    }

    /// `refresh_due` with the timing lock already held.
    fn refresh_due_by(&self, timing: &Timing, now: u64) -> bool {
        match (timing.retry, self.snapshot.load().as_deref()) {
            (Some((at, _)), _) => now >= at,
            (None, Some(snapshot)) => now >= snapshot.refresh_at,
            (None, None) => true,
        }
    }
}

/// When a caller that finds no fetch running starts one.
#[derive(Clone, Copy, Debug)]
enum Start {
    /// Whatever the cooldown: `ready()`.
    Always,
    /// Only past the cooldown: requests.
    AfterCooldown,
    /// Only while the set is due for the background refresh (or a retry), judged at that
    /// moment: the refresher, whose earlier look may predate a fetch that has ended since.
    WhileDue,
}

enum Join {
    /// Wait on this fetch (joined or just started).
    Wait(watch::Receiver<Option<Outcome>>),
    /// No fetch now: the cooldown forbids one, or the set is no longer due.
    Skip,
    /// No fetch can run here.
    Fail(Arc<Error>),
}

impl KeyCache {
    pub(crate) fn new(
        clock: Arc<dyn Clock>,
        source: Source,
        config: Config,
        client: Client,
        label: String,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                clock,
                source,
                config,
                client,
                label,
                snapshot: ArcSwapOption::empty(),
                jwks_uri: ArcSwapOption::empty(),
                inflight: Mutex::new(None),
                next_fetch: AtomicU64::new(0),
                timing: Mutex::new(Timing::default()),
                revalidate_after: AtomicU64::new(0),
                failing: AtomicBool::new(false),
                refresher_running: AtomicBool::new(false),
                generation: AtomicU64::new(0),
                fetches: AtomicU64::new(0),
                failures: AtomicU64::new(0),
                last_error: Mutex::new(None),
                last_success: Mutex::new(None),
            }),
        }
    }

    /// The current snapshot and what it is good for ([`KeyCache::lookup`]), without waiting,
    /// the clock read once for both. A set past its TTL is looked at all the same, and one
    /// shared refresh is started (when the cooldown and backoff allow) so that the next
    /// requests get the new set.
    pub(crate) fn load_and_lookup<R>(&self, f: impl FnOnce(Lookup<'_>) -> R) -> R {
        let now = self.shared.now();
        let guard = self.load_at(now);
        f(self.lookup_at(guard.as_deref(), now))
    }

    fn load_at(&self, now: u64) -> Guard<Option<Arc<Snapshot>>> {
        self.ensure_refresher();
        let guard = self.shared.snapshot.load();
        if let Some(snapshot) = guard.as_deref()
            && now >= snapshot.expires_at
            && now >= self.shared.revalidate_after.load(Ordering::Acquire)
        {
            self.revalidate();
        }
        guard
    }

    /// Starts a refresh of an expired set without waiting for it.
    fn revalidate(&self) {
        if Handle::try_current().is_ok() {
            // The answer goes to the snapshot; nobody needs to wait for it here.
            drop(self.join_or_start(Start::AfterCooldown));
        }
    }

    /// Classifies a loaded snapshot.
    pub(crate) fn lookup<'a>(&self, snapshot: Option<&'a Snapshot>) -> Lookup<'a> {
        self.lookup_at(snapshot, self.shared.now())
    }

    fn lookup_at<'a>(&self, snapshot: Option<&'a Snapshot>, now: u64) -> Lookup<'a> {
        let shared = &self.shared;
        let Some(s) = snapshot else {
            return Lookup::Cold;
        };
        if Duration::from_millis(now.saturating_sub(s.fetched_at)) > shared.config.max_staleness {
            return Lookup::Stale;
        }
        let overdue_at = s
            .expires_at
            .saturating_add(millis(shared.config.check_interval));
        if now >= overdue_at && !shared.failing.load(Ordering::Acquire) {
            return Lookup::Overdue(s);
        }
        Lookup::Ready(s)
    }

    /// Whether a set was ever fetched. Starts the background refresher, as `load_and_lookup`
    /// does: a service that fetched its keys at startup keeps them fresh before its first
    /// request.
    pub(crate) fn has_keys(&self) -> bool {
        self.ensure_refresher();
        self.shared.snapshot.load().is_some()
    }

    /// The error a request gets when no usable set can be had now.
    ///
    /// Its retry hint is the sooner of two moments when keys may come: the next retry after
    /// a failure, and the end of the cooldown (when a request may fetch again).
    pub(crate) fn unavailable(&self) -> AuthError {
        let shared = &self.shared;
        let timing = *lock(&shared.timing);
        let cooldown_left = timing
            .last_attempt
            .map(|at| shared.config.cooldown.saturating_sub(shared.since(at)))
            .unwrap_or_default();
        let retry_left = timing
            .retry
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
        self.fetch_shared(Start::AfterCooldown).await
    }

    /// Joins the running fetch or starts one, whatever the cooldown.
    pub(crate) async fn refresh(&self) -> Outcome {
        self.fetch_shared(Start::Always).await.unwrap_or(Ok(()))
    }

    /// The background refresher's fetch, once it found the set due: joins the running fetch,
    /// or starts one if the set is still due. Judged again under the lock that starts fetches,
    /// since a fetch may have started and ended since the refresher looked; `None` when none
    /// is needed any more.
    async fn refresh_if_still_due(&self) -> Option<Outcome> {
        self.fetch_shared(Start::WhileDue).await
    }

    async fn fetch_shared(&self, start: Start) -> Option<Outcome> {
        // A fetch dropped with its runtime gave its cooldown back: start another here. Three
        // in a row means runtimes keep going away under us; say so rather than loop.
        for _ in 0..3 {
            match self.join_or_start(start) {
                Join::Skip => return None,
                Join::Fail(err) => return Some(Err(err)),
                Join::Wait(rx) => {
                    if let Some(outcome) = wait(rx).await {
                        return Some(outcome);
                    }
                }
            }
        }
        Some(Err(Arc::new(ErrorKind::FetchCancelled.into())))
    }

    /// Decides under the in-flight lock, so that deciding to start and starting are one step:
    /// a fetch installs its set and schedules its retry before its answer is out, and its
    /// marker goes only after that (a cancelled one installs nothing), so whoever holds the
    /// lock and sees no live marker judges by every fetch that has ended.
    fn join_or_start(&self, start: Start) -> Join {
        let shared = &self.shared;
        let mut inflight = lock(&shared.inflight);
        if let Some(fetch) = &*inflight {
            // A marker whose sender is gone, or that outlived any fetch, is no fetch. Nor is
            // one whose answer is out (its guard has yet to clear it): that fetch's set is
            // installed already, and the caller may have judged by it; joining would hand
            // back its old answer in place of the fetch the caller needs.
            let alive = fetch.rx.borrow().is_none()
                && fetch.rx.has_changed().is_ok()
                && fetch.started.elapsed() < shared.config.fetch_deadline();
            if alive {
                return Join::Wait(fetch.rx.clone());
            }
            *inflight = None;
        }
        let Ok(runtime) = Handle::try_current() else {
            return Join::Fail(Arc::new(ErrorKind::NoRuntime.into()));
        };
        let now = shared.now();
        let previous = {
            let mut timing = lock(&shared.timing);
            let skip = match start {
                Start::Always => false,
                Start::AfterCooldown => timing.last_attempt.is_some_and(|at| {
                    Duration::from_millis(now.saturating_sub(at)) < shared.config.cooldown
                }),
                Start::WhileDue => !shared.refresh_due_by(&timing, now),
            };
            if skip {
                return Join::Skip;
            }
            let previous = timing.last_attempt;
            let new = Timing {
                last_attempt: Some(now),
                ..*timing
            };
            shared.set_timing(&mut timing, new);
            previous
        };
        let id = shared.next_fetch.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = watch::channel(None);
        *inflight = Some(InFlight {
            id,
            rx: rx.clone(),
            started: Instant::now(),
        });
        drop(inflight);
        let guard = FetchGuard {
            cache: self.clone(),
            id,
            tx,
            previous_attempt: previous,
            started_at: now,
            finished: false,
        };
        // On a runtime that is shutting down the task is dropped at once: the guard then
        // clears the marker and gives the cooldown back.
        drop(runtime.spawn(guard.run()));
        Join::Wait(rx)
    }

    async fn fetch_and_install(&self) -> Result<(), Error> {
        let shared = &self.shared;
        shared.fetches.fetch_add(1, Ordering::Relaxed);
        let span = tracing::debug_span!(
            target: "tokengate",
            "jwks_fetch",
            issuer = %shared.label,
            result = Empty
        );
        let result = self.fetch().instrument(span.clone()).await;
        let now = shared.now();
        let mut timing = lock(&shared.timing);
        match &result {
            Ok(count) => {
                let new = Timing {
                    retry: None,
                    ..*timing
                };
                shared.set_timing(&mut timing, new);
                drop(timing);
                *lock(&shared.last_error) = None;
                *lock(&shared.last_success) = Some(SystemTime::now());
                span.record("result", FetchResult::Ok.as_str());
                metrics::key_fetch(&shared.label, FetchResult::Ok);
                metrics::key_set_age(&shared.label, Duration::ZERO);
                tracing::debug!(source = %self.source_url(), keys = count, "key set fetched");
            }
            Err(err) => {
                let config = &shared.config;
                let backoff = timing.retry.map_or(config.min_backoff, |(_, b)| {
                    b.saturating_mul(2).min(config.max_backoff)
                });
                let at = now.saturating_add(scaled(millis(backoff), jitter()));
                let new = Timing {
                    retry: Some((at, backoff)),
                    ..*timing
                };
                shared.set_timing(&mut timing, new);
                drop(timing);
                shared.failures.fetch_add(1, Ordering::Relaxed);
                *lock(&shared.last_error) = Some(err.to_string());
                // Discover again next time: the metadata may have moved the key set.
                shared.jwks_uri.store(None);
                span.record("result", FetchResult::Error.as_str());
                metrics::key_fetch(&shared.label, FetchResult::Error);
                tracing::warn!(source = %self.source_url(), error = %err, "key set fetch failed");
            }
        }
        result.map(|_| ())
    }

    async fn fetch(&self) -> Result<usize, Error> {
        let shared = &self.shared;
        let client = &shared.client;
        let config = &shared.config;
        let limits = &config.limits;
        let uri = match &shared.source {
            Source::Uri(url) => url.clone(),
            Source::Discovery { issuer, url } => match shared.jwks_uri.load_full() {
                Some(found) => (*found).clone(),
                None => {
                    tracing::debug!(issuer = %issuer, "discovering the key set");
                    let found =
                        discover_jwks_uri(client, issuer, url, limits, config.allow_insecure_http)
                            .await?;
                    shared.jwks_uri.store(Some(Arc::new(found.clone())));
                    found
                }
            },
        };
        tracing::debug!(url = %uri, "fetching key set");
        let fetched = fetch_json(client, &uri, limits).await?;
        let keys = KeySet::from_jwks_json_with_limit(&fetched.body, config.max_keys)?;
        let ttl = config.ttl_for(fetched.max_age);
        let count = keys.len();
        // The same keys keep their generation, and with it every token verified under them.
        let generation = match shared.snapshot.load().as_deref() {
            Some(current) if current.keys.same_keys(&keys) => current.generation,
            _ => shared.generation.fetch_add(1, Ordering::AcqRel) + 1,
        };
        let now = shared.now();
        shared.snapshot.store(Some(Arc::new(Snapshot {
            keys,
            fetched_at: now,
            expires_at: now.saturating_add(millis(ttl)),
            refresh_at: now.saturating_add(scaled(millis(ttl), 0.8 * jitter())),
            generation,
        })));
        Ok(count)
    }

    fn source_url(&self) -> String {
        self.shared.source.url().to_string()
    }

    /// Starts the background refresher from within a runtime, unless one is running; a
    /// refresher whose runtime went away is started again here.
    fn ensure_refresher(&self) {
        let shared = &self.shared;
        if shared.refresher_running.load(Ordering::Acquire) {
            return;
        }
        let Ok(runtime) = Handle::try_current() else {
            return;
        };
        if shared.refresher_running.swap(true, Ordering::AcqRel) {
            return;
        }
        let running = RefresherGuard(Arc::downgrade(shared));
        drop(runtime.spawn(refresh_loop(Arc::downgrade(shared), running)));
    }

    pub(crate) fn health(&self, issuer: Option<&str>) -> crate::jwks::KeySetHealth {
        use crate::jwks::{KeySetHealth, KeyStatus};
        let shared = &self.shared;
        let snapshot = shared.snapshot.load_full();
        let status = match (&snapshot, self.lookup(snapshot.as_deref())) {
            (_, Lookup::Cold | Lookup::Stale) => KeyStatus::Unavailable,
            (Some(s), _) if shared.now() >= s.expires_at => KeyStatus::Stale,
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

/// Owns one fetch's sender and in-flight marker: whatever ends the fetch (its answer, a
/// panic, or its runtime dropping the task before or during the fetch), dropping the guard
/// clears the marker and wakes the waiters.
struct FetchGuard {
    cache: KeyCache,
    id: u64,
    tx: watch::Sender<Option<Outcome>>,
    /// The cooldown's start before this fetch, given back if the fetch is cancelled.
    previous_attempt: Option<u64>,
    started_at: u64,
    finished: bool,
}

impl FetchGuard {
    async fn run(mut self) {
        let outcome = self.cache.fetch_and_install().await.map_err(Arc::new);
        self.finished = true;
        self.tx.send_replace(Some(outcome));
    }
}

impl Drop for FetchGuard {
    fn drop(&mut self) {
        let shared = &self.cache.shared;
        {
            let mut inflight = lock(&shared.inflight);
            if inflight.as_ref().is_some_and(|f| f.id == self.id) {
                *inflight = None;
            }
        }
        if self.finished {
            return;
        }
        if std::thread::panicking() {
            // A fetch that panics keeps its cooldown: it must not be retried in a loop.
            metrics::key_fetch(&shared.label, FetchResult::Error);
            return;
        }
        // Dropped before it ended: it fetched nothing, so it uses up no cooldown.
        let mut timing = lock(&shared.timing);
        if timing.last_attempt == Some(self.started_at) {
            let restored = Timing {
                last_attempt: self.previous_attempt,
                ..*timing
            };
            shared.set_timing(&mut timing, restored);
        }
        drop(timing);
        metrics::key_fetch(&shared.label, FetchResult::Cancelled);
        tracing::debug!(issuer = %shared.label, "key set fetch cancelled");
    }
}

/// Clears the refresher's running flag when its task ends, however it ends, so that the next
/// call on a live runtime starts another.
struct RefresherGuard(Weak<Shared>);

impl Drop for RefresherGuard {
    fn drop(&mut self) {
        if let Some(shared) = self.0.upgrade() {
            shared.refresher_running.store(false, Ordering::Release);
        }
    }
}

/// The fetch's outcome, or `None` when it was dropped before it answered.
async fn wait(mut rx: watch::Receiver<Option<Outcome>>) -> Option<Outcome> {
    match rx.wait_for(Option::is_some).await {
        Ok(outcome) => outcome.clone(),
        Err(_) => None,
    }
}

/// A fraction in [0.9, 1.1), so that many services do not refresh in step.
fn jitter() -> f64 {
    let mut byte = [0u8; 2];
    let _ = aws_lc_rs::rand::fill(&mut byte);
    0.9 + f64::from(u16::from_le_bytes(byte)) / f64::from(u16::MAX) * 0.2
}

/// Refreshes ahead of expiry (≈80 % of the TTL) and retries failures with exponential
/// backoff, looking at the clock every `check_interval`. Ends when the cache is dropped or
/// its runtime shuts down.
async fn refresh_loop(shared: Weak<Shared>, _running: RefresherGuard) {
    loop {
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let interval = shared.config.check_interval;
        let now = shared.now();
        if let Some(snapshot) = shared.snapshot.load().as_deref() {
            metrics::key_set_age(&shared.label, shared.since(snapshot.fetched_at));
        }
        if shared.refresh_due(now) {
            // Failures set the backoff themselves (in `fetch_and_install`).
            let _ = KeyCache { shared }.refresh_if_still_due().await;
        } else {
            drop(shared);
        }
        tokio::time::sleep(interval).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::TcpListener;

    use super::*;
    use crate::clock::ManualClock;
    use crate::jwks::fetch::default_client;

    const OLD: &str = r#"{"kty":"OKP","crv":"Ed25519","kid":"old","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
    const NEW: &str = r#"{"kty":"EC","crv":"P-256","kid":"new","x":"7A9aFqHeHWMR-rdEGcunSUkfNYHcAA95YboA4brhicA","y":"LH_i3_knfRP6t57KU0y5AV2gVJWy4jPmQA4A2h9PtyQ"}"#;

    /// A key-set endpoint on loopback serving `jwks`, counting the requests it answers.
    struct Endpoint {
        url: Url,
        jwks: Arc<Mutex<String>>,
        hits: Arc<AtomicUsize>,
    }

    async fn endpoint(jwks: &str) -> Endpoint {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/jwks.json", listener.local_addr().expect("addr"));
        let jwks = Arc::new(Mutex::new(jwks.to_owned()));
        let hits = Arc::new(AtomicUsize::new(0));
        let (served, counted) = (Arc::clone(&jwks), Arc::clone(&hits));
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.ends_with(b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                counted.fetch_add(1, Ordering::SeqCst);
                let body = lock(&served).clone();
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            }
        });
        Endpoint {
            url: Url::parse(&url).expect("url"),
            jwks,
            hits,
        }
    }

    fn cache(url: &Url, clock: &ManualClock) -> KeyCache {
        let config = Config::default();
        let client = default_client(config.connect_timeout).expect("client");
        let clock: Arc<dyn Clock> = Arc::new(clock.clone());
        KeyCache::new(
            clock,
            Source::Uri(url.clone()),
            config,
            client,
            "test".into(),
        )
    }

    fn has_kid(cache: &KeyCache, kid: &str) -> bool {
        cache
            .shared
            .snapshot
            .load()
            .as_deref()
            .is_some_and(|s| s.keys.contains_kid(kid))
    }

    /// The moment between a fetch sending its answer and its guard clearing the marker: a
    /// request that judged by the set this fetch installed must not be handed its old
    /// answer as if it were the refetch it asked for.
    #[tokio::test]
    async fn a_fetch_whose_answer_is_out_is_not_joined_by_an_unknown_kid() {
        let server = endpoint(&format!(r#"{{"keys":[{OLD}]}}"#)).await;
        let clock = ManualClock::new(1_000_000);
        let cache = cache(&server.url, &clock);
        cache.refresh().await.expect("keys at startup");
        assert!(has_kid(&cache, "old") && !has_kid(&cache, "new"));

        // The startup fetch has answered; its marker is still in place.
        let (tx, rx) = watch::channel(None);
        tx.send_replace(Some(Ok(())));
        *lock(&cache.shared.inflight) = Some(InFlight {
            id: 0,
            rx,
            started: Instant::now(),
        });
        *lock(&server.jwks) = format!(r#"{{"keys":[{OLD},{NEW}]}}"#);
        clock.advance(31);

        // A token signed with `new`: past the cooldown, its request fetches the set again.
        let outcome = cache.refetch_within_cooldown().await;
        assert!(matches!(outcome, Some(Ok(()))), "{outcome:?}");
        assert!(has_kid(&cache, "new"), "the refetch installed the new key");
        assert_eq!(server.hits.load(Ordering::SeqCst), 2);
        drop(tx);
    }

    /// The refresher found no keys and chose to fetch; before it could join or start a
    /// fetch, the one `ready()` started ran whole. The set is in and not due: the refresher
    /// starts no second fetch inside the cooldown.
    #[tokio::test]
    async fn a_refresher_that_looked_before_a_fetch_ended_fetches_nothing_more() {
        let server = endpoint(&format!(r#"{{"keys":[{OLD}]}}"#)).await;
        let clock = ManualClock::new(1_000_000);
        let cache = cache(&server.url, &clock);
        assert!(
            cache.shared.refresh_due(clock.now_millis()),
            "no keys yet: due"
        );

        cache.refresh().await.expect("keys at startup");
        assert_eq!(server.hits.load(Ordering::SeqCst), 1);

        let outcome = cache.refresh_if_still_due().await;
        assert_eq!(
            server.hits.load(Ordering::SeqCst),
            1,
            "one fetch per cooldown"
        );
        assert!(outcome.is_none(), "{outcome:?}");
        assert!(has_kid(&cache, "old"));
    }

    /// A set still due when the refresher comes to fetch is fetched, and one that turned due
    /// again after a failed fetch is retried once the backoff allows.
    #[tokio::test]
    async fn a_refresher_still_due_fetches_once_and_retries_after_the_backoff() {
        let server = endpoint(&format!(r#"{{"keys":[{OLD}]}}"#)).await;
        let clock = ManualClock::new(1_000_000);
        let cache = cache(&server.url, &clock);

        let outcome = cache.refresh_if_still_due().await;
        assert!(matches!(outcome, Some(Ok(()))), "{outcome:?}");
        assert_eq!(server.hits.load(Ordering::SeqCst), 1);

        // Past ≈80 % of the TTL the set is due again, cooldown or not.
        let ttl = cache.shared.config.ttl;
        clock.advance(ttl.as_secs());
        *lock(&server.jwks) = "not a key set".into();
        let outcome = cache.refresh_if_still_due().await;
        assert!(matches!(outcome, Some(Err(_))), "{outcome:?}");
        assert_eq!(server.hits.load(Ordering::SeqCst), 2);
        // The backoff has the next retry wait.
        assert!(cache.refresh_if_still_due().await.is_none());
        assert_eq!(server.hits.load(Ordering::SeqCst), 2);

        *lock(&server.jwks) = format!(r#"{{"keys":[{OLD},{NEW}]}}"#);
        // Past the first backoff (1 s, jittered ±10 %).
        clock.advance(2);
        let outcome = cache.refresh_if_still_due().await;
        assert!(matches!(outcome, Some(Ok(()))), "{outcome:?}");
        assert!(has_kid(&cache, "new"));
        assert_eq!(server.hits.load(Ordering::SeqCst), 3);
    }
}
