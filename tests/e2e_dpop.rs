//! End to end with DPoP (RFC 9449): a client gets DPoP-bound tokens from the mock issuer over
//! real HTTP, with the test API's `DpopClient` making its proofs, and calls a protected axum
//! API that requires DPoP; the test API's hostile proofs are refused by both the API and the
//! mock's token endpoint; a public client's refresh token is bound to its key.
#![cfg(all(feature = "mock", feature = "axum"))]

#[path = "support/e2e.rs"]
mod e2e;

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use tokengate::mock::{DpopClient, HostileProof, MockIssuer};
use tokengate::{AuthErrorKind, Dpop, JwtAuthLayer, Profile};

use e2e::{
    ALICE_PASSWORD, Api, Browser, DEMO_CLIENTS, Reply, SPA_CALLBACK, WEB_CALLBACK, authorize_url,
    form_encode, http, protected_api, random_text, split_url,
};

const ALGS: &str = "RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 EdDSA";

struct Fixture {
    mock: MockIssuer,
    api: Api,
}

/// The demo pool, and the API in front of it taking DPoP-bound tokens only.
async fn start() -> Fixture {
    let mock = MockIssuer::demo().start().await.expect("the mock starts");
    let mut builder = mock
        .authorizer(Profile::cognito_access())
        .expect("an authorizer")
        .client_id(DEMO_CLIENTS[0]);
    for client in &DEMO_CLIENTS[1..] {
        builder = builder.client_id(*client);
    }
    let authorizer = builder.build().expect("valid authorizer settings");
    let layer = JwtAuthLayer::new(authorizer).dpop(Dpop::required());
    let api = Api::start(protected_api(layer)).await;
    Fixture { mock, api }
}

/// `POST /oauth2/token` with `pairs`, Basic auth when `secret`, and a `DPoP` header when
/// `proof`: the status and JSON body.
async fn token_request(
    mock: &MockIssuer,
    client_id: &str,
    secret: Option<&str>,
    pairs: &[(&str, &str)],
    proof: Option<&str>,
) -> (u16, Value) {
    let mut pairs = pairs.to_vec();
    if secret.is_none() {
        pairs.push(("client_id", client_id));
    }
    let mut request = http()
        .post(mock.token_endpoint())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_encode(&pairs));
    if let Some(secret) = secret {
        request = request.basic_auth(client_id, Some(secret));
    }
    if let Some(proof) = proof {
        request = request.header("dpop", proof);
    }
    let response = request.send().await.expect("the mock answers");
    let status = response.status().as_u16();
    let body = response.bytes().await.expect("a body");
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// The claims of a JWT, unverified.
fn payload(jwt: &str) -> Value {
    let segment = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).expect("base64url")).expect("JSON")
}

/// A DPoP-bound client-credentials token for `demo-backend`, bound to `client`'s key.
async fn backend_token(mock: &MockIssuer, client: &DpopClient) -> String {
    let proof = client.proof("POST", &mock.token_endpoint(), None);
    let (status, body) = token_request(
        mock,
        "demo-backend",
        Some("demo-backend-secret"),
        &[("grant_type", "client_credentials")],
        Some(&proof),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP", "{body}");
    body["access_token"]
        .as_str()
        .expect("an access token")
        .to_owned()
}

/// `GET /me` on the API with `Authorization: DPoP <token>` and `proof`.
async fn me(api: &Api, token: &str, proof: &str) -> Reply {
    let response = http()
        .get(format!("{}/me", api.base))
        .header("authorization", format!("DPoP {token}"))
        .header("dpop", proof)
        .send()
        .await
        .expect("the API answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.text().await.expect("a body");
    Reply {
        status,
        headers,
        body,
    }
}

/// Signs alice in to `client_id` in a browser and returns the authorization code, for
/// `redirect_uri`, with `extra` authorization parameters (PKCE's, for instance).
async fn alices_code(
    mock: &MockIssuer,
    client_id: &str,
    redirect_uri: &str,
    extra: &[(&str, &str)],
) -> String {
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("scope", "openid api/read"),
        ("state", "s"),
    ];
    params.extend_from_slice(extra);
    let url = authorize_url(mock, &params);
    let callback = Browser::new()
        .sign_in(mock, &url, "alice", ALICE_PASSWORD)
        .await
        .redirect();
    let (_, query, _) = split_url(&callback);
    query.get("code").expect("a code").clone()
}

fn dpop_challenge(kind: AuthErrorKind) -> String {
    format!(
        "DPoP realm=\"api\", error=\"{}\", error_description=\"{}\", algs=\"{ALGS}\"",
        kind.code().expect("a code").as_str(),
        kind.description()
    )
}

#[tokio::test]
async fn a_client_gets_a_dpop_bound_token_from_the_mock_and_calls_the_api_with_proofs() {
    let fx = start().await;
    let client = DpopClient::new().expect("a key");
    let token = backend_token(&fx.mock, &client).await;
    assert_eq!(payload(&token)["cnf"]["jkt"], client.jkt());
    let url = format!("{}/me", fx.api.base);
    for _ in 0..3 {
        let reply = me(&fx.api, &token, &client.proof("GET", &url, Some(&token))).await;
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(reply.json()["client_id"], "demo-backend");
    }
    // The same token as a bearer token: this API takes DPoP only.
    let reply = fx.api.get("/me", Some(&token)).await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.www_authenticate(),
        Some(format!("DPoP realm=\"api\", algs=\"{ALGS}\"").as_str())
    );
    // The mock says it takes DPoP, and with which algorithms.
    let discovery: Value = http()
        .get(fx.mock.discovery_url())
        .send()
        .await
        .expect("discovery")
        .bytes()
        .await
        .map(|body| serde_json::from_slice(&body).expect("JSON"))
        .expect("a body");
    let algs: Vec<&str> = discovery["dpop_signing_alg_values_supported"]
        .as_array()
        .expect("dpop_signing_alg_values_supported")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(algs.join(" "), ALGS);
}

#[tokio::test]
async fn every_hostile_proof_of_the_test_api_is_refused_by_the_api_with_its_challenge() {
    let fx = start().await;
    let client = DpopClient::new().expect("a key");
    let token = backend_token(&fx.mock, &client).await;
    let url = format!("{}/me", fx.api.base);
    let used = client.proof("GET", &url, Some(&token));
    assert_eq!(me(&fx.api, &token, &used).await.status, 200);
    for (hostile, kind) in [
        (HostileProof::WrongMethod, AuthErrorKind::DpopProofMismatch),
        (HostileProof::WrongUri, AuthErrorKind::DpopProofMismatch),
        (HostileProof::StaleIat, AuthErrorKind::DpopProofStale),
        (
            HostileProof::ReusedJti(used.clone()),
            AuthErrorKind::DpopProofReplayed,
        ),
        (HostileProof::WrongAth, AuthErrorKind::DpopProofTokenHash),
        (HostileProof::AnotherKey, AuthErrorKind::DpopKeyMismatch),
        (
            HostileProof::ForgedSignature,
            AuthErrorKind::DpopProofSignature,
        ),
        (HostileProof::PrivateJwk, AuthErrorKind::DpopProofKey),
        (HostileProof::AlgNone, AuthErrorKind::DpopProofAlgorithm),
        (HostileProof::Mac, AuthErrorKind::DpopProofAlgorithm),
    ] {
        let proof = client.hostile_proof(hostile.clone(), "GET", &url, Some(&token));
        let reply = me(&fx.api, &token, &proof).await;
        assert_eq!(reply.status, 401, "{hostile:?}: {reply:?}");
        assert_eq!(
            reply.www_authenticate(),
            Some(dpop_challenge(kind).as_str()),
            "{hostile:?}"
        );
    }
    // The exact proof again, too.
    let reply = me(&fx.api, &token, &used).await;
    assert_eq!(
        reply.www_authenticate(),
        Some(dpop_challenge(AuthErrorKind::DpopProofReplayed).as_str())
    );
}

#[tokio::test]
async fn the_token_endpoint_refuses_bad_proofs_and_replays_with_invalid_dpop_proof() {
    let fx = start().await;
    let client = DpopClient::new().expect("a key");
    let endpoint = fx.mock.token_endpoint();
    let request = |proof: String| {
        let mock = &fx.mock;
        async move {
            token_request(
                mock,
                "demo-backend",
                Some("demo-backend-secret"),
                &[("grant_type", "client_credentials")],
                Some(&proof),
            )
            .await
        }
    };
    for hostile in [
        HostileProof::WrongMethod,
        HostileProof::WrongUri,
        HostileProof::StaleIat,
        HostileProof::ForgedSignature,
        HostileProof::PrivateJwk,
        HostileProof::AlgNone,
        HostileProof::Mac,
    ] {
        let (status, body) =
            request(client.hostile_proof(hostile.clone(), "POST", &endpoint, None)).await;
        assert_eq!(status, 400, "{hostile:?}: {body}");
        assert_eq!(body["error"], "invalid_dpop_proof", "{hostile:?}: {body}");
    }
    let proof = client.proof("POST", &endpoint, None);
    assert_eq!(request(proof.clone()).await.0, 200);
    let (status, body) = request(proof).await;
    assert_eq!(
        (status, &body["error"]),
        (400, &Value::from("invalid_dpop_proof"))
    );
    // No proof, no binding: a bearer token, as before.
    let (status, body) = token_request(
        &fx.mock,
        "demo-backend",
        Some("demo-backend-secret"),
        &[("grant_type", "client_credentials")],
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["token_type"], "Bearer");
    assert!(
        payload(body["access_token"].as_str().expect("token"))
            .get("cnf")
            .is_none()
    );
}

#[tokio::test]
async fn a_public_clients_refresh_token_is_bound_to_its_dpop_key() {
    let fx = start().await;
    let client = DpopClient::new().expect("a key");
    // The code flow with PKCE for the public `demo-spa`, up to the code.
    let verifier = random_text(32);
    let challenge = URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()).as_ref());
    let code = &alices_code(
        &fx.mock,
        "demo-spa",
        SPA_CALLBACK,
        &[
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    let endpoint = fx.mock.token_endpoint();
    let (status, body) = token_request(
        &fx.mock,
        "demo-spa",
        None,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", SPA_CALLBACK),
            ("code_verifier", &verifier),
        ],
        Some(&client.proof("POST", &endpoint, None)),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    let access = body["access_token"]
        .as_str()
        .expect("access token")
        .to_owned();
    assert_eq!(payload(&access)["cnf"]["jkt"], client.jkt());
    let api_url = format!("{}/me", fx.api.base);
    assert_eq!(
        me(
            &fx.api,
            &access,
            &client.proof("GET", &api_url, Some(&access))
        )
        .await
        .status,
        200
    );

    let refresh_token = body["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_owned();
    let refresh = |proof: Option<String>| {
        let (mock, refresh_token) = (&fx.mock, refresh_token.clone());
        async move {
            token_request(
                mock,
                "demo-spa",
                None,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &refresh_token),
                ],
                proof.as_deref(),
            )
            .await
        }
    };
    // Without a proof, or with another key's: refused.
    let thief = DpopClient::new().expect("a key");
    for proof in [None, Some(thief.proof("POST", &endpoint, None))] {
        let (status, body) = refresh(proof).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"], "invalid_dpop_proof", "{body}");
    }
    // With the key it was issued to: a new DPoP-bound access token.
    let (status, body) = refresh(Some(client.proof("POST", &endpoint, None))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    let access = body["access_token"].as_str().expect("access token");
    assert_eq!(payload(access)["cnf"]["jkt"], client.jkt());
}

#[tokio::test]
async fn the_mocks_introspection_keeps_the_binding_and_the_layer_enforces_it() {
    let fx = start().await;
    let client = DpopClient::new().expect("a key");
    let token = backend_token(&fx.mock, &client).await;
    let body = http()
        .post(fx.mock.introspection_endpoint())
        .basic_auth("demo-backend", Some("demo-backend-secret"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_encode(&[("token", &token)]))
        .send()
        .await
        .expect("the mock answers")
        .bytes()
        .await
        .expect("a body");
    let answer: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(answer["active"], true, "{answer}");
    assert_eq!(answer["token_type"], "DPoP", "{answer}");
    assert_eq!(answer["cnf"]["jkt"], client.jkt(), "{answer}");

    // An API that knows tokens only by introspection (every token, JWT or not, goes there).
    let authorizer = tokengate::Authorizer::builder(Profile::cognito_access())
        .issuer(fx.mock.issuer())
        .client_id("demo-backend")
        .introspection(
            tokengate::Introspection::new(
                &fx.mock.introspection_endpoint(),
                tokengate::ClientAuth::basic("demo-backend", "demo-backend-secret"),
            )
            .expect("loopback URL"),
        )
        .build();
    let api = Api::start(protected_api(
        JwtAuthLayer::new(authorizer).dpop(Dpop::allowed()),
    ))
    .await;
    let url = format!("{}/me", api.base);
    let with_proof = me(&api, &token, &client.proof("GET", &url, Some(&token))).await;
    assert_eq!(with_proof.status, 200, "{}", with_proof.body);
    let as_bearer = http()
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await
        .expect("the API answers");
    assert_eq!(as_bearer.status(), 401, "a bound token taken as bearer");
}

#[tokio::test]
async fn a_bound_subject_token_is_exchanged_only_with_a_proof_of_its_key() {
    let fx = start().await;
    let holder = DpopClient::new().expect("a key");
    let subject = backend_token(&fx.mock, &holder).await;
    let endpoint = fx.mock.token_endpoint();
    let exchange = |proof: Option<String>| {
        let (mock, subject) = (&fx.mock, subject.clone());
        async move {
            token_request(
                mock,
                "demo-exchange",
                Some("demo-exchange-secret"),
                &[
                    (
                        "grant_type",
                        "urn:ietf:params:oauth:grant-type:token-exchange",
                    ),
                    ("subject_token", &subject),
                    (
                        "subject_token_type",
                        "urn:ietf:params:oauth:token-type:access_token",
                    ),
                ],
                proof.as_deref(),
            )
            .await
        }
    };
    // Without a proof, or with another key's: the binding would be laundered away.
    let (status, body) = exchange(None).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_request", "{body}");
    let thief = DpopClient::new().expect("a key");
    let (status, body) = exchange(Some(thief.proof("POST", &endpoint, None))).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_request", "{body}");
    // The holder's proof: the new token is bound to the same key.
    let (status, body) = exchange(Some(holder.proof("POST", &endpoint, None))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP", "{body}");
    let issued = body["access_token"].as_str().expect("an access token");
    assert_eq!(payload(issued)["cnf"]["jkt"], holder.jkt());
}

#[tokio::test]
async fn a_confidential_clients_refresh_token_is_not_bound_to_the_key() {
    // RFC 9449 §5: the client authenticates on refresh, so its refresh token stays unbound;
    // the access token it gets is bound to whatever key the refresh request proves.
    let fx = start().await;
    let client = DpopClient::new().expect("a key");
    let code = &alices_code(&fx.mock, "demo-web", WEB_CALLBACK, &[]).await;
    let endpoint = fx.mock.token_endpoint();
    let (status, body) = token_request(
        &fx.mock,
        "demo-web",
        Some("demo-web-secret"),
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", WEB_CALLBACK),
        ],
        Some(&client.proof("POST", &endpoint, None)),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP", "{body}");
    let refresh_token = body["refresh_token"].as_str().expect("a refresh token");
    let refresh = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];
    // No proof: a bearer token.
    let (status, body) = token_request(
        &fx.mock,
        "demo-web",
        Some("demo-web-secret"),
        &refresh,
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer", "{body}");
    let access = body["access_token"].as_str().expect("access token");
    assert!(payload(access).get("cnf").is_none(), "{access}");
    // Another key's proof: bound to that key.
    let other = DpopClient::new().expect("a key");
    let (status, body) = token_request(
        &fx.mock,
        "demo-web",
        Some("demo-web-secret"),
        &refresh,
        Some(&other.proof("POST", &endpoint, None)),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let access = body["access_token"].as_str().expect("access token");
    assert_eq!(payload(access)["cnf"]["jkt"], other.jkt());
}
