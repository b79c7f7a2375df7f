//! The axum extractors when the server is misconfigured: no layer, or a layer reading other
//! claims than the handler asks for, is a 500 that says how to fix it.

use axum::Router;
use axum::routing::get;
use serde::Deserialize;
use tokengate::{Claims, JwtAuthLayer, RequireGroup, RequireScope};

use crate::{Hits, Server, authorizer, send, token, token_with};

#[derive(Debug, Deserialize)]
struct Tenant {
    #[serde(rename = "custom:tenant")]
    tenant: String,
}

#[derive(Debug, Deserialize)]
struct Plan {
    #[serde(rename = "custom:plan", default)]
    plan: Option<String>,
}

#[tokio::test]
async fn claims_without_the_layer_is_500_naming_jwt_auth_layer() {
    let hits = Hits::default();
    let seen = hits.clone();
    let app = Router::new().route(
        "/me",
        get(move |claims: Claims| async move {
            seen.hit();
            claims.username().unwrap_or("?").to_owned()
        }),
    );
    let server = Server::start(app).await;
    for reply in [
        send(server.get("/me")).await,
        server.get_with("/me", &token()).await,
    ] {
        assert_eq!(reply.status, 500, "{reply:?}");
        assert!(reply.body.contains("JwtAuthLayer"), "{}", reply.body);
        assert_eq!(
            reply.header("content-type"),
            Some("text/plain; charset=utf-8")
        );
        assert_eq!(reply.www_authenticate(), None);
    }
    assert_eq!(hits.count(), 0);
}

#[tokio::test]
async fn optional_claims_without_the_layer_is_500_not_anonymous() {
    let hits = Hits::default();
    let seen = hits.clone();
    let app = Router::new().route(
        "/maybe",
        get(move |claims: Option<Claims>| async move {
            seen.hit();
            if claims.is_some() {
                "signed in"
            } else {
                "anonymous"
            }
        }),
    );
    let server = Server::start(app).await;
    let reply = send(server.get("/maybe")).await;
    assert_eq!(reply.status, 500, "{reply:?}");
    assert!(reply.body.contains("JwtAuthLayer"), "{}", reply.body);
    assert_eq!(hits.count(), 0);
}

#[tokio::test]
async fn requirement_without_the_layer_is_500_naming_jwt_auth_layer() {
    let hits = Hits::default();
    let (scoped, grouped) = (hits.clone(), hits.clone());
    let app = Router::new()
        .route(
            "/scoped",
            get(move || async move {
                scoped.hit();
                "ok"
            })
            .route_layer(RequireScope::all(["api/read"])),
        )
        .route(
            "/grouped",
            get(move || async move {
                grouped.hit();
                "ok"
            })
            .route_layer(RequireGroup::any(["admins"])),
        );
    let server = Server::start(app).await;
    for path in ["/scoped", "/grouped"] {
        for reply in [
            send(server.get(path)).await,
            server.get_with(path, &token()).await,
        ] {
            assert_eq!(reply.status, 500, "{path}: {reply:?}");
            assert!(reply.body.contains("JwtAuthLayer"), "{}", reply.body);
            assert_eq!(reply.www_authenticate(), None);
        }
    }
    assert_eq!(hits.count(), 0);
}

#[tokio::test]
async fn layer_reading_other_claims_than_the_handler_is_500_naming_the_type() {
    let hits = Hits::default();
    let (plan, unit, maybe) = (hits.clone(), hits.clone(), hits.clone());
    let app = Router::new()
        .route(
            "/plan",
            get(move |claims: Claims<Plan>| async move {
                plan.hit();
                claims.plan.clone().unwrap_or_default()
            }),
        )
        .route(
            "/unit",
            get(move |claims: Claims| async move {
                unit.hit();
                claims.username().unwrap_or("?").to_owned()
            }),
        )
        .route(
            "/maybe",
            get(move |claims: Option<Claims<Plan>>| async move {
                maybe.hit();
                if claims.is_some() { "some" } else { "none" }
            }),
        )
        .layer(JwtAuthLayer::new(authorizer()).claims::<Tenant>());
    let server = Server::start(app).await;
    let token = token_with(|c| {
        c.insert("custom:tenant".into(), serde_json::json!("acme"));
    });

    let reply = server.get_with("/plan", &token).await;
    assert_eq!(reply.status, 500, "{reply:?}");
    assert!(reply.body.contains(".claims::<"), "{}", reply.body);
    assert!(reply.body.contains("Plan"), "{}", reply.body);
    // A text message, labelled as text like the missing-layer 500.
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; charset=utf-8"),
        "{reply:?}"
    );

    // An optional extractor of the wrong type is a misconfiguration too, not "anonymous".
    let reply = server.get_with("/maybe", &token).await;
    assert_eq!(reply.status, 500, "{reply:?}");
    assert!(reply.body.contains(".claims::<"), "{}", reply.body);
    assert_eq!(hits.count(), 0);

    // Plain `Claims` (registered claims only) works whatever the layer reads.
    let reply = server.get_with("/unit", &token).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body, "alice");
    assert_eq!(hits.count(), 1);
}

#[tokio::test]
async fn custom_claims_with_the_matching_layer_reach_the_handler() {
    let hits = Hits::default();
    let seen = hits.clone();
    let app = Router::new()
        .route(
            "/tenant",
            get(move |claims: Option<Claims<Tenant>>| async move {
                seen.hit();
                claims.map_or_else(|| "none".to_owned(), |c| c.tenant.clone())
            }),
        )
        .layer(JwtAuthLayer::new(authorizer()).claims::<Tenant>());
    let server = Server::start(app).await;
    let token = token_with(|c| {
        c.insert("custom:tenant".into(), serde_json::json!("acme"));
    });
    let reply = server.get_with("/tenant", &token).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body, "acme");
    assert_eq!(hits.count(), 1);
}
