//! End to end, key rotation mid-traffic: client tasks keep fetching fresh client-credentials
//! tokens from the mock and calling the protected axum API while the mock's signing key is
//! rotated. Done the right way (publish → the API's cache has it → switch → old tokens out of
//! use → retire) not one request fails; done abruptly (`rotate_keys`), new-kid tokens are
//! refused only within the key cache's 30 s cooldown, and the first request after it succeeds.
//!
//! The mock and the API's authorizer share one `ManualClock`: the cache's TTL (the mock's
//! `max-age=300`) and cooldown pass when the test says so, while the HTTP runs in real time.
#![cfg(all(feature = "mock", feature = "axum"))]

#[path = "support/e2e.rs"]
mod e2e;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tokengate::mock::{KeyUse, MockIssuer};
use tokengate::{
    AuthErrorKind, Authorizer, Clock as _, JwtAuthLayer, ManualClock, Profile, RemoteJwks,
};

use e2e::{Api, challenge, client_credentials, eventually, http, protected_api};

const CLIENT: &str = "demo-backend";
const TASKS: usize = 8;
const COOLDOWN_MS: u64 = 30_000;

struct Fixture {
    clock: ManualClock,
    mock: Arc<MockIssuer>,
    /// A clone of the API's authorizer: the same key cache, to look at its health.
    authorizer: Authorizer,
    api: Arc<Api>,
}

async fn start() -> Fixture {
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
                .refresh_check_interval(Duration::from_millis(5)),
        )
        .clock(clock.clone())
        .build()
        .expect("valid authorizer settings");
    authorizer.ready().await.expect("the API has the keys");
    let api = Api::start(protected_api(JwtAuthLayer::new(authorizer.clone()))).await;
    Fixture {
        clock,
        mock: Arc::new(mock),
        authorizer,
        api: Arc::new(api),
    }
}

impl Fixture {
    fn cached_kids(&self) -> Vec<String> {
        self.authorizer.health()[0].kids.clone()
    }
}

/// The `kid` in a token's header.
fn kid_of(token: &str) -> String {
    let header = token.split('.').next().unwrap_or_default();
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap_or_default())
            .unwrap_or_default();
    header["kid"].as_str().unwrap_or("?").to_owned()
}

/// One API call as a client task saw it.
#[derive(Debug)]
struct Call {
    /// Milliseconds of the shared clock since the test's origin, read just before sending.
    sent_at: u64,
    status: u16,
    challenge: Option<String>,
    kid: String,
}

/// Client tasks hammering `GET /read` with a fresh token per call until stopped.
struct Traffic {
    stop: Arc<AtomicBool>,
    calls: Arc<Mutex<Vec<Call>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Traffic {
    /// Starts [`TASKS`] tasks. Each sets its `fresh[i]` once it completed a call whose token
    /// was fetched after `switched` was seen set.
    fn start(
        fx: &Fixture,
        origin_ms: u64,
        switched: &Arc<AtomicBool>,
        fresh: &Arc<Vec<AtomicBool>>,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let calls = Arc::new(Mutex::new(Vec::new()));
        let tasks = (0..TASKS)
            .map(|i| {
                let (stop, calls) = (Arc::clone(&stop), Arc::clone(&calls));
                let (switched, fresh) = (Arc::clone(switched), Arc::clone(fresh));
                let (mock, api, clock) =
                    (Arc::clone(&fx.mock), Arc::clone(&fx.api), fx.clock.clone());
                tokio::spawn(async move {
                    let client = http();
                    while !stop.load(Ordering::SeqCst) {
                        let after_switch = switched.load(Ordering::SeqCst);
                        let token = client_credentials(&client, &mock, CLIENT, Some("api/read"))
                            .await
                            .access_token;
                        let sent_at = clock.now_millis() - origin_ms;
                        let reply = api.get("/read", Some(&token)).await;
                        calls.lock().expect("calls").push(Call {
                            sent_at,
                            status: reply.status,
                            challenge: reply.www_authenticate().map(str::to_owned),
                            kid: kid_of(&token),
                        });
                        if after_switch {
                            fresh[i].store(true, Ordering::SeqCst);
                        }
                    }
                })
            })
            .collect();
        Self { stop, calls, tasks }
    }

    /// How many calls so far meet `condition`.
    fn count(&self, condition: impl Fn(&Call) -> bool) -> usize {
        self.calls
            .lock()
            .expect("calls")
            .iter()
            .filter(|c| condition(c))
            .count()
    }

    async fn stop(self) -> Vec<Call> {
        self.stop.store(true, Ordering::SeqCst);
        for task in self.tasks {
            task.await.expect("a client task panicked");
        }
        std::mem::take(&mut *self.calls.lock().expect("calls"))
    }
}

fn no_flags() -> (Arc<AtomicBool>, Arc<Vec<AtomicBool>>) {
    (
        Arc::new(AtomicBool::new(false)),
        Arc::new((0..TASKS).map(|_| AtomicBool::new(false)).collect()),
    )
}

async fn real_pause(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_three_step_rotation_under_load_fails_no_request() {
    let fx = start().await;
    let origin = fx.clock.now_millis();
    let (switched, fresh) = no_flags();
    let old = fx.mock.current_kid(KeyUse::Access);
    let traffic = Traffic::start(&fx, origin, &switched, &fresh);
    eventually("traffic on the old key", || {
        traffic.count(|_| true) >= 2 * TASKS
    })
    .await;
    real_pause(300).await;

    // 1. Publish the next key, and wait until the API's cache holds it: the mock serves
    //    `max-age=300`, so the background refresh is due once 300 s have passed.
    let next = fx.mock.publish_next_key().expect("publish");
    fx.clock.advance(300);
    eventually("the API's cache has the published key", || {
        fx.cached_kids().contains(&next)
    })
    .await;
    real_pause(400).await;

    // 2. Switch: new tokens carry the new kid, which the API already knows.
    fx.mock.switch_key(KeyUse::Access, &next).expect("switch");
    switched.store(true, Ordering::SeqCst);
    // Old tokens still validate; wait until none is in use any more (every task has
    // completed a call with a token fetched after the switch).
    eventually("every client task uses new-key tokens", || {
        fresh.iter().all(|f| f.load(Ordering::SeqCst))
    })
    .await;
    real_pause(400).await;

    // 3. Retire the old key, and let the API's cache drop it at its next refresh.
    fx.mock.retire_key(&old).expect("retire");
    fx.clock.advance(300);
    eventually("the API's cache dropped the retired key", || {
        !fx.cached_kids().contains(&old)
    })
    .await;
    real_pause(500).await;

    let calls = traffic.stop().await;
    let failed: Vec<&Call> = calls.iter().filter(|c| c.status != 200).collect();
    let on_old = calls.iter().filter(|c| c.kid == old).count();
    let on_next = calls.iter().filter(|c| c.kid == next).count();
    println!(
        "three-step rotation: {} requests by {TASKS} tasks, {} failed ({on_old} on the old key, \
         {on_next} on the new)",
        calls.len(),
        failed.len()
    );
    assert!(
        failed.is_empty(),
        "{} of {} requests failed during the rotation, first: {:?}",
        failed.len(),
        calls.len(),
        failed.first()
    );
    assert!(on_old >= TASKS && on_next >= TASKS, "{on_old} / {on_next}");
    assert_eq!(on_old + on_next, calls.len(), "only these two keys signed");
    // ready() and the two refreshes the test made due: no fetch caused by an unknown kid.
    assert_eq!(fx.mock.request_count(&fx.mock.jwks_path()), 3);
    assert_eq!(
        fx.cached_kids().len(),
        2,
        "the new access key and the ID key"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_abrupt_rotation_refuses_new_kid_tokens_only_within_the_cooldown() {
    let fx = start().await;
    // The API's only fetch so far (ready()) was at the clock's origin: the cooldown counts
    // from it.
    let origin = fx.clock.now_millis();
    let client = http();
    let before = client_credentials(&client, &fx.mock, CLIENT, Some("api/read"))
        .await
        .access_token;
    assert_eq!(fx.api.get("/read", Some(&before)).await.status, 200);

    fx.mock.rotate_keys().expect("rotate");
    let new_kid = fx.mock.current_kid(KeyUse::Access);
    let (switched, fresh) = no_flags();
    let traffic = Traffic::start(&fx, origin, &switched, &fresh);
    eventually("traffic within the cooldown", || {
        traffic.count(|_| true) >= TASKS
    })
    .await;
    // Through the cooldown in 5 s steps, up to 29 s, then past it to 45 s.
    for step in [5, 5, 5, 5, 5, 4, 1, 5, 5, 5] {
        real_pause(80).await;
        fx.clock.advance(step);
    }
    eventually("traffic after the cooldown", || {
        traffic.count(|c| c.sent_at >= COOLDOWN_MS) >= 2 * TASKS
    })
    .await;
    let calls = traffic.stop().await;

    let unknown_key = challenge(AuthErrorKind::UnknownKey);
    let (within, after): (Vec<&Call>, Vec<&Call>) =
        calls.iter().partition(|c| c.sent_at < COOLDOWN_MS);
    println!(
        "abrupt rotation: {} requests, {} sent within the cooldown ({} refused), {} after it",
        calls.len(),
        within.len(),
        within.iter().filter(|c| c.status != 200).count(),
        after.len()
    );
    assert!(
        calls.iter().all(|c| c.kid == new_kid),
        "new-kid tokens only"
    );
    for call in &calls {
        if call.status != 200 {
            assert_eq!(call.status, 401, "{call:?}");
            assert_eq!(
                call.challenge.as_deref(),
                Some(unknown_key.as_str()),
                "{call:?}"
            );
            assert!(
                call.sent_at < COOLDOWN_MS,
                "refused after the cooldown: {call:?}"
            );
        }
    }
    assert!(
        within.iter().any(|c| c.status == 401),
        "the new kid is unknown within the cooldown"
    );
    assert!(!after.is_empty(), "traffic after the cooldown");
    assert!(
        after.iter().all(|c| c.status == 200),
        "every request sent after the cooldown succeeds"
    );
    // One fetch at the origin, one once the cooldown allowed it: no flood of refetches.
    assert_eq!(fx.mock.request_count(&fx.mock.jwks_path()), 2);

    // The retired key's tokens are gone with the refreshed set.
    let reply = fx.api.get("/read", Some(&before)).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.www_authenticate(), Some(unknown_key.as_str()));
}

#[tokio::test]
async fn after_an_abrupt_rotation_the_first_request_past_the_cooldown_succeeds() {
    let fx = start().await;
    let client = http();
    fx.mock.rotate_keys().expect("rotate");
    let token = client_credentials(&client, &fx.mock, CLIENT, Some("api/read"))
        .await
        .access_token;
    let unknown_key = challenge(AuthErrorKind::UnknownKey);

    // 0 s and 29.999 s after the last fetch: refused at once, without fetching.
    for advance_ms in [0, 29_999] {
        fx.clock.advance_millis(advance_ms);
        let reply = fx.api.get("/read", Some(&token)).await;
        assert_eq!(reply.status, 401, "+{advance_ms} ms");
        assert_eq!(reply.www_authenticate(), Some(unknown_key.as_str()));
    }
    assert_eq!(fx.mock.request_count(&fx.mock.jwks_path()), 1);

    // 30 s: the cooldown is over; this very request refetches and passes.
    fx.clock.advance_millis(1);
    let reply = fx.api.get("/read", Some(&token)).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(fx.mock.request_count(&fx.mock.jwks_path()), 2);
    assert_eq!(fx.api.me(&token).await["client_id"], CLIENT);
}
