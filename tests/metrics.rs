//! What operators see through the `metrics` facade: each test installs its own Prometheus
//! recorder on its thread and reads the text exposition, as a scrape would.
#![cfg(feature = "metrics")]

#[path = "support/jwks_server.rs"]
mod jwks_server;
#[path = "support/mod.rs"]
mod support;

use std::future::Future;
use std::time::Duration;

use jwks_server::{JwksServer, Mode};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde_json::json;
use support::{AUDIENCE, TestKey, jwks};
use tokengate::{
    Algorithm, AuthErrorKind, Authorizer, Clock, KeySet, ManualClock, Profile, RemoteJwks,
};

/// Runs `test` on a single-threaded runtime with a recorder of its own, so that every event
/// of the test (its fetch tasks included) is recorded, and nothing of another test.
fn recorded<F, Fut>(test: F)
where
    F: FnOnce(PrometheusHandle) -> Fut,
    Fut: Future<Output = ()>,
{
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(test(handle));
    });
}

/// The value of one series in a Prometheus text exposition (0 when absent).
fn value(scrape: &str, series: &str) -> f64 {
    scrape
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.trim().parse().expect("a number"))
}

fn authorizer(server: &JwksServer, clock: &ManualClock) -> Authorizer {
    Authorizer::builder(Profile::generic())
        .issuer(&server.base)
        .audience(AUDIENCE)
        .remote_jwks(
            RemoteJwks::from_uri(server.jwks_uri())
                .expect("uri")
                .refresh_check_interval(Duration::from_millis(5)),
        )
        .clock(clock.clone())
        .build()
        .expect("valid authorizer settings")
}

fn token(key: &TestKey, issuer: &str, clock: &ManualClock) -> String {
    let now = clock.now_unix();
    key.token(&json!({"iss": issuer, "aud": AUDIENCE, "sub": "u", "iat": now, "exp": now + 86_400}))
}

async fn until(what: &str, condition: impl Fn() -> bool) {
    for _ in 0..1000 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("timed out waiting for: {what}");
}

#[test]
fn validations_are_counted_by_outcome_and_timed() {
    recorded(|metrics| async move {
        let key = TestKey::generate(Algorithm::ES256, "k");
        let server = JwksServer::start(jwks(&[&key])).await;
        let clock = ManualClock::starting_now();
        let authorizer = authorizer(&server, &clock);
        let token = token(&key, &server.base, &clock);

        authorizer.authorize::<()>(&token).await.expect("valid");
        authorizer.authorize::<()>(&token).await.expect("valid");
        let _ = authorizer.authorize::<()>("not-a-token").await.unwrap_err();
        let scrape = metrics.render();
        assert_eq!(
            value(&scrape, r#"tokengate_validations_total{outcome="ok"}"#),
            2.0
        );
        assert_eq!(
            value(
                &scrape,
                r#"tokengate_validations_total{outcome="malformed"}"#
            ),
            1.0
        );
        assert_eq!(
            value(
                &scrape,
                r#"tokengate_validation_duration_seconds_count{outcome="ok"}"#
            ),
            2.0
        );
        let fetched = format!(
            r#"tokengate_jwks_fetches_total{{issuer="{}",result="ok"}}"#,
            server.base
        );
        assert_eq!(value(&scrape, &fetched), 1.0, "{scrape}");
        // Never a token in what is exported.
        assert!(!scrape.contains(&token), "a token leaked into the metrics");
    });
}

#[test]
fn failed_fetches_and_key_set_age_are_reported() {
    recorded(|metrics| async move {
        let key = TestKey::generate(Algorithm::ES256, "k");
        let server = JwksServer::start(jwks(&[&key])).await;
        let clock = ManualClock::starting_now();
        let authorizer = authorizer(&server, &clock);
        authorizer.ready().await.expect("keys");
        server.set_mode(Mode::Status(500));
        clock.advance(10 * 60);
        let failed = format!(
            r#"tokengate_jwks_fetches_total{{issuer="{}",result="error"}}"#,
            server.base
        );
        until("a failed refresh", || {
            value(&metrics.render(), &failed) >= 1.0
        })
        .await;
        let age = format!(r#"tokengate_jwks_age_seconds{{issuer="{}"}}"#, server.base);
        until("the age of the set in use", || {
            value(&metrics.render(), &age) >= 600.0
        })
        .await;
    });
}

#[test]
fn an_unchanged_refresh_keeps_cached_tokens_and_a_changed_one_does_not() {
    recorded(|metrics| async move {
        let key = TestKey::generate(Algorithm::ES256, "k");
        let server = JwksServer::start(jwks(&[&key])).await;
        let clock = ManualClock::starting_now();
        let authorizer = authorizer(&server, &clock);
        let token = token(&key, &server.base, &clock);
        let counts = || {
            let scrape = metrics.render();
            (
                value(&scrape, "tokengate_token_cache_hits_total"),
                value(&scrape, "tokengate_token_cache_misses_total"),
            )
        };

        authorizer.authorize::<()>(&token).await.expect("valid");
        authorizer.authorize::<()>(&token).await.expect("valid");
        assert_eq!(counts(), (1.0, 1.0), "verified once, then from the cache");

        // Past the TTL, the same keys fetched again: the cached token is still a hit.
        clock.advance(10 * 60);
        until("a refresh", || server.jwks_hits() >= 2).await;
        until("the refreshed set in place", || {
            authorizer.health()[0].status == tokengate::KeyStatus::Fresh
        })
        .await;
        authorizer.authorize::<()>(&token).await.expect("valid");
        assert_eq!(counts(), (2.0, 1.0), "an unchanged refresh keeps the entry");

        // A set that changed (a key added): the token is verified again.
        let added = TestKey::generate(Algorithm::ES256, "added");
        server.set_jwks(jwks(&[&key, &added]));
        clock.advance(10 * 60);
        until("a second refresh", || server.jwks_hits() >= 3).await;
        until("the new set in place", || {
            authorizer.health()[0].kids.len() == 2
        })
        .await;
        authorizer.authorize::<()>(&token).await.expect("valid");
        assert_eq!(counts(), (2.0, 2.0), "a new key set means verifying again");
        assert_eq!(
            value(&metrics.render(), "tokengate_token_cache_evictions_total"),
            0.0,
            "the entry verified again was replaced, not evicted"
        );
    });
}

#[test]
fn a_full_token_cache_counts_what_it_evicts_and_what_expires() {
    recorded(|metrics| async move {
        let key = TestKey::generate(Algorithm::ES256, "k");
        let clock = ManualClock::starting_now();
        let authorizer = Authorizer::builder(Profile::generic())
            .issuer("https://issuer.example")
            .audience(AUDIENCE)
            .keys(KeySet::from_jwks_json(&jwks(&[&key])).expect("jwks"))
            .clock(clock.clone())
            .token_cache_max_bytes(16 * 1024)
            .build();
        let evictions = || value(&metrics.render(), "tokengate_token_cache_evictions_total");
        let entries = || authorizer.token_cache_usage().expect("on").0;

        // Each token twice in a row: kept on its first success while there is room, on its
        // second once the cache is full; so each is inserted exactly once.
        let tokens = 100;
        for i in 0..tokens {
            let now = clock.now_unix();
            let token = key.token(&json!({"iss": "https://issuer.example", "aud": AUDIENCE,
                "sub": format!("user-{i}"), "iat": now, "exp": now + 600}));
            for _ in 0..2 {
                authorizer.authorize::<()>(&token).await.expect("valid");
            }
        }
        let evicted = evictions();
        assert!(evicted > 0.0, "16 KiB cannot hold {tokens} tokens");
        assert_eq!(
            evicted + entries() as f64,
            f64::from(tokens),
            "every token inserted is either held or counted as evicted"
        );

        // An entry read after its `exp` is dropped, and counted.
        let now = clock.now_unix();
        let token = key.token(&json!({"iss": "https://issuer.example", "aud": AUDIENCE,
            "sub": "late", "iat": now, "exp": now + 60}));
        authorizer.authorize::<()>(&token).await.expect("valid");
        authorizer.authorize::<()>(&token).await.expect("valid");
        let (before, held) = (evictions(), entries());
        clock.advance(60 + 120);
        let err = authorizer.authorize::<()>(&token).await.unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::Expired);
        assert_eq!(entries(), held - 1);
        assert_eq!(evictions(), before + 1.0);
    });
}

/// Through the layer, a bearer token is looked up once per request: the first request is a
/// miss and a full validation, the second a hit answered in the layer's `call`; each is one
/// validation, counted once, and a token-cache hit counts as such.
#[test]
fn the_layer_counts_a_miss_then_a_hit_once_each() {
    use std::convert::Infallible;

    use tokengate::JwtAuthLayer;
    use tower::{Layer, ServiceExt, service_fn};

    recorded(|metrics| async move {
        let key = TestKey::generate(Algorithm::ES256, "k");
        let server = JwksServer::start(jwks(&[&key])).await;
        let clock = ManualClock::starting_now();
        let token = token(&key, &server.base, &clock);
        let service = JwtAuthLayer::new(authorizer(&server, &clock)).layer(service_fn(
            |_: http::Request<String>| async {
                Ok::<_, Infallible>(http::Response::new(String::new()))
            },
        ));
        for _ in 0..2 {
            let request = http::Request::builder()
                .header("authorization", format!("Bearer {token}"))
                .body(String::new())
                .expect("request");
            let response = service.clone().oneshot(request).await.expect("infallible");
            assert_eq!(response.status(), 200);
        }
        let scrape = metrics.render();
        for (series, count) in [
            (r#"tokengate_validations_total{outcome="ok"}"#, 2.0),
            (
                r#"tokengate_validation_duration_seconds_count{outcome="ok"}"#,
                2.0,
            ),
            ("tokengate_token_cache_misses_total", 1.0),
            ("tokengate_token_cache_hits_total", 1.0),
        ] {
            assert_eq!(value(&scrape, series), count, "{series} in {scrape}");
        }
    });
}
