//! gRPC requests (`content-type: application/grpc…` over HTTP/2, gRPC-Web over any version)
//! are refused the gRPC way: HTTP 200, trailers-only, with `grpc-status` and `grpc-message`,
//! never an HTTP 401. Anything else gets its HTTP status.

use axum::Router;
use axum::routing::post;
use tokengate::{AuthErrorKind, JwtAuthLayer, RequireGroup, RequireMethods, RequireScope};

use crate::{Hits, Reply, Server, authorizer, cold_authorizer, http2_client, send, token};

const METHOD: &str = "/orders.v1.Orders/List";
const CANCEL: &str = "/orders.v1.Orders/Cancel";

/// `METHOD` and `CANCEL` behind `layer`, `CANCEL` needing `api/delete` per route.
async fn serve(layer: JwtAuthLayer, hits: &Hits) -> Server {
    let (list, cancel) = (hits.clone(), hits.clone());
    let app = Router::new()
        .route(
            METHOD,
            post(move || async move {
                list.hit();
                (
                    [("content-type", "application/grpc"), ("grpc-status", "0")],
                    "",
                )
            }),
        )
        .route(
            CANCEL,
            post(move || async move {
                cancel.hit();
                (
                    [("content-type", "application/grpc"), ("grpc-status", "0")],
                    "",
                )
            })
            .route_layer(RequireScope::all(["api/delete"])),
        )
        .layer(layer);
    Server::start(app).await
}

async fn grpc_call(server: &Server, path: &str, token: Option<&str>) -> Reply {
    let mut request = http2_client()
        .post(format!("{}{path}", server.base))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(vec![0u8, 0, 0, 0, 0]);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    send(request).await
}

fn assert_grpc_refusal(reply: &Reply, code: &str, kind: AuthErrorKind) {
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.header("content-type"), Some("application/grpc"));
    assert_eq!(reply.header("grpc-status"), Some(code));
    assert_eq!(reply.header("grpc-message"), Some(kind.description()));
    assert_eq!(reply.www_authenticate(), None);
    assert_eq!(reply.body, "");
}

#[tokio::test]
async fn grpc_without_token_is_unauthenticated_not_http_401() {
    let hits = Hits::default();
    let server = serve(JwtAuthLayer::new(authorizer()), &hits).await;
    let reply = grpc_call(&server, METHOD, None).await;
    assert_grpc_refusal(&reply, "16", AuthErrorKind::MissingToken);
    assert_eq!(hits.count(), 0);
}

#[tokio::test]
async fn grpc_with_bad_token_is_unauthenticated() {
    let hits = Hits::default();
    let server = serve(JwtAuthLayer::new(authorizer()), &hits).await;
    let reply = grpc_call(&server, METHOD, Some("not-a-jwt")).await;
    assert_grpc_refusal(&reply, "16", AuthErrorKind::Malformed);

    let reply = send(
        http2_client()
            .post(format!("{}{METHOD}", server.base))
            .header("content-type", "application/grpc+proto")
            .header("authorization", "Bearer a b"),
    )
    .await;
    assert_grpc_refusal(&reply, "16", AuthErrorKind::MalformedRequest);
    assert_eq!(hits.count(), 0);
}

#[tokio::test]
async fn grpc_with_valid_token_reaches_the_method() {
    let hits = Hits::default();
    let server = serve(JwtAuthLayer::new(authorizer()), &hits).await;
    let reply = grpc_call(&server, METHOD, Some(&token())).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("grpc-status"), Some("0"));
    assert_eq!(hits.count(), 1);
}

#[tokio::test]
async fn grpc_insufficient_scope_is_permission_denied() {
    let hits = Hits::default();
    let server = serve(JwtAuthLayer::new(authorizer()), &hits).await;
    let reply = grpc_call(&server, CANCEL, Some(&token())).await;
    assert_grpc_refusal(&reply, "7", AuthErrorKind::InsufficientScope);
    assert_eq!(hits.count(), 0);
}

#[tokio::test]
async fn grpc_keys_unavailable_is_unavailable() {
    let (_jwks_server, authorizer) = cold_authorizer().await;
    let hits = Hits::default();
    let server = serve(JwtAuthLayer::new(authorizer), &hits).await;
    let reply = grpc_call(&server, METHOD, Some(&token())).await;
    assert_grpc_refusal(&reply, "14", AuthErrorKind::KeysUnavailable);
    assert_eq!(reply.header("retry-after"), None);
    assert_eq!(hits.count(), 0);
}

#[tokio::test]
async fn grpc_per_method_requirements() {
    let hits = Hits::default();
    let (list, cancel, other) = (hits.clone(), hits.clone(), hits.clone());
    let ok = || {
        (
            [("content-type", "application/grpc"), ("grpc-status", "0")],
            "",
        )
    };
    let app = Router::new()
        .route(
            METHOD,
            post(move || async move {
                list.hit();
                ok()
            }),
        )
        .route(
            CANCEL,
            post(move || async move {
                cancel.hit();
                ok()
            }),
        )
        .route(
            "/orders.v1.Orders/Get",
            post(move || async move {
                other.hit();
                ok()
            }),
        )
        .layer(
            RequireMethods::builder()
                .method(METHOD, RequireScope::all(["api/read"]))
                .method(CANCEL, RequireGroup::any(["owners"]))
                .allow_unlisted()
                .build()
                .expect("valid method paths"),
        )
        .layer(JwtAuthLayer::new(authorizer()));
    let server = Server::start(app).await;
    let token = token();

    let reply = grpc_call(&server, METHOD, Some(&token)).await;
    assert_eq!(reply.header("grpc-status"), Some("0"));
    assert_eq!(hits.count(), 1);

    let reply = grpc_call(&server, CANCEL, Some(&token)).await;
    assert_grpc_refusal(&reply, "7", AuthErrorKind::InsufficientScope);
    assert_eq!(hits.count(), 1);

    // Not listed, and `allow_unlisted`: a valid token is enough.
    let reply = grpc_call(&server, "/orders.v1.Orders/Get", Some(&token)).await;
    assert_eq!(reply.header("grpc-status"), Some("0"));
    assert_eq!(hits.count(), 2);

    // Not listed, no token: the layer refuses it before any requirement.
    let reply = grpc_call(&server, "/orders.v1.Orders/Get", None).await;
    assert_grpc_refusal(&reply, "16", AuthErrorKind::MissingToken);
    assert_eq!(hits.count(), 2);
}

#[tokio::test]
async fn grpc_methods_not_listed_are_refused_by_default() {
    let hits = Hits::default();
    let (list, other) = (hits.clone(), hits.clone());
    let ok = || {
        (
            [("content-type", "application/grpc"), ("grpc-status", "0")],
            "",
        )
    };
    // `Cancel` is listed with a lower-case typo: the real method is then unlisted.
    let app = Router::new()
        .route(
            METHOD,
            post(move || async move {
                list.hit();
                ok()
            }),
        )
        .route(
            CANCEL,
            post(move || async move {
                other.hit();
                ok()
            }),
        )
        .layer(
            RequireMethods::builder()
                .method(METHOD, RequireScope::all(["api/read"]))
                .method("/orders.v1.Orders/cancel", RequireGroup::any(["owners"]))
                .build()
                .expect("valid method paths"),
        )
        .layer(JwtAuthLayer::new(authorizer()));
    let server = Server::start(app).await;
    let token = token();

    let reply = grpc_call(&server, METHOD, Some(&token)).await;
    assert_eq!(reply.header("grpc-status"), Some("0"));
    let reply = grpc_call(&server, CANCEL, Some(&token)).await;
    assert_grpc_refusal(&reply, "7", AuthErrorKind::InsufficientScope);
    assert_eq!(hits.count(), 1, "the misspelt method is refused, not open");

    // Over plain HTTP the same refusal is a 403 without a `scope`.
    let reply = send(server.post(CANCEL).bearer_auth(&token)).await;
    assert_eq!(reply.status, 403);
    assert_eq!(
        reply.www_authenticate(),
        Some(
            "Bearer realm=\"api\", error=\"insufficient_scope\", \
             error_description=\"the token lacks the required scope\""
        )
    );
    assert_eq!(hits.count(), 1);
}

#[test]
fn a_method_path_that_is_not_package_service_method_is_a_build_error() {
    for bad in [
        "orders.v1.Orders/Cancel",
        "/orders.v1.Orders",
        "/orders.v1.Orders/Cancel/",
    ] {
        let err = RequireMethods::builder()
            .method(bad, RequireScope::all(["api/read"]))
            .build()
            .unwrap_err();
        assert!(err.to_string().contains(bad), "{err}");
    }
}

#[tokio::test]
async fn http1_request_with_a_grpc_content_type_gets_http_401() {
    let hits = Hits::default();
    let server = serve(JwtAuthLayer::new(authorizer()), &hits).await;
    for content_type in ["application/grpc", "application/grpc+proto"] {
        let reply = send(
            server
                .post(METHOD)
                .header("content-type", content_type)
                .body(vec![0u8, 0, 0, 0, 0]),
        )
        .await;
        assert_eq!(reply.status, 401, "{content_type}: {reply:?}");
        assert_eq!(reply.header("grpc-status"), None);
        assert_eq!(reply.www_authenticate(), Some("Bearer realm=\"api\""));
    }
    assert_eq!(hits.count(), 0);
}

#[tokio::test]
async fn grpc_web_over_http1_is_refused_the_grpc_way() {
    let hits = Hits::default();
    let server = serve(JwtAuthLayer::new(authorizer()), &hits).await;
    for content_type in ["application/grpc-web+proto", "application/grpc-web-text"] {
        let reply = send(
            server
                .post(METHOD)
                .header("content-type", content_type)
                .header("x-grpc-web", "1"),
        )
        .await;
        assert_grpc_refusal(&reply, "16", AuthErrorKind::MissingToken);
    }
    assert_eq!(hits.count(), 0);
}

#[tokio::test]
async fn grpc_requirement_without_the_layer_is_internal() {
    let hits = Hits::default();
    let seen = hits.clone();
    let app = Router::new().route(
        METHOD,
        post(move || async move {
            seen.hit();
            "ok"
        })
        .route_layer(RequireScope::all(["api/read"])),
    );
    let server = Server::start(app).await;
    let reply = grpc_call(&server, METHOD, Some(&token())).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.header("grpc-status"), Some("13"));
    assert!(
        reply
            .header("grpc-message")
            .is_some_and(|m| m.contains("JwtAuthLayer"))
    );
    assert_eq!(hits.count(), 0);
}

/// The layer in a real tonic server, called by a real tonic client over HTTP/2.
mod tonic_server {
    use tokengate::{AuthErrorKind, Authorizer, JwtAuthLayer, RequireMethods, RequireScope};
    use tonic::Code;
    use tonic::transport::server::TcpIncoming;
    use tonic::transport::{Channel, Server};
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_client::HealthClient;

    use crate::{authorizer, cold_authorizer, token};

    const CHECK: &str = "/grpc.health.v1.Health/Check";

    /// The standard health service behind `JwtAuthLayer`, `Check` needing `scope`.
    async fn serve(authorizer: Authorizer, scope: &str) -> HealthClient<Channel> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let base = format!("http://{}", listener.local_addr().expect("local addr"));
        let (_reporter, health) = tonic_health::server::health_reporter();
        let server = Server::builder()
            .layer(JwtAuthLayer::new(authorizer))
            .layer(
                RequireMethods::builder()
                    .method(CHECK, RequireScope::all([scope]))
                    .build()
                    .expect("valid method paths"),
            )
            .serve_with_incoming(health, TcpIncoming::from(listener));
        tokio::spawn(server);
        let channel = Channel::from_shared(base)
            .expect("uri")
            .connect()
            .await
            .expect("connect");
        HealthClient::new(channel)
    }

    async fn check(client: &mut HealthClient<Channel>, token: Option<&str>) -> tonic::Status {
        let mut request = tonic::Request::new(HealthCheckRequest::default());
        if let Some(token) = token {
            let value = format!("Bearer {token}").parse().expect("ascii");
            request.metadata_mut().insert("authorization", value);
        }
        match client.check(request).await {
            Ok(response) => tonic::Status::ok(format!("{:?}", response.into_inner().status)),
            Err(status) => status,
        }
    }

    #[tokio::test]
    async fn tonic_client_sees_grpc_statuses() {
        let mut client = serve(authorizer(), "api/read").await;

        let status = check(&mut client, None).await;
        assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
        assert_eq!(status.message(), AuthErrorKind::MissingToken.description());

        let status = check(&mut client, Some("x.y.z")).await;
        assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
        assert_eq!(status.message(), AuthErrorKind::Malformed.description());

        let status = check(&mut client, Some(&token())).await;
        assert_eq!(status.code(), Code::Ok, "{status:?}");

        let mut client = serve(authorizer(), "api/delete").await;
        let status = check(&mut client, Some(&token())).await;
        assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
        assert_eq!(
            status.message(),
            AuthErrorKind::InsufficientScope.description()
        );
    }

    #[tokio::test]
    async fn tonic_client_sees_unavailable_when_keys_are() {
        let (_jwks_server, authorizer) = cold_authorizer().await;
        let mut client = serve(authorizer, "api/read").await;
        let status = check(&mut client, Some(&token())).await;
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
        assert_eq!(
            status.message(),
            AuthErrorKind::KeysUnavailable.description()
        );
    }
}
