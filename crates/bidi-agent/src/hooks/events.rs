//! The bidi hook events, as in the reference's `experimental/hooks/events.py`.

use std::sync::Arc;

use bidi_types::{InterruptionReason, Message, ModelError, ModelTimeout, ToolResult, ToolUse};

use crate::agent::AgentHandle;
use crate::invocation::InvocationState;
use crate::state::AgentState;
use crate::tools::{AgentTool, ToolError};

/// The agent has been built. Fired synchronously at the end of the builder: callbacks may
/// replace the initial `messages` and `state` (a session manager restores them here).
///
/// ```
/// use bidi_agent::hooks::{BidiAgentInitializedEvent, HookProvider, HookResult};
/// use bidi_agent::types::{Message, Role};
///
/// /// Starts every agent with a greeting in its history.
/// struct Greeting;
/// impl HookProvider for Greeting {
///     fn agent_initialized(&self, event: &mut BidiAgentInitializedEvent) -> HookResult {
///         event.messages.insert(0, Message::text(Role::Assistant, "Hello!"));
///         Ok(())
///     }
/// }
/// ```
#[derive(Debug)]
pub struct BidiAgentInitializedEvent {
    /// The agent's id.
    pub agent_id: String,
    /// The agent's name.
    pub name: String,
    /// The history the agent will start with.
    pub messages: Vec<Message>,
    /// The agent's state.
    pub state: AgentState,
}

/// `start` began: fired before the model connection opens. An error here fails `start`.
///
/// ```
/// use bidi_agent::hooks::{BidiBeforeInvocationEvent, HookProvider, HookResult};
///
/// struct Log;
/// #[bidi_agent::async_trait]
/// impl HookProvider for Log {
///     async fn before_invocation(&self, event: &BidiBeforeInvocationEvent) -> HookResult {
///         println!("agent {} starting", event.agent.agent_id());
///         Ok(())
///     }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct BidiBeforeInvocationEvent {
    /// The agent.
    pub agent: AgentHandle,
}

/// `stop` ended (callbacks run in reverse registration order). Fired once per start.
///
/// ```
/// use bidi_agent::hooks::{BidiAfterInvocationEvent, HookProvider, HookResult};
///
/// struct Log;
/// #[bidi_agent::async_trait]
/// impl HookProvider for Log {
///     async fn after_invocation(&self, event: &BidiAfterInvocationEvent) -> HookResult {
///         println!("{} messages", event.agent.messages().len());
///         Ok(())
///     }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct BidiAfterInvocationEvent {
    /// The agent.
    pub agent: AgentHandle,
}

/// A message was appended to the history. Fired while appends are held, so the history
/// already holds it; a callback must not append (it would wait for itself).
///
/// ```
/// use bidi_agent::hooks::{BidiMessageAddedEvent, HookProvider, HookResult};
///
/// struct Transcript;
/// #[bidi_agent::async_trait]
/// impl HookProvider for Transcript {
///     async fn message_added(&self, event: &BidiMessageAddedEvent) -> HookResult {
///         if let Some(text) = event.message.joined_text() {
///             println!("{}: {text}", event.message.role);
///         }
///         Ok(())
///     }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct BidiMessageAddedEvent {
    /// The agent.
    pub agent: AgentHandle,
    /// The appended message.
    pub message: Message,
}

/// A tool is about to run. Callbacks may replace the tool ([`Self::set_selected_tool`], `None`
/// gives the unknown-tool error result), replace the tool use ([`Self::set_tool_use`]; the
/// history still records the model's original) or cancel the call ([`Self::cancel`]).
///
/// ```
/// use bidi_agent::hooks::{BidiBeforeToolCallEvent, HookProvider, HookResult};
///
/// /// Refuses one tool.
/// struct Guard;
/// #[bidi_agent::async_trait]
/// impl HookProvider for Guard {
///     async fn before_tool_call(&self, event: &mut BidiBeforeToolCallEvent) -> HookResult {
///         if event.tool_use().name == "delete_everything" {
///             event.cancel_with("not allowed");
///         }
///         Ok(())
///     }
/// }
/// ```
pub struct BidiBeforeToolCallEvent {
    pub(crate) agent: AgentHandle,
    pub(crate) selected_tool: Option<Arc<dyn AgentTool>>,
    pub(crate) tool_use: ToolUse,
    pub(crate) invocation_state: InvocationState,
    pub(crate) cancel: Option<String>,
}

impl std::fmt::Debug for BidiBeforeToolCallEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BidiBeforeToolCallEvent")
            .field("tool_use", &self.tool_use)
            .field("has_tool", &self.selected_tool.is_some())
            .field("cancel", &self.cancel)
            .finish_non_exhaustive()
    }
}

impl BidiBeforeToolCallEvent {
    /// The default cancel message.
    pub const CANCEL_MESSAGE: &'static str = "tool cancelled by user";

    /// The agent.
    pub fn agent(&self) -> &AgentHandle {
        &self.agent
    }
    /// The tool that will run (`None` when the name is unknown).
    pub fn selected_tool(&self) -> Option<&Arc<dyn AgentTool>> {
        self.selected_tool.as_ref()
    }
    /// Replaces the tool that will run.
    pub fn set_selected_tool(&mut self, tool: Option<Arc<dyn AgentTool>>) {
        self.selected_tool = tool;
    }
    /// The tool use the tool will receive.
    pub fn tool_use(&self) -> &ToolUse {
        &self.tool_use
    }
    /// Replaces the tool use the tool will receive.
    pub fn set_tool_use(&mut self, tool_use: ToolUse) {
        self.tool_use = tool_use;
    }
    /// The invocation state the tool will receive.
    pub fn invocation_state(&self) -> &InvocationState {
        &self.invocation_state
    }
    /// Cancels the call with the message `tool cancelled by user`.
    pub fn cancel(&mut self) {
        self.cancel = Some(Self::CANCEL_MESSAGE.to_owned());
    }
    /// Cancels the call with `message`, which becomes the error result's text.
    pub fn cancel_with(&mut self, message: impl Into<String>) {
        self.cancel = Some(message.into());
    }
    /// The cancel message, if the call is cancelled.
    pub fn cancel_message(&self) -> Option<&str> {
        self.cancel.as_deref()
    }
}

/// A tool ran (or was cancelled, or was unknown). Callbacks run in reverse registration order
/// and may rewrite the result ([`Self::set_result`]): what is yielded, recorded and sent.
///
/// ```
/// use bidi_agent::hooks::{BidiAfterToolCallEvent, HookProvider, HookResult};
/// use bidi_agent::types::ToolResult;
///
/// /// Hides error details from the model.
/// struct Redact;
/// #[bidi_agent::async_trait]
/// impl HookProvider for Redact {
///     async fn after_tool_call(&self, event: &mut BidiAfterToolCallEvent) -> HookResult {
///         if event.exception().is_some() {
///             let id = event.result().tool_use_id.clone();
///             event.set_result(ToolResult::error(id, "the tool failed"));
///         }
///         Ok(())
///     }
/// }
/// ```
pub struct BidiAfterToolCallEvent {
    pub(crate) agent: AgentHandle,
    pub(crate) selected_tool: Option<Arc<dyn AgentTool>>,
    pub(crate) tool_use: ToolUse,
    pub(crate) invocation_state: InvocationState,
    pub(crate) result: ToolResult,
    pub(crate) exception: Option<Arc<ToolError>>,
    pub(crate) cancel_message: Option<String>,
}

impl std::fmt::Debug for BidiAfterToolCallEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BidiAfterToolCallEvent")
            .field("tool_use", &self.tool_use)
            .field("result", &self.result)
            .field("exception", &self.exception)
            .field("cancel_message", &self.cancel_message)
            .finish_non_exhaustive()
    }
}

impl BidiAfterToolCallEvent {
    /// The agent.
    pub fn agent(&self) -> &AgentHandle {
        &self.agent
    }
    /// The tool that ran (`None` when cancelled or unknown).
    pub fn selected_tool(&self) -> Option<&Arc<dyn AgentTool>> {
        self.selected_tool.as_ref()
    }
    /// The tool use it ran with.
    pub fn tool_use(&self) -> &ToolUse {
        &self.tool_use
    }
    /// The invocation state it ran with.
    pub fn invocation_state(&self) -> &InvocationState {
        &self.invocation_state
    }
    /// The result.
    pub fn result(&self) -> &ToolResult {
        &self.result
    }
    /// Replaces the result.
    pub fn set_result(&mut self, result: ToolResult) {
        self.result = result;
    }
    /// The tool's failure, if it failed.
    pub fn exception(&self) -> Option<&ToolError> {
        self.exception.as_deref()
    }
    /// The cancel message, if a hook cancelled the call.
    pub fn cancel_message(&self) -> Option<&str> {
        self.cancel_message.as_deref()
    }
}

/// The model was interrupted (the user spoke over it). Named `BidiInterruptionEvent` in the
/// reference, like the output event.
///
/// ```
/// use bidi_agent::hooks::{BidiInterruptionHookEvent, HookProvider, HookResult};
///
/// struct Count(std::sync::atomic::AtomicUsize);
/// #[bidi_agent::async_trait]
/// impl HookProvider for Count {
///     async fn interruption(&self, _event: &BidiInterruptionHookEvent) -> HookResult {
///         self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
///         Ok(())
///     }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct BidiInterruptionHookEvent {
    /// The agent.
    pub agent: AgentHandle,
    /// Why.
    pub reason: InterruptionReason,
    /// The interrupted response, when known (always `None` in the reference).
    pub interrupted_response_id: Option<String>,
}

/// The agent is about to restart the model connection after a timeout.
///
/// ```
/// use bidi_agent::hooks::{BidiBeforeConnectionRestartEvent, HookProvider, HookResult};
///
/// struct Log;
/// #[bidi_agent::async_trait]
/// impl HookProvider for Log {
///     async fn before_connection_restart(&self, event: &BidiBeforeConnectionRestartEvent) -> HookResult {
///         println!("restarting: {}", event.timeout_error);
///         Ok(())
///     }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct BidiBeforeConnectionRestartEvent {
    /// The agent.
    pub agent: AgentHandle,
    /// The timeout the model reported.
    pub timeout_error: ModelTimeout,
}

/// The agent tried to restart the model connection.
///
/// ```
/// use bidi_agent::hooks::{BidiAfterConnectionRestartEvent, HookProvider, HookResult};
///
/// struct Log;
/// #[bidi_agent::async_trait]
/// impl HookProvider for Log {
///     async fn after_connection_restart(&self, event: &BidiAfterConnectionRestartEvent) -> HookResult {
///         match &event.exception {
///             None => println!("restarted"),
///             Some(e) => println!("restart failed: {e}"),
///         }
///         Ok(())
///     }
/// }
/// ```
#[derive(Debug)]
pub struct BidiAfterConnectionRestartEvent {
    /// The agent.
    pub agent: AgentHandle,
    /// Why the restart failed; `None` when it succeeded.
    pub exception: Option<ModelError>,
}
