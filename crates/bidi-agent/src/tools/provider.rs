//! [`ToolProvider`]: a source of tools with a lifecycle (an MCP server, for example), loaded
//! when the agent starts and released when it stops; and the agent's live tool set.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use bidi_types::{BoxError, ToolSpec};

use super::{AgentTool, ToolRegistry};
use crate::AgentError;
use crate::error::StopFailure;

/// Who uses a [`ToolProvider`]: each agent has its own id, so a provider shared by several
/// agents knows when the last one is gone.
///
/// ```
/// use bidi_agent::tools::ConsumerId;
/// assert_ne!(ConsumerId::next(), ConsumerId::next());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConsumerId(u64);

impl ConsumerId {
    /// A fresh id, never returned before in this process.
    pub fn next() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Self(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

impl std::fmt::Display for ConsumerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A collection of tools with a lifecycle: the reference's `ToolProvider` (its MCP client is
/// one).
///
/// The agent calls [`load_tools`](Self::load_tools) at every `start` (the provider connects or
/// reconnects as needed; the tools are registered beside the agent's own and sent to the
/// model) and [`remove_consumer`](Self::remove_consumer) at `stop` (the provider releases its
/// resources once no consumer remains). Both are called with the agent's [`ConsumerId`], so
/// one provider can serve several agents.
///
/// ```
/// use std::sync::Arc;
/// use bidi_agent::tools::{AgentTool, ConsumerId, StopConversation, ToolProvider};
/// use bidi_agent::types::BoxError;
///
/// /// Lends the stop tool.
/// struct Lender;
///
/// #[bidi_agent::async_trait]
/// impl ToolProvider for Lender {
///     fn name(&self) -> &str {
///         "lender"
///     }
///     async fn load_tools(&self, _consumer: ConsumerId) -> Result<Vec<Arc<dyn AgentTool>>, BoxError> {
///         Ok(vec![Arc::new(StopConversation)])
///     }
///     async fn remove_consumer(&self, _consumer: ConsumerId) -> Result<(), BoxError> {
///         Ok(())
///     }
/// }
/// ```
#[async_trait::async_trait]
pub trait ToolProvider: Send + Sync + 'static {
    /// A name for logs and errors.
    fn name(&self) -> &str;

    /// Registers `consumer` and returns the tools, ready to run (connecting first if needed).
    /// Called at every start of the agent.
    async fn load_tools(&self, consumer: ConsumerId) -> Result<Vec<Arc<dyn AgentTool>>, BoxError>;

    /// Unregisters `consumer`; once none remains, the provider releases what it holds (a
    /// child process, a connection). Idempotent.
    async fn remove_consumer(&self, consumer: ConsumerId) -> Result<(), BoxError>;
}

/// The agent's tools: its own (fixed at `build`) and, while started, its providers'.
pub(crate) struct AgentTools {
    /// Shared with `current` until a provider adds tools: one copy of the specs per agent.
    base: Arc<ToolRegistry>,
    providers: Vec<Arc<dyn ToolProvider>>,
    consumer: ConsumerId,
    current: RwLock<Arc<ToolRegistry>>,
}

impl std::fmt::Debug for AgentTools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.current().fmt(f)
    }
}

impl AgentTools {
    pub(crate) fn new(base: ToolRegistry, providers: Vec<Arc<dyn ToolProvider>>) -> Self {
        let base = Arc::new(base);
        let current = RwLock::new(Arc::clone(&base));
        Self {
            base,
            providers,
            consumer: ConsumerId::next(),
            current,
        }
    }

    /// The registry in force now.
    pub(crate) fn current(&self) -> Arc<ToolRegistry> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn set(&self, registry: Arc<ToolRegistry>) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = registry;
    }

    pub(crate) fn get(&self, name: &str) -> Option<Arc<dyn AgentTool>> {
        self.current().get(name)
    }

    pub(crate) fn find(&self, name: &str) -> Option<(String, Arc<dyn AgentTool>)> {
        self.current().find(name)
    }

    pub(crate) fn spec(&self, name: &str) -> Option<ToolSpec> {
        self.current().spec(name).cloned()
    }

    pub(crate) fn specs(&self) -> Vec<ToolSpec> {
        self.current().specs()
    }

    pub(crate) fn names(&self) -> Vec<String> {
        self.current().names()
    }

    /// Loads every provider's tools beside the agent's own. On a failure, the providers
    /// already loaded are released and the agent keeps its own tools only.
    pub(crate) async fn load(&self) -> Result<(), AgentError> {
        if self.providers.is_empty() {
            return Ok(());
        }
        let mut registry = ToolRegistry::clone(&self.base);
        for (loaded, provider) in self.providers.iter().enumerate() {
            let outcome = match provider.load_tools(self.consumer).await {
                Ok(tools) => tools
                    .into_iter()
                    .try_for_each(|tool| registry.register_arc(tool))
                    .map_err(AgentError::from),
                Err(source) => Err(AgentError::ToolProvider {
                    provider: provider.name().to_owned(),
                    source,
                }),
            };
            if let Err(e) = outcome {
                tracing::warn!(
                    provider = provider.name(),
                    "tool_provider=<{}>, error=<{e}> | failed to load tools",
                    provider.name()
                );
                // Release this one and the ones before it.
                for p in &self.providers[..=loaded] {
                    let _ = p.remove_consumer(self.consumer).await;
                }
                return Err(e);
            }
            tracing::debug!(
                provider = provider.name(),
                "tool_provider=<{}>, tools=<{}> | provider tools loaded",
                provider.name(),
                registry.len()
            );
        }
        self.set(Arc::new(registry));
        Ok(())
    }

    /// Releases every provider (all of them, whatever fails) and goes back to the agent's own
    /// tools.
    pub(crate) async fn unload(&self) -> Vec<StopFailure> {
        if self.providers.is_empty() {
            return Vec::new();
        }
        self.set(Arc::clone(&self.base));
        let mut failures = Vec::new();
        for provider in &self.providers {
            if let Err(error) = provider.remove_consumer(self.consumer).await {
                tracing::warn!(
                    provider = provider.name(),
                    "tool_provider=<{}>, error=<{error}> | failed to remove provider consumer",
                    provider.name()
                );
                failures.push(StopFailure {
                    name: format!("{}.remove_consumer", provider.name()),
                    error,
                });
            }
        }
        failures
    }
}
