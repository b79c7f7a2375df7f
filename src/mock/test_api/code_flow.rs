//! Headless sign-in and the authorization code flow in one call, over HTTP as a browser and a
//! client run them: the hosted sign-in form read and posted (its CSRF token included), the
//! redirects followed by hand, the code traded at the token endpoint. Every request goes
//! through the mock's real endpoints (and its request log); nothing is minted directly.

use std::fmt;

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use serde::Deserialize;

use crate::mock::form::Params;
use crate::mock::keys::new_id;
use crate::mock::redirect::{encode, encode_pairs};
use crate::mock::{MockIssuer, html};

/// The tokens a flow ended with (RFC 6749 §5.1).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct TokenResponse {
    /// The access token.
    pub access_token: String,
    /// The ID token (with `openid`).
    #[serde(default)]
    pub id_token: Option<String>,
    /// The refresh token.
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// `Bearer`.
    pub token_type: String,
    /// Seconds the access token lives.
    pub expires_in: u64,
}

/// Why a headless sign-in or code flow stopped: the step, and what the mock answered.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FlowError {
    /// `sign-in`, `authorize` or `token`.
    pub step: &'static str,
    /// The HTTP status, when the mock answered.
    pub status: Option<u16>,
    /// The OAuth `error` code, when there was one (`invalid_scope`, `login_required` …).
    pub error: Option<String>,
    /// What went wrong.
    pub description: String,
}

impl FlowError {
    fn new(step: &'static str, description: impl Into<String>) -> Self {
        Self {
            step,
            status: None,
            error: None,
            description: description.into(),
        }
    }
}

impl fmt::Display for FlowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.step)?;
        if let Some(status) = self.status {
            write!(f, "{status} ")?;
        }
        if let Some(error) = &self.error {
            write!(f, "{error}: ")?;
        }
        f.write_str(&self.description)
    }
}

impl std::error::Error for FlowError {}

/// One answer, as a browser sees it.
struct Answer {
    status: u16,
    location: Option<String>,
    cookie: Option<String>,
    body: String,
}

/// An HTTP client that never follows redirects.
fn client(step: &'static str) -> Result<reqwest::Client, FlowError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| FlowError::new(step, format!("no HTTP client: {e}")))
}

async fn send(
    step: &'static str,
    request: reqwest::RequestBuilder,
    cookie: Option<&str>,
) -> Result<Answer, FlowError> {
    let request = match cookie {
        Some(cookie) => request.header(COOKIE, cookie),
        None => request,
    };
    let response = request
        .send()
        .await
        .map_err(|e| FlowError::new(step, format!("the request failed: {e}")))?;
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let location = header(LOCATION);
    let cookie = header(SET_COOKIE).and_then(|c| c.split(';').next().map(str::to_owned));
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    Ok(Answer {
        status,
        location,
        cookie,
        body,
    })
}

/// Posts the sign-in form of `page` (its hidden fields, then the credentials); answers the
/// signed-in answer (302 or the "Signed in" page) with its session cookie.
async fn post_sign_in(
    issuer: &MockIssuer,
    http: &reqwest::Client,
    page: &Answer,
    username: &str,
    password: &str,
) -> Result<(Answer, String), FlowError> {
    let step = "sign-in";
    if page.status != 200 {
        return Err(FlowError {
            status: Some(page.status),
            ..FlowError::new(step, "the sign-in page did not show its form")
        });
    }
    let mut fields = html::hidden_inputs(&page.body);
    fields.push(("username".into(), username.into()));
    fields.push(("password".into(), password.into()));
    let body = encode_pairs(fields.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    let request = http
        .post(issuer.login_url())
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body);
    let answer = send(step, request, None).await?;
    match answer.cookie.clone() {
        Some(cookie) if answer.status < 400 => Ok((answer, cookie)),
        _ => Err(FlowError {
            status: Some(answer.status),
            ..FlowError::new(step, format!("`{username}` could not sign in"))
        }),
    }
}

impl MockIssuer {
    /// Signs a user in on the hosted sign-in page, as a browser would, and answers the
    /// session cookie (`name=value`, for a `Cookie` header): what a headless test needs to act
    /// as a signed-in browser (`prompt=none`, the `/device` page, a second client).
    ///
    /// ```
    /// # use tokengate::mock::MockIssuer;
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let issuer = MockIssuer::demo().start().await?;
    /// let cookie = issuer.sign_in("alice", "alice-password").await?;
    /// assert!(cookie.contains('='));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// When the credentials are wrong (the form answers 401) or the mock cannot be reached.
    pub async fn sign_in(&self, username: &str, password: &str) -> Result<String, FlowError> {
        let http = client("sign-in")?;
        let page = send("sign-in", http.get(self.login_url()), None).await?;
        let (_, cookie) = post_sign_in(self, &http, &page, username, password).await?;
        Ok(cookie)
    }

    /// The authorization code flow for `client_id`, headless, to tokens in one call; see
    /// [`CodeFlow`].
    pub fn code_flow(&self, client_id: impl Into<String>) -> CodeFlow<'_> {
        CodeFlow {
            issuer: self,
            client_id: client_id.into(),
            user: None,
            session: None,
            scopes: None,
            pkce: false,
            nonce: None,
            redirect_uri: None,
            prompt: None,
        }
    }
}

/// The authorization code flow (RFC 6749 §4.1), headless: authorize, sign in on the hosted
/// form when sent there, come back with a code, trade it at the token endpoint (with the
/// client's configured secret, by HTTP Basic, when it has one).
///
/// ```
/// # use tokengate::mock::MockIssuer;
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let issuer = MockIssuer::demo().start().await?;
/// let tokens = issuer
///     .code_flow("demo-spa")
///     .user("alice", "alice-password")
///     .scopes(["openid", "api/read"])
///     .pkce()
///     .run()
///     .await?;
/// assert!(tokens.id_token.is_some() && tokens.refresh_token.is_some());
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a flow does nothing until `.run()`"]
pub struct CodeFlow<'a> {
    issuer: &'a MockIssuer,
    client_id: String,
    user: Option<(String, String)>,
    session: Option<String>,
    scopes: Option<Vec<String>>,
    pkce: bool,
    nonce: Option<String>,
    redirect_uri: Option<String>,
    prompt: Option<String>,
}

impl CodeFlow<'_> {
    /// Who signs in when the hosted form asks.
    pub fn user(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.user = Some((username.into(), password.into()));
        self
    }

    /// A session cookie already signed in ([`MockIssuer::sign_in`]).
    pub fn session(mut self, cookie: impl Into<String>) -> Self {
        self.session = Some(cookie.into());
        self
    }

    /// The scopes asked for; none asked: all the client's.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// PKCE with S256 (RFC 7636): a fresh verifier, its challenge sent to authorize.
    pub fn pkce(mut self) -> Self {
        self.pkce = true;
        self
    }

    /// The `nonce` the ID token must carry.
    pub fn nonce(mut self, nonce: impl Into<String>) -> Self {
        self.nonce = Some(nonce.into());
        self
    }

    /// The redirect URI; by default the client's first registered one.
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uri = Some(uri.into());
        self
    }

    /// `prompt` (`none`, `login`).
    pub fn prompt(mut self, prompt: impl Into<String>) -> Self {
        self.prompt = Some(prompt.into());
        self
    }

    /// Runs the flow.
    ///
    /// # Errors
    ///
    /// When the client is unknown or has no redirect URI, the authorization request is
    /// refused (its `error`, such as `invalid_scope` or `login_required`), the sign-in fails,
    /// or the token endpoint refuses the code.
    pub async fn run(self) -> Result<TokenResponse, FlowError> {
        let issuer = self.issuer;
        let (redirect_uri, secret) = {
            let config = issuer.config();
            let client = config
                .clients
                .iter()
                .find(|c| c.id == self.client_id)
                .ok_or_else(|| {
                    FlowError::new("authorize", format!("no client `{}`", self.client_id))
                })?;
            let redirect_uri =
                match self.redirect_uri.clone() {
                    Some(uri) => uri,
                    None => client.redirect_uris.first().cloned().ok_or_else(|| {
                        FlowError::new("authorize", "the client has no redirect URI")
                    })?,
                };
            (redirect_uri, client.secret.clone())
        };
        let http = client("authorize")?;
        let state = new_id();
        let verifier = format!("{}{}", new_id(), new_id());
        let challenge = URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()));
        let scope = self.scopes.as_ref().map(|s| s.join(" "));
        let mut query = vec![
            ("response_type", "code"),
            ("client_id", self.client_id.as_str()),
            ("redirect_uri", redirect_uri.as_str()),
            ("state", state.as_str()),
        ];
        if let Some(scope) = &scope {
            query.push(("scope", scope));
        }
        if self.pkce {
            query.push(("code_challenge", &challenge));
            query.push(("code_challenge_method", "S256"));
        }
        if let Some(nonce) = &self.nonce {
            query.push(("nonce", nonce));
        }
        if let Some(prompt) = &self.prompt {
            query.push(("prompt", prompt));
        }
        let url = format!("{}?{}", issuer.authorize_endpoint(), encode_pairs(query));
        let mut cookie = self.session.clone();
        let mut answer = send("authorize", http.get(&url), cookie.as_deref()).await?;
        let location = |answer: &Answer| -> Result<String, FlowError> {
            answer.location.clone().ok_or_else(|| FlowError {
                status: Some(answer.status),
                ..FlowError::new("authorize", html::text_of(&answer.body))
            })
        };
        let mut to = location(&answer)?;
        if to.starts_with(&issuer.login_url()) {
            let (username, password) = self.user.as_ref().ok_or_else(|| {
                FlowError::new("sign-in", "the flow was sent to sign in and has no user")
            })?;
            let page = send("sign-in", http.get(&to), None).await?;
            let (signed_in, session) =
                post_sign_in(issuer, &http, &page, username, password).await?;
            cookie = Some(session);
            to = location(&signed_in)?;
            answer = send("authorize", http.get(&to), cookie.as_deref()).await?;
            to = location(&answer)?;
        }
        let callback = to
            .strip_prefix(&redirect_uri)
            .and_then(|rest| rest.strip_prefix(['?', '&']))
            .ok_or_else(|| {
                FlowError::new("authorize", format!("not sent back to the client: {to}"))
            })?;
        let params = Params::parse(callback.split('#').next().unwrap_or_default())
            .map_err(|e| FlowError::new("authorize", e.description))?;
        if let Some(error) = params.get("error") {
            return Err(FlowError {
                error: Some(error.to_owned()),
                ..FlowError::new(
                    "authorize",
                    params.get("error_description").unwrap_or("refused"),
                )
            });
        }
        if params.get("state") != Some(state.as_str()) {
            return Err(FlowError::new("authorize", "the state came back changed"));
        }
        let code = params
            .get("code")
            .ok_or_else(|| FlowError::new("authorize", "no code came back"))?;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri.as_str()),
        ];
        if self.pkce {
            form.push(("code_verifier", &verifier));
        }
        if secret.is_none() {
            form.push(("client_id", self.client_id.as_str()));
        }
        let mut request = http
            .post(issuer.token_endpoint())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(encode_pairs(form));
        if let Some(secret) = &secret {
            // RFC 6749 §2.3.1: each part form-urlencoded before Basic encoding.
            request = request.basic_auth(encode(&self.client_id), Some(encode(secret)));
        }
        let answer = send("token", request, None).await?;
        if answer.status != 200 {
            let error: serde_json::Value = serde_json::from_str(&answer.body).unwrap_or_default();
            return Err(FlowError {
                status: Some(answer.status),
                error: error["error"].as_str().map(str::to_owned),
                ..FlowError::new(
                    "token",
                    error["error_description"].as_str().unwrap_or("refused"),
                )
            });
        }
        serde_json::from_str(&answer.body)
            .map_err(|e| FlowError::new("token", format!("not a token response: {e}")))
    }
}
