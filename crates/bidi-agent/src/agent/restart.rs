//! The restart on a model timeout: sends are held (the send gate's write lock) and
//! `bidi_connection_restart` is queued, in that order, the restart hooks fire around `model.stop` + `model.start` with
//! the history so far and the timeout's `restart_config`, and the model task goes on with the
//! new stream.

use bidi_types::{BidiConnectionRestartEvent, ModelEventStream, ModelTimeout};

use super::conversation::Conversation;
use super::shared::LoopItem;
use crate::error::AgentError;
use crate::hooks::{BidiAfterConnectionRestartEvent, BidiBeforeConnectionRestartEvent};

/// Restarts the connection after a timeout, holding sends until done. `Ok(None)`: the
/// receiver is gone. `Err`: the item that ends `receive()`.
pub(crate) async fn restart(
    conv: &Conversation,
    timeout: ModelTimeout,
) -> Result<Option<ModelEventStream>, LoopItem> {
    let inner = &conv.inner;
    tracing::debug!(
        "timeout=<{}> | model timed out, restarting connection",
        timeout.message
    );
    // A slot in the queue first, with no lock held: the consumer may be sending before it
    // pulls again. Then sends are held, and only then is the restart event queued, so
    // whatever the consumer sends once it has seen the event waits for the new connection
    // (taking the lock waits only for sends under way, which end on their own).
    let event = BidiConnectionRestartEvent::new(timeout.clone());
    let Ok(slot) = conv.tx.reserve().await else {
        return Ok(None);
    };
    let _gate = inner.send_gate.write().await;
    slot.send(LoopItem::Event(event.into()));
    // The new connection replays the history: the assistant's last turn goes in first, as
    // the user heard it.
    inner.settle().await.map_err(LoopItem::Error)?;
    let before = BidiBeforeConnectionRestartEvent {
        agent: conv.handle(),
        timeout_error: timeout.clone(),
    };
    inner
        .hooks
        .before_connection_restart(&before)
        .await
        .map_err(LoopItem::Error)?;
    let reopened = async {
        inner.model.stop().await?;
        inner
            .model
            .start(inner.start_params(timeout.restart_config.clone()))
            .await?;
        inner.model.receive()
    }
    .await;
    let (stream, exception) = match reopened {
        Ok(s) => (Some(s), None),
        Err(e) => (None, Some(e)),
    };
    let mut after = BidiAfterConnectionRestartEvent {
        agent: conv.handle(),
        exception,
    };
    inner
        .hooks
        .after_connection_restart(&after)
        .await
        .map_err(LoopItem::Error)?;
    match (stream, after.exception.take()) {
        (Some(s), _) => Ok(Some(s)),
        (None, Some(e)) => Err(LoopItem::ModelError(e)),
        (None, None) => Err(LoopItem::Error(AgentError::Task {
            task: "restart",
            message: "restart produced no stream".into(),
        })),
    }
}
