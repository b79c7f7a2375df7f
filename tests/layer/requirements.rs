//! Per-route requirements (`RequireScope`, `RequireGroup`, composed with `and`/`or`) as axum
//! `route_layer`s and as plain tower layers: 403 `insufficient_scope` naming the scopes.

use std::convert::Infallible;

use axum::Router;
use axum::routing::get;
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use serde_json::json;
use tokengate::{AuthErrorKind, JwtAuthLayer, RequireGroup, RequireLayer, RequireScope};
use tower::{ServiceBuilder, ServiceExt};

use crate::{Hits, NO_TOKEN_CHALLENGE, Server, authorizer, send, token, token_with};

/// One route per requirement, each counting its calls, all behind one `JwtAuthLayer`.
fn app(routes: &[(&str, RequireLayer)], hits: &Hits) -> Router {
    let mut app = Router::new();
    for (path, requirement) in routes {
        let hits = hits.clone();
        app = app.merge(
            Router::new()
                .route(
                    path,
                    get(move || async move {
                        hits.hit();
                        "ok"
                    }),
                )
                .route_layer(requirement.clone()),
        );
    }
    app.layer(JwtAuthLayer::new(authorizer()))
}

fn insufficient_scope_challenge(scope: Option<&str>) -> String {
    let mut challenge = format!(
        "Bearer realm=\"api\", error=\"insufficient_scope\", error_description=\"{}\"",
        AuthErrorKind::InsufficientScope.description()
    );
    if let Some(scope) = scope {
        challenge.push_str(&format!(", scope=\"{scope}\""));
    }
    challenge
}

/// Asserts a 403 `insufficient_scope`, with `scope="…"` in the challenge when given.
fn assert_forbidden(reply: &crate::Reply, scope: Option<&str>) {
    assert_eq!(reply.status, 403, "{reply:?}");
    assert_eq!(
        reply.www_authenticate(),
        Some(insufficient_scope_challenge(scope).as_str())
    );
    reply.assert_error_body(
        "insufficient_scope",
        AuthErrorKind::InsufficientScope.description(),
    );
}

/// Asserts that `path` answers 200 to `token` and that the handler ran once more.
async fn assert_allowed(server: &Server, hits: &Hits, path: &str, token: &str) {
    let before = hits.count();
    let reply = server.get_with(path, token).await;
    assert_eq!(reply.status, 200, "{path}: {reply:?}");
    assert_eq!(reply.body, "ok");
    assert_eq!(hits.count(), before + 1, "{path}");
}

/// Asserts that `path` refuses `token` with 403 and that the handler did not run.
async fn assert_refused(
    server: &Server,
    hits: &Hits,
    path: &str,
    token: &str,
    scope: Option<&str>,
) {
    let before = hits.count();
    let reply = server.get_with(path, token).await;
    assert_forbidden(&reply, scope);
    assert_eq!(hits.count(), before, "{path}: handler must not run");
}

// The token of `token()` has scopes `api/read api/write openid` and groups `admins readers`.

#[tokio::test]
async fn require_scope_all_needs_every_scope() {
    let hits = Hits::default();
    let server = Server::start(app(
        &[
            ("/met", RequireScope::all(["api/read", "api/write"])),
            ("/unmet", RequireScope::all(["api/read", "api/delete"])),
        ],
        &hits,
    ))
    .await;
    let token = token();
    assert_allowed(&server, &hits, "/met", &token).await;
    assert_refused(
        &server,
        &hits,
        "/unmet",
        &token,
        Some("api/read api/delete"),
    )
    .await;
}

#[tokio::test]
async fn require_scope_any_needs_one_scope() {
    let hits = Hits::default();
    let server = Server::start(app(
        &[
            ("/met", RequireScope::any(["api/delete", "api/read"])),
            ("/unmet", RequireScope::any(["api/delete", "api/admin"])),
        ],
        &hits,
    ))
    .await;
    let token = token();
    assert_allowed(&server, &hits, "/met", &token).await;
    assert_refused(
        &server,
        &hits,
        "/unmet",
        &token,
        Some("api/delete api/admin"),
    )
    .await;
}

#[tokio::test]
async fn require_group_all_needs_every_group_and_names_no_scope() {
    let hits = Hits::default();
    let server = Server::start(app(
        &[
            ("/met", RequireGroup::all(["admins", "readers"])),
            ("/unmet", RequireGroup::all(["admins", "owners"])),
        ],
        &hits,
    ))
    .await;
    let token = token();
    assert_allowed(&server, &hits, "/met", &token).await;
    assert_refused(&server, &hits, "/unmet", &token, None).await;
}

#[tokio::test]
async fn require_group_any_needs_one_group_and_names_no_scope() {
    let hits = Hits::default();
    let server = Server::start(app(
        &[
            ("/met", RequireGroup::any(["owners", "readers"])),
            ("/unmet", RequireGroup::any(["owners", "auditors"])),
        ],
        &hits,
    ))
    .await;
    let token = token();
    assert_allowed(&server, &hits, "/met", &token).await;
    assert_refused(&server, &hits, "/unmet", &token, None).await;

    // A token without any `cognito:groups` meets no group requirement.
    let no_groups = token_with(|c| {
        c.remove("cognito:groups");
    });
    assert_refused(&server, &hits, "/met", &no_groups, None).await;
}

#[tokio::test]
async fn scope_and_group_requirement_needs_both() {
    let hits = Hits::default();
    let server = Server::start(app(
        &[(
            "/admin",
            RequireScope::all(["api/read"]).and(RequireGroup::any(["admins"])),
        )],
        &hits,
    ))
    .await;
    assert_allowed(&server, &hits, "/admin", &token()).await;

    let not_admin = token_with(|c| {
        c.insert("cognito:groups".into(), json!(["readers"]));
    });
    assert_refused(&server, &hits, "/admin", &not_admin, Some("api/read")).await;

    let no_read = token_with(|c| {
        c.insert("scope".into(), json!("api/write"));
    });
    assert_refused(&server, &hits, "/admin", &no_read, Some("api/read")).await;
}

#[tokio::test]
async fn scope_or_group_requirement_needs_either() {
    let hits = Hits::default();
    let server = Server::start(app(
        &[(
            "/either",
            RequireScope::all(["api/delete"]).or(RequireGroup::any(["admins"])),
        )],
        &hits,
    ))
    .await;
    // Admin without api/delete.
    assert_allowed(&server, &hits, "/either", &token()).await;
    // api/delete without admin.
    let deleter = token_with(|c| {
        c.insert("scope".into(), json!("api/delete"));
        c.remove("cognito:groups");
    });
    assert_allowed(&server, &hits, "/either", &deleter).await;
    // Neither.
    let neither = token_with(|c| {
        c.insert("cognito:groups".into(), json!(["readers"]));
    });
    assert_refused(&server, &hits, "/either", &neither, Some("api/delete")).await;
}

#[tokio::test]
async fn composed_scope_requirements_name_each_scope_once() {
    let hits = Hits::default();
    let requirement = RequireScope::all(["api/read", "api/delete"]).or(RequireScope::any([
        "api/delete",
        "api/admin",
    ])
    .and(RequireGroup::all(["owners"])));
    let server = Server::start(app(&[("/x", requirement)], &hits)).await;
    assert_refused(
        &server,
        &hits,
        "/x",
        &token(),
        Some("api/read api/delete api/admin"),
    )
    .await;
}

#[tokio::test]
async fn requirement_only_guards_its_own_routes() {
    let hits = Hits::default();
    let open = hits.clone();
    let app = Router::new()
        .route(
            "/guarded",
            get(|| async { "ok" }).route_layer(RequireScope::all(["api/delete"])),
        )
        .route(
            "/open",
            get(move || async move {
                open.hit();
                "ok"
            }),
        )
        .layer(JwtAuthLayer::new(authorizer()));
    let server = Server::start(app).await;
    let token = token();
    assert_forbidden(
        &server.get_with("/guarded", &token).await,
        Some("api/delete"),
    );
    assert_allowed(&server, &hits, "/open", &token).await;
    // The requirement runs after the token check: no token is still 401, not 403.
    let reply = send(server.get("/guarded")).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.www_authenticate(), Some(NO_TOKEN_CHALLENGE));
}

#[tokio::test]
async fn insufficient_scope_challenge_uses_the_layer_realm() {
    let app = Router::new()
        .route("/x", get(|| async { "ok" }))
        .route_layer(RequireScope::all(["api/delete"]))
        .layer(JwtAuthLayer::new(authorizer()).realm("orders"));
    let server = Server::start(app).await;
    let reply = server.get_with("/x", &token()).await;
    assert_eq!(reply.status, 403);
    assert_eq!(
        reply.www_authenticate(),
        Some(
            format!(
                "Bearer realm=\"orders\", error=\"insufficient_scope\", \
                 error_description=\"{}\", scope=\"api/delete\"",
                AuthErrorKind::InsufficientScope.description()
            )
            .as_str()
        )
    );
}

/// A plain tower stack: `JwtAuthLayer`, then `requirement`, then a `service_fn` counting calls.
async fn call_tower_stack(requirement: RequireLayer, token: &str) -> (Response<Bytes>, usize) {
    let hits = Hits::default();
    let seen = hits.clone();
    let service = ServiceBuilder::new()
        .layer(JwtAuthLayer::new(authorizer()))
        .layer(requirement)
        .service(tower::service_fn(move |_req: Request<Full<Bytes>>| {
            let seen = seen.clone();
            async move {
                seen.hit();
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"inner"))))
            }
        }));
    let request = Request::builder()
        .uri("/orders")
        .header("authorization", format!("Bearer {token}"))
        .body(Full::new(Bytes::new()))
        .expect("request");
    let response = service.oneshot(request).await.expect("infallible");
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.expect("body").to_bytes();
    (Response::from_parts(parts, bytes), hits.count())
}

#[tokio::test]
async fn requirement_works_as_a_plain_tower_layer() {
    let (response, calls) = call_tower_stack(RequireScope::all(["api/read"]), &token()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.body().as_ref(), b"inner");
    assert_eq!(calls, 1);

    let (response, calls) = call_tower_stack(
        RequireScope::any(["api/delete"]).and(RequireGroup::any(["admins"])),
        &token(),
    )
    .await;
    assert_eq!(response.status(), 403);
    assert_eq!(
        response.headers()["www-authenticate"],
        insufficient_scope_challenge(Some("api/delete")).as_str()
    );
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: serde_json::Value = serde_json::from_slice(response.body()).expect("json");
    assert_eq!(body["error"], "insufficient_scope");
    assert_eq!(calls, 0);

    let (response, calls) = call_tower_stack(RequireGroup::all(["owners"]), &token()).await;
    assert_eq!(response.status(), 403);
    assert_eq!(
        response.headers()["www-authenticate"],
        insufficient_scope_challenge(None).as_str()
    );
    assert_eq!(calls, 0);
}
