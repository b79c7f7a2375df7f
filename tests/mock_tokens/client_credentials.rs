//! The client credentials grant through the `oauth2` crate, and client authentication.

use oauth2::basic::BasicErrorResponseType;
use oauth2::{AuthType, Scope, TokenResponse as _};

use crate::{Auth, check_access, http_client, oauth, post_form, server_error, start};

#[tokio::test]
async fn custom_scopes_only_and_no_user_claims() {
    let fx = start().await;
    let tokens = oauth(&fx, "backend")
        .exchange_client_credentials()
        .add_scope(Scope::new("api/read".into()))
        .request_async(&http_client)
        .await
        .expect("client credentials succeed");
    assert!(tokens.refresh_token().is_none());
    assert_eq!(tokens.expires_in().map(|d| d.as_secs()), Some(3600));
    let claims = check_access(&fx, "backend", tokens.access_token().secret()).await;
    assert_eq!(claims.scopes().iter().collect::<Vec<_>>(), ["api/read"]);
    assert_eq!(claims.client_id(), Some("backend"));
    assert_eq!(claims.subject(), Some("backend"));
    assert_eq!(claims.username(), None);
    assert!(
        claims.custom().get("aud").is_none(),
        "Cognito access tokens have no aud"
    );
}

#[tokio::test]
async fn no_scope_asked_means_every_custom_scope_of_the_client() {
    let fx = start().await;
    let tokens = oauth(&fx, "backend")
        .exchange_client_credentials()
        .request_async(&http_client)
        .await
        .expect("client credentials succeed");
    let claims = check_access(&fx, "backend", tokens.access_token().secret()).await;
    // `openid` is among the client's scopes but is not a custom scope.
    assert_eq!(
        claims.scopes().iter().collect::<Vec<_>>(),
        ["api/read", "api/write"]
    );
}

#[tokio::test]
async fn openid_is_refused_as_invalid_scope() {
    let fx = start().await;
    let err = oauth(&fx, "backend")
        .exchange_client_credentials()
        .add_scope(Scope::new("openid".into()))
        .add_scope(Scope::new("api/read".into()))
        .request_async(&http_client)
        .await
        .map_err(server_error)
        .expect_err("openid is not a custom scope");
    assert_eq!(err, BasicErrorResponseType::InvalidScope);
}

#[tokio::test]
async fn a_public_client_is_unauthorized() {
    let fx = start().await;
    // A public client cannot even be configured for client credentials (see
    // mock_fidelity.rs); one without the grant is refused it.
    let err = oauth(&fx, "spa")
        .exchange_client_credentials()
        .request_async(&http_client)
        .await
        .map_err(server_error)
        .expect_err("a public client has no credentials");
    assert_eq!(err, BasicErrorResponseType::UnauthorizedClient);
}

#[tokio::test]
async fn a_wrong_secret_by_basic_is_401_with_a_basic_challenge() {
    let fx = start().await;
    let reply = post_form(
        &fx.issuer.token_endpoint(),
        Auth::Basic("backend", "wrong"),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.error(), "invalid_client");
    assert!(reply.header("www-authenticate").starts_with("Basic "));

    // The same through the oauth2 crate.
    let err = oauth(&fx, "backend")
        .set_client_secret(oauth2::ClientSecret::new("wrong".into()))
        .exchange_client_credentials()
        .request_async(&http_client)
        .await
        .map_err(server_error)
        .expect_err("wrong secret");
    assert_eq!(err, BasicErrorResponseType::InvalidClient);
}

#[tokio::test]
async fn a_wrong_secret_in_the_body_is_400_without_challenge() {
    let fx = start().await;
    let reply = post_form(
        &fx.issuer.token_endpoint(),
        Auth::None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "backend"),
            ("client_secret", "wrong"),
        ],
    )
    .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.error(), "invalid_client");
    assert!(reply.headers.get("www-authenticate").is_none());

    // The right secret in the body (client_secret_post) works, through the oauth2 crate.
    let tokens = oauth(&fx, "backend")
        .set_auth_type(AuthType::RequestBody)
        .exchange_client_credentials()
        .request_async(&http_client)
        .await
        .expect("client_secret_post works");
    check_access(&fx, "backend", tokens.access_token().secret()).await;
}

#[tokio::test]
async fn both_authentication_methods_at_once_are_invalid_request() {
    let fx = start().await;
    let reply = post_form(
        &fx.issuer.token_endpoint(),
        Auth::Basic("backend", "backend-secret"),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "backend"),
            ("client_secret", "backend-secret"),
        ],
    )
    .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.error(), "invalid_request");
}
