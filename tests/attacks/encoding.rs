//! Attacks on the compact serialization: transplanted and truncated signatures, base64
//! variants, wrong segment counts, and segments that decode to something other than a JSON
//! object.

use serde_json::json;
use tokengate::{Algorithm, AuthErrorKind::*};

use crate::support::b64;
use crate::{
    access, access_claims, attacker_rsa, ec256, header_of, refuses, rsa, segments, sign_raw, text,
    with,
};

// ---- signatures --------------------------------------------------------------------------------

#[tokio::test]
async fn signature_moved_from_another_valid_token() {
    let auth = access();
    let victim = rsa().token(&access_claims());
    let [_, _, victim_sig] = segments(&victim);
    // The attacker's own claims (another user, every scope) under the victim's signature.
    let forged = rsa().token(&with(access_claims(), "username", json!("mallory")));
    let [header, payload, _] = segments(&forged);
    refuses(
        &auth,
        &format!("{header}.{payload}.{victim_sig}"),
        InvalidSignature,
    )
    .await;
    // The same header and payload under a signature from a token of another key and alg.
    let other = ec256().token(&access_claims());
    let [_, _, ec_sig] = segments(&other);
    let [header, payload, _] = segments(&victim);
    refuses(
        &auth,
        &format!("{header}.{payload}.{ec_sig}"),
        InvalidSignature,
    )
    .await;
    // And a header swapped under a valid payload and signature.
    let [_, payload, sig] = segments(&victim);
    let header = b64(text(
        &json!({"alg": "RS256", "kid": rsa().kid, "typ": "JWT"}),
    ));
    refuses(
        &auth,
        &format!("{header}.{payload}.{sig}"),
        InvalidSignature,
    )
    .await;
}

#[tokio::test]
async fn truncated_signature() {
    let auth = access();
    let token = rsa().token(&access_claims());
    let [header, payload, sig] = segments(&token);
    // 256 bytes are 342 characters; 341 is not a base64 length at all.
    assert_eq!(sig.len(), 342);
    refuses(
        &auth,
        &format!("{header}.{payload}.{}", &sig[..341]),
        Malformed,
    )
    .await;
    // 340 characters decode to 255 bytes: a well-formed but wrong signature (cuts on
    // four-character boundaries, so the base64 itself stays canonical).
    for keep in [340, 172, 4] {
        let truncated = format!("{header}.{payload}.{}", &sig[..keep]);
        refuses(&auth, &truncated, InvalidSignature).await;
    }
    // An ECDSA signature cut short is refused before any maths.
    let token = ec256().token(&access_claims());
    let [header, payload, sig] = segments(&token);
    for keep in [84, 44, 4] {
        let truncated = format!("{header}.{payload}.{}", &sig[..keep]);
        refuses(&auth, &truncated, InvalidSignature).await;
    }
}

#[tokio::test]
async fn signature_extended_or_oversized() {
    let auth = access();
    let token = rsa().token(&access_claims());
    let [header, payload, sig] = segments(&token);
    // Trailing bytes after a valid signature.
    let longer = format!("{header}.{payload}.{}AAAA", sig);
    refuses(&auth, &longer, InvalidSignature).await;
    // Longer than any supported signature (RSA-8192, 1024 bytes).
    let huge = format!("{header}.{payload}.{}", b64([1u8; 1100]));
    refuses(&auth, &huge, Malformed).await;
}

// ---- base64 ------------------------------------------------------------------------------------

/// Base64url with `=` padding to a multiple of four.
fn padded(segment: &str) -> String {
    let mut s = segment.to_owned();
    while !s.len().is_multiple_of(4) {
        s.push('=');
    }
    s
}

#[tokio::test]
async fn padded_base64_segments() {
    let auth = access();
    // A header and payload whose lengths need padding.
    let header = text(&json!({"alg": "RS256", "kid": rsa().kid, "x": "a"}));
    let payload = text(&with(access_claims(), "p", json!("ab")));
    let token = sign_raw(rsa(), Algorithm::RS256, &header, &payload);
    let [h, p, s] = segments(&token);
    assert!(![&h, &p, &s].iter().any(|x| x.len().is_multiple_of(4)));
    for bad in [
        format!("{}.{p}.{s}", padded(&h)),
        format!("{h}.{}.{s}", padded(&p)),
        format!("{h}.{p}.{}", padded(&s)),
        format!("{h}.{p}.{s}="),
        format!("{h}.{p}.{s}=="),
    ] {
        refuses(&auth, &bad, Malformed).await;
    }
}

#[tokio::test]
async fn non_base64url_characters() {
    let auth = access();
    let token = rsa().token(&access_claims());
    let [h, p, s] = segments(&token);
    for c in ['+', '/', ' ', '\t', '%', '*', 'é', '\u{0}'] {
        for (i, bad) in [
            format!("{c}{}.{p}.{s}", &h[1..]),
            format!("{h}.{}{c}.{s}", &p[..p.len() - 1]),
            format!("{h}.{p}.{}{c}", &s[..s.len() - 1]),
            format!("{h}.{p}.{c}{s}"),
        ]
        .iter()
        .enumerate()
        {
            let err = access().authorize::<()>(bad).await.unwrap_err();
            assert_eq!(err.kind(), Malformed, "{c:?} in segment {i}: {err}");
        }
    }
    // A space or newline between segments.
    for bad in [
        format!("{h} .{p}.{s}"),
        format!("{h}.\n{p}.{s}"),
        format!(" {h}.{p}.{s}"),
    ] {
        refuses(&auth, &bad, Malformed).await;
    }
}

#[tokio::test]
async fn standard_base64_alphabet_of_the_same_bytes() {
    // The same signature bytes in the standard alphabet (`+` `/`) are not base64url.
    let auth = access();
    // Find a token whose signature needs `-` or `_` in base64url.
    for i in 0..64 {
        let token = rsa().token(&with(access_claims(), "n", json!(i)));
        let [h, p, s] = segments(&token);
        if s.contains(['-', '_']) {
            let standard = s.replace('-', "+").replace('_', "/");
            refuses(&auth, &format!("{h}.{p}.{standard}"), Malformed).await;
            return;
        }
    }
    panic!("no signature with - or _ in 64 tries");
}

// ---- segments ----------------------------------------------------------------------------------

#[tokio::test]
async fn extra_segments() {
    let auth = access();
    let token = rsa().token(&access_claims());
    let [h, p, s] = segments(&token);
    for bad in [
        format!("{token}.{s}"),
        format!("{token}."),
        format!("{token}.{s}.{s}"),
        format!("{token}.."),
        format!("{h}.{p}.{p}.{s}"),
        format!("{h}.{h}.{p}.{s}"),
    ] {
        refuses(&auth, &bad, Malformed).await;
    }
}

#[tokio::test]
async fn empty_segments() {
    let auth = access();
    let token = rsa().token(&access_claims());
    let [h, p, s] = segments(&token);
    for bad in [
        format!(".{p}.{s}"),
        format!("{h}..{s}"),
        format!("..{s}"),
        "..".to_owned(),
        ".".to_owned(),
        String::new(),
        format!("{h}.{p}"),
        h.clone(),
    ] {
        refuses(&auth, &bad, Malformed).await;
    }
    // An empty signature is what `alg: none` produces.
    refuses(&auth, &format!("{h}.{p}."), UnsignedToken).await;
}

// ---- segments that are not JSON objects -------------------------------------------------------

const NOT_OBJECTS: [&str; 9] = [
    r#"["RS256"]"#,
    r#""RS256""#,
    "256",
    "null",
    "true",
    "",
    " ",
    "{",
    "{}}",
];

#[tokio::test]
async fn header_that_is_an_array_string_number_or_null() {
    let auth = access();
    let payload = text(&access_claims());
    for header in NOT_OBJECTS {
        if header.is_empty() {
            continue; // an empty segment: covered by `empty_segments`
        }
        let token = sign_raw(rsa(), Algorithm::RS256, header, &payload);
        refuses(&auth, &token, Malformed).await;
    }
    // An array with the fields of a header in order: serde's derive reads structs from
    // sequences, a JOSE header must be an object.
    let token = sign_raw(rsa(), Algorithm::RS256, r#"["RS256","rsa-1"]"#, &payload);
    refuses(&auth, &token, Malformed).await;
}

#[tokio::test]
async fn payload_that_is_an_array_string_number_or_null() {
    let auth = access();
    let header = text(&header_of(rsa()));
    for payload in NOT_OBJECTS {
        if payload.is_empty() {
            continue;
        }
        // Validly signed by the trusted key: only the shape is wrong. What does not start as
        // an object is malformed; an object that does not parse is a malformed claims set.
        let kind = if payload.starts_with('{') {
            MalformedClaim
        } else {
            Malformed
        };
        let token = sign_raw(rsa(), Algorithm::RS256, &header, payload);
        refuses(&auth, &token, kind).await;
    }
    // Not starting as an object: refused as malformed before any key is looked up.
    for payload in [r#"["a"]"#, r#""x""#, "1", "null", "true", " "] {
        let token = sign_raw(attacker_rsa(), Algorithm::RS256, &header, payload);
        refuses(&auth, &token, Malformed).await;
    }
    // The fields of a claims set as an array (serde's derive would read a struct from it).
    let claims = access_claims();
    let array = json!([claims["iss"], claims["sub"]]);
    let token = sign_raw(rsa(), Algorithm::RS256, &header, text(&array));
    refuses(&auth, &token, Malformed).await;
}

/// `text` with the first `from` replaced by the raw bytes `to`.
fn splice(text: &str, from: &str, to: &[u8]) -> Vec<u8> {
    let (before, after) = text.split_once(from).expect("present");
    [before.as_bytes(), to, after.as_bytes()].concat()
}

#[tokio::test]
async fn header_with_invalid_utf8() {
    let auth = access();
    let payload = text(&access_claims());
    let header = text(&header_of(rsa()));
    for bytes in [
        splice(&header, "\"rsa-1\"", b"\"rsa-1\xff\""),
        splice(&header, "\"RS256\"", b"\"RS\xc3256\""),
        splice(&header, "\"rsa-1\"", b"\"\xed\xa0\x80\""), // a UTF-16 surrogate
        [&b"\xef\xbb\xbf"[..], header.as_bytes()].concat(), // a byte-order mark
    ] {
        // Signed by the trusted key: only the encoding is wrong.
        let token = sign_raw(rsa(), Algorithm::RS256, &bytes, &payload);
        refuses(&auth, &token, Malformed).await;
    }
}

#[tokio::test]
async fn header_with_invalid_utf8_in_an_unknown_parameter() {
    // RFC 7515 §5.2 step 4: the header must be a UTF-8 encoded, completely valid JSON object,
    // whatever parameters the implementation reads.
    let auth = access();
    let payload = text(&access_claims());
    let header = text(&json!({"alg": "RS256", "kid": rsa().kid, "x": "-"}));
    for bad in [
        &b"\xff"[..],
        b"\xc3",
        b"\xed\xa0\x80",
        b"\xf8\x88\x80\x80\x80",
    ] {
        let bytes = splice(&header, "\"-\"", &[b"\"", bad, b"\""].concat());
        let token = sign_raw(rsa(), Algorithm::RS256, &bytes, &payload);
        refuses(&auth, &token, Malformed).await;
    }
}

#[tokio::test]
async fn payload_with_invalid_utf8() {
    let auth = access();
    let header = text(&header_of(rsa()));
    let good = text(&access_claims());
    // Validly signed: the signature passes, the claims cannot be read.
    for payload in [
        splice(&good, "\"alice\"", b"\"al\xffce\""),
        splice(&good, "\"access\"", b"\"acc\xc3ss\""),
        splice(&good, "\"alice\"", b"\"\xed\xa0\x80\""),
    ] {
        let token = sign_raw(rsa(), Algorithm::RS256, &header, &payload);
        refuses(&auth, &token, MalformedClaim).await;
    }
    // A byte-order mark before the object: not an object.
    let token = sign_raw(
        rsa(),
        Algorithm::RS256,
        &header,
        [&b"\xef\xbb\xbf"[..], good.as_bytes()].concat(),
    );
    refuses(&auth, &token, Malformed).await;
}

#[tokio::test]
async fn payload_with_invalid_utf8_in_an_unknown_claim() {
    // RFC 7519 §7.2 step 10: the claims set must be UTF-8 encoded, completely valid JSON,
    // including the claims this library does not read.
    let auth = access();
    let header = text(&header_of(rsa()));
    let good = text(&access_claims());
    for bad in [&b"\xff"[..], b"\xc3", b"\xed\xa0\x80"] {
        let payload = splice(&good, "\"f1e2d3c4\"", &[b"\"", bad, b"\""].concat());
        let token = sign_raw(rsa(), Algorithm::RS256, &header, &payload);
        refuses(&auth, &token, MalformedClaim).await;
    }
}

#[tokio::test]
async fn duplicate_claims_in_the_payload() {
    // Which `iss`, `exp` or `client_id` counts? Neither: the claims are refused.
    let auth = access();
    let header = text(&header_of(rsa()));
    let good = text(&access_claims());
    let body = &good[1..];
    for dup in [
        r#""iss":"https://evil.example","#,
        r#""exp":99999999999,"#,
        r#""client_id":"other","#,
        r#""token_use":"id","#,
        r#""scope":"admin","#,
    ] {
        let payload = format!("{{{dup}{body}");
        let token = sign_raw(rsa(), Algorithm::RS256, &header, &payload);
        refuses(&auth, &token, MalformedClaim).await;
    }
}
