//! The mock issuer's admin API (`/_admin`) over real HTTP, and the standalone `tokengate-mock`
//! binary run as the program it is.
#![cfg(feature = "mock")]

#[path = "support/mock_binary.rs"]
mod mock_binary;

use mock_binary::{TempFile, run_to_end, start_binary};

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};
use tokengate::mock::MockIssuer;
use tokengate::{AuthErrorKind, Authorizer, ManualClock, Profile, RemoteJwks};

/// The default issuer's documents, under its pool path as on Cognito.
const JWKS: &str = "/us-east-1_tokengate/.well-known/jwks.json";
const DISCOVERY: &str = "/us-east-1_tokengate/.well-known/openid-configuration";

// ---------------------------------------------------------------------------------------------
// Helpers

async fn demo() -> MockIssuer {
    MockIssuer::demo()
        .start()
        .await
        .expect("the demo issuer starts")
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client")
}

/// Sends `method url` with an optional raw body; returns the status and the JSON body
/// (`Null` when empty or not JSON).
async fn call(method: reqwest::Method, url: &str, body: Option<&str>) -> (StatusCode, Value) {
    let mut request = http().request(method.clone(), url);
    // The admin API takes only JSON for anything but GET, bodies or not.
    if method != reqwest::Method::GET {
        request = request.header(CONTENT_TYPE, "application/json");
    }
    if let Some(body) = body {
        request = request.body(body.to_owned());
    }
    let response = request.send().await.expect("the request is answered");
    let status = response.status();
    let text = response.text().await.expect("a body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn get(base: &str, path: &str) -> (StatusCode, Value) {
    call(reqwest::Method::GET, &format!("{base}{path}"), None).await
}

async fn post(base: &str, path: &str, body: &Value) -> (StatusCode, Value) {
    call(
        reqwest::Method::POST,
        &format!("{base}{path}"),
        Some(&body.to_string()),
    )
    .await
}

async fn post_raw(base: &str, path: &str, body: &str) -> (StatusCode, Value) {
    call(reqwest::Method::POST, &format!("{base}{path}"), Some(body)).await
}

/// Asserts an admin error: its status and `error` code, and that it has a description.
#[track_caller]
fn assert_error(response: &(StatusCode, Value), status: StatusCode, error: &str) {
    assert_eq!(response.0, status, "body: {}", response.1);
    assert_eq!(response.1["error"], error, "body: {}", response.1);
    assert!(
        response.1["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "body: {}",
        response.1
    );
}

/// Mints a token over the admin API.
async fn mint(base: &str, request: Value) -> String {
    let (status, body) = post(base, "/_admin/tokens", &request).await;
    assert_eq!(status, StatusCode::OK, "minting {request}: {body}");
    body["token"].as_str().expect("a token string").to_owned()
}

fn access_authorizer(issuer: &MockIssuer, client_id: &str) -> Authorizer {
    issuer
        .authorizer(Profile::cognito_access())
        .expect("an authorizer builder")
        .client_id(client_id)
        .build()
        .expect("valid authorizer settings")
}

async fn refusal(authorizer: &Authorizer, token: &str) -> AuthErrorKind {
    authorizer
        .authorize::<()>(token)
        .await
        .expect_err("the token is refused")
        .kind()
}

fn header(token: &str) -> Value {
    let segment = token.split('.').next().expect("a header segment");
    let bytes = URL_SAFE_NO_PAD.decode(segment).expect("base64url");
    serde_json::from_slice(&bytes).expect("a JSON header")
}

/// The client credentials grant with HTTP Basic, as a client would send it.
async fn client_credentials(
    base: &str,
    id: &str,
    secret: &str,
    scope: &str,
) -> (StatusCode, Value) {
    let response = http()
        .post(format!("{base}/oauth2/token"))
        .basic_auth(id, Some(secret))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("grant_type=client_credentials&scope={scope}"))
        .send()
        .await
        .expect("the token endpoint answers");
    let status = response.status();
    let text = response.text().await.expect("a body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

// ---------------------------------------------------------------------------------------------
// Configuration

#[tokio::test]
async fn config_shows_the_demo_with_its_secrets() {
    let issuer = demo().await;
    let (status, config) = get(issuer.url(), "/_admin/config").await;
    assert_eq!(status, StatusCode::OK);
    let client = config["clients"]
        .as_array()
        .expect("clients")
        .iter()
        .find(|c| c["id"] == "demo-backend")
        .expect("demo-backend");
    assert_eq!(client["secret"], "demo-backend-secret");
    assert_eq!(client["grants"], json!(["client_credentials"]));
    let alice = config["users"]
        .as_array()
        .expect("users")
        .iter()
        .find(|u| u["username"] == "alice")
        .expect("alice");
    assert_eq!(alice["password"], "alice-password");
    assert_eq!(alice["groups"], json!(["admins"]));
    assert_eq!(
        config["resource_servers"],
        json!([{"identifier": "api", "scopes": ["read", "write"]}])
    );
    assert_eq!(config["lifetimes"]["access_token"], 3600);
}

#[tokio::test]
async fn an_added_client_gets_tokens_that_validate() {
    let issuer = demo().await;
    let base = issuer.url();
    let client = json!({
        "id": "ci-client",
        "secret": "ci-secret",
        "grants": ["client_credentials"],
        "scopes": ["api/read"],
    });
    let (status, echoed) = post(base, "/_admin/clients", &client).await;
    assert_eq!(status, StatusCode::OK, "{echoed}");
    assert_eq!(echoed["id"], "ci-client");
    assert_eq!(echoed["secret"], "ci-secret");

    let (status, tokens) = client_credentials(base, "ci-client", "ci-secret", "api/read").await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let token = tokens["access_token"].as_str().expect("an access token");
    let claims = access_authorizer(&issuer, "ci-client")
        .authorize::<()>(token)
        .await
        .expect("the token validates");
    assert!(claims.scopes().contains("api/read"));

    // Posting the same id again replaces the client.
    let replaced =
        json!({"id": "ci-client", "secret": "new-secret", "grants": ["client_credentials"]});
    assert_eq!(
        post(base, "/_admin/clients", &replaced).await.0,
        StatusCode::OK
    );
    let (_, config) = get(base, "/_admin/config").await;
    let matching: Vec<&Value> = config["clients"]
        .as_array()
        .expect("clients")
        .iter()
        .filter(|c| c["id"] == "ci-client")
        .collect();
    assert_eq!(matching.len(), 1);
    assert_eq!(matching[0]["secret"], "new-secret");
    let (status, _) = client_credentials(base, "ci-client", "ci-secret", "").await;
    assert_ne!(status, StatusCode::OK, "the old secret no longer works");
}

#[tokio::test]
async fn an_added_user_gets_tokens_with_its_groups() {
    let issuer = demo().await;
    let base = issuer.url();
    let user = json!({
        "username": "carol",
        "password": "carol-password",
        "email": "carol@example.com",
        "groups": ["ops"],
        "attributes": {"custom:tenant": "acme"},
    });
    let (status, echoed) = post(base, "/_admin/users", &user).await;
    assert_eq!(status, StatusCode::OK, "{echoed}");
    assert_eq!(echoed["username"], "carol");

    // Posting the same user name again replaces the user.
    let replaced = json!({"username": "carol", "password": "new-password", "groups": ["ops"]});
    assert_eq!(
        post(base, "/_admin/users", &replaced).await.0,
        StatusCode::OK
    );
    let (_, config) = get(base, "/_admin/config").await;
    let carols: Vec<&Value> = config["users"]
        .as_array()
        .expect("users")
        .iter()
        .filter(|u| u["username"] == "carol")
        .collect();
    assert_eq!(carols.len(), 1);
    assert_eq!(carols[0]["password"], "new-password");
    post(base, "/_admin/users", &user).await;

    let token = mint(
        base,
        json!({"kind": "access", "client_id": "demo-web", "username": "carol"}),
    )
    .await;
    let claims = access_authorizer(&issuer, "demo-web")
        .authorize::<()>(&token)
        .await
        .expect("the token validates");
    assert_eq!(claims.username(), Some("carol"));
    assert!(claims.groups().contains("ops"));

    let id_token = mint(
        base,
        json!({"kind": "id", "client_id": "demo-web", "username": "carol"}),
    )
    .await;
    let id_claims = issuer
        .authorizer(Profile::cognito_id())
        .expect("an authorizer builder")
        .client_id("demo-web")
        .build()
        .expect("valid authorizer settings")
        .authorize::<Value>(&id_token)
        .await
        .expect("the ID token validates");
    assert_eq!(id_claims.custom()["email"], "carol@example.com");
    assert_eq!(id_claims.custom()["custom:tenant"], "acme");
}

#[tokio::test]
async fn added_resource_servers_and_trusted_issuers_are_in_the_config() {
    let issuer = demo().await;
    let base = issuer.url();
    let server = json!({"identifier": "billing", "scopes": ["charge", "refund"]});
    let (status, echoed) = post(base, "/_admin/resource-servers", &server).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(echoed, server);
    let (_, discovery) = get(base, DISCOVERY).await;
    let scopes = discovery["scopes_supported"].as_array().expect("scopes");
    assert!(scopes.contains(&json!("billing/charge")));
    assert!(scopes.contains(&json!("billing/refund")));

    let trusted = json!({
        "issuer": "https://idp.example",
        "jwks_uri": "https://idp.example/jwks.json",
        "audience": "https://api.example",
    });
    let (status, echoed) = post(base, "/_admin/trusted-issuers", &trusted).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(echoed["issuer"], "https://idp.example");
    let (_, config) = get(base, "/_admin/config").await;
    assert_eq!(
        config["trusted_issuers"][0]["issuer"],
        "https://idp.example"
    );
    assert_eq!(
        config["trusted_issuers"][0]["audience"],
        "https://api.example"
    );
    // Posting the same identifier or issuer again replaces it.
    let server = json!({"identifier": "billing", "scopes": ["charge"]});
    assert_eq!(
        post(base, "/_admin/resource-servers", &server).await.0,
        StatusCode::OK
    );
    let trusted = json!({
        "issuer": "https://idp.example",
        "jwks_uri": "https://idp.example/k",
        "client_id": "idp-app",
    });
    assert_eq!(
        post(base, "/_admin/trusted-issuers", &trusted).await.0,
        StatusCode::OK
    );
    let (_, config) = get(base, "/_admin/config").await;
    assert_eq!(config["trusted_issuers"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        config["trusted_issuers"][0]["jwks_uri"],
        "https://idp.example/k"
    );
    assert_eq!(config["resource_servers"][1], server);
    let rs: Vec<&str> = config["resource_servers"]
        .as_array()
        .expect("resource servers")
        .iter()
        .filter_map(|r| r["identifier"].as_str())
        .collect();
    assert_eq!(rs, ["api", "billing"]);
}

#[tokio::test]
async fn bad_bodies_are_400_and_change_nothing() {
    let issuer = demo().await;
    let base = issuer.url();
    let cases: &[(&str, &str)] = &[
        ("/_admin/clients", "not json"),
        ("/_admin/clients", ""),
        ("/_admin/clients", "[]"),
        ("/_admin/clients", r#"{"secret": "no id"}"#),
        ("/_admin/clients", r#"{"id": "x", "colour": "blue"}"#),
        ("/_admin/clients", r#"{"id": "x", "grants": ["teleport"]}"#),
        ("/_admin/clients", r#"{"id": ""}"#),
        ("/_admin/users", r#"{"username": "dave"}"#),
        ("/_admin/users", r#"{"username": "dave", "password": 7}"#),
        ("/_admin/users", r#"{"username": " ", "password": "p"}"#),
        ("/_admin/resource-servers", r#"{"scopes": ["x"]}"#),
        ("/_admin/resource-servers", r#"{"identifier": ""}"#),
        ("/_admin/trusted-issuers", r#"{"issuer": "https://x"}"#),
        ("/_admin/tokens", "{"),
        ("/_admin/tokens", r#"{"client_id": "demo-web"}"#),
        (
            "/_admin/tokens",
            r#"{"kind": "refresh", "client_id": "demo-web"}"#,
        ),
        ("/_admin/tokens", r#"{"kind": "access"}"#),
        (
            "/_admin/tokens",
            r#"{"kind": "access", "client_id": "demo-web", "forgery": "rot13"}"#,
        ),
        (
            "/_admin/tokens",
            r#"{"kind": "access", "client_id": "demo-web", "expired": "yes"}"#,
        ),
        (
            "/_admin/tokens",
            r#"{"kind": "access", "client_id": "demo-web", "claims": [1]}"#,
        ),
        (
            "/_admin/tokens",
            r#"{"kind": "access", "client_id": "demo-web", "extra": 1}"#,
        ),
        ("/_admin/keys/switch", r#"{"use": "refresh", "kid": "k"}"#),
        ("/_admin/keys/switch", r#"{"kid": "k"}"#),
        ("/_admin/keys/retire", "null"),
        ("/_admin/keys/retire", r#"{"kid": 5}"#),
        ("/_admin/jwks-fault", r#"{"fault": "explode"}"#),
        ("/_admin/jwks-fault", r#"{"fault": {"status": 42}}"#),
        ("/_admin/jwks-fault", r#"{"fault": {"status": 70000}}"#),
        ("/_admin/jwks-fault", r#"{"fault": {"delay": 5}}"#),
        ("/_admin/jwks-fault", r#""hang""#),
        ("/_admin/devices/approve", r#"{"user_code": "BCDF-GHJK"}"#),
        ("/_admin/devices/deny", r#"{"code": "BCDF-GHJK"}"#),
        ("/_admin/devices/deny", "\u{0}\u{1}binary"),
    ];
    let (_, before) = get(base, "/_admin/config").await;
    for (path, body) in cases {
        let response = post_raw(base, path, body).await;
        assert_eq!(
            response.0,
            StatusCode::BAD_REQUEST,
            "{path} with {body:?}: {}",
            response.1
        );
        assert_error(&response, StatusCode::BAD_REQUEST, "invalid_request");
    }
    let (_, after) = get(base, "/_admin/config").await;
    assert_eq!(before, after);
    assert_eq!(
        get(base, "/_admin/jwks-fault").await.1,
        json!({"fault": "none"})
    );
}

#[tokio::test]
async fn unknown_admin_paths_are_404_and_wrong_methods_405() {
    let issuer = demo().await;
    let base = issuer.url();
    assert_error(
        &get(base, "/_admin/nothing-here").await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &post(base, "/_admin/keys/unknown", &json!({})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &get(base, "/_admin/tokens").await,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
    assert_error(
        &post(base, "/_admin/config", &json!({})).await,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
}

// ---------------------------------------------------------------------------------------------
// Tokens

#[tokio::test]
async fn minted_tokens_validate_with_the_authorizer() {
    let issuer = demo().await;
    let base = issuer.url();
    let authorizer = access_authorizer(&issuer, "demo-web");

    let token = mint(
        base,
        json!({"kind": "access", "client_id": "demo-web", "username": "alice"}),
    )
    .await;
    let claims = authorizer
        .authorize::<()>(&token)
        .await
        .expect("the token validates");
    assert_eq!(claims.issuer(), issuer.issuer());
    assert_eq!(
        claims.subject(),
        Some("8f2c1e4a-0000-4000-8000-00000000a11c")
    );
    assert_eq!(claims.username(), Some("alice"));
    assert!(claims.groups().contains("admins"));
    assert!(
        claims
            .scopes()
            .contains_all(["openid", "api/read", "api/write"])
    );
    assert_eq!(
        header(&token)["kid"],
        json!(issuer.current_kid(tokengate::mock::KeyUse::Access))
    );

    // Scopes and claims as asked; a claim left out.
    let token = mint(
        base,
        json!({
            "kind": "access",
            "client_id": "demo-web",
            "username": "bob",
            "scopes": ["api/read"],
            "claims": {"custom:tier": "gold"},
            "without": ["username"],
        }),
    )
    .await;
    let claims = authorizer
        .authorize::<Value>(&token)
        .await
        .expect("the token validates");
    assert_eq!(claims.scopes().iter().collect::<Vec<_>>(), ["api/read"]);
    assert_eq!(claims.custom()["custom:tier"], "gold");
    assert_eq!(claims.username(), None);

    // Without a user: a client-credentials-shaped token.
    let token = mint(base, json!({"kind": "access", "client_id": "demo-backend"})).await;
    let claims = access_authorizer(&issuer, "demo-backend")
        .authorize::<()>(&token)
        .await
        .expect("the token validates");
    assert_eq!(claims.subject(), Some("demo-backend"));
    assert!(claims.scopes().contains_all(["api/read", "api/write"]));

    // An ID token.
    let token = mint(
        base,
        json!({"kind": "id", "client_id": "demo-spa", "username": "alice"}),
    )
    .await;
    let claims = issuer
        .authorizer(Profile::cognito_id())
        .expect("an authorizer builder")
        .client_id("demo-spa")
        .build()
        .expect("valid authorizer settings")
        .authorize::<Value>(&token)
        .await
        .expect("the ID token validates");
    assert_eq!(claims.custom()["cognito:username"], "alice");
    assert_eq!(claims.custom()["email"], "alice@example.com");
    assert_eq!(
        header(&token)["kid"],
        json!(issuer.current_kid(tokengate::mock::KeyUse::Id))
    );
}

#[tokio::test]
async fn spoiled_tokens_are_refused_for_the_right_reason() {
    let issuer = demo().await;
    let base = issuer.url();
    let authorizer = access_authorizer(&issuer, "demo-web");
    let cases = [
        (json!({"expired": true}), AuthErrorKind::Expired),
        (json!({"not_yet_valid": true}), AuthErrorKind::NotYetValid),
        (
            json!({"claims": {"iss": "https://evil.example"}}),
            AuthErrorKind::WrongIssuer,
        ),
        (
            json!({"claims": {"token_use": "id"}}),
            AuthErrorKind::WrongTokenUse,
        ),
        (
            json!({"without": ["client_id"]}),
            AuthErrorKind::MissingClaim,
        ),
        (
            json!({"client_id": "someone-else"}),
            AuthErrorKind::WrongClient,
        ),
        (json!({"forgery": "alg_none"}), AuthErrorKind::UnsignedToken),
        (
            json!({"forgery": "hs256_with_public_key"}),
            AuthErrorKind::SymmetricAlgorithm,
        ),
        (json!({"forgery": "unknown_kid"}), AuthErrorKind::UnknownKey),
        (
            json!({"forgery": "tampered_signature"}),
            AuthErrorKind::InvalidSignature,
        ),
    ];
    for (changes, expected) in cases {
        let mut request = json!({"kind": "access", "client_id": "demo-web", "username": "alice"});
        for (name, value) in changes.as_object().expect("an object") {
            request[name] = value.clone();
        }
        let token = mint(base, request).await;
        assert_eq!(refusal(&authorizer, &token).await, expected, "{changes}");
    }
    // Explicit claims win over the switches.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let token = mint(
        base,
        json!({"kind": "access", "client_id": "demo-web", "expired": true, "claims": {"exp": now + 600}}),
    )
    .await;
    authorizer
        .authorize::<()>(&token)
        .await
        .expect("the explicit exp wins");
}

#[tokio::test]
async fn token_requests_naming_what_does_not_exist_are_refused() {
    let issuer = demo().await;
    let base = issuer.url();
    assert_error(
        &post(
            base,
            "/_admin/tokens",
            &json!({"kind": "access", "client_id": "demo-web", "username": "mallory"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &post(
            base,
            "/_admin/tokens",
            &json!({"kind": "id", "client_id": "demo-web"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    // Nothing was retired yet: a retired-key forgery cannot be made.
    assert_error(
        &post(
            base,
            "/_admin/tokens",
            &json!({"kind": "access", "client_id": "demo-web", "forgery": "retired_key"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
}

/// The payload of a JWT, read without checking anything.
fn payload(token: &str) -> Value {
    let segment = token.split('.').nth(1).expect("a payload segment");
    let bytes = URL_SAFE_NO_PAD.decode(segment).expect("base64url");
    serde_json::from_slice(&bytes).expect("a JSON payload")
}

#[tokio::test]
async fn tokens_minted_directly_get_the_lifetime_of_their_kind() {
    let issuer = MockIssuer::demo()
        .lifetimes(tokengate::mock::Lifetimes {
            access_token: 600,
            id_token: 900,
            ..tokengate::mock::Lifetimes::default()
        })
        .start()
        .await
        .expect("the issuer starts");
    let lifetime = |token: &str| {
        let claims = payload(token);
        claims["exp"].as_u64().expect("exp") - claims["iat"].as_u64().expect("iat")
    };
    let rust_access = issuer
        .access_token()
        .client("demo-web")
        .user("alice")
        .sign()
        .expect("an access token");
    let rust_id = issuer
        .id_token()
        .client("demo-web")
        .user("alice")
        .sign()
        .expect("an ID token");
    let admin_id = mint(
        issuer.url(),
        json!({"kind": "id", "client_id": "demo-web", "username": "alice"}),
    )
    .await;
    assert_eq!(lifetime(&rust_access), 600);
    assert_eq!(lifetime(&rust_id), 900);
    assert_eq!(lifetime(&admin_id), 900);
    // The same claims as a grant's ID token: the user's, and the issuance's.
    let claims = payload(&admin_id);
    assert_eq!(claims["cognito:username"], "alice");
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["aud"], "demo-web");
    assert_eq!(claims["token_use"], "id");
}

#[tokio::test]
async fn the_admin_api_refuses_what_the_rust_api_refuses() {
    let issuer = demo().await;
    let base = issuer.url();
    let blank = tokengate::mock::Client::public(" ");
    let rust = issuer.add_client(blank).expect_err("a blank id is refused");
    assert!(
        rust.to_string().contains("`id` must not be empty"),
        "{rust}"
    );
    let admin = post(base, "/_admin/clients", &json!({"id": " "})).await;
    assert_error(&admin, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(
        admin.1["error_description"],
        "client ` `: `id` must not be empty"
    );
    assert!(
        rust.to_string()
            .contains(admin.1["error_description"].as_str().expect("text")),
        "{rust}"
    );
    assert!(
        issuer
            .config()
            .clients
            .iter()
            .all(|c| !c.id.trim().is_empty()),
        "nothing was added"
    );
    // A user code that was never issued: not found, both ways.
    let rust = issuer
        .approve_device("BCDF-GHJK", "alice")
        .expect_err("an unknown code");
    let admin = post(
        base,
        "/_admin/devices/approve",
        &json!({"user_code": "BCDF-GHJK", "username": "alice"}),
    )
    .await;
    assert_error(&admin, StatusCode::NOT_FOUND, "not_found");
    assert!(
        rust.to_string()
            .contains(admin.1["error_description"].as_str().expect("text")),
        "{rust} / {}",
        admin.1
    );
}

// ---------------------------------------------------------------------------------------------
// Keys

#[tokio::test]
async fn keys_publish_switch_and_retire_step_by_step() {
    let issuer = demo().await;
    let base = issuer.url();
    let (status, keys) = get(base, "/_admin/keys").await;
    assert_eq!(status, StatusCode::OK);
    let old_access = keys["access"].as_str().expect("access kid").to_owned();
    let old_id = keys["id"].as_str().expect("id kid").to_owned();
    assert_ne!(old_access, old_id);
    assert_eq!(keys["kids"], json!([old_access, old_id]));
    assert_eq!(issuer.kids(), [old_access.clone(), old_id.clone()]);

    // Step 1: published, in the JWKS, not signing.
    let (status, published) = post(base, "/_admin/keys/publish", &json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let next = published["kid"].as_str().expect("a kid").to_owned();
    let (_, jwks) = get(base, JWKS).await;
    let jwks_kids: Vec<&str> = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter_map(|k| k["kid"].as_str())
        .collect();
    assert!(jwks_kids.contains(&next.as_str()));
    let (_, keys) = get(base, "/_admin/keys").await;
    assert_eq!(keys["access"], json!(old_access));

    // Step 2: it signs access tokens.
    let (status, keys) = post(
        base,
        "/_admin/keys/switch",
        &json!({"use": "access", "kid": next}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{keys}");
    assert_eq!(keys["access"], json!(next));
    assert_eq!(keys["id"], json!(old_id));
    let token = mint(base, json!({"kind": "access", "client_id": "demo-web"})).await;
    assert_eq!(header(&token)["kid"], json!(next));

    // Keys in use cannot be retired; unknown ones are 404.
    assert_error(
        &post(base, "/_admin/keys/retire", &json!({"kid": next})).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    assert_error(
        &post(base, "/_admin/keys/retire", &json!({"kid": "no-such-kid"})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &post(
            base,
            "/_admin/keys/switch",
            &json!({"use": "id", "kid": "no-such-kid"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );

    // Step 3: the old access key leaves the JWKS.
    let (status, keys) = post(base, "/_admin/keys/retire", &json!({"kid": old_access})).await;
    assert_eq!(status, StatusCode::OK, "{keys}");
    assert_eq!(keys["kids"], json!([old_id, next]));
    // Retired twice: it is no longer published.
    assert_error(
        &post(base, "/_admin/keys/retire", &json!({"kid": old_access})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    // Now a retired-key forgery can be made, and it is refused.
    let forged = mint(
        base,
        json!({"kind": "access", "client_id": "demo-web", "forgery": "retired_key"}),
    )
    .await;
    assert_eq!(header(&forged)["kid"], json!(old_access));
    let authorizer = access_authorizer(&issuer, "demo-web");
    assert_eq!(
        refusal(&authorizer, &forged).await,
        AuthErrorKind::UnknownKey
    );
}

#[tokio::test]
async fn rotation_is_observed_by_a_new_authorizer() {
    let issuer = demo().await;
    let base = issuer.url();
    let before = mint(
        base,
        json!({"kind": "access", "client_id": "demo-web", "username": "alice"}),
    )
    .await;
    access_authorizer(&issuer, "demo-web")
        .authorize::<()>(&before)
        .await
        .expect("valid before rotation");
    let (_, old) = get(base, "/_admin/keys").await;

    let (status, rotated) = post(base, "/_admin/keys/rotate", &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    assert_eq!(rotated["retired"], json!([old["access"], old["id"]]));
    assert_ne!(rotated["access"], old["access"]);
    assert_ne!(rotated["id"], old["id"]);
    assert_eq!(rotated["kids"], json!([rotated["access"], rotated["id"]]));
    assert_eq!(
        get(base, "/_admin/keys").await.1["access"],
        rotated["access"]
    );

    // The authorizer caches keys: a new one sees the new key set.
    let authorizer = access_authorizer(&issuer, "demo-web");
    assert_eq!(
        refusal(&authorizer, &before).await,
        AuthErrorKind::UnknownKey
    );
    let after = mint(
        base,
        json!({"kind": "access", "client_id": "demo-web", "username": "alice"}),
    )
    .await;
    assert_eq!(header(&after)["kid"], rotated["access"]);
    authorizer
        .authorize::<()>(&after)
        .await
        .expect("valid after rotation");
    let forged = mint(
        base,
        json!({"kind": "access", "client_id": "demo-web", "forgery": "retired_key"}),
    )
    .await;
    assert_eq!(
        refusal(&authorizer, &forged).await,
        AuthErrorKind::UnknownKey
    );
}

// ---------------------------------------------------------------------------------------------
// JWKS faults

#[tokio::test]
async fn jwks_faults_are_served_and_cleared() {
    let issuer = demo().await;
    let base = issuer.url();
    let jwks = issuer.jwks_uri();

    let (status, set) = post(
        base,
        "/_admin/jwks-fault",
        &json!({"fault": {"status": 503}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(set, json!({"fault": {"status": 503}}));
    assert_eq!(get(base, "/_admin/jwks-fault").await.1, set);
    assert_eq!(
        http().get(&jwks).send().await.expect("answered").status(),
        503
    );
    // A resource server starting now cannot get keys.
    let token = mint(base, json!({"kind": "access", "client_id": "demo-web"})).await;
    assert_eq!(
        refusal(&access_authorizer(&issuer, "demo-web"), &token).await,
        AuthErrorKind::KeysUnavailable
    );

    let (status, set) = post(base, "/_admin/jwks-fault", &json!({"fault": "garbage"})).await;
    assert_eq!((status, set), (StatusCode::OK, json!({"fault": "garbage"})));
    let response = http().get(&jwks).send().await.expect("answered");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    let body = response.text().await.expect("a body");
    assert!(serde_json::from_str::<Value>(&body).is_err(), "{body}");

    let (status, set) = post(base, "/_admin/jwks-fault", &json!({"fault": "hang"})).await;
    assert_eq!((status, set), (StatusCode::OK, json!({"fault": "hang"})));
    let hung = http()
        .get(&jwks)
        .timeout(Duration::from_millis(300))
        .send()
        .await
        .expect_err("the JWKS endpoint never answers");
    assert!(hung.is_timeout(), "{hung}");

    // Only JSON is taken: a form's content type (what `curl -d` sends, and what any web
    // page may send) is refused and changes nothing.
    let response = http()
        .post(format!("{base}/_admin/jwks-fault"))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(r#"{"fault": "none"}"#)
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), 415);
    assert_eq!(
        get(base, "/_admin/jwks-fault").await.1,
        json!({"fault": "hang"})
    );
    let (status, _) = post(base, "/_admin/jwks-fault", &json!({"fault": "none"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        get(base, "/_admin/jwks-fault").await.1,
        json!({"fault": "none"})
    );
    let (status, keys) = get(base, JWKS).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(keys["keys"].as_array().expect("keys").len(), 2);
    access_authorizer(&issuer, "demo-web")
        .authorize::<()>(&token)
        .await
        .expect("valid once the JWKS works again");
}

// ---------------------------------------------------------------------------------------------
// The request log

#[tokio::test]
async fn requests_are_counted_listed_and_reset() {
    let issuer = demo().await;
    let base = issuer.url();
    let (status, cleared) = call(
        reqwest::Method::DELETE,
        &format!("{base}/_admin/requests"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(cleared, json!({"counts": {}, "requests": []}));

    get(base, JWKS).await;
    get(base, JWKS).await;
    get(base, &format!("{DISCOVERY}?x=1")).await;
    client_credentials(base, "demo-backend", "demo-backend-secret", "api/read").await;

    let (status, log) = get(base, "/_admin/requests").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(log["counts"][JWKS], 2);
    assert_eq!(log["counts"][DISCOVERY], 1);
    assert_eq!(log["counts"]["/oauth2/token"], 1);
    // The log's own request is in it.
    assert_eq!(log["counts"]["/_admin/requests"], 1);
    let sent: Vec<Value> = log["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .map(|r| json!({"method": r["method"], "path": r["path"], "query": r["query"]}))
        .collect();
    assert_eq!(
        sent,
        [
            json!({"method": "GET", "path": JWKS, "query": []}),
            json!({"method": "GET", "path": JWKS, "query": []}),
            json!({"method": "GET", "path": DISCOVERY, "query": [["x", "1"]]}),
            json!({"method": "POST", "path": "/oauth2/token", "query": []}),
            json!({"method": "GET", "path": "/_admin/requests", "query": []}),
        ]
    );
    // The token request's form, and its credentials redacted.
    let token = &log["requests"][3];
    assert_eq!(
        token["form"][0],
        json!(["grant_type", "client_credentials"])
    );
    let authorization = token["headers"]
        .as_array()
        .expect("headers")
        .iter()
        .find(|h| h[0] == "authorization")
        .map(|h| h[1].clone());
    assert_eq!(authorization, Some(json!("Basic [redacted]")));
    assert_eq!(issuer.request_count(JWKS), 2);

    call(
        reqwest::Method::DELETE,
        &format!("{base}/_admin/requests"),
        None,
    )
    .await;
    assert_eq!(issuer.request_count(JWKS), 0);
    assert!(issuer.requests().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Device authorizations

async fn start_device(base: &str) -> (String, String) {
    let response = http()
        .post(format!("{base}/oauth2/device_authorization"))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("client_id=demo-device&scope=openid%20api%2Fread")
        .send()
        .await
        .expect("the device endpoint answers");
    assert_eq!(response.status(), 200);
    let body: Value = serde_json::from_str(&response.text().await.expect("a body")).expect("JSON");
    (
        body["device_code"]
            .as_str()
            .expect("a device code")
            .to_owned(),
        body["user_code"].as_str().expect("a user code").to_owned(),
    )
}

async fn poll(base: &str, device_code: &str) -> (StatusCode, Value) {
    let response = http()
        .post(format!("{base}/oauth2/token"))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code\
             &client_id=demo-device&device_code={device_code}"
        ))
        .send()
        .await
        .expect("the token endpoint answers");
    let status = response.status();
    let text = response.text().await.expect("a body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn devices_are_approved_and_denied_over_the_admin_api() {
    let issuer = demo().await;
    let base = issuer.url();

    let (device_code, user_code) = start_device(base).await;
    // Matched as the /device page matches it: any case, without the dash.
    let typed = user_code.replace('-', "").to_lowercase();
    let (status, body) = post(
        base,
        "/_admin/devices/approve",
        &json!({"user_code": typed, "username": "alice"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"user_code": user_code, "decision": "approved"})
    );
    // Decided once only.
    assert_error(
        &post(
            base,
            "/_admin/devices/deny",
            &json!({"user_code": user_code}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    let (status, tokens) = poll(base, &device_code).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let claims = access_authorizer(&issuer, "demo-device")
        .authorize::<()>(tokens["access_token"].as_str().expect("an access token"))
        .await
        .expect("the device's token validates");
    assert_eq!(claims.username(), Some("alice"));
    // Redeemed: the code is gone.
    assert_error(
        &post(
            base,
            "/_admin/devices/deny",
            &json!({"user_code": user_code}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );

    let (device_code, user_code) = start_device(base).await;
    assert_error(
        &post(
            base,
            "/_admin/devices/approve",
            &json!({"user_code": user_code, "username": "mallory"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let (status, body) = post(
        base,
        "/_admin/devices/deny",
        &json!({"user_code": user_code}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["decision"], "denied");
    let (status, error) = poll(base, &device_code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"], "access_denied");

    // Codes never issued.
    assert_error(
        &post(
            base,
            "/_admin/devices/approve",
            &json!({"user_code": "BCDF-GHJK", "username": "alice"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &post(
            base,
            "/_admin/devices/deny",
            &json!({"user_code": "BCDF-GHJK"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
}

#[tokio::test]
async fn an_expired_device_code_cannot_be_approved() {
    let clock = ManualClock::starting_now();
    let issuer = MockIssuer::demo()
        .clock(clock.clone())
        .start()
        .await
        .expect("the issuer starts");
    let base = issuer.url();
    let (_, user_code) = start_device(base).await;
    clock.advance(601);
    assert_error(
        &post(
            base,
            "/_admin/devices/approve",
            &json!({"user_code": user_code, "username": "alice"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
}

// ---------------------------------------------------------------------------------------------
// The standalone binary

#[tokio::test]
async fn the_binary_serves_the_demo_with_an_advertised_issuer() {
    const ISSUER: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Mock";
    let server = start_binary(&["--addr", "127.0.0.1:0", "--issuer", ISSUER]);
    assert!(
        server.base.starts_with("http://127.0.0.1:"),
        "{}",
        server.base
    );
    let printed = server.output.join("\n");
    for expected in [
        ISSUER,
        "/.well-known/openid-configuration",
        "demo-backend-secret",
        "demo-web-secret",
        "alice-password",
        "bob-password",
        "api/read api/write",
        "admins",
    ] {
        assert!(
            printed.contains(expected),
            "`{expected}` not in:\n{printed}"
        );
    }

    // Discovery and the key set under the advertised issuer's path, on the listening address.
    let (status, discovery) = get(
        &server.base,
        "/eu-west-1_Mock/.well-known/openid-configuration",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(discovery["issuer"], ISSUER);
    let jwks_uri = format!("{}/eu-west-1_Mock/.well-known/jwks.json", server.base);
    assert_eq!(discovery["jwks_uri"], jwks_uri);

    // The admin API is there too, and its tokens carry the advertised issuer.
    let token = mint(
        &server.base,
        json!({"kind": "access", "client_id": "demo-web", "username": "alice"}),
    )
    .await;
    let authorizer = Authorizer::builder(Profile::cognito_access())
        .issuer(ISSUER)
        .remote_jwks(RemoteJwks::from_uri(jwks_uri).expect("a JWKS URL"))
        .client_id("demo-web")
        .build()
        .expect("valid authorizer settings");
    let claims = authorizer
        .authorize::<()>(&token)
        .await
        .expect("the token validates");
    assert_eq!(claims.issuer(), ISSUER);
}

#[tokio::test]
async fn the_binary_reads_a_toml_config() {
    let config = TempFile::new(
        "config.toml",
        r#"
[[clients]]
id = "ci-backend"
secret = "ci-backend-secret"
grants = ["client_credentials"]
scopes = ["orders/read"]

[[resource_servers]]
identifier = "orders"
scopes = ["read"]

[lifetimes]
access_token = 600
"#,
    );
    let server = start_binary(&["--config", config.path(), "--addr=127.0.0.1:0"]);
    let printed = server.output.join("\n");
    assert!(printed.contains("ci-backend-secret"), "{printed}");
    assert!(!printed.contains("demo-"), "{printed}");

    let (_, discovery) = get(&server.base, DISCOVERY).await;
    // Without --issuer (and none in the file) the issuer is the base URL and the default pool.
    let issuer = format!("{}/us-east-1_tokengate", server.base);
    assert_eq!(discovery["issuer"], issuer.as_str());

    let (status, tokens) = client_credentials(
        &server.base,
        "ci-backend",
        "ci-backend-secret",
        "orders/read",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["expires_in"], 600);
    let authorizer = Authorizer::builder(Profile::cognito_access())
        .issuer(issuer.as_str())
        .remote_jwks(RemoteJwks::discover(&issuer).expect("an issuer URL"))
        .client_id("ci-backend")
        .build()
        .expect("valid authorizer settings");
    let claims = authorizer
        .authorize::<()>(tokens["access_token"].as_str().expect("an access token"))
        .await
        .expect("the token validates");
    assert!(claims.scopes().contains("orders/read"));

    // The demo clients are not there.
    let (status, _) =
        client_credentials(&server.base, "demo-backend", "demo-backend-secret", "").await;
    assert_ne!(status, StatusCode::OK);
    let (_, config) = get(&server.base, "/_admin/config").await;
    assert_eq!(config["clients"].as_array().map(Vec::len), Some(1));
}

#[test]
fn the_binary_refuses_bad_configs_and_arguments_with_status_2() {
    let bad_toml = TempFile::new("bad.toml", "[[clients]]\nid = \"x\"\nsecret = \n");
    let (status, stderr) = run_to_end(&["--config", bad_toml.path(), "--addr", "127.0.0.1:0"]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("invalid config"), "{stderr}");

    let unknown_field = TempFile::new(
        "unknown.toml",
        "[[clients]]\nid = \"x\"\ncolour = \"blue\"\n",
    );
    let (status, stderr) = run_to_end(&["--config", unknown_field.path(), "--addr", "127.0.0.1:0"]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("colour"), "{stderr}");

    let (status, stderr) = run_to_end(&["--config", "/nonexistent/tokengate-mock.toml"]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot read config"), "{stderr}");

    for args in [
        &["--bogus"][..],
        &["--addr"][..],
        &["--addr", "not-an-address"][..],
        &["--addr", "127.0.0.1:0", "--addr", "127.0.0.1:0"][..],
    ] {
        let (status, stderr) = run_to_end(args);
        assert_eq!(status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("tokengate-mock:"), "{stderr}");
    }

    let (status, _) = run_to_end(&["--help"]);
    assert!(status.success());

    // An address in use: status 1.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let addr = taken.local_addr().expect("an address").to_string();
    let (status, stderr) = run_to_end(&["--addr", &addr]);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot bind"), "{stderr}");
}

#[tokio::test]
async fn the_documented_toml_example_runs() {
    let docs = include_str!("../docs/mock.md");
    let start = docs
        .find("```toml\n")
        .expect("a TOML example in docs/mock.md")
        + 8;
    let length = docs[start..].find("```").expect("the example's end");
    let config = TempFile::new("documented.toml", &docs[start..start + length]);
    let server = start_binary(&["--config", config.path(), "--addr", "127.0.0.1:0"]);

    let (_, discovery) = get(
        &server.base,
        "/eu-west-1_Mock/.well-known/openid-configuration",
    )
    .await;
    assert_eq!(
        discovery["issuer"],
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Mock"
    );
    let (status, tokens) = client_credentials(
        &server.base,
        "orders-backend",
        "orders-backend-secret",
        "orders/read",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["expires_in"], 600);
    let (_, config) = get(&server.base, "/_admin/config").await;
    assert_eq!(config["users"][0]["attributes"]["custom:tenant"], "acme");
    assert_eq!(config["trusted_issuers"][0]["client_id"], "idp-client");
    assert_eq!(config["clients"][1]["rotation_grace_seconds"], 10);
}

/// Configurations Cognito refuses are refused wherever they come from: the builder, the TOML
/// file of the binary (exit status 2), the Rust test API and the admin API, each with the same
/// reason.
#[tokio::test]
async fn configurations_cognito_refuses_are_refused_by_rust_toml_and_admin_alike() {
    use tokengate::mock::{Client, Lifetimes, MockConfig};

    let clients = [
        (
            json!({"id": "cli", "grants": ["client_credentials"], "scopes": ["api/read"]}),
            "client_credentials needs a client secret",
        ),
        (
            json!({"id": "mixed", "secret": "s", "grants": ["client_credentials", "authorization_code"],
                   "redirect_uris": ["https://app.example/cb"], "scopes": ["api/read"]}),
            "client_credentials cannot be combined with authorization_code",
        ),
        (
            json!({"id": "web2", "secret": "s", "grants": ["authorization_code"],
                   "redirect_uris": ["http://app.example/cb"], "scopes": ["openid"]}),
            "Cognito allows http only for http://localhost",
        ),
        (
            json!({"id": "frag", "grants": ["implicit"],
                   "redirect_uris": ["https://app.example/cb#x"], "scopes": ["openid"]}),
            "must not have a fragment",
        ),
        (
            json!({"id": "nowhere", "grants": ["authorization_code"], "scopes": ["openid"]}),
            "need a redirect URI",
        ),
        (
            json!({"id": "rot", "secret": "s", "grants": ["authorization_code", "refresh_token"],
                   "redirect_uris": ["https://app.example/cb"], "scopes": ["openid"],
                   "rotate_refresh_tokens": true, "rotation_grace_seconds": 61}),
            "Cognito allows 0 to 60",
        ),
        (
            json!({"id": "unknown", "secret": "s", "grants": ["client_credentials"],
                   "scopes": ["billing/charge"]}),
            "`billing/charge` is neither a reserved scope",
        ),
    ];
    let issuer = demo().await;
    for (entry, reason) in &clients {
        let client: Client = serde_json::from_value(entry.clone()).expect("a client");
        let mut config = MockConfig::demo();
        config.clients.push(client.clone());
        check_refused(&config, reason).await;
        let rust = issuer.add_client(client).expect_err(reason);
        assert!(rust.to_string().contains(reason), "{rust}");
        let admin = post(issuer.url(), "/_admin/clients", entry).await;
        assert_error(&admin, StatusCode::BAD_REQUEST, "invalid_request");
        let said = admin.1["error_description"]
            .as_str()
            .expect("a description");
        assert!(said.contains(reason), "{said}");
    }
    assert_eq!(
        issuer.config().clients.len(),
        MockConfig::demo().clients.len()
    );

    // A resource server replaced without a scope a client still names.
    let narrowed = json!({"identifier": "api", "scopes": ["read"]});
    let admin = post(issuer.url(), "/_admin/resource-servers", &narrowed).await;
    assert_error(&admin, StatusCode::BAD_REQUEST, "invalid_request");
    assert!(
        admin.1["error_description"]
            .as_str()
            .expect("text")
            .contains("`api/write`")
    );

    // Lifetimes (no admin route changes them).
    for (lifetimes, reason) in [
        (
            Lifetimes {
                access_token: 60,
                ..Lifetimes::default()
            },
            "`lifetimes.access_token` is 60 s; Cognito allows 300 to 86400 s",
        ),
        (
            Lifetimes {
                id_token: 86_401,
                ..Lifetimes::default()
            },
            "`lifetimes.id_token` is 86401 s",
        ),
        (
            Lifetimes {
                refresh_token: 3_599,
                ..Lifetimes::default()
            },
            "60 minutes to 10 years",
        ),
        (
            Lifetimes {
                refresh_token: 3_650 * 86_400 + 1,
                ..Lifetimes::default()
            },
            "60 minutes to 10 years",
        ),
    ] {
        let config = MockConfig {
            lifetimes,
            ..MockConfig::demo()
        };
        check_refused(&config, reason).await;
    }

    // A customization of a claim Cognito protects (the admin API's refusal is in
    // mock_customize.rs).
    let mut config = MockConfig::demo();
    config
        .token_customizations
        .push(tokengate::mock::TokenCustomization::new(
            tokengate::mock::TokenChanges::default().access_claim("iss", "https://evil.example"),
        ));
    check_refused(&config, "`iss` cannot be changed in the access token").await;
}

/// `config` is refused by the builder, and by the binary reading it as TOML.
async fn check_refused(config: &tokengate::mock::MockConfig, reason: &str) {
    let err = MockIssuer::builder()
        .config(config.clone())
        .start()
        .await
        .expect_err(reason);
    assert!(err.to_string().contains(reason), "{err}");
    let file = TempFile::new("refused.toml", &toml::to_string(config).expect("TOML"));
    let (status, stderr) = run_to_end(&["--config", file.path(), "--addr", "127.0.0.1:0"]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(reason), "{stderr}");
}
