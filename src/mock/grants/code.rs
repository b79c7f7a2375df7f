//! The authorization code grant at the token endpoint (RFC 6749 §4.1.3, RFC 7636 §4.5–4.6).
//!
//! The client is already authenticated and allowed the grant. Then, strictly:
//! - `code` and `redirect_uri` are required (`invalid_request`; the code is left untouched,
//!   since such a request never got as far as using it);
//! - the code is taken out of the store before anything else is checked, so it is consumed on
//!   its first use even when that exchange fails: unknown, used or expired → `invalid_grant`.
//!   A code used again after it bought tokens is a replay (RFC 6749 §4.1.2): the tokens
//!   issued from it — their sign-in (`origin_jti`) and refresh-token family — are revoked;
//! - it must have been issued to this client and for this exact `redirect_uri`
//!   (`invalid_grant`);
//! - PKCE: when the authorization request had a challenge, `code_verifier` is required, must be
//!   43–128 characters of `[A-Za-z0-9-._~]` and BASE64URL(SHA-256(verifier)) must equal the
//!   challenge. When it had none, a `code_verifier` is refused too (`invalid_grant`): a
//!   verifier for a code issued without a challenge means the request was tampered with
//!   (the PKCE downgrade of RFC 9700 §4.8.2). All PKCE failures are `invalid_grant`.
//!   As in Cognito, PKCE stays optional, for public clients too;
//! - the user must still exist (`invalid_grant`).
//!
//! Tokens: access, ID (with `openid`; `nonce` from the authorization request, `at_hash`) and
//! a refresh token; `auth_time` is the sign-in's, the scopes the code's.

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::mock::Shared;
use crate::mock::config::Client;
use crate::mock::customize::TriggerSource;
use crate::mock::error::OAuthError;
use crate::mock::form::Params;
use crate::mock::mint::Issue;
use crate::mock::store::RedeemedCode;

/// RFC 7636 §4.1: 43–128 characters of the unreserved set.
fn valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// RFC 7636 §4.6: whether `verifier` answers the S256 `challenge`.
fn verifies(verifier: &str, challenge: &str) -> bool {
    let computed = URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()));
    verify_slices_are_equal(computed.as_bytes(), challenge.as_bytes()).is_ok()
}

pub(crate) fn exchange(
    shared: &Shared,
    client: &Client,
    params: &Params,
    dpop: Option<&str>,
) -> Result<Value, OAuthError> {
    let code = params.require("code")?;
    let redirect_uri = params.require("redirect_uri")?;
    let verifier = params.get("code_verifier");
    let now = shared.now();
    let mut state = shared.state();
    let record = state.codes.remove(code);
    let Some(record) = record else {
        if let Some(redeemed) = state.redeemed_codes.remove(code) {
            state.revoke_origin(&redeemed.origin_jti, now);
            if let Some(family) = redeemed.family {
                state.revoke_family(&family, now);
            }
            return Err(OAuthError::invalid_grant(
                "the code was already used; the tokens issued from it are revoked",
            ));
        }
        return Err(OAuthError::invalid_grant("the code is unknown or was used"));
    };
    if record.expires_at <= now {
        return Err(OAuthError::invalid_grant("the code has expired"));
    }
    if record.client_id != client.id {
        return Err(OAuthError::invalid_grant(
            "the code was issued to another client",
        ));
    }
    if record.redirect_uri != redirect_uri {
        return Err(OAuthError::invalid_grant(
            "redirect_uri differs from the authorization request's",
        ));
    }
    match (&record.code_challenge, verifier) {
        (None, None) => {}
        (None, Some(_)) => {
            return Err(OAuthError::invalid_grant(
                "code_verifier sent for a code issued without a code_challenge",
            ));
        }
        (Some(_), None) => {
            return Err(OAuthError::invalid_grant(
                "code_verifier is required (PKCE)",
            ));
        }
        (Some(challenge), Some(verifier)) => {
            if !valid_verifier(verifier) {
                return Err(OAuthError::invalid_grant(
                    "code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~]",
                ));
            }
            if !verifies(verifier, challenge) {
                return Err(OAuthError::invalid_grant(
                    "code_verifier does not match the code_challenge",
                ));
            }
        }
    }
    let user = state
        .user(&record.username)
        .cloned()
        .ok_or_else(|| OAuthError::invalid_grant("the user no longer exists"))?;
    let expires_at = record.expires_at;
    let tokens = state
        .mint(
            &shared.issuer,
            now,
            Issue {
                client_id: client.id.clone(),
                user: Some(user),
                scopes: record.scopes,
                auth_time: record.auth_time,
                nonce: record.nonce,
                origin_jti: None,
                refresh: true,
                family: None,
                extra: Map::new(),
                dpop_jkt: dpop.map(str::to_owned),
                trigger: TriggerSource::HostedAuth,
            },
        )
        .map_err(|e| OAuthError::server_error(e.to_string()))?;
    // Kept while the code could still be presented, to tell a replay from garbage.
    state.redeemed_codes.insert(
        code.to_owned(),
        RedeemedCode {
            origin_jti: tokens.origin_jti.clone(),
            family: tokens.family.clone(),
        },
        expires_at,
        now,
    );
    Ok(tokens.to_json())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::config::{Grant, MockConfig};
    use crate::mock::store::CodeRecord;

    #[test]
    fn a_code_of_a_user_deleted_since_is_invalid_grant() {
        let client = Client::public("spa")
            .redirect_uri("http://localhost/cb")
            .grants([Grant::AuthorizationCode])
            .scopes(["openid"]);
        let config = MockConfig {
            clients: vec![client.clone()],
            ..MockConfig::default()
        };
        let shared = Shared::for_tests(config);
        let now = shared.now();
        shared.state().codes.insert(
            "the-code".into(),
            CodeRecord {
                client_id: "spa".into(),
                redirect_uri: "http://localhost/cb".into(),
                username: "gone".into(),
                scopes: vec!["openid".into()],
                nonce: None,
                code_challenge: None,
                auth_time: now,
                expires_at: now + 300,
            },
            now + 300,
            now,
        );
        let params =
            Params::parse("code=the-code&redirect_uri=http%3A%2F%2Flocalhost%2Fcb").expect("ok");
        let err = exchange(&shared, &client, &params, None).expect_err("no such user");
        assert_eq!(err.error, "invalid_grant");
        assert!(shared.state().codes.is_empty(), "the code is consumed");
    }

    #[test]
    fn rfc7636_appendix_b() {
        assert!(verifies(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!verifies(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
    }

    #[test]
    fn verifier_shape() {
        assert!(valid_verifier(&"a~._-".repeat(9)));
        assert!(!valid_verifier(&"a".repeat(42)));
        assert!(!valid_verifier(&"a".repeat(129)));
        assert!(!valid_verifier(&format!("{}+", "a".repeat(43))));
    }
}
