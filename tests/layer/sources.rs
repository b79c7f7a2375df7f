//! Opt-in token sources: a custom header and a cookie, used only when enabled, and never
//! together with another credential.

use axum::Router;
use axum::routing::get;
use http::HeaderName;
use tokengate::{AuthErrorKind, Claims, JwtAuthLayer};

use crate::{
    Hits, NO_TOKEN_CHALLENGE, Server, authorizer, invalid_request_challenge,
    invalid_token_challenge, send, token,
};

const X_ACCESS_TOKEN: HeaderName = HeaderName::from_static("x-access-token");

async fn serve(layer: JwtAuthLayer, hits: &Hits) -> Server {
    let hits = hits.clone();
    let app = Router::new()
        .route(
            "/me",
            get(move |claims: Claims| async move {
                hits.hit();
                claims.username().unwrap_or("?").to_owned()
            }),
        )
        .layer(layer);
    Server::start(app).await
}

#[tokio::test]
async fn custom_header_token_is_accepted_when_enabled() {
    let hits = Hits::default();
    let server = serve(
        JwtAuthLayer::new(authorizer()).token_from_header(X_ACCESS_TOKEN),
        &hits,
    )
    .await;
    let reply = send(server.get("/me").header("x-access-token", token())).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body, "alice");

    // The Authorization header still works alone.
    let reply = server.get_with("/me", &token()).await;
    assert_eq!(reply.status, 200);
    assert_eq!(hits.count(), 2);

    // A bad token in the custom header is checked like any other.
    let reply = send(server.get("/me").header("x-access-token", "not-a-jwt")).await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.www_authenticate(),
        Some(invalid_token_challenge(AuthErrorKind::Malformed).as_str())
    );
    // The custom header holds the raw token, no scheme.
    let reply = send(
        server
            .get("/me")
            .header("x-access-token", format!("Bearer {}", token())),
    )
    .await;
    assert_eq!(reply.status, 400);
    assert_eq!(hits.count(), 2);
}

#[tokio::test]
async fn custom_header_token_is_ignored_when_not_enabled() {
    let hits = Hits::default();
    let server = serve(JwtAuthLayer::new(authorizer()), &hits).await;
    let reply = send(server.get("/me").header("x-access-token", token())).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.www_authenticate(), Some(NO_TOKEN_CHALLENGE));
    assert_eq!(hits.count(), 0);
}

#[tokio::test]
async fn custom_header_and_authorization_together_are_400() {
    let hits = Hits::default();
    let server = serve(
        JwtAuthLayer::new(authorizer()).token_from_header(X_ACCESS_TOKEN),
        &hits,
    )
    .await;
    let reply = send(
        server
            .get("/me")
            .bearer_auth(token())
            .header("x-access-token", token()),
    )
    .await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.www_authenticate(),
        Some(invalid_request_challenge().as_str())
    );
    reply.assert_error_body(
        "invalid_request",
        AuthErrorKind::MalformedRequest.description(),
    );
    assert_eq!(hits.count(), 0);
}

#[tokio::test]
async fn cookie_token_is_accepted_when_enabled() {
    let hits = Hits::default();
    let server = serve(
        JwtAuthLayer::new(authorizer()).token_from_cookie("access_token"),
        &hits,
    )
    .await;
    let cookie = format!("theme=dark; access_token={}; lang=en", token());
    let reply = send(server.get("/me").header("cookie", cookie)).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body, "alice");
    assert_eq!(hits.count(), 1);

    // Other cookies alone are no token.
    let reply = send(server.get("/me").header("cookie", "theme=dark")).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.www_authenticate(), Some(NO_TOKEN_CHALLENGE));

    // A cookie whose name merely ends like the configured one is another cookie.
    let reply = send(
        server
            .get("/me")
            .header("cookie", format!("old_access_token={}", token())),
    )
    .await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.www_authenticate(), Some(NO_TOKEN_CHALLENGE));
    assert_eq!(hits.count(), 1);
}

#[tokio::test]
async fn cookie_token_is_ignored_when_not_enabled() {
    let hits = Hits::default();
    let server = serve(JwtAuthLayer::new(authorizer()), &hits).await;
    let reply = send(
        server
            .get("/me")
            .header("cookie", format!("access_token={}", token())),
    )
    .await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.www_authenticate(), Some(NO_TOKEN_CHALLENGE));
    assert_eq!(hits.count(), 0);

    // And it does not make a bearer token ambiguous either.
    let reply = send(
        server
            .get("/me")
            .bearer_auth(token())
            .header("cookie", format!("access_token={}", token())),
    )
    .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(hits.count(), 1);
}

#[tokio::test]
async fn token_and_cookie_together_are_400_when_the_cookie_source_is_enabled() {
    let hits = Hits::default();
    let server = serve(
        JwtAuthLayer::new(authorizer()).token_from_cookie("access_token"),
        &hits,
    )
    .await;
    let reply = send(
        server
            .get("/me")
            .bearer_auth(token())
            .header("cookie", format!("access_token={}", token())),
    )
    .await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.www_authenticate(),
        Some(invalid_request_challenge().as_str())
    );
    reply.assert_error_body(
        "invalid_request",
        AuthErrorKind::MalformedRequest.description(),
    );
    assert_eq!(hits.count(), 0);
}

#[tokio::test]
async fn query_parameter_and_body_tokens_are_never_read() {
    // RFC 6750 §2.2/§2.3 sources are not supported: a token there is no token at all.
    let hits = Hits::default();
    let server = serve(
        JwtAuthLayer::new(authorizer())
            .token_from_header(X_ACCESS_TOKEN)
            .token_from_cookie("access_token"),
        &hits,
    )
    .await;
    let reply = send(server.get(&format!("/me?access_token={}", token()))).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.www_authenticate(), Some(NO_TOKEN_CHALLENGE));
    let reply = send(
        server
            .post("/me")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("access_token={}", token())),
    )
    .await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.www_authenticate(), Some(NO_TOKEN_CHALLENGE));
    assert_eq!(hits.count(), 0);
}

#[tokio::test]
async fn two_custom_header_values_are_400() {
    let hits = Hits::default();
    let server = serve(
        JwtAuthLayer::new(authorizer()).token_from_header(X_ACCESS_TOKEN),
        &hits,
    )
    .await;
    let reply = send(
        server
            .get("/me")
            .header("x-access-token", token())
            .header("x-access-token", token()),
    )
    .await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.www_authenticate(),
        Some(invalid_request_challenge().as_str())
    );
    assert_eq!(hits.count(), 0);
}
