//! What every WebSocket provider's connection does the same way: report a failed connect
//! (an upgrade refused with 401/403 is a credentials error), hand its event queue to
//! `receive()` once, and shut down with a closing handshake bounded in time.

use std::time::Duration;

use bidi_types::{BidiOutputEvent, ModelError, ModelEventStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{WsError, WsSender};

/// How long a shutdown waits for the closing handshake, then for the reader task.
pub const CLOSE_GRACE: Duration = Duration::from_secs(3);

/// The queue of one connection's events.
pub type EventQueue = mpsc::Receiver<Result<BidiOutputEvent, ModelError>>;

/// The error for a connect that failed: [`ModelError::Unauthorized`] when the server refused
/// the upgrade with 401 or 403 (`provider` rejected the credentials; `hint` says what to
/// fix), else [`ModelError::Connection`].
///
/// ```
/// use bidi_model::ws::{WsError, connect_failed};
/// let refused = WsError::Rejected { url: "wss://example.invalid/x".into(), status: 401 };
/// let e = connect_failed(refused, "OpenAI", "check OPENAI_API_KEY", "c1");
/// assert_eq!(e.to_string(), "OpenAI rejected the credentials (HTTP 401): check OPENAI_API_KEY");
/// ```
pub fn connect_failed(
    error: WsError,
    provider: &'static str,
    hint: &str,
    connection_id: &str,
) -> ModelError {
    match error {
        WsError::Rejected {
            status: status @ (401 | 403),
            ..
        } => ModelError::Unauthorized {
            provider,
            reason: format!("HTTP {status}"),
            hint: hint.to_owned(),
        },
        e => ModelError::Connection {
            message: format!(
                "connection_id=<{connection_id}> | could not connect to {provider}: {e}"
            ),
            source: Some(Box::new(e)),
        },
    }
}

/// The connection's events as the stream `BidiModel::receive` returns; the queue can be
/// taken once per connection.
pub fn take_events(queue: &mut Option<EventQueue>) -> Result<ModelEventStream, ModelError> {
    let rx = queue.take().ok_or_else(|| {
        ModelError::Config("receive() was already called for this connection".to_owned())
    })?;
    Ok(Box::pin(futures_util::stream::unfold(rx, |mut rx| async {
        rx.recv().await.map(|item| (item, rx))
    })))
}

/// Sends a normal close (1000) and waits for the reader task `pump` to end, each for at
/// most [`CLOSE_GRACE`]; a pump still running then is aborted.
pub async fn shut_down(sender: &WsSender, pump: &mut JoinHandle<()>, connection_id: &str) {
    let _ = tokio::time::timeout(CLOSE_GRACE, sender.close(1000, "client stop")).await;
    if tokio::time::timeout(CLOSE_GRACE, &mut *pump).await.is_err() {
        tracing::debug!("connection_id=<{connection_id}> | close handshake timed out");
        pump.abort();
    }
}
