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
