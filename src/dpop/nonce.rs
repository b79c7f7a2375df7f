//! Server nonces (RFC 9449 §9): stateless, time-bucketed, MAC'd with a secret every replica
//! shares, so a nonce one replica hands out is accepted by all.

use std::fmt;

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Bytes of the MAC kept in a nonce.
const TAG_LEN: usize = 16;
/// A nonce: the period number (8 bytes, big-endian) and the truncated MAC.
const NONCE_LEN: usize = 8 + TAG_LEN;

/// What a presented nonce is worth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NonceCheck {
    /// The current period's nonce.
    Current,
    /// The previous period's: accepted, and the response carries the current one (§8.2).
    Previous,
    /// Missing, forged, or older: refused with `use_dpop_nonce` and the current nonce.
    Refused,
}

/// Issues and checks nonces. A nonce names its period (`now / lifetime`); one is accepted
/// during its own period and the next, so between one and two lifetimes.
#[derive(Clone)]
pub(crate) struct Nonces {
    key: hmac::Key,
    lifetime: u64,
}

impl Nonces {
    pub(crate) fn new(secret: &[u8], lifetime_secs: u64) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
            lifetime: lifetime_secs.max(1),
        }
    }

    pub(crate) fn set_lifetime(&mut self, lifetime_secs: u64) {
        self.lifetime = lifetime_secs.max(1);
    }

    fn tag(&self, period: u64) -> hmac::Tag {
        let mut input = [0u8; 28];
        input[..20].copy_from_slice(b"tokengate-dpop-nonce");
        input[20..].copy_from_slice(&period.to_be_bytes());
        hmac::sign(&self.key, &input)
    }

    fn for_period(&self, period: u64) -> String {
        let mut bytes = [0u8; NONCE_LEN];
        bytes[..8].copy_from_slice(&period.to_be_bytes());
        bytes[8..].copy_from_slice(&self.tag(period).as_ref()[..TAG_LEN]);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The nonce to hand out now.
    pub(crate) fn current(&self, now: u64) -> String {
        self.for_period(now / self.lifetime)
    }

    /// Checks a proof's `nonce` claim.
    pub(crate) fn check(&self, nonce: Option<&str>, now: u64) -> NonceCheck {
        let Some(nonce) = nonce else {
            return NonceCheck::Refused;
        };
        let mut bytes = [0u8; NONCE_LEN];
        match URL_SAFE_NO_PAD.decode_slice(nonce, &mut bytes) {
            Ok(NONCE_LEN) => {}
            _ => return NonceCheck::Refused,
        }
        let mut period = [0u8; 8];
        period.copy_from_slice(&bytes[..8]);
        let period = u64::from_be_bytes(period);
        let current = now / self.lifetime;
        let answer = if period == current {
            NonceCheck::Current
        } else if period.checked_add(1) == Some(current) {
            NonceCheck::Previous
        } else {
            return NonceCheck::Refused;
        };
        match verify_slices_are_equal(&bytes[8..], &self.tag(period).as_ref()[..TAG_LEN]) {
            Ok(()) => answer,
            Err(_) => NonceCheck::Refused,
        }
    }
}

impl fmt::Debug for Nonces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Nonces")
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_lives_for_its_period_and_the_next() {
        let nonces = Nonces::new(&[7; 32], 300);
        let issued = nonces.current(1_000_000);
        assert!(
            crate::claims::is_scope_token(&issued),
            "RFC 9449 §8.1 NQCHAR"
        );
        assert_eq!(nonces.check(Some(&issued), 1_000_000), NonceCheck::Current);
        let next_period = (1_000_000 / 300 + 1) * 300;
        assert_eq!(
            nonces.check(Some(&issued), next_period),
            NonceCheck::Previous
        );
        assert_eq!(
            nonces.check(Some(&issued), next_period + 300),
            NonceCheck::Refused
        );
        // A nonce from the future is no more acceptable than one from the past.
        assert_eq!(
            nonces.check(Some(&issued), 1_000_000 - 300),
            NonceCheck::Refused
        );
    }

    #[test]
    fn nonces_of_another_secret_forged_or_missing_are_refused() {
        let ours = Nonces::new(&[7; 32], 300);
        let theirs = Nonces::new(&[8; 32], 300);
        assert_eq!(
            ours.check(Some(&theirs.current(1_000)), 1_000),
            NonceCheck::Refused
        );
        let mut forged = ours.current(1_000).into_bytes();
        let last = forged.len() - 1;
        forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).expect("ascii");
        assert_eq!(ours.check(Some(&forged), 1_000), NonceCheck::Refused);
        assert_eq!(ours.check(None, 1_000), NonceCheck::Refused);
        assert_eq!(ours.check(Some("short"), 1_000), NonceCheck::Refused);
        assert_eq!(
            ours.check(Some(&"A".repeat(200)), 1_000),
            NonceCheck::Refused
        );
    }

    #[test]
    fn replicas_sharing_a_secret_hand_out_the_same_nonce() {
        let a = Nonces::new(b"a secret shared by every replica.", 60);
        let b = Nonces::new(b"a secret shared by every replica.", 60);
        assert_eq!(a.current(123_456), b.current(123_456));
        assert_eq!(
            a.check(Some(&b.current(123_456)), 123_456),
            NonceCheck::Current
        );
    }
}
