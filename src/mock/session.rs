//! The hosted UI's browser session (a cookie) and CSRF tokens for its forms.

use axum::http::HeaderMap;
use axum::http::header::COOKIE;

use crate::mock::Shared;
use crate::mock::keys::new_id;
use crate::mock::store::Session;

/// The session cookie's name.
pub(crate) const COOKIE_NAME: &str = "tokengate_mock_session";

/// CSRF tokens live this long (seconds).
const CSRF_TTL: u64 = 600;

/// Sessions live this long (seconds), like Cognito's hosted UI session.
const SESSION_TTL: u64 = 3600;

impl Shared {
    /// The signed-in user of the request's session cookie, if any.
    pub(crate) fn session(&self, headers: &HeaderMap) -> Option<Session> {
        let id = headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == COOKIE_NAME)
            .map(|(_, value)| value.to_owned())?;
        let now = self.now();
        let state = self.state();
        state
            .sessions
            .get(&id)
            .filter(|s| s.auth_time + SESSION_TTL > now && state.user(&s.username).is_some())
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
        );
        format!("{COOKIE_NAME}={id}; Path=/; HttpOnly; SameSite=Lax; Max-Age={SESSION_TTL}")
    }

    /// Ends the request's session; returns the `Set-Cookie` value that clears the cookie.
    pub(crate) fn end_session(&self, headers: &HeaderMap) -> String {
        let ids: Vec<String> = headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .filter(|(name, _)| *name == COOKIE_NAME)
            .map(|(_, value)| value.to_owned())
            .collect();
        let mut state = self.state();
        for id in ids {
            state.sessions.remove(&id);
        }
        format!("{COOKIE_NAME}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
    }

    /// A fresh CSRF token for a form.
    pub(crate) fn csrf_token(&self) -> String {
        let token = new_id();
        let now = self.now();
        let mut state = self.state();
        state.csrf.retain(|_, expires| *expires > now);
        state.csrf.insert(token.clone(), now + CSRF_TTL);
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
