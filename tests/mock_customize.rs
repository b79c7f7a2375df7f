//! Token customization, as Cognito's pre token generation trigger: a Rust closure and the
//! declarative form (builder, admin API), applied to every token every grant issues, per
//! client or user, with the claims Cognito protects refused.
#![cfg(all(feature = "mock", feature = "axum"))]

#[path = "support/e2e.rs"]
mod e2e;
#[path = "support/jwt_parts.rs"]
mod jwt_parts;

use std::sync::{Arc, Mutex};

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokengate::mock::{MockIssuer, TokenChanges, TokenCustomization, TokenEvent, TriggerSource};

use jwt_parts::payload;

use e2e::{
    ALICE_PASSWORD, ALICE_SUB, Approval, SPA_CALLBACK, WEB_CALLBACK, client_credentials,
    code_flow_with_pkce, device_flow, http, implicit_flow, refresh, token_exchange,
};

const ALICE: (&str, &str) = ("alice", ALICE_PASSWORD);

/// `user` signs in to `demo-web` (the code flow with PKCE) for `openid email api/read`.
async fn on_web(issuer: &MockIssuer, user: (&str, &str)) -> e2e::Tokens {
    code_flow_with_pkce(
        issuer,
        "demo-web",
        WEB_CALLBACK,
        "openid email api/read",
        user,
    )
    .await
}

/// A closure that notes every event and stamps each access token with its trigger.
fn recording(
    events: &Arc<Mutex<Vec<TokenEvent>>>,
) -> impl Fn(&TokenEvent) -> TokenChanges + Send + Sync + 'static {
    let events = Arc::clone(events);
    move |event| {
        events.lock().expect("not poisoned").push(event.clone());
        TokenChanges::default()
            .access_claim("trigger", event.trigger_source.as_str())
            .id_claim("trigger", event.trigger_source.as_str())
    }
}

#[tokio::test]
async fn a_closure_sees_and_changes_the_tokens_of_every_grant() {
    let events = Arc::new(Mutex::new(Vec::new()));
    let issuer = MockIssuer::demo()
        .customize_tokens(recording(&events))
        .start()
        .await
        .expect("starts");

    let web = on_web(&issuer, ALICE).await;
    let refreshed = refresh(
        &issuer,
        "demo-web",
        web.refresh_token.as_deref().expect("a refresh token"),
        None,
    )
    .await;
    let implicit = implicit_flow(&issuer, "demo-spa", SPA_CALLBACK, "openid api/read", ALICE).await;
    let backend = client_credentials(&http(), &issuer, "demo-backend", None).await;
    let device = device_flow(
        &issuer,
        "demo-device",
        "api/read",
        Approval::TestApi("alice"),
    )
    .await;
    let exchanged = token_exchange(&issuer, "demo-exchange", &web.access_token, None).await;

    for (token, trigger) in [
        (&web.access_token, TriggerSource::HostedAuth),
        (
            web.id_token.as_ref().expect("an ID token"),
            TriggerSource::HostedAuth,
        ),
        (&refreshed.access_token, TriggerSource::RefreshTokens),
        (&implicit["access_token"], TriggerSource::HostedAuth),
        (&backend.access_token, TriggerSource::ClientCredentials),
        (&device.access_token, TriggerSource::DeviceCode),
        (&exchanged.access_token, TriggerSource::TokenExchange),
    ] {
        assert_eq!(payload(token)["trigger"], trigger.as_str());
    }

    let events = events.lock().expect("not poisoned");
    let web_event = &events[0];
    assert_eq!(web_event.client_id, "demo-web");
    assert_eq!(web_event.username.as_deref(), Some("alice"));
    assert_eq!(web_event.groups, ["admins"]);
    assert_eq!(web_event.scopes, ["openid", "email", "api/read"]);
    // Attributes as Cognito sends them: all strings.
    assert_eq!(web_event.user_attributes["sub"], ALICE_SUB);
    assert_eq!(web_event.user_attributes["email_verified"], "true");
    assert_eq!(
        web_event.user_attributes["cognito:user_status"],
        "CONFIRMED"
    );
    let machine = events
        .iter()
        .find(|e| e.trigger_source == TriggerSource::ClientCredentials)
        .expect("a client-credentials event");
    assert_eq!(machine.username, None);
    assert!(machine.user_attributes.is_empty());
}

#[tokio::test]
async fn declarative_changes_apply_per_client_and_user_and_suppressing_wins() {
    let issuer = MockIssuer::demo()
        .token_customization(
            TokenCustomization::new(
                TokenChanges::default()
                    .access_claim("tenant", "acme")
                    .access_claim("tier", json!({"name": "gold", "seats": 5}))
                    .add_scope("api/write")
                    .suppress_scope("api/read"),
            )
            .client("demo-web"),
        )
        .token_customization(
            TokenCustomization::new(
                TokenChanges::default()
                    .id_claim("email", "hidden@example.com")
                    .suppress_id_claim("email")
                    .override_groups(["auditors"]),
            )
            .user("alice"),
        )
        .token_customization(
            // Later ones win over earlier ones.
            TokenCustomization::new(TokenChanges::default().access_claim("tenant", "globex"))
                .client("demo-web")
                .user("bob"),
        )
        .start()
        .await
        .expect("starts");

    let alice = on_web(&issuer, ALICE).await;
    let access = payload(&alice.access_token);
    assert_eq!(access["tenant"], "acme");
    assert_eq!(access["tier"], json!({"name": "gold", "seats": 5}));
    assert_eq!(access["scope"], "openid email api/write");
    assert_eq!(access["cognito:groups"], json!(["auditors"]));
    let id = payload(alice.id_token.as_deref().expect("an ID token"));
    assert!(
        id.get("email").is_none(),
        "suppressed, though also set: {id}"
    );
    assert_eq!(id["cognito:groups"], json!(["auditors"]));

    let bob = on_web(&issuer, ("bob", "bob-password")).await;
    let access = payload(&bob.access_token);
    assert_eq!(access["tenant"], "globex");
    assert!(access.get("cognito:groups").is_none());
    let id = payload(bob.id_token.as_deref().expect("an ID token"));
    assert_eq!(id["email"], "bob@example.com");

    // Another client: none of demo-web's changes.
    let spa =
        code_flow_with_pkce(&issuer, "demo-spa", SPA_CALLBACK, "openid api/read", ALICE).await;
    let access = payload(&spa.access_token);
    assert!(access.get("tenant").is_none());
    assert_eq!(access["scope"], "openid api/read");
    // The added scope is as good as a granted one: it opens what needs it.
    let authorizer = issuer
        .authorizer(tokengate::Profile::cognito_access())
        .expect("builder")
        .client_id("demo-web")
        .build()
        .expect("valid authorizer settings");
    let claims = authorizer
        .authorize::<()>(&alice.access_token)
        .await
        .expect("valid");
    assert!(claims.scopes().contains("api/write"));
}

#[tokio::test]
async fn protected_claims_are_refused_by_the_rust_and_admin_apis() {
    let issuer = MockIssuer::demo().start().await.expect("starts");
    for (changes, reason) in [
        (
            TokenChanges::default().access_claim("iss", "https://evil.example"),
            "`iss` cannot be changed",
        ),
        (
            TokenChanges::default().suppress_access_claim("exp"),
            "`exp` cannot be changed",
        ),
        (
            TokenChanges::default().id_claim("token_use", "access"),
            "`token_use` cannot be changed",
        ),
        (
            TokenChanges::default().access_claim("client_id", "another"),
            "`client_id` cannot be changed",
        ),
        (
            TokenChanges::default().access_claim("scope", "api/write"),
            "`scope` changes through `scopes_to_add`",
        ),
        (
            TokenChanges::default().access_claim("cognito:groups", json!(["x"])),
            "through `groups_to_override`",
        ),
    ] {
        let rule = TokenCustomization::new(changes);
        let err = issuer
            .add_token_customization(rule.clone())
            .expect_err(reason);
        assert!(err.to_string().contains(reason), "{err}");
        let start = MockIssuer::demo()
            .token_customization(rule.clone())
            .start()
            .await
            .expect_err(reason);
        assert!(start.to_string().contains(reason), "{start}");
        let response = post_json(
            &format!("{}/_admin/token-customizations", issuer.url()),
            &serde_json::to_value(&rule).expect("JSON"),
        )
        .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body: Value =
            serde_json::from_slice(&response.bytes().await.expect("a body")).expect("JSON");
        let said = body["error_description"].as_str().expect("a description");
        assert!(said.contains(reason), "{said}");
    }
    assert!(issuer.config().token_customizations.is_empty());
}

#[tokio::test]
async fn a_closure_changing_a_protected_claim_fails_the_grant_with_server_error() {
    let issuer = MockIssuer::demo()
        .customize_tokens(|_| TokenChanges::default().access_claim("sub", "someone-else"))
        .start()
        .await
        .expect("starts");
    let response = http()
        .post(issuer.token_endpoint())
        .basic_auth("demo-backend", Some("demo-backend-secret"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value =
        serde_json::from_slice(&response.bytes().await.expect("a body")).expect("JSON");
    assert_eq!(body["error"], "server_error");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("`sub` cannot be changed")),
        "{body}"
    );
    // Cleared, grants work again.
    issuer.clear_token_customizations();
    let tokens = client_credentials(&http(), &issuer, "demo-backend", None).await;
    assert_eq!(payload(&tokens.access_token)["sub"], "demo-backend");
}

/// POSTs `body` to an admin route, as JSON.
async fn post_json(url: &str, body: &Value) -> reqwest::Response {
    http()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("answered")
}

#[tokio::test]
async fn the_admin_api_adds_lists_and_clears_customizations() {
    let issuer = MockIssuer::demo().start().await.expect("starts");
    let url = format!("{}/_admin/token-customizations", issuer.url());
    let rule = json!({
        "client_id": "demo-backend",
        "access_token": {
            "claims_to_add_or_override": {"tenant": "acme"},
            "scopes_to_suppress": ["api/write"],
        },
    });
    let response = post_json(&url, &rule).await;
    assert_eq!(response.status(), StatusCode::OK);
    let config = issuer.config();
    assert_eq!(config.token_customizations.len(), 1);
    assert_eq!(
        config.token_customizations[0].client_id.as_deref(),
        Some("demo-backend")
    );
    let tokens = client_credentials(&http(), &issuer, "demo-backend", None).await;
    let access = payload(&tokens.access_token);
    assert_eq!(access["tenant"], "acme");
    assert_eq!(access["scope"], "api/read");

    // Unknown fields are refused: a typo never goes unnoticed.
    let typo = json!({"acess_token": {}});
    let response = post_json(&url, &typo).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    // Like every admin request that changes something, JSON-typed (a web page cannot send it).
    let response = http()
        .delete(&url)
        .header("content-type", "application/json")
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(issuer.config().token_customizations.is_empty());
    let tokens = client_credentials(&http(), &issuer, "demo-backend", None).await;
    assert!(payload(&tokens.access_token).get("tenant").is_none());
}
