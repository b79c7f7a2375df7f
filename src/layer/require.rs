//! Per-route requirements: scopes and groups, all-of or any-of, composable.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::claims::NameSet;
use crate::error::{AuthError, AuthErrorKind};
use crate::layer::respond::{is_grpc, missing_layer};
use crate::layer::{AuthContext, ResponseBody};

/// What a route requires of the token: scopes or groups, all-of or any-of, combined with
/// [`Requirement::and`] and [`Requirement::or`]. Turn it into a layer with [`RequireScope`]
/// or [`RequireGroup`], or [`Requirement::layer`].
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

    /// A layer enforcing this requirement.
    pub fn layer(self) -> RequireLayer {
        RequireLayer {
            requirement: Arc::new(self),
        }
    }

    /// Whether a token with these scopes and groups meets the requirement.
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
            Self::AllGroups(_) | Self::AnyGroup(_) => {}
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
        Some(claims) if requirement.is_met(&claims.scopes, &claims.groups) => None,
        Some(_) => {
            let err = AuthError::new(AuthErrorKind::InsufficientScope);
            let scope = requirement.scopes();
            Some(context.responder.respond(&err, scope.as_deref(), grpc))
        }
        // Optional authentication let an anonymous request through: it needs a token here.
        None => {
            let err = AuthError::new(AuthErrorKind::MissingToken);
            Some(context.responder.respond(&err, None, grpc))
        }
    }
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
        let grpc = is_grpc(request.headers());
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
