//! Server messages: Gemini Live JSON as our events, with the per-connection state a turn
//! needs (response ids, accumulated transcripts, open function calls).
//!
//! Departures from the reference, on purpose: one message may yield several events (audio
//! and usage together are both kept); responses get `bidi_response_start` /
//! `bidi_response_complete`; transcripts accumulate into a final one per turn and role, so
//! speech reaches the history; usage modalities are lower case (`audio`, `text`).

use std::collections::HashMap;

use bidi_types::AudioConfig;
use bidi_types::{
    AudioFormat, BidiAudioStreamEvent, BidiInterruptionEvent, BidiOutputEvent,
    BidiResponseCompleteEvent, BidiResponseStartEvent, BidiToolCancellationEvent,
    BidiTranscriptStreamEvent, BidiUsageEvent, InterruptionReason, Modality, ModalityUsage,
    ModelError, Role, StopReason, ToolUse, ToolUseStreamEvent,
};
use serde_json::{Map, Value};

/// What one server message means for the connection.
// Signals are handled as soon as they are decoded, so their size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum ServerSignal {
    /// `setupComplete`: the session is configured.
    SetupComplete,
    /// An event for the agent.
    Event(BidiOutputEvent),
    /// `goAway`: the server will close the connection within `time_left`.
    GoAway {
        /// The server's `timeLeft` (e.g. `"50s"`), when given.
        time_left: Option<String>,
    },
    /// A new resumable session handle.
    ResumptionHandle(String),
}

/// Turns server messages into [`ServerSignal`]s, keeping the state of the current turn.
#[derive(Debug)]
pub struct Decoder {
    connection_id: String,
    audio: AudioConfig,
    responses: u64,
    response_id: Option<String>,
    user_text: String,
    assistant_text: String,
    tool_called: bool,
    open_calls: HashMap<String, String>,
}

impl Decoder {
    /// A decoder for one connection, whose audio is `audio.output_rate`/`channels`.
    pub fn new(connection_id: impl Into<String>, audio: AudioConfig) -> Self {
        Self {
            connection_id: connection_id.into(),
            audio,
            responses: 0,
            response_id: None,
            user_text: String::new(),
            assistant_text: String::new(),
            tool_called: false,
            open_calls: HashMap::new(),
        }
    }

    /// The name of the open function call `id`, if the model made it on this connection.
    pub fn call_name(&self, id: &str) -> Option<&str> {
        self.open_calls.get(id).map(String::as_str)
    }

    /// Marks the call `id` answered.
    pub fn close_call(&mut self, id: &str) -> Option<String> {
        self.open_calls.remove(id)
    }

    /// Whether function calls are waiting for their responses.
    pub fn has_open_calls(&self) -> bool {
        !self.open_calls.is_empty()
    }

    /// Decodes one message's text. JSON that is not an object is a protocol error; parts
    /// that are malformed inside a valid message become `bidi_error` events.
    pub fn decode(&mut self, text: &str) -> Result<Vec<ServerSignal>, ModelError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| ModelError::Protocol(format!("gemini message is not JSON: {e}")))?;
        let Value::Object(msg) = value else {
            return Err(ModelError::Protocol(
                "gemini message is not a JSON object".into(),
            ));
        };
        let mut out = Vec::new();
        if msg.contains_key("setupComplete") {
            out.push(ServerSignal::SetupComplete);
        }
        if let Some(update) = msg.get("sessionResumptionUpdate") {
            let resumable = update.get("resumable").and_then(Value::as_bool) != Some(false);
            if let Some(h) = update.get("newHandle").and_then(Value::as_str)
                && resumable
                && !h.is_empty()
            {
                out.push(ServerSignal::ResumptionHandle(h.to_owned()));
            }
        }
        if let Some(content) = msg.get("serverContent") {
            self.server_content(content, &mut out);
        }
        if let Some(call) = msg.get("toolCall") {
            self.tool_call(call, &mut out);
        }
        if let Some(cancel) = msg.get("toolCallCancellation") {
            let ids: Vec<String> = cancel
                .get("ids")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            for id in &ids {
                self.open_calls.remove(id);
            }
            tracing::debug!("ids=<{ids:?}> | gemini cancelled tool calls");
            out.push(ServerSignal::Event(
                BidiToolCancellationEvent::new(ids).into(),
            ));
        }
        if let Some(usage) = msg.get("usageMetadata") {
            out.push(ServerSignal::Event(usage_event(usage).into()));
        }
        if let Some(go_away) = msg.get("goAway") {
            let time_left = go_away
                .get("timeLeft")
                .and_then(Value::as_str)
                .map(str::to_owned);
            out.push(ServerSignal::GoAway { time_left });
        }
        if out.is_empty() {
            let keys: Vec<&str> = msg.keys().map(String::as_str).collect();
            tracing::debug!(keys = ?keys, "gemini message ignored");
        }
        Ok(out)
    }

    fn event(out: &mut Vec<ServerSignal>, e: impl Into<BidiOutputEvent>) {
        out.push(ServerSignal::Event(e.into()));
    }

    /// Opens a response if none is open, first closing the user's transcript.
    fn begin_response(&mut self, out: &mut Vec<ServerSignal>) {
        if self.response_id.is_some() {
            return;
        }
        self.finish_user(out);
        self.responses += 1;
        let id = format!("{}-r{}", self.connection_id, self.responses);
        Self::event(out, BidiResponseStartEvent::new(id.clone()));
        self.response_id = Some(id);
    }

    fn finish_user(&mut self, out: &mut Vec<ServerSignal>) {
        if !self.user_text.trim().is_empty() {
            let text = std::mem::take(&mut self.user_text);
            Self::event(
                out,
                BidiTranscriptStreamEvent::new(text.clone(), Role::User, true, Some(text)),
            );
        }
        self.user_text.clear();
    }

    /// Closes the open response with `reason`, emitting the assistant's final transcript.
    fn end_response(&mut self, out: &mut Vec<ServerSignal>, reason: StopReason) {
        self.finish_user(out);
        if !self.assistant_text.trim().is_empty() {
            let text = std::mem::take(&mut self.assistant_text);
            Self::event(
                out,
                BidiTranscriptStreamEvent::new(text.clone(), Role::Assistant, true, Some(text)),
            );
        }
        self.assistant_text.clear();
        if let Some(id) = self.response_id.take() {
            let reason = if reason == StopReason::Complete && self.tool_called {
                StopReason::ToolUse
            } else {
                reason
            };
            Self::event(out, BidiResponseCompleteEvent::new(id, reason));
        }
        self.tool_called = false;
    }

    fn server_content(&mut self, content: &Value, out: &mut Vec<ServerSignal>) {
        if let Some(t) = content.get("inputTranscription") {
            if let Some(text) = t.get("text").and_then(Value::as_str)
                && !text.is_empty()
            {
                self.user_text.push_str(text);
                let current = self.user_text.clone();
                Self::event(
                    out,
                    BidiTranscriptStreamEvent::new(text, Role::User, false, Some(current)),
                );
            }
            if t.get("finished").and_then(Value::as_bool) == Some(true) {
                self.finish_user(out);
            }
        }
        if let Some(parts) = content
            .get("modelTurn")
            .and_then(|m| m.get("parts"))
            .and_then(Value::as_array)
        {
            for part in parts {
                self.model_part(part, out);
            }
        }
        if let Some(text) = content
            .get("outputTranscription")
            .and_then(|t| t.get("text"))
            .and_then(Value::as_str)
            && !text.is_empty()
        {
            self.assistant_delta(text, out);
        }
        if content.get("interrupted").and_then(Value::as_bool) == Some(true) {
            Self::event(
                out,
                BidiInterruptionEvent::new(InterruptionReason::UserSpeech),
            );
            self.end_response(out, StopReason::Interrupted);
        }
        if content.get("turnComplete").and_then(Value::as_bool) == Some(true) {
            self.end_response(out, StopReason::Complete);
        }
    }

    fn assistant_delta(&mut self, text: &str, out: &mut Vec<ServerSignal>) {
        self.begin_response(out);
        self.assistant_text.push_str(text);
        let current = self.assistant_text.clone();
        Self::event(
            out,
            BidiTranscriptStreamEvent::new(text, Role::Assistant, false, Some(current)),
        );
    }

    fn model_part(&mut self, part: &Value, out: &mut Vec<ServerSignal>) {
        if let Some(inline) = part.get("inlineData") {
            let mime = inline.get("mimeType").and_then(Value::as_str).unwrap_or("");
            let Some(data) = inline.get("data").and_then(Value::as_str) else {
                Self::event(
                    out,
                    ModelError::Protocol("inlineData without data".into()).to_event(),
                );
                return;
            };
            if !mime.is_empty() && !mime.starts_with("audio/") {
                tracing::debug!(mime_type = mime, "gemini inline data ignored");
                return;
            }
            self.begin_response(out);
            match BidiAudioStreamEvent::new(
                data,
                AudioFormat::Pcm,
                self.audio.output_rate,
                self.audio.channels,
            ) {
                Ok(e) => Self::event(out, e),
                Err(e) => Self::event(out, ModelError::from(e).to_event()),
            }
            return;
        }
        if part.get("thought").and_then(Value::as_bool) == Some(true) {
            return;
        }
        if let Some(text) = part.get("text").and_then(Value::as_str)
            && !text.is_empty()
        {
            self.assistant_delta(text, out);
        }
    }

    fn tool_call(&mut self, call: &Value, out: &mut Vec<ServerSignal>) {
        let Some(calls) = call.get("functionCalls").and_then(Value::as_array) else {
            Self::event(
                out,
                ModelError::Protocol("toolCall without functionCalls".into()).to_event(),
            );
            return;
        };
        for fc in calls {
            let id = fc.get("id").and_then(Value::as_str);
            let name = fc.get("name").and_then(Value::as_str);
            let (Some(id), Some(name)) = (id, name) else {
                Self::event(
                    out,
                    ModelError::Protocol(format!("function call without id or name: {fc}"))
                        .to_event(),
                );
                continue;
            };
            let args = match fc.get("args") {
                Some(Value::Object(m)) => Value::Object(m.clone()),
                _ => Value::Object(Map::new()),
            };
            self.begin_response(out);
            self.tool_called = true;
            self.open_calls.insert(id.to_owned(), name.to_owned());
            Self::event(
                out,
                ToolUseStreamEvent::complete(ToolUse::new(id, name, args)),
            );
        }
    }
}

/// The `bidi_usage` event of a `usageMetadata` object.
fn usage_event(usage: &Value) -> BidiUsageEvent {
    let count = |k: &str| usage.get(k).and_then(Value::as_u64).unwrap_or(0);
    let mut details: Vec<ModalityUsage> = Vec::new();
    let mut add = |key: &str, input: bool| {
        let Some(list) = usage.get(key).and_then(Value::as_array) else {
            return;
        };
        for d in list {
            let Some(modality) = d.get("modality").and_then(Value::as_str).and_then(modality)
            else {
                continue;
            };
            let n = d.get("tokenCount").and_then(Value::as_u64).unwrap_or(0);
            let entry = match details.iter_mut().find(|m| m.modality == modality) {
                Some(e) => e,
                None => {
                    details.push(ModalityUsage {
                        modality,
                        input_tokens: 0,
                        output_tokens: 0,
                    });
                    let last = details.len() - 1;
                    &mut details[last]
                }
            };
            if input {
                entry.input_tokens = entry.input_tokens.saturating_add(n);
            } else {
                entry.output_tokens = entry.output_tokens.saturating_add(n);
            }
        }
    };
    add("promptTokensDetails", true);
    add("responseTokensDetails", false);
    let input = count("promptTokenCount");
    let output = count("responseTokenCount");
    let total = usage
        .get("totalTokenCount")
        .and_then(Value::as_u64)
        .unwrap_or(input.saturating_add(output));
    let mut event = BidiUsageEvent::new(input, output, total);
    if !details.is_empty() {
        event = event.with_modality_details(details);
    }
    let cached = count("cachedContentTokenCount");
    if cached > 0 {
        event = event.with_cache(Some(cached), None);
    }
    event
}

/// Gemini's `MediaModality` names in our vocabulary.
fn modality(name: &str) -> Option<Modality> {
    match name {
        "TEXT" => Some(Modality::Text),
        "AUDIO" => Some(Modality::Audio),
        "IMAGE" => Some(Modality::Image),
        "VIDEO" => Some(Modality::Video),
        "DOCUMENT" => Some(Modality::Document),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
