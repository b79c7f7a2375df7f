//! Roles from nested claim paths granting and refusing routes; a route's own predicate (403
//! with the description its author chose, gRPC 7) against an authorizer's custom check (401
//! `invalid_token`).

use axum::Router;
use axum::routing::{get, post};
use serde_json::json;
use tokengate::{
    AuthErrorKind, Authorizer, Claims, JwtAuthLayer, KeySet, Profile, RequireGroup, RequireMethods,
    Requirement,
};

use crate::support::jwks;
use crate::{Hits, Server, http2_client, key, send};

const REALM: &str = "https://sso.example.com/realms/acme";

fn keycloak_token(realm_roles: &[&str], client_roles: &[&str], username: &str) -> String {
    let now = crate::support::now();
    key().token(&json!({
        "iss": REALM,
        "exp": now + 300,
        "iat": now - 5,
        "sub": "0b6f5e2c",
        "typ": "Bearer",
        "azp": "orders-web",
        "aud": "account",
        "preferred_username": username,
        "scope": "openid profile",
        "realm_access": {"roles": realm_roles},
        "resource_access": {"orders-api": {"roles": client_roles}},
    }))
}

fn keycloak() -> Authorizer {
    Authorizer::builder(Profile::keycloak().client_roles("orders-api"))
        .issuer(REALM)
        .authorized_party("orders-web")
        .keys(KeySet::from_jwks_json(&jwks(&[key()])).expect("keys"))
        .build()
}

fn route(hits: &Hits, requirement: Requirement) -> Router {
    let hits = hits.clone();
    Router::new().route(
        "/",
        get(move || async move {
            hits.hit();
            "ok"
        })
        .route_layer(requirement.layer()),
    )
}

#[tokio::test]
async fn nested_realm_and_client_roles_grant_and_refuse_routes() {
    let hits = Hits::default();
    let app = Router::new()
        .nest("/staff", route(&hits, RequireGroup::any(["staff"]).into()))
        .nest(
            "/admin",
            route(&hits, RequireGroup::all(["orders.admin"]).into()),
        )
        .layer(JwtAuthLayer::new(keycloak()));
    let server = Server::start(app).await;
    let staff = keycloak_token(&["staff"], &["orders.read"], "alice");
    let admin = keycloak_token(&["offline_access"], &["orders.admin"], "bob");
    assert_eq!(server.get_with("/staff", &staff).await.status, 200);
    assert_eq!(server.get_with("/admin", &admin).await.status, 200);
    assert_eq!(hits.count(), 2);
    for (path, token) in [("/admin", &staff), ("/staff", &admin)] {
        let reply = server.get_with(path, token).await;
        assert_eq!(reply.status, 403, "{path}");
        reply.assert_error_body(
            "insufficient_scope",
            AuthErrorKind::InsufficientScope.description(),
        );
    }
    assert_eq!(hits.count(), 2);
}

#[tokio::test]
async fn route_predicate_refuses_with_its_own_description_and_custom_check_with_401() {
    let hits = Hits::default();
    let authorizer = Authorizer::builder(Profile::keycloak())
        .issuer(REALM)
        .authorized_party("orders-web")
        .keys(KeySet::from_jwks_json(&jwks(&[key()])).expect("keys"))
        .check(|claims: &Claims| claims.username() != Some("mallory"))
        .build();
    let staff_only = Requirement::predicate("staff accounts only", |claims: &Claims| {
        claims.username().is_some_and(|u| u.ends_with(".staff"))
    });
    let app = route(&hits, staff_only).layer(JwtAuthLayer::new(authorizer));
    let server = Server::start(app).await;

    let reply = server
        .get_with("/", &keycloak_token(&[], &[], "carol.staff"))
        .await;
    assert_eq!(reply.status, 200);

    let reply = server
        .get_with("/", &keycloak_token(&[], &[], "dave"))
        .await;
    assert_eq!(reply.status, 403);
    assert_eq!(
        reply.www_authenticate(),
        Some(
            "Bearer realm=\"api\", error=\"insufficient_scope\", \
             error_description=\"staff accounts only\""
        )
    );
    reply.assert_error_body("insufficient_scope", "staff accounts only");

    let reply = server
        .get_with("/", &keycloak_token(&[], &[], "mallory"))
        .await;
    assert_eq!(reply.status, 401);
    reply.assert_error_body("invalid_token", AuthErrorKind::CheckFailed.description());
    assert_eq!(hits.count(), 1);
}

#[tokio::test]
async fn predicate_over_the_layers_typed_claims() {
    #[derive(serde::Deserialize)]
    struct Acr {
        acr: String,
    }
    let hits = Hits::default();
    let mfa = Requirement::predicate("step-up authentication needed", |claims: &Claims<Acr>| {
        claims.acr == "2"
    });
    let token = |acr: &str| {
        let now = crate::support::now();
        key().token(&json!({
            "iss": REALM, "exp": now + 300, "iat": now, "azp": "orders-web", "acr": acr,
        }))
    };
    let typed = route(&hits, mfa.clone()).layer(JwtAuthLayer::new(keycloak()).claims::<Acr>());
    let server = Server::start(typed).await;
    assert_eq!(server.get_with("/", &token("2")).await.status, 200);
    let reply = server.get_with("/", &token("1")).await;
    assert_eq!(reply.status, 403);
    reply.assert_error_body("insufficient_scope", "step-up authentication needed");
    // A layer reading another claims type: a server misconfiguration, never a pass.
    let untyped = route(&hits, mfa).layer(JwtAuthLayer::new(keycloak()));
    let server = Server::start(untyped).await;
    assert_eq!(server.get_with("/", &token("2")).await.status, 500);
    assert_eq!(hits.count(), 1);
}

#[tokio::test]
async fn grpc_predicate_is_permission_denied_with_its_description() {
    let hits = Hits::default();
    let counted = hits.clone();
    const METHOD: &str = "/orders.v1.Orders/Cancel";
    let app = Router::new()
        .route(
            METHOD,
            post(move || async move {
                counted.hit();
                (
                    [("content-type", "application/grpc"), ("grpc-status", "0")],
                    "",
                )
            }),
        )
        .layer(
            RequireMethods::builder()
                .method(
                    METHOD,
                    Requirement::predicate(
                        "only the order's owner may cancel it",
                        |claims: &Claims| claims.username() == Some("owner"),
                    ),
                )
                .build()
                .expect("valid method paths"),
        )
        .layer(JwtAuthLayer::new(keycloak()));
    let server = Server::start(app).await;
    let call = |token: String| {
        send(
            http2_client()
                .post(format!("{}{METHOD}", server.base))
                .header("content-type", "application/grpc")
                .bearer_auth(token)
                .body(vec![0u8; 5]),
        )
    };
    let reply = call(keycloak_token(&[], &[], "owner")).await;
    assert_eq!(reply.header("grpc-status"), Some("0"));
    let reply = call(keycloak_token(&[], &[], "someone")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("grpc-status"), Some("7"));
    assert_eq!(
        reply.header("grpc-message"),
        Some("only the order's owner may cancel it")
    );
    assert_eq!(hits.count(), 1);
}
