//! The admin API under `/_admin`: the Rust test API over HTTP and JSON, so tests in any
//! language can configure the mock, mint tokens (hostile ones included), rotate keys, break
//! the JWKS endpoint, read the request log and decide device codes.
//!
//! Each handler parses, calls the test API's operation (`test_api`, where the rules live) and
//! renders. Bodies are JSON (read from the raw bytes; the `Content-Type` is not checked).
//! Unknown fields, wrong types and malformed JSON are `400`; a key, user or user code that
//! does not exist is `404`. Errors have the OAuth shape `{"error", "error_description"}`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::mock::config::{Client, ResourceServer, TrustedIssuer, User};
use crate::mock::customize::TokenCustomization;
use crate::mock::error::ApiError;
use crate::mock::forgery::Forgery;
use crate::mock::keys::KeyUse;
use crate::mock::store::JwksFault;
use crate::mock::test_api::TokenBuilder;
use crate::mock::{Shared, json};

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/config", get(config))
        .route("/clients", post(add_client))
        .route("/users", post(add_user))
        .route("/resource-servers", post(add_resource_server))
        .route("/trusted-issuers", post(add_trusted_issuer))
        .route(
            "/token-customizations",
            post(add_token_customization).delete(clear_token_customizations),
        )
        .route("/tokens", post(mint_token))
        .route("/keys", get(keys))
        .route("/keys/publish", post(publish_key))
        .route("/keys/switch", post(switch_key))
        .route("/keys/retire", post(retire_key))
        .route("/keys/rotate", post(rotate_keys))
        .route("/jwks-fault", get(jwks_fault).post(set_jwks_fault))
        .route("/requests", get(requests).delete(clear_requests))
        .route("/devices/approve", post(approve_device))
        .route("/devices/deny", post(deny_device))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
}

/// An admin API error: `400 invalid_request`, `404 not_found`, `405 method_not_allowed` or
/// `500 server_error`.
#[derive(Debug)]
struct AdminError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl AdminError {
    fn bad_request(description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_request",
            description: description.into(),
        }
    }

    fn server_error(description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            error: "server_error",
            description: description.into(),
        }
    }
}

impl From<ApiError> for AdminError {
    fn from(err: ApiError) -> Self {
        match err {
            ApiError::NotFound(description) => Self {
                status: StatusCode::NOT_FOUND,
                error: "not_found",
                description,
            },
            ApiError::Invalid(description) => Self::bad_request(description),
            ApiError::Internal(description) => Self::server_error(description),
        }
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        json::json(
            self.status,
            &json!({"error": self.error, "error_description": self.description}),
        )
    }
}

type AdminResult = Result<Response, AdminError>;

fn ok(body: &Value) -> AdminResult {
    Ok(json::json(StatusCode::OK, body))
}

/// Reads a JSON body into `T` (whose fields are checked: unknown ones are refused).
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, AdminError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(AdminError::bad_request("a JSON body is required"));
    }
    serde_json::from_slice(body)
        .map_err(|e| AdminError::bad_request(format!("invalid JSON body: {e}")))
}

fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// Runs `work` (RSA key generation or signing) off the async threads.
async fn blocking<T, F>(shared: &Arc<Shared>, work: F) -> Result<T, AdminError>
where
    T: Send + 'static,
    F: FnOnce(&Shared) -> Result<T, ApiError> + Send + 'static,
{
    let shared = Arc::clone(shared);
    tokio::task::spawn_blocking(move || work(&shared))
        .await
        .map_err(|_| AdminError::server_error("the operation did not complete"))?
        .map_err(AdminError::from)
}

async fn not_found() -> Response {
    AdminError::from(ApiError::NotFound("no such admin endpoint".into())).into_response()
}

async fn method_not_allowed() -> Response {
    AdminError {
        status: StatusCode::METHOD_NOT_ALLOWED,
        error: "method_not_allowed",
        description: "this admin endpoint does not take this method".into(),
    }
    .into_response()
}

// ---------------------------------------------------------------------------------------------
// Configuration

async fn config(State(shared): State<Arc<Shared>>) -> AdminResult {
    ok(&to_json(&shared.config()))
}

async fn add_client(State(shared): State<Arc<Shared>>, body: Bytes) -> AdminResult {
    let client: Client = parse(&body)?;
    let answer = to_json(&client);
    shared.add_client(client)?;
    ok(&answer)
}

async fn add_user(State(shared): State<Arc<Shared>>, body: Bytes) -> AdminResult {
    let user: User = parse(&body)?;
    let answer = to_json(&user);
    shared.add_user(user)?;
    ok(&answer)
}

async fn add_resource_server(State(shared): State<Arc<Shared>>, body: Bytes) -> AdminResult {
    let server: ResourceServer = parse(&body)?;
    let answer = to_json(&server);
    shared.add_resource_server(server)?;
    ok(&answer)
}

async fn add_trusted_issuer(State(shared): State<Arc<Shared>>, body: Bytes) -> AdminResult {
    let issuer: TrustedIssuer = parse(&body)?;
    let answer = to_json(&issuer);
    shared.add_trusted_issuer(issuer)?;
    ok(&answer)
}

async fn add_token_customization(State(shared): State<Arc<Shared>>, body: Bytes) -> AdminResult {
    let customization: TokenCustomization = parse(&body)?;
    let answer = to_json(&customization);
    shared.add_token_customization(customization)?;
    ok(&answer)
}

async fn clear_token_customizations(State(shared): State<Arc<Shared>>) -> AdminResult {
    shared.clear_token_customizations();
    ok(&json!({"token_customizations": []}))
}

// ---------------------------------------------------------------------------------------------
// Tokens

#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum UseName {
    Access,
    Id,
}

impl From<UseName> for KeyUse {
    fn from(name: UseName) -> Self {
        match name {
            UseName::Access => Self::Access,
            UseName::Id => Self::Id,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenRequest {
    kind: UseName,
    client_id: String,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    scopes: Option<Vec<String>>,
    #[serde(default)]
    claims: Map<String, Value>,
    #[serde(default)]
    without: Vec<String>,
    #[serde(default)]
    expired: bool,
    #[serde(default)]
    not_yet_valid: bool,
    #[serde(default)]
    forgery: Option<Forgery>,
}

async fn mint_token(State(shared): State<Arc<Shared>>, body: Bytes) -> AdminResult {
    let request: TokenRequest = parse(&body)?;
    let token = blocking(&shared, move |shared| {
        let mut builder = TokenBuilder::new(shared, request.kind.into()).client(request.client_id);
        if let Some(username) = request.username {
            builder = builder.user(username);
        }
        if let Some(scopes) = request.scopes {
            builder = builder.scopes(scopes);
        }
        // The switches first, so explicit claims win over them.
        if request.expired {
            builder = builder.expired();
        }
        if request.not_yet_valid {
            builder = builder.not_yet_valid();
        }
        for (name, value) in request.claims {
            builder = builder.claim(name, value);
        }
        for name in request.without {
            builder = builder.without(name);
        }
        if let Some(forgery) = request.forgery {
            builder = builder.forge(forgery);
        }
        builder.try_sign()
    })
    .await?;
    ok(&json!({ "token": token }))
}

// ---------------------------------------------------------------------------------------------
// Keys

fn key_view(shared: &Shared) -> Value {
    json!({
        "kids": shared.kids(),
        "access": shared.current_kid(KeyUse::Access),
        "id": shared.current_kid(KeyUse::Id),
    })
}

async fn keys(State(shared): State<Arc<Shared>>) -> AdminResult {
    ok(&key_view(&shared))
}

async fn publish_key(State(shared): State<Arc<Shared>>) -> AdminResult {
    let kid = blocking(&shared, Shared::publish_next_key).await?;
    ok(&json!({ "kid": kid }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SwitchRequest {
    #[serde(rename = "use")]
    key_use: UseName,
    kid: String,
}

async fn switch_key(State(shared): State<Arc<Shared>>, body: Bytes) -> AdminResult {
    let request: SwitchRequest = parse(&body)?;
    shared.switch_key(request.key_use.into(), &request.kid)?;
    ok(&key_view(&shared))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KidRequest {
    kid: String,
}

async fn retire_key(State(shared): State<Arc<Shared>>, body: Bytes) -> AdminResult {
    let request: KidRequest = parse(&body)?;
    shared.retire_key(&request.kid)?;
    ok(&key_view(&shared))
}

async fn rotate_keys(State(shared): State<Arc<Shared>>) -> AdminResult {
    let rotation = blocking(&shared, Shared::rotate_keys).await?;
    let mut view = key_view(&shared);
    view["retired"] = json!(rotation.retired);
    ok(&view)
}

// ---------------------------------------------------------------------------------------------
// JWKS faults

/// `"none"`, `"hang"`, `"garbage"` or `{"status": 503}`.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum FaultName {
    None,
    Hang,
    Garbage,
    Status(u16),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultRequest {
    fault: FaultName,
}

fn fault_json(fault: JwksFault) -> Value {
    match fault {
        JwksFault::None => json!({"fault": "none"}),
        JwksFault::Hang => json!({"fault": "hang"}),
        JwksFault::Garbage => json!({"fault": "garbage"}),
        JwksFault::Status(status) => json!({"fault": {"status": status}}),
    }
}

async fn jwks_fault(State(shared): State<Arc<Shared>>) -> AdminResult {
    ok(&fault_json(shared.jwks_fault()))
}

async fn set_jwks_fault(State(shared): State<Arc<Shared>>, body: Bytes) -> AdminResult {
    let request: FaultRequest = parse(&body)?;
    let fault = match request.fault {
        FaultName::None => JwksFault::None,
        FaultName::Hang => JwksFault::Hang,
        FaultName::Garbage => JwksFault::Garbage,
        FaultName::Status(status @ 200..=599) => JwksFault::Status(status),
        FaultName::Status(status) => {
            return Err(AdminError::bad_request(format!(
                "status {status} is not between 200 and 599"
            )));
        }
    };
    shared.set_jwks_fault(fault);
    ok(&fault_json(fault))
}

// ---------------------------------------------------------------------------------------------
// The request log

fn log_json(shared: &Shared) -> Value {
    json!({
        "counts": shared.request_counts(),
        "requests": shared.requests(),
    })
}

async fn requests(State(shared): State<Arc<Shared>>) -> AdminResult {
    ok(&log_json(&shared))
}

async fn clear_requests(State(shared): State<Arc<Shared>>) -> AdminResult {
    shared.clear_requests();
    ok(&log_json(&shared))
}

// ---------------------------------------------------------------------------------------------
// Device authorizations

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApproveRequest {
    user_code: String,
    username: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DenyRequest {
    user_code: String,
}

async fn approve_device(State(shared): State<Arc<Shared>>, body: Bytes) -> AdminResult {
    let request: ApproveRequest = parse(&body)?;
    let user_code = shared.approve_device(&request.user_code, &request.username)?;
    ok(&json!({"user_code": user_code, "decision": "approved"}))
}

async fn deny_device(State(shared): State<Arc<Shared>>, body: Bytes) -> AdminResult {
    let request: DenyRequest = parse(&body)?;
    let user_code = shared.deny_device(&request.user_code)?;
    ok(&json!({"user_code": user_code, "decision": "denied"}))
}
