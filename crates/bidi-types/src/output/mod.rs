//! What comes out of a model: [`BidiOutputEvent`] and its twelve events, with the reasons
//! they carry.

mod connection;
mod error;
mod response;
mod speech;
mod tool_use;
mod usage;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::{BidiAudioStreamEvent, TypesError, fields};

pub use connection::{
    BidiConnectionCloseEvent, BidiConnectionRestartEvent, BidiConnectionStartEvent, CloseReason,
};
pub use error::BidiErrorEvent;
pub use response::{
    BidiInterruptionEvent, BidiResponseCompleteEvent, BidiResponseStartEvent, InterruptionReason,
    StopReason,
};
pub use speech::{BidiTranscriptStreamEvent, TranscriptDelta};
pub use tool_use::{
    BidiToolCancellationEvent, ToolUseDelta, ToolUseStreamDelta, ToolUseStreamEvent,
};
pub use usage::{BidiUsageEvent, Modality, ModalityUsage};

/// Everything a model emits, the reference's `BidiOutputEvent` union.
///
/// ```
/// use bidi_types::{BidiOutputEvent, BidiResponseStartEvent};
/// let e: BidiOutputEvent = BidiResponseStartEvent::new("resp-1").into();
/// let json = e.to_json();
/// assert_eq!(json["type"], "bidi_response_start");
/// assert_eq!(BidiOutputEvent::from_json(&json).unwrap(), e);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum BidiOutputEvent {
    /// `bidi_connection_start`.
    ConnectionStart(BidiConnectionStartEvent),
    /// `bidi_connection_restart`.
    ConnectionRestart(BidiConnectionRestartEvent),
    /// `bidi_response_start`.
    ResponseStart(BidiResponseStartEvent),
    /// `bidi_audio_stream`.
    AudioStream(BidiAudioStreamEvent),
    /// `bidi_transcript_stream`.
    TranscriptStream(BidiTranscriptStreamEvent),
    /// `bidi_interruption`.
    Interruption(BidiInterruptionEvent),
    /// `bidi_response_complete`.
    ResponseComplete(BidiResponseCompleteEvent),
    /// `bidi_usage`.
    Usage(BidiUsageEvent),
    /// `bidi_connection_close`.
    ConnectionClose(BidiConnectionCloseEvent),
    /// `bidi_error`.
    Error(BidiErrorEvent),
    /// `tool_use_stream`.
    ToolUseStream(ToolUseStreamEvent),
    /// `bidi_tool_cancellation` (bidi's own: the model dropped running tool calls).
    ToolCancellation(BidiToolCancellationEvent),
}

/// Deserialises `value` as `T`, blaming the event `event` on failure.
pub(crate) fn parse_as<T: serde::de::DeserializeOwned>(
    event: &str,
    value: &Value,
) -> Result<T, TypesError> {
    T::deserialize(value).map_err(|source| TypesError::InvalidEvent {
        event: event.to_owned(),
        source,
    })
}

impl BidiOutputEvent {
    /// The event's `type` tag.
    pub const fn event_type(&self) -> &'static str {
        match self {
            Self::ConnectionStart(_) => "bidi_connection_start",
            Self::ConnectionRestart(_) => "bidi_connection_restart",
            Self::ResponseStart(_) => "bidi_response_start",
            Self::AudioStream(_) => "bidi_audio_stream",
            Self::TranscriptStream(_) => "bidi_transcript_stream",
            Self::Interruption(_) => "bidi_interruption",
            Self::ResponseComplete(_) => "bidi_response_complete",
            Self::Usage(_) => "bidi_usage",
            Self::ConnectionClose(_) => "bidi_connection_close",
            Self::Error(_) => "bidi_error",
            Self::ToolUseStream(_) => "tool_use_stream",
            Self::ToolCancellation(_) => "bidi_tool_cancellation",
        }
    }

    /// Parses a JSON dict in the reference's form.
    pub fn from_json(value: &Value) -> Result<Self, TypesError> {
        let tag = fields::type_tag(fields::object(value)?)?;
        Ok(match tag {
            "bidi_connection_start" => Self::ConnectionStart(parse_as(tag, value)?),
            "bidi_connection_restart" => Self::ConnectionRestart(parse_as(tag, value)?),
            "bidi_response_start" => Self::ResponseStart(parse_as(tag, value)?),
            "bidi_audio_stream" => Self::AudioStream(parse_as(tag, value)?),
            "bidi_transcript_stream" => Self::TranscriptStream(parse_as(tag, value)?),
            "bidi_interruption" => Self::Interruption(parse_as(tag, value)?),
            "bidi_response_complete" => Self::ResponseComplete(parse_as(tag, value)?),
            "bidi_usage" => Self::Usage(parse_as(tag, value)?),
            "bidi_connection_close" => Self::ConnectionClose(parse_as(tag, value)?),
            "bidi_error" => Self::Error(parse_as(tag, value)?),
            "tool_use_stream" => Self::ToolUseStream(parse_as(tag, value)?),
            "bidi_tool_cancellation" => Self::ToolCancellation(parse_as(tag, value)?),
            other => {
                return Err(TypesError::UnknownType {
                    type_name: other.to_owned(),
                });
            }
        })
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
}

impl<'de> Deserialize<'de> for BidiOutputEvent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        Self::from_json(&value).map_err(serde::de::Error::custom)
    }
}

macro_rules! output_from {
    ($($ty:ident => $variant:ident),* $(,)?) => {$(
        impl From<$ty> for BidiOutputEvent {
            fn from(e: $ty) -> Self {
                Self::$variant(e)
            }
        }
    )*};
}

output_from! {
    BidiConnectionStartEvent => ConnectionStart,
    BidiConnectionRestartEvent => ConnectionRestart,
    BidiResponseStartEvent => ResponseStart,
    BidiAudioStreamEvent => AudioStream,
    BidiTranscriptStreamEvent => TranscriptStream,
    BidiInterruptionEvent => Interruption,
    BidiResponseCompleteEvent => ResponseComplete,
    BidiUsageEvent => Usage,
    BidiConnectionCloseEvent => ConnectionClose,
    BidiErrorEvent => Error,
    ToolUseStreamEvent => ToolUseStream,
    BidiToolCancellationEvent => ToolCancellation,
}
