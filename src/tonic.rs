//! tonic: refusals as `tonic::Status`, and claims from a `tonic::Request` (feature `tonic`).
//!
//! [`JwtAuthLayer`](crate::JwtAuthLayer) goes on the server (`Server::builder().layer(..)`)
//! and answers gRPC requests with `grpc-status` itself; handlers read the claims with
//! [`claims`]. Per-method rules: [`RequireMethods`](crate::RequireMethods).

use std::any::Any;
use std::sync::Arc;

use crate::claims::Claims;
use crate::error::{AuthError, AuthErrorKind};
use crate::layer::AuthContext;
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

/// The claims [`JwtAuthLayer`](crate::JwtAuthLayer) put in a request, as `Claims<T>`: those
/// the layer read, or, for plain `Claims` (`T = ()`), the registered claims whatever `T` the
/// layer reads — as the axum extractor does.
///
/// # Errors
///
/// `UNAUTHENTICATED` when there are none (optional mode let an anonymous call through, or
/// the layer is missing); `INTERNAL` when the layer reads other claims than `T` (a server
/// misconfiguration, not the caller's fault).
pub fn claims<T, M>(request: &tonic::Request<M>) -> Result<Claims<T>, tonic::Status>
where
    T: Send + Sync + 'static,
{
    let extensions = request.extensions();
    if let Some(claims) = extensions.get::<Claims<T>>() {
        return Ok(claims.clone());
    }
    let granted = extensions
        .get::<AuthContext>()
        .and_then(|context| context.granted.as_ref());
    let Some(registered) = granted else {
        return Err(tonic::Status::from(AuthError::new(
            AuthErrorKind::MissingToken,
        )));
    };
    let unit: Box<dyn Any> = Box::new(Claims::from_registered(Arc::clone(registered)));
    unit.downcast::<Claims<T>>()
        .map(|claims| *claims)
        .map_err(|_| {
            let message = format!(
                "the JwtAuthLayer in front of this method reads other claims: configure it with \
             `.claims::<{}>()`",
                std::any::type_name::<T>()
            );
            tracing::error!(target: "tokengate", "{message}");
            tonic::Status::internal(message)
        })
}
