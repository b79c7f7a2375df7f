//! Replay detection for DPoP proofs (RFC 9449 §11.1): a `jti` is accepted once within the
//! window its proof is acceptable in. [`ReplayStore`] is the seam; [`MemoryReplayStore`]
//! (moka) is the default, and `RedisReplayStore` (feature `redis`) is shared by replicas.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use moka::Expiry;
use moka::sync::Cache;

/// The future a [`ReplayStore`] answers with.
pub type ReplayFuture<'a> =
    Pin<Box<dyn Future<Output = Result<bool, ReplayStoreError>> + Send + 'a>>;

/// Where the `jti`s of accepted DPoP proofs are remembered.
///
/// Implement it to put replay detection in another shared store. `first_use` must be atomic:
/// of two concurrent calls with one key, exactly one may answer `Ok(true)`.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use tokengate::{MemoryReplayStore, ReplayStore};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let store = MemoryReplayStore::new();
/// let key = [7u8; 32];
/// assert!(store.first_use(&key, Duration::from_secs(60)).await.unwrap());
/// assert!(!store.first_use(&key, Duration::from_secs(60)).await.unwrap());
/// # }
/// ```
pub trait ReplayStore: Send + Sync + fmt::Debug + 'static {
    /// Records `key` for `ttl`: `Ok(true)` when it was not recorded (the proof's first use),
    /// `Ok(false)` when it was and has not expired (a replay).
    ///
    /// `key` is the SHA-256 of the proof key's thumbprint and the proof's `jti`: fixed size
    /// whatever the client sent, and one client cannot use up another's `jti`s.
    ///
    /// # Errors
    ///
    /// [`ReplayStoreError`] when the store cannot answer; the layer then refuses the request
    /// with 503 unless told otherwise.
    fn first_use<'a>(&'a self, key: &'a [u8; 32], ttl: Duration) -> ReplayFuture<'a>;
}

/// A replay store could not answer (unreachable, timed out, full).
#[derive(Debug)]
pub struct ReplayStoreError(Box<dyn std::error::Error + Send + Sync>);

impl ReplayStoreError {
    /// An error with this cause.
    pub fn new(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self(cause.into())
    }
}

impl fmt::Display for ReplayStoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the DPoP replay store cannot answer: {}", self.0)
    }
}

impl std::error::Error for ReplayStoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

/// The in-memory replay store: one process's `jti`s in a moka cache, each entry expiring when
/// its proof would be refused anyway.
///
/// Entries are never evicted before they expire (evicting one would let its proof be
/// replayed): when the store holds `max_entries`, new proofs are refused with 503 until
/// entries expire. Several replicas each with their own memory store do not see each other's
/// proofs; use `RedisReplayStore` (feature `redis`) for that.
#[derive(Clone)]
pub struct MemoryReplayStore {
    seen: Cache<[u8; 32], Duration>,
    /// Entries inserted and not yet removed: exact where moka's own count lags.
    live: Arc<AtomicU64>,
    max_entries: u64,
}

/// The default bound of [`MemoryReplayStore`]: a million proofs, enough for 8,000 DPoP
/// requests a second (each proof is kept 125 s with the default window).
pub const DEFAULT_MAX_REPLAY_ENTRIES: u64 = 1_000_000;

/// Each entry lives for the TTL it was inserted with.
struct InsertedTtl;

impl Expiry<[u8; 32], Duration> for InsertedTtl {
    fn expire_after_create(
        &self,
        _key: &[u8; 32],
        ttl: &Duration,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(*ttl)
    }
}

impl MemoryReplayStore {
    /// A store of at most [`DEFAULT_MAX_REPLAY_ENTRIES`] proofs.
    pub fn new() -> Self {
        Self::with_max_entries(DEFAULT_MAX_REPLAY_ENTRIES)
    }

    /// A store of at most `max_entries` proofs.
    pub fn with_max_entries(max_entries: u64) -> Self {
        let live = Arc::new(AtomicU64::new(0));
        let removed = Arc::clone(&live);
        Self {
            // No `max_capacity`: moka would evict (or refuse to admit) entries to stay under
            // it, and a forgotten `jti` is a replay accepted. The bound is checked by hand.
            seen: Cache::builder()
                .expire_after(InsertedTtl)
                .eviction_listener(move |_, _, _| {
                    removed.fetch_sub(1, Ordering::Relaxed);
                })
                .build(),
            live,
            max_entries,
        }
    }

    /// How many proofs the store holds, expired ones not yet swept included.
    pub fn len(&self) -> u64 {
        self.live.load(Ordering::Relaxed)
    }

    /// Whether the store holds no proof.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// [`ReplayStore::first_use`], without the future.
    pub(crate) fn record(&self, key: &[u8; 32], ttl: Duration) -> Result<bool, ReplayStoreError> {
        if self.len() >= self.max_entries {
            // Expired entries may not be swept yet: sweep before refusing.
            self.seen.run_pending_tasks();
            if self.len() >= self.max_entries {
                return Err(ReplayStoreError::new(format!(
                    "the in-memory store holds its limit of {} proofs",
                    self.max_entries
                )));
            }
        }
        // `or_insert_with`, not `or_insert`: only the former coalesces concurrent calls on one
        // key, so that exactly one of them sees a fresh entry.
        let fresh = self
            .seen
            .entry_by_ref(key)
            .or_insert_with(|| ttl)
            .is_fresh();
        if fresh {
            self.live.fetch_add(1, Ordering::Relaxed);
        }
        Ok(fresh)
    }
}

impl Default for MemoryReplayStore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryReplayStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryReplayStore")
            .field("entries", &self.len())
            .field("max_entries", &self.max_entries)
            .finish()
    }
}

impl ReplayStore for MemoryReplayStore {
    fn first_use<'a>(&'a self, key: &'a [u8; 32], ttl: Duration) -> ReplayFuture<'a> {
        let answer = self.record(key, ttl);
        Box::pin(std::future::ready(answer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now<F: Future>(fut: F) -> F::Output {
        let mut fut = std::pin::pin!(fut);
        match fut
            .as_mut()
            .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
        {
            std::task::Poll::Ready(out) => out,
            std::task::Poll::Pending => panic!("the memory store never waits"),
        }
    }

    #[test]
    fn a_key_is_new_once_until_it_expires() {
        let store = MemoryReplayStore::new();
        let ttl = Duration::from_millis(300);
        assert!(now(store.first_use(&[1; 32], ttl)).expect("answer"));
        assert!(!now(store.first_use(&[1; 32], ttl)).expect("answer"));
        assert!(now(store.first_use(&[2; 32], ttl)).expect("answer"));
        std::thread::sleep(Duration::from_millis(400));
        assert!(
            now(store.first_use(&[1; 32], ttl)).expect("answer"),
            "expired"
        );
    }

    #[test]
    fn a_full_store_refuses_rather_than_forgets() {
        let store = MemoryReplayStore::with_max_entries(3);
        let ttl = Duration::from_secs(60);
        for i in 0..3 {
            assert!(now(store.first_use(&[i; 32], ttl)).expect("room"));
        }
        assert!(now(store.first_use(&[9; 32], ttl)).is_err());
        store.seen.run_pending_tasks();
        assert_eq!(store.len(), 3, "nothing was evicted to make room");
        assert_eq!(store.seen.entry_count(), 3);

        // Expired entries make room again.
        let short = MemoryReplayStore::with_max_entries(1);
        assert!(now(short.first_use(&[1; 32], Duration::from_millis(100))).expect("room"));
        assert!(now(short.first_use(&[2; 32], ttl)).is_err());
        // moka sweeps expired entries on its timer wheel's tick (about a second).
        let deadline = Instant::now() + Duration::from_secs(5);
        while now(short.first_use(&[2; 32], ttl)).is_err() {
            assert!(Instant::now() < deadline, "no room after the entry expired");
            std::thread::sleep(Duration::from_millis(100));
        }
        assert_eq!(short.len(), 1);
    }

    #[test]
    fn concurrent_first_uses_of_one_key_let_exactly_one_through() {
        let store = MemoryReplayStore::new();
        let firsts: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        (0..200u8)
                            .filter(|i| {
                                now(store.first_use(&[*i; 32], Duration::from_secs(60)))
                                    .expect("answer")
                            })
                            .count()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("thread")).sum()
        });
        assert_eq!(firsts, 200);
    }
}
