//! The mock as Cognito (and the RFCs) behave: each test asserts what a client or resource
//! server would see against a real user pool.
#![cfg(feature = "mock")]

#[path = "support/jwt_parts.rs"]
mod jwt_parts;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use tokengate::mock::{Client, DEFAULT_POOL_ID, Grant, MockIssuer, ResourceServer, User};
use tokengate::{AuthErrorKind, Authorizer, Profile, RemoteJwks};

use jwt_parts::payload;

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client")
}

async fn get(url: &str) -> (StatusCode, Value) {
    let response = http().get(url).send().await.expect("answered");
    let status = response.status();
    let body = response.bytes().await.expect("a body");
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// A client-credentials token of the demo pool, minted directly.
fn backend_token(issuer: &MockIssuer) -> String {
    issuer
        .access_token()
        .client("demo-backend")
        .sign()
        .expect("a token")
}

// ---------------------------------------------------------------------------------------------
// The issuer has a pool path, as Cognito's

#[tokio::test]
async fn the_default_issuer_is_a_pool_path_with_discovery_and_keys_under_it() {
    let issuer = MockIssuer::demo().start().await.expect("starts");
    assert_eq!(
        issuer.issuer(),
        format!("{}/{DEFAULT_POOL_ID}", issuer.url())
    );
    let (status, discovery) = get(&format!(
        "{}/.well-known/openid-configuration",
        issuer.issuer()
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(discovery["issuer"], issuer.issuer());
    assert_eq!(
        discovery["jwks_uri"],
        format!("{}/.well-known/jwks.json", issuer.issuer())
    );
    assert_eq!(discovery["jwks_uri"], issuer.jwks_uri());
    // The OAuth endpoints stay on the pool's domain (the root), as on Cognito.
    assert_eq!(
        discovery["token_endpoint"],
        format!("{}/oauth2/token", issuer.url())
    );
    let (status, keys) = get(&issuer.jwks_uri()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(keys["keys"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn tokengate_discovery_finds_the_keys_from_the_issuer_alone() {
    let issuer = MockIssuer::demo().start().await.expect("starts");
    let authorizer = Authorizer::builder(Profile::cognito_access())
        .issuer(issuer.issuer())
        .remote_jwks(RemoteJwks::discover(issuer.issuer()).expect("an issuer URL"))
        .client_id("demo-backend")
        .build()
        .expect("valid authorizer settings");
    let claims = authorizer
        .authorize::<()>(&backend_token(&issuer))
        .await
        .expect("discovery leads to the keys");
    assert_eq!(claims.issuer(), issuer.issuer());
}

#[tokio::test]
async fn joining_the_key_set_path_onto_the_issuer_origin_fails_as_on_cognito() {
    let issuer = MockIssuer::demo().start().await.expect("starts");
    // The classic bug: `origin + /.well-known/jwks.json`, the pool id dropped.
    let origin_jwks = format!("{}/.well-known/jwks.json", issuer.url());
    let (status, _) = get(&origin_jwks).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = get(&format!(
        "{}/.well-known/openid-configuration",
        issuer.url()
    ))
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let authorizer = Authorizer::builder(Profile::cognito_access())
        .issuer(issuer.issuer())
        .remote_jwks(
            RemoteJwks::from_uri(origin_jwks)
                .expect("a URL")
                .timeout(Duration::from_secs(5)),
        )
        .client_id("demo-backend")
        .build()
        .expect("valid authorizer settings");
    let err = authorizer
        .authorize::<()>(&backend_token(&issuer))
        .await
        .expect_err("no key set there");
    assert_eq!(err.kind(), AuthErrorKind::KeysUnavailable);
}

#[tokio::test]
async fn an_advertised_issuer_moves_discovery_and_keys_under_its_path() {
    const ISSUER: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Mock";
    let issuer = MockIssuer::demo()
        .issuer_url(ISSUER)
        .start()
        .await
        .expect("starts");
    assert_eq!(issuer.issuer(), ISSUER);
    assert_eq!(
        issuer.jwks_uri(),
        format!("{}/eu-west-1_Mock/.well-known/jwks.json", issuer.url())
    );
    let (status, discovery) = get(&issuer.discovery_url()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(discovery["issuer"], ISSUER);
    assert_eq!(discovery["jwks_uri"], issuer.jwks_uri());
    issuer
        .authorizer(Profile::cognito_access())
        .expect("a builder")
        .client_id("demo-backend")
        .build()
        .expect("valid authorizer settings")
        .authorize::<()>(&backend_token(&issuer))
        .await
        .expect("valid");

    // An issuer without a path serves them at the root.
    let bare = MockIssuer::demo()
        .issuer_url("https://idp.example")
        .start()
        .await
        .expect("starts");
    assert_eq!(
        bare.jwks_uri(),
        format!("{}/.well-known/jwks.json", bare.url())
    );
    assert_eq!(get(&bare.jwks_uri()).await.0, StatusCode::OK);
}

#[tokio::test]
async fn issuers_that_cannot_be_served_are_refused_at_start() {
    for (issuer, why) in [
        ("not a url", "absolute URL"),
        ("ftp://idp.example/pool", "http or https"),
        ("https://idp.example/pool?x=1", "no query or fragment"),
        ("https://idp.example/pool#x", "no query or fragment"),
        ("https://user:pw@idp.example/pool", "credentials"),
        ("https://idp.example/{pool}", "letters, digits"),
        ("https://idp.example/a//b", "letters, digits"),
        ("https://idp.example/_admin/pool", "/_admin"),
    ] {
        let err = MockIssuer::builder()
            .issuer_url(issuer)
            .resource_server(ResourceServer::new("api", ["read"]))
            .client(
                Client::confidential("backend", "secret")
                    .grants([Grant::ClientCredentials])
                    .scopes(["api/read"]),
            )
            .start()
            .await
            .expect_err(issuer);
        assert!(err.to_string().contains(why), "{issuer}: {err}");
    }
}

// ---------------------------------------------------------------------------------------------
// Users: verified flags, sign-in names

async fn userinfo(issuer: &MockIssuer, token: &str) -> (StatusCode, Value) {
    let response = http()
        .get(issuer.userinfo_endpoint())
        .bearer_auth(token)
        .send()
        .await
        .expect("answered");
    let status = response.status();
    let body = response.bytes().await.expect("a body");
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn web_client() -> Client {
    Client::public("web")
        .redirect_uri("http://localhost:3000/callback")
        .grants([Grant::AuthorizationCode, Grant::RefreshToken])
        .scopes(["openid", "email", "phone", "profile"])
}

#[tokio::test]
async fn userinfo_writes_verified_flags_as_strings_per_user_and_id_tokens_as_booleans() {
    let issuer = MockIssuer::builder()
        .client(web_client())
        .user(
            User::new("carol", "carol-password")
                .email("carol@example.com")
                .email_verified(false)
                .phone_number("+15555550100"),
        )
        .start()
        .await
        .expect("starts");
    let tokens = issuer
        .code_flow("web")
        .user("carol", "carol-password")
        .scopes(["openid", "email", "phone"])
        .run()
        .await
        .expect("tokens");
    let (status, info) = userinfo(&issuer, &tokens.access_token).await;
    assert_eq!(status, StatusCode::OK, "{info}");
    assert_eq!(info["email_verified"], "false");
    assert_eq!(info["phone_number_verified"], "true");
    let id = payload(tokens.id_token.as_deref().expect("an ID token"));
    assert_eq!(id["email_verified"], false);
    assert_eq!(id["phone_number_verified"], true);
}

#[tokio::test]
async fn sign_in_names_match_in_any_case_unless_the_pool_is_case_sensitive() {
    let issuer = MockIssuer::builder()
        .client(web_client())
        .user(User::new("Carol", "carol-password"))
        .start()
        .await
        .expect("starts");
    let tokens = issuer
        .code_flow("web")
        .user("cAROL", "carol-password")
        .scopes(["openid"])
        .run()
        .await
        .expect("any case signs in");
    // The tokens name the user as configured, however she typed it.
    assert_eq!(payload(&tokens.access_token)["username"], "Carol");
    assert_eq!(
        payload(tokens.id_token.as_deref().expect("ID"))["cognito:username"],
        "Carol"
    );
    // The password is not case-insensitive.
    assert!(issuer.sign_in("carol", "CAROL-PASSWORD").await.is_err());

    let mut config = issuer.config();
    config.case_sensitive_usernames = true;
    let strict = MockIssuer::builder()
        .config(config)
        .start()
        .await
        .expect("starts");
    let err = strict
        .sign_in("carol", "carol-password")
        .await
        .expect_err("another case is another name");
    assert_eq!(err.status, Some(401), "{err}");
    strict
        .sign_in("Carol", "carol-password")
        .await
        .expect("the exact name");

    // A case-insensitive pool cannot hold two users whose names differ only in case.
    let err = issuer
        .add_user(User::new("CAROL", "x").email("x@example.com"))
        .map(|()| issuer.config().users.len());
    assert_eq!(err.ok(), Some(1), "the same user, replaced");
    let twice = MockIssuer::builder()
        .user(User::new("dave", "x"))
        .user(User::new("Dave", "y"))
        .start()
        .await
        .expect_err("duplicate names");
    assert!(twice.to_string().contains("defined twice"), "{twice}");
}

#[tokio::test]
async fn pools_that_sign_in_with_email_put_the_sub_in_username() {
    let issuer = MockIssuer::builder()
        .client(web_client())
        .user(
            User::new("carol", "carol-password")
                .subject("0b5e2e1c-0000-4000-8000-00000000ca01")
                .email("Carol@Example.com"),
        )
        .start()
        .await
        .expect("starts");
    let mut config = issuer.config();
    config.username_attributes = vec![tokengate::mock::UsernameAttribute::Email];
    let pool = MockIssuer::builder()
        .config(config)
        .start()
        .await
        .expect("starts");
    let tokens = pool
        .code_flow("web")
        .user("carol@EXAMPLE.com", "carol-password")
        .scopes(["openid", "email"])
        .run()
        .await
        .expect("signs in with the email, in any case");
    let sub = "0b5e2e1c-0000-4000-8000-00000000ca01";
    let access = payload(&tokens.access_token);
    assert_eq!(access["username"], sub);
    assert_eq!(access["sub"], sub);
    let id = payload(tokens.id_token.as_deref().expect("ID"));
    assert_eq!(id["cognito:username"], sub);
    assert_eq!(id["email"], "Carol@Example.com");
    let (status, info) = userinfo(&pool, &tokens.access_token).await;
    assert_eq!(status, StatusCode::OK, "{info}");
    assert_eq!(info["username"], sub);
    // The user name is not a sign-in name in such a pool.
    assert!(pool.sign_in("carol", "carol-password").await.is_err());
    // Two users may not share the email they sign in with.
    let err = pool
        .add_user(User::new("carol2", "x").email("CAROL@example.com"))
        .expect_err("a shared sign-in email");
    assert!(err.to_string().contains("share the email"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// prompt (OIDC Core §3.1.2.1)

#[tokio::test]
async fn prompt_none_without_a_session_is_login_required_at_the_client() {
    let issuer = MockIssuer::demo().start().await.expect("starts");
    let err = issuer
        .code_flow("demo-web")
        .prompt("none")
        .run()
        .await
        .expect_err("nobody is signed in");
    assert_eq!(err.error.as_deref(), Some("login_required"), "{err}");
    // With a session, silently a code.
    let cookie = issuer
        .sign_in("alice", "alice-password")
        .await
        .expect("signed in");
    let tokens = issuer
        .code_flow("demo-web")
        .session(cookie)
        .prompt("none")
        .run()
        .await
        .expect("silent sign-in");
    assert_eq!(payload(&tokens.access_token)["username"], "alice");
    // `none` beside another value is refused.
    let err = issuer
        .code_flow("demo-web")
        .prompt("none login")
        .run()
        .await
        .expect_err("contradictory");
    assert_eq!(err.error.as_deref(), Some("invalid_request"), "{err}");
}

#[tokio::test]
async fn prompt_login_asks_again_even_with_a_session() {
    let issuer = MockIssuer::demo().start().await.expect("starts");
    let alice = issuer
        .sign_in("alice", "alice-password")
        .await
        .expect("signed in");
    // Alice's browser, but bob signs in when asked: the tokens are bob's.
    let tokens = issuer
        .code_flow("demo-web")
        .session(alice.clone())
        .prompt("login")
        .user("bob", "bob-password")
        .run()
        .await
        .expect("signed in again");
    assert_eq!(payload(&tokens.access_token)["username"], "bob");
    // Without prompt, the session answers at once.
    let tokens = issuer
        .code_flow("demo-web")
        .session(alice)
        .run()
        .await
        .expect("the session");
    assert_eq!(payload(&tokens.access_token)["username"], "alice");
}
