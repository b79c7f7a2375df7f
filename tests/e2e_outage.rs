//! End to end, an issuer outage and its recovery, through the protected axum API: the mock's
//! JWKS endpoint fails (`500`) or hangs. Tokens signed by a key the API already holds keep
//! passing for a simulated hour; past the 24 h staleness bound the API answers 503 with
//! `Retry-After`; once the JWKS works again the API recovers by itself. An API that starts
//! during the outage answers 503 until the JWKS is back, then 200.
//!
//! The mock and the API's authorizer share one `ManualClock` (token times, the cache's TTL,
//! cooldown, backoff and staleness), advanced by the test; fetches run in real time.
#![cfg(all(feature = "mock", feature = "axum"))]

#[path = "support/e2e.rs"]
mod e2e;

use std::time::Duration;

use tokengate::mock::{JwksFault, MockIssuer};
use tokengate::{
    AuthErrorKind, Authorizer, JwtAuthLayer, KeyStatus, ManualClock, Profile, RemoteJwks,
};

use e2e::{Api, Reply, challenge, client_credentials, http, protected_api};

const CLIENT: &str = "demo-backend";
const HOUR: u64 = 3600;
const DAY: u64 = 24 * HOUR;

struct Fixture {
    clock: ManualClock,
    mock: MockIssuer,
    /// A clone of the API's authorizer: the same key cache.
    authorizer: Authorizer,
    api: Api,
}

/// How long the API's key cache gives one fetch during `fault`. A hanging JWKS gets 200 ms,
/// so that each hang ends quickly; every other fault answers at once, so fetches keep the
/// default 5 s, and a slow machine cannot turn the good fetches (before the outage, at
/// recovery) into failures the test did not cause.
fn fetch_timeout(fault: JwksFault) -> Duration {
    match fault {
        JwksFault::Hang => Duration::from_millis(200),
        _ => Duration::from_secs(5),
    }
}

/// The mock and an API in front of it, on one manual clock, for an outage by `fault`. The
/// key cache looks at the clock every 5 ms.
async fn start(fault: JwksFault) -> Fixture {
    let clock = ManualClock::starting_now();
    let mock = MockIssuer::demo()
        .clock(clock.clone())
        .start()
        .await
        .expect("the mock starts");
    let authorizer = Authorizer::builder(Profile::cognito_access())
        .issuer(mock.issuer())
        .client_id(CLIENT)
        .remote_jwks(
            RemoteJwks::from_uri(mock.jwks_uri())
                .expect("the mock's JWKS URL")
                .timeout(fetch_timeout(fault))
                .refresh_check_interval(Duration::from_millis(5)),
        )
        .clock(clock.clone())
        .build()
        .expect("valid authorizer settings");
    let api = Api::start(protected_api(JwtAuthLayer::new(authorizer.clone()))).await;
    Fixture {
        clock,
        mock,
        authorizer,
        api,
    }
}

impl Fixture {
    /// A fresh token by the client credentials grant (the token endpoint never fails).
    async fn token(&self) -> String {
        client_credentials(&http(), &self.mock, CLIENT, Some("api/read"))
            .await
            .access_token
    }

    async fn call(&self) -> Reply {
        let token = self.token().await;
        self.api.get("/read", Some(&token)).await
    }

    fn status(&self) -> KeyStatus {
        self.authorizer.health()[0].status.clone()
    }

    /// Advances the clock `step` seconds at a time, calling the API after each step, until
    /// a call passes; at most `steps` steps. Every call before must be a 503. Returns the
    /// clock seconds it took.
    async fn recover(&self, step: u64, steps: u32) -> u64 {
        for n in 1..=steps {
            self.clock.advance(step);
            tokio::time::sleep(Duration::from_millis(10)).await;
            let reply = self.call().await;
            match reply.status {
                200 => return u64::from(n) * step,
                503 => assert_unavailable(&reply),
                _ => panic!("while recovering: {reply:?}"),
            }
        }
        panic!("no recovery within {} s of clock", u64::from(steps) * step);
    }
}

/// A 503 for unavailable keys: `Retry-After` in whole seconds within the cooldown, the JSON
/// body saying why, and no bearer challenge (the client's token is not at fault).
fn assert_unavailable(reply: &Reply) {
    assert_eq!(reply.status, 503, "{reply:?}");
    let retry_after: u64 = reply
        .header("retry-after")
        .unwrap_or_else(|| panic!("a Retry-After header: {reply:?}"))
        .parse()
        .expect("Retry-After in seconds");
    assert!((1..=30).contains(&retry_after), "{reply:?}");
    assert_eq!(
        reply.json(),
        serde_json::json!({
            "error": "temporarily_unavailable",
            "error_description": AuthErrorKind::KeysUnavailable.description(),
        })
    );
    assert_eq!(reply.www_authenticate(), None, "{reply:?}");
}

/// Warm cache, then `fault`: an hour of 200s, 503 past the staleness bound, recovery.
async fn outage_then_recovery(fault: JwksFault) {
    let fx = start(fault).await;
    fx.authorizer.ready().await.expect("keys before the outage");
    assert_eq!(fx.call().await.status, 200, "{fault:?}: before the outage");
    assert_eq!(fx.mock.request_count(&fx.mock.jwks_path()), 1);

    fx.mock.set_jwks_fault(fault);
    // A simulated hour in 5-minute steps; each step's token is fresh (signed by the key the
    // API holds) and passes, while the background refreshes fail behind the scenes.
    for minute in (5..=60).step_by(5) {
        fx.clock.advance(300);
        tokio::time::sleep(Duration::from_millis(20)).await;
        let reply = fx.call().await;
        assert_eq!(reply.status, 200, "{fault:?}: +{minute} min: {reply:?}");
    }
    let health = &fx.authorizer.health()[0];
    assert_eq!(health.status, KeyStatus::Stale, "{fault:?}: {health:?}");
    assert!(health.failures >= 1, "{fault:?}: {health:?}");
    assert!(health.last_error.is_some(), "{fault:?}: {health:?}");
    assert!(
        fx.mock.request_count(&fx.mock.jwks_path()) >= 2,
        "{fault:?}: the cache kept trying"
    );

    // Past the staleness bound (24 h after the last good fetch): 503, at once even when the
    // JWKS hangs.
    fx.clock.advance(DAY - HOUR + 1);
    let started = std::time::Instant::now();
    let reply = fx.call().await;
    assert_unavailable(&reply);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{fault:?}: the refusal did not wait for the JWKS"
    );
    assert_eq!(fx.status(), KeyStatus::Unavailable, "{fault:?}");
    // Still down a while later.
    fx.clock.advance(60);
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_unavailable(&fx.call().await);

    // The JWKS works again: the API recovers by itself (background retry with backoff, or a
    // request's own fetch once the cooldown allows), within the 5-minute backoff cap.
    fx.mock.set_jwks_fault(JwksFault::None);
    let took = fx.recover(10, 40).await;
    println!("{fault:?}: recovered after {took} s of clock");
    for _ in 0..3 {
        assert_eq!(fx.call().await.status, 200, "{fault:?}: after recovery");
    }
    let health = &fx.authorizer.health()[0];
    assert_eq!(health.status, KeyStatus::Fresh, "{fault:?}: {health:?}");
    assert_eq!(health.last_error, None, "{fault:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_outage_is_ridden_out_for_an_hour_then_503_past_24_hours_then_recovered() {
    outage_then_recovery(JwksFault::Status(500)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_jwks_is_ridden_out_for_an_hour_then_503_past_24_hours_then_recovered() {
    outage_then_recovery(JwksFault::Hang).await;
}

/// An API that has never had keys, started while the JWKS fails.
async fn cold_start(fault: JwksFault) {
    let fx = start(fault).await;
    fx.mock.set_jwks_fault(fault);

    // The first request waits for the one fetch, which fails: 503, with a `Retry-After`
    // within the cooldown (checked by `assert_unavailable`).
    let reply = fx.call().await;
    assert_unavailable(&reply);
    // Within the cooldown another request is answered at once, the same way.
    let started = std::time::Instant::now();
    let reply = fx.call().await;
    assert_unavailable(&reply);
    assert!(started.elapsed() < Duration::from_secs(2), "{fault:?}");
    // Whatever the token: even an expired one cannot be judged without keys.
    let expired = fx
        .mock
        .access_token()
        .client(CLIENT)
        .expired()
        .sign()
        .expect("token");
    assert_unavailable(&fx.api.get("/read", Some(&expired)).await);
    // And without a token, the bare challenge as always (no keys needed to say so).
    let reply = fx.api.get("/read", None).await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.www_authenticate(),
        Some(challenge(AuthErrorKind::MissingToken).as_str())
    );
    assert_eq!(fx.status(), KeyStatus::Unavailable);

    // The JWKS is back. A client that waits what `Retry-After` said (on the shared clock)
    // gets through: within moments of real time, without the clock moving any further.
    let last = fx.call().await;
    assert_unavailable(&last);
    let hint: u64 = last
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    fx.mock.set_jwks_fault(JwksFault::None);
    fx.clock.advance(hint);
    let mut recovered = false;
    for _ in 0..100 {
        let reply = fx.call().await;
        if reply.status == 200 {
            recovered = true;
            break;
        }
        assert_unavailable(&reply);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    println!("cold start, {fault:?}: Retry-After {hint} s, recovered: {recovered}");
    assert!(
        recovered,
        "{fault:?}: no keys after waiting the Retry-After of {hint} s"
    );
    assert_eq!(fx.status(), KeyStatus::Fresh);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cold_start_during_a_500_outage_is_503_until_the_jwks_is_back() {
    cold_start(JwksFault::Status(500)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cold_start_during_a_hang_is_503_until_the_jwks_is_back() {
    cold_start(JwksFault::Hang).await;
}
