//! What Cognito refuses to configure, refused here the same way wherever a configuration comes
//! from: [`MockIssuerBuilder::start`](crate::mock::MockIssuerBuilder::start) (the TOML file of
//! `tokengate-mock` goes through it), and every change of the test API and the admin API,
//! each checked as the whole configuration it would make. The first problem found is the
//! error, naming the entry and the rule.

use std::collections::HashSet;

use crate::claims::is_scope_token;
use crate::mock::config::{
    Client, Grant, Lifetimes, MockConfig, ResourceServer, TrustedIssuer, User, issuer_path,
};
use crate::mock::scopes::RESERVED;

/// Cognito's bounds on access and ID token lifetimes: 5 minutes to 1 day.
const ACCESS_AND_ID: (u64, u64) = (300, 86_400);
/// Cognito's bounds on refresh token lifetimes: 60 minutes to 10 years (3,650 days).
const REFRESH: (u64, u64) = (3_600, 3_650 * 86_400);
/// Cognito's longest grace period for a rotated refresh token.
pub(crate) const MAX_ROTATION_GRACE: u64 = 60;

/// Every rule, over the whole configuration.
pub(crate) fn check(config: &MockConfig) -> Result<(), String> {
    if let Some(issuer) = &config.issuer {
        issuer_path(issuer)?;
    }
    lifetimes(&config.lifetimes)?;
    let mut identifiers = HashSet::new();
    for server in &config.resource_servers {
        resource_server(server)?;
        if !identifiers.insert(server.identifier.as_str()) {
            return Err(format!(
                "resource server `{}` is defined twice",
                server.identifier
            ));
        }
    }
    let custom: HashSet<String> = config
        .resource_servers
        .iter()
        .flat_map(ResourceServer::full_scopes)
        .collect();
    let mut ids = HashSet::new();
    for c in &config.clients {
        client(c, &custom).map_err(|e| format!("client `{}`: {e}", c.id))?;
        if !ids.insert(c.id.as_str()) {
            return Err(format!("client `{}` is defined twice", c.id));
        }
    }
    users(config)?;
    for trusted in &config.trusted_issuers {
        trusted_issuer(trusted).map_err(|e| format!("trusted issuer `{}`: {e}", trusted.issuer))?;
    }
    for (i, customization) in config.token_customizations.iter().enumerate() {
        customization
            .changes
            .check()
            .map_err(|e| format!("token customization {}: {e}", i + 1))?;
    }
    Ok(())
}

/// A required text field must not be blank.
fn required(name: &str, value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        Err(format!("`{name}` must not be empty"))
    } else {
        Ok(())
    }
}

fn lifetimes(lifetimes: &Lifetimes) -> Result<(), String> {
    let within = |name: &str, value: u64, (min, max): (u64, u64), range: &str| {
        if (min..=max).contains(&value) {
            Ok(())
        } else {
            Err(format!(
                "`lifetimes.{name}` is {value} s; Cognito allows {min} to {max} s ({range})"
            ))
        }
    };
    within(
        "access_token",
        lifetimes.access_token,
        ACCESS_AND_ID,
        "5 minutes to 1 day",
    )?;
    within(
        "id_token",
        lifetimes.id_token,
        ACCESS_AND_ID,
        "5 minutes to 1 day",
    )?;
    within(
        "refresh_token",
        lifetimes.refresh_token,
        REFRESH,
        "60 minutes to 10 years",
    )?;
    // Not Cognito settings (its codes live 5 minutes; it has no device grant), but a code
    // that expires as it is issued could never be used.
    for (name, value) in [
        ("authorization_code", lifetimes.authorization_code),
        ("device_code", lifetimes.device_code),
    ] {
        if value == 0 {
            return Err(format!("`lifetimes.{name}` must be at least 1 s"));
        }
    }
    Ok(())
}

/// Cognito's patterns: identifiers are printable ASCII without `"` or `\`; scope names also
/// without `/` (it joins identifier and name).
fn resource_server(server: &ResourceServer) -> Result<(), String> {
    let printable = |s: &str, extra: &[u8]| {
        !s.is_empty()
            && s.bytes().all(|b| {
                (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\' && !extra.contains(&b)
            })
    };
    required("identifier", &server.identifier)?;
    if !printable(&server.identifier, &[]) {
        return Err(format!(
            "resource server identifier `{}` must be printable ASCII without spaces, `\"` or `\\`",
            server.identifier
        ));
    }
    for scope in &server.scopes {
        if !printable(scope, b"/") {
            return Err(format!(
                "resource server `{}`: scope name `{scope}` must be printable ASCII without \
                 spaces, `/`, `\"` or `\\`",
                server.identifier
            ));
        }
    }
    Ok(())
}

fn client(client: &Client, custom: &HashSet<String>) -> Result<(), String> {
    required("id", &client.id)?;
    let user_grants = [Grant::AuthorizationCode, Grant::Implicit, Grant::DeviceCode];
    if client.allows(Grant::ClientCredentials) {
        if client.secret.is_none() {
            return Err("client_credentials needs a client secret".into());
        }
        if let Some(grant) = user_grants.iter().find(|g| client.allows(**g)) {
            return Err(format!(
                "client_credentials cannot be combined with {}",
                grant.grant_type().unwrap_or("implicit")
            ));
        }
    }
    let browser = client.allows(Grant::AuthorizationCode) || client.allows(Grant::Implicit);
    if browser && client.redirect_uris.is_empty() {
        return Err("the authorization code and implicit grants need a redirect URI".into());
    }
    for uri in &client.redirect_uris {
        redirect_uri("redirect URI", uri)?;
    }
    for uri in &client.logout_uris {
        redirect_uri("sign-out URL", uri)?;
    }
    for scope in &client.scopes {
        if !is_scope_token(scope) {
            return Err(format!(
                "scope `{scope}` has characters a scope cannot have"
            ));
        }
        if !RESERVED.contains(&scope.as_str()) && !custom.contains(scope) {
            return Err(format!(
                "scope `{scope}` is neither a reserved scope ({}) nor a custom scope of a \
                 resource server",
                RESERVED.join(", ")
            ));
        }
    }
    if client.rotation_grace_seconds > MAX_ROTATION_GRACE {
        return Err(format!(
            "`rotation_grace_seconds` is {}; Cognito allows 0 to {MAX_ROTATION_GRACE}",
            client.rotation_grace_seconds
        ));
    }
    Ok(())
}

/// Cognito's rules for callback and sign-out URLs: absolute, no fragment, HTTPS — HTTP only
/// for `http://localhost` — or an app scheme (`myapp://callback`).
fn redirect_uri(what: &str, uri: &str) -> Result<(), String> {
    let url = reqwest::Url::parse(uri).map_err(|_| format!("{what} `{uri}` must be absolute"))?;
    if url.fragment().is_some() {
        return Err(format!("{what} `{uri}` must not have a fragment"));
    }
    if url.scheme() == "http" && url.host_str() != Some("localhost") {
        return Err(format!(
            "{what} `{uri}` must use https; Cognito allows http only for http://localhost"
        ));
    }
    Ok(())
}

fn users(config: &MockConfig) -> Result<(), String> {
    for (i, user) in config.users.iter().enumerate() {
        required("username", &user.username)?;
        let earlier = &config.users[..i];
        if let Some(other) = earlier
            .iter()
            .find(|u| config.same_name(&u.username, &user.username))
        {
            return Err(format!(
                "user `{}` is defined twice (as `{}` too; this pool's user names are {})",
                user.username,
                other.username,
                if config.case_sensitive_usernames {
                    "case-sensitive"
                } else {
                    "case-insensitive"
                }
            ));
        }
        if let Some(email) = &user.email
            && config.signs_in_with_email()
            && let Some(other) = earlier.iter().find(|u| {
                u.email
                    .as_deref()
                    .is_some_and(|e| e.to_lowercase() == email.to_lowercase())
            })
        {
            return Err(format!(
                "users `{}` and `{}` share the email `{email}`, which this pool signs in with",
                other.username, user.username
            ));
        }
        if let Some(phone) = &user.phone_number
            && config.signs_in_with_phone()
            && let Some(other) = earlier
                .iter()
                .find(|u| u.phone_number.as_deref() == Some(phone))
        {
            return Err(format!(
                "users `{}` and `{}` share the phone number `{phone}`, which this pool signs \
                 in with",
                other.username, user.username
            ));
        }
        user_attributes(user)?;
    }
    Ok(())
}

/// Attribute names are Cognito's: standard ones (`name`, `locale` …) or `custom:*`; the ones
/// with a field of their own are set there.
fn user_attributes(user: &User) -> Result<(), String> {
    for name in user.attributes.keys() {
        if matches!(
            name.as_str(),
            "sub" | "email" | "email_verified" | "phone_number" | "phone_number_verified"
        ) {
            return Err(format!(
                "user `{}`: set `{name}` with its own field, not in `attributes`",
                user.username
            ));
        }
    }
    Ok(())
}

fn trusted_issuer(trusted: &TrustedIssuer) -> Result<(), String> {
    required("issuer", &trusted.issuer)?;
    required("jwks_uri", &trusted.jwks_uri)?;
    if trusted.client_id.is_none() && trusted.audience.is_none() {
        return Err(
            "set `client_id` or `audience`: without either, tokens meant for anyone would be \
             accepted"
                .into(),
        );
    }
    Ok(())
}
