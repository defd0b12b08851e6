//! The bottom of the agent's module tree: what the agent's modules, and the hooks, tools and
//! sessions, share. It imports none of its siblings, nor hooks, tools or sessions.
//!
//! - [`AgentHandle`]: the handle hooks, tools and IO see. It reads the agent through
//!   [`AgentCore`], which the agent's core (`inner.rs`) implements, so the hook events and the
//!   tool context, which carry a handle, need not know the core (which holds the hooks and
//!   the tools).
//! - [`LoopItem`]: what the conversation's tasks put on the event queue.
//! - [`Phase`], [`Run`] and [`TaskSet`]: where the agent is in its lifecycle, and the tasks of
//!   one conversation.
//! - [`panic_message`] and [`validate_id`]: small helpers.

use std::any::Any;
use std::path::{Component, Path};
use std::sync::{Arc, Mutex, PoisonError};

use bidi_types::{
    AgentView, BidiAgentEvent, Message, ModelConfig, ModelError, PlaybackTracker, ToolSpec,
};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::error::AgentError;
use crate::state::AgentState;

/// What an [`AgentHandle`] reads: implemented by the agent's shared core.
pub(crate) trait AgentCore: Send + Sync + 'static {
    fn agent_id(&self) -> &str;
    fn name(&self) -> &str;
    fn description(&self) -> Option<&str>;
    fn system_prompt(&self) -> Option<&str>;
    fn messages(&self) -> Vec<Message>;
    fn state(&self) -> &AgentState;
    fn tool_names(&self) -> Vec<String>;
    fn tool_specs(&self) -> Vec<ToolSpec>;
    fn model_config(&self) -> ModelConfig;
    fn connection_id(&self) -> Option<String>;
    fn playback(&self) -> PlaybackTracker;
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
pub struct AgentHandle(Arc<dyn AgentCore>);

impl std::fmt::Debug for AgentHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentHandle")
            .field("agent_id", &self.0.agent_id())
            .finish_non_exhaustive()
    }
}

impl AgentHandle {
    pub(crate) fn new(core: Arc<dyn AgentCore>) -> Self {
        Self(core)
    }

    /// The agent's id.
    pub fn agent_id(&self) -> &str {
        self.0.agent_id()
    }
    /// The agent's name.
    pub fn name(&self) -> &str {
        self.0.name()
    }
    /// The agent's description.
    pub fn description(&self) -> Option<&str> {
        self.0.description()
    }
    /// The system prompt.
    pub fn system_prompt(&self) -> Option<&str> {
        self.0.system_prompt()
    }
    /// A copy of the history.
    pub fn messages(&self) -> Vec<Message> {
        self.0.messages()
    }
    /// The agent's state (shared: changes are seen by the agent).
    pub fn state(&self) -> &AgentState {
        self.0.state()
    }
    /// The registered tool names, in order.
    pub fn tool_names(&self) -> Vec<String> {
        self.0.tool_names()
    }
    /// The normalised tool specs, in order.
    pub fn tool_specs(&self) -> Vec<ToolSpec> {
        self.0.tool_specs()
    }
    /// The model's config.
    pub fn model_config(&self) -> ModelConfig {
        self.0.model_config()
    }
    /// The model's open connection, if any.
    pub fn connection_id(&self) -> Option<String> {
        self.0.connection_id()
    }
    /// The agent's playback tracker.
    pub fn playback(&self) -> PlaybackTracker {
        self.0.playback()
    }
}

impl AgentView for AgentHandle {
    fn model_config(&self) -> ModelConfig {
        self.0.model_config()
    }
    fn agent_id(&self) -> &str {
        self.0.agent_id()
    }
    fn playback(&self) -> Option<PlaybackTracker> {
        Some(self.0.playback())
    }
}

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

/// One started conversation: its event queue, its tasks and its stop signal.
pub(crate) struct Run {
    pub(crate) receiver: Arc<tokio::sync::Mutex<mpsc::Receiver<LoopItem>>>,
    pub(crate) tasks: Arc<TaskSet>,
    pub(crate) stopped: watch::Sender<bool>,
}

/// The tasks of one conversation.
#[derive(Default)]
pub(crate) struct TaskSet(Mutex<Vec<JoinHandle<()>>>);

impl TaskSet {
    pub(crate) fn spawn(&self, fut: impl Future<Output = ()> + Send + 'static) {
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

/// The text of a panic payload.
pub(crate) fn panic_message(panic: &(dyn Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

/// An id must be its own file name: no separator, not empty, not `.` or `..`.
pub(crate) fn validate_id(id: &str) -> Result<(), AgentError> {
    let mut parts = Path::new(id).components();
    let ok = !id.contains(['/', '\\'])
        && matches!(
            (parts.next(), parts.next()),
            (Some(Component::Normal(_)), None)
        );
    if ok {
        Ok(())
    } else {
        Err(AgentError::InvalidAgentId(id.to_owned()))
    }
}
