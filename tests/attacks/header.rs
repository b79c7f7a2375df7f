//! Attacks through the JOSE header: `alg: none`, HMAC keyed with a public key (algorithm
//! confusion), a `kid` naming a key of another type, unknown extensions, nested tokens, and
//! `alg` values built to trip the parser.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::hmac;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
use serde_json::{Value, json};
use tokengate::{Algorithm, AuthErrorKind::*};

use crate::support::b64;
use crate::{
    access, access_claims, attacker_ec, ec256, ec384, ed, header_of, junk_signed, refuses, rsa,
    sign_raw, std_b64, text, unb64,
};

const NONE_SPELLINGS: [&str; 4] = ["none", "None", "NONE", "nOnE"];

// ---- alg: none -------------------------------------------------------------------------------

#[tokio::test]
async fn alg_none_in_every_spelling_with_a_signature_segment() {
    let auth = access();
    let payload = text(&access_claims());
    for alg in NONE_SPELLINGS {
        let header = text(&json!({"alg": alg, "kid": rsa().kid}));
        // Junk bytes, and a real RS256 signature of the trusted key over the same input:
        // neither makes an unsigned token acceptable.
        refuses(&auth, &junk_signed(&header, &payload), UnsignedToken).await;
        refuses(
            &auth,
            &sign_raw(rsa(), Algorithm::RS256, &header, &payload),
            UnsignedToken,
        )
        .await;
    }
}

#[tokio::test]
async fn alg_none_in_every_spelling_without_a_signature() {
    let auth = access();
    let payload = b64(text(&access_claims()));
    for alg in NONE_SPELLINGS {
        for header in [json!({"alg": alg}), json!({"alg": alg, "kid": rsa().kid})] {
            let header = b64(text(&header));
            // The canonical unsigned form: an empty third segment.
            refuses(&auth, &format!("{header}.{payload}."), UnsignedToken).await;
            // No third segment at all is not a JWS.
            refuses(&auth, &format!("{header}.{payload}"), Malformed).await;
        }
    }
}

#[tokio::test]
async fn alg_none_as_the_empty_signature_of_a_validly_signed_token() {
    // Strip the signature of a token whose header names RS256: still unsigned.
    let token = rsa().token(&access_claims());
    let stripped = &token[..=token.rfind('.').expect("dot")];
    refuses(&access(), stripped, UnsignedToken).await;
}

// ---- HS* keyed with a public key (algorithm confusion) ------------------------------------------

fn der_len(len: usize) -> Vec<u8> {
    if len < 0x80 {
        return vec![u8::try_from(len).expect("short")];
    }
    let bytes: Vec<u8> = len
        .to_be_bytes()
        .into_iter()
        .skip_while(|b| *b == 0)
        .collect();
    let mut out = vec![0x80 | u8::try_from(bytes.len()).expect("len of len")];
    out.extend(bytes);
    out
}

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend(der_len(content.len()));
    out.extend_from_slice(content);
    out
}

fn der_uint(bytes: &[u8]) -> Vec<u8> {
    let bytes: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    let mut content = Vec::with_capacity(bytes.len() + 1);
    if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend(bytes);
    der(0x02, &content)
}

fn bit_string(content: &[u8]) -> Vec<u8> {
    let mut bits = vec![0u8];
    bits.extend_from_slice(content);
    der(0x03, &bits)
}

/// PKCS#1 `RSAPublicKey` DER (RFC 8017 §A.1.1).
fn rsa_pkcs1_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    der(0x30, &[der_uint(n), der_uint(e)].concat())
}

/// X.509 `SubjectPublicKeyInfo` DER of an RSA key (RFC 5280 §4.1, RFC 3279 §2.3.1).
fn rsa_spki_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    const RSA_ENCRYPTION: [u8; 11] = [
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
    ];
    let algorithm = der(0x30, &[&RSA_ENCRYPTION[..], &[0x05, 0x00]].concat());
    der(
        0x30,
        &[algorithm, bit_string(&rsa_pkcs1_der(n, e))].concat(),
    )
}

/// X.509 `SubjectPublicKeyInfo` DER of a P-256 point (RFC 5480 §2).
fn p256_spki_der(point: &[u8]) -> Vec<u8> {
    const EC_PUBLIC_KEY: [u8; 9] = [0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    const PRIME256V1: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    let algorithm = der(0x30, &[&EC_PUBLIC_KEY[..], &PRIME256V1[..]].concat());
    der(0x30, &[algorithm, bit_string(point)].concat())
}

/// PEM with 64-character lines, with a final newline.
fn pem(label: &str, der: &[u8]) -> String {
    let body = std_b64(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("ascii"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Every encoding of a public key an attacker might try as an HMAC secret: the text itself,
/// and without the final newline, CRLF line ends, and as one line.
fn pem_variants(label: &str, der: &[u8]) -> Vec<Vec<u8>> {
    let pem = pem(label, der);
    vec![
        pem.clone().into_bytes(),
        pem.trim_end().as_bytes().to_vec(),
        pem.replace('\n', "\r\n").into_bytes(),
        format!(
            "-----BEGIN {label}-----{}-----END {label}-----",
            std_b64(der)
        )
        .into_bytes(),
    ]
}

/// The trusted RSA key's `n` and `e`, from its JWK.
fn rsa_components() -> (Vec<u8>, Vec<u8>) {
    let jwk = rsa().jwk();
    (
        unb64(jwk["n"].as_str().expect("n")),
        unb64(jwk["e"].as_str().expect("e")),
    )
}

/// The trusted P-256 key's uncompressed point, from its JWK.
fn ec_point() -> Vec<u8> {
    let jwk = ec256().jwk();
    let mut point = vec![0x04];
    point.extend(unb64(jwk["x"].as_str().expect("x")));
    point.extend(unb64(jwk["y"].as_str().expect("y")));
    point
}

/// A token "signed" with `alg` (HS256/384/512) keyed with `secret`, naming the key `kid`.
fn hmac_token(alg: &str, kid: &str, secret: &[u8]) -> String {
    let algorithm = match alg {
        "HS256" => hmac::HMAC_SHA256,
        "HS384" => hmac::HMAC_SHA384,
        "HS512" => hmac::HMAC_SHA512,
        other => unreachable!("{other}"),
    };
    let input = format!(
        "{}.{}",
        b64(text(&json!({"alg": alg, "kid": kid, "typ": "JWT"}))),
        b64(text(&access_claims()))
    );
    let tag = hmac::sign(&hmac::Key::new(algorithm, secret), input.as_bytes());
    format!("{input}.{}", b64(tag.as_ref()))
}

/// Asserts every HS* token keyed with each secret is refused as symmetric.
async fn assert_symmetric_refused(kid: &str, secrets: &[Vec<u8>]) {
    let auth = access();
    for secret in secrets {
        for alg in ["HS256", "HS384", "HS512"] {
            let err = refuses(&auth, &hmac_token(alg, kid, secret), SymmetricAlgorithm).await;
            assert_eq!(err.claim_name(), None);
        }
    }
}

#[tokio::test]
async fn hs_signed_with_the_rsa_public_jwk_json_text() {
    let jwk = rsa().jwk();
    let secrets = vec![
        text(&jwk).into_bytes(),
        serde_json::to_string_pretty(&jwk)
            .expect("json")
            .into_bytes(),
        text(&rsa().jwk_without_alg()).into_bytes(),
        text(&json!({"keys": [jwk]})).into_bytes(),
    ];
    assert_symmetric_refused(&rsa().kid, &secrets).await;
}

#[tokio::test]
async fn hs_signed_with_the_rsa_public_key_pem_spki_and_pkcs1() {
    let (n, e) = rsa_components();
    let mut secrets = pem_variants("PUBLIC KEY", &rsa_spki_der(&n, &e));
    secrets.extend(pem_variants("RSA PUBLIC KEY", &rsa_pkcs1_der(&n, &e)));
    assert_symmetric_refused(&rsa().kid, &secrets).await;
}

#[tokio::test]
async fn hs_signed_with_the_rsa_public_key_der_spki_and_pkcs1() {
    let (n, e) = rsa_components();
    let secrets = vec![rsa_spki_der(&n, &e), rsa_pkcs1_der(&n, &e)];
    assert_symmetric_refused(&rsa().kid, &secrets).await;
}

#[tokio::test]
async fn hs_signed_with_the_raw_rsa_modulus() {
    let (n, e) = rsa_components();
    let jwk = rsa().jwk();
    let mut with_zero = vec![0u8];
    with_zero.extend(&n);
    let secrets = vec![
        n.clone(),
        with_zero,
        [n.as_slice(), e.as_slice()].concat(),
        jwk["n"].as_str().expect("n").as_bytes().to_vec(),
    ];
    assert_symmetric_refused(&rsa().kid, &secrets).await;
}

#[tokio::test]
async fn hs_signed_with_an_ec_public_key() {
    let point = ec_point();
    let spki = p256_spki_der(&point);
    let mut secrets = vec![
        point.clone(),
        point[1..].to_vec(),
        spki.clone(),
        text(&ec256().jwk()).into_bytes(),
    ];
    secrets.extend(pem_variants("PUBLIC KEY", &spki));
    assert_symmetric_refused(&ec256().kid, &secrets).await;
}

#[test]
fn the_hand_built_public_key_encodings_are_the_real_ones() {
    // The encodings above are only an attack if they are what a library would hand out:
    // compare them with aws-lc-rs's own for fresh keys.
    let rsa = RsaKeyPair::generate(KeySize::Rsa2048).expect("rsa keygen");
    let public = rsa.public_key();
    let n = public.modulus().big_endian_without_leading_zero().to_vec();
    let e = public.exponent().big_endian_without_leading_zero().to_vec();
    assert_eq!(rsa_pkcs1_der(&n, &e), public.as_ref());
    let x509 = public.as_der().expect("spki");
    assert_eq!(rsa_spki_der(&n, &e), x509.as_ref());

    let ec = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).expect("p256");
    let x509 = ec.public_key().as_der().expect("spki");
    assert_eq!(p256_spki_der(ec.public_key().as_ref()), x509.as_ref());
}

#[tokio::test]
async fn hmac_alg_in_other_cases_is_still_symmetric() {
    let auth = access();
    let payload = text(&access_claims());
    for alg in ["hs256", "Hs384", "hS512", "HS999"] {
        let header = text(&json!({"alg": alg, "kid": rsa().kid}));
        refuses(&auth, &junk_signed(&header, &payload), SymmetricAlgorithm).await;
    }
}

// ---- kid naming a key of another type ----------------------------------------------------------

#[tokio::test]
async fn kid_of_the_rsa_key_with_an_es256_header() {
    // A real ES256 signature (by the attacker's key) over a header naming the RSA key.
    let header = json!({"alg": "ES256", "kid": rsa().kid});
    let token = attacker_ec().sign_token(&header, &access_claims());
    refuses(&access(), &token, NoMatchingKey).await;
    // And with the trusted P-256 key's own signature: the RSA kid still does not fit ES256.
    let token = ec256().sign_token(&header, &access_claims());
    refuses(&access(), &token, NoMatchingKey).await;
}

#[tokio::test]
async fn kid_of_the_p384_key_with_an_es256_header() {
    let header = json!({"alg": "ES256", "kid": ec384().kid});
    let token = ec256().sign_token(&header, &access_claims());
    refuses(&access(), &token, NoMatchingKey).await;
}

#[tokio::test]
async fn kid_of_an_ec_or_okp_key_with_an_rsa_header() {
    for kid in [&ec256().kid, &ec384().kid, &ed().kid] {
        let header = json!({"alg": "RS256", "kid": kid});
        let token = rsa().sign_token(&header, &access_claims());
        refuses(&access(), &token, NoMatchingKey).await;
    }
    // EdDSA naming the P-256 key.
    let header = json!({"alg": "EdDSA", "kid": ec256().kid});
    let token = ed().sign_token(&header, &access_claims());
    refuses(&access(), &token, NoMatchingKey).await;
}

#[tokio::test]
async fn kid_of_a_trusted_key_with_a_signature_by_the_attacker() {
    let token = attacker_ec().sign_token(&header_of(ec256()), &access_claims());
    refuses(&access(), &token, InvalidSignature).await;
}

// ---- header extensions -----------------------------------------------------------------------

/// A header of `key` with `extra` merged in, signed by `key` over valid access claims.
fn signed_with_header(extra: Value) -> String {
    let mut header = header_of(rsa());
    for (name, value) in extra.as_object().expect("object") {
        header[name] = value.clone();
    }
    rsa().sign_token(&header, &access_claims())
}

#[tokio::test]
async fn crit_naming_an_unknown_extension() {
    for crit in [json!(["exp"]), json!(["x-evil"]), json!(["b64"])] {
        let token = signed_with_header(json!({"crit": crit, "x-evil": true}));
        let err = refuses(&access(), &token, UnsupportedHeader).await;
        assert_eq!(err.claim_name(), Some("crit"));
    }
}

#[tokio::test]
async fn crit_that_is_empty_or_not_an_array() {
    for crit in [json!([]), json!(null), json!("exp"), json!({}), json!(0)] {
        let token = signed_with_header(json!({ "crit": crit }));
        let err = refuses(&access(), &token, UnsupportedHeader).await;
        assert_eq!(err.claim_name(), Some("crit"), "{crit}");
    }
}

#[tokio::test]
async fn b64_false_unencoded_payload() {
    let token = signed_with_header(json!({"b64": false, "crit": ["b64"]}));
    refuses(&access(), &token, UnsupportedHeader).await;
    let token = signed_with_header(json!({"b64": false}));
    let err = refuses(&access(), &token, UnsupportedHeader).await;
    assert_eq!(err.claim_name(), Some("b64"));
    // `b64` that is not a boolean is a malformed header.
    let token = signed_with_header(json!({"b64": "false"}));
    refuses(&access(), &token, Malformed).await;
}

#[tokio::test]
async fn nested_jwt_cty_jwt() {
    for cty in [
        "JWT",
        "jwt",
        "application/jwt",
        "Application/JWT",
        "APPLICATION/jwt",
    ] {
        let token = signed_with_header(json!({ "cty": cty }));
        refuses(&access(), &token, NestedToken).await;
    }
}

#[tokio::test]
async fn nested_jwt_whose_payload_is_another_token() {
    // The inner token is valid; wrapping it must not make the outer one acceptable.
    let inner = rsa().token(&access_claims());
    let outer = sign_raw(
        rsa(),
        Algorithm::RS256,
        text(&json!({"alg": "RS256", "kid": rsa().kid, "cty": "JWT"})),
        &inner,
    );
    refuses(&access(), &outer, NestedToken).await;
    // Without `cty`, the payload is not a JSON object: malformed.
    let outer = sign_raw(rsa(), Algorithm::RS256, text(&header_of(rsa())), &inner);
    refuses(&access(), &outer, Malformed).await;
}

// ---- alg values that trip a parser -----------------------------------------------------------

#[tokio::test]
async fn alg_with_multibyte_characters_is_unsupported_not_a_panic() {
    // Five bytes, the second not a character boundary: a naive `alg[..2] == "HS"` panics.
    let auth = access();
    let payload = text(&access_claims());
    for alg in ["hé12", "Hé25", "€12", "h€1", "\u{1F600}x"] {
        let header = text(&json!({"alg": alg, "kid": rsa().kid}));
        refuses(&auth, &junk_signed(&header, &payload), UnsupportedAlgorithm).await;
    }
}

#[tokio::test]
async fn alg_look_alikes_are_unsupported() {
    let auth = access();
    let payload = text(&access_claims());
    for alg in [
        "rs256",
        "RS256 ",
        " RS256",
        "RS256\u{0}",
        "ＲＳ256",
        "RS-256",
        "",
        "none ",
        "nonе", // Cyrillic 'е'
    ] {
        let header = text(&json!({"alg": alg, "kid": rsa().kid}));
        let token = sign_raw(rsa(), Algorithm::RS256, &header, &payload);
        refuses(&auth, &token, UnsupportedAlgorithm).await;
    }
}

#[tokio::test]
async fn alg_of_the_wrong_json_type_or_missing() {
    let auth = access();
    let payload = text(&access_claims());
    for header in [
        json!({"alg": ["RS256"], "kid": rsa().kid}),
        json!({"alg": null, "kid": rsa().kid}),
        json!({"alg": 256, "kid": rsa().kid}),
        json!({"kid": rsa().kid}),
    ] {
        let token = sign_raw(rsa(), Algorithm::RS256, text(&header), &payload);
        refuses(&auth, &token, Malformed).await;
    }
}

#[tokio::test]
async fn duplicate_alg_in_the_header() {
    // A parser differential: one reader takes the first `alg`, another the last.
    let payload = text(&access_claims());
    for header in [
        format!(r#"{{"alg":"none","alg":"RS256","kid":"{}"}}"#, rsa().kid),
        format!(r#"{{"alg":"RS256","alg":"HS256","kid":"{}"}}"#, rsa().kid),
        format!(r#"{{"alg":"RS256","kid":"{}","kid":"other"}}"#, rsa().kid),
    ] {
        let token = sign_raw(rsa(), Algorithm::RS256, &header, &payload);
        refuses(&access(), &token, Malformed).await;
    }
}

// ---- token type and algorithm policy ---------------------------------------------------------

#[tokio::test]
async fn token_of_another_type_by_typ() {
    // RFC 8725 §3.11: a DPoP proof, a logout token or an ID token of another profile, validly
    // signed by the issuer's key, is not an access token.
    for typ in [
        "dpop+jwt",
        "logout+jwt",
        "secevent+jwt",
        "JWS",
        "jwt ",
        "at+jwt+x",
        "",
    ] {
        let token = signed_with_header(json!({ "typ": typ }));
        let err = refuses(&access(), &token, WrongTokenType).await;
        assert_eq!(err.claim_name(), Some("typ"), "{typ}");
    }
    // An RFC 9068 authorizer refuses a plain JWT.
    let rfc = tokengate::Authorizer::builder(tokengate::Profile::rfc9068())
        .issuer(crate::support::ISSUER)
        .audience(crate::support::AUDIENCE)
        .keys(crate::trusted())
        .clock(tokengate::ManualClock::new(crate::T0))
        .build();
    for typ in [json!("JWT"), json!(null)] {
        let token = signed_with_header(json!({ "typ": typ }));
        refuses(&rfc, &token, WrongTokenType).await;
    }
    // `typ` of the wrong JSON type is a malformed header.
    let token = signed_with_header(json!({ "typ": ["at+jwt"] }));
    refuses(&access(), &token, Malformed).await;
}

#[tokio::test]
async fn algorithm_outside_the_allowlist_with_a_key_that_fits() {
    // A P-521 key is in the set, but ES512 is not allowed by default.
    let p521 = crate::support::TestKey::generate(Algorithm::ES512, "p521");
    let auth = crate::access_builder(crate::keyset(&[&p521, rsa()])).build();
    refuses(&auth, &p521.token(&access_claims()), DisallowedAlgorithm).await;
    // An allowlist of RS256 only refuses a PS256 signature by the same RSA key.
    let only_rs256 = crate::access_builder(crate::keyset(&[rsa()]))
        .algorithms(tokengate::AlgorithmSet::from_iter([Algorithm::RS256]))
        .build();
    let header = json!({"alg": "PS256", "kid": rsa().kid});
    let token = rsa().sign_token(&header, &access_claims());
    refuses(&only_rs256, &token, DisallowedAlgorithm).await;
}
