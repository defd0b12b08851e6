//! [`StopConversation`]: the reference's built-in (deprecated) `stop_conversation` tool.

use bidi_types::{ToolResult, ToolSpec};
use serde_json::json;

use super::{AgentTool, ToolContext, ToolError};

/// The built-in tool that ends the conversation: the agent stops on its name and yields
/// `bidi_connection_close` with reason `user_request`. Deprecated in the reference in favour
/// of setting `stop_event_loop` in the [`RequestState`](crate::RequestState), which it also
/// does here.
///
/// ```
/// use bidi_agent::tools::{AgentTool, StopConversation};
/// assert_eq!(StopConversation.spec().name, "stop_conversation");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct StopConversation;

#[async_trait::async_trait]
impl AgentTool for StopConversation {
    fn spec(&self) -> ToolSpec {
        ToolSpec::new(
            "stop_conversation",
            "Stop the bidirectional conversation gracefully. Use ONLY when user says \"stop conversation\" exactly. Do NOT use for: \"stop\", \"goodbye\", \"bye\", \"exit\", \"quit\", \"end\" or other farewells or phrases.",
            json!({"type": "object", "properties": {}, "required": []}),
        )
    }

    async fn invoke(&self, ctx: ToolContext) -> Result<ToolResult, ToolError> {
        tracing::warn!(
            "tool=<stop_conversation> | stop_conversation is deprecated, set request_state stop_event_loop instead"
        );
        ctx.request_state().stop_event_loop();
        Ok(ToolResult::text(
            &ctx.tool_use().tool_use_id,
            "Ending conversation",
        ))
    }
}
