//! The mock's attack tokens (`Forgery`): each is what its name says — the HMAC forgeries
//! really verify under HMAC keyed with the bytes a confused verifier holds for the RSA key
//! (built here independently from the published `n` and `e`), the header-key forgeries really
//! verify under the attacker's key they name — and tokengate's `Authorizer` refuses each with
//! its own error, without fetching any URL a token names.
#![cfg(feature = "mock")]

#[path = "support/jwt_parts.rs"]
mod jwt_parts;

use aws_lc_rs::hmac;
use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{DecodingKey, Validation};
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};
use tokengate::mock::{Forgery, MockIssuer};
use tokengate::{AuthErrorKind, Authorizer, Profile};

use jwt_parts::{header, payload};

const CLIENT: &str = "demo-web";

async fn demo() -> MockIssuer {
    MockIssuer::demo().start().await.expect("the mock starts")
}

async fn authorizer(issuer: &MockIssuer) -> Authorizer {
    let authorizer = issuer
        .authorizer(Profile::cognito_access())
        .expect("an authorizer")
        .client_id(CLIENT)
        .build()
        .expect("valid settings");
    authorizer.ready().await.expect("the keys");
    authorizer
}

fn forged(issuer: &MockIssuer, forgery: Forgery) -> String {
    issuer
        .access_token()
        .client(CLIENT)
        .user("alice")
        .forge(forgery)
        .sign()
        .expect("forged")
}

fn signing_input_and_signature(token: &str) -> (&str, Vec<u8>) {
    let (input, signature) = token.rsplit_once('.').expect("three segments");
    (input, URL_SAFE_NO_PAD.decode(signature).expect("base64url"))
}

async fn get(url: &str) -> (u16, String) {
    let response = reqwest::get(url).await.expect("the mock answers");
    let status = response.status().as_u16();
    (status, response.text().await.expect("a body"))
}

// ---- DER and PEM, written here from the RFCs, independently of the mock ----------------------

/// One DER element (X.690 §8.1.3: short or long definite length).
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(u8::try_from(len).expect("short"));
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | u8::try_from(bytes.len()).expect("a few bytes"));
        out.extend(bytes);
    }
    out.extend(content);
    out
}

/// A positive INTEGER from big-endian bytes.
fn der_uint(big_endian: &[u8]) -> Vec<u8> {
    let mut bytes: Vec<u8> = big_endian.iter().copied().skip_while(|b| *b == 0).collect();
    if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        bytes.insert(0, 0);
    }
    der(0x02, &bytes)
}

/// `RSAPublicKey ::= SEQUENCE { modulus, publicExponent }` (RFC 8017 §A.1.1).
fn pkcs1(n: &[u8], e: &[u8]) -> Vec<u8> {
    der(0x30, &[der_uint(n), der_uint(e)].concat())
}

/// `SubjectPublicKeyInfo` with `rsaEncryption` (RFC 5280 §4.1.2.7, RFC 3279 §2.3.1).
fn spki(pkcs1: &[u8]) -> Vec<u8> {
    let rsa_encryption = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    let algorithm = der(0x30, &[der(0x06, &rsa_encryption), der(0x05, &[])].concat());
    let key = der(0x03, &[&[0u8][..], pkcs1].concat());
    der(0x30, &[algorithm, key].concat())
}

/// RFC 7468 PEM, as OpenSSL writes it: 64-character lines, a final newline.
fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

// ---- the tests -------------------------------------------------------------------------------

#[tokio::test]
async fn every_forgery_is_refused_by_the_authorizer_with_its_own_error() {
    let issuer = demo().await;
    let authorizer = authorizer(&issuer).await;
    let valid = issuer
        .access_token()
        .client(CLIENT)
        .user("alice")
        .sign()
        .expect("a token");
    authorizer
        .authorize::<Value>(&valid)
        .await
        .expect("the control passes");

    use AuthErrorKind::*;
    let cases = [
        (Forgery::AlgNone, UnsignedToken),
        (Forgery::AlgNoneCapitalized, UnsignedToken),
        (Forgery::AlgNoneUppercase, UnsignedToken),
        (Forgery::Hs256WithPublicKey, SymmetricAlgorithm),
        (Forgery::Hs256WithSpkiPem, SymmetricAlgorithm),
        (Forgery::Hs256WithPkcs1Pem, SymmetricAlgorithm),
        (Forgery::Hs256WithSpkiDer, SymmetricAlgorithm),
        (Forgery::Hs256WithPkcs1Der, SymmetricAlgorithm),
        (Forgery::UnknownKid, UnknownKey),
        (Forgery::TamperedSignature, InvalidSignature),
        (Forgery::EmbeddedJwk, UnknownKey),
        (Forgery::JkuHeader, UnknownKey),
        (Forgery::X5uHeader, UnknownKey),
        (Forgery::IdTokenAsAccessToken, WrongTokenUse),
    ];
    for (forgery, kind) in cases {
        let token = forged(&issuer, forgery);
        let error = authorizer
            .authorize::<Value>(&token)
            .await
            .expect_err("a forgery is refused");
        assert_eq!(error.kind(), kind, "{forgery:?}");
    }
    // No URL a token named was fetched, by the authorizer or anything else.
    let fetched: Vec<String> = issuer
        .requests()
        .iter()
        .filter(|r| r.path().contains("/_forgery/"))
        .map(|r| r.path().to_owned())
        .collect();
    assert_eq!(fetched, Vec::<String>::new());
}

#[tokio::test]
async fn each_forgery_has_the_header_its_name_says() {
    let issuer = demo().await;
    let access_kid = issuer.current_kid(tokengate::mock::KeyUse::Access);
    let alg = |forgery| header(&forged(&issuer, forgery))["alg"].clone();
    assert_eq!(alg(Forgery::AlgNone), "none");
    assert_eq!(alg(Forgery::AlgNoneCapitalized), "None");
    assert_eq!(alg(Forgery::AlgNoneUppercase), "NONE");
    for forgery in [Forgery::AlgNone, Forgery::AlgNoneUppercase] {
        assert!(forged(&issuer, forgery).ends_with('.'), "{forgery:?}");
    }
    for forgery in [
        Forgery::Hs256WithPublicKey,
        Forgery::Hs256WithSpkiPem,
        Forgery::Hs256WithPkcs1Pem,
        Forgery::Hs256WithSpkiDer,
        Forgery::Hs256WithPkcs1Der,
    ] {
        let header = header(&forged(&issuer, forgery));
        assert_eq!(
            header,
            json!({"alg": "HS256", "kid": access_kid}),
            "{forgery:?}"
        );
    }
    // The ID token: the ID key, `token_use: id`, the client as `aud`, no `client_id`.
    let id = forged(&issuer, Forgery::IdTokenAsAccessToken);
    assert_eq!(
        header(&id)["kid"],
        issuer.current_kid(tokengate::mock::KeyUse::Id)
    );
    let claims = payload(&id);
    assert_eq!(claims["token_use"], "id");
    assert_eq!(claims["aud"], CLIENT);
    assert_eq!(claims["cognito:username"], "alice");
    assert!(claims.get("client_id").is_none(), "{claims}");
}

#[tokio::test]
async fn hmac_forgeries_verify_under_the_bytes_a_confused_verifier_holds() {
    let issuer = demo().await;
    let (status, jwks) = get(&issuer.jwks_uri()).await;
    assert_eq!(status, 200);
    let jwks: Value = serde_json::from_str(&jwks).expect("JSON");
    let kid = issuer.current_kid(tokengate::mock::KeyUse::Access);
    let jwk = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("the access key")
        .clone();
    let component = |name: &str| {
        URL_SAFE_NO_PAD
            .decode(jwk[name].as_str().expect("a component"))
            .expect("base64url")
    };
    let pkcs1_der = pkcs1(&component("n"), &component("e"));
    let spki_der = spki(&pkcs1_der);
    // These bytes are the published key: a real token verifies under each encoding.
    let (input, signature) = {
        let valid = issuer.access_token().client(CLIENT).sign().expect("token");
        let (input, signature) = signing_input_and_signature(&valid);
        (input.to_owned(), signature)
    };
    for der in [&pkcs1_der, &spki_der] {
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der)
            .verify(input.as_bytes(), &signature)
            .expect("the published key, as DER");
    }
    let secrets = [
        (Forgery::Hs256WithPublicKey, jwk.to_string().into_bytes()),
        (
            Forgery::Hs256WithSpkiPem,
            pem("PUBLIC KEY", &spki_der).into_bytes(),
        ),
        (
            Forgery::Hs256WithPkcs1Pem,
            pem("RSA PUBLIC KEY", &pkcs1_der).into_bytes(),
        ),
        (Forgery::Hs256WithSpkiDer, spki_der.clone()),
        (Forgery::Hs256WithPkcs1Der, pkcs1_der.clone()),
    ];
    for (forgery, secret) in &secrets {
        let token = forged(&issuer, *forgery);
        let (input, signature) = signing_input_and_signature(&token);
        for (other, other_secret) in &secrets {
            let verified = hmac::verify(
                &hmac::Key::new(hmac::HMAC_SHA256, other_secret),
                input.as_bytes(),
                &signature,
            );
            // Under its own bytes only: the five are five different attacks.
            assert_eq!(
                verified.is_ok(),
                forgery == other,
                "{forgery:?} under {other:?}"
            );
        }
        // And a second JOSE implementation agrees.
        let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.validate_aud = false;
        jsonwebtoken::decode::<Value>(&token, &DecodingKey::from_secret(secret), &validation)
            .unwrap_or_else(|e| panic!("{forgery:?}: {e}"));
    }
    let spki_pem = pem("PUBLIC KEY", &spki_der);
    assert!(
        spki_pem.starts_with(
            "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"
        )
    );
}

#[tokio::test]
async fn header_key_forgeries_really_verify_under_the_attackers_key_they_name() {
    let issuer = demo().await;
    let jku_url = format!("{}/_forgery/jwks.json", issuer.issuer());
    // No attacker key before a forgery makes one; a request never makes one.
    assert_eq!(get(&jku_url).await.0, 404);

    let mut validation = Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_issuer(&[issuer.issuer()]);
    validation.validate_aud = false;

    // `jwk`: the attacker's public key in the header, under its own kid.
    let embedded = forged(&issuer, Forgery::EmbeddedJwk);
    let head = header(&embedded);
    let attacker_kid = head["kid"].as_str().expect("a kid").to_owned();
    assert_eq!(head["jwk"]["kid"], attacker_kid.as_str());
    assert!(!issuer.kids().contains(&attacker_kid));
    let jwk: Jwk = serde_json::from_value(head["jwk"].clone()).expect("a JWK");
    jsonwebtoken::decode::<Value>(
        &embedded,
        &DecodingKey::from_jwk(&jwk).expect("an RSA key"),
        &validation,
    )
    .expect("a verifier trusting the embedded key accepts it");

    // `jku`: under the issuer's path, serving the same attacker key.
    let jku = forged(&issuer, Forgery::JkuHeader);
    let head = header(&jku);
    assert_eq!(head["jku"], jku_url.as_str());
    assert!(jku_url.starts_with(issuer.issuer()));
    assert_eq!(head["kid"], attacker_kid.as_str());
    let (status, set) = get(&jku_url).await;
    assert_eq!(status, 200);
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_str(&set).expect("a key set");
    let key = set.find(&attacker_kid).expect("the attacker's key");
    jsonwebtoken::decode::<Value>(
        &jku,
        &DecodingKey::from_jwk(key).expect("an RSA key"),
        &validation,
    )
    .expect("a verifier following jku accepts it");
    // The fetch shows in the request log.
    assert_eq!(
        issuer.request_count(&format!("{}/_forgery/jwks.json", issuer_path(&issuer))),
        2
    );

    // `x5u`: under the issuer's path too; the mock makes no certificate.
    let x5u = forged(&issuer, Forgery::X5uHeader);
    let head = header(&x5u);
    let x5u_url = head["x5u"].as_str().expect("an x5u");
    assert_eq!(x5u_url, format!("{}/_forgery/x5u.pem", issuer.issuer()));
    assert_eq!(head["kid"], attacker_kid.as_str());
    assert_eq!(get(x5u_url).await.0, 404);
    jsonwebtoken::decode::<Value>(
        &x5u,
        &DecodingKey::from_jwk(key).expect("an RSA key"),
        &validation,
    )
    .expect("signed by the attacker's key");
}

/// The issuer's path (`/us-east-1_tokengate`).
fn issuer_path(issuer: &MockIssuer) -> String {
    issuer
        .issuer()
        .strip_prefix(issuer.url())
        .expect("the issuer is on the mock's address")
        .to_owned()
}

#[tokio::test]
async fn the_admin_api_mints_each_forgery_by_its_snake_case_name() {
    let issuer = demo().await;
    let mint = |forgery: &'static str| {
        let url = format!("{}/_admin/tokens", issuer.url());
        async move {
            let response = reqwest::Client::new()
                .post(url)
                .header(CONTENT_TYPE, "application/json")
                .body(
                    json!({"kind": "access", "client_id": CLIENT, "username": "alice",
                           "forgery": forgery})
                    .to_string(),
                )
                .send()
                .await
                .expect("the admin API answers");
            let status = response.status().as_u16();
            let body: Value =
                serde_json::from_str(&response.text().await.expect("a body")).expect("JSON");
            (status, body)
        }
    };
    let header_of = |body: &Value| header(body["token"].as_str().expect("a token"));
    let (status, body) = mint("alg_none_capitalized").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(header_of(&body)["alg"], "None");
    let (_, body) = mint("hs256_with_pkcs1_der").await;
    assert_eq!(header_of(&body)["alg"], "HS256");
    let (_, body) = mint("jku_header").await;
    assert!(header_of(&body)["jku"].is_string(), "{body}");
    let (_, body) = mint("id_token_as_access_token").await;
    assert_eq!(
        payload(body["token"].as_str().expect("a token"))["token_use"],
        "id"
    );
    let (status, body) = mint("hs256_with_a_guess").await;
    assert_eq!(status, 400, "{body}");
}
