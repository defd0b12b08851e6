//! The tool-call lifecycle, in one home: from the model's tool use ([`run_for_model`],
//! spawned by the loop), through the executor and one call from start to result (the
//! reference's executor `_stream`: the before hook, cancel, unknown tool, the tool itself —
//! errors and panics become error results —, the after hook), to the history append (the
//! tool use and its result, adjacent), the events yielded and the result sent back to the
//! model, or the conversation closed when a tool asked to stop. A call the model cancels
//! (`bidi_tool_cancellation`) has its future dropped, ends as a cancelled call for the hooks
//! and the history, and sends the model nothing. Also the direct calls
//! (`agent.tool(...)`), which share the call and record their own messages.
//!
//! No per-call timeout: a tool runs until it returns (an executor may bound it).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use bidi_types::{
    BidiAgentEvent, BidiConnectionCloseEvent, CloseReason, Message, ModelInput, Role,
    ToolCancelEvent, ToolResult, ToolResultEvent, ToolResultMessageEvent, ToolUse,
};
use futures_util::FutureExt;
use serde_json::{Map, Value};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::conversation::Conversation;
use super::inner::Inner;
use super::shared::{LoopItem, panic_message};
use crate::error::AgentError;
use crate::hooks::{BidiAfterToolCallEvent, BidiBeforeToolCallEvent};
use crate::invocation::{InvocationState, RequestState};
use crate::tools::{AgentTool, ToolContext, ToolError, ToolRun};

/// A tool use from the model, to its end: the call through the executor, the tool use and
/// its result appended to the history, the result message yielded, then the result sent to
/// the model — or, when `request_state.stop_event_loop` is set (or the tool is
/// `stop_conversation`), `bidi_connection_close{reason: user_request}`, which ends `receive`.
/// When `cancel` fires (the model dropped the call), nothing goes back to the model. Runs as
/// its own task of the conversation.
pub(crate) async fn run_for_model(
    conv: Conversation,
    tool_use: ToolUse,
    cancel: CancellationToken,
) {
    tracing::debug!(tool_name = %tool_use.name, "tool_name=<{}> | tool execution starting", tool_use.name);
    let run = prepare(
        Arc::clone(&conv.inner),
        tool_use.clone(),
        conv.invocation.clone(),
        conv.request.clone(),
        Some(conv.tx.clone()),
        cancel.clone(),
    );
    let executed = conv.inner.executor.execute(run).await;
    conv.calls.finish(&tool_use.tool_use_id);
    let result = match executed {
        Ok(r) => r,
        Err(e) => {
            conv.put(LoopItem::Error(e)).await;
            return;
        }
    };
    let result_message = Message::tool_result(result.clone());
    if let Err(e) = conv
        .inner
        .append([Message::tool_use(tool_use.clone()), result_message.clone()])
        .await
    {
        conv.put(LoopItem::Error(e)).await;
        return;
    }
    if !conv
        .put(LoopItem::Event(
            ToolResultMessageEvent::new(result_message).into(),
        ))
        .await
    {
        return;
    }
    if cancel.is_cancelled() {
        tracing::debug!(tool_name = %tool_use.name, "tool_name=<{}> | cancelled by the model, no result sent", tool_use.name);
        return;
    }
    let mut should_stop = conv.request.should_stop();
    if !should_stop && tool_use.name == "stop_conversation" {
        tracing::warn!("tool=<stop_conversation> | stopping by tool name is deprecated");
        should_stop = true;
    }
    if should_stop {
        tracing::info!("stop_event_loop=<true> | stopping conversation");
        let connection_id = conv
            .inner
            .model
            .connection_id()
            .unwrap_or_else(|| "unknown".to_owned());
        let close = BidiConnectionCloseEvent::new(connection_id, CloseReason::UserRequest);
        conv.put(LoopItem::Event(close.into())).await;
        return;
    }
    if let Err(e) = conv.inner.send(ModelInput::ToolResult(result)).await {
        conv.put(LoopItem::Error(e)).await;
    }
}

/// The call, ready for the executor.
fn prepare(
    inner: Arc<Inner>,
    tool_use: ToolUse,
    invocation: InvocationState,
    request: RequestState,
    events: Option<mpsc::Sender<LoopItem>>,
    cancel: CancellationToken,
) -> ToolRun {
    let use_for_run = tool_use.clone();
    ToolRun::new(
        tool_use,
        execute(inner, use_for_run, invocation, request, events, cancel),
    )
}

/// What the tool-cancel event and the after hook say of a call the model dropped.
const MODEL_CANCELLED: &str = "tool call cancelled by the model";

async fn emit(events: &Option<mpsc::Sender<LoopItem>>, event: BidiAgentEvent) {
    if let Some(tx) = events {
        let _ = tx.send(LoopItem::Event(event)).await;
    }
}

async fn execute(
    inner: Arc<Inner>,
    tool_use: ToolUse,
    invocation: InvocationState,
    request: RequestState,
    events: Option<mpsc::Sender<LoopItem>>,
    cancel: CancellationToken,
) -> Result<ToolResult, AgentError> {
    let agent = inner.handle();
    let mut before = BidiBeforeToolCallEvent {
        agent: agent.clone(),
        selected_tool: inner.tools.get(&tool_use.name),
        tool_use: tool_use.clone(),
        invocation_state: invocation,
        cancel: None,
    };
    inner.hooks.before_tool_call(&mut before).await?;
    let BidiBeforeToolCallEvent {
        selected_tool,
        tool_use: run_use,
        invocation_state,
        cancel: hook_cancel,
        ..
    } = before;

    let mut after = BidiAfterToolCallEvent {
        agent: agent.clone(),
        selected_tool: None,
        tool_use: run_use.clone(),
        invocation_state: invocation_state.clone(),
        result: ToolResult::error(&tool_use.tool_use_id, ""),
        exception: None,
        cancel_message: None,
    };

    if let Some(message) = hook_cancel {
        cancelled(&events, &mut after, message).await;
    } else if let Some(tool) = selected_tool {
        after.selected_tool = Some(Arc::clone(&tool));
        let ctx = ToolContext {
            tool_use: run_use.clone(),
            invocation_state,
            request_state: request,
            agent,
            events: events.clone(),
            cancel: cancel.clone(),
        };
        // A cancellation drops the tool's future where it waits.
        let outcome = tokio::select! {
            biased;
            () = cancel.cancelled() => None,
            outcome = invoke(tool, ctx) => Some(outcome),
        };
        match outcome {
            Some((result, exception)) => {
                after.result = result;
                after.exception = exception.map(Arc::new);
            }
            None => cancelled(&events, &mut after, MODEL_CANCELLED.to_owned()).await,
        }
    } else {
        tracing::error!(
            "tool_name=<{}>, available_tools=<{:?}> | tool not found in registry",
            run_use.name,
            inner.tools.names()
        );
        let error = ToolError::Unknown(run_use.name.clone());
        after.result = ToolResult::error(&tool_use.tool_use_id, error.to_string());
        after.exception = Some(Arc::new(error));
    }

    inner.hooks.after_tool_call(&mut after).await?;
    let result = after.result;
    emit(&events, ToolResultEvent::new(result.clone()).into()).await;
    Ok(result)
}

/// A call that does not run, or stops: by the before hook's `cancel`, or because the model
/// dropped it. The tool-cancel event, then an error result carrying `message`.
async fn cancelled(
    events: &Option<mpsc::Sender<LoopItem>>,
    after: &mut BidiAfterToolCallEvent,
    message: String,
) {
    let id = after.tool_use.tool_use_id.clone();
    emit(
        events,
        ToolCancelEvent::new(after.tool_use.clone(), message.clone()).into(),
    )
    .await;
    after.result = ToolResult::error(id, message.clone());
    after.cancel_message = Some(message);
}

/// Runs the tool, catching its error and its panic.
async fn invoke(tool: Arc<dyn AgentTool>, ctx: ToolContext) -> (ToolResult, Option<ToolError>) {
    let id = ctx.tool_use.tool_use_id.clone();
    let name = ctx.tool_use.name.clone();
    let outcome = AssertUnwindSafe(tool.invoke(ctx)).catch_unwind().await;
    let error = match outcome {
        Ok(Ok(mut result)) => {
            result.tool_use_id = id;
            return (result, None);
        }
        Ok(Err(e)) => e,
        Err(panic) => ToolError::Panicked {
            tool: name.clone(),
            message: panic_message(panic.as_ref()),
        },
    };
    tracing::warn!("tool_name=<{name}>, error=<{error}> | tool failed");
    (
        ToolResult::error(id, format!("Error: {error}")),
        Some(error),
    )
}

/// Options of a direct call ([`BidiAgent::tool_with`](crate::BidiAgent::tool_with)).
///
/// ```
/// use bidi_agent::DirectCallOptions;
/// let options = DirectCallOptions::default().record(false).user_message_override("from the UI");
/// ```
#[derive(Debug, Clone, Default)]
pub struct DirectCallOptions {
    pub(crate) record: Option<bool>,
    pub(crate) user_message_override: Option<String>,
    pub(crate) invocation_state: Option<InvocationState>,
}

impl DirectCallOptions {
    /// Whether to record the call in the history (default: the agent's
    /// `record_direct_tool_call`).
    pub fn record(mut self, record: bool) -> Self {
        self.record = Some(record);
        self
    }

    /// Text put before the recorded user message.
    pub fn user_message_override(mut self, text: impl Into<String>) -> Self {
        self.user_message_override = Some(text.into());
        self
    }

    /// The invocation state the tool sees (default: the arguments, as the reference).
    pub fn invocation_state(mut self, state: InvocationState) -> Self {
        self.invocation_state = Some(state);
        self
    }
}

fn random_suffix() -> u64 {
    let n = u64::from_le_bytes(
        uuid::Uuid::new_v4().as_bytes()[..8]
            .try_into()
            .unwrap_or([0; 8]),
    );
    100_000_000 + n % 900_000_000
}

/// A direct call: looks the tool up, runs it through the executor and its hooks, and records
/// the four messages when asked.
pub(crate) async fn direct(
    inner: Arc<Inner>,
    name: &str,
    args: Value,
    options: DirectCallOptions,
) -> Result<ToolResult, AgentError> {
    let Some((normalized, _)) = inner.tools.find(name) else {
        return Err(ToolError::Unknown(name.to_owned()).into());
    };
    let tool_use = ToolUse::new(
        format!("tooluse_{name}_{}", random_suffix()),
        normalized.clone(),
        args.clone(),
    );
    let invocation = options
        .invocation_state
        .clone()
        .unwrap_or_else(|| match &args {
            Value::Object(m) => InvocationState::from(m.clone()),
            _ => InvocationState::new(),
        });
    let run = prepare(
        Arc::clone(&inner),
        tool_use.clone(),
        invocation,
        RequestState::new(),
        None,
        CancellationToken::new(),
    );
    let result = inner.executor.execute(run).await?;

    if options.record.unwrap_or(inner.record_direct_tool_call) {
        let spec = inner.tools.spec(&normalized);
        let filtered = filter_input(&args, spec.as_ref().map(|s| &s.input_schema.json));
        let mut text = String::new();
        if let Some(o) = &options.user_message_override {
            text.push_str(o);
            text.push('\n');
        }
        text.push_str(&format!(
            "agent.tool.{normalized} direct tool call.\nInput parameters: {}\n",
            Value::Object(filtered.clone())
        ));
        let batch = [
            Message::text(Role::User, text),
            Message::tool_use(ToolUse::new(
                tool_use.tool_use_id.clone(),
                normalized.clone(),
                Value::Object(filtered),
            )),
            Message::tool_result(result.clone()),
            Message::text(
                Role::Assistant,
                format!("agent.tool.{normalized} was called."),
            ),
        ];
        inner.append(batch).await?;
    }
    Ok(result)
}

/// Keeps only the arguments the schema declares.
fn filter_input(args: &Value, schema: Option<&Value>) -> Map<String, Value> {
    let props = schema
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object);
    match (args, props) {
        (Value::Object(a), Some(p)) => a
            .iter()
            .filter(|(k, _)| p.contains_key(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        _ => Map::new(),
    }
}
