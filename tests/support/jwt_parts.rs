//! A JWT's header and claims, read without checking anything: for tests that check them
//! elsewhere, or that look at what a forgery put there.
#![allow(dead_code, unreachable_pub)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

fn segment(token: &str, at: usize) -> Value {
    let part = token.split('.').nth(at).expect("a JWT");
    let bytes = URL_SAFE_NO_PAD.decode(part).expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON")
}

/// The JOSE header.
pub fn header(token: &str) -> Value {
    segment(token, 0)
}

/// The claims.
pub fn payload(token: &str) -> Value {
    segment(token, 1)
}
