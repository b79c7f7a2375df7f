//! Remote key sets: discovery, caching, rotation, outages and floods, against a local server.

#[path = "../support/jwks_server.rs"]
mod jwks_server;
#[path = "../support/no_tokio.rs"]
mod no_tokio;
#[path = "../support/mod.rs"]
mod support;

mod discovery;
mod flood;
mod freshness;
mod issuers;
mod outage;
mod runtimes;
mod settings;

use std::time::Duration;

use jwks_server::JwksServer;
use serde_json::{Value, json};
use support::{AUDIENCE, TestKey};
use tokengate::{Algorithm, Authorizer, Clock, ManualClock, Profile, RemoteJwks};

/// A clock at the real time now, moved only by the test.
fn clock() -> ManualClock {
    ManualClock::starting_now()
}

/// An authorizer for the server's issuer whose keys come from its JWKS URL.
fn authorizer_with(
    server: &JwksServer,
    clock: &ManualClock,
    configure: impl FnOnce(RemoteJwks) -> RemoteJwks,
) -> Authorizer {
    let remote = RemoteJwks::from_uri(server.jwks_uri())
        .expect("valid uri")
        .refresh_check_interval(Duration::from_millis(5));
    Authorizer::builder(Profile::generic())
        .issuer(&server.base)
        .audience(AUDIENCE)
        .remote_jwks(configure(remote))
        .clock(clock.clone())
        .build()
        .expect("valid authorizer settings")
}

fn authorizer(server: &JwksServer, clock: &ManualClock) -> Authorizer {
    authorizer_with(server, clock, |r| r)
}

/// Claims for `issuer`, valid for two days from the clock's now.
fn claims(issuer: &str, clock: &ManualClock) -> Value {
    let now = clock.now_unix();
    json!({"iss": issuer, "aud": AUDIENCE, "sub": "user-1", "iat": now, "exp": now + 2 * 86_400})
}

fn ec_key(kid: &str) -> TestKey {
    TestKey::generate(Algorithm::ES256, kid)
}

/// Polls `condition` every few milliseconds of real time, for up to five seconds.
async fn eventually(what: &str, condition: impl Fn() -> bool) {
    for _ in 0..1000 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("timed out waiting for: {what}");
}

/// Lets the background task look at the clock a few times.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(50)).await;
}
