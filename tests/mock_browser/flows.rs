//! The happy paths: code flow with PKCE through the hosted form and the `oauth2` crate,
//! tokens checked by tokengate; the session; the implicit flow.

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use oauth2::{AuthorizationCode, CsrfToken, PkceCodeChallenge, Scope, TokenResponse as _};
use serde::Deserialize;
use tokengate::{Profile, TokenUse};

use super::*;

#[derive(Debug, Deserialize)]
struct IdExtra {
    nonce: Option<String>,
    at_hash: Option<String>,
    email: Option<String>,
    name: Option<String>,
}

fn at_hash(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(&digest(&SHA256, access_token.as_bytes()).as_ref()[..16])
}

#[tokio::test]
async fn code_flow_with_pkce_through_the_hosted_form_and_the_oauth2_crate() {
    let issuer = start().await;
    let client = oauth_client(&issuer, "web", Some(WEB_SECRET), CALLBACK);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("openid".into()))
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("api/read".into()))
        .add_extra_param("nonce", "n-0S6_WzA2Mj")
        .set_pkce_challenge(challenge)
        .url();

    let browser = Browser::new();
    // Not signed in: the hosted page, with the same query.
    let to_login = browser.get(url.as_str()).await.redirect();
    let (login_base, login_query, _) = split_url(&to_login);
    assert_eq!(login_base, issuer.login_url());
    assert_eq!(login_query, split_url(url.as_str()).1);

    // The form: a CSRF token and the request as hidden fields, then sign in.
    let login = browser.get(&to_login).await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(
        login
            .body
            .contains("<form method=\"post\" action=\"/login\">")
    );
    assert!(login.input("csrf").is_some_and(|t| t.len() >= 20));
    assert_eq!(
        login.input("state").as_deref(),
        Some(csrf.secret().as_str())
    );
    assert_eq!(login.input("client_id").as_deref(), Some("web"));
    let signed_in = browser
        .submit_login(&issuer, &login, "alice", "alice-password")
        .await;
    assert!(signed_in.set_cookies().iter().any(|c| {
        c.starts_with(&format!("{}=", issuer.session_cookie_name())) && c.contains("HttpOnly")
    }));
    let back = signed_in.redirect();
    assert_eq!(split_url(&back).1, split_url(url.as_str()).1);

    // Signed in: back to authorize, which issues the code.
    let callback = browser.get(&back).await.redirect();
    let (base, query, fragment) = split_url(&callback);
    assert_eq!(base, CALLBACK);
    assert!(fragment.is_empty());
    assert_eq!(query.get("state"), Some(csrf.secret()));
    let code = query.get("code").expect("a code").clone();

    // The real client library exchanges it (client_secret_basic, PKCE verifier).
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&oauth_client::http_client)
        .await
        .expect("the code is exchanged");
    assert_eq!(tokens.token_type(), &BasicTokenType::Bearer);
    assert_eq!(tokens.expires_in().map(|d| d.as_secs()), Some(3600));
    assert!(
        tokens.refresh_token().is_some(),
        "the code grant has a refresh token"
    );
    let access = tokens.access_token().secret();
    let id_token = tokens
        .extra_fields()
        .id_token
        .clone()
        .expect("an ID token (openid)");

    // tokengate accepts both.
    let access_authorizer = issuer
        .authorizer(Profile::cognito_access())
        .unwrap()
        .client_id("web")
        .build()
        .expect("valid authorizer settings");
    let claims = access_authorizer
        .authorize::<()>(access)
        .await
        .expect("valid access token");
    assert_eq!(claims.token_use(), Some(TokenUse::Access));
    assert_eq!(claims.client_id(), Some("web"));
    assert_eq!(claims.username(), Some("alice"));
    assert_eq!(
        claims.audience().count(),
        0,
        "Cognito access tokens have no aud"
    );
    assert!(
        claims
            .scopes()
            .contains_all(["openid", "email", "profile", "api/read"])
    );
    assert!(claims.groups().contains("admins"));
    let auth_time = claims.auth_time().expect("auth_time");

    let id_authorizer = issuer
        .authorizer(Profile::cognito_id())
        .unwrap()
        .client_id("web")
        .build()
        .expect("valid authorizer settings");
    let id = id_authorizer
        .authorize::<IdExtra>(&id_token)
        .await
        .expect("valid ID token");
    assert_eq!(id.token_use(), Some(TokenUse::Id));
    assert_eq!(id.audience().collect::<Vec<_>>(), ["web"]);
    assert_eq!(id.username(), Some("alice"));
    assert_eq!(id.auth_time(), Some(auth_time));
    assert_eq!(id.custom().nonce.as_deref(), Some("n-0S6_WzA2Mj"));
    assert_eq!(
        id.custom().at_hash.as_deref(),
        Some(at_hash(access).as_str())
    );
    assert_eq!(id.custom().email.as_deref(), Some("alice@example.com"));
    assert_eq!(id.custom().name.as_deref(), Some("Alice"));

    // An ID token is not an access token, and belongs to its client only.
    assert!(access_authorizer.authorize::<()>(&id_token).await.is_err());
    let other = issuer
        .authorizer(Profile::cognito_id())
        .unwrap()
        .client_id("spa")
        .build()
        .expect("valid authorizer settings");
    assert!(other.authorize::<()>(&id_token).await.is_err());
}

#[tokio::test]
async fn a_signed_in_browser_gets_a_code_without_the_form() {
    let issuer = start().await;
    let browser = Browser::new();
    let first = authorize_url(
        &issuer,
        &[
            ("response_type", "code"),
            ("client_id", "web"),
            ("redirect_uri", CALLBACK),
            ("state", "one"),
        ],
    );
    let callback = browser.sign_in_through(&issuer, &first).await;
    assert_eq!(
        split_url(&callback).1.get("state").map(String::as_str),
        Some("one")
    );

    let second = authorize_url(
        &issuer,
        &[
            ("response_type", "code"),
            ("client_id", "web"),
            ("redirect_uri", OTHER_CALLBACK),
            ("state", "two"),
        ],
    );
    let callback = browser.get(&second).await.redirect();
    let (base, query, _) = split_url(&callback);
    assert_eq!(base, OTHER_CALLBACK);
    assert_eq!(query.get("state").map(String::as_str), Some("two"));
    assert!(query.contains_key("code"));

    // Another browser has no session.
    let stranger = Browser::new().get(&second).await.redirect();
    assert!(stranger.starts_with(&issuer.login_url()), "{stranger}");
}

#[tokio::test]
async fn a_public_client_uses_pkce_and_no_secret() {
    let issuer = start().await;
    let client = oauth_client(&issuer, "spa", None, SPA_CALLBACK);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("openid".into()))
        .add_scope(Scope::new("api/read".into()))
        .set_pkce_challenge(challenge)
        .url();
    let callback = Browser::new().sign_in_through(&issuer, url.as_str()).await;
    let (base, query, _) = split_url(&callback);
    assert_eq!(base, SPA_CALLBACK);
    assert_eq!(query.get("state"), Some(csrf.secret()));
    let tokens = client
        .exchange_code(AuthorizationCode::new(query["code"].clone()))
        .set_pkce_verifier(verifier)
        .request_async(&oauth_client::http_client)
        .await
        .expect("the public client exchanges its code");
    let claims = issuer
        .authorizer(Profile::cognito_access())
        .unwrap()
        .client_id("spa")
        .build()
        .expect("valid authorizer settings")
        .authorize::<()>(tokens.access_token().secret())
        .await
        .expect("valid access token");
    assert!(claims.scopes().contains_all(["openid", "api/read"]));
    assert!(!claims.scopes().contains("email"));
    // No nonce was asked: none in the ID token.
    let id = issuer
        .authorizer(Profile::cognito_id())
        .unwrap()
        .client_id("spa")
        .build()
        .expect("valid authorizer settings")
        .authorize::<IdExtra>(tokens.extra_fields().id_token.as_deref().expect("ID token"))
        .await
        .expect("valid ID token");
    assert!(id.custom().nonce.is_none());
}

#[tokio::test]
async fn pkce_is_optional_and_without_openid_there_is_no_id_token() {
    let issuer = start().await;
    let client = oauth_client(&issuer, "web", Some(WEB_SECRET), CALLBACK);
    let (url, _) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("api/read".into()))
        .url();
    let callback = Browser::new().sign_in_through(&issuer, url.as_str()).await;
    let code = split_url(&callback).1["code"].clone();
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .request_async(&oauth_client::http_client)
        .await
        .expect("exchanged without PKCE");
    assert!(tokens.extra_fields().id_token.is_none());
    assert!(tokens.refresh_token().is_some());
    let claims = issuer
        .authorizer(Profile::cognito_access())
        .unwrap()
        .client_id("web")
        .build()
        .expect("valid authorizer settings")
        .authorize::<()>(tokens.access_token().secret())
        .await
        .expect("valid");
    assert_eq!(claims.scopes().iter().collect::<Vec<_>>(), ["api/read"]);
}

#[tokio::test]
async fn no_scope_asked_grants_every_scope_of_the_client() {
    let issuer = start().await;
    let client = oauth_client(&issuer, "web", Some(WEB_SECRET), CALLBACK);
    let (url, _) = client.authorize_url(CsrfToken::new_random).url();
    let callback = Browser::new().sign_in_through(&issuer, url.as_str()).await;
    let tokens = client
        .exchange_code(AuthorizationCode::new(
            split_url(&callback).1["code"].clone(),
        ))
        .request_async(&oauth_client::http_client)
        .await
        .expect("exchanged");
    assert!(tokens.extra_fields().id_token.is_some());
    let claims = issuer
        .authorizer(Profile::cognito_access())
        .unwrap()
        .client_id("web")
        .build()
        .expect("valid authorizer settings")
        .authorize::<()>(tokens.access_token().secret())
        .await
        .expect("valid");
    assert!(
        claims
            .scopes()
            .contains_all(["openid", "email", "profile", "api/read"])
    );
}

#[tokio::test]
async fn state_with_every_awkward_character_comes_back_intact() {
    let issuer = start().await;
    let state = "a b+c&d=e#f/g?h%20i\"j'k<l>é☃";
    let url = authorize_url(
        &issuer,
        &[
            ("response_type", "code"),
            ("client_id", "web"),
            ("redirect_uri", CALLBACK),
            ("state", state),
        ],
    );
    let callback = Browser::new().sign_in_through(&issuer, &url).await;
    assert!(!callback.contains(' ') && !callback.contains('"') && !callback.contains('<'));
    let (base, query, fragment) = split_url(&callback);
    assert_eq!(base, CALLBACK);
    assert!(
        fragment.is_empty(),
        "the # in the state is encoded: {callback}"
    );
    assert_eq!(query.get("state").map(String::as_str), Some(state));
    assert_eq!(query.len(), 2);
}

#[tokio::test]
async fn implicit_flow_puts_tokens_in_the_fragment_and_never_a_refresh_token() {
    let issuer = start().await;
    let url = authorize_url(
        &issuer,
        &[
            ("response_type", "token"),
            ("client_id", "spa"),
            ("redirect_uri", SPA_CALLBACK),
            ("scope", "openid email api/read"),
            ("state", "st&te"),
            ("nonce", "implicit-nonce"),
        ],
    );
    let browser = Browser::new();
    let callback = browser.sign_in_through(&issuer, &url).await;
    let (base, query, fragment) = split_url(&callback);
    assert_eq!(base, SPA_CALLBACK);
    assert!(query.is_empty(), "nothing in the query: {callback}");
    assert_eq!(
        fragment.get("token_type").map(String::as_str),
        Some("bearer")
    );
    assert_eq!(fragment.get("expires_in").map(String::as_str), Some("3600"));
    assert_eq!(fragment.get("state").map(String::as_str), Some("st&te"));
    assert!(!fragment.contains_key("refresh_token"));
    assert!(!fragment.contains_key("code"));
    let access = &fragment["access_token"];
    let claims = issuer
        .authorizer(Profile::cognito_access())
        .unwrap()
        .client_id("spa")
        .build()
        .expect("valid authorizer settings")
        .authorize::<()>(access)
        .await
        .expect("valid access token");
    assert!(
        claims
            .scopes()
            .contains_all(["openid", "email", "api/read"])
    );
    let id = issuer
        .authorizer(Profile::cognito_id())
        .unwrap()
        .client_id("spa")
        .build()
        .expect("valid authorizer settings")
        .authorize::<IdExtra>(&fragment["id_token"])
        .await
        .expect("valid ID token");
    assert_eq!(id.custom().nonce.as_deref(), Some("implicit-nonce"));
    assert_eq!(
        id.custom().at_hash.as_deref(),
        Some(at_hash(access).as_str())
    );

    // Without openid: an access token only.
    let url = authorize_url(
        &issuer,
        &[
            ("response_type", "token"),
            ("client_id", "spa"),
            ("redirect_uri", SPA_CALLBACK),
            ("scope", "api/read"),
        ],
    );
    let callback = browser.get(&url).await.redirect();
    let (_, _, fragment) = split_url(&callback);
    assert!(fragment.contains_key("access_token"));
    assert!(!fragment.contains_key("id_token"));
    assert!(!fragment.contains_key("state"));
}

#[tokio::test]
async fn redirects_carrying_codes_or_tokens_are_not_cached() {
    let issuer = start().await;
    let url = authorize_url(
        &issuer,
        &[
            ("response_type", "code"),
            ("client_id", "web"),
            ("redirect_uri", CALLBACK),
        ],
    );
    let browser = Browser::new();
    browser.sign_in_through(&issuer, &url).await;
    let page = browser.get(&url).await;
    assert_eq!(page.header("cache-control"), Some("no-store"));
}
