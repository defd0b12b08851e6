//! The agent's shared core ([`Inner`]) and the handle hooks, tools and IO see it through
//! ([`AgentHandle`]).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bidi_types::{AgentView, BidiModel, Message, ModelConfig, PlaybackTracker, ToolSpec};

use super::event_loop::Phase;
use crate::AgentError;
use crate::hooks::{BidiMessageAddedEvent, HookRegistry};
use crate::state::AgentState;
use crate::tools::{AgentTools, ToolExecutor};

/// Everything the agent, its tasks and its handles share.
pub(crate) struct Inner {
    pub(crate) model: Box<dyn BidiModel>,
    pub(crate) agent_id: String,
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) system_prompt: Option<String>,
    pub(crate) record_direct_tool_call: bool,
    pub(crate) tools: AgentTools,
    pub(crate) executor: Arc<dyn ToolExecutor>,
    pub(crate) hooks: HookRegistry,
    pub(crate) state: AgentState,
    pub(crate) playback: PlaybackTracker,
    pub(crate) messages: Mutex<Vec<Message>>,
    /// Held while messages are appended and their hooks run, so batches stay adjacent.
    pub(crate) append_lock: tokio::sync::Mutex<()>,
    /// Read-held by every send; write-held while the connection restarts.
    pub(crate) send_gate: tokio::sync::RwLock<()>,
    pub(crate) phase: Mutex<Phase>,
}

impl Inner {
    pub(crate) fn messages(&self) -> MutexGuard<'_, Vec<Message>> {
        self.messages.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn phase(&self) -> MutexGuard<'_, Phase> {
        self.phase.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends `batch` to the history, adjacent, firing `BidiMessageAddedEvent` after each.
    pub(crate) async fn append(
        self: &Arc<Self>,
        batch: impl IntoIterator<Item = Message>,
    ) -> Result<(), AgentError> {
        let _held = self.append_lock.lock().await;
        for message in batch {
            self.messages().push(message.clone());
            let event = BidiMessageAddedEvent {
                agent: AgentHandle(Arc::clone(self)),
                message,
            };
            self.hooks.message_added(&event).await?;
        }
        Ok(())
    }
}

/// A handle on a running agent, given to hooks, tools and (as an [`AgentView`]) to IO: its
/// ids, its history, its state, its tools and its model's config. Cheap to clone; a handle
/// kept keeps the agent's shared core alive (the agent's tasks still end at `stop` or when
/// the `BidiAgent` is dropped).
///
/// ```no_run
/// use bidi_agent::AgentHandle;
///
/// fn summary(agent: &AgentHandle) -> String {
///     format!("{} ({} messages, tools {:?})", agent.agent_id(), agent.messages().len(), agent.tool_names())
/// }
/// ```
#[derive(Clone)]
pub struct AgentHandle(pub(crate) Arc<Inner>);

impl std::fmt::Debug for AgentHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentHandle")
            .field("agent_id", &self.0.agent_id)
            .finish_non_exhaustive()
    }
}

impl AgentHandle {
    /// The agent's id.
    pub fn agent_id(&self) -> &str {
        &self.0.agent_id
    }
    /// The agent's name.
    pub fn name(&self) -> &str {
        &self.0.name
    }
    /// The agent's description.
    pub fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// The system prompt.
    pub fn system_prompt(&self) -> Option<&str> {
        self.0.system_prompt.as_deref()
    }
    /// A copy of the history.
    pub fn messages(&self) -> Vec<Message> {
        self.0.messages().clone()
    }
    /// The agent's state (shared: changes are seen by the agent).
    pub fn state(&self) -> &AgentState {
        &self.0.state
    }
    /// The registered tool names, in order.
    pub fn tool_names(&self) -> Vec<String> {
        self.0.tools.names()
    }
    /// The normalised tool specs, in order.
    pub fn tool_specs(&self) -> Vec<ToolSpec> {
        self.0.tools.specs()
    }
    /// The model's config.
    pub fn model_config(&self) -> ModelConfig {
        self.0.model.config()
    }
    /// The model's open connection, if any.
    pub fn connection_id(&self) -> Option<String> {
        self.0.model.connection_id()
    }
    /// The agent's playback tracker.
    pub fn playback(&self) -> PlaybackTracker {
        self.0.playback.clone()
    }
}

impl AgentView for AgentHandle {
    fn model_config(&self) -> ModelConfig {
        self.0.model.config()
    }
    fn agent_id(&self) -> &str {
        &self.0.agent_id
    }
    fn playback(&self) -> Option<PlaybackTracker> {
        Some(self.0.playback.clone())
    }
}
