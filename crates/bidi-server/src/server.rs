//! [`BidiServer`]: a server's router, its metrics, and serving with a drain.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio::time::Instant;

use crate::config::ServerConfig;
use crate::factory::AgentFactory;
use crate::metrics::ServerMetrics;
use crate::routes;
use crate::state::AppState;

/// How often a drain looks at the sessions still open.
const DRAIN_POLL: Duration = Duration::from_millis(20);

/// A voice-agent server: each WebSocket at `/ws` gets its own agent from the factory.
///
/// Mount [`router`](Self::router) in your own axum app, or let [`serve`](Self::serve) run
/// it with a drain on shutdown:
///
/// ```no_run
/// use bidi_agent::BidiAgent;
/// use bidi_agent::models::openai::{BidiOpenAIRealtimeModel, OpenAiRealtimeConfig};
/// use bidi_server::{BidiServer, BoxError, ServerConfig, SessionStart};
///
/// # async fn demo() -> Result<(), BoxError> {
/// let factory = |_start: SessionStart| async {
///     let model = BidiOpenAIRealtimeModel::new(OpenAiRealtimeConfig::new())?; // OPENAI_API_KEY
///     Ok::<_, BoxError>(BidiAgent::builder(model).system_prompt("Be brief.").build()?)
/// };
/// let server = BidiServer::new(factory, ServerConfig::default().with_token("s3cret"));
/// let app = axum::Router::new()
///     .route("/hello", axum::routing::get(|| async { "hi" }))
///     .merge(server.router());
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// axum::serve(listener, app).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct BidiServer {
    state: Arc<AppState>,
}

impl std::fmt::Debug for BidiServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BidiServer")
            .field("live_sessions", &self.live_sessions())
            .field("draining", &self.state.is_draining())
            .finish_non_exhaustive()
    }
}

impl BidiServer {
    /// A server making each session's agent with `factory`, bounded by `config`.
    pub fn new(factory: impl AgentFactory, config: ServerConfig) -> Self {
        Self {
            state: Arc::new(AppState::new(Arc::new(factory), config)),
        }
    }

    /// The routes `/healthz`, `/metrics`, `/` (the voice page) and `/ws`.
    pub fn router(&self) -> Router {
        routes::router(Arc::clone(&self.state))
    }

    /// The server's metrics.
    pub fn metrics(&self) -> &ServerMetrics {
        &self.state.metrics
    }

    /// Sessions open now.
    pub fn live_sessions(&self) -> usize {
        self.state.live_sessions()
    }

    /// Drains: refuses new sessions (503, and `/healthz` 503) while the routes stay up,
    /// lets open sessions go on for up to the configured drain timeout, then closes each
    /// with code 1001 and waits (up to the close grace and a second) for them to end.
    pub async fn drain(&self) {
        self.state.start_draining();
        let config = &self.state.config;
        tracing::info!(
            live = self.live_sessions(),
            timeout_s = config.drain_timeout.as_secs_f64(),
            "draining: no new sessions"
        );
        if !self.wait_until_idle(config.drain_timeout).await {
            tracing::info!(
                live = self.live_sessions(),
                "drain timeout: closing sessions with 1001"
            );
            self.state.closing.cancel();
            self.wait_until_idle(config.close_grace + Duration::from_secs(1))
                .await;
        }
    }

    /// Whether every session ended within `limit`.
    async fn wait_until_idle(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while self.live_sessions() > 0 {
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(DRAIN_POLL).await;
        }
        true
    }

    /// Serves on `listener` until `shutdown` completes, then [drains](Self::drain) with the
    /// listener still answering, and returns.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let drained = tokio_util::sync::CancellationToken::new();
        let app = self.router();
        // Audio goes both ways in small frames: with Nagle's algorithm on, each frame the
        // server writes waits for the ACK of the one before, which the client delays to
        // ride on its own next frame (up to one frame period, ~20 ms).
        let listener = listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "could not set TCP_NODELAY");
            }
        });
        let serving =
            axum::serve(listener, app).with_graceful_shutdown(drained.clone().cancelled_owned());
        let drain = async {
            shutdown.await;
            self.drain().await;
            drained.cancel();
        };
        let (served, ()) = tokio::join!(serving.into_future(), drain);
        served
    }
}
