//! Connection events: start, restart and close.

use serde::{Deserialize, Serialize};

use crate::timeout::ModelTimeout;

/// The model's connection is open: `{"type": "bidi_connection_start", "connection_id", "model"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "bidi_connection_start")]
pub struct BidiConnectionStartEvent {
    connection_id: String,
    model: String,
}

impl BidiConnectionStartEvent {
    /// A start event.
    pub fn new(connection_id: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            connection_id: connection_id.into(),
            model: model.into(),
        }
    }
    /// The connection's id.
    pub fn connection_id(&self) -> &str {
        &self.connection_id
    }
    /// The model's id (`amazon.nova-2-sonic-v1:0`, `gpt-realtime`, ...).
    pub fn model(&self) -> &str {
        &self.model
    }
}

/// The agent is reopening the connection after the model timed out:
/// `{"type": "bidi_connection_restart", "timeout_error": {"message", "restart_config"}}`.
///
/// The reference puts the exception object itself under `timeout_error`, which JSON cannot
/// hold; bidi writes its message and its restart settings instead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "bidi_connection_restart")]
pub struct BidiConnectionRestartEvent {
    // Boxed: rare, and larger than the audio events that share its enum.
    timeout_error: Box<ModelTimeout>,
}

impl BidiConnectionRestartEvent {
    /// A restart event for this timeout.
    pub fn new(timeout_error: ModelTimeout) -> Self {
        Self {
            timeout_error: Box::new(timeout_error),
        }
    }
    /// The timeout that caused it.
    pub fn timeout_error(&self) -> &ModelTimeout {
        &self.timeout_error
    }
}

/// Why a connection closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    /// The client went away.
    ClientDisconnect,
    /// The connection timed out.
    Timeout,
    /// An error closed it.
    Error,
    /// The conversation is over.
    Complete,
    /// A tool (or the user through one) asked to stop.
    UserRequest,
}

/// The connection closed: `{"type": "bidi_connection_close", "connection_id", "reason"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "bidi_connection_close")]
pub struct BidiConnectionCloseEvent {
    connection_id: String,
    reason: CloseReason,
}

impl BidiConnectionCloseEvent {
    /// A close event.
    pub fn new(connection_id: impl Into<String>, reason: CloseReason) -> Self {
        Self {
            connection_id: connection_id.into(),
            reason,
        }
    }
    /// The connection's id.
    pub fn connection_id(&self) -> &str {
        &self.connection_id
    }
    /// Why.
    pub fn reason(&self) -> CloseReason {
        self.reason
    }
}
