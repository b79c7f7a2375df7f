//! Trust bounds the operator sets: checked when the authorizer is built, honoured when the
//! issuer says otherwise, never a panic however large; and the transport allowed.

use std::time::Duration;

use tokengate::{AuthErrorKind, Authorizer, Error, ErrorKind, KeySet, Profile, RemoteJwks};

use crate::support::{AUDIENCE, jwks};
use crate::{JwksServer, authorizer_with, claims, clock, ec_key, eventually, settle};

fn build(remote: RemoteJwks) -> Result<Authorizer, Error> {
    Authorizer::builder(Profile::generic())
        .issuer("https://issuer.example")
        .audience(AUDIENCE)
        .remote_jwks(remote)
        .build()
}

fn jwks_at(url: &str) -> RemoteJwks {
    RemoteJwks::from_uri(url).expect("an http(s) URL with a host")
}

fn config_error(result: Result<Authorizer, Error>) -> String {
    match result {
        Err(err) if matches!(err.kind(), ErrorKind::Config(_)) => err.to_string(),
        Err(err) => panic!("not a configuration error: {err:?}"),
        Ok(_) => panic!("built"),
    }
}

const HTTPS: &str = "https://issuer.example/jwks.json";
const HOUR: Duration = Duration::from_secs(3600);

#[test]
fn trust_bounds_that_do_not_nest_are_a_build_error() {
    let cases = [
        (
            jwks_at(HTTPS).cooldown(Duration::from_secs(700)),
            "cooldown",
        ),
        (jwks_at(HTTPS).ttl(2 * HOUR), "ttl"),
        (jwks_at(HTTPS).max_ttl(25 * HOUR), "max_ttl"),
        (
            jwks_at(HTTPS).retry_backoff(Duration::from_secs(10), Duration::from_secs(1)),
            "backoff",
        ),
        (jwks_at(HTTPS).timeout(Duration::ZERO), "timeout"),
        (
            jwks_at(HTTPS).refresh_check_interval(Duration::ZERO),
            "refresh_check_interval",
        ),
        (jwks_at(HTTPS).max_keys(0), "max_keys"),
    ];
    for (remote, named) in cases {
        let message = config_error(build(remote));
        assert!(message.contains(named), "{named}: {message}");
    }
    build(jwks_at(HTTPS)).expect("the defaults nest");
}

#[test]
fn a_cooldown_over_a_day_is_a_build_error_with_the_default_bounds_never_a_panic() {
    let message = config_error(build(jwks_at(HTTPS).cooldown(48 * HOUR)));
    assert!(
        message.contains("cooldown ≤ ttl ≤ max_ttl ≤ max_staleness"),
        "{message}"
    );
}

#[tokio::test]
async fn a_cooldown_over_a_day_works_when_the_bounds_nest() {
    let key = ec_key("k");
    let server = JwksServer::start(jwks(&[&key])).await;
    // An issuer max-age below the cooldown is raised to it: the clamp that used to panic.
    server.set_cache_control(Some("max-age=60"));
    let clock = clock();
    let authorizer = authorizer_with(&server, &clock, |r| {
        r.cooldown(48 * HOUR)
            .ttl(48 * HOUR)
            .max_ttl(72 * HOUR)
            .max_staleness(96 * HOUR)
    });
    let token = key.token(&claims(&server.base, &clock));
    authorizer.authorize::<()>(&token).await.expect("valid");
    // Refreshed at ≈80 % ± 10 % of the raised 48 h, not of 60 s.
    clock.advance(30 * 3600);
    settle().await;
    assert_eq!(server.jwks_hits(), 1, "fresh for the raised 48 h");
    authorizer.authorize::<()>(&token).await.expect("valid");
}

#[tokio::test]
async fn huge_ttls_and_backoffs_saturate_instead_of_panicking() {
    let key = ec_key("k");
    let server = JwksServer::start(jwks(&[&key])).await;
    server.set_mode(crate::jwks_server::Mode::Status(500));
    server.set_cache_control(Some("max-age=18446744073709551615"));
    let clock = clock();
    let authorizer = authorizer_with(&server, &clock, |r| {
        r.cooldown(Duration::MAX)
            .ttl(Duration::MAX)
            .max_ttl(Duration::MAX)
            .max_staleness(Duration::MAX)
            .retry_backoff(Duration::MAX, Duration::MAX)
            .timeout(Duration::MAX)
            .connect_timeout(Duration::MAX)
    });
    let token = key.token(&claims(&server.base, &clock));

    // A failed fetch with a backoff of Duration::MAX: the next retry is at the end of time.
    let err = authorizer.authorize::<()>(&token).await.unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::KeysUnavailable);
    assert!(err.retry_after().is_some_and(|s| s >= 1));

    // `ready()` fetches whatever the cooldown; the set's TTL and refresh time saturate.
    server.set_mode(crate::jwks_server::Mode::Serve);
    authorizer.ready().await.expect("keys");
    authorizer.authorize::<()>(&token).await.expect("valid");
    clock.advance(365 * 86_400);
    settle().await;
    assert_eq!(server.jwks_hits(), 2, "no refresh due within a year");
}

#[tokio::test]
async fn a_leeway_of_duration_max_saturates() {
    let key = ec_key("k");
    let authorizer = Authorizer::builder(Profile::generic())
        .issuer("https://issuer.example")
        .audience(AUDIENCE)
        .keys(KeySet::from_jwks_json(&jwks(&[&key])).expect("jwks"))
        .leeway(Duration::MAX)
        .build();
    let clock = clock();
    let token = key.token(&claims("https://issuer.example", &clock));
    // The first call verifies and caches, the second is answered from the cache.
    for _ in 0..2 {
        authorizer.authorize::<()>(&token).await.expect("valid");
    }
}

#[tokio::test]
async fn max_age_is_capped_by_max_ttl() {
    let key = ec_key("k");
    let server = JwksServer::start(jwks(&[&key])).await;
    server.set_cache_control(Some("public, max-age=86400"));
    let clock = clock();
    let authorizer = authorizer_with(&server, &clock, |r| {
        r.ttl(Duration::from_secs(60))
            .max_ttl(Duration::from_secs(120))
    });
    authorizer.ready().await.expect("keys");
    let token = key.token(&claims(&server.base, &clock));
    authorizer.authorize::<()>(&token).await.expect("valid");

    // Not the issuer's day: the operator's 120 s (background refresh at ≈80 % ± 10 % of it,
    // so not before 86 s).
    clock.advance(80);
    settle().await;
    assert_eq!(
        server.jwks_hits(),
        1,
        "max-age (capped) is above the 60 s ttl"
    );
    clock.advance(41);
    eventually("a refresh within max_ttl", || server.jwks_hits() >= 2).await;
}

#[test]
fn http_key_urls_are_refused_for_hosts_other_than_loopback() {
    for url in [
        "http://issuer.example/jwks.json",
        "http://10.1.2.3/jwks.json",
        "http://localhost.example/jwks.json",
    ] {
        match build(jwks_at(url)) {
            Err(err) => {
                assert!(
                    matches!(err.kind(), ErrorKind::InvalidUrl { .. }),
                    "{err:?}"
                );
                assert!(err.to_string().contains("allow_insecure_http"), "{err}");
            }
            Ok(_) => panic!("{url} accepted"),
        }
    }
    let discovered = RemoteJwks::discover("http://issuer.example").expect("parses");
    assert!(build(discovered).is_err(), "discovery over http too");

    for url in [
        "http://127.0.0.1:9000/jwks.json",
        "http://localhost:9000/jwks.json",
        "http://[::1]:9000/jwks.json",
        HTTPS,
    ] {
        build(jwks_at(url)).unwrap_or_else(|e| panic!("{url}: {e}"));
    }
    build(jwks_at("http://issuer.example/jwks.json").allow_insecure_http())
        .expect("allowed when asked for by name");
}

#[test]
fn an_http_client_builder_that_cannot_be_built_is_a_build_error() {
    let broken = reqwest::Client::builder().user_agent("bad\nagent");
    let message = config_error(build(jwks_at(HTTPS).http_client(broken)));
    assert!(message.contains("HTTP client"), "{message}");
}
