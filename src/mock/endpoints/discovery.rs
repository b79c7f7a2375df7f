//! `/.well-known/openid-configuration` (OIDC Discovery §3, RFC 8414 §2) and
//! `/.well-known/jwks.json`, with its fault switch. Both are served under the issuer's path
//! (Cognito's pool id), the OAuth endpoints at the root (Cognito's pool domain).

use std::sync::Arc;

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::mock::config::Grant;
use crate::mock::scopes::RESERVED;
use crate::mock::store::JwksFault;
use crate::mock::{Shared, json};

/// `GET /.well-known/openid-configuration`.
pub(crate) async fn openid_configuration(State(shared): State<Arc<Shared>>) -> Response {
    let scopes: Vec<String> = {
        let state = shared.state();
        RESERVED
            .iter()
            .map(|s| (*s).to_owned())
            .chain(state.custom_scopes())
            .collect()
    };
    let grant_types: Vec<&str> = Grant::ALL
        .iter()
        .map(|g| g.grant_type().unwrap_or("implicit"))
        .collect();
    let body = json!({
        "issuer": shared.issuer,
        "authorization_endpoint": shared.url("/oauth2/authorize"),
        "token_endpoint": shared.url("/oauth2/token"),
        "userinfo_endpoint": shared.url("/oauth2/userInfo"),
        "jwks_uri": shared.url(&shared.well_known("jwks.json")),
        "revocation_endpoint": shared.url("/oauth2/revoke"),
        "introspection_endpoint": shared.url("/oauth2/introspect"),
        "device_authorization_endpoint": shared.url("/oauth2/device_authorization"),
        "end_session_endpoint": shared.url("/logout"),
        "response_types_supported": ["code", "token"],
        "response_modes_supported": ["query", "fragment"],
        "grant_types_supported": grant_types,
        "code_challenge_methods_supported": ["S256"],
        "dpop_signing_alg_values_supported": crate::AlgorithmSet::DEFAULT
            .iter()
            .map(crate::Algorithm::as_str)
            .collect::<Vec<_>>(),
        "scopes_supported": scopes,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post"],
        "claims_supported": [
            "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "email",
            "email_verified", "phone_number", "phone_number_verified", "name",
            "cognito:username", "cognito:groups",
        ],
    });
    json::json(StatusCode::OK, &body)
}

/// `GET /.well-known/jwks.json`, or the fault the test API set.
pub(crate) async fn jwks(State(shared): State<Arc<Shared>>) -> Response {
    let (fault, body) = {
        let state = shared.state();
        (state.jwks_fault, state.keys.jwks())
    };
    match fault {
        JwksFault::None => {
            let mut response = json::json(StatusCode::OK, &body);
            response
                .headers_mut()
                .insert(CACHE_CONTROL, HeaderValue::from_static("max-age=300"));
            response
        }
        JwksFault::Status(code) => StatusCode::from_u16(code)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            .into_response(),
        JwksFault::Hang => std::future::pending().await,
        JwksFault::Garbage => {
            let mut response = (StatusCode::OK, "<html>oops</html>").into_response();
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
    }
}
