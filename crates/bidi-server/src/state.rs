//! [`AppState`]: what every route of one server shares.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::auth::Token;
use crate::config::ServerConfig;
use crate::factory::AgentFactory;
use crate::metrics::ServerMetrics;

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
}
