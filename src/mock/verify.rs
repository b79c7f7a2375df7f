//! The mock checking its own access tokens, as a resource server would: tokengate's own
//! [`Authorizer`] over this issuer's current key set and clock (userInfo, introspection), and
//! the clock adapter every authorizer the mock builds reads (token exchange's too).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::authorizer::Authorizer;
use crate::claims::Claims;
use crate::clock::Clock;
use crate::jwks::KeySet;
use crate::mock::Shared;
use crate::validate::Profile;

/// The mock's clock, for the authorizers it builds: one time for minting and checking.
#[derive(Clone)]
pub(crate) struct MockClock(pub(crate) Arc<dyn Clock>);

impl fmt::Debug for MockClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("MockClock").field(&self.0).finish()
    }
}

impl Clock for MockClock {
    fn now_unix(&self) -> u64 {
        self.0.now_unix()
    }

    fn now_millis(&self) -> u64 {
        self.0.now_millis()
    }
}

/// Why an access token of this issuer is not valid now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Invalid {
    /// It does not validate (signature, issuer, expiry, `token_use` …).
    Token(String),
    /// Its sign-in was revoked.
    Revoked,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Token(why) => f.write_str(why),
            Self::Revoked => f.write_str("the token was revoked"),
        }
    }
}

/// Validates an access token of this issuer as a resource server would (tokengate's own
/// [`Authorizer`], Cognito access profile, any client, no leeway: the issuer knows its own
/// time), then checks that its `origin_jti` was not revoked. Returns all its claims.
pub(crate) async fn access_token(
    shared: &Shared,
    token: &str,
) -> Result<Claims<Map<String, Value>>, Invalid> {
    let jwks = shared.state().keys.jwks().to_string();
    let keys =
        KeySet::from_jwks_json(jwks.as_bytes()).map_err(|e| Invalid::Token(e.to_string()))?;
    let authorizer = Authorizer::builder(Profile::cognito_access())
        .issuer(&shared.issuer)
        .skip_audience_check()
        .keys(keys)
        .leeway(Duration::ZERO)
        .clock(MockClock(Arc::clone(&shared.clock)))
        .build();
    let claims = authorizer
        .authorize::<Map<String, Value>>(token)
        .await
        .map_err(|e| Invalid::Token(e.to_string()))?;
    let revoked = match claims.custom().get("origin_jti").and_then(Value::as_str) {
        Some(origin) => shared.state().revoked_origins.contains_key(origin),
        None => false,
    };
    if revoked {
        return Err(Invalid::Revoked);
    }
    Ok(claims)
}
