//! The authorization code grant's refusals, seen by the `oauth2` crate: `invalid_grant` for
//! every PKCE failure, replay, another client's code, a redirect mismatch, an expired code.

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use oauth2::{AuthorizationCode, PkceCodeChallenge, PkceCodeVerifier, TokenResponse as _};
use tokengate::ManualClock;

use super::*;

/// A browser with alice signed in (through the bare `/login` page).
async fn signed_in(issuer: &MockIssuer) -> Browser {
    let browser = Browser::new();
    let login = browser.get(&issuer.login_url()).await;
    let page = browser
        .submit_login(issuer, &login, "alice", "alice-password")
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(browser.has_cookie(issuer.session_cookie_name()));
    browser
}

/// BASE64URL(SHA-256(verifier)), computed here whatever the verifier looks like.
fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()))
}

/// A code for `client_id` and `redirect_uri`, with this S256 challenge if any.
async fn code(
    issuer: &MockIssuer,
    browser: &Browser,
    client_id: &str,
    redirect_uri: &str,
    challenge: Option<&PkceCodeChallenge>,
) -> String {
    code_with(
        issuer,
        browser,
        client_id,
        redirect_uri,
        challenge.map(PkceCodeChallenge::as_str),
    )
    .await
}

/// A code for `client_id` and `redirect_uri`, with this S256 challenge if any.
async fn code_with(
    issuer: &MockIssuer,
    browser: &Browser,
    client_id: &str,
    redirect_uri: &str,
    challenge: Option<&str>,
) -> String {
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("scope", "openid api/read"),
    ];
    if let Some(challenge) = challenge {
        params.push(("code_challenge", challenge));
        params.push(("code_challenge_method", "S256"));
    }
    let location = browser
        .get(&authorize_url(issuer, &params))
        .await
        .redirect();
    let (base, query, _) = split_url(&location);
    assert_eq!(base, redirect_uri);
    query.get("code").cloned().expect("a code")
}

async fn exchange(
    client: &OidcClient,
    code: &str,
    verifier: Option<PkceCodeVerifier>,
) -> Result<OidcTokenResponse, String> {
    let request = client.exchange_code(AuthorizationCode::new(code.to_owned()));
    let request = match verifier {
        Some(verifier) => request.set_pkce_verifier(verifier),
        None => request,
    };
    request
        .request_async(&oauth_client::http_client)
        .await
        .map_err(|e| error_code(&e))
}

fn web(issuer: &MockIssuer) -> OidcClient {
    oauth_client(issuer, "web", Some(WEB_SECRET), CALLBACK)
}

fn copy(verifier: &PkceCodeVerifier) -> PkceCodeVerifier {
    PkceCodeVerifier::new(verifier.secret().clone())
}

#[tokio::test]
async fn a_wrong_verifier_is_invalid_grant_and_burns_the_code() {
    let issuer = start().await;
    let browser = signed_in(&issuer).await;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let code = code(&issuer, &browser, "web", CALLBACK, Some(&challenge)).await;
    let (_, wrong) = PkceCodeChallenge::new_random_sha256();
    assert_eq!(
        exchange(&web(&issuer), &code, Some(wrong))
            .await
            .unwrap_err(),
        "invalid_grant"
    );
    // Consumed on first use, even by a failed exchange.
    assert_eq!(
        exchange(&web(&issuer), &code, Some(verifier))
            .await
            .unwrap_err(),
        "invalid_grant"
    );
}

#[tokio::test]
async fn short_long_or_malformed_verifiers_are_invalid_grant() {
    let issuer = start().await;
    let browser = signed_in(&issuer).await;
    for bad in [
        "short".to_owned(),
        "a".repeat(42),
        "a".repeat(129),
        format!("{}+", "a".repeat(43)),
        format!("{} ", "a".repeat(43)),
    ] {
        // Even a challenge made from the bad verifier does not make it acceptable.
        let challenge = s256(&bad);
        let code = code_with(&issuer, &browser, "web", CALLBACK, Some(&challenge)).await;
        assert_eq!(
            exchange(
                &web(&issuer),
                &code,
                Some(PkceCodeVerifier::new(bad.clone()))
            )
            .await
            .unwrap_err(),
            "invalid_grant",
            "{bad:?}"
        );
    }
    // The longest valid verifier, 128 characters of the unreserved set, works.
    let longest = "aZ09-._~".repeat(16);
    let code = code_with(&issuer, &browser, "web", CALLBACK, Some(&s256(&longest))).await;
    let verifier = PkceCodeVerifier::new(longest);
    exchange(&web(&issuer), &code, Some(verifier))
        .await
        .expect("valid verifier");
}

#[tokio::test]
async fn a_missing_verifier_is_invalid_grant() {
    let issuer = start().await;
    let browser = signed_in(&issuer).await;
    let (challenge, _) = PkceCodeChallenge::new_random_sha256();
    let code = code(&issuer, &browser, "web", CALLBACK, Some(&challenge)).await;
    assert_eq!(
        exchange(&web(&issuer), &code, None).await.unwrap_err(),
        "invalid_grant"
    );
}

#[tokio::test]
async fn a_verifier_for_a_code_without_challenge_is_invalid_grant() {
    let issuer = start().await;
    let browser = signed_in(&issuer).await;
    let code = code(&issuer, &browser, "web", CALLBACK, None).await;
    let (_, verifier) = PkceCodeChallenge::new_random_sha256();
    assert_eq!(
        exchange(&web(&issuer), &code, Some(verifier))
            .await
            .unwrap_err(),
        "invalid_grant"
    );
}

#[tokio::test]
async fn a_replayed_code_is_invalid_grant() {
    let issuer = start().await;
    let browser = signed_in(&issuer).await;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let code = code(&issuer, &browser, "web", CALLBACK, Some(&challenge)).await;
    let tokens = exchange(&web(&issuer), &code, Some(copy(&verifier)))
        .await
        .expect("first use");
    assert!(tokens.refresh_token().is_some());
    assert_eq!(
        exchange(&web(&issuer), &code, Some(verifier))
            .await
            .unwrap_err(),
        "invalid_grant"
    );
}

#[tokio::test]
async fn another_clients_code_is_invalid_grant() {
    let issuer = start().await;
    let browser = signed_in(&issuer).await;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let code = code(&issuer, &browser, "web", CALLBACK, Some(&challenge)).await;
    let other = oauth_client(&issuer, "other", Some("other-secret"), CALLBACK);
    assert_eq!(
        exchange(&other, &code, Some(copy(&verifier)))
            .await
            .unwrap_err(),
        "invalid_grant"
    );
    // A public client naming the confidential one cannot redeem it either: its
    // authentication fails first.
    let public = oauth_client(&issuer, "web", None, CALLBACK);
    assert_eq!(
        exchange(&public, &code, Some(verifier)).await.unwrap_err(),
        "invalid_client"
    );
}

#[tokio::test]
async fn a_redirect_uri_mismatch_is_invalid_grant() {
    let issuer = start().await;
    let browser = signed_in(&issuer).await;
    let first = code(&issuer, &browser, "web", CALLBACK, None).await;
    let elsewhere = oauth_client(&issuer, "web", Some(WEB_SECRET), OTHER_CALLBACK);
    assert_eq!(
        exchange(&elsewhere, &first, None).await.unwrap_err(),
        "invalid_grant"
    );
    let trailing = oauth_client(
        &issuer,
        "web",
        Some(WEB_SECRET),
        "http://localhost:3000/callback/",
    );
    let second = code(&issuer, &browser, "web", CALLBACK, None).await;
    assert_eq!(
        exchange(&trailing, &second, None).await.unwrap_err(),
        "invalid_grant"
    );
}

#[tokio::test]
async fn a_missing_redirect_uri_is_invalid_request_and_leaves_the_code() {
    let issuer = start().await;
    let browser = signed_in(&issuer).await;
    let code = code(&issuer, &browser, "web", CALLBACK, None).await;
    let http = reqwest::Client::new();
    let response = http
        .post(issuer.token_endpoint())
        .basic_auth("web", Some(WEB_SECRET))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_encode(&[
            ("grant_type".into(), "authorization_code".into()),
            ("code".into(), code.clone()),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(body["error"], "invalid_request");
    exchange(&web(&issuer), &code, None)
        .await
        .expect("the malformed request did not use the code");
}

#[tokio::test]
async fn an_unknown_code_is_invalid_grant() {
    let issuer = start().await;
    assert_eq!(
        exchange(&web(&issuer), "no-such-code", None)
            .await
            .unwrap_err(),
        "invalid_grant"
    );
}

#[tokio::test]
async fn codes_expire_after_five_minutes() {
    let clock = ManualClock::starting_now();
    let issuer = builder().clock(clock.clone()).start().await.unwrap();
    let browser = signed_in(&issuer).await;

    let fresh = code(&issuer, &browser, "web", CALLBACK, None).await;
    clock.advance(299);
    exchange(&web(&issuer), &fresh, None)
        .await
        .expect("still valid at 299 s");

    let stale = code(&issuer, &browser, "web", CALLBACK, None).await;
    clock.advance(300);
    assert_eq!(
        exchange(&web(&issuer), &stale, None).await.unwrap_err(),
        "invalid_grant"
    );
}
