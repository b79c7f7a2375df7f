//! The whole layer through `oneshot`, beside the inner service alone and raw
//! `jsonwebtoken::decode`, in the same run:
//!
//! - `inner_alone`: the inner service by itself — the floor of any layer.
//! - `cache_hit`: one token again and again, through `JwtAuthLayer` with the token cache on.
//! - `unique_tokens`: 2,000 distinct tokens cycled through a layer with the cache off, so every
//!   request verifies a signature (a cache would hold all 2,000 after one cycle).
//! - `raw_decode`: `jsonwebtoken::decode` of the same unique tokens with the same key.
//!
//! The layer's own cost is its time minus `inner_alone`. Futures are polled once with a no-op
//! waker: static keys never wait, so each must be ready at once. Requests are built outside
//! the timing (`iter_batched`), as a server's parser builds them before any layer sees them.
//!
//! Run: `cargo bench --bench layer --all-features -- --warm-up-time 1 --measurement-time 5`

#[path = "../tests/support/mod.rs"]
mod support;

use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use http::{Request, Response};
use http_body_util::Full;
use serde_json::json;
use support::{TestKey, now};
use tokengate::{Algorithm, Authorizer, JwtAuthLayer, KeySet, Profile};
use tower::{Layer, Service, ServiceExt, service_fn};

const ISS: &str = "https://issuer.example.com";
const AUD: &str = "https://api.example.com";
const TOKENS: usize = 2_000;

fn ready<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("the request did not complete on the first poll"),
    }
}

async fn inner(_: Request<Full<Bytes>>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(b"ok"))))
}

fn request(token: &str) -> Request<Full<Bytes>> {
    Request::builder()
        .uri("/orders")
        .header("authorization", format!("Bearer {token}"))
        .body(Full::new(Bytes::new()))
        .expect("request")
}

fn authorizer(key: &TestKey, cache: bool) -> Authorizer {
    let builder = Authorizer::builder(Profile::generic())
        .issuer(ISS)
        .audience(AUD)
        .keys(KeySet::from_jwks_json(&support::jwks(&[key])).expect("jwks"));
    if cache {
        builder.build()
    } else {
        builder.disable_token_cache().build()
    }
}

fn layer(c: &mut Criterion) {
    let key = TestKey::generate(Algorithm::RS256, "k1");
    let tokens: Vec<String> = (0..TOKENS)
        .map(|i| {
            key.token(&json!({"iss": ISS, "aud": AUD, "sub": format!("user-{i}"),
                "jti": format!("jti-{i}"), "scope": "orders/read", "exp": now() + 3600}))
        })
        .collect();
    let cached = JwtAuthLayer::new(authorizer(&key, true)).layer(service_fn(inner));
    let uncached = JwtAuthLayer::new(authorizer(&key, false)).layer(service_fn(inner));
    let decoding =
        jsonwebtoken::DecodingKey::from_jwk(&serde_json::from_value(key.jwk()).expect("jwk"))
            .expect("decoding key");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_issuer(&[ISS]);
    validation.set_audience(&[AUD]);

    // Every path must really succeed, or the bench measures an error.
    for token in &tokens[..10] {
        for service in [&cached, &uncached] {
            let response = ready(service.clone().oneshot(request(token))).expect("infallible");
            assert_eq!(response.status(), 200);
        }
        jsonwebtoken::decode::<serde_json::Value>(token, &decoding, &validation).expect("decodes");
    }

    let mut group = c.benchmark_group("layer_rs256");
    group.bench_function("inner_alone", |b| {
        let mut svc = service_fn(inner);
        b.iter_batched(
            || request(&tokens[0]),
            |request| {
                let response = ready(svc.call(request)).expect("ok");
                black_box(response.status());
            },
            BatchSize::SmallInput,
        );
    });
    group.bench_function("cache_hit", |b| {
        b.iter_batched(
            || request(&tokens[0]),
            |request| {
                let response = ready(cached.clone().oneshot(request)).expect("ok");
                assert_eq!(response.status(), 200);
            },
            BatchSize::SmallInput,
        );
    });
    let mut i = 0;
    group.bench_function("unique_tokens", |b| {
        b.iter_batched(
            || {
                i = (i + 1) % TOKENS;
                request(&tokens[i])
            },
            |request| {
                let response = ready(uncached.clone().oneshot(request)).expect("ok");
                assert_eq!(response.status(), 200);
            },
            BatchSize::SmallInput,
        );
    });
    group.bench_function("raw_decode", |b| {
        b.iter(|| {
            i = (i + 1) % TOKENS;
            let data =
                jsonwebtoken::decode::<serde_json::Value>(&tokens[i], &decoding, &validation);
            black_box(data.is_ok());
        });
    });
    group.finish();
}

criterion_group!(benches, layer);
criterion_main!(benches);
