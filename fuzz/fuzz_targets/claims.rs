//! Any bytes as a claims set: the policy of every profile, and the authorizer agreeing with it.
//! The checks live in `tokengate::fuzzing::claims`, shared with `tests/fuzz_corpus.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tokengate::fuzzing::claims(data));
