//! Any bytes as a JWKS document: `KeySet::from_jwks_json` and `VerifyingKey::from_jwk`.
//! The checks live in `tokengate::fuzzing::jwks`, shared with `tests/fuzz_corpus.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tokengate::fuzzing::jwks(data));
