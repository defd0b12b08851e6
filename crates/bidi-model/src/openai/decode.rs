//! OpenAI's JSON to our events: [`Decoder`], a state machine over server frames that
//! assembles function calls, follows the active response and the assistant audio item
//! being streamed (for barge-in truncation). Pure, no IO.

use std::borrow::Cow;
use std::collections::HashMap;
use std::time::Duration;

use bidi_types::{
    AudioFormat, BidiAudioStreamEvent, BidiInterruptionEvent, BidiOutputEvent,
    BidiResponseCompleteEvent, BidiResponseStartEvent, BidiTranscriptStreamEvent, BidiUsageEvent,
    InterruptionReason, Modality, ModalityUsage, ModelError, ModelTimeout, Role, StopReason,
    ToolUse, ToolUseStreamEvent,
};
use serde_json::{Map, Value};

/// At most this many function calls are assembled at once; more is a protocol error.
pub const MAX_PENDING_CALLS: usize = 64;
/// At most this much argument text per call.
pub const MAX_ARGUMENT_BYTES: usize = 1 << 20;

/// Why a server frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The frame is not JSON.
    #[error("frame is not JSON: {0}")]
    NotJson(String),
    /// The frame is JSON but not an object.
    #[error("found=<{0}> | frame must be a JSON object")]
    NotAnObject(&'static str),
    /// The object has no string `type`.
    #[error("frame has no string `type`")]
    MissingType,
    /// A known event lacks a field, or the field has the wrong kind.
    #[error("event=<{event}>, field=<{field}> | missing or not {expected}")]
    BadField {
        /// The event's type.
        event: String,
        /// The field.
        field: &'static str,
        /// What was expected.
        expected: &'static str,
    },
    /// Audio that is not valid base64.
    #[error("event=<{event}>, length=<{len}> | audio is not valid base64")]
    BadAudio {
        /// The event's type.
        event: String,
        /// The length of the text.
        len: usize,
    },
    /// Function call arguments that are not JSON.
    #[error("call_id=<{call_id}> | function arguments are not JSON: {reason}")]
    BadArguments {
        /// The call.
        call_id: String,
        /// The parser's message.
        reason: String,
    },
    /// A function call that never got a name.
    #[error("call_id=<{call_id}> | function call has no name")]
    UnnamedCall {
        /// The call.
        call_id: String,
    },
    /// Too many calls or too long arguments.
    #[error("call_id=<{call_id}> | {what} exceeds the limit")]
    TooLarge {
        /// The call.
        call_id: String,
        /// What overflowed.
        what: &'static str,
    },
}

impl From<DecodeError> for ModelError {
    fn from(e: DecodeError) -> Self {
        ModelError::Protocol(e.to_string())
    }
}

/// The assistant audio item being streamed: what a truncation needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioItem {
    /// The item's id.
    pub item_id: String,
    /// The content part carrying the audio.
    pub content_index: u64,
    /// How much audio of it arrived.
    pub received: Duration,
    /// The response that streams it, when the server said.
    pub response_id: Option<String>,
}

/// What one server frame means.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// An event for the agent.
    Emit(BidiOutputEvent),
    /// The first audio of a new assistant item arrived (the connection starts a clock).
    AudioItemStarted {
        /// The item's id.
        item_id: String,
    },
    /// The user started speaking: what was streaming then. Follows the interruption event.
    BargeIn {
        /// The response still generating, if any (to cancel).
        active_response: Option<String>,
        /// The audio item being played, if any (to truncate).
        item: Option<AudioItem>,
        /// All model audio emitted so far (see [`Decoder::emitted_total`]).
        emitted_total: Duration,
    },
    /// The service ended the session at its time limit: restart with history.
    SessionExpired(ModelTimeout),
}

const AUDIO_DELTA: &str = "response.output_audio.delta";

/// The fields of `response.output_audio.delta` the decoder reads, borrowed from the frame
/// (the fast path of [`Decoder::decode`]); unknown fields are skipped.
#[derive(serde::Deserialize)]
struct AudioDeltaFrame<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow, default)]
    delta: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    item_id: Option<Cow<'a, str>>,
    #[serde(default)]
    content_index: Option<u64>,
    #[serde(borrow, default)]
    response_id: Option<Cow<'a, str>>,
}

/// What an audio delta carries besides its audio.
struct DeltaFields<'a> {
    item_id: Option<&'a str>,
    content_index: Option<u64>,
    response_id: Option<&'a str>,
}

#[derive(Debug, Default)]
struct PendingCall {
    name: Option<String>,
    arguments: String,
}

/// Turns server frames into [`Step`]s. One per connection.
///
/// ```
/// use bidi_model::openai::decode::{Decoder, Step};
/// use bidi_types::BidiOutputEvent;
///
/// let mut d = Decoder::new(std::time::Duration::ZERO);
/// let steps = d.decode(r#"{"type":"response.created","response":{"id":"resp_1"}}"#).unwrap();
/// assert!(matches!(&steps[0], Step::Emit(BidiOutputEvent::ResponseStart(s)) if s.response_id() == "resp_1"));
/// assert!(d.decode("not json").is_err());
/// ```
#[derive(Debug)]
pub struct Decoder {
    calls: HashMap<String, PendingCall>,
    active_response: Option<String>,
    item: Option<AudioItem>,
    interrupted_item: Option<String>,
    emitted_total: Duration,
    /// The encoding and rate of the model's audio (the session's output format).
    output: (AudioFormat, bidi_types::SampleRate),
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

impl Decoder {
    /// A decoder for a new connection; `emitted_before` is the model audio emitted by the
    /// earlier connections of the same model (the [`PlaybackTracker`] counts since its
    /// creation).
    ///
    /// [`PlaybackTracker`]: bidi_types::PlaybackTracker
    pub fn new(emitted_before: Duration) -> Self {
        Self {
            calls: HashMap::new(),
            active_response: None,
            item: None,
            interrupted_item: None,
            emitted_total: emitted_before,
            output: (AudioFormat::Pcm, bidi_types::SampleRate::Hz24000),
        }
    }

    /// The same decoder for a session whose audio output is `format` at `rate` (the
    /// default: PCM at 24 kHz; μ-law at 8 kHz for `audio/pcmu`): the audio events carry
    /// them, and their length is counted in them.
    ///
    /// ```
    /// use bidi_model::openai::decode::{Decoder, Step};
    /// use bidi_types::{AudioFormat, BidiOutputEvent, SampleRate};
    ///
    /// let mut d = Decoder::new(std::time::Duration::ZERO).with_output(AudioFormat::Pcmu, SampleRate::Hz8000);
    /// // 3 bytes of μ-law.
    /// let steps = d.decode(r#"{"type":"response.output_audio.delta","item_id":"i","delta":"//9/"}"#).unwrap();
    /// assert!(steps.iter().any(|s| matches!(s, Step::Emit(BidiOutputEvent::AudioStream(a)) if a.format() == AudioFormat::Pcmu)));
    /// assert_eq!(d.emitted_total().as_micros(), 375);
    /// ```
    pub fn with_output(mut self, format: AudioFormat, rate: bidi_types::SampleRate) -> Self {
        self.output = (format, rate);
        self
    }

    /// All model audio emitted so far, this connection and the earlier ones.
    pub fn emitted_total(&self) -> Duration {
        self.emitted_total
    }

    /// The response being generated, if any.
    pub fn active_response(&self) -> Option<&str> {
        self.active_response.as_deref()
    }

    /// Decodes one text frame. A frame that fails is dropped; the decoder stays usable.
    pub fn decode(&mut self, frame: &str) -> Result<Vec<Step>, DecodeError> {
        // The hot path: an audio delta read straight into borrowed fields, without a
        // `Value` tree. Anything unusual (another event, a field of another kind, escapes
        // aside) takes the general path below, which reports errors precisely.
        if let Ok(f) = serde_json::from_str::<AudioDeltaFrame<'_>>(frame)
            && f.kind == AUDIO_DELTA
            && let Some(delta) = f.delta
        {
            let fields = DeltaFields {
                item_id: f.item_id.as_deref(),
                content_index: f.content_index,
                response_id: f.response_id.as_deref(),
            };
            return self.audio_delta(AUDIO_DELTA, delta.into_owned(), fields);
        }
        let value: Value =
            serde_json::from_str(frame).map_err(|e| DecodeError::NotJson(e.to_string()))?;
        let Value::Object(event) = value else {
            return Err(DecodeError::NotAnObject(kind(&value)));
        };
        let Some(Value::String(kind)) = event.get("type") else {
            return Err(DecodeError::MissingType);
        };
        let kind = kind.clone();
        self.decode_event(&kind, &event)
    }

    fn decode_event(
        &mut self,
        kind: &str,
        e: &Map<String, Value>,
    ) -> Result<Vec<Step>, DecodeError> {
        let emit = |ev: BidiOutputEvent| Ok(vec![Step::Emit(ev)]);
        match kind {
            "response.created" => {
                let id = response(e)
                    .and_then(|r| r.get("id"))
                    .and_then(Value::as_str)
                    .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
                self.active_response = Some(id.clone());
                emit(BidiResponseStartEvent::new(id).into())
            }
            AUDIO_DELTA => {
                let delta = str_field(kind, e, "delta")?.to_owned();
                let fields = DeltaFields {
                    item_id: e.get("item_id").and_then(Value::as_str),
                    content_index: e.get("content_index").and_then(Value::as_u64),
                    response_id: e.get("response_id").and_then(Value::as_str),
                };
                self.audio_delta(kind, delta, fields)
            }
            "response.output_text.delta" | "response.output_audio_transcript.delta" => {
                let text = str_field(kind, e, "delta")?;
                emit(transcript(text, role(e, Role::Assistant), false))
            }
            "response.output_audio_transcript.done" => {
                let text = str_field(kind, e, "transcript")?;
                emit(transcript(text, role(e, Role::Assistant), true))
            }
            "response.output_text.done" => {
                let text = str_field(kind, e, "text")?;
                emit(transcript(text, role(e, Role::Assistant), true))
            }
            "conversation.item.input_audio_transcription.delta"
            | "conversation.item.input_audio_transcription.completed" => {
                let (key, last) = if kind.ends_with("delta") {
                    ("delta", false)
                } else {
                    ("transcript", true)
                };
                let text = e.get(key).and_then(Value::as_str).unwrap_or_default();
                if text.trim().is_empty() {
                    return Ok(Vec::new());
                }
                emit(transcript(text, role(e, Role::User), last))
            }
            "conversation.item.input_audio_transcription.segment" => {
                let segment = e.get("segment").and_then(Value::as_object);
                let text = segment
                    .and_then(|s| s.get("text"))
                    .or_else(|| e.get("text"))
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if text.trim().is_empty() {
                    return Ok(Vec::new());
                }
                emit(transcript(text, Role::User, true))
            }
            "conversation.item.input_audio_transcription.failed" => {
                let message = e
                    .get("error")
                    .and_then(|x| x.get("message"))
                    .and_then(Value::as_str)
                    .unwrap_or("unknown error");
                tracing::warn!("error=<{message}> | openai transcription failed");
                Ok(Vec::new())
            }
            "response.output_item.added" => {
                let Some(item) = e.get("item").and_then(Value::as_object) else {
                    return Ok(Vec::new());
                };
                if item.get("type").and_then(Value::as_str) == Some("function_call") {
                    let call_id = item.get("call_id").and_then(Value::as_str);
                    let name = item.get("name").and_then(Value::as_str);
                    if let (Some(call_id), Some(name)) = (call_id, name) {
                        self.pending(call_id)?.name = Some(name.to_owned());
                    }
                }
                Ok(Vec::new())
            }
            "response.function_call_arguments.delta" => {
                let call_id = str_field(kind, e, "call_id")?;
                let delta = e.get("delta").and_then(Value::as_str).unwrap_or_default();
                let call = self.pending(call_id)?;
                if call.arguments.len() + delta.len() > MAX_ARGUMENT_BYTES {
                    return Err(DecodeError::TooLarge {
                        call_id: call_id.to_owned(),
                        what: "function arguments",
                    });
                }
                call.arguments.push_str(delta);
                Ok(Vec::new())
            }
            "response.function_call_arguments.done" => self.call_done(kind, e),
            "input_audio_buffer.speech_started" => {
                let item = self.item.take();
                if let Some(item) = &item {
                    self.interrupted_item = Some(item.item_id.clone());
                }
                Ok(vec![
                    Step::Emit(BidiInterruptionEvent::new(InterruptionReason::UserSpeech).into()),
                    Step::BargeIn {
                        active_response: self.active_response.clone(),
                        item,
                        emitted_total: self.emitted_total,
                    },
                ])
            }
            "response.cancelled" => {
                let id = response_id(e);
                self.end_response(&id);
                emit(BidiResponseCompleteEvent::new(id, StopReason::Interrupted).into())
            }
            "response.done" => {
                let id = response_id(e);
                self.end_response(&id);
                let r = response(e);
                let status = r.and_then(|r| r.get("status")).and_then(Value::as_str);
                let stop = match status {
                    Some("cancelled" | "incomplete") => StopReason::Interrupted,
                    Some("failed") => StopReason::Error,
                    _ => StopReason::Complete,
                };
                let mut steps = vec![Step::Emit(BidiResponseCompleteEvent::new(id, stop).into())];
                if let Some(usage) = r.and_then(|r| r.get("usage")).and_then(Value::as_object) {
                    steps.push(Step::Emit(usage_event(usage).into()));
                }
                Ok(steps)
            }
            "error" => {
                let error = e.get("error").and_then(Value::as_object);
                let field = |k: &str| {
                    error
                        .and_then(|x| x.get(k))
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned()
                };
                let code = field("code");
                let message = field("message");
                match code.as_str() {
                    "response_cancel_not_active" => {
                        tracing::debug!("code=<{code}> | no active response to cancel");
                        Ok(Vec::new())
                    }
                    "session_expired" => Ok(vec![Step::SessionExpired(ModelTimeout::new(
                        format!("code=<{code}> | {message}"),
                    ))]),
                    _ => {
                        let code = if code.is_empty() { field("type") } else { code };
                        tracing::warn!("code=<{code}> | openai realtime error: {message}");
                        emit(ModelError::Provider { code, message }.to_event().into())
                    }
                }
            }
            other => {
                tracing::debug!("event_type=<{other}> | openai event ignored");
                Ok(Vec::new())
            }
        }
    }

    fn audio_delta(
        &mut self,
        kind: &str,
        delta: String,
        fields: DeltaFields<'_>,
    ) -> Result<Vec<Step>, DecodeError> {
        let len = delta.len();
        let event = BidiAudioStreamEvent::new(
            delta,
            self.output.0,
            self.output.1,
            bidi_types::Channels::Mono,
        )
        .map_err(|_| DecodeError::BadAudio {
            event: kind.to_owned(),
            len,
        })?;
        let duration = event.duration();
        self.emitted_total = self.emitted_total.saturating_add(duration);
        let mut steps = Vec::with_capacity(2);
        let item_id = fields
            .item_id
            .filter(|id| self.interrupted_item.as_deref() != Some(*id));
        if let Some(item_id) = item_id {
            match &mut self.item {
                Some(item) if item.item_id == item_id => {
                    item.received = item.received.saturating_add(duration);
                }
                _ => {
                    self.item = Some(AudioItem {
                        item_id: item_id.to_owned(),
                        content_index: fields.content_index.unwrap_or(0),
                        received: duration,
                        response_id: fields.response_id.map(str::to_owned),
                    });
                    steps.push(Step::AudioItemStarted {
                        item_id: item_id.to_owned(),
                    });
                }
            }
        }
        steps.push(Step::Emit(event.into()));
        Ok(steps)
    }

    fn call_done(&mut self, kind: &str, e: &Map<String, Value>) -> Result<Vec<Step>, DecodeError> {
        let call_id = str_field(kind, e, "call_id")?.to_owned();
        let pending = self.calls.remove(&call_id).unwrap_or_default();
        let arguments = e
            .get("arguments")
            .and_then(Value::as_str)
            .map_or(pending.arguments, str::to_owned);
        let name = pending
            .name
            .or_else(|| e.get("name").and_then(Value::as_str).map(str::to_owned))
            .filter(|n| !n.is_empty())
            .ok_or_else(|| DecodeError::UnnamedCall {
                call_id: call_id.clone(),
            })?;
        let input = if arguments.trim().is_empty() {
            Value::Object(Map::new())
        } else {
            serde_json::from_str(&arguments).map_err(|err| DecodeError::BadArguments {
                call_id: call_id.clone(),
                reason: err.to_string(),
            })?
        };
        Ok(vec![Step::Emit(
            ToolUseStreamEvent::complete(ToolUse::new(call_id, name, input)).into(),
        )])
    }

    fn pending(&mut self, call_id: &str) -> Result<&mut PendingCall, DecodeError> {
        if !self.calls.contains_key(call_id) && self.calls.len() >= MAX_PENDING_CALLS {
            return Err(DecodeError::TooLarge {
                call_id: call_id.to_owned(),
                what: "number of pending function calls",
            });
        }
        Ok(self.calls.entry(call_id.to_owned()).or_default())
    }

    fn end_response(&mut self, id: &str) {
        if self.active_response.as_deref() == Some(id) || id == "unknown" {
            self.active_response = None;
        }
    }
}

fn response(e: &Map<String, Value>) -> Option<&Map<String, Value>> {
    e.get("response").and_then(Value::as_object)
}

fn response_id(e: &Map<String, Value>) -> String {
    response(e)
        .and_then(|r| r.get("id"))
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .to_owned()
}

fn str_field<'a>(
    kind: &str,
    e: &'a Map<String, Value>,
    field: &'static str,
) -> Result<&'a str, DecodeError> {
    e.get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| DecodeError::BadField {
            event: kind.to_owned(),
            field,
            expected: "a string",
        })
}

fn role(e: &Map<String, Value>, default: Role) -> Role {
    e.get("role")
        .and_then(Value::as_str)
        .and_then(|r| r.to_lowercase().parse().ok())
        .unwrap_or(default)
}

fn transcript(text: &str, role: Role, is_final: bool) -> BidiOutputEvent {
    let current = is_final.then(|| text.to_owned());
    BidiTranscriptStreamEvent::new(text, role, is_final, current).into()
}

fn usage_event(usage: &Map<String, Value>) -> BidiUsageEvent {
    let n = |m: Option<&Value>, k: &str| {
        m.and_then(|m| m.get(k))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    let input = usage.get("input_token_details");
    let output = usage.get("output_token_details");
    let mut details = Vec::new();
    for (modality, key) in [
        (Modality::Text, "text_tokens"),
        (Modality::Audio, "audio_tokens"),
    ] {
        let (i, o) = (n(input, key), n(output, key));
        if i > 0 || o > 0 {
            details.push(ModalityUsage {
                modality,
                input_tokens: i,
                output_tokens: o,
            });
        }
    }
    let image = n(input, "image_tokens");
    if image > 0 {
        details.push(ModalityUsage {
            modality: Modality::Image,
            input_tokens: image,
            output_tokens: 0,
        });
    }
    let cached = n(input, "cached_tokens");
    let top = |k: &str| usage.get(k).and_then(Value::as_u64).unwrap_or(0);
    let mut event = BidiUsageEvent::new(
        top("input_tokens"),
        top("output_tokens"),
        top("total_tokens"),
    );
    if !details.is_empty() {
        event = event.with_modality_details(details);
    }
    if cached > 0 {
        event = event.with_cache(Some(cached), None);
    }
    event
}
