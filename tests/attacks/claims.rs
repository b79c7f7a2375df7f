//! Attacks through the claims of validly signed tokens: wrong JSON types, times in the
//! future, look-alike issuers, the wrong kind of token, audience and scope tricks.

use serde_json::{Value, json};
use tokengate::{Algorithm, AuthErrorKind::*, Authorizer};

use crate::support::{AUDIENCE, CLIENT_ID, ISSUER};
use crate::{
    T0, accepted, access, access_claims, generic, generic_claims, header_of, id, id_claims,
    refuses, rsa, sign_raw, text, with, without,
};

/// The trusted RSA key's token over `claims`.
fn token(claims: &Value) -> String {
    rsa().token(claims)
}

async fn access_refuses(claims: Value, kind: tokengate::AuthErrorKind) {
    refuses(&access(), &token(&claims), kind).await;
}

// ---- exp, nbf, iat -----------------------------------------------------------------------------

#[tokio::test]
async fn exp_of_the_wrong_type_or_out_of_range() {
    for exp in [
        json!((T0 + 3600).to_string()),
        json!(-1),
        json!(-1.5),
        json!(1e300),
        json!(1.8e19),
        json!(u64::MAX),
        json!(253_402_300_800u64), // year 10000
        json!(true),
        json!({"value": T0 + 3600}),
        json!([T0 + 3600]),
    ] {
        let err = refuses(
            &access(),
            &token(&with(access_claims(), "exp", exp.clone())),
            MalformedClaim,
        )
        .await;
        assert_eq!(err.status(), 401, "{exp}");
    }
}

#[tokio::test]
async fn exp_as_a_number_too_large_for_json_parsers() {
    // `1e400` is valid JSON grammar but no f64: refused, never read as infinity.
    let claims = text(&access_claims()).replace(&format!("\"exp\":{}", T0 + 3600), "\"exp\":1e400");
    assert!(claims.contains("1e400"));
    let huge = sign_raw(rsa(), Algorithm::RS256, text(&header_of(rsa())), &claims);
    refuses(&access(), &huge, MalformedClaim).await;
}

#[tokio::test]
async fn exp_as_a_fraction_is_read_not_refused() {
    // A control: RFC 7519 NumericDates may be fractional; a fractional exp in range passes,
    // and one just past the leeway does not.
    let claims = with(access_claims(), "exp", json!(T0 as f64 + 0.5));
    accepted(access().authorize::<()>(&token(&claims)).await);
    let claims = with(access_claims(), "exp", json!((T0 - 31) as f64 + 0.9));
    refuses(&access(), &token(&claims), Expired).await;
}

#[tokio::test]
async fn missing_or_null_exp() {
    let err = refuses(
        &access(),
        &token(&without(access_claims(), "exp")),
        MissingClaim,
    )
    .await;
    assert_eq!(err.claim_name(), Some("exp"));
    let err = refuses(
        &access(),
        &token(&with(access_claims(), "exp", Value::Null)),
        MissingClaim,
    )
    .await;
    assert_eq!(err.claim_name(), Some("exp"));
    // The generic profile requires `exp` too.
    refuses(
        &generic(),
        &token(&without(generic_claims(), "exp")),
        MissingClaim,
    )
    .await;
}

#[tokio::test]
async fn nbf_in_the_future_beyond_the_leeway() {
    let err = refuses(
        &access(),
        &token(&with(access_claims(), "nbf", json!(T0 + 31))),
        NotYetValid,
    )
    .await;
    assert_eq!(err.claim_name(), Some("nbf"));
    refuses(
        &access(),
        &token(&with(access_claims(), "nbf", json!(T0 + 365 * 86_400))),
        NotYetValid,
    )
    .await;
    // Within the 30 s leeway: accepted.
    accepted(
        access()
            .authorize::<()>(&token(&with(access_claims(), "nbf", json!(T0 + 30))))
            .await,
    );
}

#[tokio::test]
async fn iat_in_the_future_beyond_the_leeway() {
    let err = refuses(
        &access(),
        &token(&with(access_claims(), "iat", json!(T0 + 31))),
        IssuedInFuture,
    )
    .await;
    assert_eq!(err.claim_name(), Some("iat"));
    accepted(
        access()
            .authorize::<()>(&token(&with(access_claims(), "iat", json!(T0 + 30))))
            .await,
    );
}

#[tokio::test]
async fn nbf_or_iat_of_the_wrong_type() {
    for name in ["nbf", "iat", "auth_time"] {
        for value in [json!("0"), json!(-5), json!(1e300), json!(false), json!({})] {
            access_refuses(with(access_claims(), name, value), MalformedClaim).await;
        }
    }
}

// ---- issuer ------------------------------------------------------------------------------------

#[tokio::test]
async fn issuer_differing_by_a_trailing_slash_case_or_scheme() {
    for iss in [
        format!("{ISSUER}/"),
        ISSUER.to_uppercase(),
        ISSUER.replace("eu-west-1_TestPool", "eu-west-1_testpool"),
        ISSUER.replacen("https://", "http://", 1),
        ISSUER.replacen("https://", "HTTPS://", 1),
        format!("{ISSUER} "),
        format!(" {ISSUER}"),
        format!("{ISSUER}#"),
        format!("{ISSUER}?"),
        format!("{ISSUER}/."),
        ISSUER.replacen("https://", "https:///", 1),
        ISSUER.replace(".com/", ".com:443/"),
    ] {
        let err = refuses(
            &access(),
            &token(&with(access_claims(), "iss", json!(iss))),
            WrongIssuer,
        )
        .await;
        assert_eq!(err.claim_name(), Some("iss"));
    }
}

#[tokio::test]
async fn issuer_with_a_zero_width_or_look_alike_character() {
    for iss in [
        format!("{ISSUER}\u{200B}"),
        format!("\u{FEFF}{ISSUER}"),
        ISSUER.replacen("cognito", "cog\u{200D}nito", 1),
        ISSUER.replacen("amazonaws", "amazon\u{00AD}aws", 1), // soft hyphen
        ISSUER.replacen("cognito", "cоgnito", 1),             // Cyrillic 'о'
        ISSUER.replacen("TestPool", "ＴestPool", 1),          // full-width 'Ｔ'
        format!("{ISSUER}\u{0}"),
    ] {
        access_refuses(with(access_claims(), "iss", json!(iss)), WrongIssuer).await;
    }
    // The same characters as JSON escapes are the same strings.
    let claims = text(&access_claims()).replace(ISSUER, &format!("{ISSUER}\\u200b"));
    let escaped = sign_raw(rsa(), Algorithm::RS256, text(&header_of(rsa())), &claims);
    refuses(&access(), &escaped, WrongIssuer).await;
    // A control: escapes that decode to the exact issuer are the exact issuer.
    let claims = text(&access_claims()).replace(ISSUER, &ISSUER.replace('/', "\\/"));
    let escaped = sign_raw(rsa(), Algorithm::RS256, text(&header_of(rsa())), &claims);
    accepted(access().authorize::<()>(&escaped).await);
}

#[tokio::test]
async fn issuer_of_the_wrong_type_or_missing() {
    for iss in [json!([ISSUER]), json!({"iss": ISSUER}), json!(1)] {
        access_refuses(with(access_claims(), "iss", iss), MalformedClaim).await;
    }
    access_refuses(without(access_claims(), "iss"), MissingClaim).await;
}

// ---- the wrong kind of token -------------------------------------------------------------------

#[tokio::test]
async fn id_token_presented_as_an_access_token() {
    let err = refuses(&access(), &token(&id_claims()), WrongTokenUse).await;
    assert_eq!(err.claim_name(), Some("token_use"));
    // Even with a `client_id` and `scope` added to look like an access token.
    let dressed = with(
        with(id_claims(), "client_id", json!(CLIENT_ID)),
        "scope",
        json!("api/read"),
    );
    refuses(&access(), &token(&dressed), WrongTokenUse).await;
}

#[tokio::test]
async fn access_token_presented_as_an_id_token() {
    refuses(&id(), &token(&access_claims()), WrongTokenUse).await;
    // With `aud` added to look like an ID token.
    let dressed = with(access_claims(), "aud", json!(CLIENT_ID));
    refuses(&id(), &token(&dressed), WrongTokenUse).await;
}

#[tokio::test]
async fn token_use_in_other_spellings_or_types() {
    for token_use in [
        json!("Access"),
        json!("ACCESS"),
        json!("access "),
        json!(""),
    ] {
        access_refuses(with(access_claims(), "token_use", token_use), WrongTokenUse).await;
    }
    for token_use in [json!(["access"]), json!(true), json!(1)] {
        access_refuses(
            with(access_claims(), "token_use", token_use),
            MalformedClaim,
        )
        .await;
    }
    access_refuses(without(access_claims(), "token_use"), MissingClaim).await;
}

// ---- client ------------------------------------------------------------------------------------

#[tokio::test]
async fn wrong_client_id() {
    for client_id in [
        "another-client".to_owned(),
        CLIENT_ID.to_uppercase(),
        format!("{CLIENT_ID} "),
        format!("{CLIENT_ID}x"),
        CLIENT_ID[..CLIENT_ID.len() - 1].to_owned(),
        String::new(),
    ] {
        let err = refuses(
            &access(),
            &token(&with(access_claims(), "client_id", json!(client_id))),
            WrongClient,
        )
        .await;
        assert_eq!(err.claim_name(), Some("client_id"));
    }
    // An ID token for another client (`aud` carries the client id).
    let claims = with(id_claims(), "aud", json!("another-client"));
    refuses(&id(), &token(&claims), WrongClient).await;
}

#[tokio::test]
async fn client_id_as_an_array_or_other_type() {
    for client_id in [
        json!([CLIENT_ID]),
        json!([CLIENT_ID, "other"]),
        json!({ "id": CLIENT_ID }),
        json!(42),
        json!(true),
    ] {
        access_refuses(
            with(access_claims(), "client_id", client_id),
            MalformedClaim,
        )
        .await;
    }
    access_refuses(without(access_claims(), "client_id"), MissingClaim).await;
}

// ---- audience ----------------------------------------------------------------------------------

#[tokio::test]
async fn audience_containing_the_expected_value_as_a_substring() {
    for aud in [
        json!(format!("{AUDIENCE}.evil.example")),
        json!(format!("{AUDIENCE}/")),
        json!(format!("{AUDIENCE}evil")),
        json!(format!("evil {AUDIENCE}")),
        json!(format!("{AUDIENCE} https://evil.example")),
        json!(&AUDIENCE[..AUDIENCE.len() - 1]),
        json!(AUDIENCE.to_uppercase()),
        json!([format!("{AUDIENCE}x"), "https://evil.example"]),
        json!([]),
        json!(""),
        json!(null),
    ] {
        let err = refuses(
            &generic(),
            &token(&with(generic_claims(), "aud", aud.clone())),
            WrongAudience,
        )
        .await;
        assert_eq!(err.claim_name(), Some("aud"), "{aud}");
    }
}

#[tokio::test]
async fn audience_as_an_object_or_mixed_array() {
    for aud in [
        json!({ AUDIENCE: true }),
        json!({"aud": AUDIENCE}),
        json!([AUDIENCE, 1]),
        json!([AUDIENCE, [AUDIENCE]]),
        json!([{ "aud": AUDIENCE }]),
        json!(1),
        json!(true),
    ] {
        refuses(
            &generic(),
            &token(&with(generic_claims(), "aud", aud)),
            MalformedClaim,
        )
        .await;
    }
}

// ---- scopes ------------------------------------------------------------------------------------

/// The scopes a generic token with these extra claims is granted.
async fn generic_scopes(extra: &[(&str, Value)]) -> Vec<String> {
    let mut claims = generic_claims();
    for (name, value) in extra {
        claims = with(claims, name, value.clone());
    }
    let claims = accepted(generic().authorize::<()>(&token(&claims)).await);
    claims.scopes().iter().map(str::to_owned).collect()
}

#[tokio::test]
async fn scp_element_holding_two_scopes() {
    for scp in [
        json!(["api/read api/write"]),
        json!(["api/read", "api/write admin"]),
        json!(["api/read\tadmin"]),
        json!([""]),
    ] {
        let err = refuses(
            &generic(),
            &token(&with(generic_claims(), "scp", scp)),
            MalformedClaim,
        )
        .await;
        assert_eq!(err.claim_name(), Some("scp"));
    }
    // A control: one space-separated string is two scopes, as `scope` is.
    assert_eq!(
        generic_scopes(&[("scp", json!("api/read api/write"))]).await,
        ["api/read", "api/write"]
    );
}

#[tokio::test]
async fn duplicate_scopes_count_once() {
    assert_eq!(
        generic_scopes(&[("scope", json!("api/read api/read  api/read"))]).await,
        ["api/read"]
    );
    assert_eq!(
        generic_scopes(&[("scp", json!(["api/read", "api/read"]))]).await,
        ["api/read"]
    );
    // `scope` wins over `scp`: an `scp` smuggled next to it grants nothing.
    assert_eq!(
        generic_scopes(&[("scope", json!("api/read")), ("scp", json!(["admin"]))]).await,
        ["api/read"]
    );
}

#[tokio::test]
async fn scope_with_unicode_look_alikes() {
    for scope in [
        "api/reаd", // Cyrillic 'а'
        "аpi/read", // Cyrillic 'а'
        "api/read\u{200B}",
        "api/ｒead", // full-width 'ｒ'
        "api/read\u{00A0}api/write",
    ] {
        let err = refuses(
            &access(),
            &token(&with(access_claims(), "scope", json!(scope))),
            MalformedClaim,
        )
        .await;
        assert_eq!(err.claim_name(), Some("scope"), "{scope}");
        let err = refuses(
            &generic(),
            &token(&with(generic_claims(), "scp", json!([scope]))),
            MalformedClaim,
        )
        .await;
        assert_eq!(err.claim_name(), Some("scp"), "{scope}");
    }
}

#[tokio::test]
async fn cognito_scope_as_an_array() {
    for scope in [
        json!(["api/read", "api/write"]),
        json!(["api/read api/write"]),
        json!({"api/read": true}),
        json!(1),
    ] {
        access_refuses(with(access_claims(), "scope", scope), MalformedClaim).await;
    }
}

#[tokio::test]
async fn cognito_groups_of_the_wrong_type_or_smuggled_as_groups() {
    for groups in [
        json!(5),
        json!(true),
        json!([["admins"]]),
        json!([1]),
        json!({"admins": 1}),
    ] {
        access_refuses(
            with(access_claims(), "cognito:groups", groups),
            MalformedClaim,
        )
        .await;
    }
    // A plain `groups` claim is not read for Cognito tokens, whatever its type.
    for groups in [
        json!(["admins"]),
        json!("admins"),
        json!({"admins": 1}),
        json!(7),
    ] {
        let claims = with(without(access_claims(), "cognito:groups"), "groups", groups);
        let claims = accepted(access().authorize::<()>(&token(&claims)).await);
        assert!(claims.groups().is_empty());
    }
    // A string is a space-separated list of groups, as a `scope` claim is of scopes.
    let claims = with(access_claims(), "cognito:groups", json!("admins readers"));
    let claims = accepted(access().authorize::<()>(&token(&claims)).await);
    assert_eq!(
        claims.groups().iter().collect::<Vec<_>>(),
        ["admins", "readers"]
    );
}

// ---- several issuers ---------------------------------------------------------------------------

#[tokio::test]
async fn issuer_picked_by_any_of_cannot_be_confused() {
    // One authorizer for two issuers: a token naming issuer B but signed with issuer A's key
    // is checked against B's keys only.
    let other_issuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other";
    let b = Authorizer::builder(tokengate::Profile::cognito_access())
        .issuer(other_issuer)
        .client_id(CLIENT_ID)
        .keys(crate::keyset(&[crate::ec256()]))
        .clock(tokengate::ManualClock::new(T0))
        .build();
    let a = crate::access_builder(crate::keyset(&[rsa()])).build();
    let both = Authorizer::any_of([a, b]).expect("combined");
    let claims = with(access_claims(), "iss", json!(other_issuer));
    refuses(&both, &token(&claims), UnknownKey).await;
    // A duplicated `iss` cannot pick one issuer and validate as the other.
    let payload = format!(
        "{{\"iss\":\"{other_issuer}\",{}",
        &text(&access_claims())[1..]
    );
    let duplicated = sign_raw(rsa(), Algorithm::RS256, text(&header_of(rsa())), &payload);
    refuses(&both, &duplicated, MalformedClaim).await;
    // An issuer neither knows: refused before any key lookup.
    let claims = with(access_claims(), "iss", json!("https://evil.example"));
    refuses(&both, &token(&claims), WrongIssuer).await;
}
