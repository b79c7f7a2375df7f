//! The tower side: [`JwtAuthLayer`] in front of a service, per-route requirements, per-method
//! requirements for gRPC, the RFC 9728 metadata document, and how rejections are rendered.

mod auth;
mod body;
mod metadata;
mod methods;
mod require;
pub(crate) mod respond;

use std::sync::Arc;

pub use auth::{JwtAuth, JwtAuthLayer, ResponseFuture};
pub use body::ResponseBody;
pub use metadata::{ProtectedResourceMetadata, ProtectedResourceService};
pub use methods::{RequireMethods, RequireMethodsBuilder, RequireMethodsService};
pub use require::{
    Predicate, Require, RequireFuture, RequireGroup, RequireLayer, RequireScope, Requirement,
};
pub use respond::ErrorBody;

use crate::claims::Registered;
use respond::Responder;

/// Left in the request by [`JwtAuthLayer`]: how to answer, and the registered claims of the
/// token when one was presented — what requirements and extractors read, whatever the claims'
/// type parameter. One extension, not two: each insert costs an allocation per request.
#[derive(Clone)]
pub(crate) struct AuthContext {
    pub(crate) responder: Arc<Responder>,
    /// `None` when optional mode let an anonymous request through.
    pub(crate) granted: Option<Arc<Registered>>,
}
