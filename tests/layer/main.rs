//! Integration tests for the tower layer: `JwtAuthLayer`, per-route requirements, optional
//! mode, rejection bodies, token sources, RFC 9728 metadata, the axum extractors and gRPC
//! rejections.
//!
//! Every axum test runs a real server on a loopback port and calls it with reqwest, so the
//! status, headers and bodies asserted are the ones a client sees on the wire. A few tests
//! drive the layer as a plain tower service (`ServiceExt::oneshot`) to show it works in any
//! tower stack.

#[path = "../support/dpop_client.rs"]
mod dpop_client;
#[path = "../support/jwks_server.rs"]
mod jwks_server;
#[cfg(feature = "redis")]
#[path = "../support/redis_server.rs"]
mod redis_server;
#[path = "../support/mod.rs"]
mod support;

mod bodies;
mod checks;
mod dpop;
mod dpop_hostile;
#[cfg(feature = "redis")]
mod dpop_redis;
mod extractors;
mod grpc;
mod metadata;
mod optional;
mod outcomes;
mod requirements;
mod sources;
mod spans;
mod tower_stack;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use reqwest::RequestBuilder;
use reqwest::header::HeaderMap;
use serde_json::{Map, Value};
use tokengate::{Algorithm, AuthErrorKind, Authorizer, KeySet, Profile, RemoteJwks};

use jwks_server::{JwksServer, Mode};
use support::{CLIENT_ID, ISSUER, TestKey, cognito_access_claims, jwks};

/// The ES256 key every static-key authorizer trusts (`kid` "k1").
fn key() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(|| TestKey::generate(Algorithm::ES256, "k1"))
}

/// A Cognito access-token authorizer for [`ISSUER`] and [`CLIENT_ID`], trusting [`key`].
fn authorizer() -> Authorizer {
    Authorizer::builder(Profile::cognito_access())
        .issuer(ISSUER)
        .client_id(CLIENT_ID)
        .keys(KeySet::from_jwks_json(&jwks(&[key()])).expect("static jwks"))
        .build()
}

/// A JWKS server that answers 503, and an authorizer that has never had keys from it.
async fn cold_authorizer() -> (JwksServer, Authorizer) {
    let server = JwksServer::start(jwks(&[key()])).await;
    server.set_mode(Mode::Status(503));
    let remote = RemoteJwks::from_uri(server.jwks_uri())
        .expect("loopback jwks uri")
        .timeout(Duration::from_secs(2));
    let authorizer = Authorizer::builder(Profile::cognito_access())
        .issuer(ISSUER)
        .client_id(CLIENT_ID)
        .remote_jwks(remote)
        .build()
        .expect("valid authorizer settings");
    (server, authorizer)
}

/// A valid Cognito access token: scopes `api/read api/write openid`, groups `admins readers`,
/// username `alice`.
fn token() -> String {
    key().token(&cognito_access_claims())
}

/// A token signed by [`key`] with the Cognito access claims edited by `edit`.
fn token_with(edit: impl FnOnce(&mut Map<String, Value>)) -> String {
    let mut claims = cognito_access_claims();
    edit(claims.as_object_mut().expect("claims object"));
    key().token(&claims)
}

/// `Bearer realm="api", error="invalid_token", error_description="…"` for `kind`.
fn invalid_token_challenge(kind: AuthErrorKind) -> String {
    format!(
        "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"{}\"",
        kind.description()
    )
}

/// The challenge of a request refused as malformed.
fn invalid_request_challenge() -> String {
    format!(
        "Bearer realm=\"api\", error=\"invalid_request\", error_description=\"{}\"",
        AuthErrorKind::MalformedRequest.description()
    )
}

/// The challenge of a request with no token.
const NO_TOKEN_CHALLENGE: &str = "Bearer realm=\"api\"";

/// Counts calls of a handler or inner service.
#[derive(Clone, Debug, Default)]
struct Hits(Arc<AtomicUsize>);

impl Hits {
    fn hit(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// An axum app served on 127.0.0.1 for one test; stops when dropped.
struct Server {
    base: String,
    client: reqwest::Client,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    async fn start(app: Router) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let base = format!("http://{}", listener.local_addr().expect("local addr"));
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve");
        });
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("reqwest client");
        Self { base, client, task }
    }

    fn get(&self, path: &str) -> RequestBuilder {
        self.client.get(format!("{}{path}", self.base))
    }

    fn post(&self, path: &str) -> RequestBuilder {
        self.client.post(format!("{}{path}", self.base))
    }

    fn head(&self, path: &str) -> RequestBuilder {
        self.client.head(format!("{}{path}", self.base))
    }

    /// `GET path` with `Authorization: Bearer <token>`.
    async fn get_with(&self, path: &str, token: &str) -> Reply {
        send(self.get(path).bearer_auth(token)).await
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A client speaking HTTP/2 from the first byte, as gRPC clients do: gRPC-style refusals
/// are for HTTP/2 `application/grpc` requests only.
fn http2_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .http2_prior_knowledge()
        .build()
        .expect("HTTP/2 client")
}

/// A response as the client saw it.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: HeaderMap,
    body: String,
}

async fn send(request: RequestBuilder) -> Reply {
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.text().await.expect("body");
    Reply {
        status,
        headers,
        body,
    }
}

impl Reply {
    /// The one value of header `name`, as text.
    fn header(&self, name: &str) -> Option<&str> {
        let mut values = self.headers.get_all(name).iter();
        let value = values.next()?;
        assert!(values.next().is_none(), "more than one {name} header");
        Some(value.to_str().expect("ASCII header"))
    }

    fn www_authenticate(&self) -> Option<&str> {
        self.header("www-authenticate")
    }

    fn json(&self) -> Value {
        assert_eq!(self.header("content-type"), Some("application/json"));
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.body))
    }

    /// Asserts a JSON rejection body `{"error": code, "error_description": description}`.
    fn assert_error_body(&self, code: &str, description: &str) {
        assert_eq!(
            self.json(),
            serde_json::json!({"error": code, "error_description": description}),
        );
    }
}
