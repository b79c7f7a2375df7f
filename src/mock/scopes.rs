//! Which scopes a request gets, by Cognito's rules.

use crate::claims::is_scope_token;
use crate::mock::config::Client;
use crate::mock::error::OAuthError;
use crate::mock::error::sanitize;
use crate::mock::store::State;

/// Cognito's reserved scopes.
pub(crate) const RESERVED: [&str; 5] = [
    "openid",
    "email",
    "phone",
    "profile",
    "aws.cognito.signin.user.admin",
];

/// The scopes granted for `requested` (space separated), or every scope the client may ask
/// for when nothing is asked.
///
/// Each asked scope must be allowed for the client and exist (a reserved scope, or a custom
/// scope of a resource server); `email`, `phone` and `profile` need `openid`. With
/// `custom_only` (client credentials), only custom scopes may be asked and the default is the
/// client's custom scopes.
pub(crate) fn resolve(
    state: &State,
    client: &Client,
    requested: Option<&str>,
    custom_only: bool,
) -> Result<Vec<String>, OAuthError> {
    let custom = state.custom_scopes();
    let exists = |s: &str| RESERVED.contains(&s) || custom.iter().any(|c| c == s);
    let allowed = |s: &str| client.scopes.iter().any(|c| c == s) && exists(s);
    let scopes: Vec<String> = match requested {
        None => client
            .scopes
            .iter()
            .filter(|s| allowed(s) && (!custom_only || !RESERVED.contains(&s.as_str())))
            .cloned()
            .collect(),
        Some(requested) => {
            let mut out: Vec<String> = Vec::new();
            for scope in requested.split(' ').filter(|s| !s.is_empty()) {
                if !is_scope_token(scope) {
                    return Err(OAuthError::invalid_scope("a scope has invalid characters"));
                }
                if custom_only && RESERVED.contains(&scope) {
                    return Err(OAuthError::invalid_scope(format!(
                        "`{}` is not a custom scope",
                        sanitize(scope)
                    )));
                }
                if !allowed(scope) {
                    return Err(OAuthError::invalid_scope(format!(
                        "`{}` is not allowed for this client",
                        sanitize(scope)
                    )));
                }
                if !out.iter().any(|s| s == scope) {
                    out.push(scope.to_owned());
                }
            }
            out
        }
    };
    let has_openid = scopes.iter().any(|s| s == "openid");
    if !has_openid
        && scopes
            .iter()
            .any(|s| matches!(s.as_str(), "email" | "phone" | "profile"))
    {
        return Err(OAuthError::invalid_scope(
            "`email`, `phone` and `profile` need `openid`",
        ));
    }
    if scopes.is_empty() {
        return Err(OAuthError::invalid_scope("no scope can be granted"));
    }
    Ok(scopes)
}
