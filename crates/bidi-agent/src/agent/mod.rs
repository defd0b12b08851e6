//! [`BidiAgent`]: a persistent, bidirectional conversation with a speech-to-speech model.
//!
//! The modules form a tree; each depends only on those below it:
//!
//! - `shared`: the bottom (imports none of its siblings): [`AgentHandle`], the event queue's
//!   item, the lifecycle phase, the task set, small helpers.
//! - `inner`: the shared core (options, model, tools, hooks, history, phase), the history
//!   write and the gated send.
//! - `conversation`: what every task of one started conversation holds.
//! - `tool_call`: the tool-call lifecycle (model's tool use → executor → history → result
//!   sent back), and direct calls.
//! - `barge_in`: the agent's reaction to an interruption.
//! - `restart`: the restart on a model timeout.
//! - `event_loop`: `start`, `stop`, `receive`, and the model task that dispatches to the
//!   three above.
//! - `input`: what `send` accepts.
//! - this module: [`BidiAgent`] and its methods; above it, `builder` (building an agent)
//!   and `run` (the agent between inputs and outputs).

mod barge_in;
mod builder;
mod conversation;
mod event_loop;
mod heard;
mod inner;
mod input;
mod restart;
mod run;
mod running;
mod shared;
mod tool_call;

pub use builder::{BidiAgentBuilder, DEFAULT_AGENT_ID, DEFAULT_AGENT_NAME};
pub use event_loop::AgentEventStream;
pub use input::IntoAgentInput;
pub use shared::AgentHandle;
pub(crate) use shared::{LoopItem, panic_message, validate_id};
pub use tool_call::DirectCallOptions;

use std::future::Future;
use std::sync::Arc;

use bidi_types::{BidiModel, Message, ModelInput, PlaybackTracker, ToolResult};
use serde_json::Value;

use crate::error::AgentError;
use crate::invocation::InvocationState;
use crate::state::AgentState;
use inner::Inner;
use shared::Phase;

/// An agent in a real-time, bidirectional conversation with a speech-to-speech model.
///
/// `start` opens the model's connection; then, concurrently, `send` forwards text, audio and
/// images, and `receive` yields the model's events and the agent's tool events; `stop`
/// closes everything. `run` does all of it between inputs and outputs. All methods take
/// `&self`, so sending and receiving can run at once.
///
/// On a tool use, the tool runs as its own task (through the executor, with the invocation
/// state), the tool-use and tool-result messages are appended adjacently, `tool_result` and
/// the result message are yielded, and the result is sent to the model. On a model timeout
/// the agent yields `bidi_connection_restart` and reopens the connection with the history so
/// far, holding `send` meanwhile.
///
/// Build one with [`BidiAgent::builder`] (or, with the `nova-sonic` feature,
/// `BidiAgent::builder_default`, the reference's default model).
///
/// See the [crate docs](crate) for a complete example.
///
/// ```no_run
/// # async fn demo(model: impl bidi_agent::types::BidiModel + 'static) -> Result<(), bidi_agent::AgentError> {
/// use bidi_agent::BidiAgent;
/// use futures_util::StreamExt;
///
/// let agent = BidiAgent::builder(model).system_prompt("Be brief.").build()?;
/// agent.start(None).await?;
/// agent.send("What's the weather?").await?;
/// let mut events = agent.receive();
/// while let Some(event) = events.next().await {
///     println!("{}", event?.event_type());
/// }
/// agent.stop().await?;
/// # Ok(()) }
/// ```
pub struct BidiAgent {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for BidiAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BidiAgent")
            .field("agent_id", &self.inner.agent_id)
            .field("tools", &self.inner.tools)
            .finish_non_exhaustive()
    }
}

impl BidiAgent {
    /// A handle on the agent (what hooks, tools and IO see).
    pub fn handle(&self) -> AgentHandle {
        self.inner.handle()
    }

    /// The agent's id.
    pub fn agent_id(&self) -> &str {
        &self.inner.agent_id
    }

    /// The agent's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// What the agent does.
    pub fn description(&self) -> Option<&str> {
        self.inner.description.as_deref()
    }

    /// The system prompt.
    pub fn system_prompt(&self) -> Option<&str> {
        self.inner.system_prompt.as_deref()
    }

    /// The model.
    pub fn model(&self) -> &dyn BidiModel {
        self.inner.model.as_ref()
    }

    /// A copy of the history.
    pub fn messages(&self) -> Vec<Message> {
        self.inner.history().clone()
    }

    /// The agent's state.
    pub fn state(&self) -> &AgentState {
        &self.inner.state
    }

    /// The playback tracker given to the model at every start and to IO.
    pub fn playback(&self) -> PlaybackTracker {
        self.inner.playback.clone()
    }

    /// The registered tool names, in registration order: the agent's own, then, while
    /// started, its tool providers' (in the order the providers were added).
    pub fn tool_names(&self) -> Vec<String> {
        self.inner.tools.names()
    }

    /// Whether the agent is started.
    pub fn is_started(&self) -> bool {
        self.inner.is_started()
    }

    /// Loads the tool providers' tools, opens the model connection and starts the loop. `invocation_state` is passed to every
    /// tool (the agent keeps its own copy). Fails with [`AgentError::AlreadyStarted`] when
    /// started.
    pub async fn start(&self, invocation_state: Option<InvocationState>) -> Result<(), AgentError> {
        event_loop::start(&self.inner, invocation_state.unwrap_or_default()).await
    }

    /// Sends text, audio, an image or a JSON input dict to the model. Text is appended to the
    /// history first. Waits while the connection restarts.
    pub async fn send(&self, input: impl IntoAgentInput) -> Result<(), AgentError> {
        if !self.is_started() {
            return Err(AgentError::NotStarted { action: "sending" });
        }
        let event = input.into_agent_input()?;
        self.inner.send(ModelInput::Event(event)).await
    }

    /// The agent's events: the model's and the tools'. The stream ends after a
    /// `user_request` close, when the model's connection ends, at `stop`, or after an error
    /// (a model error is first yielded as a `bidi_error` event). Before `start` it yields
    /// [`AgentError::NotStarted`].
    pub fn receive(&self) -> AgentEventStream {
        event_loop::receive(&self.inner)
    }

    /// Stops the loop: cancels every task, closes the model's connection, releases the tool
    /// providers, fires the after-invocation hook, and ends a pending `receive`. Idempotent: after the first call
    /// (or before any start) it does nothing.
    pub async fn stop(&self) -> Result<(), AgentError> {
        event_loop::stop(&self.inner).await
    }

    /// Starts the agent, runs `body`, then stops the agent whatever `body` returned: the
    /// counterpart of the reference's `async with agent:`. `body`'s error comes first; a stop
    /// error is returned only when `body` succeeded.
    ///
    /// ```no_run
    /// # async fn demo(agent: bidi_agent::BidiAgent) -> Result<(), bidi_agent::AgentError> {
    /// agent
    ///     .scoped(None, |agent| async move {
    ///         agent.send("hello").await?;
    ///         Ok(())
    ///     })
    ///     .await?;
    /// assert!(!agent.is_started());
    /// # Ok(()) }
    /// ```
    pub async fn scoped<'a, F, Fut, T>(
        &'a self,
        invocation_state: Option<InvocationState>,
        body: F,
    ) -> Result<T, AgentError>
    where
        F: FnOnce(&'a BidiAgent) -> Fut,
        Fut: Future<Output = Result<T, AgentError>> + 'a,
    {
        self.start(invocation_state).await?;
        let outcome = body(self).await;
        let stopped = self.stop().await;
        let value = outcome?;
        stopped?;
        Ok(value)
    }

    /// Calls a tool directly (the reference's `agent.tool.NAME(**args)`), through the executor
    /// and the tool hooks. When `record_direct_tool_call` is on, four messages are appended:
    /// the user's request, the tool use, the tool result and the assistant's note. They reach
    /// the model by history replay at the next start.
    pub async fn tool(&self, name: &str, args: Value) -> Result<ToolResult, AgentError> {
        self.tool_with(name, args, DirectCallOptions::default())
            .await
    }

    /// [`Self::tool`] with options.
    pub async fn tool_with(
        &self,
        name: &str,
        args: Value,
        options: DirectCallOptions,
    ) -> Result<ToolResult, AgentError> {
        tool_call::direct(Arc::clone(&self.inner), name, args, options).await
    }
}

/// IO reads the model's audio config and the playback tracker through this (as
/// [`AgentHandle`] does).
impl bidi_types::AgentView for BidiAgent {
    fn model_config(&self) -> bidi_types::ModelConfig {
        self.inner.model.config()
    }
    fn agent_id(&self) -> &str {
        &self.inner.agent_id
    }
    fn playback(&self) -> Option<PlaybackTracker> {
        Some(self.inner.playback.clone())
    }
}

impl Drop for BidiAgent {
    /// Dropping a started agent cancels its tasks and closes the model connection in the
    /// background; no hook fires (call `stop` for an orderly end).
    fn drop(&mut self) {
        let run = match std::mem::replace(&mut *self.inner.phase(), Phase::Stopped) {
            Phase::Started(run) => run,
            _ => return,
        };
        run.tasks.abort_all();
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let inner = Arc::clone(&self.inner);
            rt.spawn(async move {
                let _ = inner.model.stop().await;
                inner.tools.unload().await;
            });
        }
    }
}
