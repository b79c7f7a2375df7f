//! Per-method requirements for gRPC, keyed by request path: `/package.Service/Method`.

use std::collections::HashMap;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use crate::error::{Error, ErrorKind};
use crate::layer::ResponseBody;
use crate::layer::require::{RequireFuture, Requirement, refusal};
use crate::layer::respond::is_grpc;

/// Requirements per method of a gRPC service, in one layer placed inside
/// [`JwtAuthLayer`](crate::JwtAuthLayer). A method whose requirement is unmet gets
/// `grpc-status` 7 (PERMISSION_DENIED), or 403 for a request that is not gRPC.
///
/// **Methods not listed are refused by default** (PERMISSION_DENIED / 403), even with a valid
/// token: a misspelt or forgotten method (`/orders.v1.Orders/cancel` for `Cancel`) is then
/// refused the first time it is called, where it would otherwise be open to any token
/// without a word. [`RequireMethodsBuilder::otherwise`] gives unlisted methods a requirement
/// of their own; [`RequireMethodsBuilder::allow_unlisted`] lets any valid token through.
///
/// Every path is checked when the layer is built: it must have the shape
/// `/package.Service/Method` (the package may be absent, each part an identifier), and appear
/// once.
///
/// ```
/// use tokengate::{RequireGroup, RequireMethods, RequireScope};
///
/// let per_method = RequireMethods::builder()
///     .method("/orders.v1.Orders/List", RequireScope::all(["orders/read"]))
///     .method("/orders.v1.Orders/Cancel", RequireGroup::any(["admins"]))
///     .allow_unlisted() // e.g. `/grpc.health.v1.Health/Check` needs only a valid token
///     .build()?;
///
/// // A path that is not a method is an error, not a method left open.
/// let typo = RequireMethods::builder()
///     .method("orders.v1.Orders/Cancel", RequireGroup::any(["admins"]))
///     .build();
/// assert!(typo.is_err());
/// # let _ = per_method;
/// # Ok::<(), tokengate::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct RequireMethods {
    methods: Arc<HashMap<String, Requirement>>,
    unlisted: Arc<Requirement>,
}

/// Builds a [`RequireMethods`]; see [`RequireMethods::builder`].
#[derive(Debug, Default)]
#[must_use = "a RequireMethods builder does nothing until `.build()`"]
pub struct RequireMethodsBuilder {
    methods: Vec<(String, Requirement)>,
    unlisted: Option<Requirement>,
}

/// A requirement no token meets: refuses with 403 / PERMISSION_DENIED and no `scope`.
fn never() -> Requirement {
    Requirement::AnyScope(Vec::new())
}

/// A requirement every token meets (a token is still needed).
fn any_token() -> Requirement {
    Requirement::AllScopes(Vec::new())
}

fn is_identifier(part: &str) -> bool {
    let mut chars = part.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Checks the gRPC method path shape `/package.Service/Method` (gRPC over HTTP/2, "Path").
fn check_path(path: &str) -> Result<(), &'static str> {
    let rest = path.strip_prefix('/').ok_or("it must start with `/`")?;
    let (service, method) = rest
        .split_once('/')
        .ok_or("it must be `/package.Service/Method`")?;
    if !service.split('.').all(is_identifier) {
        return Err("the service must be `package.Service`, dot-separated identifiers");
    }
    if !is_identifier(method) {
        return Err("the method must be one identifier, with nothing after it");
    }
    Ok(())
}

impl RequireMethods {
    /// Starts a set of per-method requirements.
    pub fn builder() -> RequireMethodsBuilder {
        RequireMethodsBuilder::default()
    }
}

impl RequireMethodsBuilder {
    /// The requirement for one method, `/package.Service/Method`.
    pub fn method(mut self, path: impl Into<String>, requirement: impl Into<Requirement>) -> Self {
        self.methods.push((path.into(), requirement.into()));
        self
    }

    /// The requirement for every method not listed (instead of refusing them).
    pub fn otherwise(mut self, requirement: impl Into<Requirement>) -> Self {
        self.unlisted = Some(requirement.into());
        self
    }

    /// Lets methods not listed through with any valid token. Gives up the refusal of methods
    /// forgotten or misspelt in the list: they become reachable with any token the layer
    /// accepts.
    pub fn allow_unlisted(self) -> Self {
        self.otherwise(any_token())
    }

    /// Checks every path and builds the layer.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] naming the first path that is not `/package.Service/Method`, or
    /// that is listed twice.
    pub fn build(self) -> Result<RequireMethods, Error> {
        let mut methods = HashMap::with_capacity(self.methods.len());
        for (path, requirement) in self.methods {
            if let Err(reason) = check_path(&path) {
                return Err(ErrorKind::Config(format!(
                    "RequireMethods: `{path}` is not a gRPC method path: {reason}"
                ))
                .into());
            }
            if methods.insert(path.clone(), requirement).is_some() {
                return Err(
                    ErrorKind::Config(format!("RequireMethods: `{path}` is listed twice")).into(),
                );
            }
        }
        Ok(RequireMethods {
            methods: Arc::new(methods),
            unlisted: Arc::new(self.unlisted.unwrap_or_else(never)),
        })
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
            .unwrap_or(&self.config.unlisted);
        match refusal(requirement, request.extensions(), is_grpc(&request)) {
            None => RequireFuture::inner(self.inner.call(request)),
            Some(response) => RequireFuture::refused(response),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_paths_must_be_package_service_method() {
        for good in [
            "/orders.v1.Orders/Cancel",
            "/grpc.health.v1.Health/Check",
            "/Greeter/SayHello",
            "/a_b.c9.D/e_f",
        ] {
            assert_eq!(check_path(good), Ok(()), "{good}");
        }
        for bad in [
            "orders.v1.Orders/Cancel",
            "/orders.v1.Orders",
            "/orders.v1.Orders/",
            "/orders.v1.Orders/Cancel/",
            "/orders..Orders/Cancel",
            "/.Orders/Cancel",
            "/orders.v1.Orders/Can cel",
            "/orders/v1/Orders/Cancel",
            "/1orders.Orders/Cancel",
            "",
            "/",
        ] {
            assert!(check_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_path_listed_twice_is_an_error() {
        let err = RequireMethods::builder()
            .method("/a.S/M", any_token())
            .method("/a.S/M", never())
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("listed twice"), "{err}");
    }
}
