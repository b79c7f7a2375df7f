//! What each kind of request gets from `JwtAuthLayer`: 401 without a token, 400 for a
//! malformed request, 401 `invalid_token`, 200 with claims, 503 when keys are unavailable.

use axum::Router;
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;
use tokengate::{AuthErrorKind, Authorizer, Claims, JwtAuthLayer, KeySet, Profile};

use crate::support::{AUDIENCE, ISSUER, TestKey, b64, now, rfc9068_claims};
use crate::{
    Hits, NO_TOKEN_CHALLENGE, Server, authorizer, cold_authorizer, invalid_request_challenge,
    invalid_token_challenge, key, send, token, token_with,
};

/// `/me` answering the username, behind `layer`; the handler counts its calls.
fn app(layer: JwtAuthLayer, hits: &Hits) -> Router {
    let hits = hits.clone();
    Router::new()
        .route(
            "/me",
            get(move |claims: Claims| async move {
                hits.hit();
                claims.username().unwrap_or("?").to_owned()
            }),
        )
        .layer(layer)
}

async fn serve(layer: JwtAuthLayer) -> (Server, Hits) {
    let hits = Hits::default();
    (Server::start(app(layer, &hits)).await, hits)
}

#[tokio::test]
async fn no_token_is_401_with_a_challenge_without_error_code() {
    let (server, hits) = serve(JwtAuthLayer::new(authorizer())).await;
    let reply = crate::send(server.get("/me")).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.www_authenticate(), Some(NO_TOKEN_CHALLENGE));
    reply.assert_error_body("unauthorized", AuthErrorKind::MissingToken.description());
    assert_eq!(hits.count(), 0);
}

#[tokio::test]
async fn realm_is_configurable() {
    let (server, hits) = serve(JwtAuthLayer::new(authorizer()).realm("orders")).await;
    let reply = send(server.get("/me")).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.www_authenticate(), Some("Bearer realm=\"orders\""));

    let reply = server.get_with("/me", "not-a-jwt").await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.www_authenticate(),
        Some(
            format!(
                "Bearer realm=\"orders\", error=\"invalid_token\", error_description=\"{}\"",
                AuthErrorKind::Malformed.description()
            )
            .as_str()
        )
    );
    assert_eq!(hits.count(), 0);
}

#[tokio::test]
async fn realm_with_quotes_is_escaped_in_the_challenge() {
    let (server, _) = serve(JwtAuthLayer::new(authorizer()).realm(r#"say "hi"\"#)).await;
    let reply = send(server.get("/me")).await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.www_authenticate(),
        Some(r#"Bearer realm="say \"hi\"\\""#)
    );
}

#[tokio::test]
async fn malformed_authorization_headers_are_400_invalid_request() {
    let (server, hits) = serve(JwtAuthLayer::new(authorizer())).await;
    let good = token();
    // Without the `Bearer` scheme word (a bare token, `Bearer<token>`) it is another scheme:
    // no bearer credential at all, 401 with a bare challenge.
    for value in [format!("Bearer{good}"), good.clone()] {
        let reply = send(server.get("/me").header("authorization", &value)).await;
        assert_eq!(reply.status, 401, "{value:?}");
        assert_eq!(reply.www_authenticate(), Some("Bearer realm=\"api\""));
    }
    for value in [
        "Bearer".to_owned(),
        "Bearer ".to_owned(),
        format!("Bearer {good} extra"),
        format!("Bearer {good},{good}"),
        "Bearer tok\"en".to_owned(),
    ] {
        let reply = send(server.get("/me").header("authorization", &value)).await;
        assert_eq!(reply.status, 400, "{value:?}");
        assert_eq!(
            reply.www_authenticate(),
            Some(invalid_request_challenge().as_str()),
            "{value:?}"
        );
        reply.assert_error_body(
            "invalid_request",
            AuthErrorKind::MalformedRequest.description(),
        );
    }
    assert_eq!(hits.count(), 0);
}

#[tokio::test]
async fn another_scheme_counts_as_no_bearer_token_rfc6750_3_1() {
    let (server, hits) = serve(JwtAuthLayer::new(authorizer())).await;
    for value in [
        "Basic dXNlcjpwYXNz",
        "Digest username=\"alice\"",
        "Token abc",
    ] {
        let reply = send(server.get("/me").header("authorization", value)).await;
        assert_eq!(reply.status, 401, "{value}");
        assert_eq!(reply.www_authenticate(), Some("Bearer realm=\"api\""));
        reply.assert_error_body("unauthorized", AuthErrorKind::MissingToken.description());
    }
    let reply = send(server.get("/me").basic_auth("alice", Some("secret"))).await;
    assert_eq!(reply.status, 401);
    assert_eq!(hits.count(), 0);
}

#[tokio::test]
async fn two_authorization_headers_are_400_invalid_request_even_if_both_are_valid() {
    let (server, hits) = serve(JwtAuthLayer::new(authorizer())).await;
    let good = token();
    let reply = send(
        server
            .get("/me")
            .header("authorization", format!("Bearer {good}"))
            .header("authorization", format!("Bearer {good}")),
    )
    .await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.www_authenticate(),
        Some(invalid_request_challenge().as_str())
    );
    reply.assert_error_body(
        "invalid_request",
        AuthErrorKind::MalformedRequest.description(),
    );
    assert_eq!(hits.count(), 0);
}

/// Asserts a 401 `invalid_token` for `kind`, with the challenge and body holding its fixed
/// description.
fn assert_invalid_token(reply: &crate::Reply, kind: AuthErrorKind) {
    assert_eq!(reply.status, 401, "{kind:?}: {reply:?}");
    assert_eq!(
        reply.www_authenticate(),
        Some(invalid_token_challenge(kind).as_str()),
        "{kind:?}"
    );
    reply.assert_error_body("invalid_token", kind.description());
}

#[tokio::test]
async fn expired_token_is_401_invalid_token() {
    let (server, hits) = serve(JwtAuthLayer::new(authorizer())).await;
    let expired = token_with(|c| {
        c.insert("iat".into(), json!(now() - 7200));
        c.insert("auth_time".into(), json!(now() - 7200));
        c.insert("exp".into(), json!(now() - 3600));
    });
    let reply = server.get_with("/me", &expired).await;
    assert_invalid_token(&reply, AuthErrorKind::Expired);
    assert_eq!(hits.count(), 0);
}

#[tokio::test]
async fn bad_signature_is_401_invalid_token() {
    let (server, hits) = serve(JwtAuthLayer::new(authorizer())).await;
    // Same kid, another key: the signature does not verify.
    let impostor = TestKey::generate(tokengate::Algorithm::ES256, "k1");
    let forged = impostor.token(&crate::support::cognito_access_claims());
    assert_invalid_token(
        &server.get_with("/me", &forged).await,
        AuthErrorKind::InvalidSignature,
    );
    // A valid token with its payload swapped: the signature no longer matches.
    let good = token();
    let other = token_with(|c| {
        c.insert("username".into(), json!("mallory"));
    });
    let mut parts: Vec<&str> = good.split('.').collect();
    parts[1] = other.split('.').nth(1).expect("payload");
    let tampered = parts.join(".");
    assert_invalid_token(
        &server.get_with("/me", &tampered).await,
        AuthErrorKind::InvalidSignature,
    );
    assert_eq!(hits.count(), 0);
}

#[tokio::test]
async fn wrong_client_is_401_invalid_token() {
    let (server, hits) = serve(JwtAuthLayer::new(authorizer())).await;
    let other_client = token_with(|c| {
        c.insert("client_id".into(), json!("someotherclient"));
    });
    assert_invalid_token(
        &server.get_with("/me", &other_client).await,
        AuthErrorKind::WrongClient,
    );
    assert_eq!(hits.count(), 0);
}

#[tokio::test]
async fn wrong_audience_is_401_invalid_token() {
    let authorizer = Authorizer::builder(Profile::rfc9068())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .keys(KeySet::from_jwks_json(&crate::support::jwks(&[key()])).expect("jwks"))
        .build();
    let (server, hits) = serve(JwtAuthLayer::new(authorizer)).await;

    let mut claims = rfc9068_claims();
    claims["aud"] = json!("https://other-api.example.com");
    let header = json!({"alg": "ES256", "kid": "k1", "typ": "at+jwt"});
    let wrong_aud = key().sign_token(&header, &claims);
    assert_invalid_token(
        &server.get_with("/me", &wrong_aud).await,
        AuthErrorKind::WrongAudience,
    );

    // The same token for this API passes: only the audience was wrong.
    let right_aud = key().sign_token(&header, &rfc9068_claims());
    let reply = server.get_with("/me", &right_aud).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(hits.count(), 1);
}

#[tokio::test]
async fn every_invalid_token_gets_the_fixed_description_of_its_kind() {
    let (server, hits) = serve(JwtAuthLayer::new(authorizer())).await;
    let claims = crate::support::cognito_access_claims();
    let b64_json = |v: &serde_json::Value| b64(serde_json::to_vec(v).expect("json"));
    let unsigned = format!(
        "{}.{}.",
        b64_json(&json!({"alg": "none"})),
        b64_json(&claims)
    );
    let hmac = format!(
        "{}.{}.{}",
        b64_json(&json!({"alg": "HS256", "kid": "k1"})),
        b64_json(&claims),
        b64(b"not a mac")
    );
    let unknown_kid = TestKey::generate(tokengate::Algorithm::ES256, "k2").token(&claims);
    let cases = [
        ("x".repeat(9000), AuthErrorKind::TokenTooLarge),
        ("a.b".to_owned(), AuthErrorKind::Malformed),
        (unsigned, AuthErrorKind::UnsignedToken),
        (hmac, AuthErrorKind::SymmetricAlgorithm),
        (unknown_kid, AuthErrorKind::UnknownKey),
        (
            token_with(|c| {
                c.insert("iss".into(), json!("https://evil.example"));
            }),
            AuthErrorKind::WrongIssuer,
        ),
        (
            token_with(|c| {
                c.insert("nbf".into(), json!(now() + 3600));
            }),
            AuthErrorKind::NotYetValid,
        ),
        (
            token_with(|c| {
                c.insert("token_use".into(), json!("id"));
            }),
            AuthErrorKind::WrongTokenUse,
        ),
        (
            token_with(|c| {
                c.remove("client_id");
            }),
            AuthErrorKind::MissingClaim,
        ),
    ];
    for (bad, kind) in cases {
        assert_invalid_token(&server.get_with("/me", &bad).await, kind);
    }
    assert_eq!(hits.count(), 0);
}

#[tokio::test]
async fn rejections_never_echo_the_token() {
    let (server, hits) = serve(JwtAuthLayer::new(authorizer())).await;
    let marker = "SECRETMARKER";
    let expired = token_with(|c| {
        c.insert("username".into(), json!(marker));
        c.insert("exp".into(), json!(now() - 3600));
    });
    let wrong_issuer = token_with(|c| {
        c.insert("username".into(), json!(marker));
        c.insert("iss".into(), json!(format!("https://{marker}.example")));
    });
    let garbage = format!("{marker}.{marker}.{marker}");
    for (bad, kind) in [
        (expired, AuthErrorKind::Expired),
        (wrong_issuer, AuthErrorKind::WrongIssuer),
        (garbage, AuthErrorKind::Malformed),
    ] {
        let reply = server.get_with("/me", &bad).await;
        assert_invalid_token(&reply, kind);
        let challenge = reply.www_authenticate().expect("challenge");
        for text in [challenge, reply.body.as_str()] {
            assert!(!text.contains(marker), "{kind:?} leaked: {text}");
            for segment in bad.split('.') {
                assert!(!text.contains(segment), "{kind:?} leaked a segment: {text}");
            }
        }
    }
    assert_eq!(hits.count(), 0);
}

#[tokio::test]
async fn valid_token_reaches_the_handler_with_registered_claims() {
    let hits = Hits::default();
    let seen = hits.clone();
    let app = Router::new()
        .route(
            "/me",
            get(move |claims: Claims| async move {
                seen.hit();
                let scopes: Vec<&str> = claims.scopes().iter().collect();
                let groups: Vec<&str> = claims.groups().iter().collect();
                axum::Json(json!({
                    "iss": claims.issuer(),
                    "sub": claims.subject(),
                    "username": claims.username(),
                    "client_id": claims.client_id(),
                    "scopes": scopes,
                    "groups": groups,
                }))
            }),
        )
        .layer(JwtAuthLayer::new(authorizer()));
    let server = Server::start(app).await;
    let reply = server.get_with("/me", &token()).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.www_authenticate(), None);
    let body = reply.json();
    assert_eq!(body["iss"], ISSUER);
    assert_eq!(body["sub"], "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
    assert_eq!(body["username"], "alice");
    assert_eq!(body["client_id"], crate::support::CLIENT_ID);
    let mut scopes: Vec<String> = serde_json::from_value(body["scopes"].clone()).expect("list");
    scopes.sort();
    assert_eq!(scopes, ["api/read", "api/write", "openid"]);
    let mut groups: Vec<String> = serde_json::from_value(body["groups"].clone()).expect("list");
    groups.sort();
    assert_eq!(groups, ["admins", "readers"]);
    assert_eq!(hits.count(), 1);
}

#[derive(Debug, Deserialize)]
struct Tenant {
    #[serde(rename = "custom:tenant")]
    tenant: String,
    #[serde(rename = "custom:plan", default)]
    plan: Option<String>,
}

#[tokio::test]
async fn valid_token_gives_the_handler_custom_claims() {
    let hits = Hits::default();
    let seen = hits.clone();
    let app = Router::new()
        .route(
            "/tenant",
            get(move |claims: Claims<Tenant>| async move {
                seen.hit();
                format!(
                    "{} of {} on {}",
                    claims.username().unwrap_or("?"),
                    claims.tenant,
                    claims.custom().plan.as_deref().unwrap_or("free")
                )
            }),
        )
        .layer(JwtAuthLayer::new(authorizer()).claims::<Tenant>());
    let server = Server::start(app).await;

    let with_tenant = token_with(|c| {
        c.insert("custom:tenant".into(), json!("acme"));
        c.insert("custom:plan".into(), json!("gold"));
    });
    let reply = server.get_with("/tenant", &with_tenant).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body, "alice of acme on gold");
    assert_eq!(hits.count(), 1);

    // A signed, valid token without the custom claim the layer reads: 401, handler not run.
    let reply = server.get_with("/tenant", &token()).await;
    assert_invalid_token(&reply, AuthErrorKind::MalformedClaim);
    assert_eq!(hits.count(), 1);
}

#[tokio::test]
async fn bearer_scheme_is_case_insensitive() {
    let (server, hits) = serve(JwtAuthLayer::new(authorizer())).await;
    let good = token();
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let reply = send(
            server
                .get("/me")
                .header("authorization", format!("{scheme} {good}")),
        )
        .await;
        assert_eq!(reply.status, 200, "{scheme}: {reply:?}");
        assert_eq!(reply.body, "alice");
    }
    assert_eq!(hits.count(), 4);
}

#[tokio::test]
async fn keys_unavailable_is_503_with_retry_after_and_no_challenge() {
    let (jwks_server, authorizer) = cold_authorizer().await;
    let (server, hits) = serve(JwtAuthLayer::new(authorizer)).await;
    let reply = server.get_with("/me", &token()).await;
    assert_eq!(reply.status, 503, "{reply:?}");
    assert_eq!(reply.www_authenticate(), None);
    let retry_after: u64 = reply
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("Retry-After is delta-seconds");
    assert!(retry_after >= 1, "{retry_after}");
    reply.assert_error_body(
        "temporarily_unavailable",
        AuthErrorKind::KeysUnavailable.description(),
    );
    assert!(jwks_server.jwks_hits() >= 1, "the layer asked for keys");
    assert_eq!(hits.count(), 0);

    // No token at all is still the client's problem, not the issuer's.
    let reply = send(server.get("/me")).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.www_authenticate(), Some(NO_TOKEN_CHALLENGE));
}
