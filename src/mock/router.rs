//! The routes, with Cognito's paths, and what wraps them all: the request log, a body limit.

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::mock::endpoints::{
    admin, authorize, device, device_authorization, discovery, introspect, login, logout, revoke,
    token, userinfo,
};
use crate::mock::error::OAuthError;
use crate::mock::{Shared, admin_guard, html};

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
    let html = matches!(request.uri().path(), "/login" | "/device");
    let response = next.run(request).await;
    if response.status() != StatusCode::PAYLOAD_TOO_LARGE {
        return response;
    }
    let message = format!("the request body is larger than {MAX_BODY} bytes");
    if html {
        html::error_page(StatusCode::PAYLOAD_TOO_LARGE, &message)
    } else {
        OAuthError::payload_too_large(message).into_response()
    }
}

/// Logs every request, and counts it by route (the path pattern that answered), so the
/// counts never hold more keys than there are routes.
async fn record(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str)
        // A nested router's fallback answers under a catch-all pattern: no route.
        .filter(|route| !route.contains('{'));
    shared
        .state()
        .log
        .record(request.method().as_str(), route, request.uri().path());
    next.run(request).await
}
