//! The agent loop (the reference's `_BidiAgentLoop`): `start`, `stop`, the event queue as
//! `receive`'s stream, and the model task, which only dispatches: it queues each event, then
//! hands a final transcript to the history, a tool use to [`tool_call`] (and a cancellation
//! to the running calls), an interruption to [`barge_in`] and a timeout to [`restart`].

use std::pin::Pin;
use std::sync::Arc;

use bidi_types::{
    BidiAgentEvent, BidiOutputEvent, CloseReason, Message, ModelError, ModelEventStream,
    RestartConfig, Role, ToolUse,
};
use futures_util::{Stream, StreamExt};
use tokio::sync::{mpsc, watch};

use super::barge_in;
use super::conversation::Conversation;
use super::heard::Route;
use super::inner::Inner;
use super::restart::restart;
use super::shared::{LoopItem, Phase, Run, TaskSet};
use super::tool_call;
use crate::error::{AgentError, StopFailure};
use crate::hooks::{BidiAfterInvocationEvent, BidiBeforeInvocationEvent};
use crate::invocation::{InvocationState, RequestState};

/// The stream `receive()` returns: the agent's events, ending after a `user_request` close,
/// when the model's connection ends, at `stop`, or with an error (which is the last item).
///
/// ```no_run
/// use futures_util::StreamExt;
///
/// # async fn demo(agent: &bidi_agent::BidiAgent) -> Result<(), bidi_agent::AgentError> {
/// let mut events: bidi_agent::AgentEventStream = agent.receive();
/// while let Some(event) = events.next().await {
///     println!("{}", event?.to_json());
/// }
/// # Ok(()) }
/// ```
pub type AgentEventStream =
    Pin<Box<dyn Stream<Item = Result<BidiAgentEvent, AgentError>> + Send + 'static>>;

/// `start`: tool providers, hooks, model, queue, model task.
pub(crate) async fn start(
    inner: &Arc<Inner>,
    invocation: InvocationState,
) -> Result<(), AgentError> {
    {
        let mut phase = inner.phase();
        if !matches!(*phase, Phase::Stopped) {
            return Err(AgentError::AlreadyStarted);
        }
        *phase = Phase::Starting;
    }
    // Tool providers first: hooks and the model see their tools.
    let opened = match inner.tools.load().await {
        Ok(()) => match open(inner, invocation).await {
            Ok(run) => Ok(run),
            Err(e) => {
                inner.tools.unload().await;
                Err(e)
            }
        },
        Err(e) => Err(e),
    };
    match opened {
        Ok(run) => {
            *inner.phase() = Phase::Started(run);
            tracing::debug!(agent_id = %inner.agent_id, "agent_id=<{}> | agent started", inner.agent_id);
            Ok(())
        }
        Err(e) => {
            *inner.phase() = Phase::Stopped;
            Err(e)
        }
    }
}

async fn open(inner: &Arc<Inner>, invocation: InvocationState) -> Result<Run, AgentError> {
    inner
        .hooks
        .before_invocation(&BidiBeforeInvocationEvent {
            agent: inner.handle(),
        })
        .await?;
    inner
        .model
        .start(inner.start_params(RestartConfig::new()))
        .await?;
    let stream = match inner.model.receive() {
        Ok(s) => s,
        Err(e) => {
            let _ = inner.model.stop().await;
            return Err(e.into());
        }
    };
    // Capacity 1, as the reference: the model is not read while the consumer is behind.
    let (tx, rx) = mpsc::channel(1);
    let tasks = Arc::new(TaskSet::default());
    let conv = Conversation {
        inner: Arc::clone(inner),
        tx,
        tasks: Arc::clone(&tasks),
        calls: Arc::default(),
        invocation,
        request: RequestState::new(),
    };
    let model_conv = conv.clone();
    conv.spawn("model", model_task(model_conv, stream));
    Ok(Run {
        receiver: Arc::new(tokio::sync::Mutex::new(rx)),
        tasks,
        stopped: watch::channel(false).0,
    })
}

/// `stop`: idempotent; cancels every task, stops the model, releases the tool providers, fires
/// the after-invocation hook.
pub(crate) async fn stop(inner: &Arc<Inner>) -> Result<(), AgentError> {
    let run = {
        let mut phase = inner.phase();
        match std::mem::replace(&mut *phase, Phase::Stopped) {
            Phase::Started(run) => run,
            other => {
                *phase = other;
                return Ok(());
            }
        }
    };
    tracing::debug!(agent_id = %inner.agent_id, "agent_id=<{}> | agent stopping", inner.agent_id);
    let _ = run.stopped.send(true);
    // The assistant's last turn enters the history (and the session) before the hooks below.
    let settled = inner.settle().await;
    run.tasks.abort_all();
    let mut failures = Vec::new();
    if let Err(e) = settled {
        failures.push(StopFailure {
            name: "history".into(),
            error: Box::new(e),
        });
    }
    if let Err(e) = inner.model.stop().await {
        failures.push(StopFailure {
            name: "model.stop".into(),
            error: Box::new(e),
        });
    }
    failures.extend(inner.tools.unload().await);
    let event = BidiAfterInvocationEvent {
        agent: inner.handle(),
    };
    if let Err(e) = inner.hooks.after_invocation(&event).await {
        failures.push(StopFailure {
            name: "after_invocation".into(),
            error: Box::new(e),
        });
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(AgentError::Stop(failures))
    }
}

enum ReceiveState {
    Open {
        receiver: Arc<tokio::sync::Mutex<mpsc::Receiver<LoopItem>>>,
        stopped: watch::Receiver<bool>,
    },
    Failing(AgentError),
    Done,
}

/// `receive`: the queue as a stream.
pub(crate) fn receive(inner: &Arc<Inner>) -> AgentEventStream {
    let initial = match &*inner.phase() {
        Phase::Started(run) => ReceiveState::Open {
            receiver: Arc::clone(&run.receiver),
            stopped: run.stopped.subscribe(),
        },
        _ => ReceiveState::Failing(AgentError::NotStarted {
            action: "receiving",
        }),
    };
    Box::pin(futures_util::stream::unfold(initial, next_item))
}

async fn next_item(
    state: ReceiveState,
) -> Option<(Result<BidiAgentEvent, AgentError>, ReceiveState)> {
    let (receiver, mut stopped) = match state {
        ReceiveState::Done => return None,
        ReceiveState::Failing(e) => return Some((Err(e), ReceiveState::Done)),
        ReceiveState::Open { receiver, stopped } => (receiver, stopped),
    };
    if *stopped.borrow() {
        return None;
    }
    let item = {
        let mut rx = receiver.lock().await;
        tokio::select! {
            item = rx.recv() => item,
            _ = stopped.wait_for(|s| *s) => None,
        }
    };
    let open = |receiver, stopped| ReceiveState::Open { receiver, stopped };
    match item? {
        LoopItem::Event(event) => {
            let closing = matches!(
                &event,
                BidiAgentEvent::Output(BidiOutputEvent::ConnectionClose(c))
                    if c.reason() == CloseReason::UserRequest
            );
            let next = if closing {
                ReceiveState::Done
            } else {
                open(receiver, stopped)
            };
            Some((Ok(event), next))
        }
        LoopItem::ModelError(e) => {
            let event = BidiAgentEvent::from(e.to_event());
            Some((Ok(event), ReceiveState::Failing(AgentError::Model(e))))
        }
        LoopItem::Error(e) => Some((Err(e), ReceiveState::Done)),
    }
}

/// What the model task does after queueing an event.
enum After {
    Nothing,
    Append(Vec<Message>),
    /// The history takes the assistant's turn now (its response fully heard).
    Settle,
    Tool(ToolUse),
    /// The model dropped these calls.
    Cancel(Vec<String>),
    Interrupted(bidi_types::InterruptionReason),
}

/// The heard position's bookkeeping for one model event, before it is queued: audio counts
/// as received, a response start is marked, the assistant's text is held for the history,
/// and an interruption records what of the turn was heard (before any output flushes).
fn track(inner: &Inner, event: &BidiOutputEvent) -> After {
    let playback = &inner.playback;
    match event {
        BidiOutputEvent::AudioStream(a) => {
            playback.add_emitted(a.duration());
            After::Nothing
        }
        BidiOutputEvent::ResponseStart(r) => {
            // The previous turn settles with its own response's audio, before the count
            // starts again for this one.
            let previous = inner.heard().start(playback.emitted_in_response());
            playback.start_response();
            *inner.current_response() = Some(r.response_id().to_owned());
            After::Append(previous)
        }
        BidiOutputEvent::ResponseComplete(_) => {
            inner.heard().close();
            let heard_all = playback.heard_in_response() >= playback.emitted_in_response();
            if heard_all {
                After::Settle
            } else {
                After::Nothing
            }
        }
        // Held from the response's start until the turn settles (see `heard`).
        BidiOutputEvent::TranscriptStream(t) if t.role() == Role::Assistant => {
            let mut heard = inner.heard();
            match heard.route() {
                Route::Hold if t.is_final() => heard.final_text(t.text()),
                // The text so far when the provider gives it (Gemini), else a delta (OpenAI).
                Route::Hold => match t.current_transcript() {
                    Some(current) => heard.partial_text(current),
                    None => heard.partial_delta(t.text()),
                },
                Route::Append if t.is_final() => {
                    return After::Append(vec![Message::text(t.role(), t.text())]);
                }
                Route::Append => {}
                Route::Drop => tracing::debug!(
                    "an interrupted turn's late transcript, already in the history as heard"
                ),
            }
            After::Nothing
        }
        BidiOutputEvent::TranscriptStream(t) if t.is_final() => {
            After::Append(vec![Message::text(t.role(), t.text())])
        }
        BidiOutputEvent::ToolUseStream(u) => After::Tool(u.current_tool_use().clone()),
        BidiOutputEvent::ToolCancellation(c) => After::Cancel(c.tool_use_ids().to_vec()),
        BidiOutputEvent::Interruption(i) => {
            inner.heard().interrupted(playback.heard_in_response());
            After::Interrupted(i.reason())
        }
        _ => After::Nothing,
    }
}

/// Reads the model's events and dispatches each one after queueing it.
async fn model_task(conv: Conversation, mut stream: ModelEventStream) {
    loop {
        let event = match stream.next().await {
            None => {
                tracing::debug!("model stream ended");
                return;
            }
            Some(Ok(event)) => event,
            // Boxed (as the interruption below): rare paths with large futures, kept out of
            // the size of this task, which lives as long as the conversation.
            Some(Err(ModelError::Timeout(timeout))) => {
                match Box::pin(restart(&conv, timeout)).await {
                    Ok(Some(new_stream)) => {
                        stream = new_stream;
                        continue;
                    }
                    Ok(None) => return,
                    Err(e) => {
                        conv.put(e).await;
                        return;
                    }
                }
            }
            Some(Err(e)) => {
                tracing::warn!(code = e.code(), "error=<{e}> | model error, ending receive");
                conv.put(LoopItem::ModelError(e)).await;
                return;
            }
        };
        let after = track(&conv.inner, &event);
        if !conv.put(LoopItem::Event(event.into())).await {
            return;
        }
        let outcome = match after {
            After::Nothing => Ok(()),
            After::Append(messages) => Box::pin(conv.inner.append(messages)).await,
            After::Settle => Box::pin(conv.inner.settle()).await,
            After::Tool(tool_use) => {
                let cancel = conv.calls.begin(&tool_use.tool_use_id);
                let tool_conv = conv.clone();
                conv.spawn(
                    "tool",
                    tool_call::run_for_model(tool_conv, tool_use, cancel),
                );
                Ok(())
            }
            After::Cancel(ids) => {
                let running = conv.calls.cancel(&ids);
                tracing::debug!(
                    running,
                    "ids=<{ids:?}>, running=<{running}> | model cancelled tool calls"
                );
                Ok(())
            }
            After::Interrupted(reason) => Box::pin(barge_in::on_interruption(&conv, reason)).await,
        };
        if let Err(e) = outcome {
            conv.put(LoopItem::Error(e)).await;
            return;
        }
    }
}
