//! Optional authentication: anonymous requests reach the handler without claims; a token
//! that is present is still checked.

use axum::Router;
use axum::routing::get;
use tokengate::{AuthErrorKind, Claims, JwtAuthLayer, RequireScope};

use crate::{
    Hits, NO_TOKEN_CHALLENGE, Server, authorizer, invalid_request_challenge,
    invalid_token_challenge, send, token,
};

/// `/maybe` (`Option<Claims>`), `/must` (`Claims`) and `/scoped` (`RequireScope`), behind an
/// optional layer; every handler counts its calls.
async fn serve(hits: &Hits) -> Server {
    let (maybe, must, scoped) = (hits.clone(), hits.clone(), hits.clone());
    let app = Router::new()
        .route(
            "/maybe",
            get(move |claims: Option<Claims>| async move {
                maybe.hit();
                match claims {
                    Some(claims) => format!("hello {}", claims.username().unwrap_or("?")),
                    None => "hello anonymous".to_owned(),
                }
            }),
        )
        .route(
            "/must",
            get(move |claims: Claims| async move {
                must.hit();
                claims.username().unwrap_or("?").to_owned()
            }),
        )
        .route(
            "/scoped",
            get(move || async move {
                scoped.hit();
                "scoped"
            })
            .route_layer(RequireScope::all(["api/read"])),
        )
        .layer(JwtAuthLayer::new(authorizer()).optional());
    Server::start(app).await
}

#[tokio::test]
async fn no_token_reaches_the_handler_without_claims() {
    let hits = Hits::default();
    let server = serve(&hits).await;
    let reply = send(server.get("/maybe")).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body, "hello anonymous");
    assert_eq!(reply.www_authenticate(), None);
    assert_eq!(hits.count(), 1);
}

#[tokio::test]
async fn good_token_gives_the_handler_some_claims() {
    let hits = Hits::default();
    let server = serve(&hits).await;
    let reply = server.get_with("/maybe", &token()).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body, "hello alice");
    assert_eq!(hits.count(), 1);
}

#[tokio::test]
async fn bad_token_is_still_refused() {
    let hits = Hits::default();
    let server = serve(&hits).await;
    let reply = server.get_with("/maybe", "not-a-jwt").await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.www_authenticate(),
        Some(invalid_token_challenge(AuthErrorKind::Malformed).as_str())
    );
    reply.assert_error_body("invalid_token", AuthErrorKind::Malformed.description());

    let reply = send(server.get("/maybe").header("authorization", "Bearer a b")).await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.www_authenticate(),
        Some(invalid_request_challenge().as_str())
    );
    assert_eq!(hits.count(), 0);
}

#[tokio::test]
async fn another_scheme_in_optional_mode_is_anonymous() {
    let hits = Hits::default();
    let server = serve(&hits).await;
    let reply = send(server.get("/maybe").basic_auth("alice", Some("pw"))).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body, "hello anonymous");
    assert_eq!(hits.count(), 1);
}

#[tokio::test]
async fn required_claims_extractor_without_token_is_401_not_500() {
    let hits = Hits::default();
    let server = serve(&hits).await;
    let reply = send(server.get("/must")).await;
    assert_eq!(reply.status, 401, "{reply:?}");
    assert_eq!(reply.www_authenticate(), Some(NO_TOKEN_CHALLENGE));
    reply.assert_error_body("unauthorized", AuthErrorKind::MissingToken.description());
    assert_eq!(hits.count(), 0);

    let reply = server.get_with("/must", &token()).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, "alice");
    assert_eq!(hits.count(), 1);
}

#[tokio::test]
async fn scope_requirement_without_token_is_401_not_500() {
    let hits = Hits::default();
    let server = serve(&hits).await;
    let reply = send(server.get("/scoped")).await;
    assert_eq!(reply.status, 401, "{reply:?}");
    assert_eq!(reply.www_authenticate(), Some(NO_TOKEN_CHALLENGE));
    reply.assert_error_body("unauthorized", AuthErrorKind::MissingToken.description());
    assert_eq!(hits.count(), 0);

    let reply = server.get_with("/scoped", &token()).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, "scoped");
    assert_eq!(hits.count(), 1);
}
