//! [`RemoteJwks`]: where an issuer's key set is fetched from, and the bounds of how long it is
//! trusted. Checked once, when the authorizer is built; the running cache is
//! [`KeyCache`](crate::jwks::KeyCache).

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::{Client, ClientBuilder, Url};

use crate::clock::Clock;
use crate::error::{Error, ErrorKind};
use crate::jwks::fetch::{FetchLimits, default_client};
use crate::jwks::key_cache::KeyCache;
use crate::jwks::key_set::DEFAULT_MAX_KEYS;

/// Where a remote key set comes from, and how it is cached.
///
/// The trust bounds must nest, `cooldown ≤ ttl ≤ max_ttl ≤ max_staleness`; building the
/// authorizer checks them (and the rest of this configuration) and returns an
/// [`ErrorKind::Config`] when they do not.
///
/// ```
/// use std::time::Duration;
/// use tokengate::RemoteJwks;
///
/// let jwks = RemoteJwks::discover("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example")?
///     .cooldown(Duration::from_secs(10))
///     .max_ttl(Duration::from_secs(15 * 60))
///     .max_staleness(Duration::from_secs(6 * 3600));
/// # Ok::<(), tokengate::Error>(())
/// ```
#[derive(Clone)]
pub struct RemoteJwks {
    pub(crate) source: Source,
    pub(crate) config: Config,
    /// A client built from the caller's settings, or why it could not be built.
    client: Option<Result<Client, String>>,
}

#[derive(Clone, Debug)]
pub(crate) enum Source {
    Discovery { issuer: String, url: Url },
    Uri(Url),
}

impl Source {
    pub(crate) fn url(&self) -> &Url {
        match self {
            Self::Discovery { url, .. } | Self::Uri(url) => url,
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) ttl: Duration,
    pub(crate) max_ttl: Duration,
    pub(crate) cooldown: Duration,
    pub(crate) max_staleness: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) limits: FetchLimits,
    pub(crate) max_keys: usize,
    pub(crate) min_backoff: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) check_interval: Duration,
    pub(crate) allow_insecure_http: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(10 * 60),
            max_ttl: Duration::from_secs(3600),
            cooldown: Duration::from_secs(30),
            max_staleness: Duration::from_secs(24 * 3600),
            connect_timeout: Duration::from_secs(2),
            limits: FetchLimits {
                timeout: Duration::from_secs(5),
                max_body: 1024 * 1024,
            },
            max_keys: DEFAULT_MAX_KEYS,
            min_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(5 * 60),
            check_interval: Duration::from_secs(1),
            allow_insecure_http: false,
        }
    }
}

impl Config {
    /// How long one fetch may take at most, discovery included (up to three metadata
    /// documents, then the key set): past it, a fetch nobody drives counts as gone.
    pub(crate) fn fetch_deadline(&self) -> Duration {
        self.limits
            .timeout
            .saturating_add(self.connect_timeout)
            .saturating_mul(4)
            .saturating_add(Duration::from_secs(1))
    }

    /// The TTL of a fetched set: `max-age` when the issuer sent one, within
    /// [cooldown, max_ttl]; else the configured TTL.
    pub(crate) fn ttl_for(&self, max_age: Option<Duration>) -> Duration {
        max_age.map_or(self.ttl, |age| age.max(self.cooldown).min(self.max_ttl))
    }

    fn check(&self) -> Result<(), Error> {
        let invalid = |message: String| Err(Error::new(ErrorKind::Config(message)));
        let order = [
            ("cooldown", self.cooldown, "ttl", self.ttl),
            ("ttl", self.ttl, "max_ttl", self.max_ttl),
            ("max_ttl", self.max_ttl, "max_staleness", self.max_staleness),
            (
                "the least retry backoff",
                self.min_backoff,
                "the greatest",
                self.max_backoff,
            ),
        ];
        for (small, a, large, b) in order {
            if a > b {
                return invalid(format!(
                    "{small} ({a:?}) must not exceed {large} ({b:?}): remote keys need \
                     cooldown ≤ ttl ≤ max_ttl ≤ max_staleness"
                ));
            }
        }
        for (name, value) in [
            ("timeout", self.limits.timeout),
            ("connect_timeout", self.connect_timeout),
            ("refresh_check_interval", self.check_interval),
        ] {
            if value.is_zero() {
                return invalid(format!("{name} must be longer than zero"));
            }
        }
        if self.max_keys == 0 || self.limits.max_body == 0 {
            return invalid("max_keys and max_body_bytes must be at least 1".into());
        }
        Ok(())
    }
}

/// Whether `url` names this machine: `localhost`, 127.0.0.0/8 or `::1`.
pub(crate) fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

/// Whether fetching `url` is allowed: HTTPS, or HTTP to this machine, or HTTP anywhere once
/// the caller gave up transport security.
pub(crate) fn transport_allowed(url: &Url, allow_insecure_http: bool) -> bool {
    url.scheme() == "https" || (url.scheme() == "http" && (allow_insecure_http || is_loopback(url)))
}

pub(crate) fn parse_url(url: &str) -> Result<Url, Error> {
    let invalid = |reason| {
        Error::new(ErrorKind::InvalidUrl {
            url: url.to_owned(),
            reason,
        })
    };
    let parsed = Url::parse(url).map_err(|_| invalid("not an absolute URL"))?;
    match parsed.scheme() {
        "https" | "http" => {}
        _ => return Err(invalid("the scheme must be https (or http on loopback)")),
    }
    if parsed.cannot_be_a_base() || parsed.host().is_none() {
        return Err(invalid("no host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() || parsed.fragment().is_some() {
        return Err(invalid("credentials and fragments are not allowed"));
    }
    Ok(parsed)
}

impl RemoteJwks {
    /// Keys found through the issuer's metadata: `{issuer}/.well-known/openid-configuration`,
    /// then RFC 8414's `/.well-known/oauth-authorization-server`. The document's `issuer` must
    /// equal `issuer` exactly, and its `jwks_uri` must be HTTPS (or HTTP on loopback when the
    /// issuer is too).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidUrl`] when `issuer` is not an http(s) URL with a host.
    pub fn discover(issuer: impl Into<String>) -> Result<Self, Error> {
        let issuer = issuer.into();
        let url = parse_url(&issuer)?;
        Ok(Self::new(Source::Discovery { issuer, url }))
    }

    /// Keys fetched from this JWKS URL.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidUrl`] when `jwks_uri` is not an http(s) URL with a host.
    pub fn from_uri(jwks_uri: impl AsRef<str>) -> Result<Self, Error> {
        Ok(Self::new(Source::Uri(parse_url(jwks_uri.as_ref())?)))
    }

    fn new(source: Source) -> Self {
        Self {
            source,
            config: Config::default(),
            client: None,
        }
    }

    /// How long a fetched set is fresh when the response has no `Cache-Control: max-age`.
    /// A background refresh runs at about 80 % of it; past it, requests still use the set
    /// while one shared refresh runs. Defaults to 10 minutes.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.config.ttl = ttl;
        self
    }

    /// The longest an issuer's `Cache-Control: max-age` may make a set fresh: a key the
    /// issuer removed is refused at most about this long after. `max-age` is honoured within
    /// [cooldown, max_ttl]. Defaults to 1 hour.
    pub fn max_ttl(mut self, max_ttl: Duration) -> Self {
        self.config.max_ttl = max_ttl;
        self
    }

    /// The least time between two fetches caused by requests (unknown `kid`s, a set past its
    /// TTL); during it an unknown `kid` is refused at once. Also the floor for `max-age`.
    /// Defaults to 30 seconds.
    pub fn cooldown(mut self, cooldown: Duration) -> Self {
        self.config.cooldown = cooldown;
        self
    }

    /// How long the last good set keeps being used while the issuer cannot be reached. Past
    /// it, requests get [`AuthErrorKind::KeysUnavailable`](crate::AuthErrorKind) (a 503).
    /// Defaults to 24 hours.
    pub fn max_staleness(mut self, max_staleness: Duration) -> Self {
        self.config.max_staleness = max_staleness;
        self
    }

    /// Time allowed to connect. Defaults to 2 seconds.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout = timeout;
        self
    }

    /// Time allowed for a whole fetch, body included. Defaults to 5 seconds.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.config.limits.timeout = timeout;
        self
    }

    /// The largest document accepted, in bytes. Defaults to 1 MiB.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.config.limits.max_body = bytes;
        self
    }

    /// The most keys a set may hold. Defaults to 100.
    pub fn max_keys(mut self, max_keys: usize) -> Self {
        self.config.max_keys = max_keys;
        self
    }

    /// Bounds of the exponential backoff between retries while fetches fail (`min ≤ max`).
    /// Default to 1 second and 5 minutes.
    pub fn retry_backoff(mut self, min: Duration, max: Duration) -> Self {
        self.config.min_backoff = min;
        self.config.max_backoff = max;
        self
    }

    /// How often the background task looks at the clock to see whether a refresh or a retry
    /// is due. Defaults to 1 second.
    pub fn refresh_check_interval(mut self, interval: Duration) -> Self {
        self.config.check_interval = interval;
        self
    }

    /// Fetches key sets and metadata over plain `http://` from any host. Gives up transport
    /// security: anyone on the network path can then hand the authorizer keys of their own,
    /// and so mint tokens it accepts. Without it, `http://` is allowed only for loopback hosts
    /// (`localhost`, 127.0.0.0/8, `::1`), for local tests.
    pub fn allow_insecure_http(mut self) -> Self {
        self.config.allow_insecure_http = true;
        self
    }

    /// Your own HTTP client settings (proxies, root certificates, timeouts). tokengate builds
    /// the client itself after turning redirects off, so a redirect is never followed
    /// whatever the builder said; [`RemoteJwks::connect_timeout`] is then ignored.
    ///
    /// ```
    /// use tokengate::RemoteJwks;
    ///
    /// let jwks = RemoteJwks::from_uri("https://issuer.example/jwks.json")?
    ///     .http_client(reqwest::Client::builder().user_agent("orders-api"));
    /// # let _ = jwks;
    /// # Ok::<(), tokengate::Error>(())
    /// ```
    ///
    /// A builder that cannot be built surfaces when the authorizer is built.
    pub fn http_client(mut self, builder: ClientBuilder) -> Self {
        let built = builder
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"));
        self.client = Some(built);
        self
    }

    /// Checks the configuration and starts the cache, on the authorizer's `clock`; `issuer`
    /// names it in metrics.
    pub(crate) fn into_cache(
        self,
        clock: Arc<dyn Clock>,
        issuer: Option<&str>,
    ) -> Result<KeyCache, Error> {
        self.config.check()?;
        let url = self.source.url();
        if !transport_allowed(url, self.config.allow_insecure_http) {
            return Err(Error::new(ErrorKind::InvalidUrl {
                url: url.to_string(),
                reason: "http:// is allowed only for loopback hosts; use https, or call \
                         `allow_insecure_http()` to give up transport security",
            }));
        }
        let client = match self.client {
            Some(Ok(client)) => client,
            Some(Err(message)) => return Err(Error::new(ErrorKind::Config(message))),
            None => default_client(self.config.connect_timeout)?,
        };
        let label = issuer.map_or_else(|| url.to_string(), str::to_owned);
        Ok(KeyCache::new(
            clock,
            self.source,
            self.config,
            client,
            label,
        ))
    }
}

impl fmt::Debug for RemoteJwks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteJwks")
            .field("source", &self.source)
            .field("config", &self.config)
            .field("custom_client", &self.client.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    #[test]
    fn loopback_hosts_are_this_machine_only() {
        for local in [
            "http://localhost:8080/jwks.json",
            "http://LOCALHOST/",
            "http://127.0.0.1:1/",
            "http://127.3.2.1/",
            "http://[::1]:9000/",
        ] {
            assert!(is_loopback(&url(local)), "{local}");
        }
        for remote in [
            "http://issuer.example/",
            "http://localhost.example/",
            "http://10.0.0.1/",
            "http://[::2]/",
            "http://0.0.0.0/",
        ] {
            assert!(!is_loopback(&url(remote)), "{remote}");
        }
    }

    #[test]
    fn max_age_is_honoured_within_cooldown_and_max_ttl() {
        let config = Config {
            cooldown: Duration::from_secs(30),
            ttl: Duration::from_secs(600),
            max_ttl: Duration::from_secs(3600),
            ..Config::default()
        };
        let ttl = |age: Option<u64>| config.ttl_for(age.map(Duration::from_secs)).as_secs();
        assert_eq!(ttl(None), 600);
        assert_eq!(ttl(Some(1)), 30);
        assert_eq!(ttl(Some(120)), 120);
        assert_eq!(ttl(Some(86_400)), 3600);
    }

    #[test]
    fn the_fetch_deadline_saturates() {
        let config = Config {
            limits: FetchLimits {
                timeout: Duration::MAX,
                max_body: 1,
            },
            ..Config::default()
        };
        assert_eq!(config.fetch_deadline(), Duration::MAX);
    }
}
