//! Every OAuth 2.0 grant against the mock issuer, and a protected axum API checking the tokens.
//!
//! ```text
//! cargo run --example quickstart --all-features             # the walk, then keep serving
//! cargo run --example quickstart --all-features -- --exit   # the walk; exit 0 if all held
//! ```
//!
//! In one process, on free localhost ports: the mock issuer with its demo pool (apps
//! `demo-*`, users `alice` and `bob`, scopes `api/read` and `api/write`, group `admins`; see
//! docs/mock.md), a partner's issuer whose tokens the mock trades for its own (token
//! exchange), and an API behind `JwtAuthLayer`. Token exchange is walked twice: a partner's
//! user's token traded for one of ours, and alice's own token traded on her behalf (the
//! service that received it asks for one narrowed to the API's audience and `api/read`, the
//! backend named as actor in `act`).
//!
//!
//! | route | needs |
//! |---|---|
//! | `GET /me` | a valid token (answers its claims) |
//! | `GET /read` | scope `api/read` |
//! | `GET /write` | scope `api/write` |
//! | `GET /admin` | group `admins` |
//!
//! Each grant runs over HTTP as a real client runs it: reqwest, redirects never followed, the
//! hosted sign-in form read and posted by hand. Each token then calls the API, and so do the
//! tokens an API must refuse. A table shows what each call should get and what it got.

// Without the features there is nothing to run.
#[cfg(not(all(feature = "mock", feature = "axum")))]
fn main() -> std::process::ExitCode {
    eprintln!(
        "the quickstart needs the `mock` and `axum` features:\n  \
         cargo run --example quickstart --all-features"
    );
    std::process::ExitCode::from(2)
}

#[cfg(all(feature = "mock", feature = "axum"))]
#[tokio::main]
async fn main() -> std::process::ExitCode {
    quickstart::main().await
}

#[cfg(all(feature = "mock", feature = "axum"))]
mod quickstart {
    use std::error::Error;
    use std::process::ExitCode;
    use std::time::{Duration, Instant};

    use aws_lc_rs::digest::{SHA256, digest};
    use axum::routing::get;
    use axum::{Json, Router};
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use reqwest::header::WWW_AUTHENTICATE;
    use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, RETRY_AFTER, SET_COOKIE};
    use serde_json::{Value, json};
    use tokengate::mock::{Client, Forgery, Grant, JwksFault, Lifetimes, MockIssuer};
    use tokengate::mock::{ResourceServer, TrustedIssuer, User};
    use tokengate::{Authorizer, Claims, JwtAuthLayer, Profile, RequireGroup, RequireScope};

    type Result<T> = std::result::Result<T, Box<dyn Error>>;

    /// The demo apps' redirect URIs (nothing listens there: the code or tokens are read from
    /// the `Location` the issuer answers).
    const WEB_CALLBACK: &str = "http://localhost:8000/callback";
    const SPA_CALLBACK: &str = "http://localhost:3000/callback";
    const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
    const EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
    const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

    /// `quickstart [--exit]`: 0 when every call got what it should, 1 otherwise, 2 for usage.
    pub async fn main() -> ExitCode {
        let exit = match std::env::args().nth(1).as_deref() {
            None => false,
            Some("--exit") => true,
            Some(_) => {
                eprintln!("usage: quickstart [--exit]");
                return ExitCode::from(2);
            }
        };
        match run(exit).await {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::FAILURE,
            Err(err) => {
                eprintln!("quickstart: {err}");
                ExitCode::FAILURE
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // The walk
    // ---------------------------------------------------------------------------------------

    /// Starts everything, walks every grant and refusal, prints the table; then serves.
    /// Answers whether every call got what it should.
    async fn run(exit: bool) -> Result<bool> {
        // The partner first: the mock must know its issuer and keys before it starts.
        let partner = start_partner().await?;
        let issuer = MockIssuer::demo()
            // The demo's device polling interval is 5 s; 1 s keeps the walk quick.
            .lifetimes(Lifetimes {
                device_interval: 1,
                ..Lifetimes::default()
            })
            .trusted_issuer(TrustedIssuer {
                issuer: partner.issuer().to_owned(),
                jwks_uri: partner.jwks_uri(),
                client_id: Some("partner-app".into()),
                audience: None,
            })
            .start()
            .await?;
        let api = start_api(api_authorizer(&issuer)?).await?;
        println!("mock issuer   {}", issuer.url());
        println!("partner       {}", partner.url());
        println!("API           {api}\n");

        let http = http_client()?;
        let mut walk = Walk::new(http.clone());
        let backend = grants(&mut walk, &http, &issuer, &partner, &api).await;
        refusals(&mut walk, &issuer, &partner, &api).await?;
        match &backend {
            Some(token) => issuer_down(&mut walk, &issuer, token).await?,
            None => walk.failed("issuer down", "no client credentials token to call with"),
        }
        walk.print();

        if exit {
            return Ok(walk.all_held());
        }
        print_curl(&issuer, &api);
        // Serve until Ctrl-C, which ends the process.
        std::future::pending::<()>().await;
        Ok(walk.all_held())
    }

    /// Every grant as its client runs it, each token then calling the API. Answers the
    /// client credentials token, for the outage below.
    async fn grants(
        walk: &mut Walk,
        http: &reqwest::Client,
        issuer: &MockIssuer,
        partner: &MockIssuer,
        api: &str,
    ) -> Option<String> {
        // Client credentials: a backend service calls the API as itself.
        let case = "client credentials";
        let backend = match client_credentials(http, issuer).await {
            Ok(token) => {
                walk.call(api, case, Some(&token), "/me", "200").await;
                walk.call(api, case, Some(&token), "/write", "200").await;
                walk.call(api, case, Some(&token), "/admin", "403").await;
                Some(token)
            }
            Err(err) => {
                walk.failed(case, err);
                None
            }
        };

        // Authorization code with PKCE: alice signs in to the web app on the hosted form.
        let mut browser = Browser::new(http.clone());
        let case = "authorization code";
        let (alice_web, refresh_token) = match authorization_code(http, &mut browser, issuer).await
        {
            Ok((token, refresh_token)) => {
                walk.call(api, case, Some(&token), "/me", "200").await;
                walk.call(api, case, Some(&token), "/read", "200").await;
                walk.call(api, case, Some(&token), "/write", "403 scope=api/write")
                    .await;
                walk.call(api, case, Some(&token), "/admin", "200").await;
                (Some(token), refresh_token)
            }
            Err(err) => {
                walk.failed(case, err);
                (None, None)
            }
        };

        // Refresh: the web app gets a new access token without alice.
        let case = "refresh";
        match refresh(http, issuer, refresh_token.as_deref()).await {
            Ok(token) => walk.call(api, case, Some(&token), "/read", "200").await,
            Err(err) => walk.failed(case, err),
        }

        // Implicit: the single-page app gets a token in the redirect's fragment. Alice's
        // session from the code flow is still there, so no form this time.
        let case = "implicit";
        match implicit(&mut browser, issuer).await {
            Ok(token) => {
                walk.call(api, case, Some(&token), "/write", "200").await;
                walk.call(api, case, Some(&token), "/admin", "200").await;
            }
            Err(err) => walk.failed(case, err),
        }

        // Device authorization: a TV app with no browser; alice approves on her phone.
        let case = "device authorization";
        match device(http, issuer).await {
            Ok(token) => {
                walk.call(api, case, Some(&token), "/read", "200").await;
                walk.call(api, case, Some(&token), "/admin", "200").await;
            }
            Err(err) => walk.failed(case, err),
        }

        // Token exchange: carol's token from the partner is traded for one of ours.
        let case = "token exchange";
        match token_exchange(http, issuer, partner).await {
            Ok(token) => {
                walk.call(api, case, Some(&token), "/read", "200").await;
                walk.call(api, case, Some(&token), "/admin", "403").await;
            }
            Err(err) => walk.failed(case, err),
        }

        // Token exchange on behalf of a user: the service that received alice's token from
        // the web app trades it for one narrowed to the API (`aud`) and `api/read`, the
        // backend as actor (`act`). Alice's groups stay hers; `api/write` is gone.
        let case = "on behalf of alice";
        match on_behalf_of(http, issuer, alice_web.as_deref(), backend.as_deref()).await {
            Ok(token) => {
                walk.call(api, case, Some(&token), "/read", "200").await;
                walk.call(api, case, Some(&token), "/write", "403 scope=api/write")
                    .await;
                walk.call(api, case, Some(&token), "/admin", "200").await;
                walk.claim(case, &token, "aud", "api");
                walk.claim(case, &token, "act.sub", "demo-backend");
            }
            Err(err) => walk.failed(case, err),
        }
        backend
    }

    /// The tokens the API must refuse, and what it answers.
    async fn refusals(
        walk: &mut Walk,
        issuer: &MockIssuer,
        partner: &MockIssuer,
        api: &str,
    ) -> Result<()> {
        walk.call(api, "no token", None, "/me", "401").await;
        let alice = || issuer.access_token().client("demo-web").user("alice");
        let expired = alice().scopes(["api/read"]).expired().sign()?;
        walk.call(api, "expired", Some(&expired), "/me", "401 invalid_token")
            .await;
        let forged = alice()
            .scopes(["api/read"])
            .forge(Forgery::AlgNone)
            .sign()?;
        let case = "forged (alg none)";
        walk.call(api, case, Some(&forged), "/me", "401 invalid_token")
            .await;
        // Only the mock's tokens are the API's: the partner's must be exchanged first.
        let carol = partner.access_token().client("partner-app").user("carol");
        let case = "partner token as is";
        walk.call(api, case, Some(&carol.sign()?), "/me", "401 invalid_token")
            .await;
        Ok(())
    }

    /// The issuer down: a second instance of the API, started while the issuer's JWKS endpoint
    /// fails, has no keys to check any token. It answers 503 with `Retry-After`, never 401, and
    /// recovers on its own once the issuer is back.
    async fn issuer_down(walk: &mut Walk, issuer: &MockIssuer, token: &str) -> Result<()> {
        issuer.set_jwks_fault(JwksFault::Status(500));
        let replica = start_api(api_authorizer(issuer)?).await?;
        let case = "issuer down";
        walk.call(&replica, case, Some(token), "/me", "503 Retry-After")
            .await;
        issuer.set_jwks_fault(JwksFault::None);
        // The replica's key cache retries in the background (after 1 s, then 2 s …).
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            let response = walk.http.get(format!("{replica}/me")).bearer_auth(token);
            if response.send().await?.status() == 200 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        walk.call(&replica, "issuer back", Some(token), "/me", "200")
            .await;
        Ok(())
    }

    // ---------------------------------------------------------------------------------------
    // The servers
    // ---------------------------------------------------------------------------------------

    /// The partner's issuer (another company's user pool): its app and its user carol.
    async fn start_partner() -> Result<MockIssuer> {
        let issuer = MockIssuer::builder()
            .resource_server(ResourceServer::new("partner", ["read"]))
            .client(
                Client::confidential("partner-app", "partner-app-secret")
                    .grants([Grant::ClientCredentials])
                    .scopes(["partner/read"]),
            )
            .user(User::new("carol", "carol-password").email("carol@partner.example"))
            .start()
            .await?;
        Ok(issuer)
    }

    /// What the API accepts: the mock's access tokens, issued to any of the demo apps.
    fn api_authorizer(issuer: &MockIssuer) -> Result<Authorizer> {
        let authorizer = issuer
            .authorizer(Profile::cognito_access())?
            .client_id("demo-backend")
            .client_id("demo-web")
            .client_id("demo-spa")
            .client_id("demo-device")
            .client_id("demo-exchange")
            .build()?;
        Ok(authorizer)
    }

    /// The protected API on a free port; answers its URL.
    async fn start_api(authorizer: Authorizer) -> Result<String> {
        // `route_layer`: the token check runs only on these routes; unknown paths stay 404.
        let app = Router::new()
            .route("/me", get(me))
            .route(
                "/read",
                get(|| async { "read\n" }).route_layer(RequireScope::all(["api/read"])),
            )
            .route(
                "/write",
                get(|| async { "written\n" }).route_layer(RequireScope::all(["api/write"])),
            )
            .route(
                "/admin",
                get(|| async { "admin\n" }).route_layer(RequireGroup::any(["admins"])),
            )
            .route_layer(JwtAuthLayer::new(authorizer));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(url)
    }

    /// `GET /me`: what the validated token says.
    async fn me(claims: Claims) -> Json<Value> {
        Json(json!({
            "sub": claims.subject(),
            "username": claims.username(),
            "client_id": claims.client_id(),
            "scopes": claims.scopes().iter().collect::<Vec<_>>(),
            "groups": claims.groups().iter().collect::<Vec<_>>(),
        }))
    }

    // ---------------------------------------------------------------------------------------
    // The grants, over HTTP
    // ---------------------------------------------------------------------------------------

    /// Client credentials (`demo-backend`, a confidential client): its id and secret buy a
    /// token with every scope it may have.
    async fn client_credentials(http: &reqwest::Client, issuer: &MockIssuer) -> Result<String> {
        let tokens = token_request(
            http,
            issuer,
            &[("grant_type", "client_credentials")],
            Some(("demo-backend", "demo-backend-secret")),
        )
        .await?;
        field(&tokens, "access_token")
    }

    /// Authorization code with PKCE (`demo-web`): the browser goes to the issuer, alice signs
    /// in, the browser comes back to the app with a code, the app trades it (with its secret
    /// and the PKCE verifier) for tokens. Answers the access and refresh tokens.
    async fn authorization_code(
        http: &reqwest::Client,
        browser: &mut Browser,
        issuer: &MockIssuer,
    ) -> Result<(String, Option<String>)> {
        let verifier = random();
        let challenge = URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()));
        let state = random();
        let query = form_encode(&[
            ("response_type", "code"),
            ("client_id", "demo-web"),
            ("redirect_uri", WEB_CALLBACK),
            ("scope", "openid api/read"),
            ("state", &state),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ]);
        let callback = browser
            .authorize(issuer, &format!("{}?{query}", issuer.authorize_endpoint()))
            .await?;
        let params = url_params(&callback, '?');
        if param(&params, "state") != Some(state.as_str()) {
            return Err(format!("the callback's state is not ours: {callback}").into());
        }
        let code = param(&params, "code").ok_or(format!("no code: {callback}"))?;
        let tokens = token_request(
            http,
            issuer,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", WEB_CALLBACK),
                ("code_verifier", &verifier),
            ],
            Some(("demo-web", "demo-web-secret")),
        )
        .await?;
        let refresh_token = tokens["refresh_token"].as_str().map(str::to_owned);
        Ok((field(&tokens, "access_token")?, refresh_token))
    }

    /// Refresh (`demo-web`): the refresh token of the code flow buys a new access token.
    async fn refresh(
        http: &reqwest::Client,
        issuer: &MockIssuer,
        refresh_token: Option<&str>,
    ) -> Result<String> {
        let refresh_token = refresh_token.ok_or("the code flow gave no refresh token")?;
        let tokens = token_request(
            http,
            issuer,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
            Some(("demo-web", "demo-web-secret")),
        )
        .await?;
        field(&tokens, "access_token")
    }

    /// Implicit (`demo-spa`, a public client): the access token comes back in the fragment of
    /// the redirect, which only the browser sees.
    async fn implicit(browser: &mut Browser, issuer: &MockIssuer) -> Result<String> {
        let state = random();
        let query = form_encode(&[
            ("response_type", "token"),
            ("client_id", "demo-spa"),
            ("redirect_uri", SPA_CALLBACK),
            ("scope", "openid api/write"),
            ("state", &state),
        ]);
        let callback = browser
            .authorize(issuer, &format!("{}?{query}", issuer.authorize_endpoint()))
            .await?;
        let params = url_params(&callback, '#');
        if param(&params, "state") != Some(state.as_str()) {
            return Err(format!("the callback's state is not ours: {callback}").into());
        }
        let token = param(&params, "access_token").ok_or(format!("no token: {callback}"))?;
        Ok(token.to_owned())
    }

    /// Device authorization (`demo-device`, RFC 8628): the device gets a user code to show and
    /// polls; meanwhile alice, on her phone, enters the code and approves.
    async fn device(http: &reqwest::Client, issuer: &MockIssuer) -> Result<String> {
        let pairs = [("client_id", "demo-device"), ("scope", "api/read")];
        let (status, codes) =
            post_form(http, &issuer.device_authorization_endpoint(), &pairs, None).await?;
        if status != 200 {
            return Err(format!("device authorization: {status} {codes}").into());
        }
        let device_code = field(&codes, "device_code")?;
        let user_code = field(&codes, "user_code")?;
        let verification_uri = field(&codes, "verification_uri")?;
        let interval = codes["interval"].as_u64().unwrap_or(5);
        // `try_join`: either side failing ends both, so a failed approval never leaves the
        // device polling until its code expires.
        let (tokens, ()) = tokio::try_join!(
            poll_for_tokens(http, issuer, &device_code, interval),
            approve_on_phone(http, issuer, &verification_uri, &user_code),
        )?;
        field(&tokens, "access_token")
    }

    /// The device polls the token endpoint every `interval` seconds until alice has decided
    /// (RFC 8628 §3.4–3.5).
    async fn poll_for_tokens(
        http: &reqwest::Client,
        issuer: &MockIssuer,
        device_code: &str,
        mut interval: u64,
    ) -> Result<Value> {
        loop {
            let pairs = [
                ("grant_type", DEVICE_GRANT),
                ("client_id", "demo-device"),
                ("device_code", device_code),
            ];
            let (status, body) = post_form(http, &issuer.token_endpoint(), &pairs, None).await?;
            match body["error"].as_str() {
                None if status == 200 => return Ok(body),
                Some("authorization_pending") => {}
                Some("slow_down") => interval += 5,
                _ => return Err(format!("device polling: {status} {body}").into()),
            }
            tokio::time::sleep(Duration::from_secs(interval)).await;
        }
    }

    /// Alice, on her phone (a browser of its own): opens the verification URI, is sent to sign
    /// in (`/login?next=/device`), comes back, enters the code and approves.
    async fn approve_on_phone(
        http: &reqwest::Client,
        issuer: &MockIssuer,
        verification_uri: &str,
        user_code: &str,
    ) -> Result<()> {
        let mut phone = Browser::new(http.clone());
        let to_login = phone.get(verification_uri).await?;
        let login = phone.get(&to_login.location).await?;
        let signed_in = phone
            .sign_in(&login, issuer, "alice", "alice-password")
            .await?;
        let page = phone.get(&signed_in.location).await?;
        let fields = hidden_fields(&page.body);
        let csrf = param(&fields, "csrf").ok_or("no csrf field on the device page")?;
        let decided = phone
            .post(
                &issuer.device_verification_uri(),
                &[
                    ("csrf", csrf),
                    ("user_code", user_code),
                    ("action", "approve"),
                ],
            )
            .await?;
        if decided.status != 200 {
            return Err(format!("the device page answered {}", decided.status).into());
        }
        Ok(())
    }

    /// Token exchange (`demo-exchange`, RFC 8693): a token of a trusted issuer (the subject
    /// token) buys one of the mock's, for the same user, with the mock's scopes. How carol
    /// signed in at the partner is not the point here, so the partner mints her token directly.
    async fn token_exchange(
        http: &reqwest::Client,
        issuer: &MockIssuer,
        partner: &MockIssuer,
    ) -> Result<String> {
        let carol = partner.access_token().client("partner-app").user("carol");
        let subject_token = carol.sign()?;
        let tokens = token_request(
            http,
            issuer,
            &[
                ("grant_type", EXCHANGE_GRANT),
                ("subject_token", &subject_token),
                ("subject_token_type", ACCESS_TOKEN_TYPE),
                ("scope", "api/read"),
            ],
            Some(("demo-exchange", "demo-exchange-secret")),
        )
        .await?;
        field(&tokens, "access_token")
    }

    /// Token exchange on behalf of a user (`demo-exchange`, RFC 8693 §2.1): alice's access
    /// token is the subject, the backend's own token the actor; `audience` names the API's
    /// resource server and `scope` narrows what alice granted. Answers the new access token.
    async fn on_behalf_of(
        http: &reqwest::Client,
        issuer: &MockIssuer,
        subject: Option<&str>,
        actor: Option<&str>,
    ) -> Result<String> {
        let subject = subject.ok_or("the code flow gave no token to exchange")?;
        let actor = actor.ok_or("client credentials gave no actor token")?;
        let tokens = token_request(
            http,
            issuer,
            &[
                ("grant_type", EXCHANGE_GRANT),
                ("subject_token", subject),
                ("subject_token_type", ACCESS_TOKEN_TYPE),
                ("actor_token", actor),
                ("actor_token_type", ACCESS_TOKEN_TYPE),
                ("audience", "api"),
                ("scope", "api/read"),
            ],
            Some(("demo-exchange", "demo-exchange-secret")),
        )
        .await?;
        field(&tokens, "access_token")
    }

    // ---------------------------------------------------------------------------------------
    // HTTP, forms and URLs by hand
    // ---------------------------------------------------------------------------------------

    /// A client that never follows redirects: the `Location` is what we read.
    fn http_client() -> Result<reqwest::Client> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(client)
    }

    /// POSTs a form (with HTTP Basic client authentication when given); answers the status
    /// and the JSON body.
    async fn post_form(
        http: &reqwest::Client,
        url: &str,
        pairs: &[(&str, &str)],
        client: Option<(&str, &str)>,
    ) -> Result<(u16, Value)> {
        let mut request = http
            .post(url)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form_encode(pairs));
        if let Some((id, secret)) = client {
            request = request.basic_auth(id, Some(secret));
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let body = response.bytes().await?;
        Ok((status, serde_json::from_slice(&body)?))
    }

    /// A token request that must succeed: the token response, or the OAuth error as an error.
    async fn token_request(
        http: &reqwest::Client,
        issuer: &MockIssuer,
        pairs: &[(&str, &str)],
        client: Option<(&str, &str)>,
    ) -> Result<Value> {
        let (status, body) = post_form(http, &issuer.token_endpoint(), pairs, client).await?;
        if status != 200 {
            return Err(format!("token endpoint: {status} {body}").into());
        }
        Ok(body)
    }

    /// A string member of a JSON object, which must be there.
    fn field(json: &Value, name: &str) -> Result<String> {
        let value = json[name]
            .as_str()
            .ok_or(format!("no `{name}` in {json}"))?;
        Ok(value.to_owned())
    }

    /// 32 random bytes, base64url: a PKCE verifier or a `state`.
    fn random() -> String {
        let mut bytes = [0u8; 32];
        aws_lc_rs::rand::fill(&mut bytes).expect("the system has randomness");
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// `application/x-www-form-urlencoded`: everything but unreserved characters escaped.
    fn form_encode(pairs: &[(&str, &str)]) -> String {
        let encode = |text: &str| {
            let mut out = String::new();
            for b in text.bytes() {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    out.push(char::from(b));
                } else {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
            out
        };
        let encoded: Vec<String> = pairs
            .iter()
            .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
            .collect();
        encoded.join("&")
    }

    /// Undoes `form_encode` (and `+` for a space).
    fn percent_decode(text: &str) -> String {
        let mut out = Vec::new();
        let mut bytes = text.bytes();
        while let Some(b) = bytes.next() {
            match b {
                b'+' => out.push(b' '),
                b'%' => {
                    let hex: String = bytes.by_ref().take(2).map(char::from).collect();
                    out.push(u8::from_str_radix(&hex, 16).unwrap_or(b'?'));
                }
                b => out.push(b),
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// The parameters of a URL after `separator` (`?` for the query, `#` for the fragment).
    fn url_params(url: &str, separator: char) -> Vec<(String, String)> {
        let Some((_, rest)) = url.split_once(separator) else {
            return Vec::new();
        };
        let rest = rest.split('#').next().unwrap_or_default();
        rest.split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(name, value)| (percent_decode(name), percent_decode(value)))
            .collect()
    }

    /// The value of `name` among decoded parameters.
    fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The hidden fields of an HTML form: `<input type="hidden" name="…" value="…">`.
    fn hidden_fields(html: &str) -> Vec<(String, String)> {
        let unescape = |text: &str| {
            text.replace("&quot;", "\"")
                .replace("&#x27;", "'")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&")
        };
        html.split("<input type=\"hidden\" name=\"")
            .skip(1)
            .filter_map(|tag| {
                let (name, rest) = tag.split_once("\" value=\"")?;
                let (value, _) = rest.split_once('"')?;
                Some((unescape(name), unescape(value)))
            })
            .collect()
    }

    /// One page as a browser got it.
    struct Page {
        status: u16,
        location: String,
        body: String,
    }

    /// As much of a browser as the hosted pages need: redirects are followed by hand, the
    /// session cookie is kept.
    struct Browser {
        http: reqwest::Client,
        cookie: Option<String>,
    }

    impl Browser {
        /// A browser with no cookie yet: nobody signed in.
        fn new(http: reqwest::Client) -> Self {
            Self { http, cookie: None }
        }

        /// Opens `url`.
        async fn get(&mut self, url: &str) -> Result<Page> {
            let request = self.http.get(url);
            self.send(request).await
        }

        /// Submits a form to `url`.
        async fn post(&mut self, url: &str, pairs: &[(&str, &str)]) -> Result<Page> {
            let request = self
                .http
                .post(url)
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(form_encode(pairs));
            self.send(request).await
        }

        /// Sends with the cookie; keeps the one the answer sets.
        async fn send(&mut self, mut request: reqwest::RequestBuilder) -> Result<Page> {
            if let Some(cookie) = &self.cookie {
                request = request.header(COOKIE, cookie);
            }
            let response = request.send().await?;
            let header = |name| {
                let value = response.headers().get(name);
                value.and_then(|v| v.to_str().ok()).unwrap_or_default()
            };
            if let Some((cookie, _)) = header(SET_COOKIE).split_once(';') {
                self.cookie = Some(cookie.to_owned());
            }
            let (status, location) = (response.status().as_u16(), header(LOCATION).to_owned());
            let body = response.text().await?;
            Ok(Page {
                status,
                location,
                body,
            })
        }

        /// Fills in the sign-in form of `login` (its hidden fields, the user name and password)
        /// and sends it. Answers the redirect that follows a successful sign-in.
        async fn sign_in(
            &mut self,
            login: &Page,
            issuer: &MockIssuer,
            username: &str,
            password: &str,
        ) -> Result<Page> {
            let hidden = hidden_fields(&login.body);
            let mut fields: Vec<(&str, &str)> = hidden
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            fields.extend([("username", username), ("password", password)]);
            let signed_in = self.post(&issuer.login_url(), &fields).await?;
            if signed_in.status != 302 {
                return Err(format!("signing in answered {}", signed_in.status).into());
            }
            Ok(signed_in)
        }

        /// Opens an authorization URL, signs alice in when sent to the hosted form, and answers
        /// where the issuer finally sends the browser: the app's callback.
        async fn authorize(&mut self, issuer: &MockIssuer, url: &str) -> Result<String> {
            let mut page = self.get(url).await?;
            if page.location.starts_with(&issuer.login_url()) {
                let login = self.get(&page.location).await?;
                let signed_in = self
                    .sign_in(&login, issuer, "alice", "alice-password")
                    .await?;
                page = self.get(&signed_in.location).await?;
            }
            if page.status != 302 {
                return Err(format!("authorize answered {}: {}", page.status, page.body).into());
            }
            Ok(page.location)
        }
    }

    // ---------------------------------------------------------------------------------------
    // The table
    // ---------------------------------------------------------------------------------------

    /// One call of the API: what it should get, what it got.
    struct Row {
        case: String,
        token: String,
        route: String,
        expect: String,
        got: String,
    }

    impl Row {
        /// `got` is `expect`, or `expect` followed by a value (`503 Retry-After: 30s`).
        fn held(&self) -> bool {
            self.got == self.expect || self.got.starts_with(&format!("{}:", self.expect))
        }
    }

    /// The calls made so far, for the table.
    struct Walk {
        http: reqwest::Client,
        rows: Vec<Row>,
    }

    impl Walk {
        /// No calls yet.
        fn new(http: reqwest::Client) -> Self {
            Self {
                http,
                rows: Vec::new(),
            }
        }

        /// Calls `route` of `api` with `token` (none: no `Authorization` header) and notes
        /// what came back.
        async fn call(
            &mut self,
            api: &str,
            case: &str,
            token: Option<&str>,
            route: &str,
            expect: &str,
        ) {
            let mut request = self.http.get(format!("{api}{route}"));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let got = match request.send().await {
                Ok(response) => outcome(&response),
                Err(err) => format!("error: {err}"),
            };
            let token = self.token_cell(case, token);
            self.rows.push(Row {
                case: case.to_owned(),
                token,
                route: route.to_owned(),
                expect: expect.to_owned(),
                got,
            });
        }

        /// Notes a claim of `token` (`act.sub`: `sub` inside `act`), read without checking
        /// anything as the token column is; the route column names the claim.
        fn claim(&mut self, case: &str, token: &str, path: &str, expect: &str) {
            let claims = payload(token);
            let value = path.split('.').fold(&claims, |value, name| &value[name]);
            let got = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned);
            let token = self.token_cell(case, Some(token));
            self.rows.push(Row {
                case: case.to_owned(),
                token,
                route: path.to_owned(),
                expect: expect.to_owned(),
                got,
            });
        }

        /// The token column: the token's claims on the first row of each case only.
        fn token_cell(&self, case: &str, token: Option<&str>) -> String {
            let first = self.rows.last().is_none_or(|row| row.case != case);
            match (first, token) {
                (false, _) => String::new(),
                (true, None) => "-".to_owned(),
                (true, Some(token)) => summary(token),
            }
        }

        /// A grant that gave no token: its error, as a row that did not hold.
        fn failed(&mut self, case: &str, err: impl std::fmt::Display) {
            self.rows.push(Row {
                case: case.to_owned(),
                token: "-".to_owned(),
                route: "-".to_owned(),
                expect: "a token".to_owned(),
                got: err.to_string(),
            });
        }

        /// Whether every row got what it should.
        fn all_held(&self) -> bool {
            self.rows.iter().all(Row::held)
        }

        /// The table, each case named once, and a last line that sums it up.
        fn print(&self) {
            let line = |case: &str, token: &str, route: &str, expect: &str, got: &str, mark| {
                let token = shorten(token, 42);
                let text =
                    format!("{case:<20} {token:<42} {route:<7} {expect:<19} {got:<20} {mark}");
                println!("{}", text.trim_end());
            };
            let header = "token: user@client: scopes +groups";
            line("grant / case", header, "route", "expect", "got", "");
            let mut case = "";
            for row in &self.rows {
                let name = if row.case == case {
                    ""
                } else {
                    row.case.as_str()
                };
                case = &row.case;
                let mark = if row.held() { "✓" } else { "✗" };
                line(name, &row.token, &row.route, &row.expect, &row.got, mark);
            }
            let failed = self.rows.iter().filter(|row| !row.held()).count();
            match failed {
                0 => println!(
                    "\nevery call got what it should ({} checks)",
                    self.rows.len()
                ),
                n => println!("\n{n} of {} rows did not hold (✗)", self.rows.len()),
            }
        }
    }

    /// The status and what explains it: the `error` of a 401's challenge, the `scope` a 403
    /// asks for, the `Retry-After` of a 503.
    fn outcome(response: &reqwest::Response) -> String {
        let header = |name| {
            let value = response.headers().get(name);
            value.and_then(|v| v.to_str().ok()).unwrap_or_default()
        };
        let challenge = header(WWW_AUTHENTICATE);
        let status = response.status().as_u16();
        match status {
            401 => match challenge_param(challenge, "error") {
                Some(error) => format!("401 {error}"),
                None => "401".to_owned(),
            },
            403 => match challenge_param(challenge, "scope") {
                Some(scope) => format!("403 scope={scope}"),
                None => "403".to_owned(),
            },
            503 if !header(RETRY_AFTER).is_empty() => {
                format!("503 Retry-After: {}s", header(RETRY_AFTER))
            }
            status => status.to_string(),
        }
    }

    /// `name="value"` of a `WWW-Authenticate: Bearer …` challenge.
    fn challenge_param<'a>(challenge: &'a str, name: &str) -> Option<&'a str> {
        let start = challenge.find(&format!(" {name}=\""))? + name.len() + 3;
        let len = challenge[start..].find('"')?;
        Some(&challenge[start..start + len])
    }

    /// The claims that matter of a token, read without checking anything (for the table
    /// only): `user@client: scopes +groups`, the user being the subject when there is none.
    fn summary(token: &str) -> String {
        let claims = payload(token);
        let text = |name: &str| claims[name].as_str().unwrap_or("-");
        let (sub, client) = (text("sub"), text("client_id"));
        let mut out = match claims["username"].as_str() {
            Some(user) => format!("{user}@{client}"),
            // A client's own token: the subject is the client.
            None if sub == client => client.to_owned(),
            None => format!("{}@{client}", shorten(sub, 12)),
        };
        out.push_str(&format!(": {}", text("scope")));
        for group in claims["cognito:groups"].as_array().into_iter().flatten() {
            out.push_str(&format!(" +{}", group.as_str().unwrap_or("?")));
        }
        out
    }

    /// A token's claims, read without checking anything (`Null` when it has none).
    fn payload(token: &str) -> Value {
        let payload = token.split('.').nth(1).unwrap_or_default();
        URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|json| serde_json::from_slice(&json).ok())
            .unwrap_or_default()
    }

    /// `text` in at most `width` characters.
    fn shorten(text: &str, width: usize) -> String {
        if text.chars().count() <= width {
            return text.to_owned();
        }
        let mut short: String = text.chars().take(width - 1).collect();
        short.push('…');
        short
    }

    /// Commands to try by hand while the servers run.
    fn print_curl(issuer: &MockIssuer, api: &str) {
        let token = issuer.token_endpoint();
        println!(
            "\nThe mock issuer and the API keep running (Ctrl-C to stop). Try them:\n\n\
             TOKEN=$(curl -s -u demo-backend:demo-backend-secret \\\n  \
             -d grant_type=client_credentials -d scope=api/read \\\n  \
             {token} | sed -E 's/.*\"access_token\":\"([^\"]+)\".*/\\1/')\n\
             curl -i -H \"Authorization: Bearer $TOKEN\" {api}/me\n\
             curl -i -H \"Authorization: Bearer $TOKEN\" {api}/read\n\
             curl -i -H \"Authorization: Bearer $TOKEN\" {api}/write   # 403: no api/write\n\
             curl -i {api}/me                                          # 401: no token\n\n\
             Sign in as alice / alice-password or bob / bob-password; every client and \
             endpoint: docs/mock.md"
        );
    }
}
