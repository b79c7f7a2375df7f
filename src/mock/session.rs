//! The hosted UI's browser session (a cookie) and CSRF tokens for its forms.
//!
//! The cookie's name is per instance (`tokengate_mock_session_` and a random suffix): cookies
//! are scoped by host, not port, so two mocks on `127.0.0.1` in one browser or cookie jar
//! would otherwise overwrite each other's sessions.

use axum::http::HeaderMap;
use axum::http::header::COOKIE;

use crate::mock::Shared;
use crate::mock::keys::{new_id, random_id};
use crate::mock::store::Session;

/// The session cookie's name, before the instance's suffix.
const COOKIE_PREFIX: &str = "tokengate_mock_session_";

/// CSRF tokens live this long (seconds).
const CSRF_TTL: u64 = 600;

/// Sessions live this long (seconds), like Cognito's hosted UI session.
const SESSION_TTL: u64 = 3600;

/// A fresh cookie name for one instance.
pub(crate) fn new_cookie_name() -> String {
    format!("{COOKIE_PREFIX}{}", random_id(6))
}

impl Shared {
    /// The values of this instance's session cookie in a request.
    fn session_ids<'h>(&'h self, headers: &'h HeaderMap) -> impl Iterator<Item = &'h str> + 'h {
        headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .filter(|(name, _)| *name == self.cookie_name)
            .map(|(_, value)| value)
    }

    /// The signed-in user of the request's session cookie, if any.
    pub(crate) fn session(&self, headers: &HeaderMap) -> Option<Session> {
        let id = self.session_ids(headers).next()?;
        let now = self.now();
        let state = self.state();
        state
            .sessions
            .get(id)
            .filter(|s| {
                s.auth_time.saturating_add(SESSION_TTL) > now && state.user(&s.username).is_some()
            })
            .cloned()
    }

    /// Signs `username` in; returns the `Set-Cookie` value.
    pub(crate) fn start_session(&self, username: &str) -> String {
        let id = new_id();
        let now = self.now();
        self.state().sessions.insert(
            id.clone(),
            Session {
                username: username.to_owned(),
                auth_time: now,
            },
            now.saturating_add(SESSION_TTL),
            now,
        );
        format!(
            "{}={id}; Path=/; HttpOnly; SameSite=Lax; Max-Age={SESSION_TTL}",
            self.cookie_name
        )
    }

    /// Ends the request's session; returns the `Set-Cookie` value that clears the cookie.
    pub(crate) fn end_session(&self, headers: &HeaderMap) -> String {
        let ids: Vec<String> = self.session_ids(headers).map(str::to_owned).collect();
        let mut state = self.state();
        for id in ids {
            state.sessions.remove(&id);
        }
        format!(
            "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0",
            self.cookie_name
        )
    }

    /// A fresh CSRF token for a form.
    pub(crate) fn csrf_token(&self) -> String {
        let token = new_id();
        let now = self.now();
        let expires = now.saturating_add(CSRF_TTL);
        self.state()
            .csrf
            .insert(token.clone(), expires, expires, now);
        token
    }

    /// Consumes a CSRF token: true once, for a token this server issued and that has not expired.
    pub(crate) fn consume_csrf(&self, token: &str) -> bool {
        let now = self.now();
        self.state()
            .csrf
            .remove(token)
            .is_some_and(|expires| expires > now)
    }
}
