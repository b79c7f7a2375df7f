//! The Redis replay store (feature `redis`): one `SET key 1 NX PX ttl` per proof, so every
//! replica behind a load balancer sees every other's proofs.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::replay::{ReplayFuture, ReplayStore, ReplayStoreError};
use crate::error::{Error, ErrorKind};

/// DPoP replay detection shared through Redis: a proof used on one replica is refused on all.
///
/// Each proof costs one round trip: `SET <prefix><key> 1 NX PX <ttl>`, which records the key
/// and says whether it was new, atomically. The connection is made on first use and remade
/// after a failure (redis-rs's `ConnectionManager`); each call waits at most
/// [`RedisReplayStore::timeout`] (1 s by default).
///
/// When Redis cannot answer, the layer refuses DPoP requests with 503 and `Retry-After: 1`
/// (unless [`Dpop::skip_replay_check_when_store_unavailable`](crate::Dpop::skip_replay_check_when_store_unavailable)).
/// Redis is the memory: a Redis restarted without persistence forgets the `jti`s of the
/// proofs still in their window, so those could be replayed once more.
///
/// # Example
///
/// ```
/// use tokengate::{Dpop, RedisReplayStore};
///
/// // No I/O yet: the connection is made when the first proof is checked.
/// let store = RedisReplayStore::new("redis://127.0.0.1:6379/")?.key_prefix("orders-api:dpop:");
/// let dpop = Dpop::required().replay_store(store);
/// # let _ = dpop;
/// # Ok::<(), tokengate::Error>(())
/// ```
#[derive(Clone)]
pub struct RedisReplayStore {
    client: redis::Client,
    manager: Arc<OnceLock<ConnectionManager>>,
    prefix: Arc<str>,
    timeout: Duration,
}

impl RedisReplayStore {
    /// A store at `url` (`redis://host:port/db`, `rediss://` for TLS needs redis-rs's TLS
    /// features). Keys are prefixed `tokengate:dpop:`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidUrl`] when redis-rs cannot read the URL.
    pub fn new(url: &str) -> Result<Self, Error> {
        let client = redis::Client::open(url).map_err(|_| {
            Error::new(ErrorKind::InvalidUrl {
                url: url.to_owned(),
                reason: "not a Redis URL",
            })
        })?;
        Ok(Self {
            client,
            manager: Arc::new(OnceLock::new()),
            prefix: Arc::from("tokengate:dpop:"),
            timeout: Duration::from_secs(1),
        })
    }

    /// The prefix of every key this store writes. Defaults to `tokengate:dpop:`.
    #[must_use]
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Arc::from(prefix.into());
        self
    }

    /// How long one check may take, connecting included, before the proof is refused with
    /// 503. Defaults to 1 second.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn manager(&self) -> Result<ConnectionManager, ReplayStoreError> {
        if let Some(manager) = self.manager.get() {
            return Ok(manager.clone());
        }
        // Lazy: it connects on the first command, and reconnects after a dropped connection.
        // One attempt per command, bounded by the timeouts: a Redis that is down costs a
        // refused connection, not a queue of retries.
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(0)
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout));
        let manager = ConnectionManager::new_lazy_with_config(self.client.clone(), config)
            .map_err(ReplayStoreError::new)?;
        Ok(self.manager.get_or_init(|| manager).clone())
    }

    async fn set_nx(&self, key: &[u8; 32], ttl: Duration) -> Result<bool, ReplayStoreError> {
        let mut manager = self.manager()?;
        let mut name = String::with_capacity(self.prefix.len() + 43);
        name.push_str(&self.prefix);
        URL_SAFE_NO_PAD.encode_string(key, &mut name);
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut command = redis::cmd("SET");
        command.arg(name).arg(1).arg("NX").arg("PX").arg(millis);
        let reply = tokio::time::timeout(
            self.timeout,
            command.query_async::<Option<String>>(&mut manager),
        )
        .await
        .map_err(|_| ReplayStoreError::new("Redis did not answer in time"))?
        .map_err(ReplayStoreError::new)?;
        // `OK` when the key was set (first use); nil when it was there already.
        Ok(reply.is_some())
    }
}

impl fmt::Debug for RedisReplayStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may hold a password: only where it points.
        let info = self.client.get_connection_info();
        f.debug_struct("RedisReplayStore")
            .field("addr", &info.addr().to_string())
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl ReplayStore for RedisReplayStore {
    fn first_use<'a>(&'a self, key: &'a [u8; 32], ttl: Duration) -> ReplayFuture<'a> {
        Box::pin(self.set_nx(key, ttl))
    }
}
