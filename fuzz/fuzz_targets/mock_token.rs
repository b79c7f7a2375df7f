//! Any bytes as a `POST /oauth2/token` body to the mock issuer: never a 5xx.
//! The checks live in `tokengate::fuzzing::mock_token`, shared with `tests/fuzz_corpus.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tokengate::fuzzing::mock_token(data));
