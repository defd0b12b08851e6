//! What every WebSocket provider's connection does the same way: report a failed connect
//! (an upgrade refused with 401/403 is a credentials error), hand its event queue to
//! `receive()` once, and shut down with a closing handshake bounded in time
//! ([`LiveConnection`] holds all of it for a started model).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
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

/// One open connection as a started model holds it: its id, the sender, the event queue
/// `receive()` takes once, the task that reads the socket (the pump), and the flag that tells
/// the pump a stop is under way (so the end of the socket is not reported as an error).
#[derive(Debug)]
pub struct LiveConnection {
    id: String,
    sender: WsSender,
    events: Option<EventQueue>,
    pump: JoinHandle<()>,
    stopping: Arc<AtomicBool>,
}

impl LiveConnection {
    /// The connection `id` sending on `sender`, whose pump task `pump` fills `events` and
    /// reads `stopping`.
    pub fn new(
        id: String,
        sender: WsSender,
        events: EventQueue,
        pump: JoinHandle<()>,
        stopping: Arc<AtomicBool>,
    ) -> Self {
        Self {
            id,
            sender,
            events: Some(events),
            pump,
            stopping,
        }
    }

    /// The connection's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The sender (cheap to clone).
    pub fn sender(&self) -> &WsSender {
        &self.sender
    }

    /// The events, as `BidiModel::receive` returns them; once per connection.
    pub fn take_events(&mut self) -> Result<ModelEventStream, ModelError> {
        take_events(&mut self.events)
    }

    /// Stops: tells the pump, sends a normal close and waits for the pump, bounded by
    /// [`CLOSE_GRACE`] each ([`shut_down`]). `provider` names it in the log.
    pub async fn close(mut self, provider: &str) {
        self.stopping.store(true, Ordering::Release);
        shut_down(&self.sender, &mut self.pump, &self.id).await;
        tracing::debug!(
            "connection_id=<{}>, provider=<{provider}> | connection closed",
            self.id
        );
    }
}
