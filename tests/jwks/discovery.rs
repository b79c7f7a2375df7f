//! Discovery and the limits on every fetch: a bad document is a clear error and no keys.

use std::time::Duration;

use tokengate::{Authorizer, Error, ErrorKind, KeyStatus, Profile, RemoteJwks};

use crate::jwks_server::Mode;
use crate::support::{AUDIENCE, TestKey, jwks};
use crate::{JwksServer, authorizer_with, claims, clock, ec_key};

fn discovering(server: &JwksServer, clock: &tokengate::ManualClock) -> Authorizer {
    Authorizer::builder(Profile::generic())
        .issuer(&server.base)
        .audience(AUDIENCE)
        .remote_jwks(RemoteJwks::discover(&server.base).expect("valid issuer"))
        .clock(clock.clone())
        .build()
        .expect("valid authorizer settings")
}

/// The fetch error behind a failed `ready()`.
fn cause(err: &Error) -> &ErrorKind {
    match err.kind() {
        ErrorKind::KeysUnavailable { source, .. } => source.kind(),
        other => panic!("expected KeysUnavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn discovery_finds_the_key_set_through_openid_configuration() {
    let key = ec_key("k");
    let server = JwksServer::start(jwks(&[&key])).await;
    let clock = clock();
    let authorizer = discovering(&server, &clock);
    let token = key.token(&claims(&server.base, &clock));
    authorizer.authorize::<()>(&token).await.expect("valid");
    assert_eq!(server.discovery_hits(), 1);
    assert_eq!(server.jwks_hits(), 1);
}

#[tokio::test]
async fn discovery_falls_back_to_rfc8414_metadata() {
    let key = ec_key("k");
    let server = JwksServer::start(jwks(&[&key])).await;
    server.set_oidc_discovery(false);
    let clock = clock();
    let authorizer = discovering(&server, &clock);
    authorizer.ready().await.expect("RFC 8414 metadata");
    assert_eq!(
        server.discovery_hits(),
        2,
        "OIDC document 404, then RFC 8414"
    );
}

#[tokio::test]
async fn discovery_document_naming_another_issuer_is_refused() {
    let key = ec_key("k");
    let server = JwksServer::start(jwks(&[&key])).await;
    server.set_discovery_issuer(&format!("{}/", server.base));
    let clock = clock();
    let authorizer = discovering(&server, &clock);
    let err = authorizer.ready().await.unwrap_err();
    assert!(
        matches!(cause(&err), ErrorKind::IssuerMismatch { .. }),
        "{err:?}"
    );
    assert_eq!(
        server.jwks_hits(),
        0,
        "no key set is fetched for a mismatched issuer"
    );
    assert_eq!(authorizer.health()[0].status, KeyStatus::Unavailable);
}

async fn ready_error(mode: Mode) -> (JwksServer, Error) {
    let key = ec_key("k");
    let server = JwksServer::start(jwks(&[&key])).await;
    server.set_mode(mode);
    let clock = clock();
    let authorizer = authorizer_with(&server, &clock, |r| r.timeout(Duration::from_millis(300)));
    let err = authorizer.ready().await.unwrap_err();
    assert!(authorizer.health()[0].kids.is_empty(), "no keys taken");
    (server, err)
}

#[tokio::test]
async fn redirects_are_never_followed() {
    let (server, err) = ready_error(Mode::Redirect).await;
    assert!(matches!(cause(&err), ErrorKind::Redirect { .. }), "{err:?}");
    assert_eq!(server.other_hits(), 0);
}

#[tokio::test]
async fn a_client_builder_that_follows_redirects_never_follows_one() {
    let key = ec_key("k");
    let server = JwksServer::start(jwks(&[&key])).await;
    server.set_mode(Mode::Redirect);
    let clock = clock();
    let follows = reqwest::Client::builder().redirect(reqwest::redirect::Policy::limited(10));
    let authorizer = authorizer_with(&server, &clock, |r| r.http_client(follows));
    let err = authorizer.ready().await.unwrap_err();
    assert!(matches!(cause(&err), ErrorKind::Redirect { .. }), "{err:?}");
    assert_eq!(
        server.other_hits(),
        0,
        "the redirect target was never asked"
    );
}

#[tokio::test]
async fn status_other_than_200_is_an_error() {
    let (_server, err) = ready_error(Mode::Status(404)).await;
    assert!(
        matches!(cause(&err), ErrorKind::Status { status: 404, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_hanging_issuer_times_out() {
    let (_server, err) = ready_error(Mode::Hang).await;
    match err.kind() {
        ErrorKind::KeysUnavailable { source, .. } => assert!(source.is_timeout(), "{source:?}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn garbage_is_an_invalid_key_set() {
    let (_server, err) = ready_error(Mode::Garbage).await;
    assert!(
        matches!(cause(&err), ErrorKind::InvalidKeySet(_)),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_body_over_one_mebibyte_is_refused() {
    let (_server, err) = ready_error(Mode::Oversized(2 * 1024 * 1024)).await;
    assert!(
        matches!(cause(&err), ErrorKind::BodyTooLarge { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_non_json_content_type_is_refused() {
    let (_server, err) = ready_error(Mode::ContentType("text/html")).await;
    assert!(
        matches!(cause(&err), ErrorKind::ContentType { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_key_set_over_the_key_limit_is_refused() {
    let keys: Vec<TestKey> = (0..101).map(|i| ec_key(&format!("k{i}"))).collect();
    let refs: Vec<&TestKey> = keys.iter().collect();
    let server = JwksServer::start(jwks(&refs)).await;
    let clock = clock();
    let authorizer = authorizer_with(&server, &clock, |r| r);
    let err = authorizer.ready().await.unwrap_err();
    assert!(
        matches!(
            cause(&err),
            ErrorKind::TooManyKeys {
                count: 101,
                limit: 100
            }
        ),
        "{err:?}"
    );
    let lenient = authorizer_with(&server, &clock, |r| r.max_keys(200));
    lenient.ready().await.expect("a raised limit takes the set");
}

#[test]
fn only_http_urls_with_a_host_are_accepted() {
    for bad in [
        "file:///etc/passwd",
        "not a url",
        "ftp://host/jwks",
        "https://user:pw@host/jwks",
    ] {
        assert!(RemoteJwks::from_uri(bad).is_err(), "{bad}");
    }
    assert!(
        RemoteJwks::discover("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_X").is_ok()
    );
}
