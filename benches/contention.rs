//! The hot path under contention: the same remote-key authorizer shared by 1 and by 2
//! threads, on cache hits (1,000 tokens, all cached) and with the cache off (every token's
//! signature verified). Reads of the key set are a lock-free snapshot and the token cache is
//! sharded, so two threads should validate close to twice as many tokens per second as one
//! (on a machine with two free cores).
//!
//! Criterion reports the time per validated token; the 2-thread figure divided by the
//! 1-thread one is the scaling (0.5 is perfect).
//!
//! Run: `cargo bench --bench contention -- --warm-up-time 1 --measurement-time 5`

#[path = "../tests/support/jwks_server.rs"]
mod jwks_server;
#[path = "../tests/support/mod.rs"]
mod support;

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use support::{TestKey, jwks, now};
use tokengate::{Algorithm, Authorizer, Profile, RemoteJwks};

const AUD: &str = "https://api.example.com";
const TOKENS: usize = 1_000;

fn ready<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("a known kid never waits"),
    }
}

fn contention(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let key = TestKey::generate(Algorithm::EdDSA, "k1");
    let server = runtime.block_on(jwks_server::JwksServer::start(jwks(&[&key])));
    let build = |cache: bool| {
        let builder = Authorizer::builder(Profile::generic())
            .issuer(&server.base)
            .audience(AUD)
            .remote_jwks(RemoteJwks::from_uri(server.jwks_uri()).expect("uri"));
        let authorizer = if cache {
            builder.build()
        } else {
            builder.disable_token_cache().build()
        }
        .expect("valid authorizer settings");
        runtime.block_on(authorizer.ready()).expect("keys");
        authorizer
    };
    let cached = build(true);
    let uncached = build(false);
    let tokens: Vec<String> = (0..TOKENS)
        .map(|i| {
            key.token(
                &json!({"iss": server.base, "aud": AUD, "sub": format!("u{i}"),
                "jti": format!("j{i}"), "exp": now() + 3600}),
            )
        })
        .collect();
    for token in &tokens {
        ready(cached.authorize::<()>(token)).expect("valid");
    }

    let mut group = c.benchmark_group("remote_keys_hot_path");
    for (name, authorizer, threads) in [
        ("cache_hit", &cached, 1usize),
        ("cache_hit", &cached, 2),
        ("verify", &uncached, 1),
        ("verify", &uncached, 2),
    ] {
        group.bench_function(format!("{name}/{threads}_threads"), |b| {
            b.iter_custom(|iters| {
                let per_thread = iters.div_ceil(threads as u64);
                let start = Instant::now();
                std::thread::scope(|scope| {
                    for t in 0..threads {
                        let tokens = &tokens;
                        scope.spawn(move || {
                            for i in 0..per_thread {
                                let token = &tokens[(i as usize * threads + t) % TOKENS];
                                let claims = ready(authorizer.authorize::<()>(token));
                                black_box(claims.is_ok());
                            }
                        });
                    }
                });
                // Time per token: the threads' tokens are done in parallel.
                start
                    .elapsed()
                    .mul_f64(iters as f64 / (per_thread * threads as u64) as f64)
            });
        });
    }
    group.finish();
    drop(server);
    runtime.shutdown_timeout(Duration::from_secs(1));
}

criterion_group!(benches, contention);
criterion_main!(benches);
