//! The model's request for a tool.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ToolUse;

/// The tool use as far as it has streamed: `{"toolUseId"?, "name"?, "input"}`, where `input`
/// is the arguments' JSON text so far or, once complete, the parsed arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolUseDelta {
    /// The call's id, once known.
    #[serde(rename = "toolUseId", default, skip_serializing_if = "Option::is_none")]
    pub tool_use_id: Option<String>,
    /// The tool's name, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The arguments (text so far, or parsed).
    pub input: Value,
}

/// `{"toolUse": <ToolUseDelta>}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolUseStreamDelta {
    /// The streamed tool use.
    #[serde(rename = "toolUse")]
    pub tool_use: ToolUseDelta,
}

/// The model wants a tool run: `{"type": "tool_use_stream", "delta": {"toolUse": ...},
/// "current_tool_use": {"toolUseId", "name", "input"}}`. The agent acts on
/// `current_tool_use`.
///
/// ```
/// use bidi_types::{ToolUse, ToolUseStreamEvent};
/// let e = ToolUseStreamEvent::complete(ToolUse::new("t-1", "calc", serde_json::json!({"x": 1})));
/// assert_eq!(e.current_tool_use().name, "calc");
/// assert_eq!(e.delta().tool_use.name.as_deref(), Some("calc"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "tool_use_stream")]
pub struct ToolUseStreamEvent {
    // Boxed: a tool use is large and rare, and this event shares its enum (and the queues
    // that carry it) with the audio chunks.
    delta: Box<ToolUseStreamDelta>,
    current_tool_use: Box<ToolUse>,
}

impl ToolUseStreamEvent {
    /// The event every provider emits once a call is whole: the complete tool use in both
    /// places.
    pub fn complete(tool_use: ToolUse) -> Self {
        Self {
            delta: Box::new(ToolUseStreamDelta {
                tool_use: ToolUseDelta {
                    tool_use_id: Some(tool_use.tool_use_id.clone()),
                    name: Some(tool_use.name.clone()),
                    input: tool_use.input.clone(),
                },
            }),
            current_tool_use: Box::new(tool_use),
        }
    }
    /// An event with an explicit delta.
    pub fn new(delta: ToolUseDelta, current_tool_use: ToolUse) -> Self {
        Self {
            delta: Box::new(ToolUseStreamDelta { tool_use: delta }),
            current_tool_use: Box::new(current_tool_use),
        }
    }
    /// What changed.
    pub fn delta(&self) -> &ToolUseStreamDelta {
        &self.delta
    }
    /// The tool use so far; what the agent runs.
    pub fn current_tool_use(&self) -> &ToolUse {
        &self.current_tool_use
    }
    /// The tool use, by value.
    pub fn into_tool_use(self) -> ToolUse {
        *self.current_tool_use
    }
}

/// The model dropped tool calls it had asked for (Gemini's `toolCallCancellation`, for example
/// when the user interrupts a blocking call): `{"type": "bidi_tool_cancellation",
/// "tool_use_ids": [...]}`. The agent stops those calls that are still running and sends no
/// result for them. A bidi event: the reference has no counterpart.
///
/// ```
/// use bidi_types::{BidiOutputEvent, BidiToolCancellationEvent};
/// let e = BidiToolCancellationEvent::new(vec!["fc-1".into()]);
/// assert_eq!(e.tool_use_ids(), ["fc-1"]);
/// let json = BidiOutputEvent::from(e).to_json();
/// assert_eq!(json, serde_json::json!({"type": "bidi_tool_cancellation", "tool_use_ids": ["fc-1"]}));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "bidi_tool_cancellation")]
pub struct BidiToolCancellationEvent {
    tool_use_ids: Vec<String>,
}

impl BidiToolCancellationEvent {
    /// The calls the model dropped, by id.
    pub fn new(tool_use_ids: Vec<String>) -> Self {
        Self { tool_use_ids }
    }
    /// The ids of the dropped calls.
    pub fn tool_use_ids(&self) -> &[String] {
        &self.tool_use_ids
    }
}
