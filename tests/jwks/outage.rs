//! The issuer down: keep serving the last good set up to the staleness bound, then 503,
//! recover on the first successful refresh; a cold start never fails the process.

use std::time::Duration;

use tokengate::{AuthErrorKind, ErrorKind, KeyStatus};

use crate::jwks_server::Mode;
use crate::support::jwks;
use crate::{JwksServer, authorizer, authorizer_with, claims, clock, ec_key, settle};

async fn outage_then_recovery(mode: Mode) {
    let key = ec_key("k");
    let server = JwksServer::start(jwks(&[&key])).await;
    let clock = clock();
    let authorizer = authorizer_with(&server, &clock, |r| r.timeout(Duration::from_millis(200)));
    authorizer.ready().await.expect("keys at startup");
    let token = key.token(&claims(&server.base, &clock));

    server.set_mode(mode);
    // One simulated hour, a minute at a time: known-kid tokens keep validating.
    for minute in 1..=60 {
        clock.advance(60);
        settle().await;
        authorizer
            .authorize::<()>(&token)
            .await
            .unwrap_or_else(|e| panic!("minute {minute}: {e}"));
    }
    let health = &authorizer.health()[0];
    assert_eq!(health.status, KeyStatus::Stale, "past its TTL, still used");
    assert!(health.failures >= 1, "the background retried: {health:?}");
    assert!(health.last_error.is_some());

    // Past the 24 h staleness bound: a distinct error, which the layer turns into 503.
    clock.advance(24 * 3600);
    let err = authorizer.authorize::<()>(&token).await.unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::KeysUnavailable);
    assert_eq!(err.status(), 503);
    assert!(err.retry_after().is_some_and(|s| s >= 1));
    assert_eq!(err.code(), None, "not the client's fault: no invalid_token");

    // The issuer comes back: the first successful refresh restores service. Time goes on
    // (a fetch that hung from before the recovery may still fail and push the next retry
    // out by the backoff, at most 5 minutes).
    server.set_mode(Mode::Serve);
    for _ in 0..100 {
        if authorizer.health()[0].status == KeyStatus::Fresh {
            break;
        }
        clock.advance(60);
        settle().await;
    }
    assert_eq!(authorizer.health()[0].status, KeyStatus::Fresh, "recovered");
    authorizer
        .authorize::<()>(&token)
        .await
        .expect("valid again after recovery");
}

#[tokio::test]
async fn issuer_answering_500_for_an_hour_then_recovering() {
    outage_then_recovery(Mode::Status(500)).await;
}

#[tokio::test]
async fn issuer_hanging_for_an_hour_then_recovering() {
    outage_then_recovery(Mode::Hang).await;
}

#[tokio::test]
async fn cold_start_with_the_issuer_down_gives_503_and_does_not_hammer_it() {
    let key = ec_key("k");
    let server = JwksServer::start(jwks(&[&key])).await;
    server.set_mode(Mode::Status(503));
    let clock = clock();
    // Building never fails because the issuer is down.
    let authorizer = authorizer(&server, &clock);
    let token = key.token(&claims(&server.base, &clock));

    let err = authorizer.authorize::<()>(&token).await.unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::KeysUnavailable);
    assert_eq!(err.status(), 503);
    let hits = server.jwks_hits();
    assert!(hits >= 1);
    for _ in 0..100 {
        let err = authorizer.authorize::<()>(&token).await.unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::KeysUnavailable);
    }
    assert!(
        server.jwks_hits() <= hits + 1,
        "requests in the cooldown do not fetch"
    );
    let ready = authorizer.ready().await.unwrap_err();
    assert!(
        matches!(ready.kind(), ErrorKind::KeysUnavailable { .. }),
        "{ready}"
    );

    server.set_mode(Mode::Serve);
    clock.advance(31);
    authorizer
        .authorize::<()>(&token)
        .await
        .expect("keys once the issuer is back");
}
