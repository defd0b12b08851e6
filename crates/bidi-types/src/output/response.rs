//! Response events: start, interruption and completion, with their reasons.

use serde::{Deserialize, Serialize};

/// The model began a response: `{"type": "bidi_response_start", "response_id"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "bidi_response_start")]
pub struct BidiResponseStartEvent {
    response_id: String,
}

impl BidiResponseStartEvent {
    /// A response start.
    pub fn new(response_id: impl Into<String>) -> Self {
        Self {
            response_id: response_id.into(),
        }
    }
    /// The response's id, matched by [`BidiResponseCompleteEvent`].
    pub fn response_id(&self) -> &str {
        &self.response_id
    }
}

/// Why the model stopped talking mid-response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InterruptionReason {
    /// The user started speaking (barge-in).
    UserSpeech,
    /// An error cut the response.
    Error,
}

/// The model was interrupted; outputs must drop queued speech at once:
/// `{"type": "bidi_interruption", "reason"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "bidi_interruption")]
pub struct BidiInterruptionEvent {
    reason: InterruptionReason,
}

impl BidiInterruptionEvent {
    /// An interruption.
    pub fn new(reason: InterruptionReason) -> Self {
        Self { reason }
    }
    /// Why.
    pub fn reason(&self) -> InterruptionReason {
        self.reason
    }
}

/// Why a response ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The model finished.
    Complete,
    /// An error ended it.
    Error,
    /// The user interrupted it.
    Interrupted,
    /// The model is waiting for a tool.
    ToolUse,
}

/// The model finished a response: `{"type": "bidi_response_complete", "response_id",
/// "stop_reason"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "bidi_response_complete")]
pub struct BidiResponseCompleteEvent {
    response_id: String,
    stop_reason: StopReason,
}

impl BidiResponseCompleteEvent {
    /// A response end.
    pub fn new(response_id: impl Into<String>, stop_reason: StopReason) -> Self {
        Self {
            response_id: response_id.into(),
            stop_reason,
        }
    }
    /// The response's id.
    pub fn response_id(&self) -> &str {
        &self.response_id
    }
    /// Why it ended.
    pub fn stop_reason(&self) -> StopReason {
        self.stop_reason
    }
}
