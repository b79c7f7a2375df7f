//! Rotation, background refresh ahead of expiry, `Cache-Control: max-age`, atomic replace.

use tokengate::{AuthErrorKind, KeyStatus};

use crate::support::jwks;
use crate::{JwksServer, authorizer, claims, clock, ec_key, eventually, settle};

#[tokio::test]
async fn a_newly_published_key_validates_on_first_sight() {
    let old = ec_key("2026-10");
    let new = ec_key("2026-11");
    let server = JwksServer::start(jwks(&[&old])).await;
    let clock = clock();
    let authorizer = authorizer(&server, &clock);
    authorizer.ready().await.expect("keys");

    server.set_jwks(jwks(&[&old, &new]));
    clock.advance(60);
    let token = new.token(&claims(&server.base, &clock));
    let claims = authorizer
        .authorize::<()>(&token)
        .await
        .expect("first sight");
    assert_eq!(claims.subject(), Some("user-1"));
}

#[tokio::test]
async fn a_key_removed_upstream_stops_validating_after_the_refresh() {
    let old = ec_key("old");
    let new = ec_key("new");
    let server = JwksServer::start(jwks(&[&old, &new])).await;
    let clock = clock();
    let authorizer = authorizer(&server, &clock);
    let old_token = old.token(&claims(&server.base, &clock));
    authorizer
        .authorize::<()>(&old_token)
        .await
        .expect("old key valid at first");

    server.set_jwks(jwks(&[&new]));
    // Until the set is refreshed the old key is still in it.
    authorizer
        .authorize::<()>(&old_token)
        .await
        .expect("valid until the refresh");
    // The default TTL is 10 minutes; the background refresh comes at about 80 % of it.
    clock.advance(10 * 60);
    eventually("the background refresh", || server.jwks_hits() >= 2).await;
    eventually("the new set in place", || {
        authorizer.health()[0].kids == ["new".to_owned()]
    })
    .await;
    let err = authorizer.authorize::<()>(&old_token).await.unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::UnknownKey);
    let new_token = new.token(&claims(&server.base, &clock));
    authorizer
        .authorize::<()>(&new_token)
        .await
        .expect("the new key still validates");
}

#[tokio::test]
async fn refresh_runs_in_the_background_ahead_of_expiry() {
    let key = ec_key("k");
    let server = JwksServer::start(jwks(&[&key])).await;
    let clock = clock();
    let authorizer = authorizer(&server, &clock);
    let token = key.token(&claims(&server.base, &clock));
    authorizer.authorize::<()>(&token).await.expect("valid");
    assert_eq!(server.jwks_hits(), 1);

    // 70 % of the TTL: not yet due (80 % ± 10 % jitter).
    clock.advance(7 * 60);
    settle().await;
    assert_eq!(server.jwks_hits(), 1);
    // Past 88 %: due, fetched without any request waiting for it.
    clock.advance(2 * 60);
    eventually("a background refresh", || server.jwks_hits() == 2).await;
    assert_eq!(authorizer.health()[0].status, KeyStatus::Fresh);
}

#[tokio::test]
async fn cache_control_max_age_sets_the_ttl() {
    let key = ec_key("k");
    let server = JwksServer::start(jwks(&[&key])).await;
    server.set_cache_control(Some("public, max-age=120"));
    let clock = clock();
    let authorizer = authorizer(&server, &clock);
    authorizer.ready().await.expect("keys");
    let token = key.token(&claims(&server.base, &clock));
    authorizer.authorize::<()>(&token).await.expect("valid");

    clock.advance(80);
    settle().await;
    assert_eq!(server.jwks_hits(), 1, "80 s of a 120 s TTL: not due");
    clock.advance(30);
    eventually("refresh at ~80 % of max-age", || server.jwks_hits() == 2).await;
}

#[tokio::test]
async fn max_age_below_the_cooldown_is_raised_to_it() {
    let key = ec_key("k");
    let server = JwksServer::start(jwks(&[&key])).await;
    server.set_cache_control(Some("max-age=1"));
    let clock = clock();
    let authorizer = authorizer(&server, &clock);
    let token = key.token(&claims(&server.base, &clock));
    authorizer.authorize::<()>(&token).await.expect("valid");

    clock.advance(15);
    settle().await;
    assert_eq!(
        server.jwks_hits(),
        1,
        "a 1 s max-age does not cause a fetch per second"
    );
    clock.advance(20);
    eventually("refresh at ~80 % of the 30 s floor", || {
        server.jwks_hits() == 2
    })
    .await;
}

#[tokio::test]
async fn health_reports_keys_age_and_fetch_counts() {
    let key = ec_key("k1");
    let server = JwksServer::start(jwks(&[&key])).await;
    let clock = clock();
    let authorizer = authorizer(&server, &clock);
    let before = &authorizer.health()[0];
    assert_eq!(before.status, KeyStatus::Unavailable);
    assert_eq!(before.fetches, 0);

    authorizer.ready().await.expect("keys");
    clock.advance(5);
    let health = &authorizer.health()[0];
    assert_eq!(health.status, KeyStatus::Fresh);
    assert_eq!(health.kids, ["k1".to_owned()]);
    assert_eq!(health.fetches, 1);
    assert_eq!(health.failures, 0);
    assert_eq!(health.age.map(|a| a.as_secs()), Some(5));
    assert!(health.last_success.is_some());
    assert_eq!(health.source, server.jwks_uri());
    assert_eq!(health.issuer.as_deref(), Some(server.base.as_str()));
}
