//! RFC 9728 protected resource metadata: `/.well-known/oauth-protected-resource`.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use serde::Serialize;
use tower_service::Service;

/// What an OAuth client needs to know to get a token for this API (RFC 9728 §2), served at
/// [`ProtectedResourceMetadata::PATH`] and pointed to by `resource_metadata` in challenges.
///
/// ```
/// use axum::Router;
/// use tokengate::ProtectedResourceMetadata;
///
/// let metadata = ProtectedResourceMetadata::new("https://api.example.com")
///     .authorization_server("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example")
///     .scopes(["api/read", "api/write"]);
/// let app: Router = Router::new()
///     .route_service(ProtectedResourceMetadata::PATH, metadata.service());
/// ```
#[derive(Clone, Debug, Serialize)]
pub struct ProtectedResourceMetadata {
    resource: String,
    authorization_servers: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    scopes_supported: Vec<String>,
    bearer_methods_supported: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_name: Option<String>,
}

impl ProtectedResourceMetadata {
    /// The well-known path of the document (RFC 9728 §3).
    pub const PATH: &'static str = "/.well-known/oauth-protected-resource";

    /// Metadata for the resource identified by `resource` (its URL).
    pub fn new(resource: impl Into<String>) -> Self {
        Self {
            resource: resource.into(),
            authorization_servers: Vec::new(),
            scopes_supported: Vec::new(),
            bearer_methods_supported: vec!["header".to_owned()],
            resource_name: None,
        }
    }

    /// Adds an authorization server (its issuer URL).
    #[must_use]
    pub fn authorization_server(mut self, issuer: impl Into<String>) -> Self {
        self.authorization_servers.push(issuer.into());
        self
    }

    /// The scopes this API understands.
    #[must_use]
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes_supported = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// How tokens may be sent (`header`, and `cookie` if the layer reads one).
    /// Defaults to `["header"]`.
    #[must_use]
    pub fn bearer_methods<I, S>(mut self, methods: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.bearer_methods_supported = methods.into_iter().map(Into::into).collect();
        self
    }

    /// A human-readable name for the resource.
    #[must_use]
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.resource_name = Some(name.into());
        self
    }

    /// The document as JSON.
    pub fn to_json(&self) -> Bytes {
        Bytes::from(serde_json::to_vec(self).unwrap_or_default())
    }

    /// A service answering `GET` with the document.
    pub fn service(&self) -> ProtectedResourceService {
        ProtectedResourceService {
            json: Arc::new(self.to_json()),
        }
    }
}

/// Answers `GET` (and `HEAD`) with the metadata document; other methods get 405.
#[derive(Clone, Debug)]
pub struct ProtectedResourceService {
    json: Arc<Bytes>,
}

impl<B> Service<Request<B>> for ProtectedResourceService {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let mut response = if matches!(*request.method(), Method::GET | Method::HEAD) {
            let mut response = Response::new(Full::new((*self.json).clone()));
            let headers = response.headers_mut();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("max-age=3600"));
            response
        } else {
            let mut response = Response::new(Full::new(Bytes::new()));
            *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            response
                .headers_mut()
                .insert(http::header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            response
        };
        if request.method() == Method::HEAD {
            *response.body_mut() = Full::new(Bytes::new());
        }
        std::future::ready(Ok(response))
    }
}
