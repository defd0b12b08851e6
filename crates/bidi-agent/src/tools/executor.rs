//! How tool calls run: the [`ToolExecutor`] trait, [`ConcurrentToolExecutor`] (the default)
//! and [`SequentialToolExecutor`].

use std::future::Future;
use std::pin::Pin;

use bidi_types::{ToolResult, ToolUse};

use crate::AgentError;

type RunFuture = Pin<Box<dyn Future<Output = Result<ToolResult, AgentError>> + Send>>;

/// One tool call, ready to run: the hooks, the tool and its error handling. An executor
/// decides when it runs (see [`ToolExecutor`] for an example).
pub struct ToolRun {
    tool_use: ToolUse,
    future: RunFuture,
}

impl std::fmt::Debug for ToolRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolRun")
            .field("tool_use", &self.tool_use)
            .finish_non_exhaustive()
    }
}

impl ToolRun {
    pub(crate) fn new(
        tool_use: ToolUse,
        future: impl Future<Output = Result<ToolResult, AgentError>> + Send + 'static,
    ) -> Self {
        Self {
            tool_use,
            future: Box::pin(future),
        }
    }

    /// The call (as the model asked it).
    pub fn tool_use(&self) -> &ToolUse {
        &self.tool_use
    }

    /// Runs the call to its result. A tool's failure is an `error` result; `Err` means a hook
    /// failed.
    pub async fn run(self) -> Result<ToolResult, AgentError> {
        self.future.await
    }
}

/// Decides how tool calls run relative to each other. Every call the model makes is its own
/// task; the executor is awaited inside it.
///
/// ```
/// use bidi_agent::AgentError;
/// use bidi_agent::tools::{ToolExecutor, ToolRun};
/// use bidi_agent::types::ToolResult;
///
/// /// Logs each call, then runs it.
/// struct Logged;
///
/// #[bidi_agent::async_trait]
/// impl ToolExecutor for Logged {
///     async fn execute(&self, run: ToolRun) -> Result<ToolResult, AgentError> {
///         println!("running {}", run.tool_use().name);
///         run.run().await
///     }
/// }
/// ```
#[async_trait::async_trait]
pub trait ToolExecutor: Send + Sync + 'static {
    /// Runs one call.
    async fn execute(&self, run: ToolRun) -> Result<ToolResult, AgentError>;
}

/// Runs every call at once (the default): two slow tools take the time of one.
///
/// ```
/// let executor = bidi_agent::tools::ConcurrentToolExecutor;
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ConcurrentToolExecutor;

#[async_trait::async_trait]
impl ToolExecutor for ConcurrentToolExecutor {
    async fn execute(&self, run: ToolRun) -> Result<ToolResult, AgentError> {
        run.run().await
    }
}

/// Runs one call at a time, in the order the model asked for them.
///
/// ```
/// let executor = bidi_agent::tools::SequentialToolExecutor::new();
/// ```
#[derive(Debug, Default)]
pub struct SequentialToolExecutor {
    turn: tokio::sync::Mutex<()>,
}

impl SequentialToolExecutor {
    /// A sequential executor.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait::async_trait]
impl ToolExecutor for SequentialToolExecutor {
    async fn execute(&self, run: ToolRun) -> Result<ToolResult, AgentError> {
        // tokio's mutex is fair: calls run in the order they asked for their turn.
        let _turn = self.turn.lock().await;
        run.run().await
    }
}
