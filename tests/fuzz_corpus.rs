//! Replays the fuzz corpus on the stable toolchain: every file of `fuzz/corpus/<target>/`
//! (and of `fuzz/artifacts/<target>/`, where a fuzzer left crashing inputs) goes through the
//! same function of `tokengate::fuzzing` as the fuzz target, so a crash once found stays
//! fixed, and CI needs no nightly. Run with `cargo test --all-features --test fuzz_corpus`.
#![cfg(feature = "fuzzing")]

use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

/// The files of one directory, sorted; none when it does not exist.
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs every corpus and artifact file of `target` through `run`; fails naming each input
/// that panicked.
fn replay(target: &str, run: fn(&[u8])) {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let corpus = files(&fuzz.join("corpus").join(target));
    assert!(
        !corpus.is_empty(),
        "fuzz/corpus/{target}/ is empty or missing"
    );
    let artifacts = files(&fuzz.join("artifacts").join(target));
    let mut failed = Vec::new();
    for path in corpus.iter().chain(&artifacts) {
        let data = fs::read(path).expect("readable corpus file");
        if catch_unwind(AssertUnwindSafe(|| run(&data))).is_err() {
            failed.push(path.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{target}: {} of {} inputs panicked: {failed:#?}",
        failed.len(),
        corpus.len() + artifacts.len()
    );
}

#[test]
fn authorize_corpus() {
    replay("authorize", tokengate::fuzzing::authorize);
}

#[test]
fn authorization_header_corpus() {
    replay(
        "authorization_header",
        tokengate::fuzzing::authorization_header,
    );
}

#[test]
fn jwks_corpus() {
    replay("jwks", tokengate::fuzzing::jwks);
}

#[test]
fn discovery_corpus() {
    replay("discovery", tokengate::fuzzing::discovery);
}

#[test]
fn claims_corpus() {
    replay("claims", tokengate::fuzzing::claims);
}

#[cfg(feature = "mock")]
#[test]
fn mock_token_corpus() {
    replay("mock_token", tokengate::fuzzing::mock_token);
}

#[cfg(feature = "mock")]
#[test]
fn differential_corpus() {
    replay("differential", tokengate::fuzzing::differential);
}

/// The seed tokens signed by the trusted keys are accepted: the `authorize` target reaches
/// past the signature, and its list of signed inputs matches the corpus.
#[test]
fn seed_tokens_signed_by_the_trusted_keys_are_accepted() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/authorize");
    for name in ["eddsa_valid", "es256_valid", "rs256_valid", "ps256_valid"] {
        let token = fs::read_to_string(dir.join(name)).expect("seed token");
        let authorizer = tokengate::Authorizer::builder(tokengate::Profile::cognito_access())
            .issuer(tokengate::fuzzing::COGNITO_ISSUER)
            .client_id(tokengate::fuzzing::CLIENT_ID)
            .keys(
                tokengate::KeySet::from_jwks_json(tokengate::fuzzing::TRUSTED_JWKS.as_bytes())
                    .expect("keys"),
            )
            .clock(tokengate::ManualClock::new(tokengate::fuzzing::NOW))
            .build();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        runtime
            .block_on(authorizer.authorize::<()>(&token))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

/// The differential target's harness agrees with `jsonwebtoken` on tokens both must accept
/// or refuse, and where tokengate is stricter than `jsonwebtoken` — the list SECURITY.md
/// gives — tokengate refuses and `jsonwebtoken` accepts. A change on either side that moves
/// a case fails here.
#[cfg(feature = "mock")]
#[test]
fn where_tokengate_is_stricter_than_jsonwebtoken() {
    use serde_json::{Value, json};
    use tokengate::AuthErrorKind;
    use tokengate::fuzzing::{DIFFERENTIAL_AUDIENCE, DIFFERENTIAL_ISSUER, verdicts};

    const RS256: u8 = 0;
    const ES256: u8 = 6;
    let payload = |changes: Value| {
        let mut claims = json!({
            "iss": DIFFERENTIAL_ISSUER,
            "aud": DIFFERENTIAL_AUDIENCE,
            "exp": 4_102_444_800_u64,
            "iat": 1_700_000_000_u64,
            "sub": "user-1",
            "scope": "read write",
        });
        for (name, value) in changes.as_object().expect("an object") {
            if value.is_null() {
                claims.as_object_mut().expect("an object").remove(name);
            } else {
                claims[name] = value.clone();
            }
        }
        claims.to_string().into_bytes()
    };
    let header = |json: Value| json.to_string().into_bytes();
    /// A header of the test's own, or the harness's.
    type OwnHeader = Option<Vec<u8>>;
    let both_accept: Vec<(&str, u8, OwnHeader, Vec<u8>)> = vec![
        ("RS256", RS256, None, payload(json!({}))),
        ("PS512", 5, None, payload(json!({}))),
        ("ES256", ES256, None, payload(json!({}))),
        ("EdDSA", 7, None, payload(json!({}))),
        (
            "an aud array",
            RS256,
            None,
            payload(json!({"aud": [DIFFERENTIAL_AUDIENCE, "x"]})),
        ),
        (
            "a fractional exp",
            RS256,
            None,
            payload(json!({"exp": 4_102_444_800.5})),
        ),
        (
            "exp on the last day of 9999",
            RS256,
            None,
            payload(json!({"exp": 253_402_300_799_u64})),
        ),
        (
            "typ JWT",
            RS256,
            Some(header(json!({"alg": "RS256", "kid": "rsa", "typ": "JWT"}))),
            payload(json!({})),
        ),
        (
            "no kid",
            ES256,
            Some(header(json!({"alg": "ES256"}))),
            payload(json!({})),
        ),
    ];
    for (case, select, header, payload) in both_accept {
        let v = verdicts(select, header.as_deref(), &payload);
        assert_eq!((v.tokengate, v.jsonwebtoken), (Ok(()), Ok(())), "{case}");
    }
    let both_refuse: Vec<(&str, Vec<u8>)> = vec![
        ("expired", payload(json!({"exp": 1_700_000_000_u64}))),
        (
            "another issuer",
            payload(json!({"iss": "https://other.example"})),
        ),
        ("no aud", payload(json!({"aud": null}))),
        ("no exp", payload(json!({"exp": null}))),
        ("a duplicated exp", {
            let mut p = payload(json!({}));
            p.pop();
            p.extend_from_slice(br#","exp":1}"#);
            p
        }),
    ];
    for (case, payload) in both_refuse {
        let v = verdicts(RS256, None, &payload);
        assert!(
            v.tokengate.is_err() && v.jsonwebtoken.is_err(),
            "{case}: {v:?}"
        );
    }
    // Where tokengate is stricter: SECURITY.md lists these.
    let stricter: Vec<(&str, OwnHeader, Vec<u8>, AuthErrorKind)> = vec![
        (
            "crit",
            Some(header(
                json!({"alg": "RS256", "kid": "rsa", "crit": ["exp"]}),
            )),
            payload(json!({})),
            AuthErrorKind::UnsupportedHeader,
        ),
        (
            "b64: false",
            Some(header(json!({"alg": "RS256", "kid": "rsa", "b64": false}))),
            payload(json!({})),
            AuthErrorKind::UnsupportedHeader,
        ),
        (
            "cty: JWT",
            Some(header(json!({"alg": "RS256", "kid": "rsa", "cty": "JWT"}))),
            payload(json!({})),
            AuthErrorKind::NestedToken,
        ),
        (
            "typ other than JWT or at+jwt",
            Some(header(
                json!({"alg": "RS256", "kid": "rsa", "typ": "id+jwt"}),
            )),
            payload(json!({})),
            AuthErrorKind::WrongTokenType,
        ),
        (
            "a duplicated claim",
            None,
            {
                let mut p = payload(json!({}));
                p.pop();
                p.extend_from_slice(br#","scope":"admin"}"#);
                p
            },
            AuthErrorKind::MalformedClaim,
        ),
        (
            "exp past year 9999",
            None,
            payload(json!({"exp": 253_402_300_800_u64})),
            AuthErrorKind::MalformedClaim,
        ),
        (
            "iss as an array",
            None,
            payload(json!({"iss": [DIFFERENTIAL_ISSUER]})),
            AuthErrorKind::MalformedClaim,
        ),
        (
            "iat in the future",
            None,
            payload(json!({"iat": 4_102_444_000_u64})),
            AuthErrorKind::IssuedInFuture,
        ),
        (
            "a scope with a quote",
            None,
            payload(json!({"scope": "read \"write\""})),
            AuthErrorKind::MalformedClaim,
        ),
    ];
    for (case, header, payload, kind) in stricter {
        let v = verdicts(RS256, header.as_deref(), &payload);
        assert_eq!(v.tokengate, Err(kind), "{case}: {v:?}");
        assert_eq!(v.jsonwebtoken, Ok(()), "{case}: {v:?}");
    }
}
