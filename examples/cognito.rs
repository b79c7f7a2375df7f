//! The settings for a real Amazon Cognito user pool: access tokens for an API, ID tokens for a
//! backend that signs users in, both from the same pool and sharing nothing but its keys' URL.
//!
//! ```text
//! cargo run --example cognito --all-features -- eu-west-1 eu-west-1_AbCdEf123 3n4b5urk1ft4fl3mg5e62d9ado
//! ```
//!
//! It builds the authorizers, fetches the pool's keys (this needs the internet; here it only
//! reports what it could not reach), and prints what it would check.

use tokengate::{Authorizer, Profile, RemoteJwks};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(region), Some(pool_id), Some(client_id)) = (args.next(), args.next(), args.next())
    else {
        eprintln!("usage: cognito <region> <user-pool-id> <app-client-id>");
        std::process::exit(2);
    };

    // The issuer is `https://cognito-idp.<region>.amazonaws.com/<pool id>` — not the pool's
    // hosted-UI domain. Its discovery document names the JWKS URL
    // (`<issuer>/.well-known/jwks.json`).
    let issuer = format!("https://cognito-idp.{region}.amazonaws.com/{pool_id}");

    // Access tokens: `token_use` must be `access`; they carry no `aud`, so the app client is
    // checked in `client_id`. Scopes come from `scope`, groups from `cognito:groups`.
    let access = Authorizer::builder(Profile::cognito_access())
        .issuer(&issuer)
        .client_id(&client_id)
        .remote_jwks(RemoteJwks::discover(&issuer)?)
        .build()?;

    // ID tokens (only for a backend that consumes them itself, never for APIs): `token_use`
    // must be `id`, and the app client is in `aud`.
    let id = Authorizer::builder(Profile::cognito_id())
        .issuer(&issuer)
        .client_id(&client_id)
        .remote_jwks(RemoteJwks::from_uri(format!(
            "{issuer}/.well-known/jwks.json"
        ))?)
        .build()?;

    for (what, authorizer) in [("access tokens", &access), ("ID tokens", &id)] {
        match authorizer.ready().await {
            Ok(()) => println!("{what}: keys {:?}", authorizer.health()[0].kids),
            Err(err) => println!("{what}: keys not fetched ({err}); requests would get 503"),
        }
    }
    println!("issuer:    {issuer}");
    println!("client id: {client_id} (in `client_id` for access tokens, in `aud` for ID tokens)");
    Ok(())
}
