//! DPoP (RFC 9449): sender-constrained tokens. [`Dpop`] configures it for a
//! [`JwtAuthLayer`](crate::JwtAuthLayer); the proof checks, `htu` normalisation, key
//! thumbprints, server nonces and replay stores each have their file.

mod htu;
mod nonce;
mod proof;
#[cfg(feature = "redis")]
mod redis;
mod replay;
mod thumbprint;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderValue, Method, Uri};

use crate::algorithm::AlgorithmSet;
use crate::clock::{Clock, SystemClock};
use crate::error::{AuthError, AuthErrorKind, Error, ErrorKind};

pub(crate) use proof::Proof;
#[cfg(feature = "redis")]
pub use redis::RedisReplayStore;
pub use replay::{
    DEFAULT_MAX_REPLAY_ENTRIES, MemoryReplayStore, ReplayFuture, ReplayStore, ReplayStoreError,
};

/// How far a proof's `iat` may be from the server's clock, either way, by default.
pub const DEFAULT_DPOP_IAT_WINDOW: Duration = Duration::from_secs(60);
/// The widest [`Dpop::iat_window`] accepted: a proof is a credential for as long as the
/// window lets it pass, and its `jti` must be remembered for twice that.
pub const MAX_DPOP_IAT_WINDOW: Duration = Duration::from_secs(3600);
/// How much longer than twice the `iat` window a proof's `jti` is remembered: how far apart
/// the clocks of replicas sharing a replay store may be without a proof becoming replayable
/// on the one behind.
pub const DPOP_REPLAY_TTL_MARGIN: Duration = Duration::from_secs(5);
/// The longest `DPoP` header accepted by default: room for RSA keys up to 4096 bits.
pub const DEFAULT_MAX_PROOF_LEN: usize = 4 * 1024;
/// How long a server nonce is handed out for by default; each is accepted for one more
/// such period after.
pub const DEFAULT_NONCE_LIFETIME: Duration = Duration::from_secs(300);

/// Whether a DPoP layer also takes bearer tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `Bearer` and `DPoP` both accepted (a DPoP-bound token only as `DPoP`).
    Allowed,
    /// Only `DPoP`.
    Required,
}

/// DPoP (RFC 9449) for a [`JwtAuthLayer`](crate::JwtAuthLayer): tokens bound to a key the
/// client holds, each request carrying a fresh proof signed with it.
///
/// Without `.dpop(..)` the layer takes bearer tokens only (and still refuses a DPoP-bound
/// token presented as one, RFC 9449 §7.2). [`Dpop::allowed`] takes both schemes,
/// [`Dpop::required`] only `DPoP`. Every request with `Authorization: DPoP <token>` must
/// carry exactly one `DPoP` header whose proof:
///
/// - has `typ: dpop+jwt`, an allowlisted asymmetric `alg` (never `none` or a MAC), and a
///   public `jwk` (private members refused) that verifies its signature;
/// - names this request's method in `htm`, and its URI in `htu` (scheme and host case,
///   default ports, escapes and the proof's dot segments normalised; query and fragment
///   ignored) — compared with [`Dpop::public_url`] behind a proxy, else with the request's
///   own URI and `Host`. The path is the one the client called: with the `axum` feature,
///   axum's `OriginalUri`, so a layer inside `Router::nest("/api", ..)` compares `/api/me`,
///   not `/me`. A request whose path holds dot segments (`/v1/../x`, `/%2e%2e/x`) is refused:
///   it would name a URL outside the path it was routed by;
/// - was created within [`Dpop::iat_window`] of now (60 s either way by default), and its
///   `jti` was not seen before ([`ReplayStore`], in memory by default, remembers it for twice
///   the window and [`DPOP_REPLAY_TTL_MARGIN`]);
/// - has `ath` = base64url(SHA-256(token)), and the token's `cnf.jkt` is the RFC 7638
///   thumbprint of its `jwk`;
/// - carries the server's nonce, with [`Dpop::require_nonce`].
///
/// The proof is checked on every request, also when the token itself is a verified-token
/// cache hit.
///
/// **Set [`Dpop::public_url`] in production.** Without it, the URL `htu` must name is made
/// from the request: its `Host` header (or HTTP/2's `:scheme` and `:authority`), which the
/// client writes. A proof made for another service that takes the same tokens (same issuer
/// and audience) can then be spent here, within its window, by a request claiming that
/// service's host. With the public URL, only proofs naming this service pass.
///
/// # Example
///
/// ```
/// use tokengate::{Authorizer, Dpop, JwtAuthLayer, KeySet, Profile};
///
/// # fn keys() -> KeySet { KeySet::default() }
/// let authorizer = Authorizer::builder(Profile::generic())
///     .issuer("https://issuer.example")
///     .audience("https://api.example")
///     .keys(keys())
///     .build();
/// let layer = JwtAuthLayer::new(authorizer)
///     .dpop(Dpop::required().public_url("https://api.example")?);
/// # let _ = layer;
/// # Ok::<(), tokengate::Error>(())
/// ```
#[derive(Clone)]
pub struct Dpop {
    pub(crate) mode: Mode,
    origin: htu::Origin,
    window: u64,
    algorithms: AlgorithmSet,
    max_proof_len: usize,
    store: Arc<dyn ReplayStore>,
    nonces: Option<nonce::Nonces>,
    nonce_lifetime: u64,
    clock: Arc<dyn Clock>,
    skip_replay_check_when_unavailable: bool,
}

impl Dpop {
    fn new(mode: Mode) -> Self {
        Self {
            mode,
            origin: htu::Origin::FromRequest,
            window: DEFAULT_DPOP_IAT_WINDOW.as_secs(),
            algorithms: AlgorithmSet::DEFAULT,
            max_proof_len: DEFAULT_MAX_PROOF_LEN,
            store: Arc::new(MemoryReplayStore::new()),
            nonces: None,
            nonce_lifetime: DEFAULT_NONCE_LIFETIME.as_secs(),
            clock: Arc::new(SystemClock),
            skip_replay_check_when_unavailable: false,
        }
    }

    /// Accepts both `Bearer` and `DPoP` tokens; challenges name both schemes.
    pub fn allowed() -> Self {
        Self::new(Mode::Allowed)
    }

    /// Accepts `DPoP` tokens only; a `Bearer` credential is an unsupported scheme (401 with a
    /// `DPoP` challenge and no error code, RFC 6750 §3.1).
    pub fn required() -> Self {
        Self::new(Mode::Required)
    }

    /// The external base URL clients call this service at (`https://api.example.com`, or
    /// with a path prefix a proxy strips: `https://example.com/api`). A proof's `htu` must
    /// be this URL followed by the request's path (before any `Router::nest` stripped it).
    ///
    /// Without it, `htu` is compared with the request's absolute URI (HTTP/2), else with
    /// `http://` and its `Host` header: right for a service clients reach directly over
    /// plain HTTP, wrong behind a TLS-terminating proxy. Either way the host is the one the
    /// client claims, so a proof for another service taking the same tokens passes too: set
    /// the public URL wherever that matters.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidUrl`] unless `url` is an absolute `http` or `https` URL without
    /// user info, query or fragment.
    pub fn public_url(mut self, url: &str) -> Result<Self, Error> {
        self.origin = htu::Origin::public(url).ok_or_else(|| {
            Error::new(ErrorKind::InvalidUrl {
                url: url.to_owned(),
                reason: "the public URL must be an absolute http(s) URL without user info, query or fragment",
            })
        })?;
        Ok(self)
    }

    /// How far a proof's `iat` may be from now, either way, in whole seconds. Defaults to 60
    /// seconds. A proof's `jti` is remembered for twice this window and
    /// [`DPOP_REPLAY_TTL_MARGIN`] from its first use.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] when `window` is longer than [`MAX_DPOP_IAT_WINDOW`] (1 hour).
    pub fn iat_window(mut self, window: Duration) -> Result<Self, Error> {
        if window > MAX_DPOP_IAT_WINDOW {
            return Err(Error::new(ErrorKind::Config(
                "the DPoP iat window must be at most 1 hour".into(),
            )));
        }
        self.window = window.as_secs();
        Ok(self)
    }

    /// The algorithms a proof may be signed with; the challenges list them in `algs`.
    /// Defaults to [`AlgorithmSet::DEFAULT`].
    pub fn algorithms(mut self, algorithms: AlgorithmSet) -> Self {
        self.algorithms = algorithms;
        self
    }

    /// The longest `DPoP` header accepted, in bytes. Defaults to 4 KiB.
    pub fn max_proof_len(mut self, bytes: usize) -> Self {
        self.max_proof_len = bytes;
        self
    }

    /// Where seen `jti`s are kept. Defaults to a [`MemoryReplayStore`] of its own; replicas
    /// behind one load balancer need a shared store, such as `RedisReplayStore`.
    pub fn replay_store(mut self, store: impl ReplayStore) -> Self {
        self.store = Arc::new(store);
        self
    }

    /// A replay store already shared with something else (another layer, a health check).
    pub fn shared_replay_store(mut self, store: Arc<dyn ReplayStore>) -> Self {
        self.store = store;
        self
    }

    /// Requires server nonces (RFC 9449 §9): a proof without the current nonce is refused with
    /// `use_dpop_nonce` and a `DPoP-Nonce` header holding it. Nonces are MACs of the time
    /// period with `secret`: give every replica the same secret and each accepts the others'
    /// nonces. This bounds how far ahead proofs can be made (§11.2).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] when `secret` is shorter than 32 bytes.
    pub fn require_nonce(mut self, secret: impl AsRef<[u8]>) -> Result<Self, Error> {
        let secret = secret.as_ref();
        if secret.len() < 32 {
            return Err(Error::new(ErrorKind::Config(
                "a DPoP nonce secret must be at least 32 bytes".into(),
            )));
        }
        self.nonces = Some(nonce::Nonces::new(secret, self.nonce_lifetime));
        Ok(self)
    }

    /// How long each nonce is handed out; it is accepted for one more such period after, and
    /// a request that uses it then gets the next one in `DPoP-Nonce`. Defaults to 5 minutes.
    pub fn nonce_lifetime(mut self, lifetime: Duration) -> Self {
        self.nonce_lifetime = lifetime.as_secs().max(1);
        if let Some(nonces) = &mut self.nonces {
            nonces.set_lifetime(self.nonce_lifetime);
        }
        self
    }

    /// The clock `iat` and nonces are checked against. Defaults to [`SystemClock`].
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// When the replay store cannot answer, accepts proofs without the replay check instead of
    /// refusing with 503. Gives up replay detection for as long as the store is down: a
    /// captured proof can then be used again within its window.
    pub fn skip_replay_check_when_store_unavailable(mut self) -> Self {
        self.skip_replay_check_when_unavailable = true;
        self
    }

    /// The `algs` of the challenges: the accepted algorithms, space separated.
    pub(crate) fn algs(&self) -> String {
        self.algorithms
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Every stateless check of the request's proof (RFC 9449 §4.3).
    pub(crate) fn check_proof(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        token: &str,
    ) -> Result<Proof, AuthError> {
        let value = proof::header_value(headers, self.max_proof_len)?
            .ok_or(AuthError::new(AuthErrorKind::DpopProofMissing))?;
        let htu = self.origin.expected(uri, headers);
        proof::check(
            value,
            &proof::Expected {
                method: method.as_str(),
                htu: htu.as_deref(),
                token: Some(token),
                now: self.clock.now_unix(),
                window: self.window,
                algorithms: self.algorithms,
                max_len: self.max_proof_len,
                nonces: self.nonces.as_ref(),
            },
        )
    }

    /// The token's binding (RFC 9449 §4.3 step 12, second half; §7.1).
    pub(crate) fn check_binding(proof: &Proof, bound_to: Option<&str>) -> Result<(), AuthError> {
        match bound_to {
            None => Err(AuthError::claim(AuthErrorKind::DpopTokenUnbound, "cnf")),
            Some(jkt) if jkt == proof.jkt => Ok(()),
            Some(_) => Err(AuthError::claim(AuthErrorKind::DpopKeyMismatch, "cnf")),
        }
    }

    /// The replay check, last (RFC 9449 §11.1): only a request that passed everything else
    /// uses up its `jti`, so refused requests never reach the store.
    pub(crate) async fn check_replay(&self, proof: &Proof) -> Result<(), AuthError> {
        let ttl = Duration::from_secs(proof.ttl_secs);
        match self.store.first_use(&proof.replay_key, ttl).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(AuthError::claim(AuthErrorKind::DpopProofReplayed, "jti")),
            Err(err) if self.skip_replay_check_when_unavailable => {
                tracing::warn!(target: "tokengate", error = %err, "DPoP replay check skipped: the store is unavailable");
                Ok(())
            }
            Err(err) => {
                tracing::warn!(target: "tokengate", error = %err, "DPoP proof refused: the replay store is unavailable");
                Err(AuthError::new(AuthErrorKind::ReplayStoreUnavailable).with_retry_after(1))
            }
        }
    }

    /// The current server nonce as a `DPoP-Nonce` value, when nonces are required.
    pub(crate) fn nonce_header(&self) -> Option<HeaderValue> {
        let nonce = self.nonces.as_ref()?.current(self.clock.now_unix());
        HeaderValue::from_str(&nonce).ok()
    }
}

/// Checks a proof sent with a token request (RFC 9449 §5) to `htu`: the default algorithms,
/// window and size, no `ath`. The caller records its `jti`.
#[cfg(feature = "mock")]
pub(crate) fn check_token_request(
    headers: &HeaderMap,
    htu: &str,
    now: u64,
) -> Result<Option<Proof>, AuthError> {
    let Some(value) = proof::header_value(headers, DEFAULT_MAX_PROOF_LEN)? else {
        return Ok(None);
    };
    let htu = htu::normalize(htu);
    proof::check(
        value,
        &proof::Expected {
            method: "POST",
            htu: htu.as_deref(),
            token: None,
            now,
            window: DEFAULT_DPOP_IAT_WINDOW.as_secs(),
            algorithms: AlgorithmSet::DEFAULT,
            max_len: DEFAULT_MAX_PROOF_LEN,
            nonces: None,
        },
    )
    .map(Some)
}

impl fmt::Debug for Dpop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dpop")
            .field("mode", &self.mode)
            .field("origin", &self.origin)
            .field("iat_window", &self.window)
            .field("algorithms", &self.algorithms)
            .field("max_proof_len", &self.max_proof_len)
            .field("store", &self.store)
            .field("nonces", &self.nonces)
            .field(
                "skip_replay_check_when_store_unavailable",
                &self.skip_replay_check_when_unavailable,
            )
            .finish_non_exhaustive()
    }
}
