//! Any byte string as a token: never a panic, never an acceptance without the key.
#![no_main]

use std::future::Future;
use std::pin::pin;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};

use libfuzzer_sys::fuzz_target;
use tokengate::{Authorizer, KeySet, Profile};

fn authorizer() -> &'static Authorizer {
    static AUTHORIZER: OnceLock<Authorizer> = OnceLock::new();
    AUTHORIZER.get_or_init(|| {
        // RFC 8037 §A.2's Ed25519 public key: the fuzzer does not know its private half.
        let jwks = br#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1",
            "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
        Authorizer::builder(Profile::generic())
            .skip_issuer_check()
            .skip_audience_check()
            .keys(KeySet::from_jwks_json(jwks).expect("valid jwks"))
            .build()
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let mut future = pin!(authorizer().authorize::<()>(token));
    let Poll::Ready(result) = future.as_mut().poll(&mut Context::from_waker(Waker::noop())) else {
        panic!("static keys never wait");
    };
    assert!(result.is_err(), "a token was accepted without the private key");
});
