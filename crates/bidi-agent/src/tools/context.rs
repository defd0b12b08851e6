//! [`ToolContext`]: what a running tool knows about its call.

use bidi_types::{BidiAgentEvent, ToolStreamEvent, ToolUse};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

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
    pub(crate) cancel: CancellationToken,
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

    /// Whether the model has dropped this call (Gemini's `toolCallCancellation`, seen as a
    /// `bidi_tool_cancellation` event). The agent then drops the tool's future where it
    /// waits, so a tool that does its work in its own future needs nothing more; a tool that
    /// hands work to a task of its own (with a clone of this context) checks this, or awaits
    /// [`cancelled`](Self::cancelled), to stop that work too.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Resolves once the model drops this call; never for a call it does not drop (direct
    /// calls are never cancelled).
    ///
    /// ```
    /// use bidi_agent::tool;
    /// use bidi_agent::tools::ToolContext;
    ///
    /// /// Prints a long report, in the background.
    /// #[tool]
    /// async fn print_report(ctx: &ToolContext) -> String {
    ///     let watch = ctx.clone();
    ///     tokio::spawn(async move {
    ///         tokio::select! {
    ///             () = watch.cancelled() => println!("report abandoned"),
    ///             () = tokio::time::sleep(std::time::Duration::from_secs(60)) => println!("printed"),
    ///         }
    ///     });
    ///     "printing".to_owned()
    /// }
    /// ```
    pub async fn cancelled(&self) {
        self.cancel.cancelled().await;
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
