//! tokengate against `jsonwebtoken`: a header and claims signed by the harness; whatever
//! tokengate accepts, `jsonwebtoken::decode` must accept under the same key and policy.
//! The checks live in `tokengate::fuzzing::differential`, shared with `tests/fuzz_corpus.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tokengate::fuzzing::differential(data));
