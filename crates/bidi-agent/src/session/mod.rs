//! Sessions: a [`SessionManager`] restores an agent's history and state when it is built and
//! saves them as the conversation goes ([`FileSessionManager`] keeps them in a directory).
//!
//! The manager is wired through hooks, like the reference: at agent initialisation it
//! restores (or creates) the agent, after each appended message it saves the message and the
//! agent, and after each invocation it saves the agent.

mod file;
mod layout;
#[cfg(feature = "s3")]
mod s3;

/// The AWS SDK's S3 crate [`S3SessionManager`] is built on (its `Client` and config types).
#[cfg(feature = "s3")]
pub use aws_sdk_s3;
pub use file::FileSessionManager;
#[cfg(feature = "s3")]
pub use s3::{S3ClientOptions, S3Location, S3SessionManager};

use std::sync::Arc;

use bidi_types::{ContentBlock, Message, Role, ToolResult};

use crate::agent::AgentHandle;
pub use crate::error::SessionError;
use crate::hooks::{
    BidiAfterInvocationEvent, BidiAgentInitializedEvent, BidiMessageAddedEvent, HookProvider,
    HookResult,
};

/// Saves and restores agents.
///
/// ```
/// use bidi_agent::session::{SessionError, SessionManager};
/// use bidi_agent::hooks::BidiAgentInitializedEvent;
/// use bidi_agent::AgentHandle;
/// use bidi_agent::types::Message;
///
/// /// Keeps nothing.
/// struct Forgetful;
///
/// #[bidi_agent::async_trait]
/// impl SessionManager for Forgetful {
///     fn initialize_agent(&self, _agent: &mut BidiAgentInitializedEvent) -> Result<(), SessionError> {
///         Ok(())
///     }
///     async fn append_message(&self, _agent: &AgentHandle, _message: &Message) -> Result<(), SessionError> {
///         Ok(())
///     }
///     async fn sync_agent(&self, _agent: &AgentHandle) -> Result<(), SessionError> {
///         Ok(())
///     }
/// }
/// ```
#[async_trait::async_trait]
pub trait SessionManager: Send + Sync + 'static {
    /// Creates the agent in the session, or restores its history and state into `agent`.
    fn initialize_agent(&self, agent: &mut BidiAgentInitializedEvent) -> Result<(), SessionError>;
    /// Saves one appended message.
    async fn append_message(
        &self,
        agent: &AgentHandle,
        message: &Message,
    ) -> Result<(), SessionError>;
    /// Saves the agent (its state).
    async fn sync_agent(&self, agent: &AgentHandle) -> Result<(), SessionError>;
}

/// A boxed manager is a manager: a server chooses its session store at run time
/// (`Box<dyn SessionManager>`) and hands it to the builder.
///
/// ```
/// use bidi_agent::session::{FileSessionManager, SessionManager};
///
/// let dir = tempfile::tempdir().unwrap();
/// let chosen: Box<dyn SessionManager> = Box::new(FileSessionManager::new("s1", dir.path()).unwrap());
/// fn takes(_: impl SessionManager) {}
/// takes(chosen);
/// ```
#[async_trait::async_trait]
impl<T: SessionManager + ?Sized> SessionManager for Box<T> {
    fn initialize_agent(&self, agent: &mut BidiAgentInitializedEvent) -> Result<(), SessionError> {
        (**self).initialize_agent(agent)
    }
    async fn append_message(
        &self,
        agent: &AgentHandle,
        message: &Message,
    ) -> Result<(), SessionError> {
        (**self).append_message(agent, message).await
    }
    async fn sync_agent(&self, agent: &AgentHandle) -> Result<(), SessionError> {
        (**self).sync_agent(agent).await
    }
}

/// The hooks that drive a session manager.
pub(crate) struct SessionHooks(Arc<dyn SessionManager>);

impl SessionHooks {
    pub(crate) fn new(manager: Arc<dyn SessionManager>) -> Self {
        Self(manager)
    }
}

#[async_trait::async_trait]
impl HookProvider for SessionHooks {
    fn agent_initialized(&self, event: &mut BidiAgentInitializedEvent) -> HookResult {
        Ok(self.0.initialize_agent(event)?)
    }
    async fn message_added(&self, event: &BidiMessageAddedEvent) -> HookResult {
        self.0.append_message(&event.agent, &event.message).await?;
        Ok(self.0.sync_agent(&event.agent).await?)
    }
    async fn after_invocation(&self, event: &BidiAfterInvocationEvent) -> HookResult {
        Ok(self.0.sync_agent(&event.agent).await?)
    }
}

/// The text of the result added for a tool use that never got one.
///
/// ```
/// assert_eq!(bidi_agent::session::INTERRUPTED_TOOL_TEXT, "Tool was interrupted.");
/// ```
pub const INTERRUPTED_TOOL_TEXT: &str = "Tool was interrupted.";

/// Repairs a restored history as the reference does: drops a leading user message holding a
/// tool result, and for each message but the last, adds an error result ("Tool was
/// interrupted.") for every tool use with no result in the next message.
///
/// ```
/// use bidi_agent::session::repair_history;
/// use bidi_agent::types::{Message, ToolUse};
/// use serde_json::json;
///
/// let history = vec![
///     Message::tool_use(ToolUse::new("t1", "time", json!({}))),
///     Message::text(bidi_agent::types::Role::User, "hello?"),
/// ];
/// let repaired = repair_history(history);
/// assert_eq!(repaired.len(), 3);
/// ```
pub fn repair_history(mut messages: Vec<Message>) -> Vec<Message> {
    let leading_result = messages.first().is_some_and(|m| {
        m.role == Role::User
            && m.content
                .iter()
                .any(|b| matches!(b, ContentBlock::ToolResult(_)))
    });
    if leading_result {
        messages.remove(0);
    }
    let mut i = 0;
    while i + 1 < messages.len() {
        let uses: Vec<String> = messages[i]
            .content
            .iter()
            .filter_map(|b| match b {
                ContentBlock::ToolUse(u) => Some(u.tool_use_id.clone()),
                _ => None,
            })
            .collect();
        if !uses.is_empty() {
            let answered: Vec<String> = messages[i + 1]
                .content
                .iter()
                .filter_map(|b| match b {
                    ContentBlock::ToolResult(r) => Some(r.tool_use_id.clone()),
                    _ => None,
                })
                .collect();
            let missing: Vec<ContentBlock> = uses
                .iter()
                .filter(|id| !answered.contains(id))
                .map(|id| ContentBlock::ToolResult(ToolResult::error(id, INTERRUPTED_TOOL_TEXT)))
                .collect();
            if !missing.is_empty() {
                if answered.is_empty() {
                    messages.insert(
                        i + 1,
                        Message {
                            role: Role::User,
                            content: missing,
                            metadata: None,
                        },
                    );
                } else {
                    messages[i + 1].content.extend(missing);
                }
            }
        }
        i += 1;
    }
    messages
}
