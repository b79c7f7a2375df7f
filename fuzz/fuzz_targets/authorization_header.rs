//! Request headers through the token extractor (`Authorization: Bearer`, a custom header, a cookie).
//! The checks live in `tokengate::fuzzing::authorization_header`, shared with `tests/fuzz_corpus.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tokengate::fuzzing::authorization_header(data));
