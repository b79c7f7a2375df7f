//! The token cache's contenders, each behind tokengate's internal `TokenStore` so the same
//! `Authorizer` and `JwtAuthLayer` run over any of them:
//!
//! - `quick_cache + doorkeeper`: the built-in store (`tokengate::bench::builtin`), as shipped:
//!   once full, a token is admitted on its second validation.
//! - `quick_cache alone`: `quick_cache::sync::Cache` with a weigher, admitting every token.
//! - `moka`: `moka::sync::Cache` with a weigher and per-entry expiry at the token's `exp`.
//! - `sharded map`: the hand-written cache tokengate shipped before (64 `HashMap` shards under
//!   read-write locks; a full shard drops expired entries, then whichever key the map yields
//!   first), kept here as the baseline.
//!
//! All three hash a token by its length and last 32 bytes with a per-process random key.
#![allow(dead_code)]

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokengate::bench::{CachedToken, TokenStore};

/// The contenders' names, in the order the tables print them.
pub const NAMES: [&str; 4] = [
    "quick_cache + doorkeeper (shipped)",
    "quick_cache alone",
    "moka",
    "sharded map (before)",
];

/// A fresh store of each contender, each bounded by `max_bytes` as weighed.
pub fn contenders(max_bytes: u64) -> [Arc<dyn TokenStore>; 4] {
    [
        tokengate::bench::builtin(max_bytes),
        Arc::new(QuickCache::new(max_bytes)),
        Arc::new(Moka::new(max_bytes)),
        Arc::new(ShardedMap::new(max_bytes)),
    ]
}

/// Length and last 32 bytes, SipHash-1-3 with a random key: tokengate's token hash.
#[derive(Clone, Default)]
pub struct TailHash(RandomState);

pub struct TailHasher(std::hash::DefaultHasher);

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

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// quick_cache's sync cache, sized as the built-in one, admitting every token.
pub struct QuickCache(quick_cache::sync::Cache<Box<str>, CachedToken, ByWeight, TailHash>);

#[derive(Clone)]
pub struct ByWeight;

impl quick_cache::Weighter<Box<str>, CachedToken> for ByWeight {
    fn weight(&self, _: &Box<str>, entry: &CachedToken) -> u64 {
        u64::from(entry.weight())
    }
}

impl QuickCache {
    pub fn new(max_bytes: u64) -> Self {
        Self(quick_cache::sync::Cache::with(
            (max_bytes / 1_500) as usize,
            max_bytes,
            ByWeight,
            TailHash::default(),
            Default::default(),
        ))
    }
}

impl TokenStore for QuickCache {
    fn get(&self, token: &str) -> Option<CachedToken> {
        self.0.get(token)
    }

    fn insert(&self, token: &str, entry: CachedToken) {
        self.0.insert(token.into(), entry);
    }

    fn remove(&self, token: &str) {
        self.0.remove(token);
    }

    fn usage(&self) -> (u64, u64) {
        (self.0.len() as u64, self.0.weight())
    }
}

/// moka's sync cache: TinyLFU admission, LRU eviction, per-entry expiry.
pub struct Moka(moka::sync::Cache<Box<str>, CachedToken, TailHash>);

struct UntilExp;

impl moka::Expiry<Box<str>, CachedToken> for UntilExp {
    fn expire_after_create(
        &self,
        _token: &Box<str>,
        entry: &CachedToken,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(Duration::from_secs(entry.exp().saturating_sub(unix_now())))
    }
}

#[allow(clippy::borrowed_box)] // the signature moka asks for
fn weigh_for_moka(_: &Box<str>, entry: &CachedToken) -> u32 {
    entry.weight()
}

impl Moka {
    pub fn new(max_bytes: u64) -> Self {
        Self(
            moka::sync::Cache::builder()
                .max_capacity(max_bytes)
                .weigher(weigh_for_moka)
                .expire_after(UntilExp)
                .build_with_hasher(TailHash::default()),
        )
    }
}

impl TokenStore for Moka {
    fn get(&self, token: &str) -> Option<CachedToken> {
        self.0.get(token)
    }

    fn insert(&self, token: &str, entry: CachedToken) {
        self.0.insert(token.into(), entry);
    }

    fn remove(&self, token: &str) {
        self.0.invalidate(token);
    }

    fn usage(&self) -> (u64, u64) {
        self.0.run_pending_tasks();
        (self.0.entry_count(), self.0.weighted_size())
    }
}

/// tokengate's cache before quick_cache, as it was (entries now carry their own weight).
pub struct ShardedMap {
    shards: Box<[RwLock<Shard>]>,
    hasher: TailHash,
    max_bytes: u64,
}

const SHARDS: usize = 64;

#[derive(Default)]
struct Shard {
    map: HashMap<Box<str>, CachedToken, TailHash>,
    bytes: u64,
}

fn weigh(entry: &CachedToken) -> u64 {
    u64::from(entry.weight())
}

impl ShardedMap {
    pub fn new(max_bytes: u64) -> Self {
        let hasher = TailHash::default();
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

    fn shard(&self, token: &str) -> &RwLock<Shard> {
        let hash = self.hasher.hash_one(token);
        &self.shards[(hash as usize) % SHARDS]
    }
}

impl TokenStore for ShardedMap {
    fn get(&self, token: &str) -> Option<CachedToken> {
        let shard = self
            .shard(token)
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let now = unix_now();
        shard
            .map
            .get(token)
            .filter(|entry| entry.exp() > now)
            .cloned()
    }

    fn insert(&self, token: &str, entry: CachedToken) {
        let weight = weigh(&entry);
        let budget = self.max_bytes / SHARDS as u64;
        if weight > budget {
            return;
        }
        let mut shard = self
            .shard(token)
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(old) = shard.map.remove(token) {
            shard.bytes -= weigh(&old);
        }
        if shard.bytes + weight > budget {
            let now = unix_now();
            shard.map.retain(|_, e| e.exp() > now);
            shard.bytes = shard.map.values().map(weigh).sum();
        }
        while shard.bytes + weight > budget {
            let Some(victim) = shard.map.keys().next().cloned() else {
                break;
            };
            if let Some(old) = shard.map.remove(&victim) {
                shard.bytes -= weigh(&old);
            }
        }
        shard.bytes += weight;
        shard.map.insert(token.into(), entry);
    }

    fn remove(&self, token: &str) {
        let mut shard = self
            .shard(token)
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(old) = shard.map.remove(token) {
            shard.bytes -= weigh(&old);
        }
    }

    fn usage(&self) -> (u64, u64) {
        self.shards.iter().fold((0, 0), |(n, b), s| {
            let s = s.read().unwrap_or_else(PoisonError::into_inner);
            (n + s.map.len() as u64, b + s.bytes)
        })
    }
}

/// Median, lowest and highest of some samples.
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    pub fn of(samples: &[f64]) -> Self {
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        };
        Self {
            median,
            min: sorted[0],
            max: sorted[n - 1],
        }
    }

    /// Half the range, as a share of the median: "±x %".
    pub fn half_range_pct(&self) -> f64 {
        (self.max - self.min) / 2.0 / self.median * 100.0
    }
}

/// The machine's load averages, from `/proc/loadavg` (Linux).
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}
