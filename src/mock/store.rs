//! The mock's in-memory state: configuration, keys, codes, refresh tokens, sessions, device
//! codes, revocations, the request log and fault switches. One mutex, never held across I/O.

use std::collections::{HashMap, HashSet};

use crate::mock::config::{Client, MockConfig, User};
use crate::mock::error::ApiError;
use crate::mock::keys::KeyRing;
use crate::mock::user_code;

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

/// One request the mock received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRequest {
    /// The method.
    pub method: String,
    /// The path, without the query.
    pub path: String,
}

/// Requests kept in the log; older ones are dropped (counts keep counting).
pub(crate) const MAX_LOGGED_REQUESTS: usize = 10_000;

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) config: MockConfig,
    pub(crate) keys: KeyRing,
    pub(crate) codes: HashMap<String, CodeRecord>,
    pub(crate) refresh: HashMap<String, RefreshRecord>,
    /// Families revoked by reuse detection or revocation.
    pub(crate) revoked_families: HashSet<String>,
    /// `origin_jti`s whose tokens were revoked (`/oauth2/revoke`, refresh-token reuse).
    pub(crate) revoked_origins: HashSet<String>,
    pub(crate) sessions: HashMap<String, Session>,
    /// CSRF tokens of rendered forms, with their expiry (single use).
    pub(crate) csrf: HashMap<String, u64>,
    pub(crate) devices: HashMap<String, DeviceRecord>,
    pub(crate) requests: Vec<RecordedRequest>,
    pub(crate) counts: HashMap<String, u64>,
    pub(crate) jwks_fault: JwksFault,
}

impl State {
    pub(crate) fn new(config: MockConfig, keys: KeyRing) -> Self {
        Self {
            config,
            keys,
            codes: HashMap::new(),
            refresh: HashMap::new(),
            revoked_families: HashSet::new(),
            revoked_origins: HashSet::new(),
            sessions: HashMap::new(),
            csrf: HashMap::new(),
            devices: HashMap::new(),
            requests: Vec::new(),
            counts: HashMap::new(),
            jwks_fault: JwksFault::None,
        }
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

    pub(crate) fn record(&mut self, method: &str, path: &str) {
        *self.counts.entry(path.to_owned()).or_default() += 1;
        if self.requests.len() >= MAX_LOGGED_REQUESTS {
            self.requests.remove(0);
        }
        self.requests.push(RecordedRequest {
            method: method.to_owned(),
            path: path.to_owned(),
        });
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
        let record = self
            .devices
            .values_mut()
            .find(|d| d.user_code == code)
            .ok_or_else(unknown)?;
        if record.expires_at <= now {
            return Err(ApiError::Invalid("the user code has expired".into()));
        }
        if record.decision != DeviceDecision::Pending {
            return Err(ApiError::Invalid("the user code was already used".into()));
        }
        record.decision = decision;
        Ok(code)
    }

    /// Revokes the refresh-token family and every token issued from its sign-in.
    pub(crate) fn revoke_family(&mut self, family: &str) {
        self.revoked_families.insert(family.to_owned());
        let origins: Vec<String> = self
            .refresh
            .values()
            .filter(|r| r.family == family)
            .map(|r| r.origin_jti.clone())
            .collect();
        self.revoked_origins.extend(origins);
        self.refresh.retain(|_, r| r.family != family);
    }
}
