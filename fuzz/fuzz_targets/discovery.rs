//! Any bytes as an issuer's discovery document: the `jwks_uri` is HTTPS and the issuer's own.
//! The checks live in `tokengate::fuzzing::discovery`, shared with `tests/fuzz_corpus.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tokengate::fuzzing::discovery(data));
