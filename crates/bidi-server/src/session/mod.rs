//! One WebSocket session: a client, its own agent, and the socket between them.
//!
//! The agent's input reads the client's frames (refusing any over the size limit with close
//! 1009) and ([`Inbound`]) turns them into events, its audio at the model's
//! rate; the agent's output queues events for the writer task on a bounded queue (audio
//! that does not fit is dropped for that client alone); [`TurnClock`] times each turn's
//! first audio. The session ends when the client leaves, the agent ends, or the server
//! drains; the socket is then closed with a code and the client's close awaited.

mod inbound;
mod io;
pub(crate) mod link;
mod turns;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::ws::WebSocket;
use bidi_agent::AgentError;
use bidi_agent::types::{BidiAgentEvent, BidiErrorEvent, IoError};
use futures_util::StreamExt;
use tokio::sync::OwnedSemaphorePermit;
use tokio::sync::mpsc;

pub use inbound::{Inbound, InboundError};
pub use turns::TurnClock;

use crate::factory::SessionStart;
use crate::state::AppState;

/// Numbers sessions in logs.
static SESSION_NUMBER: AtomicU64 = AtomicU64::new(1);

/// Keeps `bidi_sessions_active` true however the session ends.
struct Open(crate::metrics::ServerMetrics);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.session_closed();
    }
}

/// Serves one upgraded socket to its end. `_slot` is the session's place under the cap,
/// given back when it ends.
pub(crate) async fn serve(
    socket: WebSocket,
    state: Arc<AppState>,
    start: SessionStart,
    _slot: OwnedSemaphorePermit,
) {
    let number = SESSION_NUMBER.fetch_add(1, Ordering::Relaxed);
    let config = &state.config;
    let metrics = state.metrics.clone();
    metrics.session_opened();
    let _open = Open(metrics.clone());
    tracing::info!(session = number, "session opened");

    let (sink, stream) = socket.split();
    let reading = link::Reading::start(stream, &state);
    let closer = reading.closer.clone();
    let (frames_tx, frames_rx) = mpsc::channel::<String>(config.send_queue.max(1));
    let writer = tokio::spawn(link::write(
        sink,
        frames_rx,
        closer.clone(),
        metrics.clone(),
    ));

    let outcome = match state.factory.create(start).await {
        Ok(agent) => {
            let clock = Arc::new(Mutex::new(TurnClock::new()));
            let input = io::WsInput {
                frames: reading.frames().await,
                inbound: Inbound::new(&agent.model().config().audio),
                replies: frames_tx.clone(),
                clock: Arc::clone(&clock),
                grace: config.slow_client_grace,
            };
            let output = io::WsOutput {
                frames: frames_tx,
                closer: closer.clone(),
                metrics: metrics.clone(),
                clock,
                grace: config.slow_client_grace,
            };
            agent
                .run(vec![Box::new(input)], vec![Box::new(output)], None)
                .await
        }
        Err(e) => {
            tracing::warn!(
                session = number,
                "error=<{e}> | could not make the session's agent"
            );
            let error =
                BidiErrorEvent::new(format!("the agent could not start: {e}"), "ServerError");
            let _ = frames_tx
                .send(BidiAgentEvent::from(error).to_json_string())
                .await;
            drop(frames_tx);
            Err(AgentError::Io {
                name: "agent factory".into(),
                source: IoError::Other(e),
            })
        }
    };
    match &outcome {
        Ok(()) => {}
        Err(AgentError::Io {
            source: IoError::Closed(why),
            ..
        }) => {
            tracing::debug!(session = number, "reason=<{why}> | session ending");
        }
        Err(e) => {
            tracing::info!(
                session = number,
                "error=<{e}> | the conversation ended with an error"
            );
            closer.close(1011, "the conversation failed");
        }
    }
    // The agent's senders are gone: the writer flushes the queue, then closes (1000 unless
    // a close code was asked for); the reader then waits for the client's close.
    reading.finish(writer).await;
    tracing::info!(
        session = number,
        code = closer.code().unwrap_or(1000),
        "session closed"
    );
}
