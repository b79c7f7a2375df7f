//! Rule 6: errors never carry token contents, and map to RFC 6750 statuses.

use tokengate::{AuthErrorKind, AuthErrorKind::*, ErrorCode};

use super::*;

const MARKER: &str = "SECRET-MARKER";

#[track_caller]
fn assert_no_marker(err: &AuthError) {
    for text in [
        err.to_string(),
        err.description().to_owned(),
        format!("{err:?}"),
    ] {
        assert!(!text.contains(MARKER), "{text}");
        assert!(!text.contains("SECRET"), "{text}");
    }
    assert!(err.claim_name().is_none_or(|c| !c.contains(MARKER)));
}

#[tokio::test]
async fn errors_never_contain_token_contents() {
    let auth = rsa_generic();
    let marked = |name: &str| with(generic_claims(), name, json!(MARKER));

    let cases: Vec<(String, AuthErrorKind)> = vec![
        (
            rsa().sign_token(&json!({"alg": "RS256", "kid": MARKER}), &generic_claims()),
            UnknownKey,
        ),
        (rsa().token(&marked("iss")), WrongIssuer),
        (rsa().token(&marked("aud")), WrongAudience),
        (
            rsa().token(&with(generic_claims(), "sub", json!({MARKER: MARKER}))),
            MalformedClaim,
        ),
        (
            rsa().token(&with(generic_claims(), "exp", json!(MARKER))),
            MalformedClaim,
        ),
        (
            rsa().token(&with(
                generic_claims(),
                "scope",
                json!(format!("{MARKER}\u{0430}")),
            )),
            MalformedClaim,
        ),
        (
            rsa().sign_token(
                &json!({"alg": "RS256", "kid": "rsa-1", "typ": MARKER}),
                &generic_claims(),
            ),
            WrongTokenType,
        ),
        (
            unsigned_with_junk_signature(&json!({"alg": MARKER}), &generic_claims()),
            UnsupportedAlgorithm,
        ),
        (
            unsigned_with_junk_signature(
                &json!({"alg": "RS256", "crit": [MARKER]}),
                &generic_claims(),
            ),
            UnsupportedHeader,
        ),
        (
            format!("{}.{MARKER}.sig", b64(r#"{"alg":"RS256"}"#)),
            Malformed,
        ),
        (format!("{MARKER}.{MARKER}.{MARKER}"), Malformed),
    ];
    for (token, kind) in cases {
        let err = refused(auth.authorize::<()>(&token).await, kind);
        assert_no_marker(&err);
    }

    let access = rsa_access();
    for (claims, kind) in [
        (
            with(access_claims(), "client_id", json!(MARKER)),
            WrongClient,
        ),
        (
            with(access_claims(), "token_use", json!(MARKER)),
            WrongTokenUse,
        ),
    ] {
        let err = refused(access.authorize::<()>(&rsa().token(&claims)).await, kind);
        assert_no_marker(&err);
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Strict {
        level: u8,
    }
    let token = rsa().token(&with(access_claims(), "level", json!(MARKER)));
    let err = refused(access.authorize::<Strict>(&token).await, MalformedClaim);
    assert_no_marker(&err);
}

#[test]
fn token_rejection_kinds_are_401_invalid_token_with_fixed_descriptions() {
    let kinds = [
        TokenTooLarge,
        Malformed,
        UnsignedToken,
        SymmetricAlgorithm,
        UnsupportedAlgorithm,
        DisallowedAlgorithm,
        UnsupportedHeader,
        NestedToken,
        WrongTokenType,
        UnknownKey,
        NoMatchingKey,
        InvalidSignature,
        MalformedClaim,
        MissingClaim,
        Expired,
        NotYetValid,
        IssuedInFuture,
        WrongIssuer,
        WrongAudience,
        WrongClient,
        WrongTokenUse,
    ];
    let mut seen = std::collections::HashSet::new();
    for kind in kinds {
        assert_eq!(kind.status(), 401, "{kind:?}");
        assert_eq!(kind.code(), Some(ErrorCode::InvalidToken), "{kind:?}");
        assert_eq!(AuthError::new(kind).to_string(), kind.description());
        assert!(
            seen.insert(kind.description()),
            "{kind:?} shares a description"
        );
    }
    assert_eq!(ErrorCode::InvalidToken.as_str(), "invalid_token");
    assert_eq!(InsufficientScope.status(), 403);
    assert_eq!(InsufficientScope.code(), Some(ErrorCode::InsufficientScope));
    assert_eq!(MalformedRequest.status(), 400);
    assert_eq!(MissingToken.code(), None);
    assert_eq!(KeysUnavailable.status(), 503);
}

#[tokio::test]
async fn claim_errors_name_the_claim_in_display() {
    let token = rsa().token(&without(generic_claims(), "exp"));
    let err = refused(rsa_generic().authorize::<()>(&token).await, MissingClaim);
    assert_eq!(err.to_string(), "a required claim is missing (exp)");
}
