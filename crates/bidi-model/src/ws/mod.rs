//! A provider-independent WebSocket client: what the `openai` and `gemini` providers stand
//! on.
//!
//! [`connect`] opens `ws://` or `wss://` (rustls with the aws-lc-rs provider trusting the
//! roots of [`crate::trust`], or any [`rustls::ClientConfig`] you give) with extra request
//! headers, directly or through an HTTP proxy ([`ProxySettings`]), then runs two tasks:
//!
//! - a reader, which forwards text and binary frames into a bounded channel
//!   ([`WsReceiver`]), answers pings (tungstenite queues the pong) and ends with the close
//!   frame or the transport error;
//! - a writer, which sends what [`WsSender`] queues (a bounded channel, so a stalled socket
//!   pushes back on the caller), pings every [`WsConfig::ping_interval`] and reports a dead
//!   peer when nothing arrived for an interval plus [`WsConfig::ping_timeout`].
//!
//! [`WsSender::close`] starts the closing handshake; dropping the [`WsReceiver`] ends both
//! tasks.
//!
//! ```no_run
//! # async fn demo() -> Result<(), bidi_model::ws::WsError> {
//! use bidi_model::ws::{WsConfig, WsIncoming, connect};
//!
//! let config = WsConfig::new("wss://example.invalid/v1/realtime")
//!     .header("Authorization", "Bearer sk-...");
//! let (sender, mut receiver) = connect(config).await?;
//! sender.send_text(r#"{"type":"session.update","session":{}}"#).await?;
//! while let Some(frame) = receiver.recv().await {
//!     match frame? {
//!         WsIncoming::Text(text) => println!("{text}"),
//!         WsIncoming::Binary(_) => {}
//!         WsIncoming::Close(_) => break,
//!     }
//! }
//! # Ok(()) }
//! ```

mod config;
mod connection;
mod error;
mod inbound;
mod proxy;
mod session;

pub use config::{WsConfig, default_tls_config, install_crypto_provider};
pub use connection::{CloseInfo, WsIncoming, WsReceiver, WsSender, connect};
pub use error::WsError;
pub use inbound::Inbound;
pub use proxy::{ProxySettings, ProxyUrl};
pub use session::{
    CLOSE_GRACE, EventQueue, LiveConnection, connect_failed, shut_down, take_events,
};
