//! tonic: refusals as `tonic::Status`, and claims from a `tonic::Request` (feature `tonic`).
//!
//! [`JwtAuthLayer`](crate::JwtAuthLayer) goes on the server (`Server::builder().layer(..)`)
//! and answers gRPC requests with `grpc-status` itself; handlers read the claims with
//! [`claims`]. Per-method rules: [`RequireMethods`](crate::RequireMethods).

use crate::claims::Claims;
use crate::error::{AuthError, AuthErrorKind};
use crate::layer::respond::grpc_code;

impl From<&AuthError> for tonic::Status {
    fn from(err: &AuthError) -> Self {
        let code = match grpc_code(err.kind()) {
            7 => tonic::Code::PermissionDenied,
            14 => tonic::Code::Unavailable,
            _ => tonic::Code::Unauthenticated,
        };
        tonic::Status::new(code, err.description())
    }
}

impl From<AuthError> for tonic::Status {
    fn from(err: AuthError) -> Self {
        Self::from(&err)
    }
}

/// The claims [`JwtAuthLayer`](crate::JwtAuthLayer) put in a request.
///
/// # Errors
///
/// `UNAUTHENTICATED` when there are none (optional mode let an anonymous call through, or
/// the layer reads other claims than `T`, or is missing).
pub fn claims<T, M>(request: &tonic::Request<M>) -> Result<Claims<T>, tonic::Status>
where
    T: Send + Sync + 'static,
{
    request
        .extensions()
        .get::<Claims<T>>()
        .cloned()
        .ok_or_else(|| tonic::Status::from(AuthError::new(AuthErrorKind::MissingToken)))
}
