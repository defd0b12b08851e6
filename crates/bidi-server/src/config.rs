//! [`ServerConfig`]: the limits and switches of one server, with the binary's defaults.

use std::path::PathBuf;
use std::time::Duration;

use bidi_agent::session::S3Location;
use bidi_agent::session::aws_sdk_s3::Client;

use crate::store::SessionStore;

/// How a server admits, bounds and ends sessions. Every field has the `bidi-server`
/// binary's default; a library user changes what they need.
///
/// ```
/// use bidi_server::ServerConfig;
///
/// let config = ServerConfig::default().with_token("s3cret").with_max_sessions(10);
/// assert_eq!(config.max_sessions, 10);
/// assert_eq!(config.max_frame_bytes, 1_048_576);
/// ```
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Required on every route but `/healthz` (`Authorization: Bearer TOKEN` or
    /// `?token=TOKEN`); `None` (the default): no authentication.
    pub token: Option<String>,
    /// Live sessions at most; an upgrade beyond them gets HTTP 503 (default 100).
    pub max_sessions: usize,
    /// The largest incoming WebSocket message; a larger one closes that socket with code
    /// 1009 (default 1 MiB).
    pub max_frame_bytes: usize,
    /// How long live sessions may go on after a drain starts, before each is closed with
    /// code 1001 (default 30 s).
    pub drain_timeout: Duration,
    /// Where sessions are kept (a directory or S3); with it a client may resume with
    /// `?session=ID`, and each phone call is a session named by its call SID.
    pub sessions: Option<SessionStore>,
    /// The server's public base URL (`https://host[:port]`) for Twilio: the host of the
    /// TwiML `<Stream>` URL and the URL Twilio's signatures are computed over. `None`: the
    /// request's `Host` header (and `X-Forwarded-Proto`).
    pub public_url: Option<String>,
    /// The Twilio account's auth token: when set, `/twilio/voice` and the `/twilio/media`
    /// upgrade need a valid `X-Twilio-Signature` (403 otherwise).
    pub twilio_auth_token: Option<String>,
    /// Messages queued for one client before its audio is dropped (default 128).
    pub send_queue: usize,
    /// How long a client that reads nothing may hold up a non-audio event before its
    /// socket is closed with code 1008 (default 5 s).
    pub slow_client_grace: Duration,
    /// How long a closing socket waits for the client's close frame (default 3 s).
    pub close_grace: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            token: None,
            max_sessions: 100,
            max_frame_bytes: 1_048_576,
            drain_timeout: Duration::from_secs(30),
            sessions: None,
            public_url: None,
            twilio_auth_token: None,
            send_queue: 128,
            slow_client_grace: Duration::from_secs(5),
            close_grace: Duration::from_secs(3),
        }
    }
}

impl ServerConfig {
    /// The same config requiring `token`.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The same config with at most `n` live sessions.
    pub fn with_max_sessions(mut self, n: usize) -> Self {
        self.max_sessions = n;
        self
    }

    /// The same config with incoming messages of at most `bytes`.
    pub fn with_max_frame_bytes(mut self, bytes: usize) -> Self {
        self.max_frame_bytes = bytes;
        self
    }

    /// The same config with a drain of at most `timeout`.
    pub fn with_drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = timeout;
        self
    }

    /// The same config with the public base URL Twilio calls (`https://host[:port]`).
    pub fn with_public_url(mut self, url: impl Into<String>) -> Self {
        self.public_url = Some(url.into().trim_end_matches('/').to_owned());
        self
    }

    /// The same config checking Twilio's signatures with the account's `auth_token`.
    pub fn with_twilio_auth_token(mut self, auth_token: impl Into<String>) -> Self {
        self.twilio_auth_token = Some(auth_token.into());
        self
    }

    /// The same config keeping file sessions under `dir`.
    pub fn with_session_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.sessions = Some(SessionStore::Dir(dir.into()));
        self
    }

    /// The same config keeping sessions in S3 at `location`, through `client`.
    pub fn with_session_s3(mut self, location: S3Location, client: Client) -> Self {
        self.sessions = Some(SessionStore::S3 { location, client });
        self
    }
}
