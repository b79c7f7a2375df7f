//! The one place every time check reads the clock from.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of the current time, in seconds since the Unix epoch.
///
/// Every check that reads the clock (`exp`, `nbf`, `iat`) asks the authorizer's clock, so tests
/// can set the time with [`ManualClock`].
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// Seconds since the Unix epoch.
    fn now_unix(&self) -> u64;

    /// Milliseconds since the Unix epoch: the key cache's TTLs, cooldowns and backoff.
    fn now_millis(&self) -> u64 {
        self.now_unix().saturating_mul(1000)
    }
}

/// The system's wall clock. The default.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix(&self) -> u64 {
        self.now_millis() / 1000
    }

    fn now_millis(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

/// A clock that stands still until told to move; clones share the same time.
///
/// It drives everything time-dependent: token expiry, and the key cache's TTL, cooldown,
/// staleness bound and retry backoff.
///
/// ```
/// use tokengate::{Clock, ManualClock};
///
/// let clock = ManualClock::new(1_000);
/// let seen_by_authorizer = clock.clone();
/// clock.advance(60);
/// assert_eq!(seen_by_authorizer.now_unix(), 1_060);
/// ```
#[derive(Clone, Debug, Default)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// A clock reading `unix_seconds`.
    pub fn new(unix_seconds: u64) -> Self {
        Self(Arc::new(AtomicU64::new(unix_seconds.saturating_mul(1000))))
    }

    /// A clock reading the system time now, then standing still.
    pub fn starting_now() -> Self {
        Self::new(SystemClock.now_unix())
    }

    /// Sets the time, in seconds since the epoch.
    pub fn set(&self, unix_seconds: u64) {
        self.0
            .store(unix_seconds.saturating_mul(1000), Ordering::SeqCst);
    }

    /// Moves the time forward by `seconds`.
    pub fn advance(&self, seconds: u64) {
        self.advance_millis(seconds.saturating_mul(1000));
    }

    /// Moves the time forward by `millis` milliseconds (stopping at the end of time rather
    /// than wrapping around).
    pub fn advance_millis(&self, millis: u64) {
        let _ = self
            .0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                Some(t.saturating_add(millis))
            });
    }

    /// Moves the time back by `seconds`.
    pub fn rewind(&self, seconds: u64) {
        let _ = self
            .0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                Some(t.saturating_sub(seconds.saturating_mul(1000)))
            });
    }
}

impl Clock for ManualClock {
    fn now_unix(&self) -> u64 {
        self.now_millis() / 1000
    }

    fn now_millis(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}
