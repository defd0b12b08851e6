//! Tools: the [`AgentTool`] trait and its [`ToolContext`], the `#[tool]` attribute (see
//! [`tool`](crate::tool)), the [`ToolRegistry`], the executors ([`ConcurrentToolExecutor`],
//! [`SequentialToolExecutor`]), the built-in [`StopConversation`] tool and [`ToolProvider`]s
//! (collections of tools with a lifecycle, such as MCP servers).

mod context;
mod executor;
mod output;
mod provider;
mod registry;
mod stop;

pub use context::ToolContext;
pub use executor::{ConcurrentToolExecutor, SequentialToolExecutor, ToolExecutor, ToolRun};
pub use output::{IntoToolResult, Json};
pub(crate) use provider::AgentTools;
pub use provider::{ConsumerId, ToolProvider};
pub use registry::{ToolRegistry, normalize_spec};
pub use stop::StopConversation;

use bidi_types::{BoxError, ToolResult, ToolSpec};

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

/// A tool the model can call.
///
/// Most tools are written with the [`#[tool]`](crate::tool) attribute; implement the trait by
/// hand for tools whose spec is built at run time.
///
/// ```
/// use bidi_agent::tools::{AgentTool, ToolContext, ToolError};
/// use bidi_agent::types::{ToolResult, ToolSpec};
/// use serde_json::json;
///
/// struct Time;
///
/// #[bidi_agent::async_trait]
/// impl AgentTool for Time {
///     fn spec(&self) -> ToolSpec {
///         ToolSpec::new("time", "The current time", json!({"type": "object"}))
///     }
///     async fn invoke(&self, ctx: ToolContext) -> Result<ToolResult, ToolError> {
///         Ok(ToolResult::text(&ctx.tool_use().tool_use_id, "12:00"))
///     }
/// }
/// assert_eq!(Time.spec().name, "time");
/// ```
#[async_trait::async_trait]
pub trait AgentTool: Send + Sync + 'static {
    /// The tool's name, description and input schema.
    fn spec(&self) -> ToolSpec;

    /// Runs the tool for `ctx.tool_use()`. The returned result's `toolUseId` is set to the
    /// call's id by the agent.
    async fn invoke(&self, ctx: ToolContext) -> Result<ToolResult, ToolError>;
}
