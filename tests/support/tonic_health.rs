//! A tonic health service of our own for the gRPC tests: it records the claims each call
//! carried, and is served on 127.0.0.1:0 behind any layer with `Server::builder().layer(..)`.
#![allow(dead_code, unreachable_pub)]

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tonic::codegen::tokio_stream;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Endpoint, Server};
use tonic::{Request, Response, Status};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};
use tower::{Layer, Service};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

// ------------------------------------------------------------------------------------------
// The service: health, recording the claims each call carried
// ------------------------------------------------------------------------------------------

/// What a handler saw of the claims.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub method: &'static str,
    pub subject: Option<String>,
    pub username: Option<String>,
    pub client_id: Option<String>,
    pub scopes: Vec<String>,
    pub groups: Vec<String>,
}

#[derive(Clone, Default)]
pub struct Recorder(Arc<Mutex<Vec<Seen>>>);

impl Recorder {
    /// Reads the claims with `tokengate::tonic::claims`; a call without claims is INTERNAL,
    /// so that it cannot pass for a refusal by the layer.
    pub fn record<M>(&self, method: &'static str, request: &Request<M>) -> Result<(), Status> {
        let claims = tokengate::tonic::claims::<(), _>(request)
            .map_err(|s| Status::internal(format!("the handler saw no claims: {s:?}")))?;
        let sorted = |names: &tokengate::NameSet| {
            let mut names: Vec<String> = names.iter().map(str::to_owned).collect();
            names.sort();
            names
        };
        self.0.lock().expect("lock").push(Seen {
            method,
            subject: claims.subject().map(str::to_owned),
            username: claims.username().map(str::to_owned),
            client_id: claims.client_id().map(str::to_owned),
            scopes: sorted(claims.scopes()),
            groups: sorted(claims.groups()),
        });
        Ok(())
    }

    /// What the handler saw so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.0.lock().expect("lock").clone()
    }

    /// What the handler saw so far, forgotten.
    pub fn take(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.0.lock().expect("lock"))
    }
}

pub struct RecordingHealth(pub Recorder);

pub fn serving() -> HealthCheckResponse {
    HealthCheckResponse {
        status: ServingStatus::Serving as i32,
    }
}

pub type WatchStream = tokio_stream::Iter<std::vec::IntoIter<Result<HealthCheckResponse, Status>>>;

#[tonic::async_trait]
impl Health for RecordingHealth {
    async fn check(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        self.0.record("Check", &request)?;
        Ok(Response::new(serving()))
    }

    type WatchStream = WatchStream;

    async fn watch(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        self.0.record("Watch", &request)?;
        Ok(Response::new(tokio_stream::iter(vec![Ok(serving())])))
    }
}

// ------------------------------------------------------------------------------------------
// Server and client on 127.0.0.1:0
// ------------------------------------------------------------------------------------------

pub struct GrpcServer {
    pub url: String,
    pub recorder: Recorder,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for GrpcServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub type GrpcRequest = http::Request<tonic::body::Body>;
pub type Svc = HealthServer<RecordingHealth>;

/// Serves the recording health service with `Server::builder().layer(layer)`. (The
/// dev-dependency lacks tonic's `router` feature: one service served directly, through the
/// same layer stack `add_service` would use.)
pub async fn serve<L, ResBody>(layer: L) -> GrpcServer
where
    L: Layer<Svc> + Send + Sync + 'static,
    L::Service: Service<GrpcRequest, Response = http::Response<ResBody>> + Clone + Send + 'static,
    <L::Service as Service<GrpcRequest>>::Future: Send,
    <L::Service as Service<GrpcRequest>>::Error: Into<BoxError> + Send,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    let recorder = Recorder::default();
    let service = HealthServer::new(RecordingHealth(recorder.clone()));
    let server = Server::builder().layer(layer);
    let task = tokio::spawn(async move {
        server
            .serve_with_incoming(service, TcpIncoming::from(listener))
            .await
            .expect("grpc server");
    });
    GrpcServer {
        url: format!("http://{addr}"),
        recorder,
        task,
    }
}

impl GrpcServer {
    /// A connected channel to the server.
    pub async fn channel(&self) -> Channel {
        Endpoint::from_shared(self.url.clone())
            .expect("endpoint uri")
            .connect()
            .await
            .expect("connect to the grpc server")
    }

    /// A health client over a fresh channel.
    pub async fn client(&self) -> HealthClient<Channel> {
        HealthClient::new(self.channel().await)
    }
}

/// A health request, with `authorization: Bearer <token>` metadata when there is a token.
pub fn request(token: Option<&str>) -> Request<HealthCheckRequest> {
    let mut request = Request::new(HealthCheckRequest::default());
    if let Some(token) = token {
        let value = format!("Bearer {token}").parse().expect("ascii metadata");
        request.metadata_mut().insert("authorization", value);
    }
    request
}
