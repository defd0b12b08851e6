//! [`ToolContext`]: what a running tool knows about its call.

use bidi_types::{BidiAgentEvent, ToolStreamEvent, ToolUse};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::agent::{AgentHandle, LoopItem};
use crate::invocation::{InvocationState, RequestState};

/// The call a tool is running for: the tool use, the caller's invocation state, the
/// conversation's request state and a handle on the agent.
///
/// ```
/// use bidi_agent::tools::ToolContext;
///
/// fn describe(ctx: &ToolContext) -> String {
///     format!("{} called by agent {}", ctx.tool_use().name, ctx.agent().agent_id())
/// }
/// ```
#[derive(Clone)]
pub struct ToolContext {
    pub(crate) tool_use: ToolUse,
    pub(crate) invocation_state: InvocationState,
    pub(crate) request_state: RequestState,
    pub(crate) agent: AgentHandle,
    pub(crate) events: Option<mpsc::Sender<LoopItem>>,
}

impl std::fmt::Debug for ToolContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolContext")
            .field("tool_use", &self.tool_use)
            .field("invocation_state", &self.invocation_state)
            .finish_non_exhaustive()
    }
}

impl ToolContext {
    /// The model's request.
    pub fn tool_use(&self) -> &ToolUse {
        &self.tool_use
    }

    /// The invocation state given to `start` (or to a direct call).
    pub fn invocation_state(&self) -> &InvocationState {
        &self.invocation_state
    }

    /// The state shared by the tool calls of this conversation; set `stop_event_loop` there to
    /// end it.
    pub fn request_state(&self) -> &RequestState {
        &self.request_state
    }

    /// The agent running the tool.
    pub fn agent(&self) -> &AgentHandle {
        &self.agent
    }

    /// Reports progress: the agent yields a `tool_stream` event carrying `data`. Does nothing
    /// for direct calls.
    pub async fn stream(&self, data: Value) {
        if let Some(tx) = &self.events {
            let event = ToolStreamEvent::new(self.tool_use.clone(), data);
            let _ = tx.send(LoopItem::Event(BidiAgentEvent::from(event))).await;
        }
    }
}
