//! [`KeySetHealth`]: the state of one issuer's keys, for health endpoints and logs.

use std::time::{Duration, SystemTime};

use crate::jwks::KeySet;

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
