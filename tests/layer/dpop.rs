//! DPoP (RFC 9449) through `JwtAuthLayer` over loopback: the three modes, the challenges of
//! §7.1–7.2, the token's binding, replays (also on verified-token cache hits), `htu` behind a
//! proxy, server nonces, the replay store's outages, and gRPC.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use reqwest::RequestBuilder;
use serde_json::json;
use tokengate::{
    Algorithm, AuthErrorKind, Claims, Dpop, JwtAuthLayer, ManualClock, MemoryReplayStore,
    ReplayFuture, ReplayStore, ReplayStoreError, RequireScope,
};

use crate::dpop_client::DpopKey;
use crate::support::now;
use crate::{Hits, Reply, Server, authorizer, http2_client, send, token, token_with};

/// Every algorithm the default allowlist holds, as `algs` lists them.
pub(crate) const ALGS: &str = "RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 EdDSA";

/// The client's DPoP key (ES256).
pub(crate) fn client_key() -> &'static DpopKey {
    static KEY: std::sync::OnceLock<DpopKey> = std::sync::OnceLock::new();
    KEY.get_or_init(|| DpopKey::generate(Algorithm::ES256))
}

/// A valid Cognito access token bound to `key` (`cnf.jkt`).
pub(crate) fn bound_token(key: &DpopKey) -> String {
    token_with(|claims| {
        claims.insert("cnf".into(), json!({"jkt": key.jkt()}));
    })
}

/// `/me` answering the bound key's thumbprint (or `-`), `POST /orders` needing `api/delete`;
/// both count their calls.
pub(crate) fn app(layer: JwtAuthLayer, hits: &Hits) -> Router {
    let (me, orders) = (hits.clone(), hits.clone());
    Router::new()
        .route(
            "/me",
            get(move |claims: Claims| async move {
                me.hit();
                claims.dpop_jkt().unwrap_or("-").to_owned()
            }),
        )
        .route(
            "/orders",
            post(move || async move {
                orders.hit();
                "created"
            })
            .route_layer(RequireScope::all(["api/delete"])),
        )
        .layer(layer)
}

pub(crate) async fn serve(layer: JwtAuthLayer) -> (Server, Hits) {
    let hits = Hits::default();
    (Server::start(app(layer, &hits)).await, hits)
}

/// `request` with `Authorization: DPoP <token>` and, when given, `DPoP: <proof>`.
pub(crate) fn with_dpop(
    request: RequestBuilder,
    token: &str,
    proof: Option<&str>,
) -> RequestBuilder {
    let request = request.header("authorization", format!("DPoP {token}"));
    match proof {
        Some(proof) => request.header("dpop", proof),
        None => request,
    }
}

/// `GET /me` with `token` and a fresh proof for it by `key`.
pub(crate) async fn get_me(server: &Server, key: &DpopKey, token: &str) -> Reply {
    let url = format!("{}/me", server.base);
    let proof = key.proof("GET", &url, token);
    send(with_dpop(server.get("/me"), token, Some(&proof))).await
}

/// The DPoP challenge of a refusal of `kind` (alone, as a `Dpop::required` layer sends it).
pub(crate) fn dpop_challenge(kind: AuthErrorKind) -> String {
    let code = kind.code().expect("an error code").as_str();
    format!(
        "DPoP realm=\"api\", error=\"{code}\", error_description=\"{}\", algs=\"{ALGS}\"",
        kind.description()
    )
}

#[tokio::test]
async fn required_mode_serves_a_bound_token_with_a_fresh_proof() {
    let (server, hits) = serve(JwtAuthLayer::new(authorizer()).dpop(Dpop::required())).await;
    let key = client_key();
    let token = bound_token(key);
    let reply = get_me(&server, key, &token).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body, key.jkt(), "the handler sees the binding");
    // Another proof, another request: the same token keeps working.
    assert_eq!(get_me(&server, key, &token).await.status, 200);
    assert_eq!(hits.count(), 2);
}

#[tokio::test]
async fn required_mode_challenges_with_dpop_only_and_takes_no_bearer_token() {
    let (server, hits) = serve(JwtAuthLayer::new(authorizer()).dpop(Dpop::required())).await;
    let reply = send(server.get("/me")).await;
    assert_eq!(reply.status, 401);
    let no_error = format!("DPoP realm=\"api\", algs=\"{ALGS}\"");
    assert_eq!(reply.www_authenticate(), Some(no_error.as_str()));
    // A bearer token is an unsupported scheme here: no credential (RFC 6750 §3.1).
    let reply = server.get_with("/me", &token()).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.www_authenticate(), Some(no_error.as_str()));
    assert_eq!(hits.count(), 0);
}

#[tokio::test]
async fn allowed_mode_takes_both_schemes_and_challenges_with_both() {
    let (server, hits) = serve(JwtAuthLayer::new(authorizer()).dpop(Dpop::allowed())).await;
    let reply = send(server.get("/me")).await;
    assert_eq!(reply.status, 401);
    // RFC 9449 §7.2, Figure 17: no credential, no error in either challenge.
    assert_eq!(
        reply.www_authenticate(),
        Some(format!("Bearer realm=\"api\", DPoP realm=\"api\", algs=\"{ALGS}\"").as_str())
    );
    let reply = server.get_with("/me", &token()).await;
    assert_eq!(reply.status, 200, "an unbound bearer token: {reply:?}");
    assert_eq!(reply.body, "-");
    let key = client_key();
    let reply = get_me(&server, key, &bound_token(key)).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(hits.count(), 2);

    // Figure 18: a bearer attempt gets its error on the Bearer challenge only.
    let reply = server.get_with("/me", "not-a-jwt").await;
    assert_eq!(
        reply.www_authenticate(),
        Some(
            format!(
                "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"{}\", \
                 DPoP realm=\"api\", algs=\"{ALGS}\"",
                AuthErrorKind::Malformed.description()
            )
            .as_str()
        )
    );
    // A DPoP attempt gets it on the DPoP challenge only.
    let reply = send(with_dpop(server.get("/me"), "not-a-jwt", None)).await;
    assert_eq!(
        reply.www_authenticate(),
        Some(
            format!(
                "Bearer realm=\"api\", DPoP realm=\"api\", error=\"invalid_dpop_proof\", \
                 error_description=\"{}\", algs=\"{ALGS}\"",
                AuthErrorKind::DpopProofMissing.description()
            )
            .as_str()
        )
    );
    // Figure 19: two Authorization fields are ambiguous, so both challenges carry the error.
    let reply = send(
        server
            .get("/me")
            .header("authorization", format!("Bearer {}", token()))
            .header("authorization", format!("DPoP {}", token())),
    )
    .await;
    assert_eq!(reply.status, 400);
    let description = AuthErrorKind::MalformedRequest.description();
    assert_eq!(
        reply.www_authenticate(),
        Some(
            format!(
                "Bearer realm=\"api\", error=\"invalid_request\", error_description=\"{description}\", \
                 DPoP realm=\"api\", error=\"invalid_request\", error_description=\"{description}\", \
                 algs=\"{ALGS}\""
            )
            .as_str()
        )
    );
    assert_eq!(hits.count(), 2);
}

#[tokio::test]
async fn a_bound_token_sent_as_bearer_is_refused_in_every_mode() {
    let key = client_key();
    let bound = bound_token(key);
    let kind = AuthErrorKind::DpopBoundTokenAsBearer;
    for (layer, challenge) in [
        (
            JwtAuthLayer::new(authorizer()),
            crate::invalid_token_challenge(kind),
        ),
        (
            JwtAuthLayer::new(authorizer()).dpop(Dpop::allowed()),
            format!(
                "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"{}\", \
                 DPoP realm=\"api\", algs=\"{ALGS}\"",
                kind.description()
            ),
        ),
    ] {
        let (server, hits) = serve(layer).await;
        // The second time, the token is a verified-token cache hit: refused all the same.
        for _ in 0..2 {
            let reply = server.get_with("/me", &bound).await;
            assert_eq!(reply.status, 401);
            assert_eq!(reply.www_authenticate(), Some(challenge.as_str()));
            reply.assert_error_body("invalid_token", kind.description());
        }
        assert_eq!(hits.count(), 0);
    }
}

#[tokio::test]
async fn a_bearer_only_layer_reads_the_dpop_scheme_as_no_credential() {
    let (server, hits) = serve(JwtAuthLayer::new(authorizer())).await;
    let key = client_key();
    let token = bound_token(key);
    let reply = get_me(&server, key, &token).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.www_authenticate(), Some(crate::NO_TOKEN_CHALLENGE));
    assert_eq!(hits.count(), 0);
}

#[tokio::test]
async fn the_token_must_be_bound_to_the_proofs_key() {
    let (server, hits) = serve(JwtAuthLayer::new(authorizer()).dpop(Dpop::required())).await;
    let key = client_key();
    // Unbound token with the DPoP scheme.
    let unbound = token();
    let reply = get_me(&server, key, &unbound).await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.www_authenticate(),
        Some(dpop_challenge(AuthErrorKind::DpopTokenUnbound).as_str())
    );
    // Bound to another key: RFC 9449 Figure 16's refusal.
    let thief = DpopKey::generate(Algorithm::ES256);
    let reply = get_me(&server, &thief, &bound_token(key)).await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.www_authenticate(),
        Some(dpop_challenge(AuthErrorKind::DpopKeyMismatch).as_str())
    );
    reply.assert_error_body(
        "invalid_token",
        AuthErrorKind::DpopKeyMismatch.description(),
    );
    assert_eq!(hits.count(), 0);
}

#[tokio::test]
async fn every_algorithm_family_can_sign_proofs() {
    let (server, hits) = serve(JwtAuthLayer::new(authorizer()).dpop(Dpop::required())).await;
    for alg in [Algorithm::ES384, Algorithm::EdDSA, Algorithm::PS256] {
        let key = DpopKey::generate(alg);
        let reply = get_me(&server, &key, &bound_token(&key)).await;
        assert_eq!(reply.status, 200, "{alg}: {reply:?}");
    }
    assert_eq!(hits.count(), 3);
}

#[tokio::test]
async fn a_replayed_proof_is_refused_even_when_the_token_is_a_cache_hit() {
    let (server, hits) = serve(JwtAuthLayer::new(authorizer()).dpop(Dpop::required())).await;
    let key = client_key();
    let token = bound_token(key);
    let url = format!("{}/me", server.base);
    let proof = key.proof("GET", &url, &token);
    let first = send(with_dpop(server.get("/me"), &token, Some(&proof))).await;
    assert_eq!(first.status, 200);
    // Same token (now in the verified-token cache), same proof: a replay.
    let again = send(with_dpop(server.get("/me"), &token, Some(&proof))).await;
    assert_eq!(again.status, 401);
    assert_eq!(
        again.www_authenticate(),
        Some(dpop_challenge(AuthErrorKind::DpopProofReplayed).as_str())
    );
    // A cache hit still has its proof checked: another method's proof is refused.
    let wrong = key.proof("POST", &url, &token);
    let reply = send(with_dpop(server.get("/me"), &token, Some(&wrong))).await;
    assert_eq!(
        reply.www_authenticate(),
        Some(dpop_challenge(AuthErrorKind::DpopProofMismatch).as_str())
    );
    assert_eq!(get_me(&server, key, &token).await.status, 200);
    assert_eq!(hits.count(), 2);
}

#[tokio::test]
async fn only_a_request_that_passes_everything_uses_up_its_proof() {
    let (server, hits) = serve(JwtAuthLayer::new(authorizer()).dpop(Dpop::required())).await;
    let key = client_key();
    let token = bound_token(key);
    let url = format!("{}/orders", server.base);
    let proof = key.proof("POST", &url, &token);
    // Refused by the route's scope requirement after the layer let it through: it was used.
    let reply = send(with_dpop(server.post("/orders"), &token, Some(&proof))).await;
    assert_eq!(reply.status, 403);
    // RFC 9449 §7.1: the scope refusal is a DPoP challenge too.
    assert_eq!(
        reply.www_authenticate(),
        Some(
            format!(
                "DPoP realm=\"api\", error=\"insufficient_scope\", error_description=\"{}\", \
                 scope=\"api/delete\", algs=\"{ALGS}\"",
                AuthErrorKind::InsufficientScope.description()
            )
            .as_str()
        )
    );
    // It passed the layer, so it is used up, whatever the route then said.
    let reply = send(with_dpop(server.post("/orders"), &token, Some(&proof))).await;
    assert_eq!(
        reply.www_authenticate(),
        Some(dpop_challenge(AuthErrorKind::DpopProofReplayed).as_str())
    );
    // A proof refused for its method never reached the store: fixed, it passes.
    let me = format!("{}/me", server.base);
    let jti_reused = key.proof_with("POST", &me, &token, |p| {
        p.claims["jti"] = json!("one-jti");
    });
    let reply = send(with_dpop(server.get("/me"), &token, Some(&jti_reused))).await;
    assert_eq!(reply.status, 401);
    let fixed = key.proof_with("GET", &me, &token, |p| p.claims["jti"] = json!("one-jti"));
    let reply = send(with_dpop(server.get("/me"), &token, Some(&fixed))).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(hits.count(), 1);
}

#[tokio::test]
async fn htu_is_compared_after_normalisation() {
    let (server, hits) = serve(JwtAuthLayer::new(authorizer()).dpop(Dpop::required())).await;
    let key = client_key();
    let token = bound_token(key);
    let port = server.base.rsplit(':').next().expect("port");
    for htu in [
        format!("HTTP://127.0.0.1:{port}/me"),
        format!("http://127.0.0.1:{port}/me?page=2#top"),
        format!("http://127.0.0.1:{port}/./%6De"),
    ] {
        let proof = key.proof("GET", &htu, &token);
        let reply = send(with_dpop(server.get("/me"), &token, Some(&proof))).await;
        assert_eq!(reply.status, 200, "{htu}: {reply:?}");
    }
    for htu in [
        format!("https://127.0.0.1:{port}/me"),
        format!("http://127.0.0.1:{port}/me/"),
        format!("http://localhost:{port}/me"),
        "/me".to_owned(),
    ] {
        let proof = key.proof("GET", &htu, &token);
        let reply = send(with_dpop(server.get("/me"), &token, Some(&proof))).await;
        assert_eq!(reply.status, 401, "{htu}");
    }
    assert_eq!(hits.count(), 3);
}

#[tokio::test]
async fn behind_a_proxy_htu_is_the_public_url_and_the_path() {
    let dpop = Dpop::required()
        .public_url("https://api.example.com/v1")
        .expect("public url");
    let (server, hits) = serve(JwtAuthLayer::new(authorizer()).dpop(dpop)).await;
    let key = client_key();
    let token = bound_token(key);
    let public = key.proof("GET", "https://API.example.com:443/v1/me", &token);
    let reply = send(with_dpop(server.get("/me"), &token, Some(&public))).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    // The address the proxy reached us at is not what the client signed.
    let local = key.proof("GET", &format!("{}/me", server.base), &token);
    let reply = send(with_dpop(server.get("/me"), &token, Some(&local))).await;
    assert_eq!(
        reply.www_authenticate(),
        Some(dpop_challenge(AuthErrorKind::DpopProofMismatch).as_str())
    );
    assert_eq!(hits.count(), 1);
    assert!(
        Dpop::required()
            .public_url("https://api.example.com/?q=1")
            .is_err()
    );
    assert!(Dpop::required().public_url("api.example.com").is_err());
}

#[tokio::test]
async fn server_nonces_are_handed_out_required_and_renewed() {
    let clock = ManualClock::new(now());
    let dpop = Dpop::required()
        .clock(clock.clone())
        .nonce_lifetime(Duration::from_secs(300))
        .require_nonce([42u8; 32])
        .expect("secret");
    let (server, hits) = serve(JwtAuthLayer::new(authorizer()).dpop(dpop)).await;
    let key = client_key();
    let token = bound_token(key);
    let url = format!("{}/me", server.base);
    let proof_with_nonce = |nonce: &str| {
        let (nonce, iat) = (nonce.to_owned(), clock.now_secs());
        key.proof_with("GET", &url, &token, move |p| {
            p.claims["nonce"] = json!(nonce);
            p.claims["iat"] = json!(iat);
        })
    };

    // RFC 9449 §9, Figure 24: no nonce → use_dpop_nonce and one to use.
    let reply = get_me_at(&server, key, &token, &clock).await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.www_authenticate(),
        Some(dpop_challenge(AuthErrorKind::DpopNonceRequired).as_str())
    );
    let nonce = reply.header("dpop-nonce").expect("a nonce").to_owned();
    let reply = send(with_dpop(
        server.get("/me"),
        &token,
        Some(&proof_with_nonce(&nonce)),
    ))
    .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.header("dpop-nonce"), None, "still current");

    // One lifetime on: still accepted, and the next nonce rides on the 200 (§8.2).
    clock.advance(300);
    let reply = send(with_dpop(
        server.get("/me"),
        &token,
        Some(&proof_with_nonce(&nonce)),
    ))
    .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let next = reply
        .header("dpop-nonce")
        .expect("the next nonce")
        .to_owned();
    assert_ne!(next, nonce);
    assert_eq!(reply.header("cache-control"), Some("no-store"));

    // Two lifetimes on: refused, with the current nonce.
    clock.advance(300);
    let reply = send(with_dpop(
        server.get("/me"),
        &token,
        Some(&proof_with_nonce(&nonce)),
    ))
    .await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.www_authenticate(),
        Some(dpop_challenge(AuthErrorKind::DpopNonceRequired).as_str())
    );
    assert!(reply.header("dpop-nonce").is_some());
    // A made-up nonce is no nonce.
    let reply = send(with_dpop(
        server.get("/me"),
        &token,
        Some(&proof_with_nonce("made-up")),
    ))
    .await;
    assert_eq!(reply.status, 401);
    assert_eq!(hits.count(), 2);
    assert!(Dpop::required().require_nonce(b"too short").is_err());
}

/// `GET /me` with a proof whose `iat` is the manual clock's time.
async fn get_me_at(server: &Server, key: &DpopKey, token: &str, clock: &ManualClock) -> Reply {
    let url = format!("{}/me", server.base);
    let proof = key.proof_with("GET", &url, token, |p| {
        p.claims["iat"] = json!(clock.now_secs());
    });
    send(with_dpop(server.get("/me"), token, Some(&proof))).await
}

trait NowSecs {
    fn now_secs(&self) -> u64;
}

impl NowSecs for ManualClock {
    fn now_secs(&self) -> u64 {
        tokengate::Clock::now_unix(self)
    }
}

#[tokio::test]
async fn the_iat_window_follows_the_layers_clock() {
    let clock = ManualClock::new(now());
    let dpop = Dpop::required()
        .clock(clock.clone())
        .iat_window(Duration::from_secs(10))
        .expect("window");
    let (server, hits) = serve(JwtAuthLayer::new(authorizer()).dpop(dpop)).await;
    let key = client_key();
    let token = bound_token(key);
    assert_eq!(get_me_at(&server, key, &token, &clock).await.status, 200);
    let url = format!("{}/me", server.base);
    let iat = clock.now_secs();
    let made_now = key.proof_with("GET", &url, &token, |p| p.claims["iat"] = json!(iat));
    clock.advance(11);
    let reply = send(with_dpop(server.get("/me"), &token, Some(&made_now))).await;
    assert_eq!(
        reply.www_authenticate(),
        Some(dpop_challenge(AuthErrorKind::DpopProofStale).as_str())
    );
    assert_eq!(hits.count(), 1);
}

/// A replay store that cannot answer.
#[derive(Debug)]
struct DownStore;

impl ReplayStore for DownStore {
    fn first_use<'a>(&'a self, _key: &'a [u8; 32], _ttl: Duration) -> ReplayFuture<'a> {
        Box::pin(async { Err(ReplayStoreError::new("connection refused")) })
    }
}

#[tokio::test]
async fn an_unavailable_replay_store_is_503_unless_told_to_skip_the_check() {
    let (server, hits) =
        serve(JwtAuthLayer::new(authorizer()).dpop(Dpop::required().replay_store(DownStore))).await;
    let key = client_key();
    let token = bound_token(key);
    let reply = get_me(&server, key, &token).await;
    assert_eq!(reply.status, 503);
    assert_eq!(reply.header("retry-after"), Some("1"));
    assert_eq!(reply.www_authenticate(), None);
    reply.assert_error_body(
        "temporarily_unavailable",
        AuthErrorKind::ReplayStoreUnavailable.description(),
    );
    assert_eq!(hits.count(), 0);

    let skipping = Dpop::required()
        .replay_store(DownStore)
        .skip_replay_check_when_store_unavailable();
    let (server, hits) = serve(JwtAuthLayer::new(authorizer()).dpop(skipping)).await;
    assert_eq!(get_me(&server, key, &token).await.status, 200);
    assert_eq!(hits.count(), 1);
}

#[tokio::test]
async fn a_full_memory_store_refuses_new_proofs_rather_than_forgetting_old_ones() {
    let store = Arc::new(MemoryReplayStore::with_max_entries(2));
    let dpop = Dpop::required().shared_replay_store(store.clone());
    let (server, _hits) = serve(JwtAuthLayer::new(authorizer()).dpop(dpop)).await;
    let key = client_key();
    let token = bound_token(key);
    assert_eq!(get_me(&server, key, &token).await.status, 200);
    assert_eq!(get_me(&server, key, &token).await.status, 200);
    assert_eq!(get_me(&server, key, &token).await.status, 503);
    assert_eq!(store.len(), 2);
}

#[tokio::test]
async fn grpc_requests_get_grpc_statuses_for_dpop_refusals() {
    let hits = Hits::default();
    let app = Router::new()
        .route(
            "/orders.v1.Orders/List",
            post({
                let hits = hits.clone();
                move || async move {
                    hits.hit();
                    (
                        [("content-type", "application/grpc"), ("grpc-status", "0")],
                        "",
                    )
                }
            }),
        )
        .layer(JwtAuthLayer::new(authorizer()).dpop(Dpop::required()));
    let server = Server::start(app).await;
    let key = client_key();
    let token = bound_token(key);
    let url = format!("{}/orders.v1.Orders/List", server.base);
    let call = |proof: Option<String>| {
        // gRPC proper is HTTP/2: over HTTP/1.1 the same request would get HTTP statuses.
        let request = http2_client()
            .post(&url)
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .body(vec![0u8, 0, 0, 0, 0]);
        send(with_dpop(request, &token, proof.as_deref()))
    };
    let reply = call(Some(key.proof("POST", &url, &token))).await;
    assert_eq!(reply.header("grpc-status"), Some("0"), "{reply:?}");
    for (proof, kind) in [
        (None, AuthErrorKind::DpopProofMissing),
        (
            Some(key.proof("GET", &url, &token)),
            AuthErrorKind::DpopProofMismatch,
        ),
    ] {
        let reply = call(proof).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("grpc-status"), Some("16"), "{kind:?}");
        assert_eq!(reply.header("grpc-message"), Some(kind.description()));
    }
    let down = Router::new()
        .route("/orders.v1.Orders/List", post(|| async { "" }))
        .layer(JwtAuthLayer::new(authorizer()).dpop(Dpop::required().replay_store(DownStore)));
    let down = Server::start(down).await;
    let url = format!("{}/orders.v1.Orders/List", down.base);
    let reply = send(with_dpop(
        http2_client()
            .post(&url)
            .header("content-type", "application/grpc")
            .body(vec![0u8, 0, 0, 0, 0]),
        &token,
        Some(&key.proof("POST", &url, &token)),
    ))
    .await;
    assert_eq!(reply.header("grpc-status"), Some("14"));
    assert_eq!(hits.count(), 1);
}

#[tokio::test]
async fn a_malformed_cnf_is_refused_not_ignored() {
    // Ignored, a `cnf` the reader cannot use would let a bound token pass as a bearer one.
    let (server, hits) = serve(JwtAuthLayer::new(authorizer()).dpop(Dpop::allowed())).await;
    for cnf in [json!("jkt"), json!({"jkt": 42}), json!(["jkt"])] {
        let token = token_with(|claims| {
            claims.insert("cnf".into(), cnf.clone());
        });
        let reply = server.get_with("/me", &token).await;
        assert_eq!(reply.status, 401, "{cnf}");
        reply.assert_error_body("invalid_token", AuthErrorKind::MalformedClaim.description());
    }
    assert_eq!(hits.count(), 0);
}

#[tokio::test]
async fn a_cnf_with_a_confirmation_method_tokengate_cannot_check_is_refused() {
    // A certificate-bound token (RFC 8705) taken without its certificate check would pass as
    // a bearer token: refused, with the DPoP scheme and a valid proof too.
    let (server, hits) = serve(JwtAuthLayer::new(authorizer()).dpop(Dpop::allowed())).await;
    let key = client_key();
    let kind = AuthErrorKind::UnsupportedConfirmation;
    for cnf in [
        json!({"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}),
        json!({"jkt": key.jkt(), "x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}),
        json!({"jwk": key.public_jwk()}),
        json!({"kid": "k1"}),
    ] {
        let token = token_with(|claims| {
            claims.insert("cnf".into(), cnf.clone());
        });
        let reply = server.get_with("/me", &token).await;
        assert_eq!(reply.status, 401, "{cnf}");
        reply.assert_error_body("invalid_token", kind.description());
        let reply = get_me(&server, key, &token).await;
        assert_eq!(reply.status, 401, "{cnf}");
        reply.assert_error_body("invalid_token", kind.description());
    }
    assert_eq!(hits.count(), 0);
    // `cnf` with `jkt` alone is the DPoP binding, as before.
    let reply = get_me(&server, key, &bound_token(key)).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(hits.count(), 1);
}

/// A Keycloak access token for [`crate::key`], its payload `typ` given, and with `cnf.jkt`
/// when bound to `key`.
fn keycloak_token(typ: &str, bound_to: Option<&DpopKey>) -> String {
    let now = now();
    let mut claims = json!({
        "iss": KEYCLOAK_REALM,
        "exp": now + 300,
        "iat": now - 5,
        "sub": "0b6f5e2c",
        "typ": typ,
        "azp": "orders-web",
        "aud": "account",
        "preferred_username": "alice",
        "scope": "openid profile",
    });
    if let Some(key) = bound_to {
        claims["cnf"] = json!({"jkt": key.jkt()});
    }
    crate::key().token(&claims)
}

const KEYCLOAK_REALM: &str = "https://sso.example.com/realms/acme";

#[tokio::test]
async fn keycloak_dpop_typed_tokens_pass_with_their_binding_only() {
    let authorizer = tokengate::Authorizer::builder(tokengate::Profile::keycloak())
        .issuer(KEYCLOAK_REALM)
        .authorized_party("orders-web")
        .keys(
            tokengate::KeySet::from_jwks_json(&crate::support::jwks(&[crate::key()]))
                .expect("keys"),
        )
        .build();
    let (server, hits) = serve(JwtAuthLayer::new(authorizer).dpop(Dpop::allowed())).await;
    let key = client_key();
    // Keycloak types a DPoP-bound access token `DPoP`: served with a proof of its key...
    let bound = keycloak_token("DPoP", Some(key));
    let reply = get_me(&server, key, &bound).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body, key.jkt());
    // ...and refused as a bearer token (RFC 9449 §7.2).
    let reply = server.get_with("/me", &bound).await;
    assert_eq!(reply.status, 401);
    reply.assert_error_body(
        "invalid_token",
        AuthErrorKind::DpopBoundTokenAsBearer.description(),
    );
    // `DPoP` without the key it is bound to could never be checked as one.
    let unbound = keycloak_token("DPoP", None);
    for reply in [
        server.get_with("/me", &unbound).await,
        get_me(&server, key, &unbound).await,
    ] {
        assert_eq!(reply.status, 401);
        reply.assert_error_body("invalid_token", AuthErrorKind::WrongTokenUse.description());
    }
    // Bearer tokens keep working; other types stay refused.
    assert_eq!(
        server
            .get_with("/me", &keycloak_token("Bearer", None))
            .await
            .status,
        200
    );
    let reply = server
        .get_with("/me", &keycloak_token("Refresh", None))
        .await;
    reply.assert_error_body("invalid_token", AuthErrorKind::WrongTokenUse.description());
    assert_eq!(hits.count(), 2);
}

/// An introspection endpoint (RFC 7662) that answers every token with the Cognito access
/// claims, `token_type` and the binding given (RFC 9449 §6.2).
async fn introspection_endpoint(token_type: &'static str, jkt: String) -> Server {
    let mut answer = crate::support::cognito_access_claims();
    answer["active"] = json!(true);
    answer["token_type"] = json!(token_type);
    answer["cnf"] = json!({ "jkt": jkt });
    Server::start(Router::new().route(
        "/introspect",
        post(move || {
            let answer = answer.clone();
            async move { axum::Json(answer) }
        }),
    ))
    .await
}

#[tokio::test]
async fn an_introspected_token_is_bound_by_the_answers_cnf_like_a_jwt() {
    let key = client_key();
    let endpoint = introspection_endpoint("DPoP", key.jkt()).await;
    let introspection = tokengate::Introspection::new(
        &format!("{}/introspect", endpoint.base),
        tokengate::ClientAuth::basic("api", "api-secret"),
    )
    .expect("loopback URL");
    let authorizer = tokengate::Authorizer::builder(tokengate::Profile::cognito_access())
        .issuer(crate::support::ISSUER)
        .client_id(crate::support::CLIENT_ID)
        .introspection(introspection)
        .build();
    let (server, hits) = serve(JwtAuthLayer::new(authorizer).dpop(Dpop::allowed())).await;
    let opaque = "opaque-dpop-bound-7c1e";

    // The key the answer names, with a fresh proof: served, and the handler sees the binding.
    let reply = get_me(&server, key, opaque).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body, key.jkt());
    // Another key's proof: refused, whatever the answer cache holds.
    let thief = DpopKey::generate(Algorithm::ES256);
    let reply = get_me(&server, &thief, opaque).await;
    assert_eq!(reply.status, 401, "{reply:?}");
    // Presented as a bearer token: refused (§7.2).
    let reply = send(server.get("/me").bearer_auth(opaque)).await;
    assert_eq!(reply.status, 401, "{reply:?}");
    assert_eq!(hits.count(), 1);
}

#[tokio::test]
async fn inside_a_nested_router_htu_names_the_path_the_client_called() {
    // `Router::nest` strips "/api" before the layer sees the request: the proof still names
    // the URL the client called, `/api/me`.
    let hits = Hits::default();
    let api = app(
        JwtAuthLayer::new(authorizer()).dpop(Dpop::required()),
        &hits,
    );
    let server = Server::start(Router::new().nest("/api", api)).await;
    let key = client_key();
    let token = bound_token(key);
    let called = key.proof("GET", &format!("{}/api/me", server.base), &token);
    let reply = send(with_dpop(server.get("/api/me"), &token, Some(&called))).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    // A proof for the path as the nested router sees it names another URL.
    let stripped = key.proof("GET", &format!("{}/me", server.base), &token);
    let reply = send(with_dpop(server.get("/api/me"), &token, Some(&stripped))).await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.www_authenticate(),
        Some(dpop_challenge(AuthErrorKind::DpopProofMismatch).as_str())
    );
    // Behind a proxy too: the public URL and the whole path.
    let dpop = Dpop::required()
        .public_url("https://api.example.com")
        .expect("public url");
    let api = app(JwtAuthLayer::new(authorizer()).dpop(dpop), &hits);
    let server = Server::start(Router::new().nest("/api", api)).await;
    let public = key.proof("GET", "https://api.example.com/api/me", &token);
    let reply = send(with_dpop(server.get("/api/me"), &token, Some(&public))).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let public_stripped = key.proof("GET", "https://api.example.com/me", &token);
    let reply = send(with_dpop(
        server.get("/api/me"),
        &token,
        Some(&public_stripped),
    ))
    .await;
    assert_eq!(reply.status, 401);
    assert_eq!(hits.count(), 2);
}

#[tokio::test]
async fn replicas_whose_clocks_differ_still_refuse_a_replay() {
    // Two replicas behind one load balancer, sharing a store, the second's clock 3 s behind.
    // The store expires entries by its own clock: how long it keeps a `jti` must not depend
    // on the clock of the replica that recorded it.
    let store: Arc<dyn ReplayStore> = Arc::new(MemoryReplayStore::new());
    let at = now();
    let replica = |clock: ManualClock| {
        let dpop = Dpop::required()
            .public_url("https://api.example.com")
            .expect("public url")
            .iat_window(Duration::from_secs(2))
            .expect("window")
            .clock(clock)
            .shared_replay_store(Arc::clone(&store));
        JwtAuthLayer::new(authorizer()).dpop(dpop)
    };
    let (first, _) = serve(replica(ManualClock::new(at))).await;
    let (second, hits) = serve(replica(ManualClock::new(at - 3))).await;
    let key = client_key();
    let token = bound_token(key);
    // Made 2 s before the first replica's now, 1 s after the second's: both accept it.
    let proof = key.proof_with("GET", "https://api.example.com/me", &token, |p| {
        p.claims["iat"] = json!(at - 2);
    });
    let reply = send(with_dpop(first.get("/me"), &token, Some(&proof))).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let reply = send(with_dpop(second.get("/me"), &token, Some(&proof))).await;
    assert_eq!(
        reply.www_authenticate(),
        Some(dpop_challenge(AuthErrorKind::DpopProofReplayed).as_str()),
        "{reply:?}"
    );
    assert_eq!(hits.count(), 0);
}

/// A replay store that records the TTL it is asked to keep each proof for.
#[derive(Debug, Default)]
struct TtlRecorder(std::sync::Mutex<Vec<Duration>>);

impl ReplayStore for TtlRecorder {
    fn first_use<'a>(&'a self, _key: &'a [u8; 32], ttl: Duration) -> ReplayFuture<'a> {
        self.0.lock().expect("lock").push(ttl);
        Box::pin(async { Ok(true) })
    }
}

#[tokio::test]
async fn a_proof_is_remembered_twice_its_window_and_a_margin_whatever_its_iat() {
    let recorder = Arc::new(TtlRecorder::default());
    let clock = ManualClock::new(now());
    let dpop = Dpop::required()
        .iat_window(Duration::from_secs(30))
        .expect("window")
        .clock(clock.clone())
        .shared_replay_store(recorder.clone());
    let (server, hits) = serve(JwtAuthLayer::new(authorizer()).dpop(dpop)).await;
    let key = client_key();
    let token = bound_token(key);
    let url = format!("{}/me", server.base);
    for age in [-30i64, 0, 30] {
        let iat = clock.now_secs().saturating_add_signed(age);
        let proof = key.proof_with("GET", &url, &token, |p| p.claims["iat"] = json!(iat));
        let reply = send(with_dpop(server.get("/me"), &token, Some(&proof))).await;
        assert_eq!(reply.status, 200, "{age}: {reply:?}");
    }
    assert_eq!(hits.count(), 3);
    let margin = tokengate::DPOP_REPLAY_TTL_MARGIN;
    assert_eq!(
        *recorder.0.lock().expect("lock"),
        vec![Duration::from_secs(60) + margin; 3]
    );
}

#[test]
fn the_iat_window_is_bounded_by_an_hour() {
    assert!(
        Dpop::required()
            .iat_window(Duration::from_secs(3_600))
            .is_ok()
    );
    let err = Dpop::required()
        .iat_window(Duration::from_secs(3_601))
        .expect_err("more than an hour");
    assert!(
        matches!(err.kind(), tokengate::ErrorKind::Config(reason) if reason.contains("1 hour")),
        "{err}"
    );
    assert!(Dpop::required().iat_window(Duration::MAX).is_err());
}
