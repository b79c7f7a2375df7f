//! Device-flow user codes (RFC 8628 §6.1): how they are made and how what a person typed is
//! matched against them. The `/device` page, the test API and the admin API all match codes
//! through [`normalize`].

/// User-code letters: no vowels (no words), no look-alikes (RFC 8628 §6.1).
pub(crate) const ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";

/// Letters in a user code (shown as `XXXX-XXXX`): 20^8 ≈ 2^34.5 codes.
pub(crate) const LEN: usize = 8;

/// A fresh user code, `XXXX-XXXX`, letters drawn uniformly (rejection sampling).
pub(crate) fn generate() -> String {
    let mut letters = Vec::with_capacity(LEN);
    let limit = 256 - 256 % ALPHABET.len();
    while letters.len() < LEN {
        let mut buf = [0u8; 16];
        let _ = aws_lc_rs::rand::fill(&mut buf);
        for b in buf {
            if usize::from(b) < limit && letters.len() < LEN {
                letters.push(ALPHABET[usize::from(b) % ALPHABET.len()]);
            }
        }
    }
    let (a, b) = letters.split_at(LEN / 2);
    format!(
        "{}-{}",
        String::from_utf8_lossy(a),
        String::from_utf8_lossy(b)
    )
}

/// A user code as typed — any case, with or without the dash, spaces around or inside — in
/// its issued form `XXXX-XXXX`; `None` when it cannot be a user code at all.
pub(crate) fn normalize(input: &str) -> Option<String> {
    let letters: String = input
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if letters.len() == LEN && letters.bytes().all(|b| ALPHABET.contains(&b)) {
        let (a, b) = letters.split_at(LEN / 2);
        Some(format!("{a}-{b}"))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_have_the_documented_shape() {
        for _ in 0..200 {
            let code = generate();
            assert_eq!(code.len(), 9);
            assert_eq!(&code[4..5], "-");
            assert!(
                code.bytes()
                    .filter(|b| *b != b'-')
                    .all(|b| ALPHABET.contains(&b))
            );
            assert_eq!(normalize(&code), Some(code));
        }
    }

    #[test]
    fn user_codes_are_matched_ignoring_case_dash_and_spaces() {
        assert_eq!(normalize("bcdf-ghjk").as_deref(), Some("BCDF-GHJK"));
        assert_eq!(normalize("bcdfghjk").as_deref(), Some("BCDF-GHJK"));
        assert_eq!(normalize(" BCDF GHJK ").as_deref(), Some("BCDF-GHJK"));
        assert_eq!(normalize("BCDF\t-GHJK").as_deref(), Some("BCDF-GHJK"));
    }

    #[test]
    fn what_cannot_be_a_user_code_matches_nothing() {
        assert_eq!(normalize("AEIO-UAEI"), None);
        assert_eq!(normalize("BCDF-GHJ"), None);
        assert_eq!(normalize("BCDF-GHJKL"), None);
        assert_eq!(normalize("BCDF.GHJK"), None);
        assert_eq!(normalize(""), None);
    }
}
