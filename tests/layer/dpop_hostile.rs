//! Hostile DPoP proofs (RFC 9449 §4.3, §11): each is refused with 401 and the DPoP challenge
//! naming what is wrong, and never reaches the handler.

use serde_json::{Value, json};
use tokengate::{Algorithm, AuthErrorKind, Dpop, JwtAuthLayer};

use crate::dpop::{bound_token, client_key, dpop_challenge, serve, with_dpop};
use crate::dpop_client::{DpopKey, ProofParts, ath, unsigned};
use crate::support::{b64, now};
use crate::{authorizer, send, token as unbound_token};

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
