//! MCP servers as tools for bidi voice agents, through the official Rust MCP SDK (`rmcp`).
//!
//! [`McpToolProvider`] is a [`ToolProvider`](bidi_agent::tools::ToolProvider): give it to
//! [`BidiAgentBuilder::tool_provider`](bidi_agent::BidiAgentBuilder::tool_provider) and the
//! server's tools are loaded when the agent starts, sent to the model with the agent's own,
//! called mid-conversation, and the server is stopped when the agent stops.
//!
//! - stdio servers ([`McpToolProvider::stdio`], feature `stdio`, on by default): a child
//!   process, killed at stop;
//! - streamable-HTTP servers ([`McpToolProvider::http`], feature `http`, on by default; `tls`
//!   for `https://`), with an optional bearer token;
//! - an optional name prefix, allow and deny lists, a per-call timeout;
//! - results: text, images, embedded resources, structured content (a last `json` block) and
//!   `isError` are mapped as the reference does ([`convert`]); a timeout, a crashed server or
//!   a protocol error is an `error` result, and the conversation goes on.
//!
//! See `docs/tools.md` for the whole picture and `cargo run --example mcp_tools` for a
//! runnable agent.
//!
//! ```no_run
//! # async fn demo(model: impl bidi_agent::types::BidiModel + 'static) -> Result<(), bidi_agent::AgentError> {
//! use bidi_agent::BidiAgent;
//! use bidi_mcp::McpToolProvider;
//!
//! let agent = BidiAgent::builder(model)
//!     .tool_provider(McpToolProvider::stdio("npx", ["-y", "@modelcontextprotocol/server-everything"]).prefix("everything"))
//!     .build()?;
//! agent.start(None).await?; // spawns the server, lists its tools
//! println!("{:?}", agent.tool_names());
//! agent.stop().await?; // stops the server
//! # Ok(()) }
//! ```

pub mod convert;
mod error;
mod provider;
mod tool;

pub use error::McpError;
pub use provider::{DEFAULT_CALL_TIMEOUT, DEFAULT_STARTUP_TIMEOUT, McpToolProvider};
pub use tool::McpTool;

/// The official Rust MCP SDK, re-exported for its model types.
pub use rmcp;
