//! The layer in a plain tower stack: any `Service<Request<B>>` works, the inner service's
//! error and body types are kept, and the inner service is only called for valid tokens.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use tokengate::{AuthErrorKind, Claims, JwtAuthLayer, ResponseBody};
use tower::{Layer, ServiceBuilder, ServiceExt};

use crate::{Hits, NO_TOKEN_CHALLENGE, authorizer, invalid_token_challenge, token};

/// The inner service's own error type, which the layer must hand back unchanged.
#[derive(Debug, PartialEq, Eq)]
struct InnerError(&'static str);

impl fmt::Display for InnerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for InnerError {}

fn request(token: Option<&str>) -> Request<Full<Bytes>> {
    let mut builder = Request::builder().uri("/inner");
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    builder.body(Full::new(Bytes::new())).expect("request")
}

async fn text(response: Response<ResponseBody<Full<Bytes>>>) -> (StatusCode, String) {
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, String::from_utf8(bytes.to_vec()).expect("utf-8"))
}

/// A `service_fn` that answers the username from the claims the layer left, or fails with
/// `InnerError` when asked to (path `/fail`).
fn inner(
    hits: &Hits,
) -> impl tower::Service<
    Request<Full<Bytes>>,
    Response = Response<Full<Bytes>>,
    Error = InnerError,
    Future = impl Send,
> + Clone
+ Send
+ 'static {
    let hits = hits.clone();
    tower::service_fn(move |req: Request<Full<Bytes>>| {
        let hits = hits.clone();
        async move {
            hits.hit();
            if req.uri().path() == "/fail" {
                return Err(InnerError("inner failed"));
            }
            let claims = req
                .extensions()
                .get::<Claims>()
                .ok_or(InnerError("no claims"))?;
            let name = claims.username().unwrap_or("?").to_owned();
            Ok(Response::new(Full::new(Bytes::from(name))))
        }
    })
}

#[tokio::test]
async fn layer_guards_a_plain_service_fn() {
    let hits = Hits::default();
    let service = JwtAuthLayer::new(authorizer()).layer(inner(&hits));

    let response = service.clone().oneshot(request(None)).await.expect("ok");
    assert_eq!(response.headers()["www-authenticate"], NO_TOKEN_CHALLENGE);
    let (status, body) = text(response).await;
    assert_eq!(status, 401);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).expect("json"),
        serde_json::json!({
            "error": "unauthorized",
            "error_description": AuthErrorKind::MissingToken.description(),
        })
    );
    assert_eq!(hits.count(), 0);

    let response = service
        .clone()
        .oneshot(request(Some("not-a-jwt")))
        .await
        .expect("ok");
    assert_eq!(
        response.headers()["www-authenticate"],
        invalid_token_challenge(AuthErrorKind::Malformed).as_str()
    );
    assert_eq!(text(response).await.0, 401);
    assert_eq!(hits.count(), 0);

    let response = service.oneshot(request(Some(&token()))).await.expect("ok");
    assert!(response.headers().get("www-authenticate").is_none());
    assert_eq!(text(response).await, (StatusCode::OK, "alice".to_owned()));
    assert_eq!(hits.count(), 1);
}

#[tokio::test]
async fn inner_service_error_type_is_kept() {
    let hits = Hits::default();
    let service = ServiceBuilder::new()
        .layer(JwtAuthLayer::new(authorizer()))
        .service(inner(&hits));
    let mut req = request(Some(&token()));
    *req.uri_mut() = "/fail".parse().expect("uri");
    // The error is the inner service's own type, not a boxed or wrapped one.
    let result: Result<_, InnerError> = service.oneshot(req).await;
    assert_eq!(result.err(), Some(InnerError("inner failed")));
    assert_eq!(hits.count(), 1);
}

#[tokio::test]
async fn refusals_are_responses_not_errors() {
    let hits = Hits::default();
    let service = ServiceBuilder::new()
        .layer(JwtAuthLayer::new(authorizer()))
        .service(inner(&hits));
    // Even on the failing path, a refused request never reaches the inner service.
    let mut req = request(None);
    *req.uri_mut() = "/fail".parse().expect("uri");
    let response = service
        .oneshot(req)
        .await
        .expect("a refusal is Ok(response)");
    assert_eq!(response.status(), 401);
    assert_eq!(hits.count(), 0);
}

/// A body that fails with the inner service's own error type.
struct FailingBody;

impl http_body::Body for FailingBody {
    type Data = Bytes;
    type Error = InnerError;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, InnerError>>> {
        Poll::Ready(Some(Err(InnerError("body failed"))))
    }
}

#[tokio::test]
async fn inner_body_type_and_its_error_are_kept() {
    fn body_error<B: http_body::Body<Data = Bytes, Error = E>, E>(_: &B) -> &'static str {
        std::any::type_name::<E>()
    }
    let service = JwtAuthLayer::new(authorizer()).layer(tower::service_fn(
        |_req: Request<Full<Bytes>>| async { Ok::<_, InnerError>(Response::new(FailingBody)) },
    ));
    let response = service.oneshot(request(Some(&token()))).await.expect("ok");
    assert_eq!(
        body_error(response.body()),
        std::any::type_name::<InnerError>()
    );
    let err = response
        .into_body()
        .collect()
        .await
        .expect_err("the inner body's error comes through");
    assert_eq!(err, InnerError("body failed"));
}

/// An inner service that answers only a call its own `poll_ready` prepared: a clone starts
/// unprepared, as a tower service's clone may.
struct ReadyOnce {
    ready: bool,
}

impl Clone for ReadyOnce {
    fn clone(&self) -> Self {
        Self { ready: false }
    }
}

impl tower::Service<Request<Full<Bytes>>> for ReadyOnce {
    type Response = Response<Full<Bytes>>;
    type Error = InnerError;
    type Future = std::future::Ready<Result<Self::Response, InnerError>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), InnerError>> {
        self.ready = true;
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<Full<Bytes>>) -> Self::Future {
        std::future::ready(if std::mem::replace(&mut self.ready, false) {
            Ok(Response::new(Full::new(Bytes::from_static(b"ok"))))
        } else {
            Err(InnerError("called without poll_ready"))
        })
    }
}

/// `poll_ready` to readiness, then `call`, on the same service: tower's contract.
async fn ready_then_call<S>(service: &mut S, request: Request<Full<Bytes>>) -> S::Response
where
    S: tower::Service<Request<Full<Bytes>>, Error = InnerError>,
{
    service
        .ready()
        .await
        .expect("ready")
        .call(request)
        .await
        .expect("the inner service was made ready before its call")
}

/// tower's contract: the service driven to readiness is the one called. The layer answers a
/// cache hit in `call` with its own inner service, and a miss in a future with a swapped-in
/// clone; either way, each request reaches a prepared service.
#[tokio::test]
async fn the_inner_service_called_is_always_the_one_made_ready() {
    let token = token();
    for layer in [
        JwtAuthLayer::new(authorizer()),
        JwtAuthLayer::new(authorizer()).optional(),
    ] {
        let mut service = layer.layer(ReadyOnce { ready: false });
        // A miss, hits, a refusal in between, hits again; then (optional mode) no token.
        let sequence = [
            Some(token.as_str()),
            Some(token.as_str()),
            Some("not-a-token"),
            Some(token.as_str()),
            Some(token.as_str()),
        ];
        for presented in sequence {
            let response = ready_then_call(&mut service, request(presented)).await;
            let expected = if presented == Some("not-a-token") {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::OK
            };
            assert_eq!(response.status(), expected, "{presented:?}");
        }
    }
    let mut optional = JwtAuthLayer::new(authorizer())
        .optional()
        .layer(ReadyOnce { ready: false });
    for _ in 0..2 {
        let response = ready_then_call(&mut optional, request(None)).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
}
