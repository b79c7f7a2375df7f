//! Rule 3, second half: the registered claims, after the signature.

use std::time::Duration;

use tokengate::AuthErrorKind::*;

use super::*;

async fn check(claims: Value) -> Result<Claims<()>, AuthError> {
    rsa_generic().authorize::<()>(&rsa().token(&claims)).await
}

async fn check_with_leeway(claims: Value, leeway: Duration) -> Result<Claims<()>, AuthError> {
    generic_builder(keyset(&[rsa()]))
        .leeway(leeway)
        .build()
        .authorize::<()>(&rsa().token(&claims))
        .await
}

/// A token over exactly this payload text, signed by [`rsa`].
fn raw_token(payload: &str) -> String {
    sign_raw(
        rsa(),
        Algorithm::RS256,
        r#"{"alg":"RS256","kid":"rsa-1"}"#,
        payload,
    )
}

// ---- iss -----------------------------------------------------------------------------------

#[tokio::test]
async fn accepts_exact_issuer() {
    let claims = accepted(check(generic_claims()).await);
    assert_eq!(claims.issuer(), ISSUER);
    assert_eq!(claims.subject(), Some("user-1"));
    assert_eq!(claims.jwt_id(), Some("g1g2g3g4"));
    assert_eq!(claims.issued_at(), Some(T0 - 10));
    assert_eq!(claims.expires_at(), T0 + 3600);
}

#[tokio::test]
async fn rejects_issuer_with_trailing_slash() {
    let claims = with(generic_claims(), "iss", json!(format!("{ISSUER}/")));
    let err = refused(check(claims).await, WrongIssuer);
    assert_eq!(err.claim_name(), Some("iss"));
}

#[tokio::test]
async fn rejects_issuer_in_different_case() {
    for iss in [
        ISSUER.to_uppercase(),
        ISSUER.replace("TestPool", "testpool"),
    ] {
        refused(
            check(with(generic_claims(), "iss", json!(iss))).await,
            WrongIssuer,
        );
    }
}

#[tokio::test]
async fn rejects_other_issuer_and_issuer_prefix() {
    for iss in [
        "https://evil.example",
        &ISSUER[..ISSUER.len() - 1],
        &format!("{ISSUER}x"),
        &format!(" {ISSUER}"),
        "",
    ] {
        refused(
            check(with(generic_claims(), "iss", json!(iss))).await,
            WrongIssuer,
        );
    }
}

#[tokio::test]
async fn rejects_missing_issuer() {
    let err = refused(check(without(generic_claims(), "iss")).await, MissingClaim);
    assert_eq!(err.claim_name(), Some("iss"));
}

#[tokio::test]
async fn rejects_non_string_issuer_as_malformed() {
    for iss in [
        json!(1),
        json!([ISSUER]),
        json!({"url": ISSUER}),
        json!(true),
    ] {
        refused(
            check(with(generic_claims(), "iss", iss)).await,
            MalformedClaim,
        );
    }
}

#[tokio::test]
async fn skip_issuer_check_accepts_any_issuer() {
    let auth = Authorizer::builder(Profile::generic())
        .skip_issuer_check()
        .audience(AUDIENCE)
        .keys(keyset(&[rsa()]))
        .clock(ManualClock::new(T0))
        .build();
    for iss in ["https://other.example", "https://evil.example/", ISSUER] {
        let token = rsa().token(&with(generic_claims(), "iss", json!(iss)));
        let claims = accepted(auth.authorize::<()>(&token).await);
        assert_eq!(claims.issuer(), iss);
    }
    // Skipping the comparison does not make `iss` optional for the profile.
    let token = rsa().token(&without(generic_claims(), "iss"));
    refused(auth.authorize::<()>(&token).await, MissingClaim);
}

// ---- exp, nbf, iat -------------------------------------------------------------------------

#[tokio::test]
async fn rejects_token_without_exp() {
    let err = refused(check(without(generic_claims(), "exp")).await, MissingClaim);
    assert_eq!(err.claim_name(), Some("exp"));
}

#[tokio::test]
async fn rejects_token_expired_beyond_default_leeway() {
    let err = refused(
        check(with(generic_claims(), "exp", json!(T0 - 31))).await,
        Expired,
    );
    assert_eq!(err.claim_name(), Some("exp"));
    refused(
        check(with(generic_claims(), "exp", json!(T0 - 3600))).await,
        Expired,
    );
    refused(
        check(with(generic_claims(), "exp", json!(0))).await,
        Expired,
    );
}

#[tokio::test]
async fn accepts_token_expired_within_default_leeway() {
    for exp in [T0 - 29, T0 - 1, T0, T0 + 1] {
        accepted(check(with(generic_claims(), "exp", json!(exp))).await);
    }
}

#[tokio::test]
async fn rejects_token_exactly_at_exp_plus_leeway() {
    // now == exp + 30: RFC 7519 §4.1.4, the current time must be before exp (+ leeway).
    refused(
        check(with(generic_claims(), "exp", json!(T0 - 30))).await,
        Expired,
    );
}

#[tokio::test]
async fn rejects_token_not_yet_valid_beyond_leeway() {
    let err = refused(
        check(with(generic_claims(), "nbf", json!(T0 + 31))).await,
        NotYetValid,
    );
    assert_eq!(err.claim_name(), Some("nbf"));
    refused(
        check(with(generic_claims(), "nbf", json!(T0 + 3000))).await,
        NotYetValid,
    );
}

#[tokio::test]
async fn accepts_nbf_in_the_past_or_within_leeway() {
    for nbf in [0, T0 - 100, T0, T0 + 30] {
        let claims = accepted(check(with(generic_claims(), "nbf", json!(nbf))).await);
        assert_eq!(claims.not_before(), Some(nbf));
    }
}

#[tokio::test]
async fn rejects_token_issued_in_the_future_beyond_leeway() {
    let err = refused(
        check(with(generic_claims(), "iat", json!(T0 + 31))).await,
        IssuedInFuture,
    );
    assert_eq!(err.claim_name(), Some("iat"));
}

#[tokio::test]
async fn accepts_iat_within_leeway() {
    accepted(check(with(generic_claims(), "iat", json!(T0 + 30))).await);
}

#[tokio::test]
async fn custom_leeway_widens_every_time_check() {
    let leeway = Duration::from_secs(120);
    accepted(check_with_leeway(with(generic_claims(), "exp", json!(T0 - 119)), leeway).await);
    refused(
        check_with_leeway(with(generic_claims(), "exp", json!(T0 - 120)), leeway).await,
        Expired,
    );
    accepted(check_with_leeway(with(generic_claims(), "nbf", json!(T0 + 120)), leeway).await);
    refused(
        check_with_leeway(with(generic_claims(), "nbf", json!(T0 + 121)), leeway).await,
        NotYetValid,
    );
    accepted(check_with_leeway(with(generic_claims(), "iat", json!(T0 + 120)), leeway).await);
    refused(
        check_with_leeway(with(generic_claims(), "iat", json!(T0 + 121)), leeway).await,
        IssuedInFuture,
    );
}

#[tokio::test]
async fn zero_leeway_rejects_token_at_its_exp() {
    let zero = Duration::ZERO;
    refused(
        check_with_leeway(with(generic_claims(), "exp", json!(T0)), zero).await,
        Expired,
    );
    accepted(check_with_leeway(with(generic_claims(), "exp", json!(T0 + 1)), zero).await);
    refused(
        check_with_leeway(with(generic_claims(), "nbf", json!(T0 + 1)), zero).await,
        NotYetValid,
    );
    accepted(check_with_leeway(with(generic_claims(), "nbf", json!(T0)), zero).await);
}

#[tokio::test]
async fn rejects_exp_that_is_a_string() {
    let claims = with(generic_claims(), "exp", json!((T0 + 3600).to_string()));
    refused(check(claims).await, MalformedClaim);
}

#[tokio::test]
async fn rejects_negative_exp() {
    refused(
        check(with(generic_claims(), "exp", json!(-1))).await,
        MalformedClaim,
    );
    refused(
        check(with(generic_claims(), "exp", json!(-1.5))).await,
        MalformedClaim,
    );
}

#[tokio::test]
async fn rejects_huge_exp() {
    let auth = rsa_generic();
    for exp in ["1e300", "253402300800", "18446744073709551615", "1e19"] {
        let payload = format!(r#"{{"iss":"{ISSUER}","aud":"{AUDIENCE}","exp":{exp}}}"#);
        refused(
            auth.authorize::<()>(&raw_token(&payload)).await,
            MalformedClaim,
        );
    }
    // The last second of year 9999 is still a date.
    accepted(check(with(generic_claims(), "exp", json!(253_402_300_799u64))).await);
}

#[tokio::test]
async fn rejects_null_exp_as_missing() {
    let err = refused(
        check(with(generic_claims(), "exp", Value::Null)).await,
        MissingClaim,
    );
    assert_eq!(err.claim_name(), Some("exp"));
}

#[tokio::test]
async fn rejects_exp_of_other_json_types_as_malformed() {
    for exp in [json!(true), json!([T0 + 3600]), json!({"t": T0 + 3600})] {
        refused(
            check(with(generic_claims(), "exp", exp)).await,
            MalformedClaim,
        );
    }
}

#[tokio::test]
async fn rejects_malformed_nbf_and_iat() {
    for name in ["nbf", "iat"] {
        for value in [json!("0"), json!(-5), json!(1e300)] {
            refused(
                check(with(generic_claims(), name, value)).await,
                MalformedClaim,
            );
        }
    }
}

#[tokio::test]
async fn accepts_fractional_exp() {
    let claims = with(generic_claims(), "exp", json!(T0 as f64 + 3600.75));
    let claims = accepted(check(claims).await);
    assert_eq!(claims.expires_at(), T0 + 3600);
    let claims = with(generic_claims(), "iat", json!(T0 as f64 - 0.5));
    accepted(check(claims).await);
}

#[tokio::test]
async fn rejects_fractional_exp_past_leeway() {
    refused(
        check(with(generic_claims(), "exp", json!(T0 as f64 - 30.5))).await,
        Expired,
    );
}

// ---- aud -----------------------------------------------------------------------------------

#[tokio::test]
async fn accepts_audience_array_with_one_match() {
    let claims = with(
        generic_claims(),
        "aud",
        json!(["https://other.example", AUDIENCE, "x"]),
    );
    let claims = accepted(check(claims).await);
    assert_eq!(
        claims.audience().collect::<Vec<_>>(),
        ["https://other.example", AUDIENCE, "x"]
    );
}

#[tokio::test]
async fn rejects_audience_array_without_a_match() {
    let claims = with(
        generic_claims(),
        "aud",
        json!(["https://other.example", format!("{AUDIENCE}/")]),
    );
    let err = refused(check(claims).await, WrongAudience);
    assert_eq!(err.claim_name(), Some("aud"));
    refused(
        check(with(generic_claims(), "aud", json!([]))).await,
        WrongAudience,
    );
    refused(
        check(with(
            generic_claims(),
            "aud",
            json!(AUDIENCE.to_uppercase()),
        ))
        .await,
        WrongAudience,
    );
}

#[tokio::test]
async fn rejects_missing_audience_when_one_is_expected() {
    refused(check(without(generic_claims(), "aud")).await, WrongAudience);
}

#[tokio::test]
async fn accepts_any_of_several_configured_audiences() {
    let auth = Authorizer::builder(Profile::generic())
        .issuer(ISSUER)
        .audience("https://a.example")
        .audience("https://b.example")
        .keys(keyset(&[rsa()]))
        .clock(ManualClock::new(T0))
        .build();
    for aud in [
        json!("https://b.example"),
        json!(["x", "https://a.example"]),
    ] {
        let token = rsa().token(&with(generic_claims(), "aud", aud));
        accepted(auth.authorize::<()>(&token).await);
    }
    let token = rsa().token(&generic_claims());
    refused(auth.authorize::<()>(&token).await, WrongAudience);
}

#[tokio::test]
async fn rejects_non_string_audience_as_malformed() {
    for aud in [json!(1), json!([AUDIENCE, 2]), json!({"aud": AUDIENCE})] {
        refused(
            check(with(generic_claims(), "aud", aud)).await,
            MalformedClaim,
        );
    }
}

#[tokio::test]
async fn skip_audience_check_accepts_any_audience() {
    let auth = Authorizer::builder(Profile::generic())
        .issuer(ISSUER)
        .skip_audience_check()
        .keys(keyset(&[rsa()]))
        .clock(ManualClock::new(T0))
        .build();
    let token = rsa().token(&with(
        generic_claims(),
        "aud",
        json!("https://other.example"),
    ));
    accepted(auth.authorize::<()>(&token).await);
    let token = rsa().token(&without(generic_claims(), "aud"));
    accepted(auth.authorize::<()>(&token).await);
}

// ---- duplicates ----------------------------------------------------------------------------

#[tokio::test]
async fn rejects_duplicate_claim_keys() {
    let auth = rsa_generic();
    let exp = T0 + 3600;
    for payload in [
        format!(r#"{{"iss":"{ISSUER}","aud":"{AUDIENCE}","exp":{exp},"exp":{exp}}}"#),
        format!(r#"{{"iss":"https://evil","iss":"{ISSUER}","aud":"{AUDIENCE}","exp":{exp}}}"#),
        format!(r#"{{"iss":"{ISSUER}","aud":"x","aud":"{AUDIENCE}","exp":{exp}}}"#),
        format!(r#"{{"iss":"{ISSUER}","aud":"{AUDIENCE}","exp":{exp},"sub":"a","sub":"b"}}"#),
        format!(r#"{{"iss":"{ISSUER}","aud":"{AUDIENCE}","exp":{exp},"scope":"a","scope":"b"}}"#),
    ] {
        refused(
            auth.authorize::<()>(&raw_token(&payload)).await,
            MalformedClaim,
        );
    }
    // The same payloads without the duplicate pass.
    let payload = format!(r#"{{"iss":"{ISSUER}","aud":"{AUDIENCE}","exp":{exp},"sub":"a"}}"#);
    accepted(auth.authorize::<()>(&raw_token(&payload)).await);
}

#[tokio::test]
async fn reads_escaped_strings_in_claims() {
    let exp = T0 + 3600;
    let iss = ISSUER.replace('/', "\\/");
    let payload = format!(r#"{{"iss":"{iss}","aud":["{AUDIENCE}"],"exp":{exp},"sub":"\u0061b"}}"#);
    let claims = accepted(rsa_generic().authorize::<()>(&raw_token(&payload)).await);
    assert_eq!(claims.issuer(), ISSUER);
    assert_eq!(claims.subject(), Some("ab"));
}

#[tokio::test]
async fn rejects_claims_that_are_not_json_after_a_valid_signature() {
    let auth = rsa_generic();
    refused(
        auth.authorize::<()>(&raw_token("{not json")).await,
        MalformedClaim,
    );
    refused(
        auth.authorize::<()>(&raw_token(&format!(r#"{{"iss":"{ISSUER}"}} trailing"#)))
            .await,
        MalformedClaim,
    );
}
