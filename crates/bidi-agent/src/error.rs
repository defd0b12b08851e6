//! [`AgentError`]: why an agent call failed, and [`StopFailure`], one failed step of a stop
//! sequence.

use std::fmt;

use bidi_types::{BoxError, IoError, ModelError, TypesError};

use crate::session::SessionError;
use crate::state::StateError;
use crate::tools::ToolError;

/// Why a call on a [`BidiAgent`](crate::BidiAgent) failed.
///
/// ```
/// use bidi_agent::AgentError;
///
/// let e = AgentError::NotStarted { action: "sending" };
/// assert_eq!(e.to_string(), "agent not started | call start before sending");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    /// `send` or `receive` before `start` (or after `stop`).
    #[error("agent not started | call start before {action}")]
    NotStarted {
        /// What was attempted (`sending`, `receiving`).
        action: &'static str,
    },

    /// `start` while started.
    #[error("agent already started | call stop before starting again")]
    AlreadyStarted,

    /// The agent id holds a path separator (or is empty, `.` or `..`).
    #[error("agent_id=<{0}> | id cannot contain path separators")]
    InvalidAgentId(String),

    /// An input given to `send` could not become an input event.
    #[error("invalid input | {0}")]
    InvalidInput(#[source] TypesError),

    /// The model failed.
    #[error(transparent)]
    Model(#[from] ModelError),

    /// A hook callback failed.
    #[error("hook=<{hook}> | hook callback failed: {source}")]
    Hook {
        /// The hook event (`BidiMessageAddedEvent`, ...).
        hook: &'static str,
        /// What the callback returned.
        #[source]
        source: BoxError,
    },

    /// A tool could not be registered or looked up.
    #[error(transparent)]
    Tool(#[from] ToolError),

    /// A tool provider could not load its tools (at `start`).
    #[error("tool_provider=<{provider}> | failed to load tools: {source}")]
    ToolProvider {
        /// The provider's name.
        provider: String,
        /// What it returned.
        #[source]
        source: BoxError,
    },

    /// The agent state refused a key or a value.
    #[error(transparent)]
    State(#[from] StateError),

    /// The session manager failed.
    #[error(transparent)]
    Session(#[from] SessionError),

    /// An input or output of `run` failed.
    #[error("io=<{name}> | {source}")]
    Io {
        /// Which input or output (`input[0]`, `output[1]`).
        name: String,
        /// What it returned.
        #[source]
        source: IoError,
    },

    /// One or more steps of a stop sequence failed; every step ran.
    #[error("exceptions=[{}] | failed stop sequence", list(.0))]
    Stop(Vec<StopFailure>),

    /// An internal task of the agent died (a panic in a hook, for example).
    #[error("task=<{task}> | agent task failed: {message}")]
    Task {
        /// Which task.
        task: &'static str,
        /// What happened.
        message: String,
    },
}

/// One failed step of a stop sequence: which step and what it returned.
///
/// ```
/// use bidi_agent::{AgentError, StopFailure};
///
/// let e = AgentError::Stop(vec![StopFailure { name: "model.stop".into(), error: "socket gone".into() }]);
/// assert_eq!(e.to_string(), "exceptions=[{func_name: model.stop, exception: socket gone}] | failed stop sequence");
/// ```
#[derive(Debug)]
pub struct StopFailure {
    /// The step (`input[0].stop`, `model.stop`, `after_invocation`, ...).
    pub name: String,
    /// Its error.
    pub error: BoxError,
}

impl fmt::Display for StopFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{func_name: {}, exception: {}}}", self.name, self.error)
    }
}

fn list(failures: &[StopFailure]) -> String {
    failures
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl AgentError {
    /// Wraps a hook callback's error.
    pub(crate) fn hook(hook: &'static str, source: BoxError) -> Self {
        Self::Hook { hook, source }
    }
}
