//! [`WsConfig`]: where and how to connect; TLS defaults.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::{ProxySettings, WsError};

/// Where and how to open a WebSocket connection.
///
/// Defaults: 256-frame channels each way, a ping every 20 s with a 20 s timeout, a 10 s
/// connect timeout and a 16 MiB message limit (OpenAI accepts 15 MiB audio appends).
///
/// ```
/// use std::time::Duration;
/// use bidi_model::ws::WsConfig;
///
/// let config = WsConfig::new("ws://127.0.0.1:9000/v1/realtime")
///     .header("Authorization", "Bearer test")
///     .ping_interval(Some(Duration::from_secs(5)))
///     .capacity(64);
/// assert_eq!(config.url(), "ws://127.0.0.1:9000/v1/realtime");
/// // Header values never show in Debug output.
/// assert!(!format!("{config:?}").contains("Bearer test"));
/// ```
#[derive(Clone)]
pub struct WsConfig {
    pub(super) url: String,
    pub(super) headers: Vec<(String, String)>,
    pub(super) tls: Option<Arc<rustls::ClientConfig>>,
    pub(super) ca_file: Option<PathBuf>,
    pub(super) proxy: Option<ProxySettings>,
    pub(super) capacity: usize,
    pub(super) ping_interval: Option<Duration>,
    pub(super) ping_timeout: Duration,
    pub(super) connect_timeout: Duration,
    pub(super) max_message_size: usize,
}

impl WsConfig {
    /// A config for `url` (`ws://` or `wss://`) with the defaults.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            headers: Vec::new(),
            tls: None,
            ca_file: None,
            proxy: None,
            capacity: 256,
            ping_interval: Some(Duration::from_secs(20)),
            ping_timeout: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(10),
            max_message_size: 16 << 20,
        }
    }

    /// The URL to connect to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Adds a request header. Values of `Authorization` and `*key*` headers are marked
    /// sensitive; no value is ever logged.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The rustls client config for `wss://` (a custom root store, client certificates,
    /// ...). Default: [`default_tls_config`], or the same roots plus [`Self::ca_file`]'s.
    /// A config given here is used as it is: the CA file is then ignored.
    pub fn tls(mut self, tls: Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Also trust the certificates of this PEM file for `wss://` (a private CA, a corporate
    /// TLS proxy's), besides the bundled and system roots. Read when connecting; a missing,
    /// unreadable or certificate-less file fails the connect with [`WsError::Trust`].
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// The proxy settings to use instead of the environment's (`HTTPS_PROXY`, `ALL_PROXY`,
    /// `HTTP_PROXY`, `NO_PROXY`, read when connecting); [`ProxySettings::none`] connects
    /// directly.
    pub fn proxy(mut self, settings: ProxySettings) -> Self {
        self.proxy = Some(settings);
        self
    }

    /// How many frames each channel (in and out) holds before it pushes back (at least 1).
    pub fn capacity(mut self, frames: usize) -> Self {
        self.capacity = frames.max(1);
        self
    }

    /// How often to ping the server; `None` sends no pings.
    pub fn ping_interval(mut self, every: Option<Duration>) -> Self {
        self.ping_interval = every;
        self
    }

    /// How long past a ping interval the peer may stay silent before the connection is
    /// declared dead.
    pub fn ping_timeout(mut self, timeout: Duration) -> Self {
        self.ping_timeout = timeout;
        self
    }

    /// How long TCP, TLS and the upgrade may take together.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The largest message accepted from the server, in bytes.
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }
}

impl fmt::Debug for WsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("WsConfig")
            .field("url", &redact_url(&self.url))
            .field("headers", &names)
            .field("custom_tls", &self.tls.is_some())
            .field("ca_file", &self.ca_file)
            .field("proxy", &self.proxy)
            .field("capacity", &self.capacity)
            .field("ping_interval", &self.ping_interval)
            .field("ping_timeout", &self.ping_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("max_message_size", &self.max_message_size)
            .finish()
    }
}

/// The URL without its query string (which may carry a key), for logs and errors.
pub(super) fn redact_url(url: &str) -> String {
    match url.split_once('?') {
        Some((base, _)) => format!("{base}?…"),
        None => url.to_owned(),
    }
}

/// Installs aws-lc-rs as the process-wide rustls crypto provider, unless one is already
/// installed. Safe to call any number of times, from any thread.
///
/// bidi builds its own TLS configs with an explicit provider and does not need this; call
/// it before building a [`rustls::ClientConfig`] with `ClientConfig::builder()` yourself
/// when several providers are compiled in (rustls then cannot pick one).
///
/// ```
/// bidi_model::ws::install_crypto_provider();
/// assert!(rustls::crypto::CryptoProvider::get_default().is_some());
/// ```
pub fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Another thread may win the race; either way a provider is installed.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    }
}

/// The TLS config used for `wss://` when neither a config nor a CA file is given: rustls
/// with the aws-lc-rs provider, TLS 1.2 and 1.3, no client certificate, trusting Mozilla's
/// roots (`webpki-roots`) and the system's store (see [`crate::trust`]). Built once per
/// process.
///
/// ```
/// let tls = bidi_model::ws::default_tls_config().unwrap();
/// assert!(tls.alpn_protocols.is_empty());
/// ```
pub fn default_tls_config() -> Result<Arc<rustls::ClientConfig>, WsError> {
    Ok(crate::trust::client_config(None)?)
}
