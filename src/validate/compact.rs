//! Compact JWS serialization (RFC 7515 §7.1) and the JOSE header (§4), checked before any crypto.

use std::sync::Arc;

use arc_swap::ArcSwap;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::algorithm::{Algorithm, AlgorithmSet};
use crate::claims::Str;
use crate::error::{AuthError, AuthErrorKind};

/// A token split into its three segments.
#[derive(Debug)]
pub(crate) struct Compact<'a> {
    pub(crate) header: &'a str,
    pub(crate) payload: &'a str,
    /// `header.payload`, the bytes the signature covers.
    pub(crate) signing_input: &'a str,
    pub(crate) signature: &'a str,
}

/// RSA-8192 signatures are 1024 bytes, the longest accepted.
pub(crate) const MAX_SIGNATURE_LEN: usize = 1024;

impl<'a> Compact<'a> {
    /// Splits a token into exactly three non-empty base64url segments.
    pub(crate) fn split(token: &'a str, max_len: usize) -> Result<Self, AuthError> {
        if token.len() > max_len {
            return Err(AuthErrorKind::TokenTooLarge.into());
        }
        // The dots found with vector instructions: one pass over a kilobyte token.
        let mut dots = memchr::memchr_iter(b'.', token.as_bytes());
        let (Some(first), Some(second), None) = (dots.next(), dots.next(), dots.next()) else {
            return Err(AuthErrorKind::Malformed.into());
        };
        // `.` is ASCII: both are character boundaries.
        let (header, payload, signature) = (
            &token[..first],
            &token[first + 1..second],
            &token[second + 1..],
        );
        if header.is_empty() || payload.is_empty() {
            return Err(AuthErrorKind::Malformed.into());
        }
        if signature.is_empty() {
            // An empty signature is what `alg: none` produces.
            return Err(AuthErrorKind::UnsignedToken.into());
        }
        Ok(Self {
            header,
            payload,
            signing_input: &token[..header.len() + 1 + payload.len()],
            signature,
        })
    }

    /// Decodes the signature into `buf`, returning its length.
    pub(crate) fn decode_signature(
        &self,
        buf: &mut [u8; MAX_SIGNATURE_LEN],
    ) -> Result<usize, AuthError> {
        // base64 needs room for whole 3-byte groups; refuse early what cannot fit.
        if self.signature.len() > MAX_SIGNATURE_LEN * 4 / 3 + 3 {
            return Err(AuthErrorKind::Malformed.into());
        }
        URL_SAFE_NO_PAD
            .decode_slice(self.signature, buf)
            .map_err(|_| AuthErrorKind::Malformed.into())
    }

    /// Decodes the payload segment.
    pub(crate) fn decode_payload(&self) -> Result<Vec<u8>, AuthError> {
        decode_segment(self.payload)
    }
}

pub(crate) fn decode_segment(segment: &str) -> Result<Vec<u8>, AuthError> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| AuthErrorKind::Malformed.into())
}

/// The header members tokengate reads, in one pass that also refuses any member given twice:
/// RFC 7515 §4 lets a parser refuse duplicates, and tokengate does, for the members it never
/// reads too (`jku` twice could be read one way by a proxy and another by a library behind
/// it). `jku`, `x5u`, `jwk`, `x5c`, `x5t` are never read: a key never comes from the token.
struct RawHeader<'a> {
    alg: Str<'a>,
    kid: Option<Str<'a>>,
    typ: Option<Str<'a>>,
    cty: Option<Str<'a>>,
    /// Whether `crit` was present at all, whatever its value (`"crit": null` included).
    crit: bool,
    b64: Option<bool>,
}

impl<'de> Deserialize<'de> for RawHeader<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RawHeader<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let twice = || serde::de::Error::custom("a header member given twice");
                let (mut alg, mut kid, mut typ, mut cty, mut crit, mut b64) =
                    (None, None, None, None, false, None);
                // Names as unescaped: `"\u0061lg"` is `alg`, and a second one. The members
                // read, by bit; any other (rare) in a list, allocated only then.
                let mut read = 0u8;
                let mut others: Vec<Str<'de>> = Vec::new();
                while let Some(name) = map.next_key::<Str<'de>>()? {
                    let bit = match &*name.0 {
                        "alg" => {
                            alg = Some(map.next_value::<Str<'de>>()?);
                            1
                        }
                        "kid" => {
                            kid = map.next_value::<Option<Str<'de>>>()?;
                            2
                        }
                        "typ" => {
                            typ = map.next_value::<Option<Str<'de>>>()?;
                            4
                        }
                        "cty" => {
                            cty = map.next_value::<Option<Str<'de>>>()?;
                            8
                        }
                        "crit" => {
                            map.next_value::<IgnoredAny>()?;
                            crit = true;
                            16
                        }
                        "b64" => {
                            b64 = map.next_value::<Option<bool>>()?;
                            32
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                            others.push(name);
                            0
                        }
                    };
                    if read & bit != 0 {
                        return Err(twice());
                    }
                    read |= bit;
                }
                // Sorted, not compared pairwise: a header of many distinct members costs
                // n log n before its signature is checked, not n².
                others.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                if others.windows(2).any(|pair| pair[0].0 == pair[1].0) {
                    return Err(twice());
                }
                let alg = alg.ok_or_else(|| serde::de::Error::missing_field("alg"))?;
                Ok(RawHeader {
                    alg,
                    kid,
                    typ,
                    cty,
                    crit,
                    b64,
                })
            }
        }
        d.deserialize_map(Visitor)
    }
}

/// The header parameters tokengate uses.
#[derive(Debug)]
pub(crate) struct Header {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<Box<str>>,
    pub(crate) typ: Option<Box<str>>,
}

/// The parsed headers of tokens that verified lately, one memo per issuer.
///
/// An issuer signs with a few header shapes (one per key and token type), so most new tokens
/// repeat a header seen before; parsing one (base64, then JSON) is about 1 % of an RS256
/// validation's instructions. Keyed by the exact segment, so a hit is what parsing it would
/// give; a header is remembered only once a signature under it verified, so tokens that did
/// not come from the issuer cannot fill it; at most [`HeaderMemo::SLOTS`] segments of at most
/// [`HeaderMemo::MAX_SEGMENT`] bytes, the oldest replaced first. Lock-free to read.
#[derive(Debug, Default)]
pub(crate) struct HeaderMemo {
    /// Newest first. `Arc`s, so that replacing one entry copies no segment.
    recent: ArcSwap<Vec<(Arc<str>, Arc<Header>)>>,
}

impl Clone for HeaderMemo {
    fn clone(&self) -> Self {
        Self {
            recent: ArcSwap::new(self.recent.load_full()),
        }
    }
}

impl HeaderMemo {
    const SLOTS: usize = 8;
    const MAX_SEGMENT: usize = 512;

    /// The header parsed from exactly `segment`, if remembered.
    pub(crate) fn get(&self, segment: &str) -> Option<Arc<Header>> {
        self.recent
            .load()
            .iter()
            .find(|(seen, _)| **seen == *segment)
            .map(|(_, header)| Arc::clone(header))
    }

    /// Remembers `header` as parsed from `segment`: call only once a signature under it
    /// verified.
    pub(crate) fn remember(&self, segment: &str, header: &Arc<Header>) {
        if segment.len() > Self::MAX_SEGMENT {
            return;
        }
        self.recent.rcu(|recent| {
            if recent.iter().any(|(seen, _)| **seen == *segment) {
                return Arc::clone(recent);
            }
            let mut next = Vec::with_capacity(Self::SLOTS);
            next.push((Arc::<str>::from(segment), Arc::clone(header)));
            next.extend(recent.iter().take(Self::SLOTS - 1).cloned());
            Arc::new(next)
        });
    }
}

impl Header {
    /// Decodes and checks the header (RFC 7515 §4.1, RFC 8725 §3.1–3.2).
    pub(crate) fn parse(segment: &str, allowed: AlgorithmSet) -> Result<Self, AuthError> {
        let json = decode_segment(segment)?;
        // RFC 7515 §5.2: UTF-8, completely valid JSON — also in members never read, which
        // serde would skip without looking at their bytes.
        let json = std::str::from_utf8(&json).map_err(|_| AuthErrorKind::Malformed)?;
        if !super::starts_as_object(json.as_bytes()) {
            return Err(AuthErrorKind::Malformed.into());
        }
        let raw: RawHeader<'_> =
            serde_json::from_str(json).map_err(|_| AuthErrorKind::Malformed)?;
        let name = raw.alg.0.as_ref();
        if name.eq_ignore_ascii_case("none") {
            return Err(AuthErrorKind::UnsignedToken.into());
        }
        if name.len() == 5 && name.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("hs")) {
            return Err(AuthErrorKind::SymmetricAlgorithm.into());
        }
        let alg = Algorithm::from_name(name).ok_or(AuthErrorKind::UnsupportedAlgorithm)?;
        if !allowed.contains(alg) {
            return Err(AuthErrorKind::DisallowedAlgorithm.into());
        }
        // RFC 7515 §4.1.11: tokengate understands no extension, so any `crit` is refused;
        // RFC 7797: an unencoded payload (`b64: false`) is refused too.
        if raw.crit {
            return Err(AuthError::claim(AuthErrorKind::UnsupportedHeader, "crit"));
        }
        if raw.b64 == Some(false) {
            return Err(AuthError::claim(AuthErrorKind::UnsupportedHeader, "b64"));
        }
        // RFC 7515 §4.1.10: `JWT` and `application/JWT` name the same media type.
        if raw
            .cty
            .as_ref()
            .is_some_and(|c| crate::validate::media_type_is(&c.0, "jwt"))
        {
            return Err(AuthErrorKind::NestedToken.into());
        }
        Ok(Self {
            alg,
            kid: raw.kid.map(|k| k.0.into()),
            typ: raw.typ.map(|t| t.0.into()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(json: &str) -> String {
        URL_SAFE_NO_PAD.encode(json)
    }

    fn header(json: &str) -> Result<Header, AuthErrorKind> {
        Header::parse(&seg(json), AlgorithmSet::DEFAULT).map_err(|e| e.kind())
    }

    #[test]
    fn the_header_memo_answers_only_the_exact_segment_and_keeps_the_newest_few() {
        let memo = HeaderMemo::default();
        let segment = |kid: usize| seg(&format!(r#"{{"alg":"RS256","kid":"k{kid}"}}"#));
        let parsed = |kid: usize| {
            Arc::new(Header::parse(&segment(kid), AlgorithmSet::DEFAULT).expect("header"))
        };
        assert!(memo.get(&segment(0)).is_none());
        memo.remember(&segment(0), &parsed(0));
        let hit = memo.get(&segment(0)).expect("remembered");
        assert_eq!(hit.kid.as_deref(), Some("k0"));
        // Another segment, however close, is not answered.
        assert!(memo.get(&segment(1)).is_none());
        assert!(memo.get(&format!("{}=", segment(0))).is_none());
        // Remembering twice keeps one entry.
        memo.remember(&segment(0), &parsed(0));
        assert_eq!(memo.recent.load().len(), 1);
        // Bounded: the newest SLOTS stay, the oldest go.
        for kid in 1..HeaderMemo::SLOTS + 5 {
            memo.remember(&segment(kid), &parsed(kid));
        }
        assert_eq!(memo.recent.load().len(), HeaderMemo::SLOTS);
        assert!(memo.get(&segment(0)).is_none());
        let newest = HeaderMemo::SLOTS + 4;
        assert_eq!(
            memo.get(&segment(newest)).expect("newest").kid.as_deref(),
            Some(format!("k{newest}").as_str())
        );
        // A long segment is not kept.
        let long = seg(&format!(
            r#"{{"alg":"RS256","kid":"{}"}}"#,
            "k".repeat(HeaderMemo::MAX_SEGMENT)
        ));
        let header = Arc::new(Header::parse(&long, AlgorithmSet::DEFAULT).expect("header"));
        memo.remember(&long, &header);
        assert!(memo.get(&long).is_none());
    }

    #[test]
    fn a_header_member_given_twice_is_malformed_even_one_never_read() {
        for json in [
            r#"{"alg":"RS256","jku":"rsa","jku":"https://evil.example/jwks"}"#,
            r#"{"alg":"RS256","x5u":"a","kid":"k","x5u":"b"}"#,
            r#"{"alg":"RS256","kid":"k","kid":"k"}"#,
            r#"{"alg":"RS256","j\u006bu":"a","jku":"b"}"#,
        ] {
            assert_eq!(
                header(json).unwrap_err(),
                AuthErrorKind::Malformed,
                "{json}"
            );
        }
        assert!(header(r#"{"alg":"RS256","jku":"a","x5u":"b","kid":"k"}"#).is_ok());
        // Every member read, twice, in any spelling and with null values.
        for json in [
            r#"{"alg":"RS256","alg":"RS256"}"#,
            r#"{"alg":"RS256","alg":"RS256"}"#,
            r#"{"alg":"RS256","kid":null,"kid":"k"}"#,
            r#"{"alg":"RS256","typ":"JWT","typ":null}"#,
            r#"{"alg":"RS256","cty":null,"cty":null}"#,
            r#"{"alg":"RS256","crit":null,"crit":null}"#,
            r#"{"alg":"RS256","b64":true,"b64":true}"#,
        ] {
            assert_eq!(
                header(json).unwrap_err(),
                AuthErrorKind::Malformed,
                "{json}"
            );
        }
        // `crit` present, even as null, is refused for what it is.
        assert_eq!(
            header(r#"{"alg":"RS256","crit":null}"#).unwrap_err(),
            AuthErrorKind::UnsupportedHeader
        );
        assert_eq!(
            header(r#"{"kid":"k"}"#).unwrap_err(),
            AuthErrorKind::Malformed
        );
    }

    #[test]
    fn split_refuses_wrong_segment_counts() {
        assert!(Compact::split("a.b.c", 100).is_ok());
        for bad in ["a.b", "a.b.c.d", "a..c", ".b.c", "abc", ""] {
            assert_eq!(
                Compact::split(bad, 100).unwrap_err().kind(),
                AuthErrorKind::Malformed,
                "{bad}"
            );
        }
        assert_eq!(
            Compact::split("a.b.", 100).unwrap_err().kind(),
            AuthErrorKind::UnsignedToken
        );
        assert_eq!(
            Compact::split("a.b.c", 4).unwrap_err().kind(),
            AuthErrorKind::TokenTooLarge
        );
    }

    #[test]
    fn alg_none_is_refused_in_every_spelling() {
        for alg in ["none", "None", "NONE", "nOnE"] {
            assert_eq!(
                header(&format!(r#"{{"alg":"{alg}"}}"#)).unwrap_err(),
                AuthErrorKind::UnsignedToken
            );
        }
    }

    #[test]
    fn alg_with_a_multibyte_character_is_unsupported_not_a_panic() {
        // Found by fuzzing: five bytes whose second character ends past byte 2.
        assert_eq!(
            header("{\"alg\":\"E\u{30d}AB\"}").unwrap_err(),
            AuthErrorKind::UnsupportedAlgorithm
        );
        let token = "eyJhbGciOiJFzI1BQiJ9.e30.c2ln";
        let compact = Compact::split(token, 100).expect("three segments");
        assert_eq!(
            Header::parse(compact.header, AlgorithmSet::DEFAULT)
                .unwrap_err()
                .kind(),
            AuthErrorKind::UnsupportedAlgorithm
        );
    }

    #[test]
    fn hmac_algs_are_refused() {
        for alg in ["HS256", "HS384", "HS512", "hs256"] {
            assert_eq!(
                header(&format!(r#"{{"alg":"{alg}"}}"#)).unwrap_err(),
                AuthErrorKind::SymmetricAlgorithm
            );
        }
    }

    #[test]
    fn header_rules() {
        assert_eq!(
            header(r#"{"alg":"rs256"}"#).unwrap_err(),
            AuthErrorKind::UnsupportedAlgorithm
        );
        assert_eq!(
            header(r#"{"alg":"ES512"}"#).unwrap_err(),
            AuthErrorKind::DisallowedAlgorithm
        );
        assert_eq!(
            header(r#"{"alg":"RS256","crit":["exp"]}"#).unwrap_err(),
            AuthErrorKind::UnsupportedHeader
        );
        assert_eq!(
            header(r#"{"alg":"RS256","b64":false}"#).unwrap_err(),
            AuthErrorKind::UnsupportedHeader
        );
        assert_eq!(
            header(r#"{"alg":"RS256","cty":"JWT"}"#).unwrap_err(),
            AuthErrorKind::NestedToken
        );
        assert_eq!(
            header(r#"["RS256"]"#).unwrap_err(),
            AuthErrorKind::Malformed
        );
        assert_eq!(
            header(r#"{"alg":"RS256","alg":"RS256"}"#).unwrap_err(),
            AuthErrorKind::Malformed
        );
        assert_eq!(
            header(r#"{"alg":1}"#).unwrap_err(),
            AuthErrorKind::Malformed
        );
        let ok = header(r#"{"alg":"RS256","kid":"k1","jku":"https://evil","x5u":"https://evil"}"#)
            .expect("valid");
        assert_eq!(ok.alg, Algorithm::RS256);
        assert_eq!(ok.kid.as_deref(), Some("k1"));
    }

    #[test]
    fn padded_or_non_url_base64_is_malformed() {
        assert!(decode_segment("eyJhIjoxfQ==").is_err());
        assert!(decode_segment("eyJhIjoxfQ").is_ok());
        assert!(decode_segment("ab+/").is_err());
    }
}
