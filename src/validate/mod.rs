//! The pure validation pipeline: compact JWS parsing, header rules, the policy for claims.

mod compact;
mod policy;
mod profile;

pub(crate) use compact::{Compact, Header, HeaderMemo, MAX_SIGNATURE_LEN};
pub(crate) use policy::{Check, Policy, PolicyParts, RequiredClaim, TENANT_PLACEHOLDER};
pub use profile::{Profile, ScopeClaim};

/// Whether a JSON document starts as an object (`{` after optional whitespace).
///
/// serde's derived `Deserialize` also accepts arrays for structs; a JOSE header, a claims set or
/// a JWKS must be an object (RFC 7515 §4, RFC 7519 §7.2, RFC 7517 §5).
pub(crate) fn starts_as_object(json: &[u8]) -> bool {
    json.iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .is_some_and(|b| *b == b'{')
}

/// Whether a `typ` or `cty` value names `media_type` (RFC 7515 §4.1.9–10: compared
/// case-insensitively, with the `application/` prefix optional).
pub(crate) fn media_type_is(value: &str, media_type: &str) -> bool {
    let value = value
        .get(..12)
        .filter(|prefix| prefix.eq_ignore_ascii_case("application/"))
        .map_or(value, |_| &value[12..]);
    value.eq_ignore_ascii_case(media_type)
}

/// Default leeway for `exp`, `nbf` and `iat`, in seconds.
pub(crate) const DEFAULT_LEEWAY_SECS: u64 = 30;

/// Default limit on a token's length, in bytes.
pub(crate) const DEFAULT_MAX_TOKEN_LEN: usize = 8 * 1024;
