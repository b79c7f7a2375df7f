//! The routes, with Cognito's paths, and what wraps them all: the request log, a body limit.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http_body_util::LengthLimitError;

use crate::mock::endpoints::{
    admin, attacker_keys, authorize, device, device_authorization, discovery, introspect, login,
    logout, revoke, token, userinfo,
};
use crate::mock::error::OAuthError;
use crate::mock::store::RecordedRequest;
use crate::mock::{Shared, admin_guard, forgery, form, html};

/// Bodies beyond this are refused (413) before any handler reads them.
const MAX_BODY: usize = 64 * 1024;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        // Under the issuer's path (the pool id), as Cognito serves them; never at the root.
        .route(
            &shared.well_known("openid-configuration"),
            get(discovery::openid_configuration),
        )
        .route(&shared.well_known("jwks.json"), get(discovery::jwks))
        .route(
            &forgery::jku_path(&shared),
            get(attacker_keys::attacker_jwks),
        )
        .route("/oauth2/authorize", get(authorize::authorize))
        .route("/login", get(login::page).post(login::submit))
        .route("/oauth2/token", post(token::token))
        .route(
            "/oauth2/userInfo",
            get(userinfo::userinfo).post(userinfo::userinfo),
        )
        .route("/oauth2/revoke", post(revoke::revoke))
        .route("/oauth2/introspect", post(introspect::introspect))
        .route("/logout", get(logout::logout))
        .route(
            "/oauth2/device_authorization",
            post(device_authorization::device_authorization),
        )
        .route("/device", get(device::page).post(device::submit))
        .nest(
            "/_admin",
            admin::router().layer(middleware::from_fn_with_state(
                Arc::clone(&shared),
                admin_guard::guard,
            )),
        )
        .layer(middleware::from_fn(too_large_in_kind))
        .layer(middleware::from_fn_with_state(Arc::clone(&shared), record))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(shared)
}

/// A body over the limit is refused (413) in the endpoint's own kind of error: an HTML page
/// for the hosted pages, an RFC 6749 §5.2 JSON error everywhere else.
async fn too_large_in_kind(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    if response.status() != StatusCode::PAYLOAD_TOO_LARGE {
        return response;
    }
    too_large(&path)
}

fn too_large(path: &str) -> Response {
    let message = format!("the request body is larger than {MAX_BODY} bytes");
    if matches!(path, "/login" | "/device") {
        html::error_page(StatusCode::PAYLOAD_TOO_LARGE, &message)
    } else {
        OAuthError::payload_too_large(message).into_response()
    }
}

/// Logs every request — form bodies included, read here within the body limit and handed on
/// whole — and counts it by route (the path pattern that answered), so the counts never hold
/// more keys than there are routes.
async fn record(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str)
        // A nested router's fallback answers under a catch-all pattern: no route.
        .filter(|route| !route.contains('{'))
        .map(str::to_owned);
    let (parts, body) = request.into_parts();
    if !form::is_form(&parts.headers) {
        let recorded = RecordedRequest::new(&parts, None);
        shared.state().log.record(recorded, route.as_deref());
        return next.run(Request::from_parts(parts, body)).await;
    }
    match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(bytes) => {
            let recorded = RecordedRequest::new(&parts, Some(&bytes));
            shared.state().log.record(recorded, route.as_deref());
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(error) => {
            let recorded = RecordedRequest::new(&parts, None);
            shared.state().log.record(recorded, route.as_deref());
            if error.into_inner().is::<LengthLimitError>() {
                too_large(parts.uri.path())
            } else {
                OAuthError::invalid_request("the request body could not be read").into_response()
            }
        }
    }
}
