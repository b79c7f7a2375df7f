//! The service examples, run as the programs they are: built with cargo, started on a free
//! port, and driven over HTTP and gRPC.

#[path = "support/dpop_client.rs"]
mod dpop_client;
#[path = "support/jwks_server.rs"]
mod jwks_server;
#[cfg(feature = "redis")]
#[path = "support/redis_server.rs"]
mod redis_server;
#[path = "support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use jwks_server::JwksServer;
use reqwest::StatusCode;
use reqwest::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use serde_json::{Value, json};
use support::{CLIENT_ID, TestKey};
use tokengate::Algorithm;

/// An issuer nobody listens on.
const DEAD_ISSUER: &str = "http://127.0.0.1:1";
const STARTUP: Duration = Duration::from_secs(60);

/// Builds the examples once (a no-op when they are fresh: `cargo test --test examples` does
/// not build examples itself) and returns each one's executable.
fn executables() -> &'static HashMap<String, PathBuf> {
    static EXES: OnceLock<HashMap<String, PathBuf>> = OnceLock::new();
    EXES.get_or_init(|| {
        // The features of this test build, plus those the examples need: with
        // `--all-features` outside, the same set, so nothing is rebuilt.
        let mut features = vec!["axum", "tonic"];
        if cfg!(feature = "mock") {
            features.push("mock");
        }
        if cfg!(feature = "redis") {
            features.push("redis");
        }
        if cfg!(feature = "metrics") {
            features.push("metrics");
        }
        // Internal features change only this crate, but a different set still rebuilds it.
        if cfg!(feature = "fuzzing") {
            features.push("fuzzing");
        }
        if cfg!(feature = "bench-internals") {
            features.push("bench-internals");
        }
        let output = Command::new(env!("CARGO"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args([
                "build",
                "--message-format=json",
                "--features",
                &features.join(","),
            ])
            .args(["--example", "axum_api", "--example", "tonic_api"])
            .stderr(Stdio::inherit())
            .output()
            .expect("run cargo build");
        assert!(
            output.status.success(),
            "cargo build of the examples failed"
        );
        let mut exes = HashMap::new();
        for line in output.stdout.split(|b| *b == b'\n') {
            let Ok(message) = serde_json::from_slice::<Value>(line) else {
                continue;
            };
            if let (Some(name), Some(exe)) = (
                message["target"]["name"].as_str(),
                message["executable"].as_str(),
            ) {
                exes.insert(name.to_owned(), PathBuf::from(exe));
            }
        }
        exes
    })
}

fn command(example: &str, args: &[&str]) -> Command {
    let exe = executables()
        .get(example)
        .unwrap_or_else(|| panic!("cargo built no executable for {example}"));
    let mut command = Command::new(exe);
    command.args(args);
    command
}

/// A running example, killed when dropped.
struct Running {
    child: Child,
    base: String,
}

impl Running {
    /// Starts `example` and waits for its `listening on http://ADDR` line.
    fn start(example: &str, args: &[&str]) -> Self {
        let mut child = command(example, args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn the example");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut running = Self {
            child,
            base: String::new(),
        };
        let line = rx
            .recv_timeout(STARTUP)
            .unwrap_or_else(|_| panic!("{example} did not say it was listening"));
        running.base = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line}"))
            .to_owned();
        running
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `example` to its end, within a timeout; returns its status and stderr.
fn exit_of(example: &str, args: &[&str]) -> (ExitStatus, String) {
    let mut child = command(example, args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the example");
    let deadline = Instant::now() + STARTUP;
    loop {
        if child.try_wait().expect("try_wait").is_some() {
            let output = child.wait_with_output().expect("wait");
            return (
                output.status,
                String::from_utf8_lossy(&output.stderr).into_owned(),
            );
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{example} {args:?} did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn b64(json: &Value) -> String {
    support::b64(json.to_string())
}

/// Well formed and signed-looking, but no issuer ever made it.
fn unknown_token() -> String {
    let header = b64(&json!({"alg": "RS256", "kid": "nobody"}));
    let claims = b64(&json!({"iss": DEAD_ISSUER, "exp": support::now() + 600}));
    format!("{header}.{claims}.{}", support::b64([7u8; 256]))
}

/// A key, an issuer serving it by discovery, and tokens it signs.
struct Issuer {
    key: TestKey,
    server: JwksServer,
}

impl Issuer {
    async fn start() -> Self {
        let key = TestKey::generate(Algorithm::EdDSA, "ed-1");
        let server = JwksServer::start(support::jwks(&[&key])).await;
        Self { key, server }
    }

    /// A Cognito access token of this issuer, with `scope` and groups as given.
    fn token(&self, scope: &str, groups: &[&str]) -> String {
        let mut claims = support::cognito_access_claims();
        claims["iss"] = json!(self.server.base);
        claims["scope"] = json!(scope);
        claims["cognito:groups"] = json!(groups);
        self.key.token(&claims)
    }
}

#[tokio::test]
async fn axum_api_serves_without_its_issuer() {
    let api = Running::start(
        "axum_api",
        &[
            "--issuer",
            DEAD_ISSUER,
            "--client-id",
            "c",
            "--addr",
            "127.0.0.1:0",
        ],
    );
    let http = reqwest::Client::new();

    let public = http.get(api.url("/public")).send().await.expect("GET");
    assert_eq!(public.status(), StatusCode::OK);

    let anonymous = http.get(api.url("/me")).send().await.expect("GET");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let challenge = anonymous.headers()[WWW_AUTHENTICATE]
        .to_str()
        .expect("ascii");
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    let metadata_url = api.url("/.well-known/oauth-protected-resource");
    assert!(
        challenge.contains(&format!("resource_metadata=\"{metadata_url}\"")),
        "{challenge}"
    );

    let unknown = http
        .get(api.url("/me"))
        .bearer_auth(unknown_token())
        .send()
        .await
        .expect("GET");
    assert_eq!(unknown.status(), StatusCode::SERVICE_UNAVAILABLE);
    let retry_after: u64 = unknown.headers()[RETRY_AFTER]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!(retry_after >= 1);

    let metadata = http.get(&metadata_url).send().await.expect("GET");
    assert_eq!(metadata.status(), StatusCode::OK);
    let metadata: Value =
        serde_json::from_slice(&metadata.bytes().await.expect("body")).expect("metadata is JSON");
    assert_eq!(metadata["resource"], json!(api.base));
    assert_eq!(metadata["authorization_servers"], json!([DEAD_ISSUER]));
    assert_eq!(
        metadata["scopes_supported"],
        json!(["api/read", "api/write"])
    );
}

#[cfg(feature = "metrics")]
#[tokio::test]
async fn axum_api_with_metrics_serves_a_prometheus_scrape() {
    let issuer = Issuer::start().await;
    let api = Running::start(
        "axum_api",
        &[
            "--issuer",
            &issuer.server.base,
            "--client-id",
            CLIENT_ID,
            "--token-use",
            "access",
            "--addr",
            "127.0.0.1:0",
            "--metrics",
        ],
    );
    let http = reqwest::Client::new();
    let token = issuer.token("api/read", &[]);
    for _ in 0..3 {
        let me = http.get(api.url("/me")).bearer_auth(&token).send().await;
        assert_eq!(me.expect("GET").status(), StatusCode::OK);
    }
    let refused = http.get(api.url("/me")).bearer_auth("x.y.z").send().await;
    assert_eq!(refused.expect("GET").status(), StatusCode::UNAUTHORIZED);

    let scrape = http.get(api.url("/metrics")).send().await.expect("GET");
    assert_eq!(scrape.status(), StatusCode::OK);
    let scrape = scrape.text().await.expect("text");
    let value = |series: &str| {
        scrape
            .lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or_else(|| panic!("no {series} in:\n{scrape}"))
    };
    assert_eq!(value(r#"tokengate_validations_total{outcome="ok"}"#), 3.0);
    assert_eq!(
        value(r#"tokengate_validations_total{outcome="malformed"}"#),
        1.0
    );
    assert_eq!(value("tokengate_token_cache_hits_total"), 2.0);
    let fetched = format!(
        r#"tokengate_jwks_fetches_total{{issuer="{}",result="ok"}}"#,
        issuer.server.base
    );
    assert!(value(&fetched) >= 1.0);
    assert!(!scrape.contains(&token), "a token in the scrape");
}

#[test]
fn axum_api_without_audience_is_a_usage_error() {
    let (status, stderr) = exit_of("axum_api", &["--issuer", DEAD_ISSUER]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--no-audience-check"), "{stderr}");
}

#[tokio::test]
async fn axum_api_enforces_scopes_and_groups() {
    let issuer = Issuer::start().await;
    let api = Running::start(
        "axum_api",
        &[
            "--issuer",
            &issuer.server.base,
            "--client-id",
            CLIENT_ID,
            "--token-use",
            "access",
            "--addr",
            "127.0.0.1:0",
        ],
    );
    let http = reqwest::Client::new();
    let full = issuer.token("api/read api/write", &["admins"]);
    let reader = issuer.token("api/read", &[]);
    let status = |method: reqwest::Method, path: &str, token: &str| {
        http.request(method, api.url(path))
            .bearer_auth(token)
            .body("note")
            .send()
    };

    let me = status(reqwest::Method::GET, "/me", &full)
        .await
        .expect("GET");
    assert_eq!(me.status(), StatusCode::OK);
    let me: Value = serde_json::from_slice(&me.bytes().await.expect("body")).expect("JSON");
    assert_eq!(me["username"], "alice");
    assert_eq!(me["client_id"], CLIENT_ID);
    assert_eq!(me["scopes"], json!(["api/read", "api/write"]));
    assert_eq!(me["groups"], json!(["admins"]));

    for (method, path, token, want) in [
        ("GET", "/read", &full, StatusCode::OK),
        ("POST", "/write", &full, StatusCode::CREATED),
        ("GET", "/admin", &full, StatusCode::OK),
        ("GET", "/read", &reader, StatusCode::OK),
        ("POST", "/write", &reader, StatusCode::FORBIDDEN),
        ("GET", "/admin", &reader, StatusCode::FORBIDDEN),
    ] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let response = status(method.clone(), path, token).await.expect("send");
        assert_eq!(response.status(), want, "{method} {path}");
    }
    let refused = status(reqwest::Method::POST, "/write", &reader)
        .await
        .expect("POST");
    let challenge = refused.headers()[WWW_AUTHENTICATE].to_str().expect("ascii");
    assert!(
        challenge.contains("error=\"insufficient_scope\"")
            && challenge.contains("scope=\"api/write\""),
        "{challenge}"
    );

    let mut other = support::cognito_access_claims();
    other["iss"] = json!(issuer.server.base);
    other["client_id"] = json!("another-client");
    let other = issuer.key.token(&other);
    let response = status(reqwest::Method::GET, "/me", &other)
        .await
        .expect("GET");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn axum_api_takes_dpop_bound_tokens_with_the_dpop_flags() {
    let issuer = Issuer::start().await;
    let public = "https://orders.example.com";
    #[cfg(feature = "redis")]
    let redis = redis_server::RedisServer::start("axum_api_takes_dpop_bound_tokens");
    #[allow(unused_mut)]
    let mut args = vec![
        "--issuer".to_owned(),
        issuer.server.base.clone(),
        "--client-id".into(),
        CLIENT_ID.into(),
        "--token-use".into(),
        "access".into(),
        "--addr".into(),
        "127.0.0.1:0".into(),
        "--dpop".into(),
        "required".into(),
        "--public-url".into(),
        public.into(),
    ];
    #[cfg(feature = "redis")]
    if let Some(redis) = &redis {
        args.extend(["--dpop-redis".to_owned(), redis.url()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let api = Running::start("axum_api", &args);
    let http = reqwest::Client::new();
    let key = dpop_client::DpopKey::generate(Algorithm::ES256);
    let mut claims = support::cognito_access_claims();
    claims["iss"] = json!(issuer.server.base);
    claims["cnf"] = json!({"jkt": key.jkt()});
    let token = issuer.key.token(&claims);

    let bearer = http
        .get(api.url("/me"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("GET");
    assert_eq!(bearer.status(), StatusCode::UNAUTHORIZED);
    let challenge = bearer.headers()[WWW_AUTHENTICATE].to_str().expect("ascii");
    assert!(
        challenge.starts_with("DPoP realm=\"api\", algs=\""),
        "{challenge}"
    );

    let proof = key.proof("GET", &format!("{public}/me"), &token);
    let call = |proof: &str| {
        http.get(api.url("/me"))
            .header("authorization", format!("DPoP {token}"))
            .header("dpop", proof)
            .send()
    };
    let me = call(&proof).await.expect("GET");
    assert_eq!(me.status(), StatusCode::OK);
    let replayed = call(&proof).await.expect("GET");
    assert_eq!(replayed.status(), StatusCode::UNAUTHORIZED);
    let challenge = replayed.headers()[WWW_AUTHENTICATE]
        .to_str()
        .expect("ascii");
    assert!(
        challenge.contains("error=\"invalid_dpop_proof\""),
        "{challenge}"
    );
    #[cfg(feature = "redis")]
    if let Some(redis) = &redis {
        assert_eq!(
            redis.command(&["DBSIZE"]),
            ":1",
            "the proof was kept in Redis"
        );
    }

    let metadata = http
        .get(api.url("/.well-known/oauth-protected-resource"))
        .send()
        .await
        .expect("GET");
    let metadata: Value =
        serde_json::from_slice(&metadata.bytes().await.expect("body")).expect("metadata is JSON");
    assert_eq!(metadata["resource"], json!(public));
}

#[test]
fn axum_api_dpop_flags_are_checked() {
    for (args, message) in [
        (
            &["--dpop", "maybe"][..],
            "--dpop is off, allowed or required",
        ),
        (
            &["--dpop-redis", "redis://127.0.0.1:1/"][..],
            "--dpop-redis needs --dpop",
        ),
        (
            &["--dpop", "allowed", "--public-url", "orders.example.com"][..],
            "invalid URL",
        ),
    ] {
        let mut full = vec!["--issuer", DEAD_ISSUER, "--client-id", "c"];
        full.extend_from_slice(args);
        let (status, stderr) = exit_of("axum_api", &full);
        assert_eq!(status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}

mod grpc {
    use tonic::Code;
    use tonic::transport::Channel;
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;
    use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

    use super::*;

    async fn client(api: &Running) -> HealthClient<Channel> {
        let channel = Channel::from_shared(api.base.clone())
            .expect("uri")
            .connect()
            .await
            .expect("connect");
        HealthClient::new(channel)
    }

    fn request(token: Option<&str>) -> tonic::Request<HealthCheckRequest> {
        let mut request = tonic::Request::new(HealthCheckRequest::default());
        if let Some(token) = token {
            let value = format!("Bearer {token}").parse().expect("ascii");
            request.metadata_mut().insert("authorization", value);
        }
        request
    }

    async fn check(client: &mut HealthClient<Channel>, token: Option<&str>) -> Result<i32, Code> {
        client
            .check(request(token))
            .await
            .map(|r| r.into_inner().status)
            .map_err(|s| s.code())
    }

    #[tokio::test]
    async fn tonic_api_checks_tokens_per_method() {
        let issuer = Issuer::start().await;
        let api = Running::start(
            "tonic_api",
            &[
                "--issuer",
                &issuer.server.base,
                "--client-id",
                CLIENT_ID,
                "--token-use",
                "access",
                "--addr",
                "127.0.0.1:0",
            ],
        );
        let mut health = client(&api).await;
        let reader = issuer.token("api/read", &[]);
        let writer = issuer.token("api/write", &[]);
        let serving = ServingStatus::Serving as i32;

        assert_eq!(check(&mut health, None).await, Err(Code::Unauthenticated));
        assert_eq!(
            check(&mut health, Some("x.y.z")).await,
            Err(Code::Unauthenticated)
        );
        assert_eq!(
            check(&mut health, Some(&writer)).await,
            Err(Code::PermissionDenied)
        );
        assert_eq!(check(&mut health, Some(&reader)).await, Ok(serving));

        // Watch needs only a valid token.
        let mut stream = health
            .watch(request(Some(&writer)))
            .await
            .expect("watch")
            .into_inner();
        let first: HealthCheckResponse = stream.message().await.expect("message").expect("one");
        assert_eq!(first.status, serving);
    }

    #[tokio::test]
    async fn tonic_api_is_unavailable_without_its_issuer() {
        let api = Running::start(
            "tonic_api",
            &[
                "--issuer",
                DEAD_ISSUER,
                "--no-audience-check",
                "--addr",
                "127.0.0.1:0",
            ],
        );
        let mut health = client(&api).await;
        let token = unknown_token();
        assert_eq!(
            check(&mut health, Some(&token)).await,
            Err(Code::Unavailable)
        );
    }
}

/// A Keycloak access token of `issuer` for client `web`: realm roles, roles of client `api`,
/// `acr` as given.
fn keycloak_token(issuer: &Issuer, realm: &[&str], api: &[&str], acr: &str, azp: &str) -> String {
    let now = support::now();
    issuer.key.token(&json!({
        "iss": issuer.server.base,
        "exp": now + 300,
        "iat": now - 5,
        "sub": "0b6f5e2c",
        "typ": "Bearer",
        "azp": azp,
        "aud": "account",
        "acr": acr,
        "preferred_username": "alice",
        "scope": "openid api/read",
        "realm_access": {"roles": realm},
        "resource_access": {"api": {"roles": api}},
    }))
}

#[tokio::test]
async fn axum_api_profile_flags_read_nested_roles_azp_and_required_claims() {
    let issuer = Issuer::start().await;
    let api = Running::start(
        "axum_api",
        &[
            "--issuer",
            &issuer.server.base,
            "--profile",
            "keycloak",
            "--groups-claim",
            "realm_access.roles",
            "--groups-claim",
            "resource_access.api.roles",
            "--authorized-party",
            "web",
            "--require-claim",
            "acr=1",
            "--require-claim=acr=2",
            "--admin-group",
            "admin",
            "--addr",
            "127.0.0.1:0",
        ],
    );
    let http = reqwest::Client::new();
    let get = |path: &str, token: String| http.get(api.url(path)).bearer_auth(token).send();

    let admin = keycloak_token(&issuer, &["staff"], &["admin"], "1", "web");
    let me = get("/me", admin.clone()).await.expect("GET");
    assert_eq!(me.status(), StatusCode::OK);
    let me: Value = serde_json::from_slice(&me.bytes().await.expect("body")).expect("JSON");
    assert_eq!(me["groups"], json!(["staff", "admin"]));
    assert_eq!(me["client_id"], "web");
    assert_eq!(me["username"], "alice");
    assert_eq!(me["scopes"], json!(["openid", "api/read"]));
    assert_eq!(
        get("/admin", admin).await.expect("GET").status(),
        StatusCode::OK
    );
    let staff = keycloak_token(&issuer, &["staff"], &[], "2", "web");
    assert_eq!(
        get("/admin", staff).await.expect("GET").status(),
        StatusCode::FORBIDDEN
    );
    for token in [
        keycloak_token(&issuer, &["admin"], &[], "1", "cli"),
        keycloak_token(&issuer, &["admin"], &[], "0", "web"),
    ] {
        let refused = get("/me", token).await.expect("GET");
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    }
}

#[test]
fn axum_api_refuses_unknown_profiles_and_half_introspection() {
    for (args, says) in [
        (&["--profile", "ldap"][..], "--profile"),
        (&["--scope-claim", "roles"][..], "--scope-claim"),
        (&["--require-claim", "tid"][..], "NAME=VALUE"),
        (
            &["--introspect-url", "https://issuer.example/introspect"][..],
            "--introspect-client",
        ),
    ] {
        let mut all = vec!["--issuer", DEAD_ISSUER, "--audience", "a"];
        all.extend_from_slice(args);
        let (status, stderr) = exit_of("axum_api", &all);
        assert_eq!(status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

#[cfg(feature = "mock")]
#[tokio::test]
async fn axum_api_introspects_opaque_tokens_at_the_issuer() {
    let mock = tokengate::mock::MockIssuer::demo()
        .start()
        .await
        .expect("mock");
    let introspect = mock.introspection_endpoint();
    let jwks = mock.jwks_uri();
    let api = Running::start(
        "axum_api",
        &[
            "--issuer",
            mock.issuer(),
            "--jwks-uri",
            &jwks,
            "--profile",
            "cognito",
            "--client-id",
            "demo-backend",
            "--introspect-url",
            &introspect,
            "--introspect-client",
            "demo-backend:demo-backend-secret",
            "--addr",
            "127.0.0.1:0",
        ],
    );
    let http = reqwest::Client::new();
    let opaque = http
        .get(api.url("/me"))
        .bearer_auth("opaque-3f9a0c7d")
        .send()
        .await
        .expect("GET");
    assert_eq!(opaque.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(mock.request_count("/oauth2/introspect"), 1);
    let jwt = mock
        .access_token()
        .client("demo-backend")
        .scopes(["api/read"])
        .sign()
        .expect("token");
    let me = http
        .get(api.url("/me"))
        .bearer_auth(jwt)
        .send()
        .await
        .expect("GET");
    assert_eq!(me.status(), StatusCode::OK);
    assert_eq!(
        mock.request_count("/oauth2/introspect"),
        1,
        "a JWT is verified locally"
    );
}
