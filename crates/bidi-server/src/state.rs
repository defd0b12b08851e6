//! [`AppState`]: what every route of one server shares.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::ws::WebSocketUpgrade;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::auth::Token;
use crate::config::ServerConfig;
use crate::factory::AgentFactory;
use crate::metrics::ServerMetrics;

/// The read buffer of each socket. tungstenite's default, 128 KiB, is allocated per socket
/// whatever its traffic, and zero-filled before each read; clients send 20–100 ms audio
/// frames (1–10 KiB of JSON), so 4 KiB takes a 20 ms frame in one read (longer ones in a
/// few) at a thirty-second of the memory and of the filling.
const READ_BUFFER_BYTES: usize = 4 * 1024;

/// One server's shared state.
pub(crate) struct AppState {
    pub(crate) config: ServerConfig,
    pub(crate) token: Option<Token>,
    pub(crate) metrics: ServerMetrics,
    pub(crate) factory: Arc<dyn AgentFactory>,
    /// One permit per session that may still open.
    pub(crate) slots: Arc<Semaphore>,
    /// Set when a drain starts: no new sessions, `/healthz` 503.
    draining: AtomicBool,
    /// Cancelled when the drain's time is up: every session closes with 1001.
    pub(crate) closing: CancellationToken,
}

impl AppState {
    pub(crate) fn new(factory: Arc<dyn AgentFactory>, config: ServerConfig) -> Self {
        Self {
            token: config.token.clone().and_then(Token::new),
            slots: Arc::new(Semaphore::new(config.max_sessions)),
            config,
            metrics: ServerMetrics::new(),
            factory,
            draining: AtomicBool::new(false),
            closing: CancellationToken::new(),
        }
    }

    pub(crate) fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    pub(crate) fn start_draining(&self) {
        self.draining.store(true, Ordering::Release);
    }

    /// Sessions open now.
    pub(crate) fn live_sessions(&self) -> usize {
        self.config
            .max_sessions
            .saturating_sub(self.slots.available_permits())
    }

    /// `upgrade` with this server's limits: frames up to twice `max_frame_bytes` are read
    /// (and refused with 1009 by the session), larger ones are refused by the WebSocket
    /// codec before they are buffered whole.
    pub(crate) fn size_upgrade(&self, upgrade: WebSocketUpgrade) -> WebSocketUpgrade {
        let codec_limit = self.config.max_frame_bytes.saturating_mul(2).max(1024);
        upgrade
            .read_buffer_size(READ_BUFFER_BYTES)
            .max_message_size(codec_limit)
            .max_frame_size(codec_limit)
    }
}
