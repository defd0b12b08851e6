//! What the agent's `receive()` yields and outputs consume: [`BidiAgentEvent`], i.e. every
//! model event plus the events of the agent's own tool runs.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::fields;
use crate::output::parse_as;
use crate::{BidiOutputEvent, Message, ToolResult, ToolUse, TypesError};

/// The result of a tool run: `{"type": "tool_result", "tool_result": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "tool_result")]
pub struct ToolResultEvent {
    tool_result: ToolResult,
}

impl ToolResultEvent {
    /// A result event.
    pub fn new(tool_result: ToolResult) -> Self {
        Self { tool_result }
    }
    /// The result.
    pub fn tool_result(&self) -> &ToolResult {
        &self.tool_result
    }
    /// The result, by value.
    pub fn into_tool_result(self) -> ToolResult {
        self.tool_result
    }
}

/// The body of a [`ToolStreamEvent`]: `{"tool_use", "data"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolStreamData {
    /// The call that produced it.
    pub tool_use: ToolUse,
    /// What the tool reported.
    pub data: Value,
}

/// A value a tool reports while it runs: `{"type": "tool_stream", "tool_stream_event":
/// {"tool_use", "data"}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "tool_stream")]
pub struct ToolStreamEvent {
    // Boxed, like the other tool events: large, and sharing the agent's queues with audio.
    tool_stream_event: Box<ToolStreamData>,
}

impl ToolStreamEvent {
    /// A progress event for `tool_use`.
    pub fn new(tool_use: ToolUse, data: Value) -> Self {
        Self {
            tool_stream_event: Box::new(ToolStreamData { tool_use, data }),
        }
    }
    /// The call and its data.
    pub fn tool_stream_event(&self) -> &ToolStreamData {
        &self.tool_stream_event
    }
}

/// The history message that carries a tool result: `{"message": {"role": "user", "content":
/// [{"toolResult": ...}]}}`. Like the reference, it has no `type` key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolResultMessageEvent {
    message: Box<Message>,
}

impl ToolResultMessageEvent {
    /// A message event.
    pub fn new(message: Message) -> Self {
        Self {
            message: Box::new(message),
        }
    }
    /// The message.
    pub fn message(&self) -> &Message {
        &self.message
    }
}

/// The body of a [`ToolCancelEvent`]: `{"tool_use", "message"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCancelData {
    /// The call that was cancelled.
    pub tool_use: ToolUse,
    /// Why.
    pub message: String,
}

/// A hook cancelled a tool call: `{"tool_cancel_event": {"tool_use", "message"}}`. Like the
/// reference, it has no `type` key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCancelEvent {
    tool_cancel_event: Box<ToolCancelData>,
}

impl ToolCancelEvent {
    /// A cancel event.
    pub fn new(tool_use: ToolUse, message: impl Into<String>) -> Self {
        Self {
            tool_cancel_event: Box::new(ToolCancelData {
                tool_use,
                message: message.into(),
            }),
        }
    }
    /// The call and the reason.
    pub fn tool_cancel_event(&self) -> &ToolCancelData {
        &self.tool_cancel_event
    }
}

/// Everything the agent yields: the model's events and those of its tool runs. This is what a
/// [`BidiOutput`](crate::BidiOutput) receives.
///
/// ```
/// use bidi_types::{BidiAgentEvent, BidiInterruptionEvent, InterruptionReason};
///
/// let e = BidiAgentEvent::from(BidiInterruptionEvent::new(InterruptionReason::UserSpeech));
/// assert_eq!(e.to_json(), serde_json::json!({"type": "bidi_interruption", "reason": "user_speech"}));
/// assert!(e.as_output().is_some());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum BidiAgentEvent {
    /// An event from the model.
    Output(BidiOutputEvent),
    /// `tool_stream`.
    ToolStream(ToolStreamEvent),
    /// `tool_result`.
    ToolResult(ToolResultEvent),
    /// The tool-result message (no `type` key).
    ToolResultMessage(ToolResultMessageEvent),
    /// The tool-cancel event (no `type` key).
    ToolCancel(ToolCancelEvent),
}

impl BidiAgentEvent {
    /// The `type` tag, or for the two events without one their only key (`message`,
    /// `tool_cancel_event`).
    pub const fn event_type(&self) -> &'static str {
        match self {
            Self::Output(e) => e.event_type(),
            Self::ToolStream(_) => "tool_stream",
            Self::ToolResult(_) => "tool_result",
            Self::ToolResultMessage(_) => "message",
            Self::ToolCancel(_) => "tool_cancel_event",
        }
    }

    /// The model event, if this is one.
    pub const fn as_output(&self) -> Option<&BidiOutputEvent> {
        match self {
            Self::Output(e) => Some(e),
            _ => None,
        }
    }

    /// Parses a JSON dict in the reference's form.
    pub fn from_json(value: &Value) -> Result<Self, TypesError> {
        let map = fields::object(value)?;
        match map.get("type").and_then(Value::as_str) {
            Some(tag @ "tool_stream") => Ok(Self::ToolStream(parse_as(tag, value)?)),
            Some(tag @ "tool_result") => Ok(Self::ToolResult(parse_as(tag, value)?)),
            Some(_) => BidiOutputEvent::from_json(value).map(Self::Output),
            None if map.contains_key("message") => {
                Ok(Self::ToolResultMessage(parse_as("message", value)?))
            }
            None if map.contains_key("tool_cancel_event") => {
                Ok(Self::ToolCancel(parse_as("tool_cancel_event", value)?))
            }
            None => Err(TypesError::MissingType),
        }
    }

    /// Parses JSON text.
    pub fn from_json_str(text: &str) -> Result<Self, TypesError> {
        Self::from_json(&serde_json::from_str::<Value>(text)?)
    }

    /// The event as a JSON value.
    pub fn to_json(&self) -> Value {
        // Serialising these types cannot fail: every key is a string and every value is plain.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The event as JSON text: the text of `to_json().to_string()`, written directly
    /// (no [`Value`] tree, one copy of the audio), for sending an event per frame.
    ///
    /// ```
    /// use bidi_types::{BidiAgentEvent, BidiAudioStreamEvent, AudioFormat, Channels, SampleRate};
    /// let e = BidiAgentEvent::from(BidiAudioStreamEvent::from_bytes(
    ///     &[0, 0], AudioFormat::Pcm, SampleRate::Hz24000, Channels::Mono,
    /// ));
    /// assert_eq!(e.to_json_string(), e.to_json().to_string());
    /// ```
    pub fn to_json_string(&self) -> String {
        // As above: cannot fail for these types.
        serde_json::to_string(self).unwrap_or_else(|_| "null".to_owned())
    }
}

impl<'de> Deserialize<'de> for BidiAgentEvent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        Self::from_json(&value).map_err(serde::de::Error::custom)
    }
}

macro_rules! agent_event_from {
    ($($ty:ty => $variant:ident),* $(,)?) => {$(
        impl From<$ty> for BidiAgentEvent {
            fn from(e: $ty) -> Self {
                Self::$variant(e.into())
            }
        }
    )*};
}

agent_event_from! {
    BidiOutputEvent => Output,
    crate::BidiConnectionStartEvent => Output,
    crate::BidiConnectionRestartEvent => Output,
    crate::BidiResponseStartEvent => Output,
    crate::BidiAudioStreamEvent => Output,
    crate::BidiTranscriptStreamEvent => Output,
    crate::BidiInterruptionEvent => Output,
    crate::BidiResponseCompleteEvent => Output,
    crate::BidiUsageEvent => Output,
    crate::BidiConnectionCloseEvent => Output,
    crate::BidiErrorEvent => Output,
    crate::ToolUseStreamEvent => Output,
    crate::BidiToolCancellationEvent => Output,
    ToolStreamEvent => ToolStream,
    ToolResultEvent => ToolResult,
    ToolResultMessageEvent => ToolResultMessage,
    ToolCancelEvent => ToolCancel,
}
