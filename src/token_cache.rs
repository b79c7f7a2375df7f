//! The verified-token cache: a token that validated is not verified again until it expires,
//! its key set changes, or the entry is evicted. Per-route checks still run on every request.
//!
//! Keyed by the whole token string, compared in full, so no other string can hit an entry;
//! only successes are stored, so a cache can never turn a refusal into an acceptance.
//!
//! The store is `quick_cache` (S3-FIFO, weighted, sharded under read-write locks): a hit takes
//! one shard's read lock; a new token goes into a small probation queue, so a flood of
//! one-shot tokens cannot push out the tokens that come back. Once the store is full, a
//! doorkeeper admits a token only on its second validation: a one-shot token then costs no
//! insert and evicts nothing, which keeps the price of a new token flat however full the
//! cache is. BENCHMARKS.md has the bake-off against `moka` and the hand-written sharded map
//! this replaced.

use std::any::{Any, TypeId};
use std::fmt;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use quick_cache::sync::Cache;
use quick_cache::{Lifecycle, OptionsBuilder, Weighter};

use crate::claims::Registered;

/// What is remembered of a validated token. Cloning it clones two `Arc`s. Every hit checks
/// `exp`, `nbf` and `iat` again on the authorizer's clock; an expired entry is removed then,
/// or leaves as any cold entry does.
#[derive(Clone)]
pub(crate) struct Entry {
    pub(crate) registered: Arc<Registered>,
    pub(crate) custom: Arc<dyn Any + Send + Sync>,
    pub(crate) custom_type: TypeId,
    /// Which of the authorizer's issuers validated it.
    pub(crate) issuer: usize,
    /// The key-set generation that verified it (0 for static keys).
    pub(crate) generation: u64,
    /// Bytes the entry costs, its token included: see [`weigh`].
    pub(crate) weight: u32,
}

/// Hashes a token by its length and last 32 bytes (the tail of its signature) with a
/// per-process random key: cheap for kilobyte tokens, unpredictable to an attacker. Equality
/// still compares whole strings; and only tokens with valid signatures are ever inserted, so
/// colliding garbage costs one failed string comparison, nothing more.
#[derive(Clone, Default)]
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

/// Bytes an entry costs beyond its token, its claim strings and the user's claims: the
/// cache's slot and index, the `Arc`-ed registered claims' fixed fields, the two `Arc`
/// headers. Measured by `benches/token_cache.rs` (bytes per entry, counted by the allocator).
const ENTRY_OVERHEAD: usize = 400;

/// An entry's weight in bytes: the token, the registered claims' strings, the user's claims
/// (see [`custom_weight`]) and the fixed overhead. Saturates at `u32::MAX`.
pub(crate) fn weigh(token: &str, registered: &Registered, custom: usize) -> u32 {
    let bytes = token.len() + registered.heap_size() + custom + ENTRY_OVERHEAD;
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

/// What the user's claims `T` hold, in bytes, read from `payload_len` bytes of JSON.
///
/// - A zero-sized `T` (`()`, a unit struct) holds nothing.
/// - `serde_json::Value` and `serde_json::Map` are walked: strings, arrays and map nodes, as
///   allocated (an array of small numbers takes 16 times its JSON text).
/// - Any other `T` counts its inline size plus the payload's length: its strings can be no
///   longer than the JSON they came from. A type that expands its input (a `Vec<u64>` from a
///   long array) can hold more than this counts.
pub(crate) fn custom_weight<T: 'static>(custom: &T, payload_len: usize) -> usize {
    let any: &dyn Any = custom;
    if let Some(value) = any.downcast_ref::<serde_json::Value>() {
        size_of::<serde_json::Value>() + value_heap(value)
    } else if let Some(map) = any.downcast_ref::<serde_json::Map<String, serde_json::Value>>() {
        size_of::<serde_json::Map<String, serde_json::Value>>() + map_heap(map)
    } else if size_of::<T>() == 0 {
        0
    } else {
        size_of::<T>() + payload_len
    }
}

/// Heap bytes behind a JSON value. Recursion is bounded by serde_json's nesting limit (128).
fn value_heap(value: &serde_json::Value) -> usize {
    use serde_json::Value;
    match value {
        Value::Null | Value::Bool(_) | Value::Number(_) => 0,
        Value::String(s) => s.capacity(),
        Value::Array(items) => {
            items.capacity() * size_of::<Value>() + items.iter().map(value_heap).sum::<usize>()
        }
        Value::Object(map) => map_heap(map),
    }
}

/// A B-tree leaf holds up to 11 keys and values, and every node but the root at least 5;
/// an internal node adds 12 edges. Counting one node per 5 members, plus the root, at the
/// internal node's size, bounds the map's nodes from above.
const MAP_NODE_BYTES: usize =
    11 * (size_of::<String>() + size_of::<serde_json::Value>()) + 16 + 12 * 8;

/// Heap bytes behind a JSON object.
fn map_heap(map: &serde_json::Map<String, serde_json::Value>) -> usize {
    let nodes = if map.is_empty() { 0 } else { 1 + map.len() / 5 };
    nodes * MAP_NODE_BYTES
        + map
            .iter()
            .map(|(k, v)| k.capacity() + value_heap(v))
            .sum::<usize>()
}

/// Reads the weight each entry carries.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ByWeight;

impl Weighter<Arc<str>, Entry> for ByWeight {
    fn weight(&self, _token: &Arc<str>, entry: &Entry) -> u64 {
        u64::from(entry.weight)
    }
}

/// The entries' average weight, to size the store's index and the doorkeeper: a Cognito
/// access token with `()` claims weighs about 1.5 KB.
const TYPICAL_WEIGHT: u64 = 1_500;

/// What the store does with what it evicts: notes that the store is full, and hands the
/// entry to the insert's [`Evicted`].
#[derive(Clone)]
pub(crate) struct Evictions {
    full: Arc<AtomicBool>,
}

/// What one insert pushed out: dropped and counted (the `metrics` feature) once the shard's
/// lock is released.
///
/// The store also reports the inserted token's own entries through `on_evict`: the entry it
/// replaces (a token verified again, after its key set changed or under another claims
/// type), and the new entry itself when it weighs more than one shard may hold. Neither is
/// an eviction, and neither means the store is full: the token is compared with the one
/// being inserted.
#[derive(Default)]
pub(crate) struct Evicted {
    inserting: Option<Arc<str>>,
    /// Up to two evicted entries (one is usual); more are dropped under the lock.
    dropped: [Option<(Arc<str>, Entry)>; 2],
    count: u64,
}

impl Evicted {
    fn inserting(token: Arc<str>) -> Self {
        Self {
            inserting: Some(token),
            dropped: [None, None],
            count: 0,
        }
    }
}

impl Drop for Evicted {
    fn drop(&mut self) {
        crate::metrics::token_cache_evictions(self.count);
    }
}

impl Lifecycle<Arc<str>, Entry> for Evictions {
    type RequestState = Evicted;

    fn on_evict(&self, state: &mut Evicted, token: Arc<str>, entry: Entry) {
        if state.inserting.as_deref() != Some(&*token) {
            self.full.store(true, Ordering::Relaxed);
            state.count += 1;
        }
        if let Some(free) = state.dropped.iter_mut().find(|slot| slot.is_none()) {
            *free = Some((token, entry));
        }
    }
}

type Store = Cache<Arc<str>, Entry, ByWeight, TailHash, Evictions>;

/// Once the store has evicted anything, admits a token only on its second validation: a
/// table of the hashes of tokens seen once, one slot per hash (a later token may take the
/// slot; it then needs a third sight). Lock-free: one atomic load and store per new token.
struct Doorkeeper {
    full: Arc<AtomicBool>,
    seen: Box<[AtomicU64]>,
    key: [u64; 2],
}

impl Doorkeeper {
    /// Slots per entry the store is expected to hold.
    const SLOTS_PER_ENTRY: u64 = 2;

    fn new(expected_entries: u64, full: Arc<AtomicBool>) -> Self {
        let slots = (expected_entries * Self::SLOTS_PER_ENTRY)
            .clamp(64, 1 << 24)
            .next_power_of_two();
        Self {
            full,
            seen: (0..slots).map(|_| AtomicU64::new(0)).collect(),
            key: [
                RandomState::new().hash_one(0u8),
                RandomState::new().hash_one(1u8),
            ],
        }
    }

    /// The length and last 16 bytes (the tail of a verified signature: random to whoever
    /// did not sign it), keyed per process. Only verified tokens reach the doorkeeper, and a
    /// collision only admits a token one sight early.
    fn hash(&self, token: &str) -> u64 {
        let bytes = token.as_bytes();
        let tail = |from: usize| {
            let mut word = [0u8; 8];
            let start = bytes.len().saturating_sub(from);
            let end = bytes.len().min(start + 8);
            word[..end - start].copy_from_slice(&bytes[start..end]);
            u64::from_le_bytes(word)
        };
        (tail(16) ^ self.key[0])
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(29)
            ^ (tail(8) ^ self.key[1]).wrapping_mul(0xBF58_476D_1CE4_E5B9)
            ^ bytes.len() as u64
    }

    /// Bytes the table takes: counted against the cache's budget.
    fn bytes(&self) -> u64 {
        (self.seen.len() * size_of::<AtomicU64>()) as u64
    }

    fn admit(&self, token: &str) -> bool {
        if !self.full.load(Ordering::Relaxed) {
            return true;
        }
        let hash = self.hash(token);
        // The low bits pick the slot; the whole hash tells one token from another.
        let slot = &self.seen[(hash as usize) & (self.seen.len() - 1)];
        if slot.load(Ordering::Relaxed) == hash {
            slot.store(0, Ordering::Relaxed);
            true
        } else {
            slot.store(hash, Ordering::Relaxed);
            false
        }
    }
}

/// A bounded cache of validated tokens.
pub(crate) struct TokenCache {
    store: Backend,
    max_bytes: u64,
}

enum Backend {
    QuickCache(Store, Doorkeeper),
    /// Another store, plugged in by the benchmarks' bake-off.
    #[cfg(feature = "bench-internals")]
    Plugged(Arc<dyn bench::TokenStore>),
}

impl TokenCache {
    /// A cache holding at most `max_bytes`: entries as weighed, and the doorkeeper's table.
    pub(crate) fn new(max_bytes: u64) -> Self {
        let expected = (max_bytes / TYPICAL_WEIGHT).max(1);
        let full = Arc::new(AtomicBool::new(false));
        let doorkeeper = Doorkeeper::new(expected, Arc::clone(&full));
        let weight_capacity = max_bytes.saturating_sub(doorkeeper.bytes());
        let evictions = Evictions { full };
        let store = match OptionsBuilder::new()
            .weight_capacity(weight_capacity)
            .estimated_items_capacity(usize::try_from(expected).unwrap_or(usize::MAX))
            .build()
        {
            Ok(options) => Cache::with_options(options, ByWeight, TailHash::default(), evictions),
            // Only an out-of-range hot or ghost share fails, and neither is set here.
            Err(_) => Cache::with(1, weight_capacity, ByWeight, TailHash::default(), evictions),
        };
        Self {
            store: Backend::QuickCache(store, doorkeeper),
            max_bytes,
        }
    }

    pub(crate) fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// The entry for exactly this token. The caller checks the token's times on its clock:
    /// an expired entry is refused there, and removed.
    pub(crate) fn get(&self, token: &str) -> Option<Entry> {
        match &self.store {
            Backend::QuickCache(store, _) => store.get(token),
            #[cfg(feature = "bench-internals")]
            Backend::Plugged(store) => store.get(token).map(|t| t.0),
        }
    }

    /// Whether a token that just validated should be remembered: always while the store has
    /// room; once it is full, on the token's second validation only. Called once per
    /// validation, before the entry is built.
    pub(crate) fn admit(&self, token: &str) -> bool {
        match &self.store {
            Backend::QuickCache(_, doorkeeper) => doorkeeper.admit(token),
            #[cfg(feature = "bench-internals")]
            Backend::Plugged(_) => true,
        }
    }

    /// Remembers a validated token the doorkeeper admitted, unless it weighs more than the
    /// whole budget.
    pub(crate) fn insert(&self, token: &str, entry: Entry) {
        if u64::from(entry.weight) > self.max_bytes {
            return;
        }
        match &self.store {
            Backend::QuickCache(store, _) => {
                let token: Arc<str> = token.into();
                let mut evicted = Evicted::inserting(Arc::clone(&token));
                store.insert_with_lifecycle(token, entry, &mut evicted);
            }
            #[cfg(feature = "bench-internals")]
            Backend::Plugged(store) => store.insert(token, bench::CachedToken(entry)),
        }
    }

    /// Forgets a token whose entry expired: counted as an eviction.
    pub(crate) fn remove(&self, token: &str) {
        match &self.store {
            Backend::QuickCache(store, _) => {
                if store.remove(token).is_some() {
                    crate::metrics::token_cache_evictions(1);
                }
            }
            #[cfg(feature = "bench-internals")]
            Backend::Plugged(store) => store.remove(token),
        }
    }

    /// Entries held, and their weight in bytes with the doorkeeper's table.
    pub(crate) fn usage(&self) -> (u64, u64) {
        match &self.store {
            Backend::QuickCache(store, doorkeeper) => {
                (store.len() as u64, store.weight() + doorkeeper.bytes())
            }
            #[cfg(feature = "bench-internals")]
            Backend::Plugged(store) => store.usage(),
        }
    }
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("max_bytes", &self.max_bytes)
            .finish_non_exhaustive()
    }
}

/// Internal, for the benchmarks' bake-off: plug another store in place of the built-in one,
/// and reach the built-in one directly. Not a public API.
#[cfg(feature = "bench-internals")]
pub mod bench {
    use std::fmt;
    use std::sync::Arc;

    use super::{Entry, TokenCache};

    /// A validated token's entry, as a store holds it.
    #[derive(Clone)]
    pub struct CachedToken(pub(crate) Entry);

    impl CachedToken {
        /// Its weight in bytes, the token included.
        pub fn weight(&self) -> u32 {
            self.0.weight
        }

        /// Its `exp`, in seconds since the Unix epoch.
        pub fn exp(&self) -> u64 {
            self.0.registered.exp
        }
    }

    impl fmt::Debug for CachedToken {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("CachedToken")
                .field("weight", &self.0.weight)
                .finish_non_exhaustive()
        }
    }

    /// A bounded map from whole token strings to their entries.
    pub trait TokenStore: Send + Sync + 'static {
        /// The entry for exactly this token.
        fn get(&self, token: &str) -> Option<CachedToken>;
        /// Remembers an entry, evicting others to stay within the budget.
        fn insert(&self, token: &str, entry: CachedToken);
        /// Forgets a token.
        fn remove(&self, token: &str);
        /// Entries held, and their weight in bytes.
        fn usage(&self) -> (u64, u64);
    }

    /// The built-in store, as [`crate::Authorizer`] uses it.
    pub fn builtin(max_bytes: u64) -> Arc<dyn TokenStore> {
        Arc::new(TokenCache::new(max_bytes))
    }

    impl TokenStore for TokenCache {
        fn get(&self, token: &str) -> Option<CachedToken> {
            TokenCache::get(self, token).map(CachedToken)
        }

        fn insert(&self, token: &str, entry: CachedToken) {
            if TokenCache::admit(self, token) {
                TokenCache::insert(self, token, entry.0);
            }
        }

        fn remove(&self, token: &str) {
            TokenCache::remove(self, token);
        }

        fn usage(&self) -> (u64, u64) {
            TokenCache::usage(self)
        }
    }

    impl TokenCache {
        /// A cache over another store.
        pub(crate) fn plugged(store: Arc<dyn TokenStore>, max_bytes: u64) -> Self {
            Self {
                store: super::Backend::Plugged(store),
                max_bytes,
            }
        }
    }
}
