//! What a service adds to a profile: claims it requires, an authorized party, checks of its
//! own; and what every access profile refuses whatever the service adds: ID tokens.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokengate::AuthErrorKind::*;
use tokengate::ScopeClaim;

use super::*;

// ---- lenient where unread ----------------------------------------------------------------

#[tokio::test]
async fn claims_the_profile_does_not_read_never_refuse_a_token_for_their_type() {
    // Cognito reads `cognito:groups`, not `groups`; nor `scp`, `permissions`, `azp`.
    for (name, value) in [
        ("groups", json!("admins")),
        ("groups", json!(5)),
        ("scp", json!({"a": 1})),
        ("permissions", json!(true)),
        ("azp", json!(["x"])),
        ("preferred_username", json!(3)),
        ("realm_access", json!("x")),
    ] {
        let claims = with(access_claims(), name, value.clone());
        let claims = accepted(rsa_access().authorize::<()>(&rsa().token(&claims)).await);
        assert_eq!(
            claims.groups().iter().collect::<Vec<_>>(),
            ["admins", "readers"],
            "{name}: {value}"
        );
    }
    // The same claim is typed where it is read.
    let claims = with(generic_claims(), "groups", json!(5));
    refused(
        rsa_generic().authorize::<()>(&rsa().token(&claims)).await,
        MalformedClaim,
    );
}

#[tokio::test]
async fn every_configured_scope_claim_must_be_well_formed_the_first_present_wins() {
    let auth = Authorizer::builder(
        Profile::generic().scope_claims([ScopeClaim::Permissions, ScopeClaim::Scope]),
    )
    .issuer(ISSUER)
    .audience(AUDIENCE)
    .keys(keyset(&[rsa()]))
    .clock(ManualClock::new(T0))
    .build();
    let both = with(
        with(generic_claims(), "permissions", json!(["orders:read"])),
        "scope",
        json!("orders:read orders:write"),
    );
    let claims = accepted(auth.authorize::<()>(&rsa().token(&both)).await);
    assert_eq!(claims.scopes().to_string(), "orders:read");
    let bad_scope = with(both.clone(), "scope", json!("a\"b"));
    refused(
        auth.authorize::<()>(&rsa().token(&bad_scope)).await,
        MalformedClaim,
    );
    // `scp` is not read by this profile: anything goes there.
    let scp = with(both, "scp", json!(["a b"]));
    accepted(auth.authorize::<()>(&rsa().token(&scp)).await);
}

// ---- ID-token confusion ------------------------------------------------------------------

#[tokio::test]
async fn generic_profile_refuses_what_looks_like_an_id_token() {
    for (marker, value) in [
        ("nonce", json!("n-0S6_WzA2Mj")),
        ("at_hash", json!("77QmUPtjPfzWtF2AnpK9RQ")),
        ("c_hash", json!("LDktKdoQak3Pk0cnXxCltA")),
        ("token_use", json!("id")),
    ] {
        let claims = with(generic_claims(), marker, value);
        let err = refused(
            rsa_generic().authorize::<()>(&rsa().token(&claims)).await,
            WrongTokenUse,
        );
        assert_eq!(err.claim_name(), Some(marker));
    }
    // `null` is no value: not a marker.
    let claims = with(generic_claims(), "nonce", Value::Null);
    accepted(rsa_generic().authorize::<()>(&rsa().token(&claims)).await);
}

#[tokio::test]
async fn id_tokens_pass_only_where_the_profile_asks_for_them() {
    let id_token = with(generic_claims(), "nonce", json!("n-0S6_WzA2Mj"));
    let auth = Authorizer::builder(Profile::generic().accept_id_tokens())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .keys(keyset(&[rsa()]))
        .clock(ManualClock::new(T0))
        .build();
    accepted(auth.authorize::<()>(&rsa().token(&id_token)).await);
    // The Cognito ID profile asks for them, `at_hash` and `nonce` included.
    let claims = with(id_claims(), "nonce", json!("abc"));
    accepted(
        id_builder(keyset(&[rsa()]))
            .build()
            .authorize::<()>(&rsa().token(&claims))
            .await,
    );
    // RFC 9068 tokens are access tokens too.
    let claims = with(rfc_claims(), "at_hash", json!("77QmUPtjPfzWtF2AnpK9RQ"));
    let token = rsa().sign_token(
        &json!({"alg": "RS256", "kid": "rsa-1", "typ": "at+jwt"}),
        &claims,
    );
    refused(
        rfc_builder(keyset(&[rsa()]))
            .build()
            .authorize::<()>(&token)
            .await,
        WrongTokenUse,
    );
}

// ---- required claims and authorized parties -----------------------------------------------

#[tokio::test]
async fn required_claims_accept_strings_arrays_numbers_and_nested_paths() {
    let auth = generic_builder(keyset(&[rsa()]))
        .require_claim("tenant", ["acme", "globex"])
        .require_claim("amr", ["mfa"])
        .require_claim("org.level", ["2"])
        .build();
    let ok = with(
        with(
            with(generic_claims(), "tenant", json!("globex")),
            "amr",
            json!(["pwd", "mfa"]),
        ),
        "org",
        json!({"level": 2}),
    );
    accepted(auth.authorize::<()>(&rsa().token(&ok)).await);
    // `None`: accepted.
    for (name, value, outcome) in [
        ("tenant", json!("initech"), Some(ClaimMismatch)),
        ("tenant", json!("ACME"), Some(ClaimMismatch)),
        ("amr", json!(["pwd"]), Some(ClaimMismatch)),
        ("amr", json!("mfa"), None),
        ("org", json!({"level": 1}), Some(ClaimMismatch)),
        ("org", json!({"level": "2"}), None),
        ("org", json!({}), Some(MissingClaim)),
        ("org", json!("flat"), Some(MalformedClaim)),
        ("tenant", json!({"name": "acme"}), Some(MalformedClaim)),
    ] {
        let claims = with(ok.clone(), name, value.clone());
        let result = auth.authorize::<()>(&rsa().token(&claims)).await;
        match outcome {
            None => drop(accepted(result)),
            Some(kind) => {
                let err = refused(result, kind);
                assert!(err.claim_name().is_some(), "{name}: {value}");
            }
        }
    }
    let err = refused(
        auth.authorize::<()>(&rsa().token(&without(ok, "tenant")))
            .await,
        MissingClaim,
    );
    assert_eq!(err.claim_name(), Some("tenant"));
}

#[tokio::test]
async fn authorized_party_stands_in_for_the_audience() {
    let auth = Authorizer::builder(Profile::generic())
        .issuer(ISSUER)
        .authorized_party("web")
        .authorized_party("mobile")
        .keys(keyset(&[rsa()]))
        .clock(ManualClock::new(T0))
        .build();
    let claims = with(without(generic_claims(), "aud"), "azp", json!("mobile"));
    let claims = accepted(auth.authorize::<()>(&rsa().token(&claims)).await);
    assert_eq!(claims.authorized_party(), Some("mobile"));
    let other = with(generic_claims(), "azp", json!("cli"));
    let err = refused(
        auth.authorize::<()>(&rsa().token(&other)).await,
        WrongClient,
    );
    assert_eq!(err.claim_name(), Some("azp"));
    let malformed = with(generic_claims(), "azp", json!(["web"]));
    refused(
        auth.authorize::<()>(&rsa().token(&malformed)).await,
        MalformedClaim,
    );
}

// ---- custom checks -----------------------------------------------------------------------

#[derive(serde::Deserialize)]
struct Tenant {
    tenant: String,
}

#[tokio::test]
async fn custom_check_refusal_is_invalid_token_with_a_fixed_description() {
    let auth = generic_builder(keyset(&[rsa()]))
        .check(|claims: &Claims<Tenant>| claims.tenant.starts_with("eu-"))
        .check(|claims: &Claims| claims.subject() != Some("blocked"))
        .build();
    let eu = with(generic_claims(), "tenant", json!("eu-acme"));
    accepted(auth.authorize::<()>(&rsa().token(&eu)).await);
    // Whatever `T` the caller reads, the check reads its own.
    accepted(auth.authorize::<Tenant>(&rsa().token(&eu)).await);
    let us = with(generic_claims(), "tenant", json!("us-acme"));
    let err = refused(auth.authorize::<()>(&rsa().token(&us)).await, CheckFailed);
    assert_eq!(
        err.description(),
        "the token was refused by the service's checks"
    );
    let blocked = with(eu.clone(), "sub", json!("blocked"));
    refused(
        auth.authorize::<()>(&rsa().token(&blocked)).await,
        CheckFailed,
    );
    // A check reading a claim that is not there: its claims are malformed.
    refused(
        auth.authorize::<()>(&rsa().token(&generic_claims())).await,
        MalformedClaim,
    );
}

#[tokio::test]
async fn custom_check_runs_before_caching_and_a_refused_token_is_never_cached() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let auth = generic_builder(keyset(&[rsa()]))
        .check(move |claims: &Claims| {
            counted.fetch_add(1, Ordering::SeqCst);
            claims.subject() == Some("user-1")
        })
        .build();
    let good = rsa().token(&generic_claims());
    let bad = rsa().token(&with(generic_claims(), "sub", json!("user-2")));
    for _ in 0..3 {
        refused(auth.authorize::<()>(&bad).await, CheckFailed);
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        3,
        "a refused token is checked every time"
    );
    assert_eq!(auth.token_cache_usage().map(|u| u.0), Some(0));
    for _ in 0..3 {
        accepted(auth.authorize::<()>(&good).await);
    }
    // Checked once, then answered from the cache, which only holds tokens that passed.
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    assert_eq!(auth.token_cache_usage().map(|u| u.0), Some(1));
}
