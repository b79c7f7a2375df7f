//! tokengate checks OAuth 2.0 bearer tokens for resource servers, and ships a Cognito-shaped
//! mock authorization server to test them with.
//!
//! The core is an [`Authorizer`]: given an issuer's keys and a policy, it validates a JWT
//! access token (signature, expiry, issuer, audience or client id, token use, scopes) and
//! returns typed [`Claims`]. It needs no HTTP and no runtime beyond a future to await.
//!
//! ```
//! use tokengate::{Authorizer, AuthErrorKind, KeySet, Profile};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), tokengate::Error> {
//! let jwks = br#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1",
//!     "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
//! let authorizer = Authorizer::builder(Profile::generic())
//!     .issuer("https://issuer.example")
//!     .audience("https://api.example")
//!     .keys(KeySet::from_jwks_json(jwks)?)
//!     .build();
//!
//! // An unsigned token never passes, whatever it claims.
//! let unsigned = "eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlIn0.";
//! let err = authorizer.authorize::<()>(unsigned).await.unwrap_err();
//! assert_eq!(err.kind(), AuthErrorKind::UnsignedToken);
//! # Ok(()) }
//! ```
//!
//! # Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `axum` | extractors for `Claims<T>` in handlers |
//! | `tonic` | gRPC status mapping and per-method requirements |
//! | `mock` | the test-mode, Cognito-shaped authorization server |
//! | `redis` | `RedisReplayStore`: DPoP replay detection shared by every replica |
//! | `metrics` | validations, key-set fetches and ages, token-cache hits, misses and evictions, validation time, through the `metrics` facade |
//!
//! None is needed for the core.
//!
//! # Metrics
//!
//! With the `metrics` feature, tokengate reports through the
//! [`metrics`](https://docs.rs/metrics) facade to whatever recorder the service installs (for
//! Prometheus, `metrics-exporter-prometheus`); without it nothing is recorded and nothing is
//! compiled in. No series ever carries a token or a claim value.
//!
//! | series | kind | labels |
//! |---|---|---|
//! | `tokengate_validations_total` | counter | `outcome`: `ok` or an [`AuthErrorKind::name`] |
//! | `tokengate_validation_duration_seconds` | histogram | `outcome` |
//! | `tokengate_jwks_fetches_total` | counter | `issuer`, `result`: `ok`, `error`, `cancelled` |
//! | `tokengate_jwks_age_seconds` | gauge | `issuer` |
//! | `tokengate_token_cache_hits_total`, `…_misses_total`, `…_evictions_total` | counter | — |
//!
//! `tracing`: each validation ([`Authorizer::authorize`], or the layer's) runs in an
//! `authorize` span (target `tokengate`) that records its `outcome`, a token-cache hit
//! included; each key-set fetch in a `jwks_fetch` span with its `issuer` and
//! `result`.
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

mod algorithm;
mod authorizer;
#[cfg(feature = "axum")]
pub mod axum;
mod claims;
mod clock;
mod dpop;
mod error;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod introspect;
mod jwks;
mod layer;
mod metrics;
#[cfg(feature = "mock")]
pub mod mock;
mod token;
mod token_cache;
#[cfg(feature = "bench-internals")]
#[doc(hidden)]
pub use token_cache::bench;
#[cfg(feature = "tonic")]
pub mod tonic;
mod validate;

pub use algorithm::{Algorithm, AlgorithmSet};
pub use authorizer::{Authorizer, AuthorizerBuilder, VendorBuilder, builder};
pub use claims::{ClaimPath, Claims, NameSet, TokenUse};
pub use clock::{Clock, ManualClock, SystemClock};
#[cfg(feature = "redis")]
pub use dpop::RedisReplayStore;
pub use dpop::{
    DEFAULT_DPOP_IAT_WINDOW, DEFAULT_MAX_PROOF_LEN, DEFAULT_MAX_REPLAY_ENTRIES,
    DEFAULT_NONCE_LIFETIME, DPOP_REPLAY_TTL_MARGIN, Dpop, MAX_DPOP_IAT_WINDOW, MemoryReplayStore,
    ReplayFuture, ReplayStore, ReplayStoreError,
};
pub use error::{AuthError, AuthErrorKind, Error, ErrorCode, ErrorKind};
pub use introspect::{ClientAuth, Introspection, IntrospectionStats};
pub use jwks::{KeySet, KeySetHealth, KeyStatus, RemoteJwks, SkippedKey, VerifyingKey};
pub use layer::{
    ErrorBody, JwtAuth, JwtAuthLayer, Predicate, ProtectedResourceMetadata,
    ProtectedResourceService, Require, RequireFuture, RequireGroup, RequireLayer, RequireMethods,
    RequireMethodsBuilder, RequireMethodsService, RequireScope, Requirement, ResponseBody,
    ResponseFuture,
};
pub use validate::{Profile, ScopeClaim};

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
