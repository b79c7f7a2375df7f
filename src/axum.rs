//! axum extractors: `Claims<T>` and `Option<Claims<T>>` in handlers (feature `axum`).
//!
//! ```
//! use axum::{Router, routing::get};
//! use tokengate::Claims;
//!
//! #[derive(serde::Deserialize)]
//! struct Tenant {
//!     #[serde(rename = "custom:tenant")]
//!     tenant: String,
//! }
//!
//! async fn me(claims: Claims<Tenant>) -> String {
//!     format!("{} of {}", claims.username().unwrap_or("?"), claims.tenant)
//! }
//!
//! async fn maybe(claims: Option<Claims>) -> &'static str {
//!     if claims.is_some() { "signed in" } else { "anonymous" }
//! }
//!
//! let app: Router = Router::new().route("/me", get(me)).route("/", get(maybe));
//! // .layer(JwtAuthLayer::new(authorizer).claims::<Tenant>()) in a real service
//! ```

use std::any::Any;

use axum_core::body::Body;
use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::request::Parts;
use http::{HeaderMap, HeaderValue, StatusCode};

use crate::claims::Claims;
use crate::error::{AuthError, AuthErrorKind};
use crate::layer::AuthContext;
use crate::layer::respond::missing_layer;

/// The claims of the request as `Claims<T>`: those the layer inserted, or, for plain `Claims`
/// (`T = ()`), the registered claims whatever `T` the layer reads.
fn find<T: Send + Sync + 'static>(parts: &Parts) -> Option<Claims<T>> {
    if let Some(claims) = parts.extensions.get::<Claims<T>>() {
        return Some(claims.clone());
    }
    let registered = parts.extensions.get::<AuthContext>()?.granted.as_ref()?;
    let unit: Box<dyn Any> = Box::new(Claims::from_registered(std::sync::Arc::clone(registered)));
    unit.downcast::<Claims<T>>().ok().map(|claims| *claims)
}

/// Why `Claims<T>` could not be extracted.
#[derive(Debug)]
pub struct ClaimsRejection {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl ClaimsRejection {
    fn from_response(response: http::Response<Bytes>) -> Self {
        let (parts, body) = response.into_parts();
        Self {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    /// 401 when the layer let an anonymous request through (optional mode); 500 when the
    /// layer is missing or reads other claims than `T`.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The body text.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl IntoResponse for ClaimsRejection {
    fn into_response(self) -> Response {
        // Built by hand so that nothing is added: the same headers as the layer's refusals.
        let mut response = Response::new(Body::from(self.body));
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers;
        response
    }
}

fn missing_claims<T>(parts: &Parts) -> ClaimsRejection {
    match parts.extensions.get::<AuthContext>() {
        Some(context) if context.granted.is_none() => ClaimsRejection::from_response(
            context
                .responder
                .render(&AuthError::new(AuthErrorKind::MissingToken), None, false),
        ),
        Some(_) => {
            let message = format!(
                "the JwtAuthLayer in front of this route reads other claims: configure it with \
                 `.claims::<{}>()`",
                std::any::type_name::<T>()
            );
            tracing::error!(target: "tokengate", "{message}");
            let mut headers = HeaderMap::new();
            headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            ClaimsRejection {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                headers,
                body: Bytes::from(message),
            }
        }
        None => ClaimsRejection::from_response(missing_layer(false, "the Claims extractor")),
    }
}

impl<S, T> FromRequestParts<S> for Claims<T>
where
    S: Send + Sync,
    T: Send + Sync + 'static,
{
    type Rejection = ClaimsRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        find::<T>(parts).ok_or_else(|| missing_claims::<T>(parts))
    }
}

impl<S, T> OptionalFromRequestParts<S> for Claims<T>
where
    S: Send + Sync,
    T: Send + Sync + 'static,
{
    type Rejection = ClaimsRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        if let Some(claims) = find::<T>(parts) {
            return Ok(Some(claims));
        }
        match parts.extensions.get::<AuthContext>() {
            Some(context) if context.granted.is_none() => Ok(None),
            _ => Err(missing_claims::<T>(parts)),
        }
    }
}
