//! The refresh token grant: what carries over, `scope` ignored (as Cognito), rotation and
//! reuse detection.

use oauth2::TokenResponse as _;
use oauth2::basic::BasicErrorResponseType;
use serde_json::json;
use tokengate::Clock as _;

use crate::{Auth, check_access, check_id, introspect, post_form, refresh_with, sign_in, start};

#[tokio::test]
async fn keeps_auth_time_and_origin_jti_and_does_not_rotate_by_default() {
    let fx = start().await;
    let signed_in_at = fx.clock.now_unix();
    let rt = sign_in(&fx, "web", "alice", &["openid", "email", "api/read"]);

    fx.clock.advance(600);
    let first = refresh_with(&fx, "web", &rt).await.expect("first refresh");
    assert!(first.refresh_token().is_none(), "no rotation by default");
    fx.clock.advance(600);
    let second = refresh_with(&fx, "web", &rt)
        .await
        .expect("the same token again");
    assert!(second.refresh_token().is_none());

    let a = check_access(&fx, "web", first.access_token().secret()).await;
    let b = check_access(&fx, "web", second.access_token().secret()).await;
    assert_eq!(a.auth_time(), Some(signed_in_at));
    assert_eq!(b.auth_time(), Some(signed_in_at));
    assert_eq!(b.issued_at(), Some(signed_in_at + 1200));
    assert_eq!(a.username(), Some("alice"));
    assert_eq!(a.client_id(), Some("web"));
    assert!(a.custom()["origin_jti"].is_string());
    assert_eq!(a.custom()["origin_jti"], b.custom()["origin_jti"]);
    assert_ne!(a.jwt_id(), b.jwt_id());
    assert_eq!(
        a.scopes().iter().collect::<Vec<_>>(),
        ["openid", "email", "api/read"]
    );
}

#[tokio::test]
async fn an_id_token_comes_only_with_openid() {
    let fx = start().await;
    let signed_in_at = fx.clock.now_unix();
    let rt = sign_in(&fx, "web", "alice", &["openid", "email", "api/read"]);
    fx.clock.advance(60);
    let reply = post_form(
        &fx.issuer.token_endpoint(),
        Auth::Basic("web", "web-secret"),
        &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json["token_type"], "Bearer");
    assert!(reply.json.get("refresh_token").is_none());
    let id = check_id(
        &fx,
        "web",
        reply.json["id_token"].as_str().expect("an ID token"),
    )
    .await;
    let access = check_access(&fx, "web", reply.json["access_token"].as_str().expect("AT")).await;
    assert_eq!(id.auth_time(), Some(signed_in_at));
    assert_eq!(id.custom()["origin_jti"], access.custom()["origin_jti"]);
    assert_eq!(id.custom()["cognito:username"], "alice");
    assert_eq!(id.custom()["email"], "alice@example.com");

    // A refresh whose sign-in had no `openid` has no ID token.
    let rt = sign_in(&fx, "web", "alice", &["api/read"]);
    let reply = post_form(
        &fx.issuer.token_endpoint(),
        Auth::Basic("web", "web-secret"),
        &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(reply.json.get("id_token").is_none());
    let access = check_access(&fx, "web", reply.json["access_token"].as_str().expect("AT")).await;
    assert_eq!(access.scopes().iter().collect::<Vec<_>>(), ["api/read"]);
}

#[tokio::test]
async fn scope_is_ignored_as_cognito_ignores_it() {
    let fx = start().await;
    let rt = sign_in(&fx, "web", "alice", &["openid", "email", "api/read"]);
    // Narrower, wider, unknown or malformed: Cognito documents `scope` for client credentials
    // only, and a refresh answers the original scopes whatever is asked.
    for scope in [
        "api/read",
        "api/write",
        "openid api/write",
        "no/such",
        "\"bad\"",
    ] {
        let reply = post_form(
            &fx.issuer.token_endpoint(),
            Auth::Basic("web", "web-secret"),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &rt),
                ("scope", scope),
            ],
        )
        .await;
        assert_eq!(reply.status, 200, "{scope}: {}", reply.text);
        assert!(reply.json.get("id_token").is_some(), "{scope}");
        let access =
            check_access(&fx, "web", reply.json["access_token"].as_str().expect("AT")).await;
        assert_eq!(
            access.scopes().iter().collect::<Vec<_>>(),
            ["openid", "email", "api/read"],
            "{scope}"
        );
    }
}

#[tokio::test]
async fn unknown_missing_and_expired_refresh_tokens_are_refused() {
    let fx = start().await;
    let err = refresh_with(&fx, "web", "no-such-token")
        .await
        .expect_err("unknown");
    assert_eq!(err, BasicErrorResponseType::InvalidGrant);

    let reply = post_form(
        &fx.issuer.token_endpoint(),
        Auth::Basic("web", "web-secret"),
        &[("grant_type", "refresh_token")],
    )
    .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.error(), "invalid_request");

    let rt = sign_in(&fx, "web", "alice", &["openid"]);
    fx.clock.advance(30 * 86_400 - 1);
    refresh_with(&fx, "web", &rt)
        .await
        .expect("valid to the last second");
    fx.clock.advance(1);
    let err = refresh_with(&fx, "web", &rt).await.expect_err("expired");
    assert_eq!(err, BasicErrorResponseType::InvalidGrant);
}

#[tokio::test]
async fn another_clients_refresh_token_is_refused_and_not_revoked() {
    let fx = start().await;
    let rt = sign_in(&fx, "web", "alice", &["openid", "api/read"]);
    for thief in ["other", "spa"] {
        let err = refresh_with(&fx, thief, &rt)
            .await
            .expect_err("not its token");
        assert_eq!(err, BasicErrorResponseType::InvalidGrant, "{thief}");
    }
    let tokens = refresh_with(&fx, "web", &rt)
        .await
        .expect("the owner still refreshes");
    check_access(&fx, "web", tokens.access_token().secret()).await;
}

#[tokio::test]
async fn a_public_client_refreshes_with_its_client_id_alone() {
    let fx = start().await;
    let rt = sign_in(&fx, "spa", "bob", &["openid", "email"]);
    let tokens = refresh_with(&fx, "spa", &rt).await.expect("public refresh");
    let claims = check_access(&fx, "spa", tokens.access_token().secret()).await;
    assert_eq!(claims.username(), Some("bob"));
}

#[tokio::test]
async fn rotation_with_grace_then_reuse_revokes_the_family() {
    let fx = start().await;
    let rt0 = sign_in(&fx, "rotating", "alice", &["openid", "api/read"]);

    let first = refresh_with(&fx, "rotating", &rt0)
        .await
        .expect("first use");
    let rt1 = first
        .refresh_token()
        .expect("rotation issues a new one")
        .secret()
        .clone();
    assert_ne!(rt1, rt0);
    let at1 = first.access_token().secret().clone();
    let a1 = check_access(&fx, "rotating", &at1).await;

    // Within the grace period the old token still works (a retry after a lost response).
    fx.clock.advance(9);
    let retry = refresh_with(&fx, "rotating", &rt0)
        .await
        .expect("within the grace period");
    let rt2 = retry
        .refresh_token()
        .expect("another rotation")
        .secret()
        .clone();
    assert_ne!(rt2, rt1);
    let a2 = check_access(&fx, "rotating", retry.access_token().secret()).await;
    assert_eq!(a1.custom()["origin_jti"], a2.custom()["origin_jti"]);

    // The new token is a normal, active refresh token with the original scope.
    let seen = post_form(
        &fx.issuer.introspection_endpoint(),
        Auth::Basic("rotating", "rotating-secret"),
        &[("token", &rt1)],
    )
    .await;
    assert_eq!(seen.json["active"], true, "{}", seen.text);
    assert_eq!(seen.json["scope"], "openid api/read");

    // After the grace period, the old token is reuse: everything of the family dies.
    fx.clock.advance(1);
    let err = refresh_with(&fx, "rotating", &rt0)
        .await
        .expect_err("reuse");
    assert_eq!(err, BasicErrorResponseType::InvalidGrant);
    for rt in [&rt0, &rt1, &rt2] {
        let err = refresh_with(&fx, "rotating", rt)
            .await
            .expect_err("family revoked");
        assert_eq!(err, BasicErrorResponseType::InvalidGrant);
    }
    assert_eq!(introspect(&fx, &at1).await, json!({"active": false}));
}

#[tokio::test]
async fn rotation_without_grace_chains_and_detects_immediate_reuse() {
    let fx = start().await;
    let mut rt = sign_in(&fx, "strict", "bob", &["openid"]);
    let original = rt.clone();
    for _ in 0..3 {
        let tokens = refresh_with(&fx, "strict", &rt)
            .await
            .expect("the latest token works");
        rt = tokens.refresh_token().expect("rotated").secret().clone();
    }
    let err = refresh_with(&fx, "strict", &original)
        .await
        .expect_err("reuse, no grace");
    assert_eq!(err, BasicErrorResponseType::InvalidGrant);
    let err = refresh_with(&fx, "strict", &rt)
        .await
        .expect_err("the family is revoked");
    assert_eq!(err, BasicErrorResponseType::InvalidGrant);
}

#[tokio::test]
async fn a_refresh_with_rotation_keeps_the_original_scope_on_the_new_token() {
    let fx = start().await;
    let rt = sign_in(&fx, "rotating", "alice", &["openid", "email", "api/read"]);
    let reply = post_form(
        &fx.issuer.token_endpoint(),
        Auth::Basic("rotating", "rotating-secret"),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt),
            ("scope", "api/read"),
        ],
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let new = reply.json["refresh_token"].as_str().expect("rotated");
    let tokens = refresh_with(&fx, "rotating", new)
        .await
        .expect("new token works");
    let claims = check_access(&fx, "rotating", tokens.access_token().secret()).await;
    assert_eq!(
        claims.scopes().iter().collect::<Vec<_>>(),
        ["openid", "email", "api/read"]
    );
}
