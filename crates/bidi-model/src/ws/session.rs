//! What every WebSocket provider's connection does the same way: hand its event queue to
//! `receive()` once, and shut down with a closing handshake bounded in time.

use std::time::Duration;

use bidi_types::{BidiOutputEvent, ModelError, ModelEventStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::WsSender;

/// How long a shutdown waits for the closing handshake, then for the reader task.
pub const CLOSE_GRACE: Duration = Duration::from_secs(3);

/// The queue of one connection's events.
pub type EventQueue = mpsc::Receiver<Result<BidiOutputEvent, ModelError>>;

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
