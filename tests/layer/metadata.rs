//! RFC 9728: `resource_metadata` in every challenge, and the metadata document itself.

use axum::Router;
use axum::routing::get;
use serde_json::json;
use tokengate::{AuthErrorKind, JwtAuthLayer, ProtectedResourceMetadata, RequireScope};

use crate::support::ISSUER;
use crate::{Hits, Server, authorizer, send, token};

const METADATA_URL: &str = "https://api.example/.well-known/oauth-protected-resource";

fn metadata() -> ProtectedResourceMetadata {
    ProtectedResourceMetadata::new("https://api.example")
        .authorization_server(ISSUER)
        .scopes(["api/read", "api/write"])
}

/// The metadata document (public) next to `/orders` (needs a token and `api/delete` on
/// `/orders/delete`), whose challenges point at the document.
async fn serve(hits: &Hits) -> Server {
    let (orders, delete) = (hits.clone(), hits.clone());
    let protected = Router::new()
        .route(
            "/orders",
            get(move || async move {
                orders.hit();
                "orders"
            }),
        )
        .route(
            "/orders/delete",
            get(move || async move {
                delete.hit();
                "deleted"
            })
            .route_layer(RequireScope::all(["api/delete"])),
        )
        .layer(JwtAuthLayer::new(authorizer()).resource_metadata(METADATA_URL));
    let app = Router::new()
        .route_service(ProtectedResourceMetadata::PATH, metadata().service())
        .merge(protected);
    Server::start(app).await
}

#[tokio::test]
async fn resource_metadata_is_in_every_challenge() {
    let hits = Hits::default();
    let server = serve(&hits).await;
    let rm = format!("resource_metadata=\"{METADATA_URL}\"");

    let reply = send(server.get("/orders")).await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.www_authenticate(),
        Some(format!("Bearer realm=\"api\", {rm}").as_str())
    );

    let reply = send(server.get("/orders").header("authorization", "Bearer a b")).await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.www_authenticate(),
        Some(
            format!(
                "Bearer realm=\"api\", error=\"invalid_request\", error_description=\"{}\", {rm}",
                AuthErrorKind::MalformedRequest.description()
            )
            .as_str()
        )
    );

    let reply = server.get_with("/orders", "not-a-jwt").await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.www_authenticate(),
        Some(
            format!(
                "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"{}\", {rm}",
                AuthErrorKind::Malformed.description()
            )
            .as_str()
        )
    );

    let reply = server.get_with("/orders/delete", &token()).await;
    assert_eq!(reply.status, 403);
    assert_eq!(
        reply.www_authenticate(),
        Some(
            format!(
                "Bearer realm=\"api\", error=\"insufficient_scope\", error_description=\"{}\", \
                 scope=\"api/delete\", {rm}",
                AuthErrorKind::InsufficientScope.description()
            )
            .as_str()
        )
    );
    assert_eq!(hits.count(), 0);

    let reply = server.get_with("/orders", &token()).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.www_authenticate(), None);
    assert_eq!(hits.count(), 1);
}

#[tokio::test]
async fn metadata_document_is_served_without_a_token() {
    let hits = Hits::default();
    let server = serve(&hits).await;
    let reply = send(server.get(ProtectedResourceMetadata::PATH)).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.www_authenticate(), None);
    assert_eq!(reply.header("cache-control"), Some("max-age=3600"));
    assert_eq!(
        reply.json(),
        json!({
            "resource": "https://api.example",
            "authorization_servers": [ISSUER],
            "scopes_supported": ["api/read", "api/write"],
            "bearer_methods_supported": ["header"],
        })
    );
}

#[tokio::test]
async fn metadata_document_answers_head_and_refuses_post() {
    let hits = Hits::default();
    let server = serve(&hits).await;
    let reply = send(server.head(ProtectedResourceMetadata::PATH)).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.body, "");

    let reply = send(server.post(ProtectedResourceMetadata::PATH).body("{}")).await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("allow"), Some("GET, HEAD"));
    assert_eq!(reply.body, "");
}

#[test]
fn metadata_document_optional_fields() {
    let minimal: serde_json::Value =
        serde_json::from_slice(&ProtectedResourceMetadata::new("https://api.example").to_json())
            .expect("json");
    assert_eq!(
        minimal,
        json!({
            "resource": "https://api.example",
            "authorization_servers": [],
            "bearer_methods_supported": ["header"],
        })
    );
    let full: serde_json::Value = serde_json::from_slice(
        &metadata()
            .bearer_methods(["header", "cookie"])
            .resource_name("Orders API")
            .to_json(),
    )
    .expect("json");
    assert_eq!(
        full["bearer_methods_supported"],
        json!(["header", "cookie"])
    );
    assert_eq!(full["resource_name"], "Orders API");
}

#[tokio::test]
async fn resource_metadata_is_in_challenges_after_optional_authentication() {
    // The anonymous request passes the optional layer; the refusal then comes from the
    // extractor or the requirement, which must still point at the metadata document.
    let app = Router::new()
        .route("/must", get(|_claims: tokengate::Claims| async { "ok" }))
        .route(
            "/scoped",
            get(|| async { "ok" }).route_layer(RequireScope::all(["api/read"])),
        )
        .layer(
            JwtAuthLayer::new(authorizer())
                .optional()
                .realm("orders")
                .resource_metadata(METADATA_URL),
        );
    let server = Server::start(app).await;
    let expected = format!("Bearer realm=\"orders\", resource_metadata=\"{METADATA_URL}\"");
    for path in ["/must", "/scoped"] {
        let reply = send(server.get(path)).await;
        assert_eq!(reply.status, 401, "{path}: {reply:?}");
        assert_eq!(reply.www_authenticate(), Some(expected.as_str()), "{path}");
    }
}
