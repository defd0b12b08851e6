//! What comes out of a model: [`BidiOutputEvent`] and its eleven events, with the reasons
//! they carry.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::fields::{self, BASE64};
use crate::{AudioFormat, Channels, ModelTimeout, Role, SampleRate, ToolUse, TypesError};

use base64::Engine as _;

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
    timeout_error: ModelTimeout,
}

impl BidiConnectionRestartEvent {
    /// A restart event for this timeout.
    pub fn new(timeout_error: ModelTimeout) -> Self {
        Self { timeout_error }
    }
    /// The timeout that caused it.
    pub fn timeout_error(&self) -> &ModelTimeout {
        &self.timeout_error
    }
}

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

/// A piece of the model's speech: `{"type": "bidi_audio_stream", "audio" (base64), "format",
/// "sample_rate", "channels"}`.
///
/// ```
/// use bidi_types::{AudioFormat, BidiAudioStreamEvent, Channels, SampleRate};
/// let e = BidiAudioStreamEvent::new("AQD/fw==", AudioFormat::Pcm, SampleRate::Hz24000, Channels::Mono).unwrap();
/// assert_eq!(e.audio_bytes().unwrap(), [1, 0, 255, 127]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename = "bidi_audio_stream")]
pub struct BidiAudioStreamEvent {
    audio: String,
    format: AudioFormat,
    sample_rate: SampleRate,
    channels: Channels,
}

impl BidiAudioStreamEvent {
    /// An event from base64 text, which is checked (a provider frame with bad base64 becomes
    /// an error, not noise on the speaker).
    pub fn new(
        audio: impl Into<String>,
        format: AudioFormat,
        sample_rate: SampleRate,
        channels: Channels,
    ) -> Result<Self, TypesError> {
        let audio = audio.into();
        fields::check_base64("audio", &audio)?;
        Ok(Self {
            audio,
            format,
            sample_rate,
            channels,
        })
    }

    /// An event from raw bytes, which are base64-encoded.
    pub fn from_bytes(
        bytes: &[u8],
        format: AudioFormat,
        sample_rate: SampleRate,
        channels: Channels,
    ) -> Self {
        Self {
            audio: BASE64.encode(bytes),
            format,
            sample_rate,
            channels,
        }
    }
    /// The audio, base64.
    pub fn audio(&self) -> &str {
        &self.audio
    }
    /// The audio, decoded.
    pub fn audio_bytes(&self) -> Result<Vec<u8>, TypesError> {
        fields::decode_base64("audio", &self.audio)
    }
    /// Its encoding.
    pub fn format(&self) -> AudioFormat {
        self.format
    }
    /// Its sample rate.
    pub fn sample_rate(&self) -> SampleRate {
        self.sample_rate
    }
    /// Its channel count.
    pub fn channels(&self) -> Channels {
        self.channels
    }
}

impl<'de> Deserialize<'de> for BidiAudioStreamEvent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(tag = "type", rename = "bidi_audio_stream")]
        struct Raw {
            audio: String,
            format: AudioFormat,
            sample_rate: SampleRate,
            channels: Channels,
        }
        let r = Raw::deserialize(d)?;
        Self::new(r.audio, r.format, r.sample_rate, r.channels).map_err(serde::de::Error::custom)
    }
}

/// The text part of a transcript update: `{"text": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptDelta {
    /// The new text.
    pub text: String,
}

/// Live transcript of the user's or the model's speech: `{"type": "bidi_transcript_stream",
/// "delta": {"text"}, "text", "role", "is_final", "current_transcript"}`.
///
/// `current_transcript` is always written, `null` when unknown.
///
/// ```
/// use bidi_types::{BidiTranscriptStreamEvent, Role};
/// let e = BidiTranscriptStreamEvent::new("Hel", Role::Assistant, false, Some("Hel".into()));
/// assert_eq!(e.delta().text, "Hel");
/// assert!(!e.is_final());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "bidi_transcript_stream")]
pub struct BidiTranscriptStreamEvent {
    delta: TranscriptDelta,
    text: String,
    role: Role,
    is_final: bool,
    #[serde(default)]
    current_transcript: Option<String>,
}

impl BidiTranscriptStreamEvent {
    /// A transcript update whose delta is `text`.
    pub fn new(
        text: impl Into<String>,
        role: Role,
        is_final: bool,
        current_transcript: Option<String>,
    ) -> Self {
        let text = text.into();
        Self {
            delta: TranscriptDelta { text: text.clone() },
            text,
            role,
            is_final,
            current_transcript,
        }
    }
    /// The change.
    pub fn delta(&self) -> &TranscriptDelta {
        &self.delta
    }
    /// The text of this update.
    pub fn text(&self) -> &str {
        &self.text
    }
    /// Whose speech it is.
    pub fn role(&self) -> Role {
        self.role
    }
    /// Whether the text is final (it then enters the history).
    pub fn is_final(&self) -> bool {
        self.is_final
    }
    /// The whole transcript so far, when the provider gives it.
    pub fn current_transcript(&self) -> Option<&str> {
        self.current_transcript.as_deref()
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

/// A kind of content tokens are counted for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Modality {
    /// Text.
    Text,
    /// Audio.
    Audio,
    /// Images.
    Image,
    /// Video.
    Video,
    /// Documents.
    Document,
    /// Cached input.
    Cached,
}

/// Tokens of one modality: `{"modality", "input_tokens", "output_tokens"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModalityUsage {
    /// Which modality.
    pub modality: Modality,
    /// Input tokens of that modality.
    pub input_tokens: u64,
    /// Output tokens of that modality.
    pub output_tokens: u64,
}

/// Token counts: `{"type": "bidi_usage", "inputTokens", "outputTokens", "totalTokens"}` and,
/// only when known, `modality_details`, `cacheReadInputTokens`, `cacheWriteInputTokens`.
///
/// ```
/// use bidi_types::BidiUsageEvent;
/// let u = BidiUsageEvent::new(10, 20, 30);
/// assert_eq!(
///     serde_json::to_string(&u).unwrap(),
///     r#"{"type":"bidi_usage","inputTokens":10,"outputTokens":20,"totalTokens":30}"#
/// );
/// assert!(u.modality_details().is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "bidi_usage")]
pub struct BidiUsageEvent {
    #[serde(rename = "inputTokens")]
    input_tokens: u64,
    #[serde(rename = "outputTokens")]
    output_tokens: u64,
    #[serde(rename = "totalTokens")]
    total_tokens: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    modality_details: Option<Vec<ModalityUsage>>,
    #[serde(
        rename = "cacheReadInputTokens",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    cache_read_input_tokens: Option<u64>,
    #[serde(
        rename = "cacheWriteInputTokens",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    cache_write_input_tokens: Option<u64>,
}

impl BidiUsageEvent {
    /// Totals only.
    pub fn new(input_tokens: u64, output_tokens: u64, total_tokens: u64) -> Self {
        Self {
            input_tokens,
            output_tokens,
            total_tokens,
            modality_details: None,
            cache_read_input_tokens: None,
            cache_write_input_tokens: None,
        }
    }
    /// With a per-modality breakdown.
    pub fn with_modality_details(mut self, details: Vec<ModalityUsage>) -> Self {
        self.modality_details = Some(details);
        self
    }
    /// With cache counts.
    pub fn with_cache(mut self, read: Option<u64>, write: Option<u64>) -> Self {
        self.cache_read_input_tokens = read;
        self.cache_write_input_tokens = write;
        self
    }
    /// Input tokens, all modalities.
    pub fn input_tokens(&self) -> u64 {
        self.input_tokens
    }
    /// Output tokens, all modalities.
    pub fn output_tokens(&self) -> u64 {
        self.output_tokens
    }
    /// Input plus output.
    pub fn total_tokens(&self) -> u64 {
        self.total_tokens
    }
    /// Per modality; empty when not given.
    pub fn modality_details(&self) -> &[ModalityUsage] {
        self.modality_details.as_deref().unwrap_or_default()
    }
    /// Tokens read from a cache.
    pub fn cache_read_input_tokens(&self) -> Option<u64> {
        self.cache_read_input_tokens
    }
    /// Tokens written to a cache.
    pub fn cache_write_input_tokens(&self) -> Option<u64> {
        self.cache_write_input_tokens
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

/// Something went wrong: `{"type": "bidi_error", "message", "code", "details"}`.
///
/// `code` names the kind of error (the reference writes the exception's class name);
/// `details` is always written, `null` when there are none.
///
/// ```
/// use bidi_types::BidiErrorEvent;
/// let e = BidiErrorEvent::new("bad frame", "ProtocolError");
/// assert_eq!(serde_json::to_value(&e).unwrap()["details"], serde_json::Value::Null);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "bidi_error")]
pub struct BidiErrorEvent {
    message: String,
    code: String,
    #[serde(default)]
    details: Option<Map<String, Value>>,
}

impl BidiErrorEvent {
    /// An error event without details.
    pub fn new(message: impl Into<String>, code: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: code.into(),
            details: None,
        }
    }
    /// With details.
    pub fn with_details(mut self, details: Map<String, Value>) -> Self {
        self.details = Some(details);
        self
    }
    /// What went wrong, for people.
    pub fn message(&self) -> &str {
        &self.message
    }
    /// What kind of error, for programs.
    pub fn code(&self) -> &str {
        &self.code
    }
    /// More context, when there is some.
    pub fn details(&self) -> Option<&Map<String, Value>> {
        self.details.as_ref()
    }
}

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
    delta: ToolUseStreamDelta,
    current_tool_use: ToolUse,
}

impl ToolUseStreamEvent {
    /// The event every provider emits once a call is whole: the complete tool use in both
    /// places.
    pub fn complete(tool_use: ToolUse) -> Self {
        Self {
            delta: ToolUseStreamDelta {
                tool_use: ToolUseDelta {
                    tool_use_id: Some(tool_use.tool_use_id.clone()),
                    name: Some(tool_use.name.clone()),
                    input: tool_use.input.clone(),
                },
            },
            current_tool_use: tool_use,
        }
    }
    /// An event with an explicit delta.
    pub fn new(delta: ToolUseDelta, current_tool_use: ToolUse) -> Self {
        Self {
            delta: ToolUseStreamDelta { tool_use: delta },
            current_tool_use,
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
        self.current_tool_use
    }
}

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
}
