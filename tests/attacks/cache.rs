//! Attacks on the verified-token cache: a token that once validated must not outlive its
//! `exp`, lend its result to a look-alike token, or skip the checks of another claims type.

use serde::Deserialize;
use serde_json::json;
use tokengate::{AuthErrorKind::*, Authorizer, ManualClock};

use crate::{
    T0, accepted, access_builder, access_claims, b64, ed, refuses, rsa, segments, trusted, with,
};

/// The access authorizer on a clock the test moves.
fn access_on(clock: &ManualClock) -> Authorizer {
    access_builder(trusted()).clock(clock.clone()).build()
}

#[tokio::test]
async fn cached_token_presented_after_its_expiry() {
    let clock = ManualClock::new(T0);
    let auth = access_on(&clock);
    let token = rsa().token(&access_claims());
    accepted(auth.authorize::<()>(&token).await);
    accepted(auth.authorize::<()>(&token).await);
    // Past `exp` plus the leeway: refused, however recently it validated.
    clock.set(T0 + 3600 + 30);
    refuses(&auth, &token, Expired).await;
    // And a clone of the authorizer, sharing whatever it caches, agrees.
    refuses(&auth.clone(), &token, Expired).await;
}

#[tokio::test]
async fn cached_token_presented_before_its_nbf_after_a_clock_step_back() {
    let clock = ManualClock::new(T0);
    let auth = access_on(&clock);
    let token = rsa().token(&with(access_claims(), "nbf", json!(T0)));
    accepted(auth.authorize::<()>(&token).await);
    clock.set(T0 - 3600);
    refuses(&auth, &token, NotYetValid).await;
}

#[tokio::test]
async fn look_alike_of_a_cached_token_with_the_same_signature() {
    // Same signature (so the same tail, the same length), another payload: the cache must
    // compare whole tokens, and the look-alike is verified, and refused, on its own.
    let clock = ManualClock::new(T0);
    let auth = access_on(&clock);
    let token = rsa().token(&access_claims());
    accepted(auth.authorize::<()>(&token).await);
    let [header, payload, signature] = segments(&token);
    for at in [4, payload.len() / 2, payload.len() - 3] {
        let mut forged = payload.clone().into_bytes();
        forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
        let forged = format!(
            "{header}.{}.{signature}",
            String::from_utf8(forged).expect("ascii")
        );
        assert_eq!(forged.len(), token.len());
        refuses(&auth, &forged, InvalidSignature).await;
    }
    // The original is still fine.
    accepted(auth.authorize::<()>(&token).await);
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct NeedsTenant {
    tenant: String,
}

#[tokio::test]
async fn cached_token_read_into_stricter_custom_claims() {
    let clock = ManualClock::new(T0);
    let auth = access_on(&clock);
    let token = rsa().token(&access_claims());
    accepted(auth.authorize::<()>(&token).await);
    // Validated before with no custom claims; the caller's own type still gets checked.
    let err = auth
        .authorize::<NeedsTenant>(&token)
        .await
        .expect_err("no tenant");
    assert_eq!(err.kind(), MalformedClaim);
    assert_eq!(err.claim_name(), Some("custom claims"));
}

#[tokio::test]
async fn look_alike_presented_again_and_again_to_a_full_cache() {
    // Once the cache is full, a token is kept from its second validation: a look-alike that
    // shares a cached token's signature (the tail the cache hashes) must still be verified,
    // and refused, every time.
    let clock = ManualClock::new(T0);
    let auth = access_builder(trusted())
        .clock(clock.clone())
        .token_cache_max_bytes(16 * 1024)
        .build();
    for i in 0..40 {
        let token = ed().token(&with(access_claims(), "jti", json!(format!("fill-{i}"))));
        accepted(auth.authorize::<()>(&token).await);
    }
    let token = ed().token(&access_claims());
    for _ in 0..3 {
        accepted(auth.authorize::<()>(&token).await);
    }
    let [header, _, signature] = segments(&token);
    let forged = format!(
        "{header}.{}.{signature}",
        b64(serde_json::to_vec(&with(access_claims(), "username", json!("root"))).expect("json"))
    );
    for _ in 0..5 {
        refuses(&auth, &forged, InvalidSignature).await;
    }
    accepted(auth.authorize::<()>(&token).await);
}

/// The issuer's parsed headers are remembered once a signature under them verified, keyed
/// by the exact segment: a forged token reusing a remembered header is still verified, and
/// refused; a header that differs by a member or a byte is parsed, and judged, on its own.
#[tokio::test]
async fn forged_tokens_under_a_remembered_header() {
    let clock = ManualClock::new(T0);
    let auth = access_on(&clock);
    let token = rsa().token(&access_claims());
    accepted(auth.authorize::<()>(&token).await);
    let [header, payload, signature] = segments(&token);
    // The remembered header, another payload: the signature is checked all the same.
    let other =
        b64(serde_json::to_vec(&with(access_claims(), "sub", json!("mallory"))).expect("json"));
    refuses(
        &auth,
        &format!("{header}.{other}.{signature}"),
        InvalidSignature,
    )
    .await;
    // The same header with `crit` added, or with `alg: none`: parsed, and refused for it.
    let mut json: serde_json::Value =
        serde_json::from_slice(&crate::unb64(&header)).expect("header json");
    json["crit"] = json!(["exp"]);
    let crit = b64(serde_json::to_vec(&json).expect("json"));
    refuses(
        &auth,
        &format!("{crit}.{payload}.{signature}"),
        UnsupportedHeader,
    )
    .await;
    json.as_object_mut().expect("object").remove("crit");
    json["alg"] = json!("none");
    let none = b64(serde_json::to_vec(&json).expect("json"));
    refuses(
        &auth,
        &format!("{none}.{payload}.{signature}"),
        UnsignedToken,
    )
    .await;
    // Another token of the issuer under the same header (not in the token cache): accepted,
    // its header answered from the memo.
    let second = rsa().token(&with(access_claims(), "jti", json!("another")));
    assert_eq!(segments(&second)[0], header);
    accepted(auth.authorize::<()>(&second).await);
}
