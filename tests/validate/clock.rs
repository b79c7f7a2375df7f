//! Rule 7: every time check reads the authorizer's clock.

use tokengate::{AuthErrorKind::*, Clock};

use super::*;

#[tokio::test]
async fn expired_token_validates_when_clock_is_set_back_and_not_after_advance() {
    let clock = ManualClock::new(T0 + 7200);
    let auth = access_builder(keyset(&[rsa()]))
        .clock(clock.clone())
        .build();
    // exp is T0 + 3600.
    let token = rsa().token(&access_claims());
    refused(auth.authorize::<()>(&token).await, Expired);

    clock.set(T0);
    accepted(auth.authorize::<()>(&token).await);

    // To the last second of the leeway, then one more.
    clock.advance(3600 + 29);
    assert_eq!(clock.now_unix(), T0 + 3629);
    accepted(auth.authorize::<()>(&token).await);
    clock.advance(1);
    refused(auth.authorize::<()>(&token).await, Expired);

    clock.rewind(1);
    accepted(auth.authorize::<()>(&token).await);
}

#[tokio::test]
async fn not_yet_valid_token_validates_once_clock_advances() {
    let clock = ManualClock::new(T0);
    let auth = access_builder(keyset(&[rsa()]))
        .clock(clock.clone())
        .build();
    let token = rsa().token(&with(access_claims(), "nbf", json!(T0 + 100)));
    refused(auth.authorize::<()>(&token).await, NotYetValid);
    clock.advance(69);
    refused(auth.authorize::<()>(&token).await, NotYetValid);
    clock.advance(1);
    accepted(auth.authorize::<()>(&token).await);
}

#[tokio::test]
async fn token_issued_in_future_validates_once_clock_advances() {
    let clock = ManualClock::new(T0);
    let auth = access_builder(keyset(&[rsa()]))
        .clock(clock.clone())
        .build();
    let token = rsa().token(&with(access_claims(), "iat", json!(T0 + 600)));
    refused(auth.authorize::<()>(&token).await, IssuedInFuture);
    clock.advance(600);
    accepted(auth.authorize::<()>(&token).await);
}

#[tokio::test]
async fn clones_of_an_authorizer_share_its_clock() {
    let clock = ManualClock::new(T0);
    let auth = access_builder(keyset(&[rsa()]))
        .clock(clock.clone())
        .build();
    let clone = auth.clone();
    let token = rsa().token(&access_claims());
    accepted(clone.authorize::<()>(&token).await);
    clock.set(T0 + 10_000);
    refused(clone.authorize::<()>(&token).await, Expired);
    refused(auth.authorize::<()>(&token).await, Expired);
}
