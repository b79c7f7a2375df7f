//! The mock's key rotation and JWKS faults, observed by tokengate's own key cache.
#![cfg(feature = "mock")]

use std::time::Duration;

use tokengate::mock::{Client, Forgery, Grant, JwksFault, KeyUse, MockIssuer, ResourceServer};
use tokengate::{AuthErrorKind, Authorizer, ErrorKind, ManualClock, Profile, RemoteJwks};

const CLIENT: &str = "backend";

async fn mock(clock: &ManualClock) -> MockIssuer {
    MockIssuer::builder()
        .resource_server(ResourceServer::new("api", ["read"]))
        .client(
            Client::confidential(CLIENT, "secret")
                .grants([Grant::ClientCredentials])
                .scopes(["api/read"]),
        )
        .clock(clock.clone())
        .start()
        .await
        .expect("mock starts")
}

/// One authorizer for the whole test: its key cache is what is observed.
fn authorizer(mock: &MockIssuer, clock: &ManualClock, timeout: Duration) -> Authorizer {
    Authorizer::builder(Profile::cognito_access())
        .issuer(mock.issuer())
        .client_id(CLIENT)
        .remote_jwks(
            RemoteJwks::from_uri(mock.jwks_uri())
                .expect("url")
                .timeout(timeout)
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
async fn a_rotation_in_three_steps_never_fails_a_valid_token() {
    let clock = ManualClock::starting_now();
    let mock = mock(&clock).await;
    let auth = authorizer(&mock, &clock, Duration::from_secs(5));
    let before = mock.access_token().client(CLIENT).sign().expect("token");
    auth.authorize::<()>(&before)
        .await
        .expect("valid before rotation");
    assert_eq!(mock.request_count(&mock.jwks_path()), 1);

    // 1. Publish the next key; resource servers pick it up on their next refresh (the mock
    //    serves `Cache-Control: max-age=300`).
    let old = mock.current_kid(KeyUse::Access);
    let next = mock.publish_next_key().expect("publish");
    clock.advance(300);
    eventually("refresh with the published key", || {
        auth.health()[0].kids.contains(&next)
    })
    .await;

    // 2. Switch: new tokens carry the new kid, already known — no fetch, no failure.
    mock.switch_key(KeyUse::Access, &next).expect("switch");
    let fetches = mock.request_count(&mock.jwks_path());
    let after = mock.access_token().client(CLIENT).sign().expect("token");
    auth.authorize::<()>(&after)
        .await
        .expect("new key valid at once");
    auth.authorize::<()>(&before)
        .await
        .expect("old tokens still valid");
    assert_eq!(
        mock.request_count(&mock.jwks_path()),
        fetches,
        "no fetch was needed"
    );

    // 3. Retire the old key: once the set is refreshed, its tokens stop validating.
    mock.retire_key(&old).expect("retire");
    clock.advance(300);
    eventually("refresh without the retired key", || {
        !auth.health()[0].kids.contains(&old)
    })
    .await;
    let err = auth.authorize::<()>(&before).await.unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::UnknownKey);
    auth.authorize::<()>(&after)
        .await
        .expect("new key still valid");

    // A token signed by the retired key is refused too.
    let retired = mock
        .access_token()
        .client(CLIENT)
        .forge(Forgery::RetiredKey)
        .sign()
        .expect("token");
    let err = auth.authorize::<()>(&retired).await.unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::UnknownKey);
}

#[tokio::test]
async fn an_abrupt_rotation_is_picked_up_by_the_first_token_after_the_cooldown() {
    let clock = ManualClock::starting_now();
    let mock = mock(&clock).await;
    let auth = authorizer(&mock, &clock, Duration::from_secs(5));
    let before = mock.access_token().client(CLIENT).sign().expect("token");
    auth.authorize::<()>(&before).await.expect("valid");

    mock.rotate_keys().expect("rotate");
    let after = mock.access_token().client(CLIENT).sign().expect("token");
    let err = auth.authorize::<()>(&after).await.unwrap_err();
    assert_eq!(
        err.kind(),
        AuthErrorKind::UnknownKey,
        "within the cooldown: no fetch"
    );
    assert_eq!(mock.request_count(&mock.jwks_path()), 1);

    clock.advance(31);
    auth.authorize::<()>(&after).await.expect("refetched");
    assert_eq!(mock.request_count(&mock.jwks_path()), 2);
    let err = auth.authorize::<()>(&before).await.unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::UnknownKey, "old key gone");
}

#[tokio::test]
async fn jwks_faults_are_seen_as_unavailable_keys_then_recover() {
    let clock = ManualClock::starting_now();
    let mock = mock(&clock).await;
    let token = mock.access_token().client(CLIENT).sign().expect("token");

    for (fault, check) in [
        (
            JwksFault::Status(500),
            (|e: &ErrorKind| matches!(e, ErrorKind::Status { status: 500, .. }))
                as fn(&ErrorKind) -> bool,
        ),
        (JwksFault::Garbage, |e| {
            matches!(e, ErrorKind::InvalidKeySet(_))
        }),
        (JwksFault::Hang, |e| matches!(e, ErrorKind::Timeout { .. })),
    ] {
        mock.set_jwks_fault(fault);
        let auth = authorizer(&mock, &clock, Duration::from_millis(200));
        let err = auth.authorize::<()>(&token).await.unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::KeysUnavailable, "{fault:?}");
        assert_eq!(err.status(), 503);
        let ready = auth.ready().await.unwrap_err();
        match ready.kind() {
            ErrorKind::KeysUnavailable { source, .. } => {
                assert!(check(source.kind()), "{fault:?}: {source}")
            }
            other => panic!("{fault:?}: {other:?}"),
        }

        mock.set_jwks_fault(JwksFault::None);
        clock.advance(31);
        auth.authorize::<()>(&token)
            .await
            .unwrap_or_else(|e| panic!("{fault:?}: recovers: {e}"));
    }
}
