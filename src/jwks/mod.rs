//! Key sets: parsing JWKs into prepared verifying keys, and choosing the key for a token.

mod jwk;
mod key_set;

pub use jwk::VerifyingKey;
pub use key_set::{KeySet, SkippedKey};
