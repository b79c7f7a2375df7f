//! The cost of DPoP per request, beside bearer tokens, in the same run, through the whole
//! layer (`oneshot` on a current-thread runtime):
//!
//! - `bearer`: one bearer token again and again (a verified-token cache hit).
//! - `dpop_memory`: one DPoP-bound token (a cache hit too) with a fresh ES256 proof each
//!   request, `jti`s kept in the in-memory store (moka).
//! - `dpop_redis`: the same with `RedisReplayStore` against a local `redis-server` (started
//!   by the bench on a free port; skipped when there is none): one `SET NX PX` round trip.
//!
//! Proofs are signed in criterion's setup (`iter_batched`), outside the timing: what is
//! measured is the server's work. The DPoP cost is each line minus `bearer`.
//!
//! Run: `cargo bench --bench dpop --all-features -- --warm-up-time 1 --measurement-time 5`

#[path = "../tests/support/dpop_client.rs"]
mod dpop_client;
#[path = "../tests/support/redis_server.rs"]
mod redis_server;
#[path = "../tests/support/mod.rs"]
mod support;

use std::convert::Infallible;

use bytes::Bytes;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use http::{Request, Response};
use http_body_util::Full;
use serde_json::json;
use support::{TestKey, now};
use tokengate::{Algorithm, Authorizer, Dpop, JwtAuthLayer, KeySet, Profile, RedisReplayStore};
use tower::{Layer, ServiceExt, service_fn};

use dpop_client::DpopKey;
use redis_server::RedisServer;

const ISS: &str = "https://issuer.example.com";
const AUD: &str = "https://api.example.com";
const URL: &str = "https://api.example.com/orders";

async fn inner(_: Request<Full<Bytes>>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(b"ok"))))
}

fn request(scheme: &str, token: &str, proof: Option<String>) -> Request<Full<Bytes>> {
    let mut request = Request::builder()
        .uri("/orders")
        .header("host", "api.example.com")
        .header("authorization", format!("{scheme} {token}"));
    if let Some(proof) = proof {
        request = request.header("dpop", proof);
    }
    request.body(Full::new(Bytes::new())).expect("request")
}

fn dpop(c: &mut Criterion) {
    let issuer = TestKey::generate(Algorithm::ES256, "k1");
    let client = DpopKey::generate(Algorithm::ES256);
    let authorizer = Authorizer::builder(Profile::generic())
        .issuer(ISS)
        .audience(AUD)
        .keys(KeySet::from_jwks_json(&support::jwks(&[&issuer])).expect("jwks"))
        .build();
    let claims = |bound: bool| {
        let mut claims = json!({"iss": ISS, "aud": AUD, "sub": "user-1", "exp": now() + 3600});
        if bound {
            claims["cnf"] = json!({"jkt": client.jkt()});
        }
        claims
    };
    let bearer_token = issuer.token(&claims(false));
    let bound_token = issuer.token(&claims(true));
    let dpop = || Dpop::required().public_url(AUD).expect("public url");
    let bearer = JwtAuthLayer::new(authorizer.clone()).layer(service_fn(inner));
    let memory = JwtAuthLayer::new(authorizer.clone())
        .dpop(dpop())
        .layer(service_fn(inner));
    let redis = RedisServer::start("dpop bench");
    let with_redis = redis.as_ref().map(|redis| {
        let store = RedisReplayStore::new(&redis.url()).expect("redis url");
        JwtAuthLayer::new(authorizer.clone())
            .dpop(dpop().replay_store(store))
            .layer(service_fn(inner))
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let proof = || Some(client.proof("GET", URL, &bound_token));

    // Every path must really succeed, or the bench measures a refusal.
    let status = |service: &_, req| {
        let service: &tokengate::JwtAuth<_> = service;
        runtime
            .block_on(service.clone().oneshot(req))
            .expect("infallible")
            .status()
    };
    assert_eq!(status(&bearer, request("Bearer", &bearer_token, None)), 200);
    assert_eq!(status(&memory, request("DPoP", &bound_token, proof())), 200);
    if let Some(service) = &with_redis {
        assert_eq!(status(service, request("DPoP", &bound_token, proof())), 200);
    }

    let mut group = c.benchmark_group("dpop");
    group.bench_function("bearer", |b| {
        b.iter_batched(
            || request("Bearer", &bearer_token, None),
            |req| assert_eq!(status(&bearer, req), 200),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("dpop_memory", |b| {
        b.iter_batched(
            || request("DPoP", &bound_token, proof()),
            |req| assert_eq!(status(&memory, req), 200),
            BatchSize::SmallInput,
        );
    });
    if let Some(service) = &with_redis {
        group.bench_function("dpop_redis", |b| {
            b.iter_batched(
                || request("DPoP", &bound_token, proof()),
                |req| assert_eq!(status(service, req), 200),
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

criterion_group!(benches, dpop);
criterion_main!(benches);
