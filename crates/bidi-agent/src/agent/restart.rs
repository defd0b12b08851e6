//! The restart on a model timeout: `bidi_connection_restart` is queued, sends are held (the
//! send gate's write lock), the restart hooks fire around `model.stop` + `model.start` with
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
    // Queue the restart event first: the consumer may be sending (and so waiting at the
    // gate) before it pulls again.
    let event = BidiConnectionRestartEvent::new(timeout.clone());
    if !conv.put(LoopItem::Event(event.into())).await {
        return Ok(None);
    }
    let _gate = inner.send_gate.write().await;
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
