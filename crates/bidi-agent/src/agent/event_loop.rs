//! The agent loop: the model task, one task per tool call, the event queue, the send gate and
//! the restart on a model timeout (the reference's `_BidiAgentLoop`).

use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use bidi_types::{
    BidiAgentEvent, BidiConnectionCloseEvent, BidiConnectionRestartEvent, BidiOutputEvent,
    CloseReason, Message, ModelError, ModelEventStream, ModelInput, ModelTimeout, RestartConfig,
    StartParams, ToolResultMessageEvent, ToolUse,
};
use futures_util::{FutureExt, Stream, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::handle::{AgentHandle, Inner};
use super::tool_call;
use crate::AgentError;
use crate::error::StopFailure;
use crate::hooks::{
    BidiAfterConnectionRestartEvent, BidiAfterInvocationEvent, BidiBeforeConnectionRestartEvent,
    BidiBeforeInvocationEvent, BidiInterruptionHookEvent,
};
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

/// What the tasks put on the queue.
#[derive(Debug)]
pub(crate) enum LoopItem {
    Event(BidiAgentEvent),
    /// A model error: yielded as `bidi_error`, then as the stream's error.
    ModelError(ModelError),
    /// Any other failure of a task.
    Error(AgentError),
}

/// Where the agent is in its lifecycle.
pub(crate) enum Phase {
    Stopped,
    Starting,
    Started(Run),
}

/// The tasks of one conversation.
#[derive(Default)]
pub(crate) struct TaskSet(Mutex<Vec<JoinHandle<()>>>);

impl TaskSet {
    fn spawn(&self, fut: impl Future<Output = ()> + Send + 'static) {
        let mut tasks = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        tasks.retain(|t| !t.is_finished());
        tasks.push(tokio::spawn(fut));
    }

    pub(crate) fn abort_all(&self) {
        let tasks = std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner));
        for t in tasks {
            t.abort();
        }
    }
}

/// One started conversation.
pub(crate) struct Run {
    receiver: Arc<tokio::sync::Mutex<mpsc::Receiver<LoopItem>>>,
    pub(crate) tasks: Arc<TaskSet>,
    stopped: watch::Sender<bool>,
}

/// What every task of one conversation holds.
#[derive(Clone)]
struct RunCtx {
    inner: Arc<Inner>,
    tx: mpsc::Sender<LoopItem>,
    tasks: Arc<TaskSet>,
    invocation: InvocationState,
    request: RequestState,
}

impl RunCtx {
    fn handle(&self) -> AgentHandle {
        AgentHandle(Arc::clone(&self.inner))
    }

    /// Queues an item; false when the receiver is gone.
    async fn put(&self, item: LoopItem) -> bool {
        self.tx.send(item).await.is_ok()
    }

    /// Runs `fut` as a task of this conversation, turning a panic into an error item.
    fn spawn(&self, task: &'static str, fut: impl Future<Output = ()> + Send + 'static) {
        let tx = self.tx.clone();
        self.tasks.spawn(async move {
            if let Err(panic) = AssertUnwindSafe(fut).catch_unwind().await {
                let message = tool_call::panic_message(panic.as_ref());
                tracing::error!(task, "task=<{task}> | agent task panicked: {message}");
                let _ = tx
                    .send(LoopItem::Error(AgentError::Task { task, message }))
                    .await;
            }
        });
    }
}

fn start_params(inner: &Inner, restart_config: RestartConfig) -> StartParams {
    StartParams {
        system_prompt: inner.system_prompt.clone(),
        tools: inner.tools.specs(),
        messages: inner.messages().clone(),
        restart_config,
        playback: Some(inner.playback.clone()),
    }
}

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
    let handle = AgentHandle(Arc::clone(inner));
    inner
        .hooks
        .before_invocation(&BidiBeforeInvocationEvent { agent: handle })
        .await?;
    inner
        .model
        .start(start_params(inner, RestartConfig::new()))
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
    let ctx = RunCtx {
        inner: Arc::clone(inner),
        tx,
        tasks: Arc::clone(&tasks),
        invocation,
        request: RequestState::new(),
    };
    let model_ctx = ctx.clone();
    ctx.spawn("model", model_task(model_ctx, stream));
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
    run.tasks.abort_all();
    let mut failures = Vec::new();
    if let Err(e) = inner.model.stop().await {
        failures.push(StopFailure {
            name: "model.stop".into(),
            error: Box::new(e),
        });
    }
    failures.extend(inner.tools.unload().await);
    let event = BidiAfterInvocationEvent {
        agent: AgentHandle(Arc::clone(inner)),
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

/// Sends to the model through the gate (held during a restart).
pub(crate) async fn send(inner: &Arc<Inner>, input: ModelInput) -> Result<(), AgentError> {
    if !matches!(*inner.phase(), Phase::Started(_)) {
        return Err(AgentError::NotStarted { action: "sending" });
    }
    let _gate = inner.send_gate.read().await;
    if let ModelInput::Event(bidi_types::BidiInputEvent::Text(t)) = &input {
        inner.append([Message::text(t.role(), t.text())]).await?;
    }
    inner.model.send(input).await?;
    Ok(())
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
    Append(Message),
    Tool(ToolUse),
    Interrupted(bidi_types::InterruptionReason),
}

async fn model_task(ctx: RunCtx, mut stream: ModelEventStream) {
    loop {
        let event = match stream.next().await {
            None => {
                tracing::debug!("model stream ended");
                return;
            }
            Some(Ok(event)) => event,
            Some(Err(ModelError::Timeout(timeout))) => match restart(&ctx, timeout).await {
                Ok(Some(new_stream)) => {
                    stream = new_stream;
                    continue;
                }
                Ok(None) => return,
                Err(e) => {
                    ctx.put(e).await;
                    return;
                }
            },
            Some(Err(e)) => {
                tracing::warn!(code = e.code(), "error=<{e}> | model error, ending receive");
                ctx.put(LoopItem::ModelError(e)).await;
                return;
            }
        };
        let after = match &event {
            BidiOutputEvent::TranscriptStream(t) if t.is_final() => {
                After::Append(Message::text(t.role(), t.text()))
            }
            BidiOutputEvent::ToolUseStream(u) => After::Tool(u.current_tool_use().clone()),
            BidiOutputEvent::Interruption(i) => After::Interrupted(i.reason()),
            _ => After::Nothing,
        };
        if !ctx.put(LoopItem::Event(event.into())).await {
            return;
        }
        let outcome = match after {
            After::Nothing => Ok(()),
            After::Append(message) => ctx.inner.append([message]).await,
            After::Tool(tool_use) => {
                let tool_ctx = ctx.clone();
                ctx.spawn("tool", tool_task(tool_ctx, tool_use));
                Ok(())
            }
            After::Interrupted(reason) => {
                let event = BidiInterruptionHookEvent {
                    agent: ctx.handle(),
                    reason,
                    interrupted_response_id: None,
                };
                ctx.inner.hooks.interruption(&event).await
            }
        };
        if let Err(e) = outcome {
            ctx.put(LoopItem::Error(e)).await;
            return;
        }
    }
}

/// Restarts the connection after a timeout, holding sends until done. `Ok(None)`: the
/// receiver is gone. `Err`: the item that ends `receive()`.
async fn restart(
    ctx: &RunCtx,
    timeout: ModelTimeout,
) -> Result<Option<ModelEventStream>, LoopItem> {
    let inner = &ctx.inner;
    tracing::debug!(
        "timeout=<{}> | model timed out, restarting connection",
        timeout.message
    );
    // Queue the restart event first: the consumer may be sending (and so waiting at the
    // gate) before it pulls again.
    let event = BidiConnectionRestartEvent::new(timeout.clone());
    if !ctx.put(LoopItem::Event(event.into())).await {
        return Ok(None);
    }
    let _gate = inner.send_gate.write().await;
    let before = BidiBeforeConnectionRestartEvent {
        agent: ctx.handle(),
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
            .start(start_params(inner, timeout.restart_config.clone()))
            .await?;
        inner.model.receive()
    }
    .await;
    let (stream, exception) = match reopened {
        Ok(s) => (Some(s), None),
        Err(e) => (None, Some(e)),
    };
    let mut after = BidiAfterConnectionRestartEvent {
        agent: ctx.handle(),
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

async fn tool_task(ctx: RunCtx, tool_use: ToolUse) {
    tracing::debug!(tool_name = %tool_use.name, "tool_name=<{}> | tool execution starting", tool_use.name);
    let run = tool_call::prepare(
        ctx.handle(),
        tool_use.clone(),
        ctx.invocation.clone(),
        ctx.request.clone(),
        Some(ctx.tx.clone()),
    );
    let result = match ctx.inner.executor.execute(run).await {
        Ok(r) => r,
        Err(e) => {
            ctx.put(LoopItem::Error(e)).await;
            return;
        }
    };
    let result_message = Message::tool_result(result.clone());
    if let Err(e) = ctx
        .inner
        .append([Message::tool_use(tool_use.clone()), result_message.clone()])
        .await
    {
        ctx.put(LoopItem::Error(e)).await;
        return;
    }
    if !ctx
        .put(LoopItem::Event(
            ToolResultMessageEvent::new(result_message).into(),
        ))
        .await
    {
        return;
    }
    let mut should_stop = ctx.request.should_stop();
    if !should_stop && tool_use.name == "stop_conversation" {
        tracing::warn!("tool=<stop_conversation> | stopping by tool name is deprecated");
        should_stop = true;
    }
    if should_stop {
        tracing::info!("stop_event_loop=<true> | stopping conversation");
        let connection_id = ctx
            .inner
            .model
            .connection_id()
            .unwrap_or_else(|| "unknown".to_owned());
        let close = BidiConnectionCloseEvent::new(connection_id, CloseReason::UserRequest);
        ctx.put(LoopItem::Event(close.into())).await;
        return;
    }
    if let Err(e) = send(&ctx.inner, ModelInput::ToolResult(result)).await {
        ctx.put(LoopItem::Error(e)).await;
    }
}
