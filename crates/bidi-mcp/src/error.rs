//! [`McpError`]: why an MCP server could not be reached or used.

use std::time::Duration;

/// Why an MCP server could not be started, listed or called.
///
/// ```
/// use bidi_mcp::McpError;
/// let e = McpError::NotRunning { server: "weather".into() };
/// assert_eq!(e.to_string(), "server=<weather> | the MCP server is not running");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum McpError {
    /// The server's command could not be spawned.
    #[error("server=<{server}>, command=<{command}> | could not spawn the MCP server: {source}")]
    Spawn {
        /// The server's name.
        server: String,
        /// The program.
        command: String,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The MCP handshake (`initialize`) failed.
    #[error("server=<{server}> | MCP initialization failed: {reason}")]
    Initialize {
        /// The server's name.
        server: String,
        /// What rmcp said.
        reason: String,
    },
    /// The server did not finish its handshake or its tool listing in time.
    #[error("server=<{server}>, timeout=<{timeout:?}> | the MCP server did not start in time")]
    StartupTimeout {
        /// The server's name.
        server: String,
        /// The startup timeout.
        timeout: Duration,
    },
    /// `tools/list` failed.
    #[error("server=<{server}> | listing the MCP server's tools failed: {reason}")]
    ListTools {
        /// The server's name.
        server: String,
        /// What rmcp said.
        reason: String,
    },
    /// A call needs a running server and there is none (never started, or stopped).
    #[error("server=<{server}> | the MCP server is not running")]
    NotRunning {
        /// The server's name.
        server: String,
    },
    /// The transport's configuration cannot be used (a feature is missing, for example).
    #[error("server=<{server}> | {reason}")]
    Config {
        /// The server's name.
        server: String,
        /// What is wrong.
        reason: String,
    },
}
