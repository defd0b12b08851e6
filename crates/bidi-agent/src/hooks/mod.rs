//! Hooks: a [`HookProvider`] receives the agent's lifecycle events; the [`HookRegistry`] calls
//! providers in registration order, or in reverse for the "after" events
//! ([`BidiAfterInvocationEvent`], [`BidiAfterToolCallEvent`]).
//!
//! A callback's error propagates: from `start` for the before-invocation hook, from `stop`
//! for the after-invocation hook, and out of `receive()` for hooks fired by the loop.

mod events;

pub use events::{
    BidiAfterConnectionRestartEvent, BidiAfterInvocationEvent, BidiAfterToolCallEvent,
    BidiAgentInitializedEvent, BidiBeforeConnectionRestartEvent, BidiBeforeInvocationEvent,
    BidiBeforeToolCallEvent, BidiInterruptionHookEvent, BidiMessageAddedEvent,
};

use std::sync::Arc;

use bidi_types::BoxError;

use crate::AgentError;

/// What a hook callback returns: any error propagates (see the module docs).
///
/// ```
/// let failed: bidi_agent::hooks::HookResult = Err("quota exceeded".into());
/// ```
pub type HookResult = Result<(), BoxError>;

/// Receives the agent's lifecycle events. Every method does nothing by default: implement the
/// ones you need.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use bidi_agent::hooks::{BidiMessageAddedEvent, HookProvider, HookResult};
///
/// #[derive(Default)]
/// struct CountMessages(AtomicUsize);
///
/// #[bidi_agent::async_trait]
/// impl HookProvider for CountMessages {
///     async fn message_added(&self, _event: &BidiMessageAddedEvent) -> HookResult {
///         self.0.fetch_add(1, Ordering::Relaxed);
///         Ok(())
///     }
/// }
/// ```
#[async_trait::async_trait]
pub trait HookProvider: Send + Sync + 'static {
    /// The agent was built (synchronous, like the reference).
    fn agent_initialized(&self, event: &mut BidiAgentInitializedEvent) -> HookResult {
        let _ = event;
        Ok(())
    }
    /// `start` began.
    async fn before_invocation(&self, event: &BidiBeforeInvocationEvent) -> HookResult {
        let _ = event;
        Ok(())
    }
    /// `stop` ended.
    async fn after_invocation(&self, event: &BidiAfterInvocationEvent) -> HookResult {
        let _ = event;
        Ok(())
    }
    /// A message was appended.
    async fn message_added(&self, event: &BidiMessageAddedEvent) -> HookResult {
        let _ = event;
        Ok(())
    }
    /// A tool is about to run.
    async fn before_tool_call(&self, event: &mut BidiBeforeToolCallEvent) -> HookResult {
        let _ = event;
        Ok(())
    }
    /// A tool ran.
    async fn after_tool_call(&self, event: &mut BidiAfterToolCallEvent) -> HookResult {
        let _ = event;
        Ok(())
    }
    /// The model was interrupted.
    async fn interruption(&self, event: &BidiInterruptionHookEvent) -> HookResult {
        let _ = event;
        Ok(())
    }
    /// A connection restart begins.
    async fn before_connection_restart(
        &self,
        event: &BidiBeforeConnectionRestartEvent,
    ) -> HookResult {
        let _ = event;
        Ok(())
    }
    /// A connection restart ended.
    async fn after_connection_restart(
        &self,
        event: &BidiAfterConnectionRestartEvent,
    ) -> HookResult {
        let _ = event;
        Ok(())
    }
}

/// The agent's hook providers, in registration order.
///
/// ```
/// use bidi_agent::hooks::{HookProvider, HookRegistry};
///
/// struct Nothing;
/// impl HookProvider for Nothing {}
///
/// let mut hooks = HookRegistry::new();
/// hooks.add(Nothing);
/// assert_eq!(hooks.len(), 1);
/// ```
#[derive(Clone, Default)]
pub struct HookRegistry {
    providers: Vec<Arc<dyn HookProvider>>,
}

impl std::fmt::Debug for HookRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HookRegistry")
            .field("providers", &self.providers.len())
            .finish()
    }
}

macro_rules! invoke {
    ($name:ident, $method:ident, $event:ty, $label:literal, forward) => {
        pub(crate) async fn $name(&self, event: $event) -> Result<(), AgentError> {
            for p in &self.providers {
                p.$method(event)
                    .await
                    .map_err(|e| AgentError::hook($label, e))?;
            }
            Ok(())
        }
    };
    ($name:ident, $method:ident, $event:ty, $label:literal, reverse) => {
        pub(crate) async fn $name(&self, event: $event) -> Result<(), AgentError> {
            for p in self.providers.iter().rev() {
                p.$method(event)
                    .await
                    .map_err(|e| AgentError::hook($label, e))?;
            }
            Ok(())
        }
    };
}

impl HookRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a provider after the others.
    pub fn add(&mut self, provider: impl HookProvider) {
        self.providers.push(Arc::new(provider));
    }

    /// Adds a shared provider after the others.
    pub fn add_arc(&mut self, provider: Arc<dyn HookProvider>) {
        self.providers.push(provider);
    }

    /// How many providers.
    pub fn len(&self) -> usize {
        self.providers.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.providers.is_empty()
    }

    pub(crate) fn agent_initialized(
        &self,
        event: &mut BidiAgentInitializedEvent,
    ) -> Result<(), AgentError> {
        for p in &self.providers {
            p.agent_initialized(event)
                .map_err(|e| AgentError::hook("BidiAgentInitializedEvent", e))?;
        }
        Ok(())
    }

    invoke!(
        before_invocation,
        before_invocation,
        &BidiBeforeInvocationEvent,
        "BidiBeforeInvocationEvent",
        forward
    );
    invoke!(
        after_invocation,
        after_invocation,
        &BidiAfterInvocationEvent,
        "BidiAfterInvocationEvent",
        reverse
    );
    invoke!(
        message_added,
        message_added,
        &BidiMessageAddedEvent,
        "BidiMessageAddedEvent",
        forward
    );
    invoke!(
        before_tool_call,
        before_tool_call,
        &mut BidiBeforeToolCallEvent,
        "BidiBeforeToolCallEvent",
        forward
    );
    invoke!(
        after_tool_call,
        after_tool_call,
        &mut BidiAfterToolCallEvent,
        "BidiAfterToolCallEvent",
        reverse
    );
    invoke!(
        interruption,
        interruption,
        &BidiInterruptionHookEvent,
        "BidiInterruptionEvent",
        forward
    );
    invoke!(
        before_connection_restart,
        before_connection_restart,
        &BidiBeforeConnectionRestartEvent,
        "BidiBeforeConnectionRestartEvent",
        forward
    );
    invoke!(
        after_connection_restart,
        after_connection_restart,
        &BidiAfterConnectionRestartEvent,
        "BidiAfterConnectionRestartEvent",
        forward
    );
}
