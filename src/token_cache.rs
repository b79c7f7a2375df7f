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

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};
use std::time::Instant;

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
    /// `ttl` from the moment of insertion.
    pub(crate) expires_at: Instant,
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

/// Bytes an entry costs beyond its token and claim strings: the map slot, the `Arc`s, the
/// claims' fixed fields.
const ENTRY_OVERHEAD: usize = 320;

/// Shards of the map: a read takes one shard's read lock, so threads reading different
/// tokens do not touch the same lock word.
const SHARDS: usize = 64;

fn weigh(token: &str, entry: &Entry) -> u64 {
    (token.len() + entry.registered.heap_size() + ENTRY_OVERHEAD) as u64
}

#[derive(Default)]
struct Shard {
    map: HashMap<Box<str>, Arc<Entry>, TailHash>,
    bytes: u64,
}

/// A bounded cache of validated tokens: a sharded map under read-write locks. Reads of
/// different shards never contend; a full shard drops expired entries first, then any.
pub(crate) struct TokenCache {
    shards: Box<[RwLock<Shard>]>,
    hasher: TailHash,
    max_bytes: u64,
}

impl TokenCache {
    /// A cache holding at most about `max_bytes` of tokens and claims.
    pub(crate) fn new(max_bytes: u64) -> Self {
        let hasher = TailHash(RandomState::new());
        let shards = (0..SHARDS)
            .map(|_| {
                RwLock::new(Shard {
                    map: HashMap::with_hasher(hasher.clone()),
                    bytes: 0,
                })
            })
            .collect();
        Self {
            shards,
            hasher,
            max_bytes,
        }
    }

    pub(crate) fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    fn shard(&self, token: &str) -> &RwLock<Shard> {
        let hash = self.hasher.hash_one(token);
        &self.shards[(hash as usize) % SHARDS]
    }

    pub(crate) fn get(&self, token: &str) -> Option<Arc<Entry>> {
        let shard = self
            .shard(token)
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        shard
            .map
            .get(token)
            .filter(|entry| entry.expires_at > Instant::now())
            .cloned()
    }

    /// Remembers a validated token, making room in its shard if needed.
    pub(crate) fn insert(&self, token: &str, entry: Entry) {
        if entry.ttl.is_zero() {
            return;
        }
        let weight = weigh(token, &entry);
        let budget = self.max_bytes / SHARDS as u64;
        if weight > budget {
            return;
        }
        let mut shard = self
            .shard(token)
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(old) = shard.map.remove(token) {
            shard.bytes -= weigh(token, &old);
        }
        let held = shard.map.len();
        if shard.bytes + weight > budget {
            let now = Instant::now();
            shard.map.retain(|_, e| e.expires_at > now);
            shard.bytes = shard.map.iter().map(|(k, e)| weigh(k, e)).sum();
        }
        while shard.bytes + weight > budget {
            let Some(victim) = shard.map.keys().next().cloned() else {
                break;
            };
            if let Some(old) = shard.map.remove(&victim) {
                shard.bytes -= weigh(&victim, &old);
            }
        }
        crate::metrics::token_cache_evictions((held - shard.map.len()) as u64);
        shard.bytes += weight;
        shard.map.insert(token.into(), Arc::new(entry));
    }

    pub(crate) fn remove(&self, token: &str) {
        let mut shard = self
            .shard(token)
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(old) = shard.map.remove(token) {
            shard.bytes -= weigh(token, &old);
        }
    }

    fn each<R>(&self, f: impl Fn(&Shard) -> R) -> impl Iterator<Item = R> {
        self.shards
            .iter()
            .map(move |s| f(&s.read().unwrap_or_else(PoisonError::into_inner)))
    }

    /// Entries held.
    pub(crate) fn len(&self) -> u64 {
        self.each(|s| s.map.len() as u64).sum()
    }

    /// Bytes held, as weighed.
    pub(crate) fn weighted_size(&self) -> u64 {
        self.each(|s| s.bytes).sum()
    }
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("max_bytes", &self.max_bytes)
            .finish_non_exhaustive()
    }
}
