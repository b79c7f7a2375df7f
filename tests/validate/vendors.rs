//! Vendor profiles: tokens shaped exactly like each vendor's documented access tokens (header,
//! `typ`, issuer form, claims), accepted; the wrong tenant, authorized party or audience, and
//! the vendor's own ID tokens, refused.

use tokengate::AuthErrorKind::*;
use tokengate::{ClaimPath, ScopeClaim};

use super::*;

const KEYCLOAK: &str = "https://sso.example.com/realms/acme";
const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const OTHER_TENANT: &str = "f8cdef31-a31e-4b4a-93e4-5f571e91255a";
const ENTRA_APP: &str = "6e74172b-be56-4843-9ff4-e66a39bb12e3";
const AUTH0: &str = "https://acme.eu.auth0.com/";
const OKTA: &str = "https://acme.okta.com/oauth2/default";

fn entra_issuer(tenant: &str) -> String {
    format!("https://login.microsoftonline.com/{tenant}/v2.0")
}

fn header(typ: Option<&str>) -> Value {
    let mut header = json!({"alg": "RS256", "kid": "rsa-1"});
    if let Some(typ) = typ {
        header["typ"] = json!(typ);
    }
    header
}

fn sign(typ: Option<&str>, claims: &Value) -> String {
    rsa().sign_token(&header(typ), claims)
}

fn names(set: &tokengate::NameSet) -> Vec<&str> {
    set.iter().collect()
}

// ---- Keycloak ------------------------------------------------------------------------------

/// A Keycloak 2x access token for user `alice` through client `orders-web`: `aud` is
/// `account` (no audience mapper), realm and client roles nested.
fn keycloak_access() -> Value {
    json!({
        "exp": T0 + 300,
        "iat": T0 - 10,
        "auth_time": T0 - 20,
        "jti": "onrtac:5d0b4b2e-8f7e-4a63-9b1d-3c7c5f4a2e11",
        "iss": KEYCLOAK,
        "aud": "account",
        "sub": "0b6f5e2c-9b0c-4d3e-8a8f-2f6d1c7a9e4b",
        "typ": "Bearer",
        "azp": "orders-web",
        "sid": "a1f3c9d2-0e8b-4b7f-9c1a-6d2e5f8a7b3c",
        "acr": "1",
        "allowed-origins": ["https://orders.example.com"],
        "realm_access": {"roles": ["default-roles-acme", "offline_access", "uma_authorization", "staff"]},
        "resource_access": {
            "orders-api": {"roles": ["orders.read", "orders.admin"]},
            "account": {"roles": ["manage-account", "view-profile"]}
        },
        "scope": "openid profile email",
        "email_verified": true,
        "name": "Alice Liddell",
        "preferred_username": "alice",
        "given_name": "Alice",
        "family_name": "Liddell",
        "email": "alice@example.com"
    })
}

fn keycloak() -> Authorizer {
    Authorizer::builder(Profile::keycloak().client_roles("orders-api"))
        .issuer(KEYCLOAK)
        .authorized_party("orders-web")
        .keys(keyset(&[rsa()]))
        .clock(ManualClock::new(T0))
        .build()
}

#[tokio::test]
async fn keycloak_access_token_is_accepted_with_realm_and_client_roles() {
    let claims = accepted(
        keycloak()
            .authorize::<()>(&sign(Some("JWT"), &keycloak_access()))
            .await,
    );
    assert_eq!(claims.client_id(), Some("orders-web"));
    assert_eq!(claims.authorized_party(), Some("orders-web"));
    assert_eq!(claims.username(), Some("alice"));
    assert_eq!(names(claims.scopes()), ["openid", "profile", "email"]);
    assert_eq!(
        names(claims.groups()),
        [
            "default-roles-acme",
            "offline_access",
            "uma_authorization",
            "staff",
            "orders.read",
            "orders.admin"
        ]
    );
}

#[tokio::test]
async fn keycloak_token_of_another_client_is_refused_by_authorized_party() {
    let claims = with(keycloak_access(), "azp", json!("billing-web"));
    let err = refused(
        keycloak()
            .authorize::<()>(&sign(Some("JWT"), &claims))
            .await,
        WrongClient,
    );
    assert_eq!(err.claim_name(), Some("azp"));
    let err = refused(
        keycloak()
            .authorize::<()>(&sign(Some("JWT"), &without(keycloak_access(), "azp")))
            .await,
        WrongClient,
    );
    assert_eq!(err.claim_name(), Some("azp"));
}

#[tokio::test]
async fn keycloak_id_and_refresh_tokens_are_refused() {
    let mut id = with(keycloak_access(), "typ", json!("ID"));
    id["aud"] = json!("orders-web");
    id["at_hash"] = json!("vWZRGtKh3oQkOg6n7kJ8yA");
    id["nonce"] = json!("n-0S6_WzA2Mj");
    let err = refused(
        keycloak().authorize::<()>(&sign(Some("JWT"), &id)).await,
        WrongTokenUse,
    );
    assert_eq!(err.claim_name(), Some("at_hash"));
    let id = without(id, "at_hash");
    let err = refused(
        keycloak().authorize::<()>(&sign(Some("JWT"), &id)).await,
        WrongTokenUse,
    );
    assert_eq!(err.claim_name(), Some("typ"));
    let refresh = with(keycloak_access(), "typ", json!("Refresh"));
    refused(
        keycloak()
            .authorize::<()>(&sign(Some("JWT"), &refresh))
            .await,
        WrongTokenUse,
    );
    // Keycloak copies `nonce` into access tokens: not a sign of an ID token there.
    let with_nonce = with(keycloak_access(), "nonce", json!("n-0S6_WzA2Mj"));
    accepted(
        keycloak()
            .authorize::<()>(&sign(Some("JWT"), &with_nonce))
            .await,
    );
}

#[tokio::test]
async fn keycloak_wrong_realm_is_refused() {
    let claims = with(
        keycloak_access(),
        "iss",
        json!("https://sso.example.com/realms/other"),
    );
    refused(
        keycloak()
            .authorize::<()>(&sign(Some("JWT"), &claims))
            .await,
        WrongIssuer,
    );
}

#[tokio::test]
async fn keycloak_roles_of_the_wrong_shape_are_malformed_but_other_clients_are_not_read() {
    let mut claims = keycloak_access();
    claims["realm_access"] = json!({"roles": "staff admin"});
    let claims = accepted(
        keycloak()
            .authorize::<()>(&sign(Some("JWT"), &claims))
            .await,
    );
    assert!(
        claims.groups().contains("admin"),
        "a string is space separated"
    );
    for bad in [
        json!({"roles": 5}),
        json!("staff"),
        json!({"roles": [["x"]]}),
    ] {
        let claims = with(keycloak_access(), "realm_access", bad);
        let err = refused(
            keycloak()
                .authorize::<()>(&sign(Some("JWT"), &claims))
                .await,
            MalformedClaim,
        );
        assert_eq!(err.claim_name(), Some("realm_access.roles"));
    }
    // Roles of a client nobody reads may have any shape.
    let mut claims = keycloak_access();
    claims["resource_access"]["account"] = json!({"roles": 42});
    accepted(
        keycloak()
            .authorize::<()>(&sign(Some("JWT"), &claims))
            .await,
    );
}

#[tokio::test]
async fn keycloak_client_ids_with_dots_are_one_member() {
    let mut claims = keycloak_access();
    claims["resource_access"] =
        json!({"orders.api": {"roles": ["dotted"]}, "orders": {"api": {"roles": ["nested"]}}});
    let auth = Authorizer::builder(Profile::keycloak().client_roles("orders.api"))
        .issuer(KEYCLOAK)
        .authorized_party("orders-web")
        .keys(keyset(&[rsa()]))
        .clock(ManualClock::new(T0))
        .build();
    let claims = accepted(auth.authorize::<()>(&sign(Some("JWT"), &claims)).await);
    assert!(claims.groups().contains("dotted"));
    assert!(!claims.groups().contains("nested"));
}

#[tokio::test]
async fn keycloak_one_line_setup_discovers_keys_from_the_issuer() {
    let server = jwks_server().await;
    let mut claims = keycloak_access();
    claims["iss"] = json!(server.base);
    let auth = Authorizer::keycloak(&server.base)
        .expect("issuer URL")
        .authorized_party("orders-web")
        .clock(ManualClock::new(T0))
        .build()
        .expect("valid authorizer settings");
    let claims = accepted(auth.authorize::<()>(&sign(Some("JWT"), &claims)).await);
    assert!(claims.groups().contains("staff"));
    assert_eq!(server.discovery_hits(), 1);
}

async fn jwks_server() -> crate::jwks_server::JwksServer {
    crate::jwks_server::JwksServer::start(jwks(&[rsa()])).await
}

// ---- Entra ID v2.0 ---------------------------------------------------------------------------

/// An Entra ID v2.0 access token for a web API (`aud` = its app id), delegated scope and an
/// app role, issued in tenant `tenant`.
fn entra_access(tenant: &str) -> Value {
    json!({
        "aud": ENTRA_APP,
        "iss": entra_issuer(tenant),
        "iat": T0 - 10,
        "nbf": T0 - 10,
        "exp": T0 + 3600,
        "aio": "AXQAi/8IAAAAtAaZLo3ChMif6KOnttRB7eBq4/DccQzjcJGxPYy/C3jDaNGxXd6wNIIVGRghNRnwJ1lOcAnNZcjvkoyrFxCttv33140RioOFJ4bCCGVuoCag1uOTT22222gHwLPYQ/uf79QX+0KIijdrmp69RctzmQ==",
        "azp": "a4a9bc1e-3c12-4a0e-b1b9-5f7d2e6c8a90",
        "azpacr": "0",
        "name": "Abe Lincoln",
        "oid": "690222be-ff1a-4d56-abd1-7e4f7d38e474",
        "preferred_username": "abeli@contoso.com",
        "rh": "I",
        "roles": ["Orders.Admin"],
        "scp": "access_as_user Orders.Read",
        "sub": "HKZpfaHyWadeOouYlitjrI-KffTm222X5rrV3xDqfKQ",
        "tid": tenant,
        "uti": "fqiBqXLPj0eQa82S-IYFAA",
        "ver": "2.0"
    })
}

fn entra_builder(tenants: &[&str]) -> Ready {
    Authorizer::builder(Profile::entra())
        .issuer("https://login.microsoftonline.com/{tenantid}/v2.0")
        .tenants(tenants.iter().copied())
        .audience(ENTRA_APP)
        .keys(keyset(&[rsa()]))
        .clock(ManualClock::new(T0))
}

#[tokio::test]
async fn entra_single_tenant_token_is_accepted() {
    let auth = entra_builder(&[TENANT]).build();
    let claims = accepted(
        auth.authorize::<()>(&sign(Some("JWT"), &entra_access(TENANT)))
            .await,
    );
    assert_eq!(names(claims.scopes()), ["access_as_user", "Orders.Read"]);
    assert_eq!(names(claims.groups()), ["Orders.Admin"]);
    assert_eq!(
        claims.client_id(),
        Some("a4a9bc1e-3c12-4a0e-b1b9-5f7d2e6c8a90")
    );
    assert_eq!(claims.username(), Some("abeli@contoso.com"));
}

#[tokio::test]
async fn entra_one_line_setup_checks_the_tenant_of_its_issuer() {
    let issuer = entra_issuer(TENANT);
    let auth = Authorizer::entra(&issuer)
        .expect("issuer URL")
        .audience(ENTRA_APP)
        .keys(keyset(&[rsa()]))
        .clock(ManualClock::new(T0))
        .build();
    assert_eq!(auth.issuers().collect::<Vec<_>>(), [issuer]);
    accepted(
        auth.authorize::<()>(&sign(Some("JWT"), &entra_access(TENANT)))
            .await,
    );
    // The right issuer, but a `tid` of another tenant: refused.
    let claims = with(entra_access(TENANT), "tid", json!(OTHER_TENANT));
    refused(
        auth.authorize::<()>(&sign(Some("JWT"), &claims)).await,
        WrongIssuer,
    );
}

#[tokio::test]
async fn entra_several_tenants_by_allowlist_check_issuer_against_tid() {
    let auth = entra_builder(&[TENANT, OTHER_TENANT]).build();
    assert_eq!(auth.issuers().count(), 2);
    for tenant in [TENANT, OTHER_TENANT] {
        accepted(
            auth.authorize::<()>(&sign(Some("JWT"), &entra_access(tenant)))
                .await,
        );
    }
    // A tenant outside the allowlist, with its own consistent issuer and tid.
    let stranger = "0d7a4a36-5f0b-4b5a-9a6e-8f1c2b3d4e5f";
    refused(
        auth.authorize::<()>(&sign(Some("JWT"), &entra_access(stranger)))
            .await,
        WrongIssuer,
    );
    // An allowed issuer, but the token's own tenant is another one.
    let claims = with(entra_access(TENANT), "tid", json!(OTHER_TENANT));
    refused(
        auth.authorize::<()>(&sign(Some("JWT"), &claims)).await,
        WrongIssuer,
    );
    let claims = with(entra_access(TENANT), "tid", json!(stranger));
    refused(
        auth.authorize::<()>(&sign(Some("JWT"), &claims)).await,
        WrongIssuer,
    );
    // No tid at all.
    refused(
        auth.authorize::<()>(&sign(Some("JWT"), &without(entra_access(TENANT), "tid")))
            .await,
        MissingClaim,
    );
}

#[tokio::test]
async fn a_tenant_allowlist_holds_with_the_issuer_check_skipped_or_exact() {
    let skipped = Authorizer::builder(Profile::entra())
        .skip_issuer_check()
        .tenants([TENANT])
        .audience(ENTRA_APP)
        .keys(keyset(&[rsa()]))
        .clock(ManualClock::new(T0))
        .build();
    accepted(
        skipped
            .authorize::<()>(&sign(Some("JWT"), &entra_access(TENANT)))
            .await,
    );
    refused(
        skipped
            .authorize::<()>(&sign(Some("JWT"), &entra_access(OTHER_TENANT)))
            .await,
        WrongIssuer,
    );
    let exact = Authorizer::builder(Profile::entra())
        .issuer(entra_issuer(TENANT))
        .tenants([TENANT])
        .audience(ENTRA_APP)
        .keys(keyset(&[rsa()]))
        .clock(ManualClock::new(T0))
        .build();
    accepted(
        exact
            .authorize::<()>(&sign(Some("JWT"), &entra_access(TENANT)))
            .await,
    );
    let claims = with(entra_access(TENANT), "tid", json!(OTHER_TENANT));
    refused(
        exact.authorize::<()>(&sign(Some("JWT"), &claims)).await,
        WrongIssuer,
    );
}

#[tokio::test]
async fn entra_token_for_another_api_is_refused() {
    let auth = entra_builder(&[TENANT]).build();
    let claims = with(entra_access(TENANT), "aud", json!("api://billing"));
    refused(
        auth.authorize::<()>(&sign(Some("JWT"), &claims)).await,
        WrongAudience,
    );
}

#[tokio::test]
async fn entra_id_token_with_the_api_as_audience_is_refused() {
    // An SPA that is its own API: its ID token's `aud` is the same app id.
    let id_token = json!({
        "aud": ENTRA_APP,
        "iss": entra_issuer(TENANT),
        "iat": T0 - 10,
        "nbf": T0 - 10,
        "exp": T0 + 3600,
        "name": "Abe Lincoln",
        "nonce": "123523",
        "oid": "00000000-0000-0000-66f3-3332eca7ea81",
        "preferred_username": "abeli@contoso.com",
        "rh": "I",
        "sub": "HKZpfaHyWadeOouYlitjrI-KffTm222X5rrV3xDqfKQ",
        "tid": TENANT,
        "uti": "fqiBqXLPj0eQa82S-IYFAA",
        "ver": "2.0"
    });
    let auth = entra_builder(&[TENANT]).build();
    let err = refused(
        auth.authorize::<()>(&sign(Some("JWT"), &id_token)).await,
        WrongTokenUse,
    );
    assert_eq!(err.claim_name(), Some("nonce"));
    // Without a nonce it still lacks what every v2.0 access token has: `azp`.
    let err = refused(
        auth.authorize::<()>(&sign(Some("JWT"), &without(id_token, "nonce")))
            .await,
        MissingClaim,
    );
    assert_eq!(err.claim_name(), Some("azp"));
}

#[tokio::test]
async fn entra_required_claim_values() {
    let auth = entra_builder(&[TENANT])
        .require_claim("azpacr", ["1", "2"])
        .build();
    let err = refused(
        auth.authorize::<()>(&sign(Some("JWT"), &entra_access(TENANT)))
            .await,
        ClaimMismatch,
    );
    assert_eq!(err.claim_name(), Some("azpacr"));
    let claims = with(entra_access(TENANT), "azpacr", json!("2"));
    accepted(auth.authorize::<()>(&sign(Some("JWT"), &claims)).await);
    let err = refused(
        auth.authorize::<()>(&sign(Some("JWT"), &without(entra_access(TENANT), "azpacr")))
            .await,
        MissingClaim,
    );
    assert_eq!(err.claim_name(), Some("azpacr"));
}

// ---- Auth0 -------------------------------------------------------------------------------------

/// An Auth0 access token (Auth0 token dialect, RBAC with permissions, a namespaced roles claim).
fn auth0_access() -> Value {
    json!({
        "https://example.com/roles": ["admin"],
        "iss": AUTH0,
        "sub": "auth0|123456",
        "aud": ["https://api.acme.example", "https://acme.eu.auth0.com/userinfo"],
        "iat": T0 - 10,
        "exp": T0 + 86400,
        "scope": "openid profile read:orders write:orders",
        "azp": "my_client_id",
        "permissions": ["read:orders"]
    })
}

fn auth0(profile: Profile) -> Authorizer {
    Authorizer::builder(profile)
        .issuer(AUTH0)
        .audience("https://api.acme.example")
        .client_id("my_client_id")
        .keys(keyset(&[rsa()]))
        .clock(ManualClock::new(T0))
        .build()
}

#[tokio::test]
async fn auth0_access_token_reads_permissions_and_namespaced_roles() {
    let profile = Profile::auth0()
        .scope_claims([ScopeClaim::Permissions])
        .groups_claims(["https://example.com/roles"]);
    let claims = accepted(
        auth0(profile)
            .authorize::<()>(&sign(Some("JWT"), &auth0_access()))
            .await,
    );
    assert_eq!(names(claims.scopes()), ["read:orders"]);
    assert_eq!(names(claims.groups()), ["admin"]);
    assert_eq!(claims.client_id(), Some("my_client_id"));
    // The default reads `scope`.
    let claims = accepted(
        auth0(Profile::auth0())
            .authorize::<()>(&sign(Some("JWT"), &auth0_access()))
            .await,
    );
    assert!(claims.scopes().contains("write:orders"));
    assert!(claims.groups().is_empty());
}

#[tokio::test]
async fn auth0_rfc9068_dialect_names_the_client_in_client_id() {
    let mut claims = without(auth0_access(), "azp");
    claims["client_id"] = json!("my_client_id");
    claims["jti"] = json!("73WakrfVbNJBaAmhQtEeDv");
    accepted(
        auth0(Profile::auth0())
            .authorize::<()>(&sign(Some("at+jwt"), &claims))
            .await,
    );
}

#[tokio::test]
async fn auth0_token_for_another_api_or_client_is_refused() {
    let claims = with(auth0_access(), "aud", json!("https://other.example"));
    refused(
        auth0(Profile::auth0())
            .authorize::<()>(&sign(Some("JWT"), &claims))
            .await,
        WrongAudience,
    );
    let claims = with(auth0_access(), "azp", json!("someone_else"));
    let err = refused(
        auth0(Profile::auth0())
            .authorize::<()>(&sign(Some("JWT"), &claims))
            .await,
        WrongClient,
    );
    assert_eq!(err.claim_name(), Some("azp"));
    // The issuer without its trailing slash is another issuer.
    let claims = with(auth0_access(), "iss", json!("https://acme.eu.auth0.com"));
    refused(
        auth0(Profile::auth0())
            .authorize::<()>(&sign(Some("JWT"), &claims))
            .await,
        WrongIssuer,
    );
}

// ---- Okta --------------------------------------------------------------------------------------

/// An Okta custom authorization server's access token (no `typ` in the header).
fn okta_access() -> Value {
    json!({
        "ver": 1,
        "jti": "AT.0mP4JKAZX1iACIT4vbEDF7LpvDVjxypPMf0D7uX39RE",
        "iss": OKTA,
        "aud": "api://default",
        "sub": "alice@example.com",
        "iat": T0 - 10,
        "exp": T0 + 3600,
        "cid": "0oaoesxtxmPf08QHk0h7",
        "uid": "00uk1u7AsAk6dZL3z0g3",
        "scp": ["openid", "email", "orders:read"],
        "auth_time": T0 - 20,
        "groups": ["Everyone", "Orders Admins"]
    })
}

fn okta() -> Authorizer {
    Authorizer::builder(Profile::okta())
        .issuer(OKTA)
        .audience("api://default")
        .client_id("0oaoesxtxmPf08QHk0h7")
        .keys(keyset(&[rsa()]))
        .clock(ManualClock::new(T0))
        .build()
}

#[tokio::test]
async fn okta_access_token_is_accepted() {
    let claims = accepted(okta().authorize::<()>(&sign(None, &okta_access())).await);
    assert_eq!(names(claims.scopes()), ["openid", "email", "orders:read"]);
    assert_eq!(names(claims.groups()), ["Everyone", "Orders Admins"]);
    assert_eq!(claims.client_id(), Some("0oaoesxtxmPf08QHk0h7"));
}

#[tokio::test]
async fn okta_token_of_another_client_or_audience_is_refused() {
    let claims = with(okta_access(), "cid", json!("0oaother"));
    let err = refused(
        okta().authorize::<()>(&sign(None, &claims)).await,
        WrongClient,
    );
    assert_eq!(err.claim_name(), Some("cid"));
    let claims = with(okta_access(), "aud", json!("api://other"));
    refused(
        okta().authorize::<()>(&sign(None, &claims)).await,
        WrongAudience,
    );
}

#[tokio::test]
async fn okta_id_token_is_refused() {
    let id_token = json!({
        "sub": "00uk1u7AsAk6dZL3z0g3",
        "ver": 1,
        "iss": OKTA,
        "aud": "api://default",
        "iat": T0 - 10,
        "exp": T0 + 3600,
        "jti": "ID.radCQMOQUmyvcTBmmIL0J6BaS60apUEiC7-vI7pOmkw",
        "amr": ["pwd"],
        "idp": "00ok1u7AsAk6dZL3z0g3",
        "auth_time": T0 - 20,
        "at_hash": "fPlsvVszI29LU2UhDyJ9vg"
    });
    let err = refused(
        okta().authorize::<()>(&sign(None, &id_token)).await,
        WrongTokenUse,
    );
    assert_eq!(err.claim_name(), Some("at_hash"));
}

// ---- claim paths on any profile --------------------------------------------------------------

#[tokio::test]
async fn groups_from_several_paths_and_a_namespaced_url() {
    let profile = Profile::generic().groups_claims([
        ClaimPath::parse("realm_access.roles"),
        ClaimPath::parse("https://example.com/roles"),
        ClaimPath::from_segments(["resource_access", "api.v2", "roles"]),
    ]);
    let auth = Authorizer::builder(profile)
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .keys(keyset(&[rsa()]))
        .clock(ManualClock::new(T0))
        .build();
    let mut claims = generic_claims();
    claims["realm_access"] = json!({"roles": ["staff"]});
    claims["https://example.com/roles"] = json!("admin staff");
    claims["resource_access"] = json!({"api.v2": {"roles": ["writer"]}});
    claims["https://example"] = json!({"com/roles": ["not-read"]});
    let claims = accepted(auth.authorize::<()>(&rsa().token(&claims)).await);
    assert_eq!(names(claims.groups()), ["staff", "admin", "writer"]);
}
