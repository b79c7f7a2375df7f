//! The verified-token cache: a token that validated is not verified again until it expires,
//! its key set changes, or the entry is evicted. Per-route checks still run on every request.
//!
//! Keyed by the whole token string, compared in full, so no other string can hit an entry;
//! only successes are stored, so a cache can never turn a refusal into an acceptance.

use std::any::{Any, TypeId};
use std::fmt;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::Arc;
use std::time::Duration;

use moka::Expiry;
use moka::sync::Cache;

use crate::claims::Registered;

/// What is remembered of a validated token.
pub(crate) struct Entry {
    pub(crate) registered: Arc<Registered>,
    pub(crate) custom: Arc<dyn Any + Send + Sync>,
    pub(crate) custom_type: TypeId,
    /// Which of the authorizer's issuers validated it.
    pub(crate) issuer: usize,
    /// The key-set generation that verified it (0 for static keys).
    pub(crate) generation: u64,
    /// Until `exp` plus leeway, in real time: when the entry may be dropped. Every hit still
    /// checks `exp`, `nbf` and `iat` against the authorizer's clock.
    pub(crate) ttl: Duration,
}

/// Entries leave the cache when their token expires.
struct UntilExpiry;

impl Expiry<Box<str>, Arc<Entry>> for UntilExpiry {
    fn expire_after_create(
        &self,
        _token: &Box<str>,
        entry: &Arc<Entry>,
        _created_at: std::time::Instant,
    ) -> Option<Duration> {
        Some(entry.ttl)
    }
}

/// Hashes a token by its length and last 32 bytes (the tail of its signature) with a
/// per-process random key: cheap for kilobyte tokens, unpredictable to an attacker. Equality
/// still compares whole strings; and only tokens with valid signatures are ever inserted, so
/// colliding garbage costs one failed string comparison, nothing more.
#[derive(Clone)]
pub(crate) struct TailHash(RandomState);

pub(crate) struct TailHasher(std::hash::DefaultHasher);

impl BuildHasher for TailHash {
    type Hasher = TailHasher;

    fn build_hasher(&self) -> TailHasher {
        TailHasher(self.0.build_hasher())
    }
}

impl Hasher for TailHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.write_usize(bytes.len());
        self.0.write(&bytes[bytes.len().saturating_sub(32)..]);
    }

    fn finish(&self) -> u64 {
        self.0.finish()
    }
}

/// Bytes an entry costs beyond its token and claim strings: the map node, the `Arc`s, the
/// claims' fixed fields.
const ENTRY_OVERHEAD: usize = 320;

/// A bounded cache of validated tokens.
#[derive(Clone)]
pub(crate) struct TokenCache {
    entries: Cache<Box<str>, Arc<Entry>, TailHash>,
    max_bytes: u64,
}

/// An entry's weight: its token, its claim strings, the fixed overhead.
#[allow(clippy::borrowed_box)] // the signature moka asks for
fn weigh(token: &Box<str>, entry: &Arc<Entry>) -> u32 {
    let bytes = token.len() + entry.registered.heap_size() + ENTRY_OVERHEAD;
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

impl TokenCache {
    /// A cache holding at most about `max_bytes` of tokens and claims.
    pub(crate) fn new(max_bytes: u64) -> Self {
        let entries = Cache::builder()
            .max_capacity(max_bytes)
            .weigher(weigh)
            .expire_after(UntilExpiry)
            .build_with_hasher(TailHash(RandomState::new()));
        Self { entries, max_bytes }
    }

    pub(crate) fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    pub(crate) fn get(&self, token: &str) -> Option<Arc<Entry>> {
        self.entries.get(token)
    }

    /// Remembers a validated token.
    pub(crate) fn insert(&self, token: &str, entry: Entry) {
        if !entry.ttl.is_zero() {
            self.entries.insert(token.into(), Arc::new(entry));
        }
    }

    pub(crate) fn remove(&self, token: &str) {
        self.entries.invalidate(token);
    }

    /// Entries held (approximate: pending maintenance may lag).
    pub(crate) fn len(&self) -> u64 {
        self.entries.run_pending_tasks();
        self.entries.entry_count()
    }

    /// Bytes held, as weighed.
    pub(crate) fn weighted_size(&self) -> u64 {
        self.entries.run_pending_tasks();
        self.entries.weighted_size()
    }
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("entries", &self.entries.entry_count())
            .finish()
    }
}
