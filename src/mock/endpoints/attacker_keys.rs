//! `ISSUER/_forgery/jwks.json`: the attacker's key set that a [`Forgery::JkuHeader`] token
//! names, so that a verifier which follows `jku` gets a key that verifies the token, and the
//! request log shows that it fetched it. Not found until a `jwk`, `jku` or `x5u` forgery
//! made the attacker's key: a request never makes one.
//!
//! [`Forgery::JkuHeader`]: crate::mock::Forgery::JkuHeader

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use crate::mock::{Shared, json};

/// `GET ISSUER/_forgery/jwks.json`.
pub(crate) async fn attacker_jwks(State(shared): State<Arc<Shared>>) -> Response {
    match shared.attacker.get() {
        Some(key) => json::json(StatusCode::OK, &json!({"keys": [key.jwk()]})),
        None => json::json(
            StatusCode::NOT_FOUND,
            &json!({"error": "not_found", "error_description": "no attacker key was made yet"}),
        ),
    }
}
