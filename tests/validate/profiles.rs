//! Rule 4: what each profile requires and reads.

use tokengate::{AuthErrorKind::*, TokenUse};

use super::*;

fn id_auth() -> Authorizer {
    id_builder(keyset(&[rsa()])).build()
}

fn rfc_auth() -> Authorizer {
    rfc_builder(keyset(&[rsa()])).build()
}

fn at_jwt_header() -> Value {
    json!({"alg": "RS256", "kid": "rsa-1", "typ": "at+jwt"})
}

fn with_typ(typ: &str) -> Value {
    json!({"alg": "RS256", "kid": "rsa-1", "typ": typ})
}

// ---- Cognito access ------------------------------------------------------------------------

#[tokio::test]
async fn cognito_access_reads_username_scopes_and_groups() {
    let claims = accepted(
        rsa_access()
            .authorize::<()>(&rsa().token(&access_claims()))
            .await,
    );
    assert_eq!(claims.username(), Some("alice"));
    assert_eq!(claims.client_id(), Some(CLIENT_ID));
    assert_eq!(claims.token_use(), Some(TokenUse::Access));
    assert_eq!(
        claims.scopes().iter().collect::<Vec<_>>(),
        ["api/read", "api/write", "openid"]
    );
    assert!(claims.scopes().contains_all(["api/read", "openid"]));
    assert!(!claims.scopes().contains("api/admin"));
    assert_eq!(
        claims.groups().iter().collect::<Vec<_>>(),
        ["admins", "readers"]
    );
    assert_eq!(claims.auth_time(), Some(T0 - 10));
    assert_eq!(claims.audience().count(), 0);
}

#[tokio::test]
async fn cognito_access_rejects_token_use_id() {
    let claims = with(access_claims(), "token_use", json!("id"));
    let err = refused(
        rsa_access().authorize::<()>(&rsa().token(&claims)).await,
        WrongTokenUse,
    );
    assert_eq!(err.claim_name(), Some("token_use"));
}

#[tokio::test]
async fn cognito_access_rejects_token_use_in_other_spellings() {
    for token_use in ["ACCESS", "Access", "access ", "refresh", ""] {
        let claims = with(access_claims(), "token_use", json!(token_use));
        refused(
            rsa_access().authorize::<()>(&rsa().token(&claims)).await,
            WrongTokenUse,
        );
    }
}

#[tokio::test]
async fn cognito_access_rejects_missing_token_use() {
    let claims = without(access_claims(), "token_use");
    let err = refused(
        rsa_access().authorize::<()>(&rsa().token(&claims)).await,
        MissingClaim,
    );
    assert_eq!(err.claim_name(), Some("token_use"));
}

#[tokio::test]
async fn cognito_access_rejects_wrong_client_id() {
    let claims = with(access_claims(), "client_id", json!("someotherclient"));
    let err = refused(
        rsa_access().authorize::<()>(&rsa().token(&claims)).await,
        WrongClient,
    );
    assert_eq!(err.claim_name(), Some("client_id"));
    let claims = with(
        access_claims(),
        "client_id",
        json!(CLIENT_ID.to_uppercase()),
    );
    refused(
        rsa_access().authorize::<()>(&rsa().token(&claims)).await,
        WrongClient,
    );
}

#[tokio::test]
async fn cognito_access_rejects_missing_client_id() {
    let claims = without(access_claims(), "client_id");
    let err = refused(
        rsa_access().authorize::<()>(&rsa().token(&claims)).await,
        MissingClaim,
    );
    assert_eq!(err.claim_name(), Some("client_id"));
}

#[tokio::test]
async fn cognito_access_rejects_real_id_token_as_the_wrong_token_use() {
    // A real Cognito ID token also lacks `client_id`; it is named for what it is.
    let token = rsa().token(&id_claims());
    let err = refused(rsa_access().authorize::<()>(&token).await, WrongTokenUse);
    assert_eq!(err.claim_name(), Some("token_use"));
}

#[tokio::test]
async fn cognito_access_rejects_missing_iat() {
    let claims = without(access_claims(), "iat");
    let err = refused(
        rsa_access().authorize::<()>(&rsa().token(&claims)).await,
        MissingClaim,
    );
    assert_eq!(err.claim_name(), Some("iat"));
}

#[tokio::test]
async fn cognito_access_accepts_any_of_several_client_ids() {
    let auth = access_builder(keyset(&[rsa()]))
        .client_id("second-client")
        .build();
    for client in [CLIENT_ID, "second-client"] {
        let claims = with(access_claims(), "client_id", json!(client));
        accepted(auth.authorize::<()>(&rsa().token(&claims)).await);
    }
}

#[tokio::test]
async fn cognito_access_reads_only_cognito_groups() {
    let claims = with(
        without(access_claims(), "cognito:groups"),
        "groups",
        json!(["x"]),
    );
    let claims = accepted(rsa_access().authorize::<()>(&rsa().token(&claims)).await);
    assert!(claims.groups().is_empty());
}

#[tokio::test]
async fn cognito_access_rejects_malformed_groups_and_scope() {
    for (name, value) in [
        ("cognito:groups", json!(1)),
        ("cognito:groups", json!(["admins", 1])),
        ("scope", json!(["api/read"])),
        ("scope", json!("api/read \"quoted\"")),
    ] {
        let claims = with(access_claims(), name, value);
        refused(
            rsa_access().authorize::<()>(&rsa().token(&claims)).await,
            MalformedClaim,
        );
    }
}

#[tokio::test]
async fn cognito_access_accepts_typ_jwt_and_at_jwt_but_not_others() {
    for typ in ["JWT", "at+jwt", "application/at+jwt"] {
        let token = rsa().sign_token(&with_typ(typ), &access_claims());
        accepted(rsa_access().authorize::<()>(&token).await);
    }
    for typ in ["logout+jwt", "dpop+jwt", "id+jwt", ""] {
        let token = rsa().sign_token(&with_typ(typ), &access_claims());
        refused(rsa_access().authorize::<()>(&token).await, WrongTokenType);
    }
}

// ---- Cognito ID ----------------------------------------------------------------------------

#[tokio::test]
async fn cognito_id_reads_cognito_username_and_checks_client_in_aud() {
    let claims = accepted(id_auth().authorize::<()>(&rsa().token(&id_claims())).await);
    assert_eq!(claims.username(), Some("alice"));
    assert_eq!(claims.token_use(), Some(TokenUse::Id));
    assert_eq!(claims.audience().collect::<Vec<_>>(), [CLIENT_ID]);
    assert_eq!(claims.groups().iter().collect::<Vec<_>>(), ["admins"]);
    assert!(claims.scopes().is_empty());
    assert_eq!(claims.client_id(), None);
}

#[tokio::test]
async fn cognito_id_rejects_other_client_in_aud() {
    let claims = with(id_claims(), "aud", json!("someotherclient"));
    let err = refused(
        id_auth().authorize::<()>(&rsa().token(&claims)).await,
        WrongClient,
    );
    assert_eq!(err.claim_name(), Some("client_id"));
    // A `client_id` claim does not stand in for `aud`.
    let claims = with(
        with(id_claims(), "aud", json!("someotherclient")),
        "client_id",
        json!(CLIENT_ID),
    );
    refused(
        id_auth().authorize::<()>(&rsa().token(&claims)).await,
        WrongClient,
    );
}

#[tokio::test]
async fn cognito_id_accepts_client_among_aud_array() {
    let claims = with(id_claims(), "aud", json!(["other", CLIENT_ID]));
    accepted(id_auth().authorize::<()>(&rsa().token(&claims)).await);
}

#[tokio::test]
async fn cognito_id_rejects_real_access_token_as_the_wrong_token_use() {
    // A real Cognito access token also lacks `aud`; it is named for what it is.
    let token = rsa().token(&access_claims());
    let err = refused(id_auth().authorize::<()>(&token).await, WrongTokenUse);
    assert_eq!(err.claim_name(), Some("token_use"));
}

#[tokio::test]
async fn cognito_id_rejects_token_use_access() {
    let claims = with(id_claims(), "token_use", json!("access"));
    let err = refused(
        id_auth().authorize::<()>(&rsa().token(&claims)).await,
        WrongTokenUse,
    );
    assert_eq!(err.claim_name(), Some("token_use"));
}

#[tokio::test]
async fn cognito_id_rejects_missing_sub_or_token_use() {
    for name in ["sub", "token_use", "aud", "iat"] {
        let claims = without(id_claims(), name);
        let err = refused(
            id_auth().authorize::<()>(&rsa().token(&claims)).await,
            MissingClaim,
        );
        assert_eq!(err.claim_name(), Some(name));
    }
}

#[tokio::test]
async fn cognito_id_rejects_at_jwt_typ() {
    let token = rsa().sign_token(&at_jwt_header(), &id_claims());
    refused(id_auth().authorize::<()>(&token).await, WrongTokenType);
    let token = rsa().sign_token(&with_typ("JWT"), &id_claims());
    accepted(id_auth().authorize::<()>(&token).await);
}

// ---- RFC 9068 ------------------------------------------------------------------------------

#[tokio::test]
async fn rfc9068_accepts_at_jwt_typ() {
    for typ in [
        "at+jwt",
        "application/at+jwt",
        "AT+JWT",
        "Application/AT+JWT",
    ] {
        let token = rsa().sign_token(&with_typ(typ), &rfc_claims());
        let claims = accepted(rfc_auth().authorize::<()>(&token).await);
        assert_eq!(claims.subject(), Some("user-1"));
        assert_eq!(claims.client_id(), Some(CLIENT_ID));
        assert_eq!(claims.jwt_id(), Some("c1c2c3c4"));
        assert_eq!(claims.scopes().iter().collect::<Vec<_>>(), ["api/read"]);
    }
}

#[tokio::test]
async fn rfc9068_rejects_missing_typ() {
    let token = rsa().token(&rfc_claims());
    let err = refused(rfc_auth().authorize::<()>(&token).await, WrongTokenType);
    assert_eq!(err.claim_name(), Some("typ"));
}

#[tokio::test]
async fn rfc9068_rejects_typ_jwt_and_others() {
    for typ in [
        "JWT",
        "jwt",
        "application/jwt",
        "at+jwt ",
        "at-jwt",
        "application/",
        "",
    ] {
        let token = rsa().sign_token(&with_typ(typ), &rfc_claims());
        refused(rfc_auth().authorize::<()>(&token).await, WrongTokenType);
    }
}

#[tokio::test]
async fn rfc9068_rejects_each_missing_required_claim() {
    for name in ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"] {
        let token = rsa().sign_token(&at_jwt_header(), &without(rfc_claims(), name));
        let err = refused(rfc_auth().authorize::<()>(&token).await, MissingClaim);
        assert_eq!(err.claim_name(), Some(name), "{name}");
    }
}

#[tokio::test]
async fn rfc9068_rejects_empty_aud_as_missing() {
    let token = rsa().sign_token(&at_jwt_header(), &with(rfc_claims(), "aud", json!([])));
    let err = refused(rfc_auth().authorize::<()>(&token).await, MissingClaim);
    assert_eq!(err.claim_name(), Some("aud"));
}

#[tokio::test]
async fn rfc9068_rejects_wrong_audience_and_wrong_client() {
    let token = rsa().sign_token(&at_jwt_header(), &with(rfc_claims(), "aud", json!("other")));
    refused(rfc_auth().authorize::<()>(&token).await, WrongAudience);
    let token = rsa().sign_token(
        &at_jwt_header(),
        &with(rfc_claims(), "client_id", json!("other")),
    );
    refused(rfc_auth().authorize::<()>(&token).await, WrongClient);
}

#[tokio::test]
async fn rfc9068_reads_groups_claim_and_not_scp() {
    let claims = with(
        with(without(rfc_claims(), "scope"), "scp", json!(["api/read"])),
        "groups",
        json!(["staff"]),
    );
    let token = rsa().sign_token(&at_jwt_header(), &claims);
    let claims = accepted(rfc_auth().authorize::<()>(&token).await);
    assert!(claims.scopes().is_empty());
    assert_eq!(claims.groups().iter().collect::<Vec<_>>(), ["staff"]);
}

// ---- Generic -------------------------------------------------------------------------------

async fn generic(claims: Value) -> Result<Claims<()>, AuthError> {
    rsa_generic().authorize::<()>(&rsa().token(&claims)).await
}

#[tokio::test]
async fn generic_reads_scopes_from_scp_array() {
    let claims = accepted(
        generic(with(
            generic_claims(),
            "scp",
            json!(["api/read", "api/write"]),
        ))
        .await,
    );
    assert_eq!(
        claims.scopes().iter().collect::<Vec<_>>(),
        ["api/read", "api/write"]
    );
}

#[tokio::test]
async fn generic_reads_scopes_from_scp_string() {
    let claims =
        accepted(generic(with(generic_claims(), "scp", json!("api/read api/write"))).await);
    assert_eq!(
        claims.scopes().iter().collect::<Vec<_>>(),
        ["api/read", "api/write"]
    );
}

#[tokio::test]
async fn generic_reads_scopes_from_scope_before_scp() {
    let claims = with(
        with(generic_claims(), "scope", json!("a b")),
        "scp",
        json!(["c"]),
    );
    let claims = accepted(generic(claims).await);
    assert_eq!(claims.scopes().to_string(), "a b");
}

#[tokio::test]
async fn generic_rejects_scp_array_element_with_a_space() {
    let claims = with(generic_claims(), "scp", json!(["api/read api/write"]));
    let err = refused(generic(claims).await, MalformedClaim);
    assert_eq!(err.claim_name(), Some("scp"));
}

#[tokio::test]
async fn generic_rejects_unicode_look_alike_scope() {
    // "api/reаd" with a Cyrillic 'а' (U+0430).
    let look_alike = "api/re\u{0430}d";
    let err = refused(
        generic(with(generic_claims(), "scope", json!(look_alike))).await,
        MalformedClaim,
    );
    assert_eq!(err.claim_name(), Some("scope"));
    let err = refused(
        generic(with(generic_claims(), "scp", json!([look_alike]))).await,
        MalformedClaim,
    );
    assert_eq!(err.claim_name(), Some("scp"));
    let err = refused(
        generic(with(generic_claims(), "scp", json!(look_alike))).await,
        MalformedClaim,
    );
    assert_eq!(err.claim_name(), Some("scp"));
}

#[tokio::test]
async fn generic_rejects_scopes_outside_rfc6749_charset() {
    for scope in ["a\"b", "back\\slash", "tab\there", "api/read\u{7f}"] {
        refused(
            generic(with(generic_claims(), "scope", json!(scope))).await,
            MalformedClaim,
        );
        refused(
            generic(with(generic_claims(), "scp", json!([scope]))).await,
            MalformedClaim,
        );
    }
    refused(
        generic(with(generic_claims(), "scp", json!([""]))).await,
        MalformedClaim,
    );
    refused(
        generic(with(generic_claims(), "scp", json!(["a", 1]))).await,
        MalformedClaim,
    );
}

#[tokio::test]
async fn generic_deduplicates_scopes() {
    let claims = accepted(generic(with(generic_claims(), "scope", json!("a b  a b c"))).await);
    assert_eq!(claims.scopes().iter().collect::<Vec<_>>(), ["a", "b", "c"]);
    assert_eq!(claims.scopes().len(), 3);
    let claims = accepted(generic(with(generic_claims(), "scp", json!(["a", "a", "b"]))).await);
    assert_eq!(claims.scopes().iter().collect::<Vec<_>>(), ["a", "b"]);
}

#[tokio::test]
async fn generic_reads_groups_claim() {
    let claims = with(
        with(generic_claims(), "groups", json!(["staff", "ops", "staff"])),
        "cognito:groups",
        json!(["ignored"]),
    );
    let claims = accepted(generic(claims).await);
    assert_eq!(claims.groups().iter().collect::<Vec<_>>(), ["staff", "ops"]);
}

#[tokio::test]
async fn generic_rejects_logout_token_typ() {
    let token = rsa().sign_token(&with_typ("logout+jwt"), &generic_claims());
    let err = refused(rsa_generic().authorize::<()>(&token).await, WrongTokenType);
    assert_eq!(err.claim_name(), Some("typ"));
    let token = rsa().sign_token(&with_typ("application/logout+jwt"), &generic_claims());
    refused(rsa_generic().authorize::<()>(&token).await, WrongTokenType);
}

#[tokio::test]
async fn generic_accepts_typ_jwt_and_at_jwt() {
    for typ in ["JWT", "at+jwt", "application/at+jwt"] {
        let token = rsa().sign_token(&with_typ(typ), &generic_claims());
        accepted(rsa_generic().authorize::<()>(&token).await);
    }
}

#[tokio::test]
async fn generic_requires_only_iss_and_exp() {
    let claims = json!({"iss": ISSUER, "aud": AUDIENCE, "exp": T0 + 60});
    let claims = accepted(generic(claims).await);
    assert_eq!(claims.subject(), None);
    assert_eq!(claims.issued_at(), None);
    assert!(claims.scopes().is_empty() && claims.groups().is_empty());
}

#[tokio::test]
async fn generic_checks_client_id_when_configured() {
    let auth = generic_builder(keyset(&[rsa()]))
        .client_id(CLIENT_ID)
        .build();
    let token = rsa().token(&with(generic_claims(), "client_id", json!(CLIENT_ID)));
    accepted(auth.authorize::<()>(&token).await);
    let token = rsa().token(&with(generic_claims(), "client_id", json!("other")));
    refused(auth.authorize::<()>(&token).await, WrongClient);
    let token = rsa().token(&generic_claims());
    refused(auth.authorize::<()>(&token).await, WrongClient);
}
