//! `tokengate-mock`: the test-mode, Cognito-shaped authorization server as a standalone
//! process, for tests written in any language. Never a production authorization server.
//!
//! ```text
//! tokengate-mock [--config FILE] [--addr ADDR] [--issuer URL] [--admin-token TOKEN]
//!                [--allow-non-loopback]
//! ```
//!
//! Without `--config` it serves the demo configuration. It prints its URLs and what it is
//! configured with, then `listening on http://ADDR` once bound, and serves until killed. It
//! refuses an address beyond loopback unless `--allow-non-loopback` says so, and then warns.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::ExitCode;

use tokengate::mock::{Grant, MockConfig, MockIssuer};

const DEFAULT_ADDR: &str = "127.0.0.1:9000";

const USAGE: &str = "\
usage: tokengate-mock [--config FILE] [--addr ADDR] [--issuer URL] [--admin-token TOKEN]
                      [--allow-non-loopback]

A test-mode OAuth 2.0 authorization server shaped like an Amazon Cognito user pool.
For tests only: never use it as a real authorization server.

options:
  --config FILE   read the configuration from a TOML file (default: the demo configuration)
  --addr ADDR     the address to listen on (default: 127.0.0.1:9000; port 0 picks a free one)
  --issuer URL    the advertised issuer (`iss`), overriding the file's `issuer`
                  (default: http://ADDR/us-east-1_tokengate, a Cognito-style pool path;
                  discovery and the JWKS are served under the issuer's path)
  --admin-token TOKEN
                  require `Authorization: Bearer TOKEN` on every admin API request
  --allow-non-loopback
                  let --addr be beyond loopback (0.0.0.0, a LAN address): anyone who
                  reaches the mock can then use its users and, without --admin-token,
                  read its secrets and mint tokens
  -h, --help      print this help";

/// What the command line asks for.
#[derive(Debug, Default)]
struct Args {
    config: Option<String>,
    addr: Option<String>,
    issuer: Option<String>,
    admin_token: Option<String>,
    allow_non_loopback: bool,
    help: bool,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name.to_owned(), Some(value.into())),
            _ => (arg.clone(), None),
        };
        let slot = match name.as_str() {
            "-h" | "--help" => {
                parsed.help = true;
                continue;
            }
            "--allow-non-loopback" => {
                if inline.is_some() {
                    return Err("`--allow-non-loopback` takes no value".into());
                }
                if std::mem::replace(&mut parsed.allow_non_loopback, true) {
                    return Err("`--allow-non-loopback` is given twice".into());
                }
                continue;
            }
            "--config" => &mut parsed.config,
            "--addr" => &mut parsed.addr,
            "--issuer" => &mut parsed.issuer,
            "--admin-token" => &mut parsed.admin_token,
            _ => return Err(format!("unknown argument `{arg}`")),
        };
        let value = match inline {
            Some(value) => value,
            None => args
                .next()
                .ok_or_else(|| format!("`{name}` needs a value"))?,
        };
        if slot.replace(value).is_some() {
            return Err(format!("`{name}` is given twice"));
        }
    }
    Ok(parsed)
}

fn load_config(path: &str) -> Result<MockConfig, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("cannot read config `{path}`: {e}"))?;
    toml::from_str(&text).map_err(|e| format!("invalid config `{path}`:\n{e}"))
}

fn grant_name(grant: Grant) -> String {
    serde_json::to_value(grant)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{grant:?}"))
}

fn describe(config: &MockConfig, demo: bool) {
    if demo {
        println!("configuration: the demo (no --config given)");
    }
    println!("clients:");
    if config.clients.is_empty() {
        println!("  (none)");
    }
    for client in &config.clients {
        let secret = client
            .secret
            .as_deref()
            .map_or_else(|| "public, no secret".to_owned(), |s| format!("secret {s}"));
        let grants: Vec<String> = client.grants.iter().copied().map(grant_name).collect();
        println!("  {}  ({secret})", client.id);
        println!("    grants: {}", grants.join(" "));
        println!("    scopes: {}", client.scopes.join(" "));
        if !client.redirect_uris.is_empty() {
            println!("    redirect URIs: {}", client.redirect_uris.join(" "));
        }
    }
    println!("users:");
    if config.users.is_empty() {
        println!("  (none)");
    }
    for user in &config.users {
        let mut line = format!("  {} / password {}", user.username, user.password);
        if let Some(email) = &user.email {
            line.push_str(&format!("  email {email}"));
        }
        if !user.groups.is_empty() {
            line.push_str(&format!("  groups {}", user.groups.join(" ")));
        }
        println!("{line}");
    }
    let scopes: Vec<String> = config
        .resource_servers
        .iter()
        .flat_map(|rs| rs.full_scopes().collect::<Vec<_>>())
        .collect();
    if !scopes.is_empty() {
        println!("custom scopes: {}", scopes.join(" "));
    }
    let mut groups: Vec<&str> = config
        .users
        .iter()
        .flat_map(|u| u.groups.iter().map(String::as_str))
        .collect();
    groups.sort_unstable();
    groups.dedup();
    if !groups.is_empty() {
        println!("groups: {}", groups.join(" "));
    }
}

async fn serve(config: MockConfig, demo: bool, addr: SocketAddr, args: Args) -> ExitCode {
    // The issuer, `--issuer` included, is in `config`.
    let mut builder = MockIssuer::builder().config(config.clone()).addr(addr);
    if let Some(token) = &args.admin_token {
        builder = builder.admin_token(token.clone());
    }
    if args.allow_non_loopback {
        builder = builder.allow_non_loopback();
    }
    let mock = match builder.start().await {
        Ok(mock) => mock,
        Err(e) => {
            eprintln!("tokengate-mock: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("tokengate-mock: a test-mode, Cognito-shaped OAuth 2.0 server (never for production)");
    println!("issuer:     {}", mock.issuer());
    println!("base URL:   {}", mock.url());
    println!("discovery:  {}", mock.discovery_url());
    println!("JWKS:       {}", mock.jwks_uri());
    println!("token:      {}", mock.token_endpoint());
    println!("authorize:  {}", mock.authorize_endpoint());
    let guarded = if args.admin_token.is_some() {
        "  (Authorization: Bearer <admin token>)"
    } else {
        ""
    };
    println!("admin API:  {}/_admin{guarded}", mock.url());
    describe(&config, demo);
    if !addr.ip().is_loopback() {
        eprintln!(
            "tokengate-mock: warning: listening on {}, beyond loopback: anyone who can reach \
             this address can sign in as the configured users{}",
            mock.local_addr(),
            if args.admin_token.is_some() {
                "; the admin API needs the admin token"
            } else {
                ", read every secret and mint tokens through the admin API (no --admin-token)"
            }
        );
    }
    println!("listening on http://{}", mock.local_addr());
    // Serves until the process is stopped (Ctrl-C, SIGTERM); `mock` must live until then.
    let never: Infallible = std::future::pending().await;
    drop(mock);
    match never {}
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("tokengate-mock: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if args.help {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let addr_text = args.addr.as_deref().unwrap_or(DEFAULT_ADDR);
    let addr: SocketAddr = match addr_text.parse() {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("tokengate-mock: invalid --addr `{addr_text}`: {e} (expected IP:PORT)");
            return ExitCode::from(2);
        }
    };
    let (mut config, demo) = match &args.config {
        Some(path) => match load_config(path) {
            Ok(config) => (config, false),
            Err(e) => {
                eprintln!("tokengate-mock: {e}");
                return ExitCode::from(2);
            }
        },
        None => (MockConfig::demo(), true),
    };
    if let Some(issuer) = &args.issuer {
        config.issuer = Some(issuer.clone());
    }
    // What Cognito would refuse (and what the mock cannot serve) is a usage error, as a
    // malformed file is.
    if let Err(e) = config.validate() {
        eprintln!("tokengate-mock: {e}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("tokengate-mock: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    if !addr.ip().is_loopback() && !args.allow_non_loopback {
        eprintln!(
            "tokengate-mock: refusing to listen on {addr}, beyond loopback: anyone who can \
             reach it could read every secret and mint tokens. Pass --allow-non-loopback (and \
             preferably --admin-token) if that is what you want.\n\n{USAGE}"
        );
        return ExitCode::from(2);
    }
    if args
        .admin_token
        .as_deref()
        .is_some_and(|t| t.trim().is_empty())
    {
        eprintln!("tokengate-mock: --admin-token must not be empty\n\n{USAGE}");
        return ExitCode::from(2);
    }
    runtime.block_on(serve(config, demo, addr, args))
}
