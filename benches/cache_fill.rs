//! The cost of a new token, round by round, as the token cache fills and once it is full.
//!
//! Every round brings 2,000 RS256 tokens never seen before, the same for every contender:
//! raw `jsonwebtoken::decode` (the baseline), the whole layer with the token cache off, and
//! the whole layer with the default 16 MiB cache over each store of the bake-off (quick_cache
//! with its doorkeeper as shipped, quick_cache alone, moka, the sharded map tokengate had
//! before). The cache holds about 14,000 of
//! these tokens, so after 7 rounds it is full and each new token costs an eviction; 24 rounds
//! (48,000 tokens) fill it more than three times over. The contenders take turns token by
//! token, so a burst of load on the shared machine falls on all of them alike; each round's
//! figure is the median of its 2,000 tokens' times (robust to a preempted call), with the mean
//! beside it. Each request is built before the clock starts, as a server's parser builds it
//! before any layer sees it: a layer's time runs from the request to the response, raw
//! decode's from the token string to the claims. The time to build one is printed apart.
//!
//! Run: `cargo bench --all-features --bench cache_fill -- [ROUNDS]` (24 by default)

#[path = "support/cache_contenders.rs"]
mod contenders;
#[path = "../tests/support/mod.rs"]
mod support;

use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use bytes::Bytes;
use contenders::{Spread, load_average};
use http::{Request, Response};
use http_body_util::Full;
use serde_json::json;
use support::{TestKey, now};
use tokengate::{Algorithm, Authorizer, JwtAuthLayer, KeySet, Profile};
use tower::{Layer, ServiceExt, service_fn};

const ISS: &str = "https://issuer.example.com";
const AUD: &str = "https://api.example.com";
const PER_ROUND: usize = 2_000;

fn ready<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("static keys never wait"),
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

/// `count` distinct tokens, signed on every core.
fn mint(key: &TestKey, count: usize) -> Vec<String> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let exp = now() + 4 * 3600;
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    (t..count)
                        .step_by(threads)
                        .map(|i| {
                            (
                                i,
                                key.token(&json!({"iss": ISS, "aud": AUD,
                                "sub": format!("user-{i}"), "jti": format!("jti-{i}"),
                                "scope": "orders/read", "exp": exp})),
                            )
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<(usize, String)> = handles
            .into_iter()
            .flat_map(|h| h.join().expect("minting thread"))
            .collect();
        all.sort_by_key(|(i, _)| *i);
        all.into_iter().map(|(_, t)| t).collect()
    })
}

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(24);
    let key = TestKey::generate(Algorithm::RS256, "k1");
    let started = Instant::now();
    let tokens = mint(&key, rounds * PER_ROUND);
    eprintln!(
        "minted {} tokens ({} bytes each) in {:.1?}",
        tokens.len(),
        tokens[0].len(),
        started.elapsed()
    );

    let base = || {
        Authorizer::builder(Profile::generic())
            .issuer(ISS)
            .audience(AUD)
            .keys(KeySet::from_jwks_json(&support::jwks(&[&key])).expect("jwks"))
    };
    let service = |authorizer: Authorizer| JwtAuthLayer::new(authorizer).layer(service_fn(inner));
    let shipped = base().build();
    let stores = contenders::contenders(16 * 1024 * 1024);
    let mut names = vec!["layer, cache off".to_owned()];
    let mut services = vec![service(base().disable_token_cache().build())];
    for (name, store) in contenders::NAMES.iter().zip(&stores).skip(1) {
        names.push(format!("layer, {name}"));
        services.push(service(base().build().with_token_store(Arc::clone(store))));
    }
    names.insert(1, format!("layer, {}", contenders::NAMES[0]));
    services.insert(1, service(shipped.clone()));

    let decoding =
        jsonwebtoken::DecodingKey::from_jwk(&serde_json::from_value(key.jwk()).expect("jwk"))
            .expect("decoding key");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_issuer(&[ISS]);
    validation.set_audience(&[AUD]);
    let raw = |token: &str| {
        assert!(jsonwebtoken::decode::<serde_json::Value>(token, &decoding, &validation).is_ok());
    };

    // Warm up the code paths (not the caches: only the cache-off layer and raw decode).
    for token in tokens.iter().take(500) {
        raw(token);
        let response = ready(services[0].clone().oneshot(request(token))).expect("infallible");
        assert_eq!(response.status(), 200);
    }

    let contenders = 1 + services.len();
    println!(
        "load average before: {}; {} rounds of {PER_ROUND} new tokens",
        load_average(),
        rounds
    );
    println!(
        "each cell: median µs of the round's tokens (mean µs): median ratio to raw decode (ratio of means)"
    );
    println!(
        "| round | tokens so far | raw decode | {} | {} |",
        names.join(" | "),
        contenders::NAMES
            .map(|n| format!("{n}: entries / MiB"))
            .join(" | ")
    );
    println!(
        "|{}",
        "---:|".repeat(3 + names.len() + contenders::NAMES.len())
    );
    let mut ratios: Vec<Vec<f64>> = vec![Vec::new(); services.len()];
    let mut mean_ratios: Vec<Vec<f64>> = vec![Vec::new(); services.len()];
    let mut full_from = None;
    let mut building = Vec::with_capacity(rounds * PER_ROUND);
    for round in 0..rounds {
        let batch = &tokens[round * PER_ROUND..(round + 1) * PER_ROUND];
        let mut times = vec![Vec::with_capacity(PER_ROUND); contenders];
        for (n, token) in batch.iter().enumerate() {
            for turn in 0..contenders {
                // Rotate who goes first, token by token.
                let who = (turn + n) % contenders;
                // The request exists before any layer sees it (a server's parser built it):
                // built before the clock starts, its own time noted beside.
                let built = Instant::now();
                let request = (who != 0).then(|| request(token));
                if who == 1 {
                    building.push(built.elapsed().as_secs_f64() * 1e6);
                }
                let start = Instant::now();
                match request {
                    None => raw(token),
                    Some(request) => {
                        let response =
                            ready(services[who - 1].clone().oneshot(request)).expect("infallible");
                        assert_eq!(response.status(), 200);
                    }
                }
                times[who].push(start.elapsed().as_secs_f64() * 1e6);
            }
        }
        let raw_us = Spread::of(&times[0]).median;
        let raw_mean = times[0].iter().sum::<f64>() / PER_ROUND as f64;
        let mut cells = vec![format!("{raw_us:.1} ({raw_mean:.1})")];
        for (s, ratio) in ratios.iter_mut().enumerate() {
            let us = Spread::of(&times[s + 1]).median;
            let mean = times[s + 1].iter().sum::<f64>() / PER_ROUND as f64;
            ratio.push(us / raw_us);
            mean_ratios[s].push(mean / raw_mean);
            cells.push(format!(
                "{us:.1} ({mean:.1}): {:.3}× ({:.2}×)",
                us / raw_us,
                mean / raw_mean
            ));
        }
        let usage: Vec<String> = std::iter::once(shipped.token_cache_usage().expect("cache on"))
            .chain(stores.iter().skip(1).map(|s| s.usage()))
            .map(|(n, bytes)| format!("{n} / {:.1}", bytes as f64 / (1 << 20) as f64))
            .collect();
        let (_, shipped_bytes) = shipped.token_cache_usage().expect("cache on");
        if full_from.is_none() && shipped_bytes >= 16 * 1024 * 1024 * 95 / 100 {
            full_from = Some(round + 1);
        }
        println!(
            "| {} | {} | {} | {} |",
            round + 1,
            (round + 1) * PER_ROUND,
            cells.join(" | "),
            usage.join(" | ")
        );
    }
    println!("\nload average after: {}", load_average());
    println!(
        "building a request (outside the timings above): median {:.2} µs",
        Spread::of(&building).median
    );
    let Some(full_from) = full_from.filter(|&f| f < rounds) else {
        println!("the shipped cache never filled (≥ 95 % of 16 MiB) before the last round");
        return;
    };
    println!(
        "the shipped cache is full (≥ 95 % of 16 MiB) after round {full_from}; \
         steady state = rounds {}..={rounds}",
        full_from + 1
    );
    println!(
        "| contender | run median ratio | steady-state median ratio | steady-state min–max | \
         steady-state spread | ratio of means, run median |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for ((name, ratio), means) in names.iter().zip(&ratios).zip(&mean_ratios) {
        let run = Spread::of(ratio);
        let steady = Spread::of(&ratio[full_from..]);
        println!(
            "| {name} | {:.3}× | {:.3}× | {:.3}–{:.3} | ±{:.1} % | {:.3}× |",
            run.median,
            steady.median,
            steady.min,
            steady.max,
            steady.half_range_pct(),
            Spread::of(means).median
        );
    }
}
