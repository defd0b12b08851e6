//! [`McpTool`]: one tool of an MCP server, as an [`AgentTool`].

use std::sync::Arc;
use std::time::Duration;

use bidi_agent::tools::{AgentTool, ToolContext, ToolError};
use bidi_agent::types::{ToolResult, ToolSpec};
use rmcp::model::CallToolRequestParams;
use rmcp::service::{Peer, RoleClient, ServiceError};
use serde_json::Value;

/// A tool of an MCP server: calls go to the server's `tools/call` under the tool's own name,
/// with the provider's per-call timeout. Every failure (timeout, server gone, protocol error)
/// is an `error` result whose text starts with `Tool execution failed:`, as in the
/// reference: the conversation goes on.
pub struct McpTool {
    spec: ToolSpec,
    mcp_name: Arc<str>,
    server: Arc<str>,
    peer: Peer<RoleClient>,
    timeout: Duration,
}

impl std::fmt::Debug for McpTool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpTool")
            .field("name", &self.spec.name)
            .field("mcp_name", &self.mcp_name)
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl McpTool {
    pub(crate) fn new(
        spec: ToolSpec,
        mcp_name: &str,
        server: Arc<str>,
        peer: Peer<RoleClient>,
        timeout: Duration,
    ) -> Self {
        Self {
            spec,
            mcp_name: Arc::from(mcp_name),
            server,
            peer,
            timeout,
        }
    }

    /// The tool's name on the server (without the provider's prefix).
    pub fn mcp_name(&self) -> &str {
        &self.mcp_name
    }

    /// The name of the server it belongs to.
    pub fn server(&self) -> &str {
        &self.server
    }

    fn failed(&self, tool_use_id: &str, reason: impl std::fmt::Display) -> ToolResult {
        tracing::warn!(
            server = %self.server,
            tool = %self.mcp_name,
            "server=<{}>, tool=<{}>, error=<{reason}> | MCP tool call failed",
            self.server,
            self.mcp_name
        );
        ToolResult::error(
            tool_use_id,
            format!(
                "Tool execution failed: server=<{}>, tool=<{}> | {reason}",
                self.server, self.mcp_name
            ),
        )
    }

    fn describe(&self, error: &ServiceError) -> String {
        match error {
            ServiceError::TransportClosed | ServiceError::TransportSend(_) => format!(
                "the connection to the MCP server is closed (the server may have crashed; it is restarted at the next start): {error}"
            ),
            other => other.to_string(),
        }
    }
}

#[async_trait::async_trait]
impl AgentTool for McpTool {
    fn spec(&self) -> ToolSpec {
        self.spec.clone()
    }

    async fn invoke(&self, ctx: ToolContext) -> Result<ToolResult, ToolError> {
        let tool_use = ctx.tool_use();
        let id = tool_use.tool_use_id.as_str();
        let mut params = CallToolRequestParams::new(self.mcp_name.to_string());
        match &tool_use.input {
            Value::Object(args) => params = params.with_arguments(args.clone()),
            Value::Null => {}
            other => {
                return Ok(self.failed(id, format!("the input must be a JSON object, got {other}")));
            }
        }
        if self.peer.is_transport_closed() {
            return Ok(self.failed(
                id,
                "the connection to the MCP server is closed (the server may have crashed; it is restarted at the next start)",
            ));
        }
        tracing::debug!(server = %self.server, tool = %self.mcp_name, "server=<{}>, tool=<{}>, tool_use_id=<{id}> | calling MCP tool", self.server, self.mcp_name);
        match tokio::time::timeout(self.timeout, self.peer.call_tool(params)).await {
            Err(_) => Ok(self.failed(
                id,
                format!(
                    "timed out after {:?} waiting for the MCP server",
                    self.timeout
                ),
            )),
            Ok(Err(e)) => Ok(self.failed(id, self.describe(&e))),
            Ok(Ok(result)) => Ok(crate::convert::tool_result(id, result)),
        }
    }
}
