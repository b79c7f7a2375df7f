//! Errors: [`AuthError`] for one request's token, [`Error`] for setup and key fetching.

use std::fmt;

/// The error code of an RFC 6750 §3.1 challenge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `invalid_request`: the request is malformed (two credentials, a bad header).
    InvalidRequest,
    /// `invalid_token`: the token is expired, revoked, malformed or invalid for another reason.
    InvalidToken,
    /// `insufficient_scope`: the token is valid but lacks what the resource requires.
    InsufficientScope,
    /// `invalid_dpop_proof` (RFC 9449 §7.1): the DPoP proof is missing or fails a check of §4.3.
    InvalidDpopProof,
    /// `use_dpop_nonce` (RFC 9449 §9): the proof must carry the nonce sent in `DPoP-Nonce`.
    UseDpopNonce,
}

impl ErrorCode {
    /// The code as it appears in `WWW-Authenticate` and in JSON bodies.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::InvalidDpopProof => "invalid_dpop_proof",
            Self::UseDpopNonce => "use_dpop_nonce",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why one request's token was refused.
///
/// Every kind maps to an RFC 6750 error code ([`AuthError::code`]), an HTTP status
/// ([`AuthError::status`]) and a short description ([`AuthError::description`]) that is
/// a fixed string: it never echoes anything from the token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthErrorKind {
    /// No credential was presented.
    MissingToken,
    /// The request carried a malformed or duplicated credential.
    MalformedRequest,
    /// The token is longer than the configured limit.
    TokenTooLarge,
    /// The token is not a well-formed compact JWS (segments, base64url, JSON objects).
    Malformed,
    /// The header names `alg: none` (in any spelling): unsigned tokens are never accepted.
    UnsignedToken,
    /// The header names an HMAC algorithm; keys here are asymmetric.
    SymmetricAlgorithm,
    /// The header names an algorithm that tokengate does not implement.
    UnsupportedAlgorithm,
    /// The header names an algorithm that this authorizer does not allow.
    DisallowedAlgorithm,
    /// The header lists a critical extension (`crit`) or unencoded payload (`b64: false`).
    UnsupportedHeader,
    /// The token is a nested JWT (`cty: JWT`), which is not accepted.
    NestedToken,
    /// The header's `typ` is not the one this profile expects.
    WrongTokenType,
    /// No key in the issuer's key set has the token's `kid`.
    UnknownKey,
    /// A key was found but does not fit the token's algorithm, or no single key fits.
    NoMatchingKey,
    /// The signature does not verify.
    InvalidSignature,
    /// A claim has the wrong JSON type or an impossible value.
    MalformedClaim,
    /// A required claim is absent.
    MissingClaim,
    /// `exp` has passed (beyond the leeway).
    Expired,
    /// `nbf` is still in the future (beyond the leeway).
    NotYetValid,
    /// `iat` is in the future (beyond the leeway).
    IssuedInFuture,
    /// `iss` is not the expected issuer.
    WrongIssuer,
    /// `aud` holds none of the expected audiences.
    WrongAudience,
    /// The client id (`client_id`, or `aud` for ID tokens) is none of the expected ones.
    WrongClient,
    /// `token_use` is not the expected one (an ID token presented as an access token).
    WrongTokenUse,
    /// The token is valid but lacks a required scope or group, or a route's own requirement
    /// refused it.
    InsufficientScope,
    /// The issuer's keys cannot be had right now (outage past the staleness bound, cold start).
    KeysUnavailable,
    /// A claim the service requires holds none of the accepted values.
    ClaimMismatch,
    /// A custom check of the authorizer refused the token.
    CheckFailed,
    /// The issuer says the token is not active (RFC 7662: revoked, expired or unknown).
    InactiveToken,
    /// The issuer's introspection endpoint cannot be reached right now.
    IntrospectionUnavailable,
    /// The `DPoP` scheme was used without a `DPoP` proof header (RFC 9449 §7.1).
    DpopProofMissing,
    /// The DPoP proof is not a well-formed proof: two `DPoP` headers, too long, not a compact
    /// JWS, `typ` not `dpop+jwt`, a required claim missing or malformed (RFC 9449 §4.2).
    DpopProofMalformed,
    /// The DPoP proof's `alg` is `none`, a MAC, unknown, or not allowed.
    DpopProofAlgorithm,
    /// The DPoP proof's `jwk` is missing, holds private members, or is no usable public key.
    DpopProofKey,
    /// The DPoP proof's signature does not verify with its `jwk`.
    DpopProofSignature,
    /// The DPoP proof's `htm` or `htu` is not this request's method or URI.
    DpopProofMismatch,
    /// The DPoP proof's `iat` is outside the accepted window.
    DpopProofStale,
    /// The DPoP proof's `jti` was seen before within its window: a replay.
    DpopProofReplayed,
    /// The DPoP proof's `ath` is not the hash of the access token presented with it.
    DpopProofTokenHash,
    /// The DPoP proof lacks the server's current nonce (RFC 9449 §9); the refusal carries one.
    DpopNonceRequired,
    /// The token's `cnf.jkt` is not the thumbprint of the proof's key.
    DpopKeyMismatch,
    /// A token sent with the `DPoP` scheme carries no `cnf.jkt`.
    DpopTokenUnbound,
    /// A DPoP-bound token (one with `cnf.jkt`) was sent as a bearer token (RFC 9449 §7.2).
    DpopBoundTokenAsBearer,
    /// The token's `cnf` holds a confirmation method tokengate cannot verify (such as an mTLS
    /// certificate thumbprint, `x5t#S256`, RFC 8705 §3.1): accepted, the token would lose
    /// its binding and pass as a bearer token.
    UnsupportedConfirmation,
    /// The DPoP replay store cannot be reached, so a proof cannot be checked for replay.
    ReplayStoreUnavailable,
}

impl AuthErrorKind {
    /// The RFC 6750 error code for this kind, or `None` when the challenge carries no code
    /// (a missing token, RFC 6750 §3.1) or the failure is not the client's (keys unavailable).
    pub const fn code(self) -> Option<ErrorCode> {
        match self {
            Self::MissingToken
            | Self::KeysUnavailable
            | Self::IntrospectionUnavailable
            | Self::ReplayStoreUnavailable => None,
            Self::MalformedRequest => Some(ErrorCode::InvalidRequest),
            Self::InsufficientScope => Some(ErrorCode::InsufficientScope),
            Self::DpopProofMissing
            | Self::DpopProofMalformed
            | Self::DpopProofAlgorithm
            | Self::DpopProofKey
            | Self::DpopProofSignature
            | Self::DpopProofMismatch
            | Self::DpopProofStale
            | Self::DpopProofReplayed
            | Self::DpopProofTokenHash => Some(ErrorCode::InvalidDpopProof),
            Self::DpopNonceRequired => Some(ErrorCode::UseDpopNonce),
            _ => Some(ErrorCode::InvalidToken),
        }
    }

    /// The HTTP status: 400, 401, 403, or 503 when keys, introspection or the DPoP replay
    /// store are unavailable.
    pub const fn status(self) -> u16 {
        match self {
            Self::MalformedRequest => 400,
            Self::InsufficientScope => 403,
            Self::KeysUnavailable
            | Self::IntrospectionUnavailable
            | Self::ReplayStoreUnavailable => 503,
            _ => 401,
        }
    }

    /// A stable snake_case name for logs and metrics labels (`unknown_key`, `expired`).
    pub const fn name(self) -> &'static str {
        match self {
            Self::MissingToken => "missing_token",
            Self::MalformedRequest => "malformed_request",
            Self::TokenTooLarge => "token_too_large",
            Self::Malformed => "malformed",
            Self::UnsignedToken => "unsigned_token",
            Self::SymmetricAlgorithm => "symmetric_algorithm",
            Self::UnsupportedAlgorithm => "unsupported_algorithm",
            Self::DisallowedAlgorithm => "disallowed_algorithm",
            Self::UnsupportedHeader => "unsupported_header",
            Self::NestedToken => "nested_token",
            Self::WrongTokenType => "wrong_token_type",
            Self::UnknownKey => "unknown_key",
            Self::NoMatchingKey => "no_matching_key",
            Self::InvalidSignature => "invalid_signature",
            Self::MalformedClaim => "malformed_claim",
            Self::MissingClaim => "missing_claim",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::IssuedInFuture => "issued_in_future",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience => "wrong_audience",
            Self::WrongClient => "wrong_client",
            Self::WrongTokenUse => "wrong_token_use",
            Self::InsufficientScope => "insufficient_scope",
            Self::KeysUnavailable => "keys_unavailable",
            Self::ClaimMismatch => "claim_mismatch",
            Self::CheckFailed => "check_failed",
            Self::InactiveToken => "inactive_token",
            Self::IntrospectionUnavailable => "introspection_unavailable",
            Self::DpopProofMissing => "dpop_proof_missing",
            Self::DpopProofMalformed => "dpop_proof_malformed",
            Self::DpopProofAlgorithm => "dpop_proof_algorithm",
            Self::DpopProofKey => "dpop_proof_key",
            Self::DpopProofSignature => "dpop_proof_signature",
            Self::DpopProofMismatch => "dpop_proof_mismatch",
            Self::DpopProofStale => "dpop_proof_stale",
            Self::DpopProofReplayed => "dpop_proof_replayed",
            Self::DpopProofTokenHash => "dpop_proof_token_hash",
            Self::DpopNonceRequired => "dpop_nonce_required",
            Self::DpopKeyMismatch => "dpop_key_mismatch",
            Self::DpopTokenUnbound => "dpop_token_unbound",
            Self::DpopBoundTokenAsBearer => "dpop_bound_token_as_bearer",
            Self::UnsupportedConfirmation => "unsupported_confirmation",
            Self::ReplayStoreUnavailable => "replay_store_unavailable",
        }
    }

    /// A short, fixed description, safe to send to the client.
    pub const fn description(self) -> &'static str {
        match self {
            Self::MissingToken => "no bearer token was presented",
            Self::MalformedRequest => "the authorization header is malformed",
            Self::TokenTooLarge => "the token is too large",
            Self::Malformed => "the token is malformed",
            Self::UnsignedToken => "unsigned tokens are not accepted",
            Self::SymmetricAlgorithm => "symmetric signature algorithms are not accepted",
            Self::UnsupportedAlgorithm => "the signature algorithm is not supported",
            Self::DisallowedAlgorithm => "the signature algorithm is not allowed",
            Self::UnsupportedHeader => "the token uses an unsupported header extension",
            Self::NestedToken => "nested tokens are not accepted",
            Self::WrongTokenType => "the token type is not accepted",
            Self::UnknownKey => "the signing key is unknown",
            Self::NoMatchingKey => "no signing key matches the token",
            Self::InvalidSignature => "the signature is invalid",
            Self::MalformedClaim => "a claim is malformed",
            Self::MissingClaim => "a required claim is missing",
            Self::Expired => "the token has expired",
            Self::NotYetValid => "the token is not yet valid",
            Self::IssuedInFuture => "the token was issued in the future",
            Self::WrongIssuer => "the token issuer is not accepted",
            Self::WrongAudience => "the token audience is not accepted",
            Self::WrongClient => "the token client is not accepted",
            Self::WrongTokenUse => "the token use is not accepted",
            Self::InsufficientScope => "the token lacks the required scope",
            Self::KeysUnavailable => "the signing keys are temporarily unavailable",
            Self::ClaimMismatch => "a required claim does not hold an accepted value",
            Self::CheckFailed => "the token was refused by the service's checks",
            Self::InactiveToken => "the token is not active",
            Self::IntrospectionUnavailable => "the token cannot be checked right now",
            Self::DpopProofMissing => "no DPoP proof was presented",
            Self::DpopProofMalformed => "the DPoP proof is malformed",
            Self::DpopProofAlgorithm => "the DPoP proof's signature algorithm is not accepted",
            Self::DpopProofKey => "the DPoP proof's key is not an acceptable public key",
            Self::DpopProofSignature => "the DPoP proof's signature is invalid",
            Self::DpopProofMismatch => "the DPoP proof is for another method or URI",
            Self::DpopProofStale => "the DPoP proof was issued outside the accepted window",
            Self::DpopProofReplayed => "the DPoP proof was already used",
            Self::DpopProofTokenHash => "the DPoP proof is for another access token",
            Self::DpopNonceRequired => "the DPoP proof must carry the server's current nonce",
            Self::DpopKeyMismatch => "the token is bound to another DPoP key",
            Self::DpopTokenUnbound => "the token is not bound to a DPoP key",
            Self::DpopBoundTokenAsBearer => "a DPoP-bound token must be sent with the DPoP scheme",
            Self::UnsupportedConfirmation => {
                "the token is bound to its client by a method that is not supported"
            }
            Self::ReplayStoreUnavailable => "DPoP replay detection is temporarily unavailable",
        }
    }
}

/// Why one request's token was refused: a kind, plus the claim it concerns where that helps.
///
/// The message never contains token contents, so it is safe to log and to send back.
///
/// ```
/// use tokengate::{AuthError, AuthErrorKind, ErrorCode};
///
/// let err = AuthError::new(AuthErrorKind::Expired);
/// assert_eq!(err.status(), 401);
/// assert_eq!(err.code(), Some(ErrorCode::InvalidToken));
/// assert_eq!(err.to_string(), "the token has expired");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthError {
    kind: AuthErrorKind,
    claim: Option<&'static str>,
    retry_after: Option<u64>,
    description: Option<&'static str>,
}

impl AuthError {
    /// An error of this kind.
    pub const fn new(kind: AuthErrorKind) -> Self {
        Self {
            kind,
            claim: None,
            retry_after: None,
            description: None,
        }
    }

    pub(crate) const fn claim(kind: AuthErrorKind, claim: &'static str) -> Self {
        Self {
            kind,
            claim: Some(claim),
            retry_after: None,
            description: None,
        }
    }

    /// What went wrong.
    pub const fn kind(&self) -> AuthErrorKind {
        self.kind
    }

    /// The claim (or header parameter) the error concerns, when there is one.
    pub const fn claim_name(&self) -> Option<&'static str> {
        self.claim
    }

    /// The RFC 6750 error code; see [`AuthErrorKind::code`].
    pub const fn code(&self) -> Option<ErrorCode> {
        self.kind.code()
    }

    /// The HTTP status; see [`AuthErrorKind::status`].
    pub const fn status(&self) -> u16 {
        self.kind.status()
    }

    /// A short, fixed description, safe to send to the client: the kind's, or the one a
    /// route's own requirement chose ([`AuthError::with_description`]).
    pub const fn description(&self) -> &'static str {
        match self.description {
            Some(description) => description,
            None => self.kind.description(),
        }
    }

    /// Replaces the description sent to the client. It is a `&'static str` so that it can
    /// never carry anything from the token.
    #[must_use]
    pub const fn with_description(mut self, description: &'static str) -> Self {
        self.description = Some(description);
        self
    }

    /// Seconds after which a retry may succeed (for [`AuthErrorKind::KeysUnavailable`],
    /// [`AuthErrorKind::IntrospectionUnavailable`] and
    /// [`AuthErrorKind::ReplayStoreUnavailable`]).
    pub const fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }

    /// Sets the retry hint.
    #[must_use]
    pub const fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }
}

impl From<AuthErrorKind> for AuthError {
    fn from(kind: AuthErrorKind) -> Self {
        Self::new(kind)
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())?;
        if let Some(claim) = self.claim {
            write!(f, " ({claim})")?;
        }
        Ok(())
    }
}

impl std::error::Error for AuthError {}

/// An error while setting up: parsing a key set, preparing a key, fetching keys.
///
/// ```
/// use tokengate::KeySet;
///
/// let err = KeySet::from_jwks_json(b"not json").unwrap_err();
/// assert!(err.to_string().contains("key set"));
/// ```
#[derive(Debug)]
pub struct Error(Box<ErrorKind>);

/// What kind of setup error happened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A JWKS document could not be parsed.
    #[error("invalid key set: {0}")]
    InvalidKeySet(String),
    /// A key set held no key that can verify signatures.
    #[error("the key set holds no usable signing key")]
    NoUsableKeys,
    /// A key set held more keys than the configured limit.
    #[error("the key set holds {count} keys, more than the limit of {limit}")]
    TooManyKeys {
        /// Keys in the document.
        count: usize,
        /// The configured limit.
        limit: usize,
    },
    /// A single key was refused.
    #[error("key rejected: {0}")]
    KeyRejected(String),
    /// A configuration value is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A URL is invalid or uses a scheme that is not allowed.
    #[error("invalid URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The request could not be made or its body not read.
    #[error("request to {url} failed")]
    Request {
        /// The URL requested.
        url: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// The request took longer than the timeout.
    #[error("request to {url} timed out")]
    Timeout {
        /// The URL requested.
        url: String,
    },
    /// The response status was not 200.
    #[error("{url} answered with status {status}")]
    Status {
        /// The URL requested.
        url: String,
        /// The status received.
        status: u16,
    },
    /// The response was a redirect; redirects are never followed.
    #[error("{url} answered with a redirect, which is not followed")]
    Redirect {
        /// The URL requested.
        url: String,
    },
    /// The response was not JSON.
    #[error("{url} answered with content type `{content_type}`, not JSON")]
    ContentType {
        /// The URL requested.
        url: String,
        /// The content type received (empty when absent).
        content_type: String,
    },
    /// The response body was larger than the limit.
    #[error("{url} answered with a body over the limit of {limit} bytes")]
    BodyTooLarge {
        /// The URL requested.
        url: String,
        /// The configured limit.
        limit: usize,
    },
    /// A discovery document is unusable.
    #[error("invalid discovery document at {url}: {reason}")]
    Discovery {
        /// The document's URL.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A discovery document names another issuer (OIDC Discovery §4.3, RFC 8414 §3.3).
    #[error("the discovery document names issuer `{found}`, not `{expected}`")]
    IssuerMismatch {
        /// The configured issuer.
        expected: String,
        /// The issuer the document names.
        found: String,
    },
    /// An issuer's keys could not be fetched when they were asked for.
    #[error("the keys of issuer `{issuer}` are unavailable")]
    KeysUnavailable {
        /// The issuer.
        issuer: String,
        /// Why the last fetch failed.
        #[source]
        source: std::sync::Arc<Error>,
    },
    /// Authorizers given to `Authorizer::any_of` cannot be combined.
    #[error("cannot combine authorizers: {0}")]
    Combine(&'static str),
    /// Remote keys were needed where no tokio runtime runs: fetches run on tokio.
    #[error(
        "no tokio runtime is running here, and remote keys are fetched on one: call from \
         within a tokio runtime (keys already cached still verify anywhere)"
    )]
    NoRuntime,
    /// The fetch that was awaited was dropped before it ended (its runtime shut down).
    #[error("the key fetch was cancelled before it ended (its runtime shut down)")]
    FetchCancelled,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind) -> Self {
        Self(Box::new(kind))
    }

    /// What kind of error this is.
    pub fn kind(&self) -> &ErrorKind {
        &self.0
    }

    /// Whether a request timed out.
    pub fn is_timeout(&self) -> bool {
        matches!(*self.0, ErrorKind::Timeout { .. })
    }

    /// Whether the error came from fetching a document over HTTP (transport, status,
    /// redirect, content type, size or timeout).
    pub fn is_fetch(&self) -> bool {
        matches!(
            *self.0,
            ErrorKind::Request { .. }
                | ErrorKind::Timeout { .. }
                | ErrorKind::Status { .. }
                | ErrorKind::Redirect { .. }
                | ErrorKind::ContentType { .. }
                | ErrorKind::BodyTooLarge { .. }
        )
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Self::new(kind)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}
