//! The admin API under `/_admin`: what the Rust test API does, over HTTP and JSON, so tests
//! in any language can configure the mock, mint tokens (hostile ones included), rotate keys,
//! break the JWKS endpoint, read the request log and decide device codes.
//!
//! Bodies are JSON (read from the raw bytes; the `Content-Type` is not checked). Unknown
//! fields, wrong types and malformed JSON are `400`; a key, user or user code that does not
//! exist is `404`. Errors have the OAuth shape `{"error", "error_description"}`.

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
use crate::mock::device::normalize_user_code;
use crate::mock::discovery::json_response;
use crate::mock::keys::{KeyRing, KeyUse, SigningKey};
use crate::mock::store::{DeviceDecision, JwksFault};
use crate::mock::test_api::{Forgery, TokenBuilder};
use crate::mock::{Shared, store};

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/config", get(config))
        .route("/clients", post(add_client))
        .route("/users", post(add_user))
        .route("/resource-servers", post(add_resource_server))
        .route("/trusted-issuers", post(add_trusted_issuer))
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

/// An admin API error: `400 invalid_request`, `404 not_found` or `405 method_not_allowed`.
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

    fn not_found(description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            error: "not_found",
            description: description.into(),
        }
    }
}

impl From<crate::error::Error> for AdminError {
    fn from(err: crate::error::Error) -> Self {
        match err.kind() {
            crate::error::ErrorKind::Config(reason) => Self::bad_request(reason.clone()),
            other => Self::bad_request(other.to_string()),
        }
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        json_response(
            self.status,
            &json!({"error": self.error, "error_description": self.description}),
        )
    }
}

type AdminResult = Result<Response, AdminError>;

fn ok(body: &Value) -> AdminResult {
    Ok(json_response(StatusCode::OK, body))
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

fn required(name: &str, value: &str) -> Result<(), AdminError> {
    if value.trim().is_empty() {
        Err(AdminError::bad_request(format!(
            "`{name}` must not be empty"
        )))
    } else {
        Ok(())
    }
}

/// Runs `work` (RSA key generation or signing) off the async threads.
async fn blocking<T, F>(shared: &Arc<Shared>, work: F) -> Result<T, AdminError>
where
    T: Send + 'static,
    F: FnOnce(&Shared) -> Result<T, AdminError> + Send + 'static,
{
    let shared = Arc::clone(shared);
    tokio::task::spawn_blocking(move || work(&shared))
        .await
        .map_err(|_| AdminError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            error: "server_error",
            description: "the operation did not complete".into(),
        })?
}

async fn not_found() -> Response {
    AdminError::not_found("no such admin endpoint").into_response()
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

async fn config(State(shared): State<Arc<Shared>>) -> Response {
    let config = to_json(&shared.state().config);
    json_response(StatusCode::OK, &config)
}

async fn add_client(State(shared): State<Arc<Shared>>, body: Bytes) -> AdminResult {
    let client: Client = parse(&body)?;
    required("id", &client.id)?;
    let mut state = shared.state();
    state.config.clients.retain(|c| c.id != client.id);
    state.config.clients.push(client.clone());
    ok(&to_json(&client))
}

async fn add_user(State(shared): State<Arc<Shared>>, body: Bytes) -> AdminResult {
    let user: User = parse(&body)?;
    required("username", &user.username)?;
    let mut state = shared.state();
    state.config.users.retain(|u| u.username != user.username);
    state.config.users.push(user.clone());
    ok(&to_json(&user))
}

async fn add_resource_server(State(shared): State<Arc<Shared>>, body: Bytes) -> AdminResult {
    let server: ResourceServer = parse(&body)?;
    required("identifier", &server.identifier)?;
    let mut state = shared.state();
    state
        .config
        .resource_servers
        .retain(|r| r.identifier != server.identifier);
    state.config.resource_servers.push(server.clone());
    ok(&to_json(&server))
}

async fn add_trusted_issuer(State(shared): State<Arc<Shared>>, body: Bytes) -> AdminResult {
    let issuer: TrustedIssuer = parse(&body)?;
    required("issuer", &issuer.issuer)?;
    required("jwks_uri", &issuer.jwks_uri)?;
    let mut state = shared.state();
    state
        .config
        .trusted_issuers
        .retain(|t| t.issuer != issuer.issuer);
    state.config.trusted_issuers.push(issuer.clone());
    ok(&to_json(&issuer))
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

#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ForgeryName {
    AlgNone,
    Hs256WithPublicKey,
    UnknownKid,
    RetiredKey,
    TamperedSignature,
}

impl From<ForgeryName> for Forgery {
    fn from(name: ForgeryName) -> Self {
        match name {
            ForgeryName::AlgNone => Self::AlgNone,
            ForgeryName::Hs256WithPublicKey => Self::Hs256WithPublicKey,
            ForgeryName::UnknownKid => Self::UnknownKid,
            ForgeryName::RetiredKey => Self::RetiredKey,
            ForgeryName::TamperedSignature => Self::TamperedSignature,
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
    forgery: Option<ForgeryName>,
}

async fn mint_token(State(shared): State<Arc<Shared>>, body: Bytes) -> AdminResult {
    let request: TokenRequest = parse(&body)?;
    if let Some(name) = &request.username
        && shared.state().user(name).is_none()
    {
        return Err(AdminError::not_found(format!("no user `{name}`")));
    }
    if matches!(request.kind, UseName::Id) && request.username.is_none() {
        return Err(AdminError::bad_request("an ID token needs a `username`"));
    }
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
            builder = builder.forge(forgery.into());
        }
        Ok(builder.sign()?)
    })
    .await?;
    ok(&json!({ "token": token }))
}

// ---------------------------------------------------------------------------------------------
// Keys

fn key_view(keys: &KeyRing) -> Value {
    json!({
        "kids": keys.kids(),
        "access": keys.current(KeyUse::Access).kid,
        "id": keys.current(KeyUse::Id).kid,
    })
}

fn require_published(keys: &KeyRing, kid: &str) -> Result<(), AdminError> {
    if keys.kids().iter().any(|k| k == kid) {
        Ok(())
    } else {
        Err(AdminError::not_found(format!("no published key `{kid}`")))
    }
}

async fn keys(State(shared): State<Arc<Shared>>) -> Response {
    let view = key_view(&shared.state().keys);
    json_response(StatusCode::OK, &view)
}

async fn publish_key(State(shared): State<Arc<Shared>>) -> AdminResult {
    let key = blocking(&shared, |_| Ok(SigningKey::generate()?)).await?;
    let kid = key.kid.clone();
    shared.state().keys.publish(key);
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
    let mut state = shared.state();
    require_published(&state.keys, &request.kid)?;
    state.keys.switch(request.key_use.into(), &request.kid)?;
    ok(&key_view(&state.keys))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KidRequest {
    kid: String,
}

async fn retire_key(State(shared): State<Arc<Shared>>, body: Bytes) -> AdminResult {
    let request: KidRequest = parse(&body)?;
    let mut state = shared.state();
    require_published(&state.keys, &request.kid)?;
    state.keys.retire(&request.kid)?;
    ok(&key_view(&state.keys))
}

async fn rotate_keys(State(shared): State<Arc<Shared>>) -> AdminResult {
    // Generating RSA keys takes a while: outside the lock, then all three steps under it.
    let (access, id) = blocking(&shared, |_| {
        Ok((SigningKey::generate()?, SigningKey::generate()?))
    })
    .await?;
    let (access_kid, id_kid) = (access.kid.clone(), id.kid.clone());
    let mut state = shared.state();
    let old_access = state.keys.current(KeyUse::Access).kid.clone();
    let old_id = state.keys.current(KeyUse::Id).kid.clone();
    state.keys.publish(access);
    state.keys.publish(id);
    state.keys.switch(KeyUse::Access, &access_kid)?;
    state.keys.switch(KeyUse::Id, &id_kid)?;
    let mut retired = vec![old_access];
    if old_id != retired[0] {
        retired.push(old_id);
    }
    for kid in &retired {
        state.keys.retire(kid)?;
    }
    let mut view = key_view(&state.keys);
    view["retired"] = json!(retired);
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

async fn jwks_fault(State(shared): State<Arc<Shared>>) -> Response {
    let fault = shared.state().jwks_fault;
    json_response(StatusCode::OK, &fault_json(fault))
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
    shared.state().jwks_fault = fault;
    ok(&fault_json(fault))
}

// ---------------------------------------------------------------------------------------------
// The request log

fn log_json(state: &store::State) -> Value {
    json!({
        "counts": state.counts,
        "requests": state
            .requests
            .iter()
            .map(|r| json!({"method": r.method, "path": r.path}))
            .collect::<Vec<_>>(),
    })
}

async fn requests(State(shared): State<Arc<Shared>>) -> Response {
    let log = log_json(&shared.state());
    json_response(StatusCode::OK, &log)
}

async fn clear_requests(State(shared): State<Arc<Shared>>) -> Response {
    let mut state = shared.state();
    state.counts.clear();
    state.requests.clear();
    json_response(StatusCode::OK, &log_json(&state))
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

/// Decides a pending device authorization; the user code is matched as the `/device` page
/// matches it (any case, with or without the dash). Returns the code as stored.
fn decide(
    shared: &Shared,
    user_code: &str,
    decision: DeviceDecision,
) -> Result<String, AdminError> {
    let normalized = normalize_user_code(user_code);
    let user_code = normalized.as_str();
    let now = shared.now();
    let mut state = shared.state();
    if let DeviceDecision::Approved { username, .. } = &decision
        && state.user(username).is_none()
    {
        return Err(AdminError::not_found(format!("no user `{username}`")));
    }
    if !state
        .devices
        .values()
        .any(|d| d.user_code.eq_ignore_ascii_case(user_code))
    {
        return Err(AdminError::not_found("unknown user code"));
    }
    state.decide_device(user_code, now, decision)?;
    Ok(normalized)
}

async fn approve_device(State(shared): State<Arc<Shared>>, body: Bytes) -> AdminResult {
    let request: ApproveRequest = parse(&body)?;
    let decision = DeviceDecision::Approved {
        username: request.username,
        auth_time: shared.now(),
    };
    let user_code = decide(&shared, &request.user_code, decision)?;
    ok(&json!({"user_code": user_code, "decision": "approved"}))
}

async fn deny_device(State(shared): State<Arc<Shared>>, body: Bytes) -> AdminResult {
    let request: DenyRequest = parse(&body)?;
    let user_code = decide(&shared, &request.user_code, DeviceDecision::Denied)?;
    ok(&json!({"user_code": user_code, "decision": "denied"}))
}
