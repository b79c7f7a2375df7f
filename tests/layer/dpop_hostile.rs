//! Hostile DPoP proofs (RFC 9449 §4.3, §11): each is refused with 401 and the DPoP challenge
//! naming what is wrong, and never reaches the handler.

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use serde_json::{Value, json};
use tokengate::{Algorithm, AuthErrorKind, Dpop, JwtAuthLayer};
use tower::{Layer, ServiceExt};

use crate::dpop::{bound_token, client_key, dpop_challenge, serve, with_dpop};
use crate::dpop_client::{DpopKey, ProofParts, ath, unsigned};
use crate::support::{b64, now};
use crate::{Hits, authorizer, send, token as unbound_token};

/// A proof whose header and payload are these exact bytes, signed by `key`.
fn raw_proof(key: &DpopKey, header: &str, payload: &str) -> String {
    let input = format!("{}.{}", b64(header), b64(payload));
    let signature = key.key.sign_with(key.key.alg, input.as_bytes());
    format!("{input}.{}", b64(signature))
}

#[tokio::test]
async fn every_hostile_proof_is_refused_with_its_reason() {
    let (server, hits) = serve(JwtAuthLayer::new(authorizer()).dpop(Dpop::required())).await;
    let key = client_key();
    let token = bound_token(key);
    let url = format!("{}/me", server.base);
    let edit = |f: &dyn Fn(&mut ProofParts)| key.proof_with("GET", &url, &token, |p| f(p));
    let honest = key.parts("GET", &url, &token);
    let jwk = key.public_jwk();
    let thief = DpopKey::generate(Algorithm::ES256);
    let p384 = DpopKey::generate(Algorithm::ES384);
    let p521 = DpopKey::generate(Algorithm::ES512);

    use AuthErrorKind::*;
    let cases: Vec<(&str, String, AuthErrorKind)> = vec![
        (
            "wrong htm",
            edit(&|p| p.claims["htm"] = json!("POST")),
            DpopProofMismatch,
        ),
        (
            "htm in lower case",
            edit(&|p| p.claims["htm"] = json!("get")),
            DpopProofMismatch,
        ),
        (
            "wrong htu",
            edit(&|p| p.claims["htu"] = json!(format!("{url}/x"))),
            DpopProofMismatch,
        ),
        (
            "htu of another host",
            edit(&|p| p.claims["htu"] = json!("https://evil.example/me")),
            DpopProofMismatch,
        ),
        (
            "stale iat",
            edit(&|p| p.claims["iat"] = json!(now() - 120)),
            DpopProofStale,
        ),
        (
            "iat from the future",
            edit(&|p| p.claims["iat"] = json!(now() + 120)),
            DpopProofStale,
        ),
        (
            "wrong ath",
            edit(&|p| p.claims["ath"] = json!(ath(&unbound_token()))),
            DpopProofTokenHash,
        ),
        (
            "no ath",
            edit(&|p| {
                p.claims.as_object_mut().expect("obj").remove("ath");
            }),
            DpopProofMalformed,
        ),
        (
            "no jti",
            edit(&|p| {
                p.claims.as_object_mut().expect("obj").remove("jti");
            }),
            DpopProofMalformed,
        ),
        (
            "empty jti",
            edit(&|p| p.claims["jti"] = json!("")),
            DpopProofMalformed,
        ),
        (
            "huge jti",
            edit(&|p| p.claims["jti"] = json!("j".repeat(300))),
            DpopProofMalformed,
        ),
        (
            "numeric jti",
            edit(&|p| p.claims["jti"] = json!(42)),
            DpopProofMalformed,
        ),
        (
            "no iat",
            edit(&|p| {
                p.claims.as_object_mut().expect("obj").remove("iat");
            }),
            DpopProofMalformed,
        ),
        (
            "no typ",
            edit(&|p| {
                p.header.as_object_mut().expect("obj").remove("typ");
            }),
            DpopProofMalformed,
        ),
        (
            "typ JWT",
            edit(&|p| p.header["typ"] = json!("JWT")),
            DpopProofMalformed,
        ),
        (
            "typ at+jwt",
            edit(&|p| p.header["typ"] = json!("at+jwt")),
            DpopProofMalformed,
        ),
        (
            "crit header",
            edit(&|p| p.header["crit"] = json!(["exp"])),
            DpopProofMalformed,
        ),
        (
            "signed by another key",
            thief.proof_with("GET", &url, &token, |p| p.header["jwk"] = jwk.clone()),
            DpopProofSignature,
        ),
        (
            "private key in jwk",
            edit(&|p| p.header["jwk"]["d"] = json!(b64([7u8; 32]))),
            DpopProofKey,
        ),
        (
            "no jwk",
            edit(&|p| {
                p.header.as_object_mut().expect("obj").remove("jwk");
            }),
            DpopProofKey,
        ),
        (
            "jwk not an object",
            edit(&|p| p.header["jwk"] = json!("key")),
            DpopProofKey,
        ),
        (
            "symmetric jwk",
            edit(&|p| p.header["jwk"] = json!({"kty": "oct", "k": b64([1u8; 32])})),
            DpopProofKey,
        ),
        (
            "alg of another family",
            edit(&|p| p.header["alg"] = json!("RS256")),
            DpopProofKey,
        ),
        (
            "jwk of another curve",
            edit(&|p| p.header["jwk"] = p384.public_jwk()),
            DpopProofKey,
        ),
        (
            "alg none, no signature",
            unsigned(
                &json!({"typ": "dpop+jwt", "alg": "none", "jwk": jwk}),
                &honest.claims,
                b"",
            ),
            DpopProofAlgorithm,
        ),
        (
            "alg none, with a signature",
            unsigned(
                &json!({"typ": "dpop+jwt", "alg": "none", "jwk": jwk}),
                &honest.claims,
                b"sig",
            ),
            DpopProofAlgorithm,
        ),
        (
            "MAC algorithm",
            unsigned(
                &json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": jwk}),
                &honest.claims,
                &[9u8; 32],
            ),
            DpopProofAlgorithm,
        ),
        (
            "algorithm outside the allowlist",
            p521.proof("GET", &url, &token),
            DpopProofAlgorithm,
        ),
        (
            "too long",
            edit(&|p| p.claims["padding"] = json!("p".repeat(5000))),
            DpopProofMalformed,
        ),
        ("not a JWT", "not-a-proof".to_owned(), DpopProofMalformed),
        (
            "payload an array",
            raw_proof(key, &honest.header.to_string(), "[1,2]"),
            DpopProofMalformed,
        ),
        (
            "a claim twice",
            raw_proof(
                key,
                &honest.header.to_string(),
                &format!(
                    r#"{{"jti":"a","jti":"b","htm":"GET","htu":"{url}","iat":{},"ath":"{}"}}"#,
                    now(),
                    ath(&token)
                ),
            ),
            DpopProofMalformed,
        ),
    ];
    for (name, proof, kind) in &cases {
        let reply = send(with_dpop(server.get("/me"), &token, Some(proof))).await;
        assert_eq!(reply.status, 401, "{name}: {reply:?}");
        assert_eq!(
            reply.www_authenticate(),
            Some(dpop_challenge(*kind).as_str()),
            "{name}"
        );
        let code = kind.code().expect("code").as_str();
        reply.assert_error_body(code, kind.description());
    }
    assert_eq!(hits.count(), 0);
    // The honest proof still passes: none of the refusals used anything up.
    let reply = send(with_dpop(
        server.get("/me"),
        &token,
        Some(&key.sign(&honest)),
    ))
    .await;
    assert_eq!(reply.status, 200, "{reply:?}");
}

#[tokio::test]
async fn two_dpop_headers_or_none_are_refused() {
    let (server, hits) = serve(JwtAuthLayer::new(authorizer()).dpop(Dpop::required())).await;
    let key = client_key();
    let token = bound_token(key);
    let url = format!("{}/me", server.base);
    let reply = send(with_dpop(server.get("/me"), &token, None)).await;
    assert_eq!(
        reply.www_authenticate(),
        Some(dpop_challenge(AuthErrorKind::DpopProofMissing).as_str())
    );
    let two = with_dpop(
        server.get("/me"),
        &token,
        Some(&key.proof("GET", &url, &token)),
    )
    .header("dpop", key.proof("GET", &url, &token));
    let reply = send(two).await;
    assert_eq!(
        reply.www_authenticate(),
        Some(dpop_challenge(AuthErrorKind::DpopProofMalformed).as_str())
    );
    let spaced = with_dpop(server.get("/me"), &token, Some("a b"));
    assert_eq!(send(spaced).await.status, 401);
    assert_eq!(hits.count(), 0);
}

#[tokio::test]
async fn the_proof_size_limit_is_configurable() {
    let dpop = Dpop::required().max_proof_len(600);
    let (server, hits) = serve(JwtAuthLayer::new(authorizer()).dpop(dpop)).await;
    let key = client_key();
    let token = bound_token(key);
    let url = format!("{}/me", server.base);
    let proof = key.proof("GET", &url, &token);
    assert!(
        proof.len() < 600,
        "an ES256 proof is small: {}",
        proof.len()
    );
    let reply = send(with_dpop(server.get("/me"), &token, Some(&proof))).await;
    assert_eq!(reply.status, 200);
    let padded = key.proof_with("GET", &url, &token, |p| {
        p.claims["padding"] = Value::String("p".repeat(300));
    });
    let reply = send(with_dpop(server.get("/me"), &token, Some(&padded))).await;
    assert_eq!(
        reply.www_authenticate(),
        Some(dpop_challenge(AuthErrorKind::DpopProofMalformed).as_str())
    );
    assert_eq!(hits.count(), 1);
}

/// One `GET` of `path` exactly as written (no client normalises it on the way), with
/// `Host: h`, `token` and `proof`, through the layer with `dpop` in front of a service
/// counting its calls: the status and challenge.
async fn get_raw_path(
    dpop: Dpop,
    path: &str,
    token: &str,
    proof: &str,
    hits: &Hits,
) -> (u16, Option<String>) {
    let hits = hits.clone();
    let service = JwtAuthLayer::new(authorizer())
        .dpop(dpop)
        .layer(tower::service_fn(move |_: Request<Full<Bytes>>| {
            hits.hit();
            async { Ok::<_, Infallible>(Response::new(Full::new(Bytes::new()))) }
        }));
    let request = Request::get(path)
        .header("host", "h")
        .header("authorization", format!("DPoP {token}"))
        .header("dpop", proof)
        .body(Full::new(Bytes::new()))
        .expect("request");
    let response = service.oneshot(request).await.expect("infallible");
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().expect("ASCII").to_owned());
    (response.status().as_u16(), challenge)
}

#[tokio::test]
async fn a_request_path_with_dot_segments_is_refused_whatever_the_proof_names() {
    // Behind `https://h/v1`, `/%2e%2e/x` would normalise to `https://h/x`: another service's
    // URL, whose proofs must not be spent here.
    let behind_proxy = || Dpop::required().public_url("https://h/v1").expect("url");
    let key = client_key();
    let token = bound_token(key);
    let hits = Hits::default();
    let honest = key.proof("GET", "https://h/v1/me", &token);
    let (status, _) = get_raw_path(behind_proxy(), "/me", &token, &honest, &hits).await;
    assert_eq!(status, 200, "the harness lets an honest request through");
    let mismatch = dpop_challenge(AuthErrorKind::DpopProofMismatch);
    for (path, htu) in [
        ("/%2e%2e/x", "https://h/x"),
        ("/%2E%2E/x", "https://h/x"),
        ("/.%2e/x", "https://h/x"),
        ("/../x", "https://h/x"),
        ("/a/../me", "https://h/v1/me"),
        ("/./me", "https://h/v1/me"),
        ("/%2e/me", "https://h/v1/me"),
        ("/me/..", "https://h/v1/"),
        // Even a proof naming the very same, unnormalised path.
        ("/a/%2e%2e/me", "https://h/v1/a/%2e%2e/me"),
    ] {
        let proof = key.proof("GET", htu, &token);
        let (status, challenge) = get_raw_path(behind_proxy(), path, &token, &proof, &hits).await;
        assert_eq!(status, 401, "{path}");
        assert_eq!(challenge.as_deref(), Some(mismatch.as_str()), "{path}");
    }
    // Without a public URL, the request's `Host` and path: the same rule.
    let proof = key.proof("GET", "http://h/x", &token);
    let (status, _) = get_raw_path(Dpop::required(), "/a/../x", &token, &proof, &hits).await;
    assert_eq!(status, 401);
    let proof = key.proof("GET", "http://h/x", &token);
    let (status, _) = get_raw_path(Dpop::required(), "/x", &token, &proof, &hits).await;
    assert_eq!(status, 200);
    // Dots inside a segment are no dot segments.
    let proof = key.proof("GET", "https://h/v1/a..b/.well-known", &token);
    let (status, _) =
        get_raw_path(behind_proxy(), "/a..b/.well-known", &token, &proof, &hits).await;
    assert_eq!(status, 200);
    assert_eq!(hits.count(), 3);
}

#[tokio::test]
async fn without_a_public_url_the_clients_host_decides_which_service_a_proof_names() {
    // A proof made for another service that takes the same tokens (`http://h/me`) passes
    // here when the request claims `Host: h`; with this service's public URL it is refused.
    let key = client_key();
    let token = bound_token(key);
    let hits = Hits::default();
    let for_another = key.proof("GET", "http://h/me", &token);
    let (status, _) = get_raw_path(Dpop::required(), "/me", &token, &for_another, &hits).await;
    assert_eq!(status, 200);
    let for_another = key.proof("GET", "http://h/me", &token);
    let this_service = Dpop::required()
        .public_url("https://b.example")
        .expect("url");
    let (status, challenge) = get_raw_path(this_service, "/me", &token, &for_another, &hits).await;
    assert_eq!(status, 401);
    assert_eq!(
        challenge.as_deref(),
        Some(dpop_challenge(AuthErrorKind::DpopProofMismatch).as_str())
    );
    assert_eq!(hits.count(), 1);
}
