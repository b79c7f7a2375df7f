//! The verified-token cache never turns a refusal into an acceptance: expiry, key rotation and
//! removal, another policy, a forged twin, an outage each still refuse, whether the cache has
//! room or is full; and it holds no more bytes than its budget, whatever the claims type.

#[path = "support/jwks_server.rs"]
mod jwks_server;
#[path = "support/mod.rs"]
mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use jwks_server::{JwksServer, Mode};
use serde_json::json;
use support::{AUDIENCE, TestKey, b64, jwks};
use tokengate::{
    Algorithm, AuthErrorKind, Authorizer, Clock, KeySet, ManualClock, Profile, RemoteJwks,
};

const ISS: &str = "https://issuer.example";

fn key() -> TestKey {
    TestKey::generate(Algorithm::ES256, "k1")
}

fn claims(clock: &ManualClock, lifetime: u64) -> serde_json::Value {
    let now = clock.now_unix();
    json!({"iss": ISS, "aud": AUDIENCE, "sub": "alice", "iat": now, "exp": now + lifetime,
        "tenant": "acme"})
}

fn static_authorizer(key: &TestKey, clock: &ManualClock, audience: &str) -> Authorizer {
    Authorizer::builder(Profile::generic())
        .issuer(ISS)
        .audience(audience)
        .keys(KeySet::from_jwks_json(&jwks(&[key])).expect("jwks"))
        .clock(clock.clone())
        .build()
}

fn entries(authorizer: &Authorizer) -> u64 {
    authorizer
        .token_cache_usage()
        .expect("cache on by default")
        .0
}

#[tokio::test]
async fn a_validated_token_is_remembered_and_served_again() {
    let key = key();
    let clock = ManualClock::starting_now();
    let auth = static_authorizer(&key, &clock, AUDIENCE);
    let token = key.token(&claims(&clock, 3600));
    let first = auth.authorize::<()>(&token).await.expect("valid");
    assert_eq!(entries(&auth), 1);
    let second = auth.authorize::<()>(&token).await.expect("still valid");
    assert_eq!(first.subject(), second.subject());
    assert_eq!(entries(&auth), 1);
}

#[tokio::test]
async fn refusals_are_never_cached() {
    let key = key();
    let clock = ManualClock::starting_now();
    let auth = static_authorizer(&key, &clock, AUDIENCE);
    let mut wrong = claims(&clock, 3600);
    wrong["aud"] = json!("someone-else");
    let token = key.token(&wrong);
    for _ in 0..2 {
        let err = auth.authorize::<()>(&token).await.unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::WrongAudience);
    }
    assert_eq!(entries(&auth), 0);
}

#[tokio::test]
async fn a_cached_token_expires_on_the_authorizers_clock() {
    let key = key();
    let clock = ManualClock::starting_now();
    let auth = static_authorizer(&key, &clock, AUDIENCE);
    let token = key.token(&claims(&clock, 60));
    auth.authorize::<()>(&token).await.expect("valid");
    clock.advance(60 + 30);
    let err = auth.authorize::<()>(&token).await.unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::Expired);
    assert_eq!(entries(&auth), 0, "the expired entry is dropped");
}

#[tokio::test]
async fn a_clock_set_back_before_nbf_is_checked_again() {
    let key = key();
    let clock = ManualClock::starting_now();
    let auth = static_authorizer(&key, &clock, AUDIENCE);
    let mut c = claims(&clock, 3600);
    c["nbf"] = json!(clock.now_unix());
    let token = key.token(&c);
    auth.authorize::<()>(&token).await.expect("valid");
    clock.rewind(3600);
    let err = auth.authorize::<()>(&token).await.unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::NotYetValid);
}

#[tokio::test]
async fn another_policy_never_sees_this_authorizers_cache() {
    let key = key();
    let clock = ManualClock::starting_now();
    let token = key.token(&claims(&clock, 3600));
    let ours = static_authorizer(&key, &clock, AUDIENCE);
    ours.authorize::<()>(&token).await.expect("valid here");
    let stricter = static_authorizer(&key, &clock, "https://other-api.example");
    let err = stricter.authorize::<()>(&token).await.unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::WrongAudience);
}

#[tokio::test]
async fn a_forged_twin_with_a_cached_tokens_signature_is_refused() {
    let key = key();
    let clock = ManualClock::starting_now();
    let auth = static_authorizer(&key, &clock, AUDIENCE);
    let token = key.token(&claims(&clock, 3600));
    auth.authorize::<()>(&token).await.expect("valid");
    // Same header and signature (same hash tail), another payload: another string.
    let mut forged_claims = claims(&clock, 3600);
    forged_claims["sub"] = json!("mallory");
    let parts: Vec<&str> = token.split('.').collect();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64(serde_json::to_vec(&forged_claims).expect("json")),
        parts[2]
    );
    let err = auth.authorize::<()>(&forged).await.unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::InvalidSignature);
    // And a token one character longer or shorter is another string too.
    let err = auth
        .authorize::<()>(&token[..token.len() - 1])
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.kind(),
            AuthErrorKind::InvalidSignature | AuthErrorKind::Malformed
        ),
        "{err:?}"
    );
}

#[derive(serde::Deserialize)]
struct Tenant {
    tenant: String,
}

#[tokio::test]
async fn another_claims_type_reads_its_own_claims() {
    let key = key();
    let clock = ManualClock::starting_now();
    let auth = static_authorizer(&key, &clock, AUDIENCE);
    let token = key.token(&claims(&clock, 3600));
    auth.authorize::<()>(&token).await.expect("valid");
    let typed = auth.authorize::<Tenant>(&token).await.expect("valid");
    assert_eq!(typed.tenant, "acme");
    let again = auth.authorize::<Tenant>(&token).await.expect("cached");
    assert_eq!(again.tenant, "acme");
}

#[tokio::test]
async fn the_cache_can_be_turned_off() {
    let key = key();
    let clock = ManualClock::starting_now();
    let auth = Authorizer::builder(Profile::generic())
        .issuer(ISS)
        .audience(AUDIENCE)
        .keys(KeySet::from_jwks_json(&jwks(&[&key])).expect("jwks"))
        .clock(clock.clone())
        .disable_token_cache()
        .build();
    let token = key.token(&claims(&clock, 3600));
    auth.authorize::<()>(&token).await.expect("valid");
    assert_eq!(auth.token_cache_usage(), None);
}

#[tokio::test]
async fn the_cache_stays_within_its_byte_budget() {
    let key = key();
    let clock = ManualClock::starting_now();
    let budget = 64 * 1024;
    let auth = Authorizer::builder(Profile::generic())
        .issuer(ISS)
        .audience(AUDIENCE)
        .keys(KeySet::from_jwks_json(&jwks(&[&key])).expect("jwks"))
        .clock(clock.clone())
        .token_cache_max_bytes(budget)
        .build();
    for i in 0..500 {
        let mut c = claims(&clock, 3600);
        c["jti"] = json!(format!("token-{i}"));
        auth.authorize::<()>(&key.token(&c)).await.expect("valid");
    }
    let (count, bytes) = auth.token_cache_usage().expect("on");
    assert!(
        bytes <= budget,
        "{bytes} bytes held for a {budget}-byte budget"
    );
    assert!(count > 0 && count < 500, "{count} entries");
}

fn remote(server: &JwksServer, clock: &ManualClock) -> Authorizer {
    Authorizer::builder(Profile::generic())
        .issuer(ISS)
        .audience(AUDIENCE)
        .remote_jwks(
            RemoteJwks::from_uri(server.jwks_uri())
                .expect("url")
                .timeout(Duration::from_millis(300))
                .refresh_check_interval(Duration::from_millis(5)),
        )
        .clock(clock.clone())
        .build()
        .expect("valid authorizer settings")
}

async fn eventually(what: &str, condition: impl Fn() -> bool) {
    for _ in 0..1000 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("timed out waiting for: {what}");
}

#[tokio::test]
async fn a_cached_token_of_a_removed_key_is_refused_once_the_set_changes() {
    let old = key();
    let new = TestKey::generate(Algorithm::ES256, "k2");
    let server = JwksServer::start(jwks(&[&old, &new])).await;
    let clock = ManualClock::starting_now();
    let auth = remote(&server, &clock);
    let token = old.token(&claims(&clock, 2 * 86_400));
    auth.authorize::<()>(&token).await.expect("valid");
    auth.authorize::<()>(&token).await.expect("cached");

    server.set_jwks(jwks(&[&new]));
    clock.advance(10 * 60);
    eventually("the refreshed set", || {
        auth.health()[0].kids == ["k2".to_owned()]
    })
    .await;
    let err = auth.authorize::<()>(&token).await.unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::UnknownKey);
}

#[tokio::test]
async fn a_cached_token_gets_503_once_the_keys_are_past_their_staleness_bound() {
    let key = key();
    let server = JwksServer::start(jwks(&[&key])).await;
    let clock = ManualClock::starting_now();
    let auth = remote(&server, &clock);
    let token = key.token(&claims(&clock, 3 * 86_400));
    auth.authorize::<()>(&token).await.expect("valid");

    server.set_mode(Mode::Status(500));
    clock.advance(25 * 3600);
    let err = auth.authorize::<()>(&token).await.unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::KeysUnavailable);
}

#[tokio::test]
async fn a_cached_token_is_verified_again_when_rotation_replaces_its_key() {
    // The issuer rotates: `k1` now names new key material, `k2` stays.
    let old = key();
    let kept = TestKey::generate(Algorithm::ES256, "k2");
    let server = JwksServer::start(jwks(&[&old, &kept])).await;
    let clock = ManualClock::starting_now();
    let auth = remote(&server, &clock);
    let by_old = old.token(&claims(&clock, 2 * 86_400));
    let by_kept = kept.token(&claims(&clock, 2 * 86_400));
    for token in [&by_old, &by_kept] {
        auth.authorize::<()>(token).await.expect("valid");
        auth.authorize::<()>(token).await.expect("cached");
    }

    let new = TestKey::generate(Algorithm::ES256, "k1");
    server.set_jwks(jwks(&[&new, &kept]));
    clock.advance(10 * 60);
    // Installed, not only started: the set in use is new again on the clock.
    eventually("the refreshed set", || {
        auth.health()[0]
            .age
            .is_some_and(|age| age < Duration::from_secs(60))
    })
    .await;
    let err = auth.authorize::<()>(&by_old).await.unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::InvalidSignature);
    // A token whose key is still published is verified again, and still accepted.
    auth.authorize::<()>(&by_kept)
        .await
        .expect("k2 still signs");
}

/// An authorizer whose cache holds about 16 KiB: full after some 20 tokens.
fn small_cache(key: &TestKey, clock: &ManualClock, audience: &str) -> Authorizer {
    Authorizer::builder(Profile::generic())
        .issuer(ISS)
        .audience(audience)
        .keys(KeySet::from_jwks_json(&jwks(&[key])).expect("jwks"))
        .clock(clock.clone())
        .token_cache_max_bytes(16 * 1024)
        .build()
}

/// Validates distinct tokens until the cache stops growing: it is full and has evicted.
async fn fill(auth: &Authorizer, key: &TestKey, clock: &ManualClock) {
    for i in 0..200 {
        let mut c = claims(clock, 3600);
        c["jti"] = json!(format!("filler-{i}"));
        auth.authorize::<()>(&key.token(&c)).await.expect("valid");
    }
    let (count, bytes) = auth.token_cache_usage().expect("on");
    assert!(count < 200, "{count} entries in 16 KiB");
    assert!(bytes <= 16 * 1024, "{bytes} bytes");
}

#[tokio::test]
async fn once_full_a_token_is_remembered_from_its_second_validation() {
    let key = key();
    let clock = ManualClock::starting_now();
    let auth = small_cache(&key, &clock, AUDIENCE);
    fill(&auth, &key, &clock).await;
    // Heavier than the fillers, so that its admission shows in the weight.
    let mut c = claims(&clock, 3600);
    c["team"] = json!("x".repeat(200));
    let token = key.token(&c);
    let before = auth.token_cache_usage();
    auth.authorize::<()>(&token).await.expect("valid");
    assert_eq!(
        auth.token_cache_usage(),
        before,
        "a first validation, once full, stores nothing and evicts nothing"
    );
    auth.authorize::<()>(&token).await.expect("valid again");
    assert_ne!(auth.token_cache_usage(), before, "the second one is kept");
    auth.authorize::<()>(&token).await.expect("cached");
    // Kept in a full cache, it still expires on the clock.
    clock.advance(3600 + 30);
    let err = auth.authorize::<()>(&token).await.unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::Expired);
}

#[tokio::test]
async fn once_full_a_refused_token_stays_refused_however_often_it_comes() {
    let key = key();
    let clock = ManualClock::starting_now();
    let auth = small_cache(&key, &clock, AUDIENCE);
    fill(&auth, &key, &clock).await;
    let mut wrong = claims(&clock, 3600);
    wrong["aud"] = json!("someone-else");
    let wrong = key.token(&wrong);
    let not_yet = {
        let mut c = claims(&clock, 3600);
        c["nbf"] = json!(clock.now_unix() + 600);
        key.token(&c)
    };
    let before = auth.token_cache_usage();
    for _ in 0..3 {
        let err = auth.authorize::<()>(&wrong).await.unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::WrongAudience);
        let err = auth.authorize::<()>(&not_yet).await.unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::NotYetValid);
    }
    assert_eq!(
        auth.token_cache_usage(),
        before,
        "refusals are never stored"
    );
    // And a token this cache accepted twice is refused by another policy.
    let token = key.token(&claims(&clock, 3600));
    for _ in 0..3 {
        auth.authorize::<()>(&token).await.expect("valid");
    }
    let stricter = small_cache(&key, &clock, "https://other-api.example");
    let err = stricter.authorize::<()>(&token).await.unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::WrongAudience);
}

#[tokio::test]
async fn a_token_verified_again_leaves_a_cache_with_room_keeping_new_tokens_at_once() {
    let key = key();
    let clock = ManualClock::starting_now();
    let auth = static_authorizer(&key, &clock, AUDIENCE);
    let token = key.token(&claims(&clock, 3600));
    auth.authorize::<()>(&token).await.expect("valid");
    // Read into another claims type: verified again, and its entry replaced.
    auth.authorize::<serde_json::Value>(&token)
        .await
        .expect("valid");
    assert_eq!(entries(&auth), 1);
    let mut c = claims(&clock, 3600);
    c["jti"] = json!("fresh");
    auth.authorize::<()>(&key.token(&c)).await.expect("valid");
    assert_eq!(
        entries(&auth),
        2,
        "a replaced entry is no eviction: a cache with room keeps a token from its first success"
    );
}

#[tokio::test]
async fn a_token_too_heavy_to_keep_leaves_the_cache_keeping_new_tokens_at_once() {
    let key = key();
    let clock = ManualClock::starting_now();
    let mut c = claims(&clock, 3600);
    c["team"] = json!("x".repeat(5000));
    let heavy = key.token(&c);
    // Its weight, read from a cache with room to spare.
    let roomy = static_authorizer(&key, &clock, AUDIENCE);
    let empty = roomy.token_cache_usage().expect("on").1;
    roomy.authorize::<()>(&heavy).await.expect("valid");
    let weight = roomy.token_cache_usage().expect("on").1 - empty;

    // A budget it fits only whole: more than a shard's share once the store's own
    // bookkeeping is set aside, so the store turns it away.
    let tight = Authorizer::builder(Profile::generic())
        .issuer(ISS)
        .audience(AUDIENCE)
        .keys(KeySet::from_jwks_json(&jwks(&[&key])).expect("jwks"))
        .clock(clock.clone())
        .token_cache_max_bytes(weight + 512)
        .build();
    tight.authorize::<()>(&heavy).await.expect("valid");
    let held = entries(&tight);
    tight
        .authorize::<()>(&key.token(&claims(&clock, 3600)))
        .await
        .expect("valid");
    assert_eq!(
        entries(&tight),
        held + 1,
        "a token turned away is no eviction: the cache keeps the next one at once"
    );
}

/// Counts the heap bytes this thread holds while `COUNTING` is on: what the byte-bound test
/// reads. Other tests' threads are not counted.
struct ThreadCounting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

fn count(delta: isize) {
    // `try_with`: the allocator also runs while a thread's locals are torn down.
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = LIVE.try_with(|live| live.set(live.get() + delta));
        }
    });
}

// SAFETY: every call goes to `System` unchanged; a thread-local counter is all that is added.
unsafe impl GlobalAlloc for ThreadCounting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as isize);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as isize));
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size as isize - layout.size() as isize);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: ThreadCounting = ThreadCounting;

fn ready<F: Future>(fut: F) -> F::Output {
    match pin!(fut).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("static keys never wait"),
    }
}

/// Claims near the 8 KiB token limit, in the shapes that cost most once read into a
/// `serde_json::Value`: long arrays of small numbers, many small objects, short strings.
fn large_claims(clock: &ManualClock, i: usize) -> serde_json::Value {
    let mut c = claims(clock, 3600);
    c["jti"] = json!(format!("large-{i}"));
    c["numbers"] = json!(vec![0; 1_500]);
    c["objects"] = json!((0..150).map(|n| json!({"k": n})).collect::<Vec<_>>());
    c["tags"] = json!((0..150).map(|n| format!("t{n}")).collect::<Vec<_>>());
    c
}

#[test]
fn the_byte_budget_holds_for_json_value_claims_from_large_payloads() {
    let key = key();
    let clock = ManualClock::starting_now();
    let budget: u64 = 4 * 1024 * 1024;
    let tokens: Vec<String> = (0..300)
        .map(|i| key.token(&large_claims(&clock, i)))
        .collect();
    assert!(
        tokens
            .iter()
            .all(|t| t.len() <= 8 * 1024 && t.len() > 6 * 1024)
    );
    let build = |cache: bool| {
        let builder = Authorizer::builder(Profile::generic())
            .issuer(ISS)
            .audience(AUDIENCE)
            .keys(KeySet::from_jwks_json(&jwks(&[&key])).expect("jwks"))
            .clock(clock.clone());
        if cache {
            builder.token_cache_max_bytes(budget).build()
        } else {
            builder.disable_token_cache().build()
        }
    };
    // What the same authorizer holds with no cache at all: the baseline.
    COUNTING.with(|c| c.set(true));
    let uncached = build(false);
    let baseline = LIVE.with(Cell::get);
    drop(uncached);

    LIVE.with(|l| l.set(0));
    let auth = build(true);
    for token in &tokens {
        // Twice each: once full, a token is kept from its second validation.
        for _ in 0..2 {
            let claims = ready(auth.authorize::<serde_json::Value>(token)).expect("valid");
            assert_eq!(claims["numbers"].as_array().map(Vec::len), Some(1_500));
        }
    }
    let held = LIVE.with(Cell::get) - baseline;
    COUNTING.with(|c| c.set(false));
    let (count, weighed) = auth.token_cache_usage().expect("on");
    assert!(count > 0, "some tokens are cached");
    assert!(
        weighed <= budget,
        "weighed {weighed} bytes for a {budget}-byte budget"
    );
    assert!(
        held <= budget as isize,
        "{count} entries hold {held} bytes of heap for a {budget}-byte budget \
         (weighed at {weighed})"
    );
    eprintln!("{count} entries: {held} bytes held, weighed at {weighed}, budget {budget}");
    // And the weight is no gross overestimate: the budget is used.
    assert!(
        held >= budget as isize / 2,
        "{count} entries hold only {held} bytes"
    );
}

/// The layer answers a cache hit in `call` itself, before any future: a hit that has expired
/// since is refused there, with the inner service never called.
#[tokio::test]
async fn through_the_layer_a_cached_token_is_refused_once_it_expires() {
    use std::convert::Infallible;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokengate::JwtAuthLayer;
    use tower::{Layer, ServiceExt, service_fn};

    let key = key();
    let clock = ManualClock::starting_now();
    let auth = static_authorizer(&key, &clock, AUDIENCE);
    let token = key.token(&claims(&clock, 60));
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let service =
        JwtAuthLayer::new(auth.clone()).layer(service_fn(move |_: http::Request<String>| {
            counted.fetch_add(1, Ordering::SeqCst);
            async { Ok::<_, Infallible>(http::Response::new(String::new())) }
        }));
    let request = || {
        http::Request::builder()
            .header("authorization", format!("Bearer {token}"))
            .body(String::new())
            .expect("request")
    };
    for _ in 0..2 {
        let response = service
            .clone()
            .oneshot(request())
            .await
            .expect("infallible");
        assert_eq!(response.status(), 200);
    }
    assert_eq!(entries(&auth), 1, "the token is cached once");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    clock.advance(60 + 30);
    let response = service
        .clone()
        .oneshot(request())
        .await
        .expect("infallible");
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .expect("ascii");
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "the inner service is not called"
    );
    assert_eq!(entries(&auth), 0, "the expired entry is dropped");
}
