//! The token cache's bake-off: quick_cache with its doorkeeper (shipped), quick_cache alone,
//! moka and the sharded map tokengate had before, side by side in one process, each as the store of the same `Authorizer` and
//! `JwtAuthLayer` (see `support/cache_contenders.rs`).
//!
//! 1. A cache hit through the whole layer (`oneshot`), beside raw `jsonwebtoken::decode` of
//!    RS256 tokens and the inner service alone; requests are built before the clock starts.
//! 2. Hits on 1 thread and on 2: 1,000 cached EdDSA tokens, remote keys (as
//!    `benches/contention.rs`).
//! 3. Insert cost once the cache is full: a miss then an insert of a key never seen, after
//!    45,000 distinct keys went through 16 MiB.
//! 4. Hit rate of a Zipf(1.0) stream of 1,000,000 requests over 200,000 tokens, at 16 MiB.
//! 5. Hit rate of 1,000 hot tokens while 100,000 one-shot tokens flood in.
//! 6. Bytes per entry, counted by the allocator, with 9,000 Cognito-shaped tokens at 16 MiB.
//!
//! Rows 1–3 run in rounds, the contenders taking turns batch by batch within each round (a
//! round's figure is the median of its batches, robust to a preempted batch); each cell is the
//! median over the rounds with the lowest and highest round. Rows 3–5 use keys of a real
//! token's length (random tails) and one real entry's weight, straight on the stores.
//!
//! Run: `cargo bench --all-features --bench token_cache -- [ROUNDS]` (15 by default)

#[path = "support/cache_contenders.rs"]
mod contenders;
#[path = "../tests/support/jwks_server.rs"]
mod jwks_server;
#[path = "../tests/support/mod.rs"]
mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use contenders::{NAMES, Spread, load_average};
use http::{Request, Response};
use http_body_util::Full;
use serde_json::json;
use support::{TestKey, now};
use tokengate::bench::{CachedToken, TokenStore};
use tokengate::{Algorithm, Authorizer, JwtAuthLayer, KeySet, Profile, RemoteJwks};
use tower::{Layer, Service, ServiceExt, service_fn};

const ISS: &str = "https://issuer.example.com";
const AUD: &str = "https://api.example.com";
const MIB_16: u64 = 16 * 1024 * 1024;

/// Counts live heap bytes while `COUNTING` is on (one relaxed load per allocation otherwise).
struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to `System` unchanged; only a counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        }
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn ready<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("known keys never wait"),
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

/// `count` tokens for `claims(i)`, signed on every core.
fn mint(
    key: &TestKey,
    count: usize,
    claims: impl Fn(usize) -> serde_json::Value + Sync,
) -> Vec<String> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let claims = &claims;
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    (t..count)
                        .step_by(threads)
                        .map(|i| (i, key.token(&claims(i))))
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

/// A store that keeps the last entry it was given: how the bench gets a real entry.
#[derive(Default)]
struct Capture(Mutex<Option<CachedToken>>);

impl TokenStore for Capture {
    fn get(&self, _: &str) -> Option<CachedToken> {
        None
    }
    fn insert(&self, _: &str, entry: CachedToken) {
        *self.0.lock().expect("lock") = Some(entry);
    }
    fn remove(&self, _: &str) {}
    fn usage(&self) -> (u64, u64) {
        (0, 0)
    }
}

/// splitmix64: a small, fast, reproducible source of numbers.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `count` distinct strings as long as `like`, sharing its prefix, with random base64url tails.
fn keys_like(like: &str, count: usize) -> Vec<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut rng = Rng(7);
    let prefix = &like[..like.len() - 48];
    (0..count)
        .map(|_| {
            let mut key = String::with_capacity(like.len());
            key.push_str(prefix);
            for _ in 0..48 {
                key.push(ALPHABET[(rng.next() % 64) as usize] as char);
            }
            key
        })
        .collect()
}

/// Looks `key` up; on a miss, inserts it. Whether it hit.
fn request_key(store: &dyn TokenStore, key: &str, entry: &CachedToken) -> bool {
    if store.get(key).is_some() {
        return true;
    }
    store.insert(key, entry.clone());
    false
}

fn cell(s: &Spread, unit: &str, digits: usize) -> String {
    format!(
        "{:.d$} {unit} ({:.d$}–{:.d$})",
        s.median,
        s.min,
        s.max,
        d = digits
    )
}

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(15);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    println!("load average at start: {}", load_average());
    let mut table: Vec<(String, Vec<String>)> = Vec::new();

    // --- 1. A hit through the whole layer, beside raw decode and the inner service.
    let rsa = TestKey::generate(Algorithm::RS256, "k1");
    let rsa_tokens = mint(&rsa, 500, |i| {
        json!({"iss": ISS, "aud": AUD, "sub": format!("user-{i}"), "jti": format!("jti-{i}"),
            "scope": "orders/read", "exp": now() + 4 * 3600})
    });
    let static_auth = || {
        Authorizer::builder(Profile::generic())
            .issuer(ISS)
            .audience(AUD)
            .keys(KeySet::from_jwks_json(&support::jwks(&[&rsa])).expect("jwks"))
            .build()
    };
    let layers: Vec<_> = contenders::contenders(MIB_16)
        .into_iter()
        .map(|store| {
            JwtAuthLayer::new(static_auth().with_token_store(store)).layer(service_fn(inner))
        })
        .collect();
    let shipped = JwtAuthLayer::new(static_auth()).layer(service_fn(inner));
    let hit = &rsa_tokens[0];
    for service in layers.iter().chain([&shipped]) {
        for _ in 0..2 {
            let response = ready(service.clone().oneshot(request(hit))).expect("infallible");
            assert_eq!(response.status(), 200);
        }
    }
    let decoding =
        jsonwebtoken::DecodingKey::from_jwk(&serde_json::from_value(rsa.jwk()).expect("jwk"))
            .expect("decoding key");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_issuer(&[ISS]);
    validation.set_audience(&[AUD]);
    // Each turn: two raw decodes, then a batch of 50 hits per service, in rotating order; a
    // round's figure is the median over its 40 turns, robust to a preempted batch.
    const HITS: usize = 50;
    const TURNS: usize = 40;
    // [raw decode, inner alone, each contender plugged, quick_cache shipped]
    let mut ns: Vec<Vec<f64>> = vec![Vec::new(); 3 + layers.len()];
    let mut decoded = 0;
    for round in 0..rounds {
        let mut turns: Vec<Vec<f64>> = vec![Vec::with_capacity(TURNS); ns.len()];
        for turn in 0..TURNS {
            for slot in 0..ns.len() {
                let who = (slot + turn + round) % ns.len();
                // Requests are built before the clock starts (see benches/cache_fill.rs).
                let requests: Vec<_> = match who {
                    0 => Vec::new(),
                    _ => (0..HITS).map(|_| request(hit)).collect(),
                };
                let start = Instant::now();
                let per = match who {
                    0 => {
                        for _ in 0..2 {
                            decoded = (decoded + 1) % rsa_tokens.len();
                            let data = jsonwebtoken::decode::<serde_json::Value>(
                                &rsa_tokens[decoded],
                                &decoding,
                                &validation,
                            );
                            assert!(data.is_ok());
                        }
                        2
                    }
                    1 => {
                        let mut svc = service_fn(inner);
                        for request in requests {
                            let response = ready(svc.call(request)).expect("ok");
                            black_box(response.status());
                        }
                        HITS
                    }
                    n => {
                        let service = layers.get(n - 2).unwrap_or(&shipped);
                        for request in requests {
                            let response = ready(service.clone().oneshot(request)).expect("ok");
                            assert_eq!(response.status(), 200);
                        }
                        HITS
                    }
                };
                turns[who].push(start.elapsed().as_nanos() as f64 / per as f64);
            }
        }
        for (who, t) in turns.iter().enumerate() {
            ns[who].push(Spread::of(t).median);
        }
    }
    let raw = Spread::of(&ns[0]);
    let inner_alone = Spread::of(&ns[1]);
    println!(
        "raw jsonwebtoken::decode (RS256): {}; inner service alone: {}",
        cell(&raw, "ns", 0),
        cell(&inner_alone, "ns", 0)
    );
    let ratios = |who: usize| -> Spread {
        let r: Vec<f64> = ns[who].iter().zip(&ns[0]).map(|(h, d)| h / d).collect();
        Spread::of(&r)
    };
    table.push((
        "hit through the layer, ns".into(),
        (0..layers.len())
            .map(|i| cell(&Spread::of(&ns[2 + i]), "", 0))
            .collect(),
    ));
    table.push((
        "hit ÷ raw decode (same round)".into(),
        (0..layers.len())
            .map(|i| cell(&ratios(2 + i), "×", 3))
            .collect(),
    ));
    println!(
        "quick_cache as shipped (not plugged): {} ns, {}× raw decode",
        cell(&Spread::of(&ns[2 + layers.len()]), "", 0),
        cell(&ratios(2 + layers.len()), "", 3)
    );

    // --- 2. Hits on one thread and on two (remote keys, as benches/contention.rs).
    let ed = TestKey::generate(Algorithm::EdDSA, "k1");
    let server = runtime.block_on(jwks_server::JwksServer::start(support::jwks(&[&ed])));
    let ed_tokens: Vec<String> = (0..1_000)
        .map(|i| {
            ed.token(
                &json!({"iss": server.base, "aud": AUD, "sub": format!("u{i}"),
                "jti": format!("j{i}"), "exp": now() + 4 * 3600}),
            )
        })
        .collect();
    let remote: Vec<Authorizer> = contenders::contenders(MIB_16)
        .into_iter()
        .map(|store| {
            let authorizer = Authorizer::builder(Profile::generic())
                .issuer(&server.base)
                .audience(AUD)
                .remote_jwks(RemoteJwks::from_uri(server.jwks_uri()).expect("uri"))
                .build()
                .expect("valid authorizer settings")
                .with_token_store(store);
            runtime.block_on(authorizer.ready()).expect("keys");
            for token in &ed_tokens {
                ready(authorizer.authorize::<()>(token)).expect("valid");
            }
            authorizer
        })
        .collect();
    const PER_THREAD_BATCH: u64 = 200_000;
    let run = |authorizer: &Authorizer, threads: usize| -> f64 {
        let per_thread = PER_THREAD_BATCH / threads as u64;
        let start = Instant::now();
        std::thread::scope(|scope| {
            for t in 0..threads {
                let tokens = &ed_tokens;
                scope.spawn(move || {
                    for i in 0..per_thread {
                        let token = &tokens[(i as usize * threads + t) % tokens.len()];
                        let claims = ready(authorizer.authorize::<()>(token));
                        assert!(claims.is_ok());
                    }
                });
            }
        });
        start.elapsed().as_nanos() as f64 / (per_thread * threads as u64) as f64
    };
    let mut one = vec![Vec::new(); remote.len()];
    let mut two = vec![Vec::new(); remote.len()];
    let mut scaling = vec![Vec::new(); remote.len()];
    for round in 0..rounds {
        for turn in 0..remote.len() {
            let who = (turn + round) % remote.len();
            let t1 = run(&remote[who], 1);
            let t2 = run(&remote[who], 2);
            one[who].push(t1);
            two[who].push(t2);
            scaling[who].push(t1 / t2);
        }
    }
    table.push((
        "hit, 1 thread, ns per token".into(),
        one.iter().map(|s| cell(&Spread::of(s), "", 0)).collect(),
    ));
    table.push((
        "hit, 2 threads, ns per token".into(),
        two.iter().map(|s| cell(&Spread::of(s), "", 0)).collect(),
    ));
    table.push((
        "2 threads vs 1 (throughput)".into(),
        scaling
            .iter()
            .map(|s| cell(&Spread::of(s), "×", 2))
            .collect(),
    ));
    drop(remote);
    drop(server);

    // A real entry (an RS256 token of the layer's shape) for the store-level rows.
    let capture = Arc::new(Capture::default());
    let capturing = static_auth().with_token_store(capture.clone());
    ready(capturing.authorize::<()>(hit)).expect("valid");
    let entry = capture.0.lock().expect("lock").clone().expect("captured");
    let keys = keys_like(hit, 200_000);
    let capacity = MIB_16 / u64::from(entry.weight());
    println!(
        "store-level rows: keys of {} bytes, entries weighing {} bytes: about {capacity} fit in 16 MiB",
        hit.len(),
        entry.weight()
    );

    // --- 3. Miss then insert, once full.
    let stores = contenders::contenders(MIB_16);
    const PREFILL: usize = 45_000;
    const BATCH: usize = 2_000;
    for store in &stores {
        for key in &keys[..PREFILL] {
            request_key(&**store, key, &entry);
        }
    }
    let mut insert_ns = vec![Vec::new(); stores.len()];
    for round in 0..rounds.max(20) {
        let batch = &keys[PREFILL + round * BATCH..PREFILL + (round + 1) * BATCH];
        let mut chunks = vec![Vec::new(); stores.len()];
        for (c, chunk) in batch.chunks(20).enumerate() {
            for turn in 0..stores.len() {
                let who = (turn + c) % stores.len();
                let start = Instant::now();
                for key in chunk {
                    assert!(!request_key(&*stores[who], key, &entry));
                }
                chunks[who].push(start.elapsed().as_nanos() as f64 / chunk.len() as f64);
            }
        }
        for (who, c) in chunks.iter().enumerate() {
            insert_ns[who].push(Spread::of(c).median);
        }
    }
    table.push((
        "miss + insert when full, ns".into(),
        insert_ns
            .iter()
            .map(|s| cell(&Spread::of(s), "", 0))
            .collect(),
    ));
    table.push((
        "entries / MiB held after 85,000+ keys".into(),
        stores
            .iter()
            .map(|s| {
                let (n, b) = s.usage();
                format!("{n} / {:.2}", b as f64 / (1 << 20) as f64)
            })
            .collect(),
    ));
    drop(stores);

    // --- 4. Zipf(1.0), 1,000,000 requests over 200,000 tokens.
    const REQUESTS: usize = 1_000_000;
    let weights: Vec<f64> = (1..=keys.len()).map(|r| 1.0 / r as f64).collect();
    let total: f64 = weights.iter().sum();
    let mut cdf = Vec::with_capacity(keys.len());
    let mut acc = 0.0;
    for w in &weights {
        acc += w / total;
        cdf.push(acc);
    }
    let mut rng = Rng(42);
    let stream: Vec<usize> = (0..REQUESTS)
        .map(|_| {
            let u = rng.unit();
            cdf.partition_point(|&c| c < u).min(keys.len() - 1)
        })
        .collect();
    let top: f64 = weights[..capacity as usize].iter().sum::<f64>() / total;
    table.push((
        "Zipf(1.0) hit rate".into(),
        contenders::contenders(MIB_16)
            .iter()
            .map(|store| {
                let hits = stream
                    .iter()
                    .filter(|&&rank| request_key(&**store, &keys[rank], &entry))
                    .count();
                format!("{:.1} %", hits as f64 * 100.0 / REQUESTS as f64)
            })
            .collect(),
    ));
    println!(
        "Zipf(1.0): the {capacity} most frequent tokens take {:.1} % of requests (a cache that \
         always held exactly them would hit that often, less first requests)",
        top * 100.0
    );

    // --- 5. 1,000 hot tokens, then 100,000 one-shot tokens with the hot ones among them.
    let (hot, flood) = keys[..101_000].split_at(1_000);
    for every in [5usize, 20] {
        table.push((
            format!("hot-token hit rate, 1 hot request per {every} one-shot"),
            contenders::contenders(MIB_16)
                .iter()
                .map(|store| {
                    for _ in 0..3 {
                        for key in hot {
                            request_key(&**store, key, &entry);
                        }
                    }
                    let (mut asked, mut hits) = (0, 0);
                    for (i, key) in flood.iter().enumerate() {
                        request_key(&**store, key, &entry);
                        if i % every == every - 1 {
                            asked += 1;
                            hits +=
                                usize::from(request_key(&**store, &hot[asked % hot.len()], &entry));
                        }
                    }
                    format!("{:.1} %", hits as f64 * 100.0 / asked as f64)
                })
                .collect(),
        ));
    }

    // --- 6. Bytes per entry: Cognito-shaped RS256 tokens through the authorizer.
    const COGNITO: usize = 9_000;
    let cognito_iss = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example";
    let cognito_tokens = mint(&rsa, COGNITO, |i| {
        json!({"sub": format!("aaaaaaaa-bbbb-cccc-dddd-{i:012}"), "cognito:groups": ["admins"],
            "iss": cognito_iss, "version": 2, "client_id": "3n4b5urk1ft4fl3mg5e62d9ado",
            "origin_jti": format!("o-{i}"), "event_id": format!("e-{i}"), "token_use": "access",
            "scope": "api/read api/write openid", "auth_time": now(), "exp": now() + 4 * 3600,
            "iat": now(), "jti": format!("j-{i}"), "username": format!("user{i}")})
    });
    let mut bytes_row = Vec::new();
    let mut weighed_row = Vec::new();
    for (n, name) in NAMES.iter().enumerate() {
        let authorizer = Authorizer::builder(Profile::cognito_access())
            .issuer(cognito_iss)
            .client_id("3n4b5urk1ft4fl3mg5e62d9ado")
            .keys(KeySet::from_jwks_json(&support::jwks(&[&rsa])).expect("jwks"));
        LIVE.store(0, Ordering::Relaxed);
        COUNTING.store(true, Ordering::SeqCst);
        let store = contenders::contenders(MIB_16)
            .into_iter()
            .nth(n)
            .expect("contender");
        let authorizer = authorizer.build().with_token_store(Arc::clone(&store));
        for token in &cognito_tokens {
            ready(authorizer.authorize::<()>(token)).expect("valid");
        }
        let (entries, weighed) = store.usage();
        let live = LIVE.load(Ordering::Relaxed);
        COUNTING.store(false, Ordering::SeqCst);
        eprintln!(
            "{name}: {entries} entries held, {} bytes with the store's own setup",
            live
        );
        bytes_row.push(format!(
            "{} ({entries} held)",
            live.max(0) as u64 / entries.max(1)
        ));
        weighed_row.push(format!("{}", weighed / entries.max(1)));
        drop(authorizer);
        drop(store);
    }
    table.push((
        format!(
            "bytes per entry, allocated (Cognito token, {} B)",
            cognito_tokens[0].len()
        ),
        bytes_row,
    ));
    table.push(("bytes per entry, as weighed".into(), weighed_row));

    println!("load average at end: {}", load_average());
    println!(
        "\n| {rounds} rounds; median (lowest–highest round) | {} |",
        NAMES.join(" | ")
    );
    println!("|---|{}", "---:|".repeat(NAMES.len()));
    for (row, cells) in &table {
        println!("| {row} | {} |", cells.join(" | "));
    }
    runtime.shutdown_timeout(Duration::from_secs(1));
}
