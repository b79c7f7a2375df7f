//! The mock's in-memory state: configuration, keys, codes, refresh tokens, sessions, device
//! codes, revocations, the request log and fault switches. One mutex, never held across I/O.
//!
//! Every store the network can fill is bounded in entries and bytes and pruned on insert
//! ([`BoundedMap`], [`RequestLog`]); [`LIMITS`] lists the bounds. Under a flood the oldest
//! entries go first: a test that keeps more than a store holds sees its oldest sessions,
//! codes or refresh tokens forgotten, never the mock's memory growing.

mod bounded;
mod recorded_request;
mod request_log;

use std::mem::size_of;

pub(crate) use bounded::{BoundedMap, Limits, Weigh};
pub use recorded_request::RecordedRequest;
pub(crate) use request_log::RequestLog;

use crate::mock::claims::expiry;
use crate::mock::config::{Client, MockConfig, User};
use crate::mock::customize::Customizers;
use crate::mock::error::ApiError;
use crate::mock::keys::KeyRing;
use crate::mock::user_code;

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;

/// The bounds of every store, in one place.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StoreLimits {
    pub(crate) sessions: Limits,
    pub(crate) csrf: Limits,
    pub(crate) codes: Limits,
    pub(crate) redeemed_codes: Limits,
    pub(crate) refresh: Limits,
    pub(crate) devices: Limits,
    pub(crate) revoked_families: Limits,
    pub(crate) revoked_origins: Limits,
    pub(crate) requests: Limits,
}

/// What the stores hold at most: 10,000 of each short-lived thing, 100,000 refresh tokens
/// and revocations; 88 MiB in all.
pub(crate) const LIMITS: StoreLimits = StoreLimits {
    sessions: Limits {
        entries: 10_000,
        bytes: 4 * MIB,
    },
    csrf: Limits {
        entries: 10_000,
        bytes: 2 * MIB,
    },
    codes: Limits {
        entries: 10_000,
        bytes: 8 * MIB,
    },
    redeemed_codes: Limits {
        entries: 10_000,
        bytes: 2 * MIB,
    },
    refresh: Limits {
        entries: 100_000,
        bytes: 32 * MIB,
    },
    devices: Limits {
        entries: 10_000,
        bytes: 8 * MIB,
    },
    revoked_families: Limits {
        entries: 100_000,
        bytes: 8 * MIB,
    },
    revoked_origins: Limits {
        entries: 100_000,
        bytes: 8 * MIB,
    },
    requests: Limits {
        entries: 10_000,
        bytes: 16 * MIB,
    },
};

/// An authorization code waiting to be redeemed (single use, short-lived).
#[derive(Clone, Debug)]
pub(crate) struct CodeRecord {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) username: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) nonce: Option<String>,
    /// The S256 `code_challenge`, when PKCE was used.
    pub(crate) code_challenge: Option<String>,
    pub(crate) auth_time: u64,
    pub(crate) expires_at: u64,
}

/// A code that was traded for tokens, kept until it would have expired: presented again, it
/// is a replay, and what it bought is revoked (RFC 6749 §4.1.2).
#[derive(Clone, Debug)]
pub(crate) struct RedeemedCode {
    /// The sign-in of the tokens issued.
    pub(crate) origin_jti: String,
    /// The refresh-token family issued.
    pub(crate) family: Option<String>,
}

/// An opaque refresh token and what it stands for.
#[derive(Clone, Debug)]
pub(crate) struct RefreshRecord {
    pub(crate) client_id: String,
    pub(crate) username: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) auth_time: u64,
    /// Shared by every token issued from the same sign-in (Cognito's `origin_jti`).
    pub(crate) origin_jti: String,
    /// Shared by a refresh token and all its rotations: reuse of a rotated one revokes it all.
    pub(crate) family: String,
    pub(crate) expires_at: u64,
    /// When it was rotated away (it still works until the grace period ends).
    pub(crate) rotated_at: Option<u64>,
    /// The DPoP key it was issued with; a public client must prove it to use it (RFC 9449 §5).
    pub(crate) dpop_jkt: Option<String>,
}

/// A signed-in browser session (the hosted UI's cookie).
#[derive(Clone, Debug)]
pub(crate) struct Session {
    pub(crate) username: String,
    pub(crate) auth_time: u64,
}

/// What the user did with a device code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum DeviceDecision {
    Pending,
    Approved { username: String, auth_time: u64 },
    Denied,
}

/// A device authorization (RFC 8628).
#[derive(Clone, Debug)]
pub(crate) struct DeviceRecord {
    pub(crate) client_id: String,
    pub(crate) user_code: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) expires_at: u64,
    pub(crate) interval: u64,
    /// When the client last polled (for `slow_down`).
    pub(crate) last_poll: Option<u64>,
    pub(crate) decision: DeviceDecision,
}

impl Weigh for CodeRecord {
    fn heap_bytes(&self) -> usize {
        self.client_id.len()
            + self.redirect_uri.len()
            + self.username.len()
            + self.scopes.heap_bytes()
            + self.nonce.heap_bytes()
            + self.code_challenge.heap_bytes()
    }
}

impl Weigh for RedeemedCode {
    fn heap_bytes(&self) -> usize {
        self.origin_jti.len() + self.family.heap_bytes()
    }
}

impl Weigh for RefreshRecord {
    fn heap_bytes(&self) -> usize {
        self.dpop_jkt.as_ref().map_or(0, String::len)
            + self.client_id.len()
            + self.username.len()
            + self.scopes.heap_bytes()
            + self.origin_jti.len()
            + self.family.len()
    }
}

impl Weigh for Session {
    fn heap_bytes(&self) -> usize {
        self.username.len()
    }
}

impl Weigh for DeviceRecord {
    fn heap_bytes(&self) -> usize {
        let decision = match &self.decision {
            DeviceDecision::Approved { username, .. } => username.len(),
            DeviceDecision::Pending | DeviceDecision::Denied => 0,
        };
        self.client_id.len() + self.user_code.len() + self.scopes.heap_bytes() + decision
    }
}

/// How full one of the mock's stores is, against its bounds
/// ([`MockIssuer::store_sizes`](crate::mock::MockIssuer::store_sizes)).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreSize {
    /// The store: `sessions`, `csrf`, `codes`, `redeemed_codes`, `refresh`, `devices`,
    /// `revoked_families`, `revoked_origins`, `requests` (the log) or `request_counts`.
    pub name: &'static str,
    /// Entries held.
    pub entries: usize,
    /// Bytes held, approximately: keys, values and their heap, bookkeeping.
    pub bytes: usize,
    /// Entries at most (`usize::MAX` for the counts, one per route).
    pub max_entries: usize,
    /// Bytes at most (`usize::MAX` for the counts).
    pub max_bytes: usize,
}

/// How the JWKS endpoint misbehaves, for tests of key caches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum JwksFault {
    /// Serve the key set.
    #[default]
    None,
    /// Answer with this status and no key set.
    Status(u16),
    /// Never answer.
    Hang,
    /// Answer 200 with a body that is not a key set.
    Garbage,
}

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) config: MockConfig,
    pub(crate) keys: KeyRing,
    /// Authorization codes, kept until they expire.
    pub(crate) codes: BoundedMap<CodeRecord>,
    /// Codes traded for tokens, kept until they would have expired (to spot replays).
    pub(crate) redeemed_codes: BoundedMap<RedeemedCode>,
    /// Refresh tokens, kept until they expire.
    pub(crate) refresh: BoundedMap<RefreshRecord>,
    /// Families revoked by reuse detection or revocation, kept as long as a refresh token
    /// lives.
    pub(crate) revoked_families: BoundedMap<()>,
    /// `origin_jti`s whose tokens were revoked (`/oauth2/revoke`, refresh-token reuse), kept
    /// as long as an access or ID token lives.
    pub(crate) revoked_origins: BoundedMap<()>,
    /// Hosted-UI sessions, kept until they expire.
    pub(crate) sessions: BoundedMap<Session>,
    /// CSRF tokens of rendered forms, with their expiry (single use).
    pub(crate) csrf: BoundedMap<u64>,
    /// Device authorizations, kept for a device-code lifetime after they expire (so polls
    /// hear `expired_token`).
    pub(crate) devices: BoundedMap<DeviceRecord>,
    pub(crate) log: RequestLog,
    pub(crate) jwks_fault: JwksFault,
    /// `jti`s of the DPoP proofs of token requests (RFC 9449 §11.1).
    pub(crate) dpop_proofs: crate::dpop::MemoryReplayStore,
    /// The Rust token customizations (the declarative ones are in `config`).
    pub(crate) customizers: Customizers,
}

/// The most DPoP proofs of token requests remembered at once (each for about two minutes);
/// past it, token requests with proofs are refused until some expire.
const DPOP_PROOFS: u64 = 100_000;

impl State {
    pub(crate) fn new(config: MockConfig, keys: KeyRing) -> Self {
        Self {
            config,
            keys,
            codes: BoundedMap::new(LIMITS.codes),
            redeemed_codes: BoundedMap::new(LIMITS.redeemed_codes),
            refresh: BoundedMap::new(LIMITS.refresh),
            revoked_families: BoundedMap::new(LIMITS.revoked_families),
            revoked_origins: BoundedMap::new(LIMITS.revoked_origins),
            sessions: BoundedMap::new(LIMITS.sessions),
            csrf: BoundedMap::new(LIMITS.csrf),
            devices: BoundedMap::new(LIMITS.devices),
            log: RequestLog::new(LIMITS.requests),
            jwks_fault: JwksFault::None,
            dpop_proofs: crate::dpop::MemoryReplayStore::with_max_entries(DPOP_PROOFS),
            customizers: Customizers::default(),
        }
    }

    /// Entries and bytes of every store, for tests of the bounds.
    pub(crate) fn sizes(&self) -> Vec<StoreSize> {
        let map = |name, len, bytes, limits: Limits| StoreSize {
            name,
            entries: len,
            bytes,
            max_entries: limits.entries,
            max_bytes: limits.bytes,
        };
        vec![
            map(
                "sessions",
                self.sessions.len(),
                self.sessions.bytes(),
                self.sessions.limits(),
            ),
            map(
                "csrf",
                self.csrf.len(),
                self.csrf.bytes(),
                self.csrf.limits(),
            ),
            map(
                "codes",
                self.codes.len(),
                self.codes.bytes(),
                self.codes.limits(),
            ),
            map(
                "redeemed_codes",
                self.redeemed_codes.len(),
                self.redeemed_codes.bytes(),
                self.redeemed_codes.limits(),
            ),
            map(
                "refresh",
                self.refresh.len(),
                self.refresh.bytes(),
                self.refresh.limits(),
            ),
            map(
                "devices",
                self.devices.len(),
                self.devices.bytes(),
                self.devices.limits(),
            ),
            map(
                "revoked_families",
                self.revoked_families.len(),
                self.revoked_families.bytes(),
                self.revoked_families.limits(),
            ),
            map(
                "revoked_origins",
                self.revoked_origins.len(),
                self.revoked_origins.bytes(),
                self.revoked_origins.limits(),
            ),
            map(
                "requests",
                self.log.len(),
                self.log.bytes(),
                self.log.limits(),
            ),
            StoreSize {
                name: "request_counts",
                entries: self.log.counts().len(),
                bytes: self
                    .log
                    .counts()
                    .keys()
                    .map(|k| k.len() + size_of::<(String, u64)>())
                    .sum(),
                max_entries: usize::MAX,
                max_bytes: usize::MAX,
            },
        ]
    }

    pub(crate) fn client(&self, id: &str) -> Option<&Client> {
        self.config.clients.iter().find(|c| c.id == id)
    }

    pub(crate) fn user(&self, username: &str) -> Option<&User> {
        self.config.users.iter().find(|u| u.username == username)
    }

    /// Every custom scope the resource servers define (`<identifier>/<scope>`).
    pub(crate) fn custom_scopes(&self) -> Vec<String> {
        self.config
            .resource_servers
            .iter()
            .flat_map(|rs| rs.full_scopes().collect::<Vec<_>>())
            .collect()
    }

    /// The device authorization of a user code as issued (`XXXX-XXXX`).
    pub(crate) fn device_by_user_code(&self, user_code: &str) -> Option<&DeviceRecord> {
        self.devices.values().find(|d| d.user_code == user_code)
    }

    /// Records a decision on a pending device authorization, by its user code as typed
    /// (matched by [`user_code::normalize`]). Returns the code as issued.
    ///
    /// The `/device` page, the test API and the admin API all decide through here.
    pub(crate) fn decide_device(
        &mut self,
        typed_code: &str,
        now: u64,
        decision: DeviceDecision,
    ) -> Result<String, ApiError> {
        if let DeviceDecision::Approved { username, .. } = &decision
            && self.user(username).is_none()
        {
            return Err(ApiError::NotFound(format!("no user `{username}`")));
        }
        let unknown = || ApiError::NotFound("unknown user code".into());
        let code = user_code::normalize(typed_code).ok_or_else(unknown)?;
        let (device_code, record) = self
            .devices
            .iter()
            .find(|(_, d)| d.user_code == code)
            .ok_or_else(unknown)?;
        if record.expires_at <= now {
            return Err(ApiError::Invalid("the user code has expired".into()));
        }
        if record.decision != DeviceDecision::Pending {
            return Err(ApiError::Invalid("the user code was already used".into()));
        }
        let device_code = device_code.to_owned();
        let _ = self.devices.update(&device_code, |d| d.decision = decision);
        Ok(code)
    }

    /// Revokes every access and ID token issued from the sign-in `origin_jti`.
    pub(crate) fn revoke_origin(&mut self, origin_jti: &str, now: u64) {
        let lifetimes = &self.config.lifetimes;
        let until = expiry(now, lifetimes.access_token.max(lifetimes.id_token));
        self.revoked_origins
            .insert(origin_jti.to_owned(), (), until, now);
    }

    /// Revokes the refresh-token family and every token issued from its sign-in.
    pub(crate) fn revoke_family(&mut self, family: &str, now: u64) {
        let lifetimes = &self.config.lifetimes;
        // Remembered as long as anything issued from the sign-in could still be presented.
        let family_until = expiry(now, lifetimes.refresh_token);
        let origin_until = expiry(now, lifetimes.access_token.max(lifetimes.id_token));
        self.revoked_families
            .insert(family.to_owned(), (), family_until, now);
        let origins: Vec<String> = self
            .refresh
            .values()
            .filter(|r| r.family == family)
            .map(|r| r.origin_jti.clone())
            .collect();
        for origin in origins {
            self.revoked_origins.insert(origin, (), origin_until, now);
        }
        self.refresh.retain(|_, r| r.family != family);
    }
}
