//! One simulated OpenAI Realtime connection: answers client events, fires script rules.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::format::{Format, PCM_RATE_HZ};
use super::render::{Runner, Sender, Shared};
use crate::Script;
use crate::hearing::{Heard, Listener};
use crate::recording::Recorder;
use crate::script::ScriptState;
use crate::ws::ServerSocket;

/// How a connection streams audio and what it records (from [`super::OpenAiSimOptions`]).
#[derive(Debug, Clone, Copy)]
pub(super) struct Pacing {
    pub(super) realtime: bool,
    pub(super) stamp: bool,
    pub(super) skip_audio_recording: bool,
    pub(super) skip_recording: bool,
}

struct Conn {
    script: ScriptState,
    runner: Runner,
    runners: JoinSet<()>,
    recorder: Arc<Recorder>,
    index: usize,
    skip_audio_recording: bool,
    skip_recording: bool,
    configured: bool,
    pending_text: Option<String>,
    pending_tool: Option<(String, Value)>,
    /// Input audio samples heard since the last `audio` trigger fired, at the input rate.
    audio_samples: u64,
    /// The session's input format (`session.audio.input.format`).
    input: Format,
    /// Turn detection and recognition, when the script has utterances.
    listener: Option<Listener>,
    /// The input item of the utterance under way.
    speech_item: Option<String>,
    /// The whole session: `session.created`'s, with every `session.update` merged in.
    session: Value,
}

/// `update` merged into `base`, objects key by key, anything else replaced.
fn merge(base: &mut Value, update: &Value) {
    match (base, update) {
        (Value::Object(base), Value::Object(update)) => {
            for (key, value) in update {
                match base.get_mut(key) {
                    Some(slot) if slot.is_object() && value.is_object() => merge(slot, value),
                    _ => {
                        base.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (base, update) => *base = update.clone(),
    }
}

/// Serves one connection until either side closes it.
pub(super) async fn run(
    socket: ServerSocket,
    script: Script,
    recorder: Arc<Recorder>,
    index: usize,
    pacing: Pacing,
) {
    let (mut conn, rx) = open(script, recorder, index, pacing);
    crate::ws::pump(socket, rx, |text| conn.on_client(text)).await;
    conn.runners.shutdown().await;
}

/// One connection without a socket (see [`super::replay`]): each of `frames` is read as the
/// client's, then the actions they started run to their end; what the server wrote, in
/// order.
pub(super) async fn replay(script: Script, frames: &[&str]) -> Vec<crate::ws::Outgoing> {
    let recorder = Arc::new(Recorder::default());
    let index = recorder.open(crate::ws::RequestInfo {
        path: "/v1/realtime".into(),
        query: None,
        headers: Vec::new(),
    });
    let pacing = Pacing {
        realtime: false,
        stamp: false,
        skip_audio_recording: true,
        skip_recording: true,
    };
    let (mut conn, mut rx) = open(script, recorder, index, pacing);
    for frame in frames {
        conn.on_client(frame);
    }
    while conn.runners.join_next().await.is_some() {}
    drop(conn);
    let mut out = Vec::new();
    while let Some(o) = rx.recv().await {
        out.push(o);
    }
    out
}

/// A connection's state and the receiver of what it writes; `session.created` is queued.
fn open(
    script: Script,
    recorder: Arc<Recorder>,
    index: usize,
    pacing: Pacing,
) -> (Conn, mpsc::UnboundedReceiver<crate::ws::Outgoing>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let out = Sender(tx);
    let shared = Arc::new(Mutex::new(Shared::default()));
    let session_id = shared
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .id("sess");
    // The model the client asked for (`?model=`), as the service echoes it.
    let model = recorder
        .request(index)
        .and_then(|r| r.query)
        .and_then(|q| {
            q.split('&')
                .find_map(|kv| kv.strip_prefix("model=").map(str::to_owned))
        })
        .unwrap_or_else(|| "gpt-realtime".to_owned());
    let session = json!({
        "type": "realtime", "object": "realtime.session", "id": session_id, "model": model,
        "output_modalities": ["audio"], "instructions": "", "tools": [], "tool_choice": "auto",
        "max_output_tokens": "inf",
        "audio": {"input": {"format": {"type": "audio/pcm", "rate": PCM_RATE_HZ},
                            "turn_detection": {"type": "server_vad", "threshold": 0.5,
                                "prefix_padding_ms": 300, "silence_duration_ms": 200,
                                "create_response": true, "interrupt_response": true},
                            "transcription": null, "noise_reduction": null},
                  "output": {"format": {"type": "audio/pcm", "rate": PCM_RATE_HZ}, "voice": "alloy", "speed": 1.0}},
    });
    out.event(json!({"type": "session.created", "session": session}));
    let listener = script.listener(Format::Pcm.rate_hz());
    let conn = Conn {
        session,
        script: ScriptState::new(script),
        runner: Runner {
            shared,
            out,
            realtime: pacing.realtime,
            stamp: pacing.stamp,
        },
        runners: JoinSet::new(),
        recorder,
        index,
        skip_audio_recording: pacing.skip_audio_recording,
        skip_recording: pacing.skip_recording,
        configured: false,
        pending_text: None,
        pending_tool: None,
        audio_samples: 0,
        input: Format::Pcm,
        listener,
        speech_item: None,
    };
    (conn, rx)
}

impl Conn {
    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.runner
            .shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn play(&mut self, actions: Option<Vec<crate::Action>>) {
        if let Some(actions) = actions {
            self.runners.spawn(self.runner.clone().run(actions));
        }
    }

    fn on_client(&mut self, text: &str) {
        let event: Value =
            serde_json::from_str(text).unwrap_or_else(|_| json!({"invalid_json": text}));
        let kind = event
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let skipped = self.skip_recording
            || (self.skip_audio_recording && kind == "input_audio_buffer.append");
        if !skipped {
            self.recorder.record(self.index, event.clone());
        }
        let out = self.runner.out.clone();
        match kind {
            "session.update" => {
                if !self.on_session_update(&event, &out) {
                    return;
                }
                // A text-only session answers in text parts, never audio.
                let text_only = self.session["output_modalities"] == json!(["text"]);
                self.lock().text_only = text_only;
                out.event(json!({"type": "session.updated", "session": self.session}));
                if !self.configured {
                    self.configured = true;
                    let actions = self.script.on_connect();
                    self.play(actions);
                }
            }
            "conversation.item.create" => self.on_item_create(&event, &out),
            "response.create" => {
                if self.lock().response.is_some() {
                    out.error(
                        "conversation_already_has_active_response",
                        "Conversation already has an active response in progress.",
                    );
                    return;
                }
                let actions = if let Some((call_id, output)) = self.pending_tool.take() {
                    self.pending_text = None;
                    self.script.on_tool_output(&call_id, &output)
                } else if let Some(text) = self.pending_text.take() {
                    self.script.on_text(&text)
                } else {
                    None
                };
                self.play(actions);
            }
            "input_audio_buffer.append" => {
                let audio = event
                    .get("audio")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let input = self.input;
                match BASE64.decode(audio) {
                    Ok(bytes) if self.listener.is_some() => {
                        let pcm = input.decode(&bytes);
                        let heard = self
                            .listener
                            .as_mut()
                            .map(|l| l.push_pcm16(&pcm))
                            .unwrap_or_default();
                        self.on_heard(heard, &out);
                    }
                    Ok(bytes) => {
                        self.audio_samples += (bytes.len() / input.bytes_per_sample()) as u64;
                        let ms = self.audio_samples * 1000 / u64::from(input.rate_hz());
                        let actions = self.script.on_audio(ms);
                        if actions.is_some() {
                            self.audio_samples = 0;
                        }
                        self.play(actions);
                    }
                    Err(_) => out.error("invalid_value", "Invalid base64 audio."),
                }
            }
            "input_audio_buffer.commit" => {
                let heard = self.listener.as_mut().map(Listener::finish);
                if let Some(heard) = heard.filter(|h| !h.is_empty()) {
                    self.on_heard(heard, &out);
                    return;
                }
                let item_id = self.lock().id("item");
                out.event(json!({"type": "input_audio_buffer.committed", "previous_item_id": null, "item_id": item_id}));
            }
            "input_audio_buffer.clear" => {
                self.audio_samples = 0;
                if let Some(listener) = self.listener.as_mut() {
                    listener.clear();
                }
                self.speech_item = None;
                out.event(json!({"type": "input_audio_buffer.cleared"}));
            }
            "response.cancel" => {
                let mut s = self.lock();
                if s.response.is_some() {
                    s.finish("cancelled", Some("client_cancelled"), &out);
                } else {
                    out.error(
                        "response_cancel_not_active",
                        "Cancellation failed: no active response found",
                    );
                }
            }
            "conversation.item.truncate" => self.on_truncate(&event, &out),
            _ if event.get("invalid_json").is_some() => {
                out.error(
                    "invalid_json",
                    "The server could not parse the event as JSON.",
                );
            }
            other => out.error("unknown_event", &format!("Invalid value: '{other}'.")),
        }
    }

    /// Merges a `session.update` into the session, as the service does: objects key by key,
    /// but a `format` replaced whole (`audio/pcmu` has no `rate`). An update naming a format
    /// the service does not take is refused with an `invalid_value` error and not applied;
    /// `false` then. Otherwise the formats take effect: input audio is read, and answers
    /// are spoken, in them from now on.
    fn on_session_update(&mut self, event: &Value, out: &Sender) -> bool {
        let mut session = self.session.clone();
        if let Some(update) = event.get("session") {
            merge(&mut session, update);
            for side in ["input", "output"] {
                let path = format!("/audio/{side}/format");
                if let (Some(format), Some(slot)) =
                    (update.pointer(&path), session.pointer_mut(&path))
                {
                    slot.clone_from(format);
                }
            }
        }
        let mut formats = [Format::Pcm; 2];
        for (side, format) in ["input", "output"].into_iter().zip(&mut formats) {
            match Format::parse(session.pointer(&format!("/audio/{side}/format"))) {
                Ok(f) => *format = f,
                Err(message) => {
                    tracing::debug!("side=<{side}>, error=<{message}> | refusing session.update");
                    out.event(json!({"type": "error", "error": {
                        "type": "invalid_request_error", "code": "invalid_value",
                        "message": message, "param": format!("session.audio.{side}.format"),
                    }}));
                    return false;
                }
            }
        }
        self.session = session;
        let [input, output] = formats;
        if input.rate_hz() != self.input.rate_hz() {
            // Audio heard so far is kept by its duration; the turn detector starts over at
            // the new rate (an utterance under way is forgotten).
            self.audio_samples =
                self.audio_samples * u64::from(input.rate_hz()) / u64::from(self.input.rate_hz());
            self.listener = self.script.script().listener(input.rate_hz());
            self.speech_item = None;
        }
        if (input, output) != (self.input, self.lock().output) {
            tracing::debug!(
                "input=<{}>, output=<{}> | session audio formats",
                input.name(),
                output.name()
            );
        }
        self.input = input;
        self.lock().output = output;
        true
    }

    /// Answers what the turn detector heard as the service's server VAD does:
    /// `speech_started`, then at the end `speech_stopped` and `committed`, then the
    /// transcript and the script's answer.
    fn on_heard(&mut self, heard: Vec<Heard>, out: &Sender) {
        for h in heard {
            match &h {
                Heard::SpeechStarted { at_ms } => {
                    let item_id = self.lock().id("item");
                    out.event(json!({"type": "input_audio_buffer.speech_started",
                        "audio_start_ms": at_ms, "item_id": item_id}));
                    self.speech_item = Some(item_id);
                }
                Heard::Utterance { end_ms, .. } => {
                    let item_id = match self.speech_item.take() {
                        Some(id) => id,
                        None => self.lock().id("item"),
                    };
                    out.event(json!({"type": "input_audio_buffer.speech_stopped",
                        "audio_end_ms": end_ms, "item_id": item_id}));
                    out.event(json!({"type": "input_audio_buffer.committed",
                        "previous_item_id": null, "item_id": item_id}));
                    let actions = self.script.on_heard(&h);
                    self.play(actions);
                }
            }
        }
    }

    fn on_item_create(&mut self, event: &Value, out: &Sender) {
        let mut item = event.get("item").cloned().unwrap_or(Value::Null);
        let id = self.lock().id("item");
        if let Some(obj) = item.as_object_mut() {
            obj.entry("id").or_insert(Value::String(id));
        }
        out.event(
            json!({"type": "conversation.item.added", "previous_item_id": null, "item": item}),
        );
        out.event(
            json!({"type": "conversation.item.done", "previous_item_id": null, "item": item}),
        );
        match item.get("type").and_then(Value::as_str) {
            Some("message") if item.get("role").and_then(Value::as_str) == Some("user") => {
                let text: Vec<&str> = item
                    .get("content")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter(|c| c.get("type").and_then(Value::as_str) == Some("input_text"))
                    .filter_map(|c| c.get("text").and_then(Value::as_str))
                    .collect();
                if !text.is_empty() {
                    self.pending_text = Some(text.join(" "));
                    // The latest item is what a response answers: a tool output replayed
                    // in a history before this message is not pending any more.
                    self.pending_tool = None;
                }
            }
            Some("function_call_output") => {
                let output = item.get("output").cloned().unwrap_or(Value::Null);
                self.pending_tool = item
                    .get("call_id")
                    .and_then(Value::as_str)
                    .map(|id| (id.to_owned(), output));
            }
            _ => {}
        }
    }

    fn on_truncate(&mut self, event: &Value, out: &Sender) {
        let item_id = event
            .get("item_id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let end_ms = event.get("audio_end_ms").and_then(Value::as_u64);
        let samples = self.lock().item_samples.get(item_id).copied();
        match (samples, end_ms) {
            (None, _) => out.error("invalid_value", "Only model output audio messages can be truncated"),
            (Some(_), None | Some(0)) => out.error("invalid_value", "audio_end_ms must be at least 1"),
            (Some((samples, rate)), Some(ms)) if ms * u64::from(rate) / 1000 > samples => out.error(
                "invalid_value",
                &format!("audio_end_ms={ms} is longer than the audio of item {item_id}"),
            ),
            (Some(_), Some(ms)) => out.event(json!({"type": "conversation.item.truncated",
                "item_id": item_id, "content_index": event.get("content_index").cloned().unwrap_or(json!(0)),
                "audio_end_ms": ms})),
        }
    }
}
