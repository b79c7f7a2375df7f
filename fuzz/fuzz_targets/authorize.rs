//! Any bytes as a token: never a panic, never an acceptance without the private key.
//! The checks live in `tokengate::fuzzing::authorize`, shared with `tests/fuzz_corpus.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tokengate::fuzzing::authorize(data));
