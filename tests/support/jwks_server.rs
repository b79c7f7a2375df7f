//! A JWKS and discovery server on 127.0.0.1:0 that counts requests and can be told to fail,
//! hang, redirect, serve garbage or rotate. It stops when dropped.
#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

/// How the key-set endpoint answers.
#[derive(Clone, Debug)]
pub enum Mode {
    /// The current key set, as JSON.
    Serve,
    /// This status, empty body.
    Status(u16),
    /// Never answers.
    Hang,
    /// 302 to another path of this server that serves the key set.
    Redirect,
    /// `200` with a body that is not JSON.
    Garbage,
    /// `200` with a JSON body of this many bytes.
    Oversized(usize),
    /// `200` with the key set under this content type.
    ContentType(&'static str),
}

struct Shared {
    base: String,
    jwks: Mutex<Vec<u8>>,
    mode: Mutex<Mode>,
    cache_control: Mutex<Option<String>>,
    issuer: Mutex<String>,
    oidc_discovery: Mutex<bool>,
    jwks_hits: AtomicUsize,
    discovery_hits: AtomicUsize,
    other_hits: AtomicUsize,
}

pub struct JwksServer {
    pub base: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl JwksServer {
    /// Starts serving `jwks` on a free port; the discovery document names the server's own
    /// base URL as issuer.
    pub async fn start(jwks: Vec<u8>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let base = format!("http://{}", listener.local_addr().expect("local addr"));
        let shared = Arc::new(Shared {
            base: base.clone(),
            jwks: Mutex::new(jwks),
            mode: Mutex::new(Mode::Serve),
            cache_control: Mutex::new(None),
            issuer: Mutex::new(base.clone()),
            oidc_discovery: Mutex::new(true),
            jwks_hits: AtomicUsize::new(0),
            discovery_hits: AtomicUsize::new(0),
            other_hits: AtomicUsize::new(0),
        });
        let app = Router::new()
            .route("/jwks.json", get(jwks_handler))
            .route("/moved/jwks.json", get(moved_handler))
            .route("/.well-known/openid-configuration", get(oidc_handler))
            .route(
                "/.well-known/oauth-authorization-server",
                get(rfc8414_handler),
            )
            .fallback(other_handler)
            .with_state(Arc::clone(&shared));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { base, shared, task }
    }

    pub fn jwks_uri(&self) -> String {
        format!("{}/jwks.json", self.base)
    }

    pub fn set_jwks(&self, jwks: Vec<u8>) {
        *self.shared.jwks.lock().expect("lock") = jwks;
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.shared.mode.lock().expect("lock") = mode;
    }

    pub fn set_cache_control(&self, value: Option<&str>) {
        *self.shared.cache_control.lock().expect("lock") = value.map(str::to_owned);
    }

    /// The issuer the discovery documents name.
    pub fn set_discovery_issuer(&self, issuer: &str) {
        *self.shared.issuer.lock().expect("lock") = issuer.to_owned();
    }

    /// Whether `/.well-known/openid-configuration` exists (else only RFC 8414's document).
    pub fn set_oidc_discovery(&self, on: bool) {
        *self.shared.oidc_discovery.lock().expect("lock") = on;
    }

    pub fn jwks_hits(&self) -> usize {
        self.shared.jwks_hits.load(Ordering::SeqCst)
    }

    pub fn discovery_hits(&self) -> usize {
        self.shared.discovery_hits.load(Ordering::SeqCst)
    }

    pub fn other_hits(&self) -> usize {
        self.shared.other_hits.load(Ordering::SeqCst)
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn json_response(body: Vec<u8>, content_type: &'static str, cache: Option<String>) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(value) = cache.and_then(|c| HeaderValue::from_str(&c).ok()) {
        headers.insert(header::CACHE_CONTROL, value);
    }
    response
}

async fn jwks_handler(State(shared): State<Arc<Shared>>) -> Response {
    shared.jwks_hits.fetch_add(1, Ordering::SeqCst);
    let mode = shared.mode.lock().expect("lock").clone();
    let cache = shared.cache_control.lock().expect("lock").clone();
    let jwks = shared.jwks.lock().expect("lock").clone();
    match mode {
        Mode::Serve => json_response(jwks, "application/json", cache),
        Mode::Status(code) => StatusCode::from_u16(code)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            .into_response(),
        Mode::Hang => std::future::pending().await,
        Mode::Redirect => {
            (StatusCode::FOUND, [(header::LOCATION, "/moved/jwks.json")]).into_response()
        }
        Mode::Garbage => json_response(b"<html>not json</html>".to_vec(), "application/json", None),
        Mode::Oversized(len) => {
            let mut body = br#"{"keys":[],"pad":""#.to_vec();
            body.resize(len.saturating_sub(3), b'a');
            body.extend_from_slice(b"\"}");
            json_response(body, "application/json", None)
        }
        Mode::ContentType(content_type) => json_response(jwks, content_type, cache),
    }
}

async fn moved_handler(State(shared): State<Arc<Shared>>) -> Response {
    shared.other_hits.fetch_add(1, Ordering::SeqCst);
    let jwks = shared.jwks.lock().expect("lock").clone();
    json_response(jwks, "application/json", None)
}

fn metadata(shared: &Shared) -> Vec<u8> {
    let issuer = shared.issuer.lock().expect("lock").clone();
    let jwks_uri = format!("{}/jwks.json", shared.base);
    serde_json::to_vec(&json!({"issuer": issuer, "jwks_uri": jwks_uri})).expect("json")
}

async fn oidc_handler(State(shared): State<Arc<Shared>>) -> Response {
    shared.discovery_hits.fetch_add(1, Ordering::SeqCst);
    if !*shared.oidc_discovery.lock().expect("lock") {
        return StatusCode::NOT_FOUND.into_response();
    }
    json_response(metadata(&shared), "application/json", None)
}

async fn rfc8414_handler(State(shared): State<Arc<Shared>>) -> Response {
    shared.discovery_hits.fetch_add(1, Ordering::SeqCst);
    json_response(metadata(&shared), "application/json", None)
}

async fn other_handler(State(shared): State<Arc<Shared>>) -> Response {
    shared.other_hits.fetch_add(1, Ordering::SeqCst);
    StatusCode::NOT_FOUND.into_response()
}
