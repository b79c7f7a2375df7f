//! Rule 5: your own claims, read into `T`.

use std::collections::HashMap;

use serde::Deserialize;
use tokengate::AuthErrorKind::*;

use super::*;

#[derive(Debug, Deserialize)]
struct Tenant {
    tenant: String,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(rename = "custom:plan")]
    plan: Option<String>,
}

fn tenant_claims() -> Value {
    with(
        with(
            with(access_claims(), "tenant", json!("acme")),
            "roles",
            json!(["owner", "billing"]),
        ),
        "custom:plan",
        json!("gold"),
    )
}

#[tokio::test]
async fn reads_custom_claims_through_deref_and_custom() {
    let token = rsa().token(&tenant_claims());
    let claims: Claims<Tenant> = accepted(rsa_access().authorize::<Tenant>(&token).await);
    assert_eq!(claims.tenant, "acme");
    assert_eq!(claims.roles, ["owner", "billing"]);
    assert_eq!(claims.plan.as_deref(), Some("gold"));
    assert_eq!(claims.custom().tenant, "acme");
    // The registered claims are still there.
    assert_eq!(claims.username(), Some("alice"));
    assert!(claims.scopes().contains("api/write"));
    // Clones share the claims.
    let clone = claims.clone();
    assert_eq!(clone.tenant, "acme");
}

#[tokio::test]
async fn rejects_custom_claims_missing_a_required_field() {
    let token = rsa().token(&without(tenant_claims(), "tenant"));
    let err = refused(
        rsa_access().authorize::<Tenant>(&token).await,
        MalformedClaim,
    );
    assert_eq!(err.claim_name(), Some("custom claims"));
    // The same token is fine for `()`.
    accepted(rsa_access().authorize::<()>(&token).await);
}

#[tokio::test]
async fn rejects_custom_claim_of_the_wrong_type() {
    let token = rsa().token(&with(tenant_claims(), "roles", json!("owner")));
    refused(
        rsa_access().authorize::<Tenant>(&token).await,
        MalformedClaim,
    );
}

#[tokio::test]
async fn rejects_duplicate_custom_claim() {
    let mut payload = serde_json::to_string(&tenant_claims()).expect("json");
    payload.insert_str(1, r#""tenant":"evil","#);
    let token = sign_raw(
        rsa(),
        Algorithm::RS256,
        r#"{"alg":"RS256","kid":"rsa-1"}"#,
        &payload,
    );
    refused(
        rsa_access().authorize::<Tenant>(&token).await,
        MalformedClaim,
    );
}

#[tokio::test]
async fn checks_registered_claims_before_custom_claims() {
    let claims = with(without(tenant_claims(), "tenant"), "exp", json!(T0 - 3600));
    let token = rsa().token(&claims);
    refused(rsa_access().authorize::<Tenant>(&token).await, Expired);
}

#[tokio::test]
async fn unit_claims_read_nothing_extra() {
    let token = rsa().token(&tenant_claims());
    let claims: Claims = accepted(rsa_access().authorize::<()>(&token).await);
    let () = *claims.custom();
    assert_eq!(claims.username(), Some("alice"));
}

#[tokio::test]
async fn reads_whole_payload_into_a_map() {
    let token = rsa().token(&tenant_claims());
    let claims = accepted(
        rsa_access()
            .authorize::<HashMap<String, Value>>(&token)
            .await,
    );
    assert_eq!(claims["tenant"], "acme");
    assert_eq!(claims["token_use"], "access");
    assert_eq!(claims.get("version"), Some(&json!(2)));
}
