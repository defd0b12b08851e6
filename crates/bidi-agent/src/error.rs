//! The crate's errors, at the bottom of its module tree (they import no other module):
//! [`AgentError`], why an agent call failed, and [`StopFailure`], one failed step of a stop
//! sequence; [`ToolError`] (re-exported in `tools`), [`SessionError`] (in `session`) and
//! [`StateError`] (at the root), which `AgentError` wraps.

use std::fmt;
use std::path::PathBuf;

use bidi_types::{BoxError, IoError, ModelError, TypesError};

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

/// Why a tool failed or could not be registered.
///
/// A tool's own failure (`Failed`, `InvalidInput`, `Panicked`, ...) never ends the
/// conversation: it becomes an `error` tool result whose text is `Error: <this error>`.
///
/// ```
/// use bidi_agent::tools::ToolError;
/// assert_eq!(ToolError::failed("no such city").to_string(), "no such city");
/// assert_eq!(ToolError::Unknown("nope".into()).to_string(), "Unknown tool: nope");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ToolError {
    /// The model's input did not match the tool's arguments.
    #[error("tool=<{tool}> | invalid input: {reason}")]
    InvalidInput {
        /// The tool.
        tool: String,
        /// What serde said (names the argument).
        reason: String,
    },
    /// The tool reported a failure.
    #[error("{0}")]
    Failed(String),
    /// The tool panicked.
    #[error("tool=<{tool}> | tool panicked: {message}")]
    Panicked {
        /// The tool.
        tool: String,
        /// The panic's message.
        message: String,
    },
    /// No tool has this name.
    #[error("Unknown tool: {0}")]
    Unknown(String),
    /// Another tool with the same name (or the same up to `-`/`_`) is registered.
    #[error("Tool name '{0}' already exists. Cannot register tools with exact same name.")]
    Duplicate(String),
    /// Names differing only in `-` and `_` would be ambiguous.
    #[error(
        "tool_name=<{name}>, existing=<{existing}> | tool names differing only in '-' and '_' are ambiguous"
    )]
    AmbiguousName {
        /// The new name.
        name: String,
        /// The registered name it clashes with.
        existing: String,
    },
    /// The spec has no name or no description.
    #[error("tool_name=<{0}> | tool spec needs a name and a description")]
    InvalidSpec(String),
    /// A direct call during which the tool could not run.
    #[error(transparent)]
    Other(BoxError),
}

impl ToolError {
    /// A failure with this message.
    pub fn failed(message: impl Into<String>) -> Self {
        Self::Failed(message.into())
    }
}

/// Why the state refused a key or a value.
///
/// ```
/// use bidi_agent::{AgentState, StateError};
/// assert!(matches!(AgentState::new().set("", 1.into()), Err(StateError::EmptyKey)));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// Keys must be non-empty strings.
    #[error("Key cannot be empty")]
    EmptyKey,
    /// The value could not become JSON (a map with non-string keys, a failing `Serialize`).
    #[error("key=<{key}> | Value is not JSON serializable: {reason}")]
    NotJson {
        /// The key it was meant for.
        key: String,
        /// What serde said.
        reason: String,
    },
    /// A stored value is not of the asked type.
    #[error("key=<{key}> | stored value has another type: {reason}")]
    WrongType {
        /// The key.
        key: String,
        /// What serde said.
        reason: String,
    },
}

/// Why a session could not be read or written.
///
/// ```
/// use bidi_agent::session::{FileSessionManager, SessionError};
/// let err = FileSessionManager::new("../escape", "/tmp").unwrap_err();
/// assert!(matches!(err, SessionError::InvalidSessionId(_)));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The session id holds a path separator.
    #[error("session_id=<{0}> | id cannot contain path separators")]
    InvalidSessionId(String),
    /// Two agents with one id in one session.
    #[error("agent_id=<{0}> | The `agent_id` of an agent must be unique in a session.")]
    DuplicateAgent(String),
    /// A file could not be read or written.
    #[error("path=<{path}> | {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A file is not what it should be.
    #[error("path=<{path}> | corrupt session file: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// The agent was not initialised in this manager.
    #[error("agent_id=<{0}> | agent not initialized in this session")]
    UnknownAgent(String),
    /// An `s3://bucket/prefix` location that is not one.
    #[error("location=<{0}> | not an s3://bucket[/prefix] location")]
    InvalidLocation(String),
    /// The session's bucket does not exist (S3 `NoSuchBucket`).
    #[error("bucket=<{bucket}> | no such bucket")]
    NoSuchBucket {
        /// The bucket.
        bucket: String,
    },
    /// The store refused the credentials or the request (S3 `AccessDenied`, an unknown key
    /// id, a bad signature, an expired token).
    #[error("bucket=<{bucket}>, key=<{key}> | access denied: {source}")]
    AccessDenied {
        /// The bucket.
        bucket: String,
        /// The object (or prefix) asked for.
        key: String,
        /// What the store said.
        #[source]
        source: BoxError,
    },
    /// The store could not be reached, after the SDK's retries (connection refused or
    /// reset, a timeout).
    #[error("bucket=<{bucket}>, key=<{key}> | network failure: {source}")]
    Network {
        /// The bucket.
        bucket: String,
        /// The object (or prefix) asked for.
        key: String,
        /// The transport's error.
        #[source]
        source: BoxError,
    },
    /// Message objects kept appearing at the next free number while appending (another
    /// writer appends to the same agent, faster than this one could find a free number).
    #[error("key=<{key}> | message number taken by another writer {attempts} times")]
    Conflict {
        /// The last message object tried.
        key: String,
        /// How many numbers were tried.
        attempts: u32,
    },
    /// Any other failure of the store.
    #[error("bucket=<{bucket}>, key=<{key}> | storage error: {source}")]
    Storage {
        /// The bucket.
        bucket: String,
        /// The object (or prefix) asked for.
        key: String,
        /// What failed.
        #[source]
        source: BoxError,
    },
}
