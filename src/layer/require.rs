//! Per-route requirements: scopes and groups, all-of or any-of, predicates of your own,
//! composable.

use std::any::{Any, TypeId};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::claims::{Claims, NameSet, Registered};
use crate::error::{AuthError, AuthErrorKind};
use crate::layer::respond::{grpc_response, is_grpc, missing_layer};
use crate::layer::{AuthContext, ResponseBody};

/// What a route requires of the token: scopes or groups, all-of or any-of, or a predicate of
/// your own ([`Requirement::predicate`]), combined with [`Requirement::and`] and
/// [`Requirement::or`]. Turn it into a layer with [`RequireScope`] or [`RequireGroup`], or
/// [`Requirement::layer`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Requirement {
    /// Every one of these scopes.
    AllScopes(Vec<String>),
    /// At least one of these scopes.
    AnyScope(Vec<String>),
    /// Every one of these groups.
    AllGroups(Vec<String>),
    /// At least one of these groups.
    AnyGroup(Vec<String>),
    /// Both requirements.
    And(Box<Requirement>, Box<Requirement>),
    /// Either requirement.
    Or(Box<Requirement>, Box<Requirement>),
    /// A predicate of your own over the claims.
    Predicate(Predicate),
}

type Test = dyn Fn(&http::Extensions, &Arc<Registered>) -> Option<bool> + Send + Sync;

/// A route's own test of the claims, and the description its refusal carries; see
/// [`Requirement::predicate`].
#[derive(Clone)]
pub struct Predicate {
    description: &'static str,
    test: Arc<Test>,
}

impl Predicate {
    /// The description a refusal carries.
    pub fn description(&self) -> &'static str {
        self.description
    }
}

impl fmt::Debug for Predicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Predicate")
            .field("description", &self.description)
            .finish_non_exhaustive()
    }
}

/// Two predicates are equal when they are the same one (clones of each other).
impl PartialEq for Predicate {
    fn eq(&self, other: &Self) -> bool {
        self.description == other.description && Arc::ptr_eq(&self.test, &other.test)
    }
}

impl Eq for Predicate {}

/// What a requirement says of one request's claims.
enum Verdict {
    Met,
    /// Unmet; the description of the predicate that refused, if one did.
    Unmet(Option<&'static str>),
    /// A predicate over `Claims<T>` found no `Claims<T>`: the layer reads another type.
    NoTypedClaims,
}

fn strings<I, S>(names: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    names.into_iter().map(Into::into).collect()
}

impl Requirement {
    /// Both this and `other`.
    #[must_use]
    pub fn and(self, other: impl Into<Requirement>) -> Self {
        Self::And(Box::new(self), Box::new(other.into()))
    }

    /// This or `other`.
    #[must_use]
    pub fn or(self, other: impl Into<Requirement>) -> Self {
        Self::Or(Box::new(self), Box::new(other.into()))
    }

    /// A requirement of your own: `test` over the token's claims; when it returns `false` the
    /// request gets 403 `insufficient_scope` (gRPC: status 7, PERMISSION_DENIED) whose
    /// description is `description` — a fixed string, so that nothing from the token is ever
    /// echoed. It runs on every request, cache hits included.
    ///
    /// With `Claims<()>` the test sees the registered claims, scopes and groups, whatever
    /// claims type the layer reads. With `Claims<T>`, `T` must be the type the layer reads
    /// ([`JwtAuthLayer::claims`](crate::JwtAuthLayer::claims)); otherwise the request gets a
    /// 500 naming the misconfiguration.
    ///
    /// ```
    /// use axum::{Router, routing::get};
    /// use tokengate::{Claims, Requirement};
    ///
    /// let staff_only = Requirement::predicate("staff accounts only", |claims: &Claims| {
    ///     claims.username().is_some_and(|u| u.ends_with("@staff.example"))
    /// });
    /// let app: Router = Router::new()
    ///     .route("/reports", get(|| async { "reports" }))
    ///     .route_layer(staff_only.layer());
    /// ```
    pub fn predicate<T, F>(description: &'static str, test: F) -> Self
    where
        T: Send + Sync + 'static,
        F: Fn(&Claims<T>) -> bool + Send + Sync + 'static,
    {
        let test: Arc<Test> = Arc::new(move |extensions, registered| {
            if TypeId::of::<T>() == TypeId::of::<()>() {
                // `T` is `()`: the registered claims are all there is to read, whatever the
                // layer's claims type.
                let claims = Claims::from_registered(Arc::clone(registered));
                return (&claims as &dyn Any).downcast_ref::<Claims<T>>().map(&test);
            }
            extensions.get::<Claims<T>>().map(&test)
        });
        Self::Predicate(Predicate { description, test })
    }

    /// A layer enforcing this requirement.
    pub fn layer(self) -> RequireLayer {
        RequireLayer {
            requirement: Arc::new(self),
        }
    }

    /// Whether a token with these scopes and groups meets the requirement. A predicate needs
    /// the whole request and is counted as unmet here.
    pub fn is_met(&self, scopes: &NameSet, groups: &NameSet) -> bool {
        let all = |set: &NameSet, names: &[String]| names.iter().all(|n| set.contains(n));
        let any = |set: &NameSet, names: &[String]| names.iter().any(|n| set.contains(n));
        match self {
            Self::AllScopes(names) => all(scopes, names),
            Self::AnyScope(names) => any(scopes, names),
            Self::AllGroups(names) => all(groups, names),
            Self::AnyGroup(names) => any(groups, names),
            Self::And(a, b) => a.is_met(scopes, groups) && b.is_met(scopes, groups),
            Self::Or(a, b) => a.is_met(scopes, groups) || b.is_met(scopes, groups),
            Self::Predicate(_) => false,
        }
    }

    fn verdict(&self, extensions: &http::Extensions, claims: &Arc<Registered>) -> Verdict {
        let of = |met: bool| {
            if met {
                Verdict::Met
            } else {
                Verdict::Unmet(None)
            }
        };
        match self {
            Self::Predicate(p) => match (p.test)(extensions, claims) {
                Some(true) => Verdict::Met,
                Some(false) => Verdict::Unmet(Some(p.description)),
                None => Verdict::NoTypedClaims,
            },
            Self::And(a, b) => match a.verdict(extensions, claims) {
                Verdict::Met => b.verdict(extensions, claims),
                other => other,
            },
            Self::Or(a, b) => match a.verdict(extensions, claims) {
                Verdict::Met => Verdict::Met,
                Verdict::NoTypedClaims => Verdict::NoTypedClaims,
                Verdict::Unmet(first) => match b.verdict(extensions, claims) {
                    Verdict::Unmet(second) => Verdict::Unmet(first.or(second)),
                    other => other,
                },
            },
            leaf => of(leaf.is_met(&claims.scopes, &claims.groups)),
        }
    }

    /// The scopes named anywhere in the requirement: the `scope` of a 403 challenge
    /// (RFC 6750 §3), or `None` when it names only groups.
    pub fn scopes(&self) -> Option<String> {
        let mut out: Vec<&str> = Vec::new();
        self.collect_scopes(&mut out);
        (!out.is_empty()).then(|| out.join(" "))
    }

    fn collect_scopes<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Self::AllScopes(names) | Self::AnyScope(names) => {
                for name in names {
                    if !out.contains(&name.as_str()) {
                        out.push(name);
                    }
                }
            }
            Self::AllGroups(_) | Self::AnyGroup(_) | Self::Predicate(_) => {}
            Self::And(a, b) | Self::Or(a, b) => {
                a.collect_scopes(out);
                b.collect_scopes(out);
            }
        }
    }
}

/// Scope requirements for a route: `403 insufficient_scope` with `scope="…"` when unmet.
///
/// ```
/// use axum::{Router, routing::{get, post}};
/// use tokengate::RequireScope;
///
/// let app: Router = Router::new()
///     .route("/orders", get(|| async { "list" }))
///     .route_layer(RequireScope::all(["orders/read"]))
///     .route("/orders/new", post(|| async { "created" }))
///     .route_layer(RequireScope::any(["orders/write", "orders/admin"]));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct RequireScope;

impl RequireScope {
    /// Every one of `scopes`.
    pub fn all<I, S>(scopes: I) -> RequireLayer
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Requirement::AllScopes(strings(scopes)).layer()
    }

    /// At least one of `scopes`.
    pub fn any<I, S>(scopes: I) -> RequireLayer
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Requirement::AnyScope(strings(scopes)).layer()
    }
}

/// Group requirements for a route (`cognito:groups`, or `groups`): `403 insufficient_scope`
/// when unmet.
#[derive(Clone, Copy, Debug)]
pub struct RequireGroup;

impl RequireGroup {
    /// Every one of `groups`.
    pub fn all<I, S>(groups: I) -> RequireLayer
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Requirement::AllGroups(strings(groups)).layer()
    }

    /// At least one of `groups`.
    pub fn any<I, S>(groups: I) -> RequireLayer
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Requirement::AnyGroup(strings(groups)).layer()
    }
}

/// A layer enforcing a [`Requirement`] on the claims that [`JwtAuthLayer`](crate::JwtAuthLayer)
/// put in the request. Combine with [`RequireLayer::and`] and [`RequireLayer::or`].
#[derive(Clone, Debug)]
pub struct RequireLayer {
    requirement: Arc<Requirement>,
}

impl RequireLayer {
    /// Both requirements.
    #[must_use]
    pub fn and(self, other: RequireLayer) -> Self {
        self.requirement().clone().and(other).layer()
    }

    /// Either requirement.
    #[must_use]
    pub fn or(self, other: RequireLayer) -> Self {
        self.requirement().clone().or(other).layer()
    }

    /// The requirement enforced.
    pub fn requirement(&self) -> &Requirement {
        &self.requirement
    }
}

impl From<RequireLayer> for Requirement {
    fn from(layer: RequireLayer) -> Self {
        Arc::unwrap_or_clone(layer.requirement)
    }
}

impl<S> Layer<S> for RequireLayer {
    type Service = Require<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Require {
            inner,
            requirement: Arc::clone(&self.requirement),
        }
    }
}

/// The service [`RequireLayer`] puts in front of `S`.
#[derive(Clone, Debug)]
pub struct Require<S> {
    inner: S,
    requirement: Arc<Requirement>,
}

/// Checks `requirement` against the extensions the layer left: `None` to go on, or the
/// refusal to send.
pub(crate) fn refusal<B>(
    requirement: &Requirement,
    extensions: &http::Extensions,
    grpc: bool,
) -> Option<Response<ResponseBody<B>>> {
    let Some(context) = extensions.get::<AuthContext>() else {
        let response = missing_layer(grpc, "a scope or group requirement");
        return Some(response.map(ResponseBody::rejection));
    };
    match &context.granted {
        Some(claims) => match requirement.verdict(extensions, claims) {
            Verdict::Met => None,
            Verdict::Unmet(description) => {
                let mut err = AuthError::new(AuthErrorKind::InsufficientScope);
                if let Some(description) = description {
                    err = err.with_description(description);
                }
                let scope = requirement.scopes();
                Some(context.responder.respond(&err, scope.as_deref(), grpc))
            }
            Verdict::NoTypedClaims => Some(wrong_claims_type(grpc).map(ResponseBody::rejection)),
        },
        // Optional authentication let an anonymous request through: it needs a token here.
        None => {
            let err = AuthError::new(AuthErrorKind::MissingToken);
            Some(context.responder.respond(&err, None, grpc))
        }
    }
}

/// The answer when a predicate reads a claims type the layer does not put in requests: a
/// server misconfiguration, not the client's fault.
fn wrong_claims_type(grpc: bool) -> Response<bytes::Bytes> {
    tracing::error!(target: "tokengate", "a route predicate reads Claims<T> for a T the JwtAuthLayer does not read");
    let message = "route predicate misconfigured: it reads a claims type the JwtAuthLayer does not";
    if grpc {
        return grpc_response(13, message);
    }
    let mut response = Response::new(bytes::Bytes::from_static(message.as_bytes()));
    *response.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Require<S>
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
        let grpc = is_grpc(&request);
        match refusal(&self.requirement, request.extensions(), grpc) {
            None => RequireFuture::inner(self.inner.call(request)),
            Some(response) => RequireFuture::refused(response),
        }
    }
}

pin_project! {
    /// The future of [`Require`]: the inner service's, or an immediate refusal.
    pub struct RequireFuture<F, B> {
        #[pin]
        state: State<F, B>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, B> {
        Inner { #[pin] future: F },
        Refused { response: Option<Response<ResponseBody<B>>> },
    }
}

impl<F, B> RequireFuture<F, B> {
    pub(crate) fn inner(future: F) -> Self {
        Self {
            state: State::Inner { future },
        }
    }

    pub(crate) fn refused(response: Response<ResponseBody<B>>) -> Self {
        Self {
            state: State::Refused {
                response: Some(response),
            },
        }
    }
}

impl<F, B> fmt::Debug for RequireFuture<F, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> Future for RequireFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Inner { future } => future
                .poll(cx)
                .map(|result| result.map(|r| r.map(ResponseBody::inner))),
            StateProj::Refused { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                None => Poll::Pending,
            },
        }
    }
}
