//! End to end, one grant at a time: tokens from every grant of the mock issuer (demo pool),
//! obtained over real HTTP, presented to a protected axum API on loopback (`JwtAuthLayer` +
//! per-route `RequireScope`/`RequireGroup`), which must accept them and hand its handler the
//! claims the grant implies — and whose scope and group routes answer 200 or 403 as the
//! token's scopes and groups say.
#![cfg(all(feature = "mock", feature = "axum"))]

#[path = "support/e2e.rs"]
mod e2e;

use serde_json::{Value, json};
use tokengate::mock::{MockIssuer, TrustedIssuer};
use tokengate::{AuthErrorKind, JwtAuthLayer, Profile};

use e2e::{
    ALICE_PASSWORD, ALICE_SUB, Api, Approval, BOB_SUB, DEMO_CLIENTS, SPA_CALLBACK, WEB_CALLBACK,
    challenge, client_credentials, code_flow_with_pkce, device_flow, http, implicit_flow,
    protected_api, refresh, token_exchange,
};

const ALICE: (&str, &str) = ("alice", ALICE_PASSWORD);

/// The demo pool and the API in front of it, accepting access tokens of every demo client.
struct Fixture {
    mock: MockIssuer,
    api: Api,
}

async fn start() -> Fixture {
    let mock = MockIssuer::demo().start().await.expect("the mock starts");
    let mut builder = mock
        .authorizer(Profile::cognito_access())
        .expect("an authorizer")
        .client_id(DEMO_CLIENTS[0]);
    for client in &DEMO_CLIENTS[1..] {
        builder = builder.client_id(*client);
    }
    let api = Api::start(protected_api(JwtAuthLayer::new(
        builder.build().expect("valid authorizer settings"),
    )))
    .await;
    Fixture { mock, api }
}

/// What `/me` must show, besides `iss` (the mock's), `token_use` (`access`), `aud` (none:
/// Cognito access tokens carry `client_id` instead) and a `jti`.
struct Expected<'a> {
    sub: &'a str,
    username: Option<&'a str>,
    client_id: &'a str,
    scopes: &'a [&'a str],
    groups: &'a [&'a str],
}

fn assert_me(grant: &str, fx: &Fixture, me: &Value, expected: &Expected<'_>) {
    let mut scopes: Vec<&str> = expected.scopes.to_vec();
    scopes.sort_unstable();
    assert_eq!(me["iss"], fx.mock.issuer(), "{grant}: iss");
    assert_eq!(me["token_use"], "access", "{grant}: token_use");
    assert_eq!(me["sub"], expected.sub, "{grant}: sub");
    assert_eq!(
        me["username"],
        json!(expected.username),
        "{grant}: username"
    );
    assert_eq!(me["client_id"], expected.client_id, "{grant}: client_id");
    assert_eq!(me["scopes"], json!(scopes), "{grant}: scopes");
    assert_eq!(me["groups"], json!(expected.groups), "{grant}: groups");
    assert_eq!(me["aud"], json!([]), "{grant}: no aud");
    assert!(me["jti"].is_string(), "{grant}: a jti");
}

/// `[/read, /write, /admin]` must answer these statuses (403s with the exact challenge).
async fn assert_routes(grant: &str, fx: &Fixture, token: &str, expected: [u16; 3]) {
    assert_eq!(
        fx.api.route_statuses(token).await,
        expected,
        "{grant}: [/read, /write, /admin]"
    );
}

#[tokio::test]
async fn client_credentials_tokens_are_the_clients_own_with_no_user_and_no_groups() {
    let fx = start().await;
    let client = http();

    // No scope asked: every custom scope of the client.
    let all = client_credentials(&client, &fx.mock, "demo-backend", None).await;
    assert!(all.refresh_token.is_none() && all.id_token.is_none());
    let expected = Expected {
        sub: "demo-backend",
        username: None,
        client_id: "demo-backend",
        scopes: &["api/read", "api/write"],
        groups: &[],
    };
    let me = fx.api.me(&all.access_token).await;
    assert_me("client credentials", &fx, &me, &expected);
    assert_routes(
        "client credentials",
        &fx,
        &all.access_token,
        [200, 200, 403],
    )
    .await;

    // Narrowed to one scope: the other route refuses it.
    let read = client_credentials(&client, &fx.mock, "demo-backend", Some("api/read")).await;
    let me = fx.api.me(&read.access_token).await;
    assert_me(
        "client credentials (api/read)",
        &fx,
        &me,
        &Expected {
            scopes: &["api/read"],
            ..expected
        },
    );
    assert_routes(
        "client credentials (api/read)",
        &fx,
        &read.access_token,
        [200, 403, 403],
    )
    .await;
}

#[tokio::test]
async fn authorization_code_with_pkce_through_the_hosted_form_is_alices() {
    let fx = start().await;
    let tokens = code_flow_with_pkce(
        &fx.mock,
        "demo-web",
        WEB_CALLBACK,
        "openid email api/read",
        ALICE,
    )
    .await;
    assert!(tokens.refresh_token.is_some(), "the code grant refreshes");
    let me = fx.api.me(&tokens.access_token).await;
    assert_me(
        "authorization code",
        &fx,
        &me,
        &Expected {
            sub: ALICE_SUB,
            username: Some("alice"),
            client_id: "demo-web",
            scopes: &["openid", "email", "api/read"],
            groups: &["admins"],
        },
    );
    assert_routes(
        "authorization code",
        &fx,
        &tokens.access_token,
        [200, 403, 200],
    )
    .await;

    // The ID token that came with it is for the client, not for the API.
    let id_token = tokens.id_token.expect("an ID token (openid)");
    let reply = fx.api.get("/me", Some(&id_token)).await;
    assert_eq!(reply.status, 401, "{reply:?}");
    assert_eq!(
        reply.www_authenticate(),
        Some(challenge(AuthErrorKind::WrongTokenUse).as_str())
    );

    // A public client (demo-spa), PKCE without a secret, all the API scopes.
    let tokens = code_flow_with_pkce(
        &fx.mock,
        "demo-spa",
        SPA_CALLBACK,
        "openid api/read api/write",
        ALICE,
    )
    .await;
    let me = fx.api.me(&tokens.access_token).await;
    assert_me(
        "authorization code (public client)",
        &fx,
        &me,
        &Expected {
            sub: ALICE_SUB,
            username: Some("alice"),
            client_id: "demo-spa",
            scopes: &["openid", "api/read", "api/write"],
            groups: &["admins"],
        },
    );
    assert_routes("public code", &fx, &tokens.access_token, [200, 200, 200]).await;
}

#[tokio::test]
async fn refreshed_tokens_stay_alices_with_the_scope_signed_in_with() {
    let fx = start().await;
    let first = code_flow_with_pkce(
        &fx.mock,
        "demo-web",
        WEB_CALLBACK,
        "openid api/read api/write",
        ALICE,
    )
    .await;
    let refresh_token = first.refresh_token.expect("a refresh token");
    let first_me = fx.api.me(&first.access_token).await;

    let expected = Expected {
        sub: ALICE_SUB,
        username: Some("alice"),
        client_id: "demo-web",
        scopes: &["openid", "api/read", "api/write"],
        groups: &["admins"],
    };
    let again = refresh(&fx.mock, "demo-web", &refresh_token, None).await;
    assert!(again.refresh_token.is_none(), "no rotation by default");
    let me = fx.api.me(&again.access_token).await;
    assert_me("refresh", &fx, &me, &expected);
    assert_ne!(me["jti"], first_me["jti"], "a new access token");
    assert_routes("refresh", &fx, &again.access_token, [200, 200, 200]).await;

    // `scope=api/write` is ignored, as Cognito ignores it on refresh: the same three scopes,
    // the same three routes open.
    let asked = refresh(&fx.mock, "demo-web", &refresh_token, Some("api/write")).await;
    let me = fx.api.me(&asked.access_token).await;
    assert_me("refresh (scope asked)", &fx, &me, &expected);
    assert_routes(
        "refresh (scope asked)",
        &fx,
        &asked.access_token,
        [200, 200, 200],
    )
    .await;
}

#[tokio::test]
async fn implicit_tokens_from_the_fragment_are_alices() {
    let fx = start().await;
    let fragment = implicit_flow(
        &fx.mock,
        "demo-spa",
        SPA_CALLBACK,
        "openid api/write",
        ALICE,
    )
    .await;
    assert!(!fragment.contains_key("refresh_token"), "{fragment:?}");
    let access = &fragment["access_token"];
    let me = fx.api.me(access).await;
    assert_me(
        "implicit",
        &fx,
        &me,
        &Expected {
            sub: ALICE_SUB,
            username: Some("alice"),
            client_id: "demo-spa",
            scopes: &["openid", "api/write"],
            groups: &["admins"],
        },
    );
    assert_routes("implicit", &fx, access, [403, 200, 200]).await;
}

#[tokio::test]
async fn device_tokens_are_the_approving_users() {
    let fx = start().await;

    // Alice approves on the hosted /device page.
    let tokens = device_flow(
        &fx.mock,
        "demo-device",
        "openid api/read",
        Approval::Page("alice", ALICE_PASSWORD),
    )
    .await;
    assert!(tokens.refresh_token.is_some(), "the device grant refreshes");
    let me = fx.api.me(&tokens.access_token).await;
    assert_me(
        "device (alice, page)",
        &fx,
        &me,
        &Expected {
            sub: ALICE_SUB,
            username: Some("alice"),
            client_id: "demo-device",
            scopes: &["openid", "api/read"],
            groups: &["admins"],
        },
    );
    assert_routes("device (alice)", &fx, &tokens.access_token, [200, 403, 200]).await;

    // Bob, approved through the test API: his token, and no group.
    let tokens = device_flow(
        &fx.mock,
        "demo-device",
        "api/read api/write",
        Approval::TestApi("bob"),
    )
    .await;
    let me = fx.api.me(&tokens.access_token).await;
    assert_me(
        "device (bob, test API)",
        &fx,
        &me,
        &Expected {
            sub: BOB_SUB,
            username: Some("bob"),
            client_id: "demo-device",
            scopes: &["api/read", "api/write"],
            groups: &[],
        },
    );
    assert_routes("device (bob)", &fx, &tokens.access_token, [200, 200, 403]).await;
}

#[tokio::test]
async fn exchanged_tokens_carry_the_subject_but_not_the_other_issuers_groups() {
    let fx = start().await;
    // The trusted third party: another demo pool, whose alice has the same `sub`. Its
    // device client's tokens are the subject tokens.
    let partner = MockIssuer::demo()
        .start()
        .await
        .expect("the partner starts");
    fx.mock
        .add_trusted_issuer(TrustedIssuer {
            issuer: partner.issuer().to_owned(),
            jwks_uri: partner.jwks_uri(),
            client_id: Some("demo-device".into()),
            audience: None,
        })
        .expect("a valid trusted issuer");
    let subject = device_flow(
        &partner,
        "demo-device",
        "openid api/read",
        Approval::TestApi("alice"),
    )
    .await
    .access_token;

    // The partner's own token means nothing to the API: signed by a key the API's issuer
    // never published (with one issuer configured, the signature is checked before `iss`).
    let reply = fx.api.get("/me", Some(&subject)).await;
    assert_eq!(reply.status, 401, "{reply:?}");
    assert_eq!(
        reply.www_authenticate(),
        Some(challenge(AuthErrorKind::UnknownKey).as_str())
    );

    let exchanged = token_exchange(&fx.mock, "demo-exchange", &subject, Some("api/read")).await;
    assert!(exchanged.refresh_token.is_none() && exchanged.id_token.is_none());
    let me = fx.api.me(&exchanged.access_token).await;
    // docs: "No `cognito:groups` (the other issuer's groups mean nothing here)".
    assert_me(
        "token exchange",
        &fx,
        &me,
        &Expected {
            sub: ALICE_SUB,
            username: Some("alice"),
            client_id: "demo-exchange",
            scopes: &["api/read"],
            groups: &[],
        },
    );
    assert_routes(
        "token exchange",
        &fx,
        &exchanged.access_token,
        [200, 403, 403],
    )
    .await;

    // Without `scope`: every custom scope of the exchanging client.
    let all = token_exchange(&fx.mock, "demo-exchange", &subject, None).await;
    assert_eq!(all.scope.as_deref(), Some("api/read api/write"));
    assert_routes(
        "token exchange (all)",
        &fx,
        &all.access_token,
        [200, 200, 403],
    )
    .await;
}
