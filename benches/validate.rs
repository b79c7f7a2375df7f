//! Per-token cost of `Authorizer::authorize` against raw `jsonwebtoken::decode`.
//!
//! Both sides see the same public key (prepared once, outside the measured loop), the same
//! tokens and equivalent rules: one allowed algorithm, the issuer, the audience, `exp`/`nbf`
//! with the same leeway. Each algorithm gets 2,000 distinct tokens (different `jti` and `sub`),
//! cycled through so that neither side could profit from a cache.
//!
//! `authorize` is async but never waits with a static key set: it is polled once with a no-op
//! waker, and must be ready.
//!
//! Run: `cargo bench --bench validate -- --warm-up-time 1 --measurement-time 5`

#[path = "../tests/support/mod.rs"]
mod support;

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde::Deserialize;
use serde_json::json;
use support::TestKey;
use tokengate::{Algorithm, Authorizer, KeySet, Profile};

const ISS: &str = "https://issuer.example.com";
const AUD: &str = "https://api.example.com";
/// Distinct tokens minted per algorithm.
const TOKENS: usize = 2_000;
/// tokengate's default leeway, given to jsonwebtoken too.
const LEEWAY_SECS: u64 = 30;

/// What `jsonwebtoken` reads the payload into: the claims tokengate returns as well.
#[derive(Debug, Deserialize)]
#[allow(dead_code)] // every field is decoded; only some are read back
struct RegisteredClaims {
    iss: String,
    sub: Option<String>,
    aud: Option<String>,
    exp: u64,
    nbf: Option<u64>,
    iat: Option<u64>,
    jti: Option<String>,
    client_id: Option<String>,
    scope: Option<String>,
}

/// Polls `fut` once with a no-op waker; it must complete.
fn ready<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("authorize did not complete on the first poll"),
    }
}

struct Case {
    name: &'static str,
    tokens: Vec<String>,
    authorizer: Authorizer,
    decoding_key: jsonwebtoken::DecodingKey,
    validation: jsonwebtoken::Validation,
}

fn case(name: &'static str, alg: Algorithm, jwt_alg: jsonwebtoken::Algorithm) -> Case {
    let key = TestKey::generate(alg, &format!("{name}-key"));

    let authorizer = Authorizer::builder(Profile::generic())
        .issuer(ISS)
        .audience(AUD)
        .keys(KeySet::from_jwks_json(&support::jwks(&[&key])).expect("tokengate key set"))
        // The cold path: every token verified (the cache would hold all 2,000 after a cycle).
        .disable_token_cache()
        .build();

    let jwk: jsonwebtoken::jwk::Jwk =
        serde_json::from_value(key.jwk()).expect("jsonwebtoken reads the JWK");
    let decoding_key = jsonwebtoken::DecodingKey::from_jwk(&jwk).expect("jsonwebtoken key");
    let mut validation = jsonwebtoken::Validation::new(jwt_alg);
    validation.set_issuer(&[ISS]);
    validation.set_audience(&[AUD]);
    // tokengate's generic profile requires `iss` and `exp`; a configured audience makes `aud`
    // required too. It checks `nbf` when present, with one 30-second leeway.
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    validation.validate_nbf = true;
    validation.leeway = LEEWAY_SECS;

    let now = support::now();
    let tokens = (0..TOKENS)
        .map(|i| {
            key.token(&json!({
                "iss": ISS,
                "sub": format!("user-{i:05}"),
                "aud": AUD,
                "exp": now + 3600,
                "nbf": now - 10,
                "iat": now - 10,
                "jti": format!("{name}-{i:08x}"),
                "client_id": "3n4b5urk1ft4fl3mg5e62d9ado",
                "scope": "api/read api/write",
            }))
        })
        .collect::<Vec<_>>();

    let case = Case {
        name,
        tokens,
        authorizer,
        decoding_key,
        validation,
    };
    case.check();
    case
}

impl Case {
    fn raw_decode(&self, token: &str) -> jsonwebtoken::TokenData<RegisteredClaims> {
        jsonwebtoken::decode::<RegisteredClaims>(token, &self.decoding_key, &self.validation)
            .unwrap_or_else(|e| panic!("{}: jsonwebtoken refused a token: {e}", self.name))
    }

    fn tokengate(&self, token: &str) -> tokengate::Claims {
        ready(self.authorizer.authorize::<()>(token))
            .unwrap_or_else(|e| panic!("{}: tokengate refused a token: {e}", self.name))
    }

    /// Before measuring: both sides accept every token and read the same `sub`, so the bench
    /// cannot silently measure an error path.
    fn check(&self) {
        let first = &self.tokens[0];
        let raw = self.raw_decode(first);
        let ours = self.tokengate(first);
        assert_eq!(
            raw.claims.sub.as_deref(),
            Some("user-00000"),
            "{}",
            self.name
        );
        assert_eq!(raw.claims.sub.as_deref(), ours.subject(), "{}", self.name);
        assert_eq!(ours.jwt_id(), raw.claims.jti.as_deref(), "{}", self.name);
        for token in &self.tokens {
            assert_eq!(
                self.raw_decode(token).claims.sub.as_deref(),
                self.tokengate(token).subject(),
                "{}",
                self.name
            );
        }
    }
}

fn bench_case(c: &mut Criterion, case: &Case) {
    let mut group = c.benchmark_group(case.name);
    group.throughput(Throughput::Elements(1));

    let mut next = 0;
    group.bench_function("raw_decode", |b| {
        b.iter(|| {
            let token = &case.tokens[next];
            next = (next + 1) % case.tokens.len();
            let result = jsonwebtoken::decode::<RegisteredClaims>(
                black_box(token.as_str()),
                &case.decoding_key,
                &case.validation,
            );
            assert!(result.is_ok(), "jsonwebtoken refused a token");
            result
        });
    });

    let mut next = 0;
    group.bench_function("tokengate", |b| {
        b.iter(|| {
            let token = &case.tokens[next];
            next = (next + 1) % case.tokens.len();
            let result = ready(case.authorizer.authorize::<()>(black_box(token.as_str())));
            assert!(result.is_ok(), "tokengate refused a token");
            result
        });
    });

    group.finish();
}

fn validate(c: &mut Criterion) {
    let cases = [
        case("rs256", Algorithm::RS256, jsonwebtoken::Algorithm::RS256),
        case("es256", Algorithm::ES256, jsonwebtoken::Algorithm::ES256),
        case("eddsa", Algorithm::EdDSA, jsonwebtoken::Algorithm::EdDSA),
    ];
    for case in &cases {
        bench_case(c, case);
    }
}

criterion_group!(benches, validate);
criterion_main!(benches);
