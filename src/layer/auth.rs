//! [`JwtAuthLayer`] → [`JwtAuth`] → [`ResponseFuture`]: the token check in front of a service.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{CACHE_CONTROL, HeaderName};
use http::{HeaderValue, Request, Response, Uri};
use pin_project_lite::pin_project;
use serde::de::DeserializeOwned;
use tower_layer::Layer;
use tower_service::Service;

use crate::authorizer::Authorizer;
use crate::authorizer::Validation;
use crate::claims::Claims;
use crate::dpop::{Dpop, Mode};
use crate::error::{AuthError, AuthErrorKind};
use crate::layer::respond::{ErrorBody, Responder, Schemes, is_grpc};
use crate::layer::{AuthContext, ResponseBody};
use crate::token::{Scheme, TokenSource};

/// A tower layer that checks the bearer token of every request, or its DPoP-bound token and
/// proof with [`JwtAuthLayer::dpop`].
///
/// On success the request gets the token's [`Claims<T>`](crate::Claims) in its extensions and
/// goes on to the inner service. On failure the inner service is not called: an HTTP request
/// gets 400, 401 or 503 with an RFC 6750 `WWW-Authenticate` challenge; a gRPC request
/// (`application/grpc…` over HTTP/2, or gRPC-Web) gets a trailers-only response with
/// `grpc-status` 16 (UNAUTHENTICATED) or 14 (UNAVAILABLE).
///
/// # Example
///
/// ```
/// use axum::{Router, routing::get};
/// use tokengate::{Authorizer, Claims, JwtAuthLayer, KeySet, Profile};
///
/// async fn me(claims: Claims) -> String {
///     claims.subject().unwrap_or("anonymous").to_owned()
/// }
///
/// # fn keys() -> KeySet { KeySet::default() }
/// let authorizer = Authorizer::builder(Profile::generic())
///     .issuer("https://issuer.example")
///     .audience("https://api.example")
///     .keys(keys())
///     .build();
/// let app: Router = Router::new()
///     .route("/me", get(me))
///     .layer(JwtAuthLayer::new(authorizer));
/// ```
pub struct JwtAuthLayer<T = ()> {
    config: Arc<Config>,
    _claims: PhantomData<fn() -> T>,
}

#[derive(Clone)]
struct Config {
    authorizer: Authorizer,
    source: TokenSource,
    optional: bool,
    /// For refusals before the scheme is known.
    responder: Arc<Responder>,
    /// The same, for requests that presented a bearer token, then a DPoP one: their
    /// scheme's challenge carries the error (RFC 9449 §7.2).
    bearer_responder: Arc<Responder>,
    dpop_responder: Arc<Responder>,
    dpop: Option<Dpop>,
}

impl Config {
    /// Derives the per-scheme responders from the base one.
    fn sync_responders(&mut self) {
        let base = Arc::make_mut(&mut self.responder);
        base.schemes = match &self.dpop {
            None => Schemes::Bearer,
            Some(dpop) => {
                let algs = dpop.algs().into_boxed_str();
                match dpop.mode {
                    Mode::Allowed => Schemes::Both { algs },
                    Mode::Required => Schemes::Dpop { algs },
                }
            }
        };
        base.attempt = None;
        let with = |scheme| {
            let mut responder = (*self.responder).clone();
            responder.attempt = Some(scheme);
            Arc::new(responder)
        };
        self.bearer_responder = with(Scheme::Bearer);
        self.dpop_responder = with(Scheme::Dpop);
    }

    fn responder_for(&self, scheme: Scheme) -> &Arc<Responder> {
        match scheme {
            Scheme::Bearer => &self.bearer_responder,
            Scheme::Dpop => &self.dpop_responder,
        }
    }
}

impl JwtAuthLayer<()> {
    /// A layer validating tokens with `authorizer`; handlers get `Claims<()>` (registered
    /// claims only). Use [`JwtAuthLayer::claims`] to read your own claims too.
    pub fn new(authorizer: Authorizer) -> Self {
        let responder = Arc::new(Responder::default());
        let mut config = Config {
            authorizer,
            source: TokenSource::default(),
            optional: false,
            bearer_responder: Arc::clone(&responder),
            dpop_responder: Arc::clone(&responder),
            responder,
            dpop: None,
        };
        config.sync_responders();
        Self {
            config: Arc::new(config),
            _claims: PhantomData,
        }
    }
}

impl<T> JwtAuthLayer<T> {
    fn edit(mut self, f: impl FnOnce(&mut Config)) -> Self {
        f(Arc::make_mut(&mut self.config));
        self
    }

    fn edit_responder(self, f: impl FnOnce(&mut Responder)) -> Self {
        self.edit(|c| {
            f(Arc::make_mut(&mut c.responder));
            c.sync_responders();
        })
    }

    /// Reads your own claims into `T` as well: handlers then extract `Claims<T>`.
    pub fn claims<U>(self) -> JwtAuthLayer<U> {
        JwtAuthLayer {
            config: self.config,
            _claims: PhantomData,
        }
    }

    /// The `realm` of the challenges. Defaults to `api`.
    pub fn realm(self, realm: impl Into<String>) -> Self {
        let realm = realm.into().into_boxed_str();
        self.edit_responder(|r| r.realm = Some(realm))
    }

    /// Adds `resource_metadata="<url>"` to the challenges (RFC 9728 §5.1), pointing clients
    /// at this API's `/.well-known/oauth-protected-resource` document.
    pub fn resource_metadata(self, url: impl Into<String>) -> Self {
        let url = url.into().into_boxed_str();
        self.edit_responder(|r| r.resource_metadata = Some(url))
    }

    /// What rejection bodies hold. Defaults to [`ErrorBody::Json`].
    pub fn error_body(self, body: ErrorBody) -> Self {
        self.edit_responder(|r| r.body = body)
    }

    /// Also reads the token from this header (the raw token, no scheme). A request carrying
    /// tokens in two places is refused as `invalid_request`.
    pub fn token_from_header(self, name: HeaderName) -> Self {
        self.edit(|c| c.source.header = Some(name))
    }

    /// Also reads the token from this cookie. A request carrying tokens in two places is
    /// refused as `invalid_request`.
    pub fn token_from_cookie(self, name: impl Into<String>) -> Self {
        let name = name.into();
        self.edit(|c| c.source.cookie = Some(name))
    }

    /// Lets requests without any token through, without claims (handlers extract
    /// `Option<Claims<T>>`). A token that is present is still checked, and a bad one refused.
    pub fn optional(self) -> Self {
        self.edit(|c| c.optional = true)
    }

    /// Takes DPoP-bound tokens (RFC 9449) as [`Dpop`] says: alongside bearer tokens
    /// ([`Dpop::allowed`]) or only them ([`Dpop::required`]). Challenges then name the `DPoP`
    /// scheme with the accepted `algs`.
    ///
    /// Without it the layer takes bearer tokens only, and refuses a DPoP-bound one (with a
    /// `cnf.jkt` claim) presented as bearer.
    pub fn dpop(self, dpop: Dpop) -> Self {
        self.edit(|c| {
            c.dpop = Some(dpop);
            c.sync_responders();
        })
    }
}

impl<T> Clone for JwtAuthLayer<T> {
    fn clone(&self) -> Self {
        Self {
            config: Arc::clone(&self.config),
            _claims: PhantomData,
        }
    }
}

impl<T> fmt::Debug for JwtAuthLayer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuthLayer")
            .field("authorizer", &self.config.authorizer)
            .field("optional", &self.config.optional)
            .field("responder", &self.config.responder)
            .field("dpop", &self.config.dpop)
            .finish_non_exhaustive()
    }
}

impl<S, T> Layer<S> for JwtAuthLayer<T> {
    type Service = JwtAuth<S, T>;

    fn layer(&self, inner: S) -> Self::Service {
        JwtAuth {
            inner,
            config: Arc::clone(&self.config),
            _claims: PhantomData,
        }
    }
}

/// The service [`JwtAuthLayer`] puts in front of `S`.
pub struct JwtAuth<S, T = ()> {
    inner: S,
    config: Arc<Config>,
    _claims: PhantomData<fn() -> T>,
}

impl<S: Clone, T> Clone for JwtAuth<S, T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            config: Arc::clone(&self.config),
            _claims: PhantomData,
        }
    }
}

impl<S: fmt::Debug, T> fmt::Debug for JwtAuth<S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuth")
            .field("inner", &self.inner)
            .field("authorizer", &self.config.authorizer)
            .finish_non_exhaustive()
    }
}

pin_project! {
    /// The future of [`JwtAuth`]: a refusal, or the inner service's response once the token
    /// passed.
    ///
    /// A bearer token the verified-token cache holds is checked in `call` itself, and the inner
    /// service's own future is all that is left to poll; one that must be verified (or
    /// introspected, or whose DPoP proof must be checked) is checked in a boxed future.
    pub struct ResponseFuture<F, B, E> {
        #[pin]
        state: State<F, B, E>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, B, E> {
        /// Answered in `call`: taken when polled.
        Answered { response: Option<Response<ResponseBody<B>>> },
        /// The token passed in `call`: the inner service's future.
        Inner {
            #[pin]
            future: F,
        },
        /// The token is checked here, then the inner service called.
        Checking { future: BoxFuture<Result<Response<ResponseBody<B>>, E>> },
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<F, B, E> ResponseFuture<F, B, E> {
    /// `err`'s refusal, rendered for `request` (HTTP or gRPC) by `responder`.
    fn refused<R>(responder: &Responder, err: &AuthError, request: &Request<R>) -> Self {
        Self {
            state: State::Answered {
                response: Some(responder.respond(err, None, is_grpc(request))),
            },
        }
    }

    fn inner(future: F) -> Self {
        Self {
            state: State::Inner { future },
        }
    }
}

/// RFC 9449 §8.1's response header.
const DPOP_NONCE: HeaderName = HeaderName::from_static("dpop-nonce");

impl<F, B, E> Future for ResponseFuture<F, B, E>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Answered { response } => Poll::Ready(Ok(response
                .take()
                .expect("`ResponseFuture` polled after it completed"))),
            StateProj::Inner { future } => future
                .poll(cx)
                .map(|result| result.map(|r| r.map(ResponseBody::inner))),
            StateProj::Checking { future } => future.as_mut().poll(cx),
        }
    }
}

impl<F, B, E> fmt::Debug for ResponseFuture<F, B, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

/// The URI the client called, which a DPoP proof's `htu` names: axum's `OriginalUri` when a
/// router left one (`Router::nest` strips its prefix from the request's own URI), else the
/// request's URI.
fn called_uri<B>(request: &Request<B>) -> &Uri {
    #[cfg(feature = "axum")]
    if let Some(axum::extract::OriginalUri(uri)) = request.extensions().get() {
        return uri;
    }
    request.uri()
}

impl<S, T, ReqBody, ResBody> Service<Request<ReqBody>> for JwtAuth<S, T>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    ReqBody: Send + 'static,
    ResBody: 'static,
    T: DeserializeOwned + Send + Sync + 'static,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let config = &*self.config;
        let dpop = config.dpop.as_ref();
        // First what needs no waiting: the credential's syntax, and a bearer token the
        // verified-token cache holds. Most requests end here, with no future of ours.
        let credential = match config.source.credential(request.headers(), dpop.is_some()) {
            // Where only DPoP is taken, a bearer token is an unsupported scheme.
            Ok(Some(c))
                if c.scheme == Scheme::Bearer && dpop.is_some_and(|d| d.mode == Mode::Required) =>
            {
                let err = AuthError::new(AuthErrorKind::MissingToken);
                return ResponseFuture::refused(&config.responder, &err, &request);
            }
            Ok(Some(credential)) => credential,
            Ok(None) if config.optional => {
                request.extensions_mut().insert(AuthContext {
                    responder: Arc::clone(&config.responder),
                    granted: None,
                });
                return ResponseFuture::inner(self.inner.call(request));
            }
            Ok(None) => {
                let err = AuthError::new(AuthErrorKind::MissingToken);
                return ResponseFuture::refused(&config.responder, &err, &request);
            }
            Err(err) => return ResponseFuture::refused(&config.responder, &err, &request),
        };
        // A bearer token is looked up now; a DPoP one once its proof passed, in the future.
        let validation = match credential.scheme {
            Scheme::Dpop => None,
            Scheme::Bearer => {
                let looked_up = config
                    .authorizer
                    .authorize_cached::<T>(credential.token, Validation::start());
                match looked_up {
                    Err(missed) => Some(missed),
                    Ok(answer) => {
                        let responder = &config.bearer_responder;
                        if let Err(err) = grant_hit(answer, responder, &mut request) {
                            return ResponseFuture::refused(responder, &err, &request);
                        }
                        // The inner service driven to readiness is the one called.
                        return ResponseFuture::inner(self.inner.call(request));
                    }
                }
            }
        };
        // The token goes with the request into the future: a copy, not a second search.
        let scheme = credential.scheme;
        let token = Box::<str>::from(credential.token);
        self.check(request, scheme, token, validation)
    }
}

/// A bearer token's answer from the token cache: its claims left in the request, or why it
/// is refused (expired since it was cached, or bound to a DPoP key: RFC 9449 §7.2).
fn grant_hit<R, T>(
    answer: Result<Claims<T>, AuthError>,
    responder: &Arc<Responder>,
    request: &mut Request<R>,
) -> Result<(), AuthError>
where
    T: Send + Sync + 'static,
{
    let claims = answer?;
    if claims.dpop_jkt().is_some() {
        return Err(AuthError::claim(
            AuthErrorKind::DpopBoundTokenAsBearer,
            "cnf",
        ));
    }
    grant(request, responder, claims);
    Ok(())
}

/// Leaves the token's claims in the request, for extractors and per-route requirements.
fn grant<B, T>(request: &mut Request<B>, responder: &Arc<Responder>, claims: Claims<T>)
where
    T: Send + Sync + 'static,
{
    let extensions = request.extensions_mut();
    extensions.insert(AuthContext {
        responder: Arc::clone(responder),
        granted: Some(Arc::clone(claims.registered())),
    });
    extensions.insert(claims);
}

impl<S, T> JwtAuth<S, T> {
    /// The token checked in a future: verified in full or introspected (it missed the token
    /// cache), or presented with a DPoP proof to check.
    fn check<ReqBody, ResBody>(
        &mut self,
        request: Request<ReqBody>,
        scheme: Scheme,
        token: Box<str>,
        validation: Option<Validation>,
    ) -> ResponseFuture<S::Future, ResBody, S::Error>
    where
        S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
        S::Future: Send,
        ReqBody: Send + 'static,
        ResBody: 'static,
        T: DeserializeOwned + Send + Sync + 'static,
    {
        // The inner service that was driven to readiness is the one to call (tower's
        // clone-and-swap idiom).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let config = Arc::clone(&self.config);
        let future = Box::pin(async move {
            let mut request = request;
            let grpc = is_grpc(&request);
            let dpop = config.dpop.as_ref();
            let responder = config.responder_for(scheme);
            let refuse = |err: &AuthError| {
                let mut response = responder.respond(err, None, grpc);
                // RFC 9449 §8: any refusal may hand a DPoP client the nonce to use.
                if scheme == Scheme::Dpop
                    && let Some(nonce) = dpop.and_then(Dpop::nonce_header)
                {
                    response.headers_mut().insert(DPOP_NONCE, nonce);
                }
                Ok(response)
            };
            // The proof first: its checks are cheap and need no keys. It is checked on
            // every request, whether or not the token is a cache hit.
            let proof = match (scheme, dpop) {
                (Scheme::Dpop, Some(dpop)) => match dpop.check_proof(
                    request.method(),
                    called_uri(&request),
                    request.headers(),
                    &token,
                ) {
                    Ok(proof) => Some(proof),
                    Err(err) => return refuse(&err),
                },
                _ => None,
            };
            let authorized = match validation {
                // `call` looked it up in the token cache, and missed.
                Some(validation) => {
                    let authorizer = &config.authorizer;
                    authorizer.authorize_fresh::<T>(&token, validation).await
                }
                None => config.authorizer.authorize::<T>(&token).await,
            };
            let claims = match authorized {
                Ok(claims) => claims,
                Err(err) => return refuse(&err),
            };
            let mut renew_nonce = false;
            match (&proof, dpop) {
                (Some(proof), Some(dpop)) => {
                    if let Err(err) = Dpop::check_binding(proof, claims.dpop_jkt()) {
                        return refuse(&err);
                    }
                    if let Err(err) = dpop.check_replay(proof).await {
                        return refuse(&err);
                    }
                    renew_nonce = proof.renew_nonce;
                }
                // RFC 9449 §7.2: a DPoP-bound token is no bearer token.
                _ if claims.dpop_jkt().is_some() => {
                    return refuse(&AuthError::claim(
                        AuthErrorKind::DpopBoundTokenAsBearer,
                        "cnf",
                    ));
                }
                _ => {}
            }
            grant(&mut request, responder, claims);
            let response = inner.call(request).await;
            if !renew_nonce {
                return response.map(|r| r.map(ResponseBody::inner));
            }
            // RFC 9449 §8.2: the next nonce rides on the success, uncacheable.
            response.map(|mut r| {
                if let Some(nonce) = dpop.and_then(Dpop::nonce_header) {
                    let headers = r.headers_mut();
                    headers.insert(DPOP_NONCE, nonce);
                    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
                }
                r.map(ResponseBody::inner)
            })
        });
        ResponseFuture {
            state: State::Checking { future },
        }
    }
}
