//! The provider's side: parsing Nova Sonic's output events ([`parse`]) and mapping them to
//! bidi output events ([`Decoder`]).

use bidi_types::{
    AudioConfig, AudioFormat, BidiAudioStreamEvent, BidiInterruptionEvent, BidiOutputEvent,
    BidiResponseCompleteEvent, BidiResponseStartEvent, BidiTranscriptStreamEvent, BidiUsageEvent,
    InterruptionReason, Role, StopReason, ToolUse, ToolUseStreamEvent, TypesError,
};
use serde_json::{Map, Value};

/// The text Nova Sonic sends as an assistant transcript when the user barged in.
pub const INTERRUPTED_TEXT: &str = r#"{ "interrupted" : true }"#;

/// Why a provider frame could not be understood.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The chunk is not JSON.
    #[error("chunk is not JSON | {0}")]
    NotJson(#[source] serde_json::Error),
    /// The JSON is not `{"event": {<name>: {...}}}`.
    #[error("found=<{found}> | expected {{\"event\": {{<name>: {{...}}}}}}")]
    NotAnEvent {
        /// What was found instead (cut to 64 characters).
        found: String,
    },
    /// A required key is absent or of the wrong kind.
    #[error("event=<{event}>, field=<{field}> | missing or not {expected}")]
    BadField {
        /// The event's name.
        event: &'static str,
        /// The key.
        field: &'static str,
        /// What it should be.
        expected: &'static str,
    },
    /// A value outside the protocol's vocabulary.
    #[error("event=<{event}>, field=<{field}>, value=<{value}> | unexpected value")]
    BadValue {
        /// The event's name.
        event: &'static str,
        /// The key.
        field: &'static str,
        /// The value (cut to 64 characters).
        value: String,
    },
    /// A tool use whose arguments are not JSON.
    #[error("tool_use_id=<{tool_use_id}> | tool input is not JSON: {source}")]
    ToolInput {
        /// The call's id.
        tool_use_id: String,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// Audio that is not valid base64.
    #[error("audioOutput | {0}")]
    Audio(#[from] TypesError),
}

impl From<CodecError> for bidi_types::ModelError {
    fn from(e: CodecError) -> Self {
        Self::Protocol(e.to_string())
    }
}

/// Text generation stage of a content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// A preview of what the model plans to say.
    Speculative,
    /// What was actually spoken (or recognised).
    Final,
}

/// One Nova Sonic output event, parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum NovaEvent {
    /// A model turn begins.
    CompletionStart {
        /// Its id.
        completion_id: Option<String>,
    },
    /// A model turn ends.
    CompletionEnd {
        /// Its id.
        completion_id: Option<String>,
        /// `END_TURN`, `INTERRUPTED`, ...
        stop_reason: Option<String>,
    },
    /// A content block begins.
    ContentStart {
        /// `TEXT`, `AUDIO` or `TOOL`.
        kind: String,
        /// `USER`, `ASSISTANT`, `TOOL`, ...
        role: Option<String>,
        /// For text: `SPECULATIVE` or `FINAL` (when `additionalModelFields` says).
        stage: Option<Stage>,
    },
    /// Transcript text.
    TextOutput {
        /// Whose speech.
        role: String,
        /// The text.
        content: String,
    },
    /// Model speech, base64 LPCM.
    AudioOutput {
        /// The base64 audio.
        content: String,
    },
    /// A tool call.
    ToolUse {
        /// The call's id.
        tool_use_id: String,
        /// The tool.
        tool_name: String,
        /// The arguments, JSON text.
        content: String,
    },
    /// A content block ends.
    ContentEnd {
        /// `PARTIAL_TURN`, `END_TURN`, `TOOL_USE`, `INTERRUPTED`.
        stop_reason: Option<String>,
    },
    /// Token counts so far.
    Usage {
        /// `totalInputTokens`.
        input: u64,
        /// `totalOutputTokens`.
        output: u64,
        /// `totalTokens`, when given.
        total: Option<u64>,
    },
    /// An event this client does not know (ignored).
    Unknown {
        /// Its name.
        name: String,
    },
}

fn cut(s: &str) -> String {
    s.chars().take(64).collect()
}

fn opt_str(body: &Map<String, Value>, key: &str) -> Option<String> {
    body.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn req_str(
    body: &Map<String, Value>,
    event: &'static str,
    field: &'static str,
) -> Result<String, CodecError> {
    opt_str(body, field).ok_or(CodecError::BadField {
        event,
        field,
        expected: "a string",
    })
}

fn parse_stage(body: &Map<String, Value>) -> Result<Option<Stage>, CodecError> {
    let Some(fields) = body.get("additionalModelFields") else {
        return Ok(None);
    };
    // A JSON string holding an object; tolerate an inline object.
    let parsed = match fields {
        Value::String(s) => serde_json::from_str::<Value>(s).map_err(|_| CodecError::BadValue {
            event: "contentStart",
            field: "additionalModelFields",
            value: cut(s),
        })?,
        other => other.clone(),
    };
    match parsed.get("generationStage").and_then(Value::as_str) {
        Some("FINAL") => Ok(Some(Stage::Final)),
        Some("SPECULATIVE") => Ok(Some(Stage::Speculative)),
        Some(other) => Err(CodecError::BadValue {
            event: "contentStart",
            field: "generationStage",
            value: cut(other),
        }),
        None => Ok(None),
    }
}

/// Parses one output chunk's JSON (`{"event": {<name>: {...}}}`).
///
/// ```
/// use bidi_model::nova_sonic::{parse, NovaEvent};
/// let e = parse(br#"{"event":{"textOutput":{"role":"USER","content":"hi"}}}"#).unwrap();
/// assert_eq!(e, NovaEvent::TextOutput { role: "USER".into(), content: "hi".into() });
/// assert!(parse(b"\xff not json").is_err());
/// ```
pub fn parse(bytes: &[u8]) -> Result<NovaEvent, CodecError> {
    let value: Value = serde_json::from_slice(bytes).map_err(CodecError::NotJson)?;
    let not_event = || CodecError::NotAnEvent {
        found: cut(&value.to_string()),
    };
    let event = value
        .get("event")
        .and_then(Value::as_object)
        .ok_or_else(not_event)?;
    let (name, body) = event.iter().next().ok_or_else(not_event)?;
    let empty = Map::new();
    let body = body.as_object().unwrap_or(&empty);
    Ok(match name.as_str() {
        "completionStart" => NovaEvent::CompletionStart {
            completion_id: opt_str(body, "completionId"),
        },
        "completionEnd" => NovaEvent::CompletionEnd {
            completion_id: opt_str(body, "completionId"),
            stop_reason: opt_str(body, "stopReason"),
        },
        "contentStart" => NovaEvent::ContentStart {
            kind: req_str(body, "contentStart", "type")?,
            role: opt_str(body, "role"),
            stage: parse_stage(body)?,
        },
        "textOutput" => NovaEvent::TextOutput {
            role: req_str(body, "textOutput", "role")?,
            content: req_str(body, "textOutput", "content")?,
        },
        "audioOutput" => NovaEvent::AudioOutput {
            content: req_str(body, "audioOutput", "content")?,
        },
        "toolUse" => NovaEvent::ToolUse {
            tool_use_id: req_str(body, "toolUse", "toolUseId")?,
            tool_name: req_str(body, "toolUse", "toolName")?,
            content: opt_str(body, "content").unwrap_or_default(),
        },
        "contentEnd" => NovaEvent::ContentEnd {
            stop_reason: opt_str(body, "stopReason"),
        },
        "usageEvent" => {
            let num = |k: &str| body.get(k).and_then(Value::as_u64);
            NovaEvent::Usage {
                input: num("totalInputTokens").unwrap_or(0),
                output: num("totalOutputTokens").unwrap_or(0),
                total: num("totalTokens"),
            }
        }
        other => NovaEvent::Unknown { name: cut(other) },
    })
}

/// What one provider event became.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Decoded {
    /// The bidi events to emit, in order.
    pub events: Vec<BidiOutputEvent>,
    /// Final text (what was said or heard), for the history a restart replays.
    pub final_text: Option<(Role, String)>,
    /// A model response just completed normally: a safe point to swap connections.
    pub turn_boundary: bool,
}

/// The state of one connection's output: the current completion, the open response, the
/// generation stage and role of the open content.
///
/// Departures from the original: one `bidi_response_start` per response (opened by
/// `completionStart` or the first assistant/tool content, closed by a final assistant text
/// ending `END_TURN`, by `INTERRUPTED`, by `TOOL_USE` or by `completionEnd`); a text content
/// without `additionalModelFields` is taken as final; `contentEnd.stopReason ==
/// "INTERRUPTED"` is an interruption too (once per response).
#[derive(Debug, Clone)]
pub struct Decoder {
    audio: AudioConfig,
    completion_id: Option<String>,
    response: Option<String>,
    interrupted: bool,
    stage: Option<Stage>,
    content_role: Option<String>,
    content_kind: Option<String>,
}

impl Decoder {
    /// A decoder for a connection whose audio output is `audio`.
    pub fn new(audio: AudioConfig) -> Self {
        Self {
            audio,
            completion_id: None,
            response: None,
            interrupted: false,
            stage: None,
            content_role: None,
            content_kind: None,
        }
    }

    /// Whether a response is open.
    pub fn in_response(&self) -> bool {
        self.response.is_some()
    }

    /// Parses and maps one chunk.
    pub fn decode_bytes(&mut self, bytes: &[u8]) -> Result<Decoded, CodecError> {
        let event = parse(bytes)?;
        self.decode(event)
    }

    fn open(&mut self, out: &mut Decoded) {
        if self.response.is_none() {
            let id = self
                .completion_id
                .clone()
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
            self.response = Some(id.clone());
            self.interrupted = false;
            out.events.push(BidiResponseStartEvent::new(id).into());
        }
    }

    fn close(&mut self, reason: StopReason, out: &mut Decoded) {
        if let Some(id) = self.response.take() {
            out.events
                .push(BidiResponseCompleteEvent::new(id, reason).into());
            out.turn_boundary = reason == StopReason::Complete;
        }
    }

    fn interrupt(&mut self, out: &mut Decoded) {
        if !self.interrupted {
            self.interrupted = true;
            out.events
                .push(BidiInterruptionEvent::new(InterruptionReason::UserSpeech).into());
        }
    }

    /// Maps one parsed event.
    pub fn decode(&mut self, event: NovaEvent) -> Result<Decoded, CodecError> {
        let mut out = Decoded::default();
        match event {
            NovaEvent::CompletionStart { completion_id } => {
                self.completion_id = completion_id;
                self.open(&mut out);
            }
            NovaEvent::CompletionEnd { stop_reason, .. } => {
                let reason = match stop_reason.as_deref() {
                    Some("INTERRUPTED") => StopReason::Interrupted,
                    Some("TOOL_USE") => StopReason::ToolUse,
                    _ => StopReason::Complete,
                };
                self.close(reason, &mut out);
                self.completion_id = None;
            }
            NovaEvent::ContentStart { kind, role, stage } => {
                self.stage = stage;
                let assistant = role.as_deref() == Some("ASSISTANT") || kind == "TOOL";
                self.content_role = role;
                self.content_kind = Some(kind);
                if assistant {
                    self.open(&mut out);
                }
            }
            NovaEvent::TextOutput { role, content } => {
                if content.contains(INTERRUPTED_TEXT) || is_interrupted_json(&content) {
                    self.interrupt(&mut out);
                    return Ok(out);
                }
                let role = match role.as_str() {
                    "USER" => Role::User,
                    "ASSISTANT" => Role::Assistant,
                    other => {
                        return Err(CodecError::BadValue {
                            event: "textOutput",
                            field: "role",
                            value: cut(other),
                        });
                    }
                };
                if role == Role::Assistant {
                    self.open(&mut out);
                }
                let is_final = self.stage != Some(Stage::Speculative);
                out.events.push(
                    BidiTranscriptStreamEvent::new(
                        content.clone(),
                        role,
                        is_final,
                        Some(content.clone()),
                    )
                    .into(),
                );
                if is_final && !content.is_empty() {
                    out.final_text = Some((role, content));
                }
            }
            NovaEvent::AudioOutput { content } => {
                let e = BidiAudioStreamEvent::new(
                    content,
                    AudioFormat::Pcm,
                    self.audio.output_rate,
                    self.audio.channels,
                )?;
                self.open(&mut out);
                out.events.push(e.into());
            }
            NovaEvent::ToolUse {
                tool_use_id,
                tool_name,
                content,
            } => {
                let input = if content.trim().is_empty() {
                    Value::Object(Map::new())
                } else {
                    serde_json::from_str(&content).map_err(|source| CodecError::ToolInput {
                        tool_use_id: tool_use_id.clone(),
                        source,
                    })?
                };
                self.open(&mut out);
                out.events.push(
                    ToolUseStreamEvent::complete(ToolUse::new(tool_use_id, tool_name, input))
                        .into(),
                );
            }
            NovaEvent::ContentEnd { stop_reason } => {
                let was_final_assistant_text = self.content_role.as_deref() == Some("ASSISTANT")
                    && self.content_kind.as_deref() == Some("TEXT")
                    && self.stage != Some(Stage::Speculative);
                self.stage = None;
                self.content_role = None;
                self.content_kind = None;
                match stop_reason.as_deref() {
                    Some("INTERRUPTED") => {
                        self.interrupt(&mut out);
                        self.close(StopReason::Interrupted, &mut out);
                    }
                    Some("TOOL_USE") => self.close(StopReason::ToolUse, &mut out),
                    Some("END_TURN") if was_final_assistant_text => {
                        self.close(StopReason::Complete, &mut out);
                    }
                    _ => {}
                }
            }
            NovaEvent::Usage {
                input,
                output,
                total,
            } => {
                out.events.push(
                    BidiUsageEvent::new(
                        input,
                        output,
                        total.unwrap_or(input.saturating_add(output)),
                    )
                    .into(),
                );
            }
            NovaEvent::Unknown { name } => {
                tracing::debug!("event=<{name}> | ignoring unknown Nova Sonic event");
            }
        }
        Ok(out)
    }
}

/// Whether `text` is the barge-in marker with other spacing.
fn is_interrupted_json(text: &str) -> bool {
    let t = text.trim();
    t.starts_with('{')
        && serde_json::from_str::<Value>(t)
            .ok()
            .and_then(|v| v.get("interrupted").and_then(Value::as_bool))
            == Some(true)
}
