//! Resource attacks: tokens over the size limit, headers with thousands of members, and JSON
//! nested deep enough to overflow a recursive parser's stack.

use serde_json::{Map, Value, json};
use tokengate::{Algorithm, AuthErrorKind::*, Authorizer};

use crate::support::b64;
use crate::{
    accepted, access, access_builder, access_claims, attacker_rsa, refuses, rsa, sign_raw, text,
    trusted, with,
};

/// An access authorizer whose token limit is raised to `bytes`, so that the parsers, not the
/// limit, meet what follows.
fn access_up_to(bytes: usize) -> Authorizer {
    access_builder(trusted()).max_token_len(bytes).build()
}

/// A valid token of exactly `len` bytes, signed by the trusted RSA key.
fn token_of_len(len: usize) -> String {
    // Grow a claim and a header parameter until the length is exactly right: each byte of
    // JSON adds one or two base64 characters, so two knobs reach every length.
    let base = text(&access_claims()).len();
    let start = ((len - 400) * 3 / 4).saturating_sub(base + 64);
    for pad in start..start + 64 {
        for header_pad in 0..4 {
            let header = json!({"alg": "RS256", "kid": rsa().kid, "x": "h".repeat(header_pad)});
            let claims = with(access_claims(), "pad", json!("p".repeat(pad)));
            let input_len = b64(text(&header)).len() + 1 + b64(text(&claims)).len();
            if input_len + 1 + 342 == len {
                let token = rsa().sign_token(&header, &claims);
                assert_eq!(token.len(), len);
                return token;
            }
        }
    }
    panic!("no token of {len} bytes");
}

#[tokio::test]
async fn token_of_8_kib_plus_one() {
    let limit = 8 * 1024;
    let over = token_of_len(limit + 1);
    let err = refuses(&access(), &over, TokenTooLarge).await;
    assert_eq!(err.claim_name(), None);
    // A control: the same token one byte shorter is within the limit and valid.
    accepted(access().authorize::<()>(&token_of_len(limit)).await);
    // Garbage of the same size is refused by size too, before any parsing.
    refuses(&access(), &"A".repeat(limit + 1), TokenTooLarge).await;
    refuses(&access(), &".".repeat(limit + 1), TokenTooLarge).await;
}

#[tokio::test]
async fn token_of_megabytes() {
    let huge = format!(
        "{}.{}.{}",
        b64("{}"),
        "A".repeat(4 * 1024 * 1024),
        b64([1u8; 256])
    );
    refuses(&access(), &huge, TokenTooLarge).await;
}

/// A header with `count` extra members, `kid` naming the trusted RSA key.
fn header_with_members(count: usize) -> String {
    let mut header = Map::new();
    header.insert("alg".into(), json!("RS256"));
    header.insert("kid".into(), json!(rsa().kid));
    for i in 0..count {
        header.insert(format!("k{i}"), json!(i));
    }
    text(&Value::Object(header))
}

#[tokio::test]
async fn header_with_ten_thousand_members() {
    let header = header_with_members(10_000);
    let payload = text(&access_claims());
    // Over the default limit: refused by size before the header is decoded.
    let token = sign_raw(attacker_rsa(), Algorithm::RS256, &header, &payload);
    refuses(&access(), &token, TokenTooLarge).await;
    // With the limit lifted, the header parses; the attacker's signature is what fails.
    let lifted = access_up_to(1024 * 1024);
    refuses(&lifted, &token, InvalidSignature).await;
}

#[tokio::test]
async fn header_with_ten_thousand_duplicate_unknown_members() {
    // `{"alg":…,"kid":…,"x":0,"x":1,…}`: duplicates of a member nobody reads.
    let mut header = format!(r#"{{"alg":"RS256","kid":"{}""#, rsa().kid);
    for i in 0..10_000 {
        header.push_str(&format!(r#","x":{i}"#));
    }
    header.push('}');
    let token = sign_raw(
        attacker_rsa(),
        Algorithm::RS256,
        &header,
        text(&access_claims()),
    );
    refuses(&access(), &token, TokenTooLarge).await;
    // With the limit lifted: a member given twice, read or not, is a malformed header (one
    // sort of 10,002 names, not a quadratic search), refused before any key is looked up.
    refuses(&access_up_to(1024 * 1024), &token, Malformed).await;
}

// ---- deep nesting ------------------------------------------------------------------------------

const DEPTH: usize = 10_000;

fn brackets(open: usize, close: usize) -> String {
    format!("{}{}", "[".repeat(open), "]".repeat(close))
}

/// Claims with `deep` spliced in as the value of claim `name`.
fn claims_with_raw(name: &str, deep: &str) -> String {
    let claims = text(&with(access_claims(), name, json!("@@")));
    claims.replace("\"@@\"", deep)
}

#[tokio::test]
async fn deeply_nested_claim_unbalanced() {
    // 10,000 `[` and nothing else: no recursive descent may follow them down.
    let payload = claims_with_raw("deep", &brackets(DEPTH, 0));
    let token = sign_raw(
        rsa(),
        Algorithm::RS256,
        text(&crate::header_of(rsa())),
        &payload,
    );
    refuses(&access(), &token, TokenTooLarge).await;
    refuses(&access_up_to(64 * 1024), &token, MalformedClaim).await;
}

#[tokio::test]
async fn deeply_nested_claim_read_into_custom_claims() {
    // Balanced nesting read into the caller's own claims: serde_json's recursion limit (128)
    // refuses it cleanly.
    let payload = claims_with_raw("deep", &brackets(DEPTH, DEPTH));
    let token = sign_raw(
        rsa(),
        Algorithm::RS256,
        text(&crate::header_of(rsa())),
        &payload,
    );
    let auth = access_up_to(64 * 1024);
    let err = auth
        .authorize::<Map<String, Value>>(&token)
        .await
        .expect_err("too deep for custom claims");
    assert_eq!(err.kind(), MalformedClaim);
    assert_eq!(err.claim_name(), Some("custom claims"));
    assert_eq!(err.status(), 401);
    // As a registered claim the library reads (`aud`): also refused, without recursion.
    let payload = claims_with_raw("aud", &brackets(DEPTH, DEPTH));
    let token = sign_raw(
        rsa(),
        Algorithm::RS256,
        text(&crate::header_of(rsa())),
        &payload,
    );
    refuses(&auth, &token, MalformedClaim).await;
}

#[tokio::test]
async fn deeply_nested_unknown_claim_is_skipped_without_recursion() {
    // A claim nobody reads is skipped by an iterative scanner: no stack is consumed, and the
    // (validly signed) token stands. This shows depth alone cannot crash the registered-claims
    // pass.
    let payload = claims_with_raw("deep", &brackets(DEPTH, DEPTH));
    let token = sign_raw(
        rsa(),
        Algorithm::RS256,
        text(&crate::header_of(rsa())),
        &payload,
    );
    accepted(access_up_to(64 * 1024).authorize::<()>(&token).await);
}

#[tokio::test]
async fn deeply_nested_header_parameter() {
    // Before any signature check, from anyone: an unknown header parameter nested 10,000 deep.
    let balanced = format!(
        r#"{{"alg":"RS256","kid":"{}","x":{}}}"#,
        rsa().kid,
        brackets(DEPTH, DEPTH)
    );
    let unbalanced = format!(
        r#"{{"alg":"RS256","kid":"{}","x":{}"#,
        rsa().kid,
        brackets(DEPTH, 0)
    );
    let payload = text(&access_claims());
    let auth = access_up_to(64 * 1024);
    let token = sign_raw(attacker_rsa(), Algorithm::RS256, &balanced, &payload);
    refuses(&access(), &token, TokenTooLarge).await;
    refuses(&auth, &token, InvalidSignature).await;
    let token = sign_raw(attacker_rsa(), Algorithm::RS256, &unbalanced, &payload);
    refuses(&auth, &token, Malformed).await;
    // Nested in `crit` or `kid`: refused for what they are.
    let crit = format!(r#"{{"alg":"RS256","crit":{}}}"#, brackets(DEPTH, DEPTH));
    let token = sign_raw(attacker_rsa(), Algorithm::RS256, &crit, &payload);
    refuses(&auth, &token, UnsupportedHeader).await;
    let kid = format!(r#"{{"alg":"RS256","kid":{}}}"#, brackets(DEPTH, DEPTH));
    let token = sign_raw(attacker_rsa(), Algorithm::RS256, &kid, &payload);
    refuses(&auth, &token, Malformed).await;
}

#[tokio::test]
async fn deeply_nested_payload_before_the_issuer_is_picked() {
    // With several issuers the payload's `iss` is read before any signature: deep nesting
    // there must not recurse either.
    let other = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other";
    let b = Authorizer::builder(tokengate::Profile::cognito_access())
        .issuer(other)
        .client_id(crate::support::CLIENT_ID)
        .keys(trusted())
        .max_token_len(64 * 1024)
        .clock(tokengate::ManualClock::new(crate::T0));
    let both = Authorizer::any_of([
        access_builder(trusted()).max_token_len(64 * 1024).build(),
        b.build(),
    ])
    .expect("combined");
    let payload = claims_with_raw("deep", &brackets(DEPTH, 0));
    let token = sign_raw(
        attacker_rsa(),
        Algorithm::RS256,
        text(&crate::header_of(rsa())),
        &payload,
    );
    refuses(&both, &token, MalformedClaim).await;
    let payload = format!(
        "{{\"deep\":{},{}",
        brackets(DEPTH, DEPTH),
        &text(&access_claims())[1..]
    );
    let token = sign_raw(
        attacker_rsa(),
        Algorithm::RS256,
        text(&crate::header_of(rsa())),
        &payload,
    );
    refuses(&both, &token, InvalidSignature).await;
}
