//! Client authentication at the token, revocation and introspection endpoints:
//! `client_secret_basic`, `client_secret_post`, or a public client's `client_id` alone.

use aws_lc_rs::constant_time::verify_slices_are_equal;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::mock::config::Client;
use crate::mock::error::OAuthError;
use crate::mock::form::Params;
use crate::mock::store::State;

/// The `client_id` and `client_secret` of an `Authorization: Basic` header (RFC 6749 §2.3.1:
/// each form-urlencoded, then joined by `:` and base64-encoded).
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(OAuthError::invalid_request(
            "more than one Authorization header",
        ));
    }
    let bad = || OAuthError::invalid_client(true);
    let value = value.to_str().map_err(|_| bad())?;
    let (scheme, encoded) = value.split_once(' ').ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(bad());
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
    let id = Params::parse(&format!("v={id}"))
        .ok()
        .and_then(|p| p.get("v").map(str::to_owned))
        .ok_or_else(bad)?;
    let secret = Params::parse(&format!("v={secret}"))
        .ok()
        .and_then(|p| p.get("v").map(str::to_owned))
        .unwrap_or_default();
    Ok(Some((id, secret)))
}

/// Authenticates the client of a request; returns it.
///
/// A confidential client must present its secret, by Basic or in the body but not both; a
/// public client presents only `client_id`. Unknown clients and wrong secrets are
/// `invalid_client` (401 with a Basic challenge when Basic was used).
pub(crate) fn authenticate(
    state: &State,
    headers: &HeaderMap,
    params: &Params,
) -> Result<Client, OAuthError> {
    let basic = basic_credentials(headers)?;
    let used_basic = basic.is_some();
    let (id, secret) = match (basic, params.get("client_secret")) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(
                "the client authenticated in more than one way",
            ));
        }
        (Some((id, secret)), None) => {
            if params.get("client_id").is_some_and(|body_id| body_id != id) {
                return Err(OAuthError::invalid_request(
                    "client_id differs from the authenticated client",
                ));
            }
            (id, Some(secret))
        }
        (None, secret) => {
            let id = params
                .get("client_id")
                .ok_or_else(|| OAuthError::invalid_client(false))?;
            (id.to_owned(), secret.map(str::to_owned))
        }
    };
    let client = state
        .client(&id)
        .ok_or_else(|| OAuthError::invalid_client(used_basic))?;
    match (&client.secret, secret) {
        (Some(expected), Some(given))
            if verify_slices_are_equal(expected.as_bytes(), given.as_bytes()).is_ok() =>
        {
            Ok(client.clone())
        }
        (None, None) => Ok(client.clone()),
        _ => Err(OAuthError::invalid_client(used_basic)),
    }
}
