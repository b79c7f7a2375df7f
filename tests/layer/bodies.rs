//! Rejection bodies: JSON by default, empty, or your own; status and challenge unchanged.

use axum::Router;
use axum::routing::get;
use bytes::Bytes;
use http::HeaderValue;
use tokengate::{AuthErrorKind, ErrorBody, JwtAuthLayer, RequireScope};

use crate::{
    Hits, NO_TOKEN_CHALLENGE, Server, authorizer, cold_authorizer, invalid_request_challenge,
    invalid_token_challenge, send, token,
};

/// `/open` (any valid token) and `/scoped` (needs `api/delete`) behind `layer`.
async fn serve(layer: JwtAuthLayer, hits: &Hits) -> Server {
    let (open, scoped) = (hits.clone(), hits.clone());
    let app = Router::new()
        .route(
            "/open",
            get(move || async move {
                open.hit();
                "ok"
            }),
        )
        .route(
            "/scoped",
            get(move || async move {
                scoped.hit();
                "ok"
            })
            .route_layer(RequireScope::all(["api/delete"])),
        )
        .layer(layer);
    Server::start(app).await
}

#[tokio::test]
async fn empty_body_keeps_status_and_challenge() {
    let hits = Hits::default();
    let server = serve(
        JwtAuthLayer::new(authorizer()).error_body(ErrorBody::Empty),
        &hits,
    )
    .await;

    let reply = send(server.get("/open")).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.www_authenticate(), Some(NO_TOKEN_CHALLENGE));
    assert_eq!(reply.body, "");
    assert_eq!(reply.header("content-type"), None);
    assert_eq!(reply.header("content-length"), Some("0"));

    let reply = server.get_with("/open", "not-a-jwt").await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.www_authenticate(),
        Some(invalid_token_challenge(AuthErrorKind::Malformed).as_str())
    );
    assert_eq!(reply.body, "");

    let reply = send(server.get("/open").header("authorization", "Bearer a b")).await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.www_authenticate(),
        Some(invalid_request_challenge().as_str())
    );
    assert_eq!(reply.body, "");

    let reply = server.get_with("/scoped", &token()).await;
    assert_eq!(reply.status, 403);
    assert!(reply.www_authenticate().is_some_and(
        |c| c.contains("error=\"insufficient_scope\"") && c.ends_with("scope=\"api/delete\"")
    ));
    assert_eq!(reply.body, "");
    assert_eq!(hits.count(), 0);
}

fn plain_text() -> ErrorBody {
    ErrorBody::custom(|err| {
        let text = format!(
            "denied ({}): {}",
            err.code().map_or("none", |c| c.as_str()),
            err.description()
        );
        (HeaderValue::from_static("text/plain"), Bytes::from(text))
    })
}

#[tokio::test]
async fn custom_body_has_its_content_type_and_bytes() {
    let hits = Hits::default();
    let server = serve(
        JwtAuthLayer::new(authorizer()).error_body(plain_text()),
        &hits,
    )
    .await;

    let reply = send(server.get("/open")).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.www_authenticate(), Some(NO_TOKEN_CHALLENGE));
    assert_eq!(reply.header("content-type"), Some("text/plain"));
    assert_eq!(reply.body, "denied (none): no bearer token was presented");

    let reply = server.get_with("/open", "not-a-jwt").await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.www_authenticate(),
        Some(invalid_token_challenge(AuthErrorKind::Malformed).as_str())
    );
    assert_eq!(reply.header("content-type"), Some("text/plain"));
    assert_eq!(
        reply.body,
        format!(
            "denied (invalid_token): {}",
            AuthErrorKind::Malformed.description()
        )
    );

    // Requirements render with the layer's body too.
    let reply = server.get_with("/scoped", &token()).await;
    assert_eq!(reply.status, 403);
    assert_eq!(reply.header("content-type"), Some("text/plain"));
    assert_eq!(
        reply.body,
        format!(
            "denied (insufficient_scope): {}",
            AuthErrorKind::InsufficientScope.description()
        )
    );
    assert_eq!(hits.count(), 0);
}

#[tokio::test]
async fn custom_body_for_unavailable_keys_keeps_503_and_retry_after() {
    let (_jwks_server, authorizer) = cold_authorizer().await;
    let hits = Hits::default();
    let server = serve(
        JwtAuthLayer::new(authorizer).error_body(plain_text()),
        &hits,
    )
    .await;
    let reply = server.get_with("/open", &token()).await;
    assert_eq!(reply.status, 503);
    assert_eq!(reply.www_authenticate(), None);
    assert!(reply.header("retry-after").is_some());
    assert_eq!(reply.header("content-type"), Some("text/plain"));
    assert_eq!(
        reply.body,
        format!(
            "denied (none): {}",
            AuthErrorKind::KeysUnavailable.description()
        )
    );
    assert_eq!(hits.count(), 0);
}

#[tokio::test]
async fn empty_body_is_the_same_when_the_extractor_refuses_an_anonymous_request() {
    // Optional mode lets the request through; the `Claims` extractor then refuses it. Its
    // 401 must look exactly like the layer's own: same challenge, no body, no content type.
    let hits = Hits::default();
    let seen = hits.clone();
    let app = Router::new()
        .route(
            "/must",
            get(move |_claims: tokengate::Claims| async move {
                seen.hit();
                "ok"
            }),
        )
        .route(
            "/scoped",
            get(|| async { "ok" }).route_layer(RequireScope::all(["x"])),
        )
        .layer(
            JwtAuthLayer::new(authorizer())
                .optional()
                .error_body(ErrorBody::Empty),
        );
    let server = Server::start(app).await;

    let from_requirement = send(server.get("/scoped")).await;
    let from_extractor = send(server.get("/must")).await;
    for reply in [&from_requirement, &from_extractor] {
        assert_eq!(reply.status, 401, "{reply:?}");
        assert_eq!(reply.www_authenticate(), Some(NO_TOKEN_CHALLENGE));
        assert_eq!(reply.body, "");
        assert_eq!(
            reply.header("content-type"),
            None,
            "an empty rejection has no content type: {reply:?}"
        );
    }
    assert_eq!(hits.count(), 0);
}
