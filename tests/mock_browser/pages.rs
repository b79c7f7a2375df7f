//! The hosted pages: escaping, CSRF, wrong credentials, `next`, `/logout`.

use super::*;

fn web_request<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
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

/// `/login?<params>`.
fn login_url(issuer: &MockIssuer, params: &[(&str, &str)]) -> String {
    let mut url = Url::parse(&issuer.login_url()).unwrap();
    url.query_pairs_mut().extend_pairs(params.iter().copied());
    url.to_string()
}

fn logout_url(issuer: &MockIssuer, params: &[(&str, &str)]) -> String {
    let mut url = Url::parse(&issuer.logout_endpoint()).unwrap();
    url.query_pairs_mut().extend_pairs(params.iter().copied());
    url.to_string()
}

#[tokio::test]
async fn reflected_parameters_are_escaped_on_the_login_page() {
    let issuer = start().await;
    let state = "\"><script>alert('state')</script>";
    let nonce = "</form><script>alert(1)</script><input value='";
    let url = authorize_url(
        &issuer,
        &web_request(&[("state", state), ("nonce", nonce), ("scope", "openid")]),
    );
    let browser = Browser::new();
    let login = browser.get(&browser.get(&url).await.redirect()).await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(!login.body.contains("<script>"), "{}", login.body);
    assert_eq!(login.body.matches("</form>").count(), 1, "{}", login.body);
    assert!(login.body.contains("&lt;script&gt;"));
    assert_eq!(login.body.matches("<form").count(), 1);
    assert_eq!(login.header("cache-control"), Some("no-store"));
    assert!(
        login.header("content-security-policy").is_some_and(
            |c| c.contains("default-src 'none'") && c.contains("frame-ancestors 'none'")
        )
    );
    // The values survive escaping: the state comes back exactly.
    assert_eq!(login.input("state").as_deref(), Some(state));
    assert_eq!(login.input("nonce").as_deref(), Some(nonce));
    let signed_in = browser
        .submit_login(&issuer, &login, "alice", "alice-password")
        .await;
    let callback = browser.get(&signed_in.redirect()).await.redirect();
    assert_eq!(
        split_url(&callback).1.get("state").map(String::as_str),
        Some(state)
    );

    // And the user name echoed after a failed sign-in.
    let login = browser.get(&login_url(&issuer, &web_request(&[]))).await;
    let failed = browser
        .submit_login(&issuer, &login, "<img src=x onerror=alert(1)>", "nope")
        .await;
    assert_eq!(failed.status, StatusCode::UNAUTHORIZED);
    assert!(!failed.body.contains("<img"), "{}", failed.body);
    assert_eq!(
        failed.input("username").as_deref(),
        Some("<img src=x onerror=alert(1)>")
    );
}

#[tokio::test]
async fn a_missing_forged_or_reused_csrf_token_is_refused() {
    let issuer = start().await;
    let browser = Browser::new();
    let login = browser.get(&login_url(&issuer, &web_request(&[]))).await;
    let fields = |csrf: Option<&str>| {
        let mut fields: Vec<(String, String)> = login
            .inputs()
            .into_iter()
            .filter(|(n, _)| n != "csrf" && n != "username" && n != "password")
            .collect();
        if let Some(csrf) = csrf {
            fields.push(("csrf".into(), csrf.into()));
        }
        fields.push(("username".into(), "alice".into()));
        fields.push(("password".into(), "alice-password".into()));
        fields
    };
    for csrf in [None, Some("forged-token"), Some("")] {
        let page = browser.post_form(&issuer.login_url(), &fields(csrf)).await;
        page.assert_error_page(StatusCode::BAD_REQUEST);
        assert!(page.set_cookies().is_empty());
    }
    let token = login.input("csrf").unwrap();
    let first = browser
        .post_form(&issuer.login_url(), &fields(Some(&token)))
        .await;
    assert_eq!(first.status, StatusCode::FOUND);
    let reused = Browser::new()
        .post_form(&issuer.login_url(), &fields(Some(&token)))
        .await;
    reused.assert_error_page(StatusCode::BAD_REQUEST);
    assert!(reused.set_cookies().is_empty());
}

#[tokio::test]
async fn a_failed_sign_in_is_401_with_a_fresh_form_and_no_session() {
    let issuer = start().await;
    let url = authorize_url(&issuer, &web_request(&[]));
    let browser = Browser::new();
    let login = browser.get(&browser.get(&url).await.redirect()).await;
    let first_csrf = login.input("csrf").unwrap();
    for (user, password) in [
        ("alice", "wrong"),
        ("mallory", "alice-password"),
        ("alice", ""),
    ] {
        let login = browser.get(&login_url(&issuer, &web_request(&[]))).await;
        let failed = browser.submit_login(&issuer, &login, user, password).await;
        assert_eq!(failed.status, StatusCode::UNAUTHORIZED);
        assert!(failed.location().is_none());
        assert!(failed.set_cookies().is_empty());
        assert!(failed.body.contains("Incorrect user name or password"));
        let fresh = failed.input("csrf").unwrap();
        assert_ne!(fresh, first_csrf);
        assert_ne!(Some(fresh), login.input("csrf"));
        assert_eq!(failed.input("state").as_deref(), Some("xyz"));
        assert_eq!(failed.input("client_id").as_deref(), Some("web"));
    }
    assert!(!browser.has_cookie(issuer.session_cookie_name()));
    // Still no session: authorize sends the browser to the form again, no code.
    let again = browser.get(&url).await.redirect();
    assert!(again.starts_with(&issuer.login_url()), "{again}");
    // The re-rendered form works.
    let failed = browser
        .submit_login(&issuer, &login, "alice", "wrong")
        .await;
    let ok = browser
        .submit_login(&issuer, &failed, "alice", "alice-password")
        .await;
    let callback = browser.get(&ok.redirect()).await.redirect();
    assert!(split_url(&callback).1.contains_key("code"));
}

#[tokio::test]
async fn the_login_page_refuses_unknown_clients_and_redirect_uris() {
    let issuer = start().await;
    let browser = Browser::new();
    for params in [
        web_request(&[("client_id", "nobody")]),
        web_request(&[("redirect_uri", "https://evil.example/callback")]),
        vec![("redirect_uri", CALLBACK), ("response_type", "code")],
        vec![("client_id", "web"), ("response_type", "code")],
    ] {
        browser
            .get(&login_url(&issuer, &params))
            .await
            .assert_error_page(StatusCode::BAD_REQUEST);
    }
    // Nor can a form be made to carry a swapped redirect URI.
    let login = browser.get(&login_url(&issuer, &web_request(&[]))).await;
    let mut fields: Vec<(String, String)> = login
        .inputs()
        .into_iter()
        .filter(|(n, _)| !["redirect_uri", "username", "password"].contains(&n.as_str()))
        .collect();
    fields.push(("redirect_uri".into(), "https://evil.example/".into()));
    fields.push(("username".into(), "alice".into()));
    fields.push(("password".into(), "alice-password".into()));
    let page = browser.post_form(&issuer.login_url(), &fields).await;
    page.assert_error_page(StatusCode::BAD_REQUEST);
    assert!(page.set_cookies().is_empty());
}

#[tokio::test]
async fn a_bare_sign_in_sets_the_session_and_says_so() {
    let issuer = start().await;
    let browser = Browser::new();
    let login = browser.get(&issuer.login_url()).await;
    assert_eq!(login.input("client_id"), None);
    let page = browser
        .submit_login(&issuer, &login, "alice", "alice-password")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Signed in as alice"));
    assert!(browser.has_cookie(issuer.session_cookie_name()));
}

#[tokio::test]
async fn next_leads_to_the_device_page_only() {
    let issuer = start().await;
    let browser = Browser::new();
    let login = browser
        .get(&format!(
            "{}?next=/device%3Fuser_code%3DABCD-EFGH",
            issuer.login_url()
        ))
        .await;
    assert_eq!(
        login.input("next").as_deref(),
        Some("/device?user_code=ABCD-EFGH")
    );
    let signed_in = browser
        .submit_login(&issuer, &login, "alice", "alice-password")
        .await;
    assert_eq!(
        signed_in.redirect(),
        format!("{}?user_code=ABCD-EFGH", issuer.device_verification_uri())
    );
    assert!(browser.has_cookie(issuer.session_cookie_name()));

    let plain = browser
        .get(&login_url(&issuer, &[("next", "/device")]))
        .await;
    let signed_in = browser
        .submit_login(&issuer, &plain, "alice", "alice-password")
        .await;
    assert_eq!(signed_in.redirect(), issuer.device_verification_uri());

    for evil in [
        "https://evil.example/device",
        "//evil.example/device",
        "/\\evil.example",
        "/devices",
        "/device/../_admin",
        "/_admin/clients",
        "device",
        "/device?\r\nLocation: https://evil.example/",
        "javascript:alert(1)",
    ] {
        let fresh = Browser::new();
        fresh
            .get(&login_url(&issuer, &[("next", evil)]))
            .await
            .assert_error_page(StatusCode::BAD_REQUEST);
        // A form posted with a valid CSRF token but a swapped `next` is refused too.
        let login = fresh.get(&issuer.login_url()).await;
        let mut fields = login.inputs();
        fields.retain(|(n, _)| n == "csrf");
        fields.push(("next".into(), evil.into()));
        fields.push(("username".into(), "alice".into()));
        fields.push(("password".into(), "alice-password".into()));
        let page = fresh.post_form(&issuer.login_url(), &fields).await;
        page.assert_error_page(StatusCode::BAD_REQUEST);
        assert!(page.set_cookies().is_empty(), "{evil}");
    }
}

#[tokio::test]
async fn logout_to_a_registered_logout_uri_ends_the_session() {
    let issuer = start().await;
    let browser = Browser::new();
    let url = authorize_url(&issuer, &web_request(&[]));
    browser.sign_in_through(&issuer, &url).await;
    assert!(browser.has_cookie(issuer.session_cookie_name()));

    let out = browser
        .get(&logout_url(
            &issuer,
            &[("client_id", "web"), ("logout_uri", SIGNED_OUT)],
        ))
        .await;
    assert_eq!(out.redirect(), SIGNED_OUT);
    assert!(out.set_cookies().iter().any(|c| {
        c.starts_with(&format!("{}=;", issuer.session_cookie_name())) && c.contains("Max-Age=0")
    }));
    assert!(!browser.has_cookie(issuer.session_cookie_name()));
    let again = browser.get(&url).await.redirect();
    assert!(
        again.starts_with(&issuer.login_url()),
        "signed out: {again}"
    );
}

#[tokio::test]
async fn the_old_session_cookie_is_dead_after_logout() {
    let issuer = start().await;
    let browser = Browser::new();
    let url = authorize_url(&issuer, &web_request(&[]));
    let signed_in_cookie = {
        let to_login = browser.get(&url).await.redirect();
        let login = browser.get(&to_login).await;
        let page = browser
            .submit_login(&issuer, &login, "alice", "alice-password")
            .await;
        page.set_cookies()[0].split(';').next().unwrap().to_owned()
    };
    browser
        .get(&logout_url(
            &issuer,
            &[("client_id", "web"), ("logout_uri", SIGNED_OUT)],
        ))
        .await
        .redirect();
    // A browser that kept the cookie anyway is not signed in.
    let replay = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(&url)
        .header("cookie", signed_in_cookie)
        .send()
        .await
        .unwrap();
    let location = replay.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&issuer.login_url()), "{location}");
}

#[tokio::test]
async fn logout_with_redirect_uri_goes_back_to_the_sign_in_page() {
    let issuer = start().await;
    let browser = Browser::new();
    browser
        .sign_in_through(&issuer, &authorize_url(&issuer, &web_request(&[])))
        .await;
    let params = [
        ("client_id", "web"),
        ("redirect_uri", CALLBACK),
        ("response_type", "code"),
        ("state", "after-logout"),
    ];
    let out = browser.get(&logout_url(&issuer, &params)).await;
    let location = out.redirect();
    let (base, query, _) = split_url(&location);
    assert_eq!(base, issuer.login_url());
    assert_eq!(query.get("state").map(String::as_str), Some("after-logout"));
    assert_eq!(
        query.get("redirect_uri").map(String::as_str),
        Some(CALLBACK)
    );
    assert!(!browser.has_cookie(issuer.session_cookie_name()));
    // The page it lands on is a working sign-in form for the same request.
    let login = browser.get(&location).await;
    let ok = browser
        .submit_login(&issuer, &login, "alice", "alice-password")
        .await;
    let callback = browser.get(&ok.redirect()).await.redirect();
    let (base, query, _) = split_url(&callback);
    assert_eq!(base, CALLBACK);
    assert_eq!(query.get("state").map(String::as_str), Some("after-logout"));
}

#[tokio::test]
async fn logout_never_redirects_to_an_unregistered_url() {
    let issuer = start().await;
    let browser = Browser::new();
    let url = authorize_url(&issuer, &web_request(&[]));
    browser.sign_in_through(&issuer, &url).await;
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![
            ("client_id", "web"),
            ("logout_uri", "https://evil.example/"),
        ],
        vec![
            ("client_id", "web"),
            ("logout_uri", "http://localhost:3000/signed-out/../evil"),
        ],
        vec![
            ("client_id", "web"),
            ("logout_uri", "http://localhost:3000/signed-outx"),
        ],
        vec![("client_id", "web"), ("logout_uri", "//evil.example")],
        // A redirect URI is not a sign-out URL, and vice versa.
        vec![("client_id", "web"), ("logout_uri", CALLBACK)],
        vec![
            ("client_id", "web"),
            ("redirect_uri", SIGNED_OUT),
            ("response_type", "code"),
        ],
        vec![
            ("client_id", "web"),
            ("redirect_uri", "https://evil.example/"),
            ("response_type", "code"),
        ],
        vec![("client_id", "web"), ("redirect_uri", CALLBACK)],
        vec![
            ("client_id", "web"),
            ("redirect_uri", CALLBACK),
            ("response_type", "id_token"),
        ],
        vec![
            ("client_id", "web"),
            ("logout_uri", SIGNED_OUT),
            ("redirect_uri", CALLBACK),
            ("response_type", "code"),
        ],
        // Registered for another client.
        vec![("client_id", "other"), ("logout_uri", SIGNED_OUT)],
        vec![("client_id", "nobody"), ("logout_uri", SIGNED_OUT)],
        vec![("logout_uri", SIGNED_OUT)],
        vec![("client_id", "web")],
        vec![],
    ];
    for params in &cases {
        let page = browser.get(&logout_url(&issuer, params)).await;
        page.assert_error_page(StatusCode::BAD_REQUEST);
        assert!(page.set_cookies().is_empty(), "{params:?}");
    }
    let page = browser
        .get(&format!(
            "{}?client_id=web&logout_uri={}&logout_uri=https%3A%2F%2Fevil.example%2F",
            issuer.logout_endpoint(),
            SIGNED_OUT
        ))
        .await;
    page.assert_error_page(StatusCode::BAD_REQUEST);
    // The session survived every refusal.
    let callback = browser.get(&url).await.redirect();
    assert!(callback.starts_with(CALLBACK), "{callback}");
}
