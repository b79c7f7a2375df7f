//! `/oauth2/authorize` refusals: a page (never a redirect) when the client or redirect URI
//! cannot be trusted, else an error redirect with the state.

use super::*;

fn code_request<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", "web"),
        ("redirect_uri", CALLBACK),
        ("state", "xyz"),
    ];
    for (name, value) in extra {
        params.retain(|(n, _)| n != name);
        params.push((name, value));
    }
    params
}

/// The error redirect of an authorization request: `(base, error, state)`, from the query or
/// the fragment.
async fn error_of(
    issuer: &MockIssuer,
    params: &[(&str, &str)],
    fragment: bool,
) -> (String, String, Option<String>) {
    let page = Browser::new().get(&authorize_url(issuer, params)).await;
    let location = page.redirect();
    let (base, query, frag) = split_url(&location);
    let params = if fragment {
        assert!(query.is_empty(), "{location}");
        frag
    } else {
        assert!(frag.is_empty(), "{location}");
        query
    };
    assert!(!params.contains_key("code") && !params.contains_key("access_token"));
    (
        base,
        params.get("error").cloned().expect("an error"),
        params.get("state").cloned(),
    )
}

#[tokio::test]
async fn unknown_client_is_a_page_never_a_redirect() {
    let issuer = start().await;
    let page = Browser::new()
        .get(&authorize_url(
            &issuer,
            &code_request(&[("client_id", "nobody")]),
        ))
        .await;
    page.assert_error_page(StatusCode::BAD_REQUEST);
    let page = Browser::new()
        .get(&authorize_url(
            &issuer,
            &[("response_type", "code"), ("redirect_uri", CALLBACK)],
        ))
        .await;
    page.assert_error_page(StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn unregistered_or_missing_redirect_uri_is_a_page_never_a_redirect() {
    let issuer = start().await;
    for uri in [
        "https://evil.example/callback",
        "http://localhost:3000/callback/",
        "http://localhost:3000/callbackx",
        "http://localhost:3000/callback?x=1",
        "http://localhost:3000/callback#x",
        "http://LOCALHOST:3000/callback",
        "http://localhost:3000/callback/../evil",
        "//evil.example/callback",
        SPA_CALLBACK, // registered, but for another client
    ] {
        let page = Browser::new()
            .get(&authorize_url(
                &issuer,
                &code_request(&[("redirect_uri", uri)]),
            ))
            .await;
        page.assert_error_page(StatusCode::BAD_REQUEST);
    }
    let mut params = code_request(&[]);
    params.retain(|(n, _)| *n != "redirect_uri");
    Browser::new()
        .get(&authorize_url(&issuer, &params))
        .await
        .assert_error_page(StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn repeated_or_malformed_parameters_are_a_page() {
    let issuer = start().await;
    let base = authorize_url(&issuer, &code_request(&[]));
    Browser::new()
        .get(&format!(
            "{base}&redirect_uri=https%3A%2F%2Fevil.example%2F"
        ))
        .await
        .assert_error_page(StatusCode::BAD_REQUEST);
    Browser::new()
        .get(&format!("{base}&state=again"))
        .await
        .assert_error_page(StatusCode::BAD_REQUEST);
    Browser::new()
        .get(&format!("{base}&scope=%ff"))
        .await
        .assert_error_page(StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn error_pages_escape_what_they_echo() {
    let issuer = start().await;
    let page = Browser::new()
        .get(&authorize_url(
            &issuer,
            &code_request(&[("client_id", "<script>alert(1)</script>")]),
        ))
        .await;
    page.assert_error_page(StatusCode::BAD_REQUEST);
    assert!(!page.body.contains("<script>"), "{}", page.body);
    assert!(page.body.contains("&lt;script&gt;"));
    let page = Browser::new()
        .get(&authorize_url(
            &issuer,
            &code_request(&[("redirect_uri", "javascript:\"><img src=x onerror=alert(1)>")]),
        ))
        .await;
    page.assert_error_page(StatusCode::BAD_REQUEST);
    assert!(!page.body.contains("<img"), "{}", page.body);
    assert!(page.header("content-security-policy").is_some());
}

#[tokio::test]
async fn plain_pkce_is_invalid_request() {
    let issuer = start().await;
    let challenge = "a".repeat(43);
    let (base, error, state) = error_of(
        &issuer,
        &code_request(&[
            ("code_challenge", &challenge),
            ("code_challenge_method", "plain"),
        ]),
        false,
    )
    .await;
    assert_eq!(
        (base.as_str(), error.as_str()),
        (CALLBACK, "invalid_request")
    );
    assert_eq!(state.as_deref(), Some("xyz"));
    // No method means plain (RFC 7636 §4.3).
    let (_, error, _) = error_of(
        &issuer,
        &code_request(&[("code_challenge", &challenge)]),
        false,
    )
    .await;
    assert_eq!(error, "invalid_request");
    let (_, error, _) = error_of(
        &issuer,
        &code_request(&[
            ("code_challenge", &challenge),
            ("code_challenge_method", "S512"),
        ]),
        false,
    )
    .await;
    assert_eq!(error, "invalid_request");
    let (_, error, _) = error_of(
        &issuer,
        &code_request(&[("code_challenge_method", "S256")]),
        false,
    )
    .await;
    assert_eq!(error, "invalid_request");
}

#[tokio::test]
async fn malformed_challenges_are_invalid_request() {
    let issuer = start().await;
    let short = "a".repeat(42);
    let long = "a".repeat(129);
    let padded = format!("{}=", "a".repeat(43));
    let plus = format!("{}+/", "a".repeat(43));
    for challenge in [
        short.as_str(),
        long.as_str(),
        padded.as_str(),
        plus.as_str(),
    ] {
        let (_, error, _) = error_of(
            &issuer,
            &code_request(&[
                ("code_challenge", challenge),
                ("code_challenge_method", "S256"),
            ]),
            false,
        )
        .await;
        assert_eq!(error, "invalid_request", "{challenge}");
    }
}

#[tokio::test]
async fn response_type_errors() {
    let issuer = start().await;
    let (_, error, state) = error_of(
        &issuer,
        &code_request(&[("response_type", "id_token")]),
        false,
    )
    .await;
    assert_eq!(error, "unsupported_response_type");
    assert_eq!(state.as_deref(), Some("xyz"));
    let (_, error, _) = error_of(
        &issuer,
        &code_request(&[("response_type", "code token")]),
        false,
    )
    .await;
    assert_eq!(error, "unsupported_response_type");
    let mut params = code_request(&[]);
    params.retain(|(n, _)| *n != "response_type");
    let (_, error, _) = error_of(&issuer, &params, false).await;
    assert_eq!(error, "invalid_request");
}

#[tokio::test]
async fn a_client_without_the_grant_is_unauthorized_client() {
    let issuer = start().await;
    // `web` may not use the implicit flow: the error goes in the fragment.
    let (base, error, state) =
        error_of(&issuer, &code_request(&[("response_type", "token")]), true).await;
    assert_eq!(base, CALLBACK);
    assert_eq!(error, "unauthorized_client");
    assert_eq!(state.as_deref(), Some("xyz"));
    // PKCE with the implicit flow makes no sense.
    let challenge = "a".repeat(43);
    let (_, error, _) = error_of(
        &issuer,
        &[
            ("response_type", "token"),
            ("client_id", "spa"),
            ("redirect_uri", SPA_CALLBACK),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
        true,
    )
    .await;
    assert_eq!(error, "invalid_request");
}

#[tokio::test]
async fn scope_errors_are_invalid_scope() {
    let issuer = start().await;
    for scope in [
        "api/write",
        "openid admin",
        "email",
        "aws.cognito.signin.user.admin",
        "a\"b",
    ] {
        let (_, error, state) = error_of(&issuer, &code_request(&[("scope", scope)]), false).await;
        assert_eq!(error, "invalid_scope", "{scope}");
        assert_eq!(state.as_deref(), Some("xyz"));
    }
    let (_, error, _) = error_of(
        &issuer,
        &[
            ("response_type", "token"),
            ("client_id", "spa"),
            ("redirect_uri", SPA_CALLBACK),
            ("scope", "profile openid"),
        ],
        true,
    )
    .await;
    assert_eq!(error, "invalid_scope");
}

#[tokio::test]
async fn errors_come_before_the_sign_in_and_also_for_a_signed_in_browser() {
    let issuer = start().await;
    let browser = Browser::new();
    browser
        .sign_in_through(&issuer, &authorize_url(&issuer, &code_request(&[])))
        .await;
    let page = browser
        .get(&authorize_url(
            &issuer,
            &code_request(&[("scope", "api/write")]),
        ))
        .await;
    let (_, query, _) = split_url(&page.redirect());
    assert_eq!(
        query.get("error").map(String::as_str),
        Some("invalid_scope")
    );
    assert!(!query.contains_key("code"));
}
