//! The mock's request capture: what a client sent (query, headers, form body) is in the
//! request log for a test to assert, and no credential it sent is — not in the Rust API, not
//! in its `Debug` text, not in the admin API's answer.
#![cfg(all(feature = "mock", feature = "axum"))]

#[path = "support/e2e.rs"]
mod e2e;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE};
use serde_json::Value;
use tokengate::mock::{MockIssuer, RecordedRequest};

use e2e::{
    ACCESS_TOKEN_TYPE, ALICE_PASSWORD, EXCHANGE_GRANT, WEB_CALLBACK, client_credentials, http,
    post_form, refresh,
};

const REDACTED: &str = RecordedRequest::REDACTED;
const ADMIN_TOKEN: &str = "admin-token-7f3a9c";
const ASSERTION: &str = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJjbGllbnQtYXNzZXJ0aW9uIn0.c2lnbmF0dXJl";

fn basic(client_id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{client_id}:{secret}")))
}

/// The recorded requests to `path` whose form has `field` = `value`.
fn sent<'a>(
    requests: &'a [RecordedRequest],
    path: &str,
    field: &str,
    value: &str,
) -> Vec<&'a RecordedRequest> {
    requests
        .iter()
        .filter(|r| r.path() == path && r.form_field(field) == Some(value))
        .collect()
}

#[tokio::test]
async fn no_credential_a_client_sends_reaches_the_request_log() {
    let issuer = MockIssuer::demo()
        .admin_token(ADMIN_TOKEN)
        .start()
        .await
        .expect("the mock starts");
    let client = http();
    let token_endpoint = issuer.token_endpoint();

    // Signing in (password and CSRF token in the form), then a session cookie, a code and a
    // PKCE verifier, a confidential client's Basic credentials.
    let cookie = issuer
        .sign_in("alice", ALICE_PASSWORD)
        .await
        .expect("signed in");
    let web = issuer
        .code_flow("demo-web")
        .session(cookie.clone())
        .scopes(["openid", "api/read"])
        .pkce()
        .run()
        .await
        .expect("tokens");
    let id_token = web.id_token.clone().expect("an ID token");
    let refresh_token = web.refresh_token.clone().expect("a refresh token");
    // A public client through the form.
    let spa = issuer
        .code_flow("demo-spa")
        .user("alice", ALICE_PASSWORD)
        .scopes(["openid"])
        .pkce()
        .run()
        .await
        .expect("tokens");
    let refreshed = refresh(&issuer, "demo-web", &refresh_token, None).await;
    // A secret in the body (client_secret_post), and a client assertion.
    let (_, backend_post) = post_form(
        &client,
        &token_endpoint,
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "demo-backend"),
            ("client_secret", "demo-backend-secret"),
        ],
    )
    .await;
    post_form(
        &client,
        &token_endpoint,
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "demo-backend"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", ASSERTION),
        ],
    )
    .await;
    let backend = client_credentials(&client, &issuer, "demo-backend", None).await;
    // Token exchange on behalf of alice, the backend as actor.
    let (status, exchanged) = post_form(
        &client,
        &token_endpoint,
        Some(("demo-exchange", "demo-exchange-secret")),
        &[
            ("grant_type", EXCHANGE_GRANT),
            ("subject_token", &web.access_token),
            ("subject_token_type", ACCESS_TOKEN_TYPE),
            ("actor_token", &backend.access_token),
            ("actor_token_type", ACCESS_TOKEN_TYPE),
            ("scope", "api/read"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{exchanged}");
    // Tokens presented to userInfo (header and body), introspection and revocation.
    let userinfo = client
        .get(issuer.userinfo_endpoint())
        .header(AUTHORIZATION, format!("Bearer {}", spa.access_token))
        .send()
        .await
        .expect("userInfo answers");
    assert_eq!(userinfo.status(), 200);
    post_form(
        &client,
        &issuer.userinfo_endpoint(),
        None,
        &[("access_token", &refreshed.access_token)],
    )
    .await;
    post_form(
        &client,
        &issuer.introspection_endpoint(),
        Some(("demo-web", "demo-web-secret")),
        &[("token", &web.access_token)],
    )
    .await;
    post_form(
        &client,
        &issuer.revocation_endpoint(),
        Some(("demo-web", "demo-web-secret")),
        &[("token", &refresh_token)],
    )
    .await;
    // An access token in a query (RFC 6750 §2.3) and an ID token at logout.
    client
        .get(format!(
            "{}?access_token={}",
            issuer.userinfo_endpoint(),
            backend.access_token
        ))
        .send()
        .await
        .expect("userInfo answers");
    client
        .get(format!(
            "{}?client_id=demo-web&logout_uri=http%3A%2F%2Flocalhost%3A8000%2F&id_token_hint={id_token}",
            issuer.logout_endpoint()
        ))
        .header(COOKIE, &cookie)
        .send()
        .await
        .expect("logout answers");
    // The admin API, with its token, serving the log.
    let admin = client
        .get(format!("{}/_admin/requests", issuer.url()))
        .header(AUTHORIZATION, format!("Bearer {ADMIN_TOKEN}"))
        .send()
        .await
        .expect("the admin API answers");
    assert_eq!(admin.status(), 200);
    let admin_text = admin.text().await.expect("a body");
    let admin_log: Value = serde_json::from_str(&admin_text).expect("JSON");

    let requests = issuer.requests();
    let session_value = cookie.split_once('=').expect("name=value").1;
    let mut secrets = vec![
        ALICE_PASSWORD.to_owned(),
        ADMIN_TOKEN.to_owned(),
        ASSERTION.to_owned(),
        session_value.to_owned(),
        basic("demo-web", "demo-web-secret"),
        basic("demo-backend", "demo-backend-secret"),
        basic("demo-exchange", "demo-exchange-secret"),
        "demo-backend-secret".to_owned(),
        web.access_token.clone(),
        id_token.clone(),
        refresh_token.clone(),
        spa.access_token.clone(),
        refreshed.access_token.clone(),
        backend.access_token.clone(),
    ];
    secrets.extend(exchanged["access_token"].as_str().map(str::to_owned));
    secrets.extend(backend_post["access_token"].as_str().map(str::to_owned));
    // Every secret is long enough that finding it by chance is impossible.
    assert!(secrets.iter().all(|s| s.len() >= 14), "{secrets:?}");
    let debug = format!("{requests:?}");
    for secret in &secrets {
        // Base64 of Basic credentials is searched without its scheme.
        let secret = secret.trim_start_matches("Basic ");
        assert!(!debug.contains(secret), "{secret} in the log: {debug}");
        assert!(!admin_text.contains(secret), "{secret} in the admin API");
    }

    // Each credential was captured, as redacted: the fields are there, their values are not.
    let login = sent(&requests, "/login", "username", "alice");
    assert_eq!(login.len(), 2, "{requests:?}");
    for request in login {
        assert_eq!(request.form_field("password"), Some(REDACTED));
        assert_eq!(request.form_field("csrf"), Some(REDACTED));
    }
    let codes = sent(
        &requests,
        "/oauth2/token",
        "grant_type",
        "authorization_code",
    );
    assert_eq!(codes.len(), 2);
    for request in &codes {
        assert_eq!(request.form_field("code"), Some(REDACTED));
        assert_eq!(request.form_field("code_verifier"), Some(REDACTED));
        assert!(request.form_field("redirect_uri").is_some());
    }
    assert_eq!(codes[0].header("authorization"), Some("Basic [redacted]"));
    assert_eq!(codes[1].form_field("client_id"), Some("demo-spa"));
    let authorize = requests
        .iter()
        .find(|r| r.path() == "/oauth2/authorize" && r.query_param("client_id") == Some("demo-web"))
        .expect("demo-web's authorization request");
    let cookie_name = issuer.session_cookie_name();
    assert_eq!(
        authorize.header("cookie"),
        Some(format!("{cookie_name}={REDACTED}").as_str())
    );
    assert_eq!(authorize.query_param("code_challenge_method"), Some("S256"));
    assert_eq!(authorize.query_param("redirect_uri"), Some(WEB_CALLBACK));
    let refreshes = sent(&requests, "/oauth2/token", "grant_type", "refresh_token");
    assert_eq!(refreshes[0].form_field("refresh_token"), Some(REDACTED));
    let posted = sent(&requests, "/oauth2/token", "client_id", "demo-backend");
    assert_eq!(posted.len(), 2);
    assert_eq!(posted[0].form_field("client_secret"), Some(REDACTED));
    assert_eq!(posted[1].form_field("client_assertion"), Some(REDACTED));
    let exchange = sent(&requests, "/oauth2/token", "grant_type", EXCHANGE_GRANT);
    assert_eq!(exchange[0].form_field("subject_token"), Some(REDACTED));
    assert_eq!(exchange[0].form_field("actor_token"), Some(REDACTED));
    assert_eq!(
        exchange[0].form_field("actor_token_type"),
        Some(ACCESS_TOKEN_TYPE)
    );
    for path in ["/oauth2/introspect", "/oauth2/revoke"] {
        assert_eq!(sent(&requests, path, "token", REDACTED).len(), 1, "{path}");
    }
    assert_eq!(
        sent(&requests, "/oauth2/userInfo", "access_token", REDACTED).len(),
        1
    );
    let bearer = requests
        .iter()
        .filter(|r| r.path() == "/oauth2/userInfo")
        .find_map(|r| r.header("authorization"));
    assert_eq!(bearer, Some("Bearer [redacted]"));
    let in_query = requests.iter().find_map(|r| r.query_param("access_token"));
    assert_eq!(in_query, Some(REDACTED));
    let logout = requests
        .iter()
        .find(|r| r.path() == "/logout")
        .expect("the logout request");
    assert_eq!(logout.query_param("id_token_hint"), Some(REDACTED));
    assert_eq!(logout.query_param("client_id"), Some("demo-web"));

    // The admin API answers the same capture; its own request is the last, token redacted.
    let last = admin_log["requests"]
        .as_array()
        .and_then(|r| r.last())
        .expect("the admin request");
    assert_eq!(last["path"], "/_admin/requests");
    let headers = last["headers"].as_array().expect("headers");
    assert!(
        headers
            .iter()
            .any(|h| h[0] == "authorization" && h[1] == "Bearer [redacted]"),
        "{last}"
    );
}

#[tokio::test]
async fn a_client_credentials_request_is_captured_as_sent() {
    let issuer = MockIssuer::demo().start().await.expect("the mock starts");
    let response = http()
        .post(format!("{}?trace=1", issuer.token_endpoint()))
        .header(
            CONTENT_TYPE,
            "application/x-www-form-urlencoded; charset=utf-8",
        )
        .header(AUTHORIZATION, basic("demo-backend", "demo-backend-secret"))
        .header("x-request-id", "req-42")
        .body("grant_type=client_credentials&scope=api%2Fread+api%2Fwrite")
        .send()
        .await
        .expect("the mock answers");
    assert_eq!(response.status(), 200);

    let requests = issuer.requests();
    let request = requests.last().expect("the token request");
    assert_eq!(request.method(), "POST");
    assert_eq!(request.path(), "/oauth2/token");
    assert_eq!(request.query(), [("trace".to_owned(), "1".to_owned())]);
    assert_eq!(
        request.form(),
        Some(
            &[
                ("grant_type".to_owned(), "client_credentials".to_owned()),
                ("scope".to_owned(), "api/read api/write".to_owned()),
            ][..]
        )
    );
    assert_eq!(request.form_field("scope"), Some("api/read api/write"));
    assert_eq!(request.header("X-Request-Id"), Some("req-42"));
    assert_eq!(
        request.header("content-type"),
        Some("application/x-www-form-urlencoded; charset=utf-8")
    );
    assert_eq!(request.header("authorization"), Some("Basic [redacted]"));
    // A GET has no form.
    http()
        .get(issuer.jwks_uri())
        .send()
        .await
        .expect("the keys");
    let requests = issuer.requests();
    let keys = requests.last().expect("the keys request");
    assert_eq!(keys.path(), issuer.jwks_path());
    assert_eq!(keys.form(), None);
}

#[tokio::test]
async fn an_oversized_form_is_refused_and_logged_without_its_body() {
    let issuer = MockIssuer::demo().start().await.expect("the mock starts");
    let body = format!(
        "grant_type=client_credentials&client_secret=demo-backend-secret&pad={}",
        "x".repeat(70 * 1024)
    );
    let response = http()
        .post(issuer.token_endpoint())
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("the mock answers");
    assert_eq!(response.status(), 413);
    let refusal: Value =
        serde_json::from_str(&response.text().await.expect("a body")).expect("JSON");
    assert_eq!(refusal["error"], "invalid_request", "{refusal}");

    let requests = issuer.requests();
    let request = requests.last().expect("the refused request");
    assert_eq!(request.path(), "/oauth2/token");
    assert_eq!(request.form(), None);
    assert!(!format!("{requests:?}").contains("demo-backend-secret"));
    // A form at the limit still goes through whole.
    let scope = "api/read";
    let pad = 64 * 1024 - "grant_type=client_credentials&scope=api%2Fread&pad=".len();
    let (status, body) = post_form(
        &http(),
        &issuer.token_endpoint(),
        Some(("demo-backend", "demo-backend-secret")),
        &[
            ("grant_type", "client_credentials"),
            ("scope", scope),
            ("pad", &"x".repeat(pad)),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let requests = issuer.requests();
    let request = requests.last().expect("the token request");
    assert_eq!(request.form_field("pad").map(str::len), Some(pad));
}
