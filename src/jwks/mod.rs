//! Key sets: parsing JWKs into prepared verifying keys, choosing the key for a token, and
//! fetching and caching an issuer's keys.

mod discovery;
mod fetch;
mod health;
mod jwk;
mod key_cache;
mod key_set;
mod remote;

pub(crate) use discovery::metadata_urls;
#[cfg(feature = "fuzzing")]
pub(crate) use discovery::parse_metadata;
pub(crate) use fetch::{FetchLimits, default_client, fetch_json};
pub use health::{KeySetHealth, KeyStatus};
pub use jwk::VerifyingKey;
pub(crate) use key_cache::{KeyCache, Lookup};
pub use key_set::{KeySet, SkippedKey};
pub use remote::RemoteJwks;
pub(crate) use remote::{parse_url, transport_allowed};
