//! The pure validation pipeline: compact JWS parsing, header rules, the policy for claims.

mod compact;
mod policy;
mod profile;

pub(crate) use compact::{Compact, Header, MAX_SIGNATURE_LEN};
pub(crate) use policy::Policy;
pub use profile::Profile;

/// Whether a JSON document starts as an object (`{` after optional whitespace).
///
/// serde's derived `Deserialize` also accepts arrays for structs; a JOSE header, a claims set or
/// a JWKS must be an object (RFC 7515 §4, RFC 7519 §7.2, RFC 7517 §5).
pub(crate) fn starts_as_object(json: &[u8]) -> bool {
    json.iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .is_some_and(|b| *b == b'{')
}

/// Default leeway for `exp`, `nbf` and `iat`, in seconds.
pub(crate) const DEFAULT_LEEWAY_SECS: u64 = 30;

/// Default limit on a token's length, in bytes.
pub(crate) const DEFAULT_MAX_TOKEN_LEN: usize = 8 * 1024;
