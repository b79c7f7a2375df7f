//! `/oauth2/userInfo`: attributes by scope, and Bearer challenges.

use oauth2::TokenResponse as _;
use reqwest::Method;
use serde_json::json;

use crate::{Auth, http_client, oauth, post_form, start, user_access_token, userinfo};

#[tokio::test]
async fn email_scope_shows_email_but_not_profile_or_phone() {
    let fx = start().await;
    let at = user_access_token(&fx, "web", "alice", &["openid", "email"]).await;
    for method in [Method::GET, Method::POST] {
        let reply = userinfo(&fx, method.clone(), Some(&at)).await;
        assert_eq!(reply.status, 200, "{method}: {}", reply.text);
        assert!(reply.header("content-type").starts_with("application/json"));
        assert_eq!(
            reply.json,
            json!({
                "sub": "8f2c1e4a-0000-4000-8000-00000000a11c",
                "email": "alice@example.com",
                // A string, as Cognito's userInfo answers (ID tokens carry a boolean).
                "email_verified": "true",
                "username": "alice",
            })
        );
    }
}

#[tokio::test]
async fn profile_and_phone_scopes_add_their_attributes() {
    let fx = start().await;
    let at = user_access_token(&fx, "web", "alice", &["openid", "profile", "phone"]).await;
    let reply = userinfo(&fx, Method::GET, Some(&at)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json["name"], "Alice Admin");
    assert_eq!(reply.json["phone_number"], "+15550100");
    assert_eq!(reply.json["phone_number_verified"], "true");
    assert_eq!(reply.json["username"], "alice");
    assert!(reply.json.get("email").is_none());

    let only_openid = user_access_token(&fx, "web", "alice", &["openid"]).await;
    let reply = userinfo(&fx, Method::GET, Some(&only_openid)).await;
    assert_eq!(
        reply.json,
        json!({"sub": "8f2c1e4a-0000-4000-8000-00000000a11c", "username": "alice"})
    );
}

#[tokio::test]
async fn a_token_without_openid_is_invalid_token_as_on_cognito() {
    let fx = start().await;
    let at = user_access_token(&fx, "web", "alice", &["api/read"]).await;
    let reply = userinfo(&fx, Method::GET, Some(&at)).await;
    // Cognito answers 401 invalid_token here, not RFC 6750's 403 insufficient_scope.
    assert_eq!(reply.status, 401);
    assert_eq!(reply.error(), "invalid_token");
    let challenge = reply.header("www-authenticate");
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert!(!challenge.contains("scope="), "{challenge}");

    // A client-credentials token has no user and no openid either.
    let tokens = oauth(&fx, "backend")
        .exchange_client_credentials()
        .request_async(&http_client)
        .await
        .expect("client credentials");
    let reply = userinfo(&fx, Method::GET, Some(tokens.access_token().secret())).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.error(), "invalid_token");
}

#[tokio::test]
async fn bad_expired_and_missing_tokens_are_401() {
    let fx = start().await;
    let at = user_access_token(&fx, "web", "alice", &["openid", "email"]).await;

    let forged = fx
        .issuer
        .access_token()
        .client("web")
        .user("alice")
        .scopes(["openid"])
        .forge(tokengate::mock::Forgery::TamperedSignature)
        .sign()
        .expect("forged");
    for token in [forged.as_str(), "garbage"] {
        let reply = userinfo(&fx, Method::GET, Some(token)).await;
        assert_eq!(reply.status, 401, "{token}");
        assert_eq!(reply.error(), "invalid_token");
        assert!(
            reply
                .header("www-authenticate")
                .contains("error=\"invalid_token\"")
        );
    }

    let reply = userinfo(&fx, Method::GET, None).await;
    assert_eq!(reply.status, 401);
    let challenge = reply.header("www-authenticate");
    assert!(challenge.starts_with("Bearer realm="), "{challenge}");
    assert!(
        !challenge.contains("error="),
        "no error code without a token: {challenge}"
    );

    // The token in the body is not read (as Cognito: header only).
    let reply = post_form(
        &fx.issuer.userinfo_endpoint(),
        Auth::None,
        &[("access_token", &at)],
    )
    .await;
    assert_eq!(reply.status, 401);

    // Another scheme is a malformed request.
    let reply = reqwest::Client::new()
        .get(fx.issuer.userinfo_endpoint())
        .basic_auth("alice", Some("alice-password"))
        .send()
        .await
        .expect("answers");
    assert_eq!(reply.status(), 400);

    fx.clock.advance(3600);
    let reply = userinfo(&fx, Method::GET, Some(&at)).await;
    assert_eq!(reply.status, 401, "expired");
    assert_eq!(reply.error(), "invalid_token");
}
