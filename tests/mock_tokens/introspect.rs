//! `/oauth2/introspect` (RFC 7662): active tokens, and `{"active": false}` for everything else.

use oauth2::{Scope, TokenResponse as _};
use serde_json::json;
use tokengate::mock::Forgery;

use crate::{
    Auth, http_client, introspect, oauth, payload, post_form, refresh_with, sign_in, start,
    user_access_token,
};

#[tokio::test]
async fn a_valid_client_credentials_access_token() {
    let fx = start().await;
    let tokens = oauth(&fx, "backend")
        .exchange_client_credentials()
        .add_scope(Scope::new("api/write".into()))
        .request_async(&http_client)
        .await
        .expect("client credentials");
    let at = tokens.access_token().secret();
    let claims = payload(at);
    let seen = introspect(&fx, at).await;
    assert_eq!(
        seen,
        json!({
            "active": true,
            "scope": "api/write",
            "client_id": "backend",
            "token_type": "Bearer",
            "exp": claims["exp"],
            "iat": claims["iat"],
            "sub": "backend",
            "iss": fx.issuer.issuer(),
            "jti": claims["jti"],
            "token_use": "access",
        })
    );
}

#[tokio::test]
async fn a_valid_user_access_token_names_the_user() {
    let fx = start().await;
    let at = user_access_token(&fx, "web", "alice", &["openid", "api/read"]).await;
    let seen = introspect(&fx, &at).await;
    assert_eq!(seen["active"], true);
    assert_eq!(seen["username"], "alice");
    assert_eq!(seen["client_id"], "web");
    assert_eq!(seen["sub"], "8f2c1e4a-0000-4000-8000-00000000a11c");
    assert_eq!(seen["scope"], "openid api/read");
    assert_eq!(seen["token_type"], "Bearer");
}

#[tokio::test]
async fn an_expired_access_token_is_inactive() {
    let fx = start().await;
    let at = user_access_token(&fx, "web", "alice", &["openid"]).await;
    fx.clock.advance(3599);
    assert_eq!(introspect(&fx, &at).await["active"], true);
    fx.clock.advance(1);
    assert_eq!(introspect(&fx, &at).await, json!({"active": false}));

    let minted = fx
        .issuer
        .access_token()
        .client("web")
        .user("alice")
        .expired()
        .sign()
        .expect("minted");
    assert_eq!(introspect(&fx, &minted).await, json!({"active": false}));
}

#[tokio::test]
async fn forged_malformed_and_id_tokens_are_inactive() {
    let fx = start().await;
    let mut tokens = Vec::new();
    for forgery in [
        Forgery::AlgNone,
        Forgery::Hs256WithPublicKey,
        Forgery::UnknownKid,
        Forgery::TamperedSignature,
    ] {
        tokens.push(
            fx.issuer
                .access_token()
                .client("web")
                .user("alice")
                .forge(forgery)
                .sign()
                .expect("forged"),
        );
    }
    tokens.push(
        fx.issuer
            .access_token()
            .client("web")
            .claim("iss", "https://elsewhere.example")
            .sign()
            .expect("minted"),
    );
    tokens.push(
        fx.issuer
            .id_token()
            .client("web")
            .user("alice")
            .sign()
            .expect("ID token"),
    );
    tokens.push("not-a-token".into());
    tokens.push("a.b.c".into());
    for token in &tokens {
        assert_eq!(
            introspect(&fx, token).await,
            json!({"active": false}),
            "{token}"
        );
    }
    // A well-made token minted the same way is active.
    let good = fx
        .issuer
        .access_token()
        .client("web")
        .user("alice")
        .sign()
        .expect("minted");
    assert_eq!(introspect(&fx, &good).await["active"], true);
}

#[tokio::test]
async fn refresh_tokens_are_active_for_their_own_client_only() {
    let fx = start().await;
    let rt = sign_in(&fx, "web", "alice", &["openid", "email"]);
    let signed_in = payload(
        refresh_with(&fx, "web", &rt)
            .await
            .expect("refresh")
            .access_token()
            .secret(),
    )["auth_time"]
        .as_u64()
        .expect("auth_time");
    let reply = post_form(
        &fx.issuer.introspection_endpoint(),
        Auth::None,
        &[
            ("token", &rt),
            ("client_id", "web"),
            ("client_secret", "web-secret"),
        ],
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json,
        json!({
            "active": true,
            "client_id": "web",
            "username": "alice",
            "scope": "openid email",
            "exp": signed_in + 30 * 86_400,
            "token_type": "refresh_token",
        })
    );
    // Another client (the resource server) sees nothing.
    assert_eq!(introspect(&fx, &rt).await, json!({"active": false}));
    // Expired.
    fx.clock.advance(30 * 86_400);
    let reply = post_form(
        &fx.issuer.introspection_endpoint(),
        Auth::Basic("web", "web-secret"),
        &[("token", &rt)],
    )
    .await;
    assert_eq!(reply.json, json!({"active": false}));
}

#[tokio::test]
async fn the_caller_must_be_an_authenticated_confidential_client() {
    let fx = start().await;
    let at = user_access_token(&fx, "web", "alice", &["openid"]).await;
    let url = fx.issuer.introspection_endpoint();

    let reply = post_form(&url, Auth::None, &[("token", &at), ("client_id", "spa")]).await;
    assert_eq!(reply.status, 401, "a public client: {}", reply.text);
    assert_eq!(reply.error(), "invalid_client");

    let reply = post_form(&url, Auth::Basic("resource", "wrong"), &[("token", &at)]).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.error(), "invalid_client");
    assert!(reply.header("www-authenticate").starts_with("Basic "));

    let reply = post_form(&url, Auth::None, &[("token", &at)]).await;
    assert_eq!(reply.error(), "invalid_client");

    let reply = post_form(&url, Auth::Basic("resource", "resource-secret"), &[]).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.error(), "invalid_request");
}
