//! The key cache outlives the runtimes around it: per-test runtimes sharing one authorizer, a
//! runtime dropped in the middle of a fetch, a call from outside tokio, a refresher whose
//! runtime is gone.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tokengate::{
    AuthErrorKind, Authorizer, ErrorKind, KeyStatus, Profile, RemoteJwks, SystemClock,
};
use tokio::runtime::Runtime;

use crate::ec_key;
use crate::jwks_server::{JwksServer, Mode};
use crate::no_tokio::block_on_without_tokio;
use crate::support::{AUDIENCE, TestKey, jwks, now};

/// A runtime whose own worker thread drives the JWKS server, whatever the test's runtimes do.
fn server_runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("server runtime")
}

/// A fresh single-threaded runtime, as `#[tokio::test]` makes one per test.
fn test_runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("test runtime")
}

/// An authorizer on the real clock for `server`'s JWKS URL.
fn real_time_authorizer(
    server: &JwksServer,
    configure: impl FnOnce(RemoteJwks) -> RemoteJwks,
) -> Authorizer {
    let remote = RemoteJwks::from_uri(server.jwks_uri())
        .expect("valid uri")
        .refresh_check_interval(Duration::from_millis(20));
    Authorizer::builder(Profile::generic())
        .issuer(&server.base)
        .audience(AUDIENCE)
        .remote_jwks(configure(remote))
        .clock(SystemClock)
        .build()
        .expect("valid authorizer settings")
}

fn token(key: &TestKey, issuer: &str, subject: &str) -> String {
    let now = now();
    key.token(&serde_json::json!({
        "iss": issuer, "aud": AUDIENCE, "sub": subject, "iat": now, "exp": now + 3600
    }))
}

mod shared_across_tokio_tests {
    //! One static authorizer, as a test suite shares it, used by several `#[tokio::test]`
    //! functions: each has its own runtime, which ends with the test while the others go on.
    use super::*;

    struct Shared {
        key: TestKey,
        server: &'static JwksServer,
        authorizer: Authorizer,
    }

    /// TTL and cooldown of one second: every test outlives the set it found.
    fn shared() -> &'static Shared {
        static SHARED: OnceLock<Shared> = OnceLock::new();
        SHARED.get_or_init(|| {
            let key = ec_key("shared");
            let set = jwks(&[&key]);
            let (tx, rx) = std::sync::mpsc::channel();
            // The server lives on a thread of its own for the whole process.
            std::thread::spawn(move || {
                let runtime = test_runtime();
                runtime.block_on(async move {
                    let server: &'static JwksServer =
                        Box::leak(Box::new(JwksServer::start(set).await));
                    tx.send(server).expect("send");
                    std::future::pending::<()>().await;
                });
            });
            let server = rx.recv().expect("server started");
            let authorizer = real_time_authorizer(server, |r| {
                r.ttl(Duration::from_secs(1))
                    .cooldown(Duration::from_secs(1))
            });
            Shared {
                key,
                server,
                authorizer,
            }
        })
    }

    /// Validates, lets the set expire, and expects it refreshed on this test's own runtime,
    /// whichever test's runtime ran the fetches and the refresher before.
    async fn validate_and_see_a_refresh(subject: &str) {
        let shared = shared();
        let token = token(&shared.key, &shared.server.base, subject);
        let claims = shared
            .authorizer
            .authorize::<()>(&token)
            .await
            .expect("valid on this runtime");
        assert_eq!(claims.subject(), Some(subject));
        let fetched = shared.authorizer.health()[0].fetches;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        shared
            .authorizer
            .authorize::<()>(&token)
            .await
            .expect("valid past the TTL too");
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let health = &shared.authorizer.health()[0];
            if health.fetches > fetched && health.status == KeyStatus::Fresh {
                break;
            }
            assert!(Instant::now() < deadline, "no refresh: {health:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn a_static_authorizer_serves_tokio_test_one() {
        validate_and_see_a_refresh("test-1").await;
    }

    #[tokio::test]
    async fn a_static_authorizer_serves_tokio_test_two() {
        validate_and_see_a_refresh("test-2").await;
    }

    #[tokio::test]
    async fn a_static_authorizer_serves_tokio_test_three() {
        validate_and_see_a_refresh("test-3").await;
    }

    #[tokio::test]
    async fn a_static_authorizer_serves_tokio_test_four() {
        validate_and_see_a_refresh("test-4").await;
    }
}

#[test]
fn a_fetch_dropped_with_its_runtime_is_started_again_on_another_at_once() {
    let server_rt = server_runtime();
    let key = ec_key("k");
    let server = server_rt.block_on(JwksServer::start(jwks(&[&key])));
    server.set_mode(Mode::Hang);
    let authorizer = real_time_authorizer(&server, |r| r);
    let token = token(&key, &server.base, "user-1");

    // The first runtime starts the fetch, then goes away in the middle of it.
    let first = test_runtime();
    let waited = first.block_on(async {
        tokio::time::timeout(
            Duration::from_millis(300),
            authorizer.authorize::<()>(&token),
        )
        .await
    });
    assert!(waited.is_err(), "the fetch hangs while the issuer does");
    drop(first);
    server.set_mode(Mode::Serve);

    // Well within the 30 s cooldown and the 1 s first backoff: the dropped fetch did not
    // use the cooldown up, and left no marker behind.
    let second = test_runtime();
    let started = Instant::now();
    let claims = second
        .block_on(authorizer.authorize::<()>(&token))
        .expect("keys fetched on the second runtime");
    assert_eq!(claims.subject(), Some("user-1"));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "recovered in {:?}",
        started.elapsed()
    );
    assert_eq!(authorizer.health()[0].status, KeyStatus::Fresh);
}

#[test]
fn a_request_waiting_on_a_fetch_whose_runtime_goes_away_gets_keys_all_the_same() {
    let server_rt = server_runtime();
    let key = ec_key("k");
    let server = server_rt.block_on(JwksServer::start(jwks(&[&key])));
    server.set_mode(Mode::Hang);
    let authorizer = real_time_authorizer(&server, |r| r);
    let token = token(&key, &server.base, "user-1");

    // A fetch in flight on the first runtime, hanging.
    let first = test_runtime();
    first.block_on(async {
        let _ = tokio::time::timeout(
            Duration::from_millis(200),
            authorizer.authorize::<()>(&token),
        )
        .await;
    });
    // A request on a second runtime joins that fetch and waits.
    let second = server_runtime();
    let waiting = {
        let authorizer = authorizer.clone();
        let token = token.clone();
        second.spawn(async move { authorizer.authorize::<()>(&token).await.map(|_| ()) })
    };
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !waiting.is_finished(),
        "the request waits on the shared fetch"
    );
    server.set_mode(Mode::Serve);
    drop(first);

    let outcome = second.block_on(async {
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("the waiting request is answered")
            .expect("task")
    });
    assert_eq!(outcome, Ok(()));
}

#[test]
fn a_call_outside_tokio_gets_an_error_and_leaves_the_cache_working() {
    let server_rt = server_runtime();
    let key = ec_key("k");
    let server = server_rt.block_on(JwksServer::start(jwks(&[&key])));
    let authorizer = real_time_authorizer(&server, |r| r);

    // No runtime, no keys yet: a 503 for the request, an error naming the cause for ready().
    let err = block_on_without_tokio(authorizer.authorize::<()>(&token(&key, &server.base, "a")))
        .unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::KeysUnavailable);
    assert_eq!(err.status(), 503);
    let err = block_on_without_tokio(authorizer.ready()).unwrap_err();
    match err.kind() {
        ErrorKind::KeysUnavailable { source, .. } => {
            assert!(matches!(source.kind(), ErrorKind::NoRuntime), "{source}");
            assert!(source.to_string().contains("tokio runtime"), "{source}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.jwks_hits(), 0, "nothing was fetched");

    // On a runtime: no jam, no cooldown used up.
    let runtime = test_runtime();
    runtime
        .block_on(authorizer.authorize::<()>(&token(&key, &server.base, "b")))
        .expect("keys on a runtime");
    drop(runtime);

    // Outside tokio again: the keys held verify a token never seen before.
    let claims =
        block_on_without_tokio(authorizer.authorize::<()>(&token(&key, &server.base, "c")))
            .expect("cached keys verify outside tokio");
    assert_eq!(claims.subject(), Some("c"));
}

#[test]
fn a_removed_key_is_refused_within_ttl_plus_two_seconds_after_the_first_runtime_is_gone() {
    const TTL: Duration = Duration::from_secs(2);
    let server_rt = server_runtime();
    let old = ec_key("old");
    let new = ec_key("new");
    let server = server_rt.block_on(JwksServer::start(jwks(&[&old, &new])));
    let authorizer = real_time_authorizer(&server, |r| r.ttl(TTL).cooldown(Duration::from_secs(1)));
    let old_token = token(&old, &server.base, "old");
    let new_token = token(&new, &server.base, "new");

    // The first runtime loads the keys (and starts the refresher), then is gone.
    let first = test_runtime();
    first.block_on(async {
        authorizer.ready().await.expect("keys");
        authorizer
            .authorize::<()>(&old_token)
            .await
            .expect("old key valid at first");
    });
    drop(first);

    server.set_jwks(jwks(&[&new]));
    let removed = Instant::now();
    let second = test_runtime();
    let refused_after = second.block_on(async {
        loop {
            match authorizer.authorize::<()>(&old_token).await {
                Ok(_) => {}
                Err(err) => {
                    assert_eq!(err.kind(), AuthErrorKind::UnknownKey);
                    break removed.elapsed();
                }
            }
            assert!(
                removed.elapsed() < TTL + Duration::from_secs(10),
                "the removed key is still trusted"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    assert!(
        refused_after <= TTL + Duration::from_secs(2),
        "refused only after {refused_after:?}"
    );
    second
        .block_on(authorizer.authorize::<()>(&new_token))
        .expect("the key still published keeps verifying");
}

#[test]
fn a_removed_key_is_refused_within_ttl_when_every_call_has_its_own_short_lived_runtime() {
    // A sync wrapper that builds a runtime per call: nothing outlives a call, so no
    // refresher and no fire-and-forget fetch ever completes between calls.
    const TTL: Duration = Duration::from_secs(2);
    let server_rt = server_runtime();
    let old = ec_key("old");
    let new = ec_key("new");
    let server = server_rt.block_on(JwksServer::start(jwks(&[&old, &new])));
    let authorizer = real_time_authorizer(&server, |r| r.ttl(TTL).cooldown(Duration::from_secs(1)));
    let old_token = token(&old, &server.base, "old");
    let new_token = token(&new, &server.base, "new");
    let call = |token: &str| test_runtime().block_on(authorizer.authorize::<()>(token));
    call(&old_token).expect("old key valid at first");

    server.set_jwks(jwks(&[&new]));
    let removed = Instant::now();
    let refused_after = loop {
        match call(&old_token) {
            Ok(_) => {}
            Err(err) => {
                assert_eq!(err.kind(), AuthErrorKind::UnknownKey);
                break removed.elapsed();
            }
        }
        assert!(
            removed.elapsed() < TTL + Duration::from_secs(10),
            "the removed key is still trusted"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        refused_after <= TTL + Duration::from_secs(2),
        "refused only after {refused_after:?}"
    );
    call(&new_token).expect("the key still published keeps verifying");
}

#[test]
fn the_refresher_is_started_again_on_a_live_runtime() {
    let server_rt = server_runtime();
    let key = ec_key("k");
    let server = server_rt.block_on(JwksServer::start(jwks(&[&key])));
    let authorizer = real_time_authorizer(&server, |r| {
        r.ttl(Duration::from_secs(1))
            .cooldown(Duration::from_secs(1))
    });
    let token = token(&key, &server.base, "user-1");
    // The first runtime validates a token (which starts the refresher there), then is gone.
    let first = test_runtime();
    first.block_on(async {
        authorizer.authorize::<()>(&token).await.expect("valid");
        tokio::time::sleep(Duration::from_millis(100)).await;
    });
    drop(first);
    let fetched = server.jwks_hits();

    // One request on a second runtime, then nothing: the refresher that request restarted
    // keeps the set fresh on its own (at ≈80 % of the 1 s TTL, twice in 2.5 s).
    let second = server_runtime();
    second.block_on(async {
        authorizer.authorize::<()>(&token).await.expect("valid");
        tokio::time::sleep(Duration::from_millis(2500)).await;
    });
    assert!(
        server.jwks_hits() >= fetched + 2,
        "{} fetches after {fetched}: no background refresh",
        server.jwks_hits()
    );
}
