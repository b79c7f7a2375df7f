//! `/oauth2/revoke`: refresh tokens and everything issued from them.
//!
//! The `oauth2` crate refuses to revoke over plain HTTP (RFC 7009 §2 requires TLS), so these
//! requests are built by hand.

use oauth2::TokenResponse as _;
use oauth2::basic::BasicErrorResponseType;
use reqwest::Method;
use serde_json::json;

use crate::{Auth, introspect, post_form, refresh_with, secret_of, sign_in, start, userinfo};

/// Revokes `token` as `client_id` (Basic for a confidential client, `client_id` in the body
/// for a public one); the error code on failure.
async fn revoke_with(fx: &crate::Fixture, client_id: &str, token: &str) -> Result<(), String> {
    let url = fx.issuer.revocation_endpoint();
    let reply = match secret_of(client_id) {
        Some(secret) => post_form(&url, Auth::Basic(client_id, &secret), &[("token", token)]).await,
        None => {
            post_form(
                &url,
                Auth::None,
                &[("token", token), ("client_id", client_id)],
            )
            .await
        }
    };
    if reply.status == 200 {
        assert!(reply.text.is_empty(), "an empty body: {:?}", reply.text);
        Ok(())
    } else {
        assert_eq!(reply.status, 400, "{}", reply.text);
        Err(reply.error().to_owned())
    }
}

#[tokio::test]
async fn revoking_a_refresh_token_kills_it_and_the_tokens_issued_from_it() {
    let fx = start().await;
    let rt = sign_in(&fx, "web", "alice", &["openid", "email"]);
    let tokens = refresh_with(&fx, "web", &rt).await.expect("refresh");
    let at = tokens.access_token().secret().clone();
    assert_eq!(userinfo(&fx, Method::GET, Some(&at)).await.status, 200);
    assert_eq!(introspect(&fx, &at).await["active"], true);

    let reply = post_form(
        &fx.issuer.revocation_endpoint(),
        Auth::Basic("web", "web-secret"),
        &[("token", &rt), ("token_type_hint", "refresh_token")],
    )
    .await;
    assert_eq!(reply.status, 200);
    assert!(reply.text.is_empty(), "an empty body: {:?}", reply.text);

    let err = refresh_with(&fx, "web", &rt).await.expect_err("revoked");
    assert_eq!(err, BasicErrorResponseType::InvalidGrant);
    assert_eq!(introspect(&fx, &at).await, json!({"active": false}));
    let seen = post_form(
        &fx.issuer.introspection_endpoint(),
        Auth::Basic("web", "web-secret"),
        &[("token", &rt)],
    )
    .await;
    assert_eq!(seen.json, json!({"active": false}));
    let denied = userinfo(&fx, Method::GET, Some(&at)).await;
    assert_eq!(denied.status, 401);
    assert!(
        denied
            .header("www-authenticate")
            .contains("error=\"invalid_token\"")
    );

    // Revoking again: the token is unknown now, still 200.
    revoke_with(&fx, "web", &rt).await.expect("idempotent");
}

#[tokio::test]
async fn a_public_client_revokes_and_unknown_tokens_are_fine() {
    let fx = start().await;
    let rt = sign_in(&fx, "spa", "bob", &["openid"]);
    revoke_with(&fx, "spa", &rt)
        .await
        .expect("a public client revokes its own token");
    let err = refresh_with(&fx, "spa", &rt).await.expect_err("revoked");
    assert_eq!(err, BasicErrorResponseType::InvalidGrant);

    revoke_with(&fx, "web", "never-issued")
        .await
        .expect("an unknown token is 200 too");
}

#[tokio::test]
async fn access_and_id_tokens_are_an_unsupported_token_type() {
    let fx = start().await;
    let rt = sign_in(&fx, "web", "alice", &["openid"]);
    let reply = post_form(
        &fx.issuer.token_endpoint(),
        Auth::Basic("web", "web-secret"),
        &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
    )
    .await;
    let at = reply.json["access_token"].as_str().expect("AT").to_owned();
    let id = reply.json["id_token"].as_str().expect("ID").to_owned();

    let err = revoke_with(&fx, "web", &at)
        .await
        .expect_err("access tokens are not revocable");
    assert_eq!(err, "unsupported_token_type");
    let reply = post_form(
        &fx.issuer.revocation_endpoint(),
        Auth::Basic("web", "web-secret"),
        &[("token", &id)],
    )
    .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.error(), "unsupported_token_type");

    // Nothing was revoked.
    assert_eq!(introspect(&fx, &at).await["active"], true);
    refresh_with(&fx, "web", &rt).await.expect("still works");
}

#[tokio::test]
async fn another_clients_refresh_token_is_refused_and_left_alone() {
    let fx = start().await;
    let rt = sign_in(&fx, "web", "alice", &["openid"]);
    let err = revoke_with(&fx, "other", &rt)
        .await
        .expect_err("not its token");
    assert_eq!(err, "unauthorized_client");
    refresh_with(&fx, "web", &rt)
        .await
        .expect("the owner's token still works");
}

#[tokio::test]
async fn client_authentication_and_parameters_are_checked() {
    let fx = start().await;
    let rt = sign_in(&fx, "web", "alice", &["openid"]);
    let url = fx.issuer.revocation_endpoint();

    let reply = post_form(&url, Auth::Basic("web", "wrong"), &[("token", &rt)]).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.error(), "invalid_client");
    assert!(reply.header("www-authenticate").starts_with("Basic "));

    let reply = post_form(
        &url,
        Auth::None,
        &[
            ("token", &rt),
            ("client_id", "web"),
            ("client_secret", "wrong"),
        ],
    )
    .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.error(), "invalid_client");

    let reply = post_form(&url, Auth::None, &[("token", &rt)]).await;
    assert_eq!(reply.error(), "invalid_client", "no client at all");

    let reply = post_form(&url, Auth::Basic("web", "web-secret"), &[]).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.error(), "invalid_request");

    refresh_with(&fx, "web", &rt)
        .await
        .expect("nothing was revoked");
}
