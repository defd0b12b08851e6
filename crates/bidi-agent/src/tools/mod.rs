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

pub use crate::error::ToolError;

use bidi_types::{ToolResult, ToolSpec};

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
