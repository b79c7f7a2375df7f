//! Memory: bytes per cached token and per prepared key, and the process's resident memory
//! with 100,000 cached tokens (Linux: `/proc/self/status`).
//!
//! Run: `cargo bench --bench memory --all-features`

#[path = "../tests/support/mod.rs"]
mod support;

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use serde_json::json;
use support::{TestKey, now};
use tokengate::{Algorithm, Authorizer, KeySet, Profile, VerifyingKey};

const ISS: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example";

fn ready<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("static keys never wait"),
    }
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    const COUNT: usize = 100_000;
    let key = TestKey::generate(Algorithm::RS256, "k1");
    let jwks = support::jwks(&[&key]);

    // Keys: prepare 1,000 copies of one RSA JWK (no `alg`: six prepared variants each).
    let jwk = key.jwk_without_alg();
    let before = rss_kib();
    let keys: Vec<VerifyingKey> = (0..1_000)
        .map(|_| VerifyingKey::from_jwk(&jwk).expect("key"))
        .collect();
    let per_key = (rss_kib() - before) * 1024 / 1_000;
    drop(keys);

    // Cognito-shaped access tokens, as the mock issues them.
    let tokens: Vec<String> = (0..COUNT)
        .map(|i| {
            key.token(&json!({
                "sub": format!("aaaaaaaa-bbbb-cccc-dddd-{i:012}"), "cognito:groups": ["admins"],
                "iss": ISS, "version": 2, "client_id": "3n4b5urk1ft4fl3mg5e62d9ado",
                "origin_jti": format!("o-{i}"), "event_id": format!("e-{i}"), "token_use": "access",
                "scope": "api/read api/write openid", "auth_time": now(), "exp": now() + 3600,
                "iat": now(), "jti": format!("j-{i}"), "username": format!("user{i}"),
            }))
        })
        .collect();
    let token_bytes: usize = tokens.iter().map(String::len).sum();
    let authorizer = Authorizer::builder(Profile::cognito_access())
        .issuer(ISS)
        .client_id("3n4b5urk1ft4fl3mg5e62d9ado")
        .keys(KeySet::from_jwks_json(&jwks).expect("jwks"))
        .token_cache_max_bytes(1 << 30)
        .build();
    let before = rss_kib();
    for token in &tokens {
        ready(authorizer.authorize::<()>(token)).expect("valid");
    }
    let after = rss_kib();
    let (entries, weighed) = authorizer.token_cache_usage().expect("cache on");
    println!("prepared RSA key (six algorithm variants): {per_key} bytes of RSS each");
    println!(
        "tokens: {COUNT}, average length {} bytes",
        token_bytes / COUNT
    );
    println!(
        "cached entries: {entries}, weighed at {} bytes each",
        weighed / entries.max(1)
    );
    println!(
        "RSS: {before} KiB before caching, {after} KiB with {entries} cached tokens \
         ({} bytes per cached token)",
        (after - before) * 1024 / entries.max(1)
    );
}
