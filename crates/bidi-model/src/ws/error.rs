//! [`WsError`]: why a WebSocket connection could not be opened or broke.

use std::time::Duration;

/// Why a WebSocket connection could not be opened, or broke.
///
/// URLs in errors are shown without their query string (it may carry a key); header values
/// are never shown.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WsError {
    /// The URL is not a `ws://` or `wss://` URL.
    #[error("url=<{url}> | invalid WebSocket URL: {reason}")]
    InvalidUrl {
        /// The URL, without its query.
        url: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A request header has an invalid name or value (the value is not shown).
    #[error("header=<{name}> | invalid header name or value")]
    InvalidHeader {
        /// The header's name.
        name: String,
    },

    /// The TLS settings could not be built.
    #[error("tls | {0}")]
    Tls(String),

    /// The trusted roots could not be built (a bad CA file).
    #[error(transparent)]
    Trust(#[from] crate::trust::TrustError),

    /// The server's certificate chains to no trusted root.
    #[error("url=<{url}> | {hint}", hint = crate::trust::UNTRUSTED_HINT)]
    Untrusted {
        /// The URL, without its query.
        url: String,
        /// rustls's refusal.
        #[source]
        source: Box<tokio_tungstenite::tungstenite::Error>,
    },

    /// The proxy settings are invalid, or the proxy refused or failed the tunnel.
    #[error("proxy=<{proxy}> | {reason}")]
    Proxy {
        /// The proxy, without credentials.
        proxy: String,
        /// What went wrong and what to fix.
        reason: String,
    },

    /// The connection or the handshake did not finish in time.
    #[error("url=<{url}>, timeout=<{after:?}> | connect timed out")]
    ConnectTimeout {
        /// The URL, without its query.
        url: String,
        /// How long it waited.
        after: Duration,
    },

    /// The server answered the upgrade with an HTTP error.
    #[error("url=<{url}>, status=<{status}> | server refused the WebSocket upgrade")]
    Rejected {
        /// The URL, without its query.
        url: String,
        /// The HTTP status.
        status: u16,
    },

    /// The connection could not be opened (DNS, TCP, TLS, handshake).
    #[error("url=<{url}> | could not connect: {source}")]
    Connect {
        /// The URL, without its query.
        url: String,
        /// What failed.
        #[source]
        source: Box<tokio_tungstenite::tungstenite::Error>,
    },

    /// Reading or writing an open connection failed.
    #[error("websocket transport failed: {0}")]
    Transport(#[source] Box<tokio_tungstenite::tungstenite::Error>),

    /// Nothing arrived from the peer, not even a pong, for this long.
    #[error("silent_for=<{after:?}> | peer stopped answering pings")]
    KeepaliveTimeout {
        /// How long the peer was silent.
        after: Duration,
    },

    /// The connection is closed; nothing more can be sent.
    #[error("websocket connection is closed")]
    Closed,
}
