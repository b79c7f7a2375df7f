//! Validate Cognito-shaped access tokens in code, and see what a bad token gets.
//!
//! ```text
//! cargo run --example quickstart --all-features
//! ```
//!
//! The full walk through every OAuth grant against the mock issuer lands with the `mock`
//! feature; until then this signs tokens with a key made here, as an issuer would.

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};
use tokengate::{Authorizer, KeySet, ManualClock, Profile};

const ISSUER: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example";
const CLIENT_ID: &str = "3n4b5urk1ft4fl3mg5e62d9ado";

fn sign(key: &Ed25519KeyPair, claims: &Value) -> String {
    let header = B64.encode(r#"{"alg":"EdDSA","kid":"key-1"}"#);
    let input = format!("{header}.{}", B64.encode(claims.to_string()));
    format!("{input}.{}", B64.encode(key.sign(input.as_bytes())))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The issuer's side: a signing key, published as a JWKS.
    let key = Ed25519KeyPair::generate()?;
    let jwks = json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "key-1", "use": "sig",
        "alg": "EdDSA", "x": B64.encode(key.public_key().as_ref())}]});

    // The resource server's side: one authorizer for the user pool's access tokens.
    let clock = ManualClock::starting_now();
    let authorizer = Authorizer::builder(Profile::cognito_access())
        .issuer(ISSUER)
        .client_id(CLIENT_ID)
        .keys(KeySet::from_jwks_json(jwks.to_string().as_bytes())?)
        .clock(clock.clone())
        .build();

    let now = tokengate::Clock::now_unix(&clock);
    let access = json!({"sub": "user-1", "iss": ISSUER, "client_id": CLIENT_ID,
        "token_use": "access", "scope": "api/read api/write", "cognito:groups": ["admins"],
        "username": "alice", "iat": now, "exp": now + 3600, "jti": "1"});
    let mut other_client = access.clone();
    other_client["client_id"] = json!("another-client");
    let mut id_token = access.clone();
    id_token["token_use"] = json!("id");
    let mut tampered = sign(&key, &access);
    tampered.insert(tampered.len() - 2, 'A');

    let cases = [
        ("access token", sign(&key, &access)),
        ("token of another client", sign(&key, &other_client)),
        ("ID token as access token", sign(&key, &id_token)),
        ("tampered signature", tampered),
        (
            "alg none",
            format!("{}.{}.", B64.encode(r#"{"alg":"none"}"#), B64.encode("{}")),
        ),
    ];
    println!("{:<26} {:<7} result", "token", "status");
    for (name, token) in &cases {
        match authorizer.authorize::<()>(token).await {
            Ok(claims) => println!(
                "{name:<26} {:<7} ok: user {}, scopes [{}], groups [{}]",
                200,
                claims.username().unwrap_or("-"),
                claims.scopes(),
                claims.groups()
            ),
            Err(err) => println!("{name:<26} {:<7} {err}", err.status()),
        }
    }

    let valid = &cases[0].1;
    clock.advance(3600 + 60);
    let expired = authorizer.authorize::<()>(valid).await.unwrap_err();
    println!(
        "{:<26} {:<7} {expired}",
        "same token, an hour later",
        expired.status()
    );
    Ok(())
}
