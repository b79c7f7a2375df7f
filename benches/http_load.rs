//! HTTP load on loopback with `wrk`: the same axum API with and without tokengate in front
//! (token cache on, 1,000 distinct live tokens, a scope requirement), requests per second and
//! p50/p99 latency, and their ratio.
//!
//! Needs `wrk` (`apt-get install -y wrk`). Run:
//! `cargo bench --bench http_load --all-features -- [SECONDS] [CONNECTIONS]` (defaults 10, 32)

#[path = "../tests/support/mod.rs"]
mod support;

use std::process::Command;

use axum::Router;
use axum::routing::get;
use serde_json::json;
use support::{TestKey, now};
use tokengate::{Algorithm, Authorizer, JwtAuthLayer, KeySet, Profile, RequireScope};

const ISS: &str = "https://issuer.example.com";
const AUD: &str = "https://api.example.com";
const TOKENS: usize = 1_000;

struct Run {
    requests_per_sec: f64,
    p50: String,
    p99: String,
    non_2xx: bool,
}

fn wrk(url: &str, script: &str, seconds: u64, connections: u64) -> Run {
    let output = Command::new("wrk")
        .args([
            "-t1",
            &format!("-c{connections}"),
            &format!("-d{seconds}s"),
            "--latency",
            "-s",
            script,
            url,
        ])
        .output()
        .expect("wrk runs (apt-get install -y wrk)");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let field = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|v| v.trim().to_owned()))
            .unwrap_or_else(|| panic!("no `{prefix}` in wrk's output:\n{text}"))
    };
    Run {
        requests_per_sec: field("Requests/sec:").parse().expect("a number"),
        p50: field("50%"),
        p99: field("99%"),
        non_2xx: text.contains("Non-2xx"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let seconds = args.first().and_then(|a| a.parse().ok()).unwrap_or(10);
    let connections = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(32);
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("wrk is not installed: apt-get install -y wrk");
        std::process::exit(1);
    }
    // One worker thread for the server, one core left for wrk.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let key = TestKey::generate(Algorithm::RS256, "k1");
    let authorizer = Authorizer::builder(Profile::generic())
        .issuer(ISS)
        .audience(AUD)
        .keys(KeySet::from_jwks_json(&support::jwks(&[&key])).expect("jwks"))
        .build();
    let tokens: Vec<String> = (0..TOKENS)
        .map(|i| {
            key.token(&json!({"iss": ISS, "aud": AUD, "sub": format!("user-{i}"),
                "scope": "orders/read", "exp": now() + 3600}))
        })
        .collect();
    let dir = std::env::temp_dir().join(format!("tokengate-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let script = dir.join("tokens.lua");
    let lua_tokens: Vec<String> = tokens.iter().map(|t| format!("\"{t}\"")).collect();
    std::fs::write(
        &script,
        format!(
            "local tokens = {{{}}}\nlocal i = 0\nrequest = function()\n  i = i % #tokens + 1\n  \
             return wrk.format(nil, nil, {{[\"Authorization\"] = \"Bearer \" .. tokens[i]}})\nend\n",
            lua_tokens.join(",")
        ),
    )
    .expect("lua script");

    let (plain, protected) = runtime.block_on(async {
        let app = || Router::new().route("/orders", get(|| async { "orders" }));
        let plain = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let protected = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let plain_addr = plain.local_addr().expect("addr");
        let protected_addr = protected.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(plain, app()).await });
        let guarded = app()
            .route_layer(RequireScope::all(["orders/read"]))
            .layer(JwtAuthLayer::new(authorizer));
        tokio::spawn(async move { axum::serve(protected, guarded).await });
        (plain_addr, protected_addr)
    });
    let script = script.to_string_lossy().into_owned();
    let url = |addr| format!("http://{addr}/orders");
    // Warm both (and fill the token cache), then measure.
    wrk(&url(plain), &script, 2, connections);
    wrk(&url(protected), &script, 2, connections);
    let without = wrk(&url(plain), &script, seconds, connections);
    let with = wrk(&url(protected), &script, seconds, connections);
    assert!(
        !with.non_2xx && !without.non_2xx,
        "every request must succeed"
    );
    println!("| server | requests/s | p50 | p99 |");
    println!("|---|---:|---:|---:|");
    println!(
        "| no auth | {:.0} | {} | {} |",
        without.requests_per_sec, without.p50, without.p99
    );
    println!(
        "| tokengate (cache on, {TOKENS} tokens) | {:.0} | {} | {} |",
        with.requests_per_sec, with.p50, with.p99
    );
    println!(
        "ratio (tokengate / no auth): {:.2}× ({seconds} s, {connections} connections, wrk -t1)",
        with.requests_per_sec / without.requests_per_sec
    );
    let _ = std::fs::remove_dir_all(&dir);
}
