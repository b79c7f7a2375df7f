//! Per-method requirements, keyed by request path: `/pkg.Service/Method` for gRPC.

use std::collections::HashMap;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use crate::layer::ResponseBody;
use crate::layer::require::{RequireFuture, Requirement, refusal};
use crate::layer::respond::is_grpc;

/// Requirements per method of a gRPC service (or per exact HTTP path), in one layer placed
/// inside [`JwtAuthLayer`](crate::JwtAuthLayer). A gRPC request whose method's requirement
/// is unmet gets `grpc-status` 7 (PERMISSION_DENIED).
///
/// Methods not listed need only a valid token, unless [`RequireMethods::otherwise`] says
/// more.
///
/// ```
/// use tokengate::{RequireGroup, RequireMethods, RequireScope};
///
/// let per_method = RequireMethods::new()
///     .method("/orders.v1.Orders/List", RequireScope::all(["orders/read"]))
///     .method("/orders.v1.Orders/Cancel", RequireGroup::any(["admins"]));
/// # let _ = per_method;
/// ```
#[derive(Clone, Debug, Default)]
pub struct RequireMethods {
    methods: Arc<HashMap<String, Requirement>>,
    otherwise: Option<Arc<Requirement>>,
}

impl RequireMethods {
    /// No requirement yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The requirement for one method (`/package.Service/Method`).
    #[must_use]
    pub fn method(mut self, path: impl Into<String>, requirement: impl Into<Requirement>) -> Self {
        Arc::make_mut(&mut self.methods).insert(path.into(), requirement.into());
        self
    }

    /// The requirement for every method not listed.
    #[must_use]
    pub fn otherwise(mut self, requirement: impl Into<Requirement>) -> Self {
        self.otherwise = Some(Arc::new(requirement.into()));
        self
    }
}

impl<S> Layer<S> for RequireMethods {
    type Service = RequireMethodsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireMethodsService {
            inner,
            config: self.clone(),
        }
    }
}

/// The service [`RequireMethods`] puts in front of `S`.
#[derive(Clone, Debug)]
pub struct RequireMethodsService<S> {
    inner: S,
    config: RequireMethods,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequireMethodsService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = RequireFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let requirement = self
            .config
            .methods
            .get(request.uri().path())
            .or(self.config.otherwise.as_deref());
        let refused =
            requirement.and_then(|r| refusal(r, request.extensions(), is_grpc(request.headers())));
        match refused {
            None => RequireFuture::inner(self.inner.call(request)),
            Some(response) => RequireFuture::refused(response),
        }
    }
}
