//! End to end, the negative matrix: every hostile token the mock's test API mints, presented to
//! the protected axum API on loopback, gets the exact status and the exact RFC 6750
//! `WWW-Authenticate` challenge (and the JSON body saying the same), and never reaches a
//! handler.
#![cfg(all(feature = "mock", feature = "axum"))]

#[path = "support/e2e.rs"]
mod e2e;

use serde_json::json;
use tokengate::mock::{Forgery, KeyUse, MockIssuer, TokenBuilder};
use tokengate::{AuthErrorKind, JwtAuthLayer, ManualClock, Profile};

use e2e::{Api, challenge, insufficient_scope, protected_api};

/// The client the API accepts.
const CLIENT: &str = "demo-web";

/// How a row's request must be refused.
#[derive(Clone, Copy, Debug)]
enum Refusal {
    /// 401 `invalid_token` (or, for no token at all, the bare challenge).
    Unauthorized(AuthErrorKind),
    /// 403 `insufficient_scope`, naming the route's scope (none for a group requirement).
    Forbidden(Option<&'static str>),
}

impl Refusal {
    fn status(self) -> u16 {
        match self {
            Self::Unauthorized(_) => 401,
            Self::Forbidden(_) => 403,
        }
    }

    fn challenge(self) -> String {
        match self {
            Self::Unauthorized(kind) => challenge(kind),
            Self::Forbidden(scope) => insufficient_scope(scope),
        }
    }

    fn body(self) -> Option<serde_json::Value> {
        let kind = match self {
            Self::Unauthorized(kind) => kind,
            Self::Forbidden(_) => AuthErrorKind::InsufficientScope,
        };
        kind.code()
            .map(|code| json!({"error": code.as_str(), "error_description": kind.description()}))
    }
}

struct Row {
    name: &'static str,
    path: &'static str,
    token: Option<String>,
    refusal: Refusal,
}

/// alice's access token for [`CLIENT`], to spoil.
fn alice(mock: &MockIssuer) -> TokenBuilder<'_> {
    mock.access_token().client(CLIENT).user("alice")
}

fn signed(builder: TokenBuilder<'_>) -> Option<String> {
    Some(builder.sign().expect("the mock signs"))
}

#[tokio::test]
async fn every_hostile_token_gets_its_exact_status_and_challenge() {
    // One clock, standing still, for the mock and the API: the whole matrix runs inside one
    // key-cache cooldown, so the unknown-kid rows must be refused without any refetch.
    let clock = ManualClock::starting_now();
    let mock = MockIssuer::demo()
        .clock(clock.clone())
        .start()
        .await
        .expect("the mock starts");
    // Rotate once before the API ever sees the keys, so that a retired key exists to forge
    // with (`Forgery::RetiredKey`) and the API's key set never held it.
    let retired = mock.current_kid(KeyUse::Access);
    mock.rotate_keys().expect("rotate");
    assert!(!mock.kids().contains(&retired));

    let authorizer = mock
        .authorizer(Profile::cognito_access())
        .expect("an authorizer")
        .client_id(CLIENT)
        .clock(clock.clone())
        .build()
        .expect("valid authorizer settings");
    authorizer.ready().await.expect("the API has the keys");
    let api = Api::start(protected_api(JwtAuthLayer::new(authorizer))).await;

    // The control: alice's token passes, everywhere it should.
    let valid = signed(alice(&mock)).expect("token");
    assert_eq!(api.me(&valid).await["sub"], e2e::ALICE_SUB);
    assert_eq!(api.route_statuses(&valid).await, [200, 200, 200]);

    use AuthErrorKind::*;
    use Refusal::{Forbidden, Unauthorized};
    let rows = [
        Row {
            name: "no token",
            path: "/me",
            token: None,
            refusal: Unauthorized(MissingToken),
        },
        Row {
            name: "not a JWT",
            path: "/me",
            token: Some("not-a-jwt".into()),
            refusal: Unauthorized(Malformed),
        },
        Row {
            name: "expired",
            path: "/me",
            token: signed(alice(&mock).expired()),
            refusal: Unauthorized(Expired),
        },
        Row {
            name: "not yet valid",
            path: "/me",
            token: signed(alice(&mock).not_yet_valid()),
            refusal: Unauthorized(NotYetValid),
        },
        Row {
            name: "wrong issuer claim",
            path: "/me",
            token: signed(alice(&mock).claim("iss", "https://evil.example")),
            refusal: Unauthorized(WrongIssuer),
        },
        Row {
            name: "wrong client_id",
            path: "/me",
            token: signed(mock.access_token().client("demo-spa").user("alice")),
            refusal: Unauthorized(WrongClient),
        },
        Row {
            name: "token_use id in an access token",
            path: "/me",
            token: signed(alice(&mock).claim("token_use", "id")),
            refusal: Unauthorized(WrongTokenUse),
        },
        Row {
            name: "an ID token",
            path: "/me",
            token: signed(mock.id_token().client(CLIENT).user("alice")),
            refusal: Unauthorized(WrongTokenUse),
        },
        Row {
            name: "forgery: alg none",
            path: "/me",
            token: signed(alice(&mock).forge(Forgery::AlgNone)),
            refusal: Unauthorized(UnsignedToken),
        },
        Row {
            name: "forgery: HS256 keyed with the public key",
            path: "/me",
            token: signed(alice(&mock).forge(Forgery::Hs256WithPublicKey)),
            refusal: Unauthorized(SymmetricAlgorithm),
        },
        Row {
            name: "forgery: unknown kid",
            path: "/me",
            token: signed(alice(&mock).forge(Forgery::UnknownKid)),
            refusal: Unauthorized(UnknownKey),
        },
        Row {
            name: "forgery: retired key",
            path: "/me",
            token: signed(alice(&mock).forge(Forgery::RetiredKey)),
            refusal: Unauthorized(UnknownKey),
        },
        Row {
            name: "forgery: tampered signature",
            path: "/me",
            token: signed(alice(&mock).forge(Forgery::TamperedSignature)),
            refusal: Unauthorized(InvalidSignature),
        },
        Row {
            name: "missing exp",
            path: "/me",
            token: signed(alice(&mock).without("exp")),
            refusal: Unauthorized(MissingClaim),
        },
        Row {
            name: "missing client_id",
            path: "/me",
            token: signed(alice(&mock).without("client_id")),
            refusal: Unauthorized(MissingClaim),
        },
        Row {
            name: "scope missing for the route",
            path: "/write",
            token: signed(alice(&mock).scopes(["openid", "api/read"])),
            refusal: Forbidden(Some("api/write")),
        },
        Row {
            name: "no scope at all",
            path: "/read",
            token: signed(alice(&mock).without("scope")),
            refusal: Forbidden(Some("api/read")),
        },
        Row {
            name: "group missing for the route (bob is in no group)",
            path: "/admin",
            token: signed(mock.access_token().client(CLIENT).user("bob")),
            refusal: Forbidden(None),
        },
        Row {
            name: "missing token_use",
            path: "/me",
            token: signed(alice(&mock).without("token_use")),
            refusal: Unauthorized(MissingClaim),
        },
        Row {
            name: "an expired token on a scoped route (the layer refuses first)",
            path: "/write",
            token: signed(alice(&mock).expired()),
            refusal: Unauthorized(Expired),
        },
    ];

    let mut failures = Vec::new();
    for row in &rows {
        let reply = api.get(row.path, row.token.as_deref()).await;
        let expected = row.refusal.challenge();
        let seen = (reply.status, reply.www_authenticate().map(str::to_owned));
        if seen != (row.refusal.status(), Some(expected.clone())) {
            failures.push(format!(
                "{}: expected {} `{expected}`, got {} {:?} (body {})",
                row.name,
                row.refusal.status(),
                seen.0,
                seen.1,
                reply.body
            ));
            continue;
        }
        if let Some(body) = row.refusal.body() {
            assert_eq!(reply.json(), body, "{}: body", row.name);
        }
        assert!(
            reply.header("retry-after").is_none(),
            "{}: no Retry-After",
            row.name
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );

    // The unknown and retired kids were refused from the set in hand: one fetch in all.
    assert_eq!(
        mock.request_count(&mock.jwks_path()),
        1,
        "no refetch within the cooldown"
    );
    // And the valid token still passes afterwards.
    assert_eq!(api.get("/me", Some(&valid)).await.status, 200);
}
