//! One simulated Gemini Live connection: answers client messages and renders script actions.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::client_message;
use crate::hearing::{Heard, Listener};
use crate::recording::Recorder;
use crate::script::ScriptState;
use crate::voice::Voice;
use crate::ws::ServerSocket;
use crate::{Action, Script, tone};

/// Output audio: 24 kHz PCM16 mono.
const OUT_RATE_HZ: u32 = 24_000;
/// Input audio: 16 kHz PCM16 mono, 32 bytes per millisecond.
const IN_RATE_HZ: u32 = 16_000;
const IN_BYTES_PER_MS: u64 = 32;
const DEFAULT_FRAME_MS: u64 = 40;
static HANDLES: AtomicU64 = AtomicU64::new(1);

use crate::ws::Outgoing as Out;

#[derive(Debug, Clone)]
struct Sender(mpsc::UnboundedSender<Out>);

impl Sender {
    fn json(&self, v: Value) {
        let _ = self.0.send(Out::Text(v.to_string()));
    }
    fn raw(&self, out: Out) {
        let _ = self.0.send(out);
    }
}

struct Conn {
    script: ScriptState,
    out: Sender,
    runners: JoinSet<()>,
    recorder: Arc<Recorder>,
    index: usize,
    set_up: bool,
    resumption: bool,
    /// The setup asked for `responseModalities: ["TEXT"]`: text parts, no audio.
    text_only: bool,
    realtime: bool,
    audio_bytes: u64,
    /// Turn detection and recognition, when the script has utterances.
    listener: Option<Listener>,
}

/// Serves one connection until either side closes it.
pub(super) async fn run(
    socket: ServerSocket,
    script: Script,
    recorder: Arc<Recorder>,
    index: usize,
    realtime: bool,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let listener = script.listener(IN_RATE_HZ);
    let mut conn = Conn {
        script: ScriptState::new(script),
        out: Sender(tx),
        runners: JoinSet::new(),
        recorder,
        index,
        set_up: false,
        resumption: false,
        text_only: false,
        realtime,
        audio_bytes: 0,
        listener,
    };
    crate::ws::pump(socket, rx, |text| conn.on_client(text)).await;
    conn.runners.shutdown().await;
}

impl Conn {
    fn play(&mut self, actions: Option<Vec<Action>>) {
        if let Some(actions) = actions {
            let runner = Runner {
                out: self.out.clone(),
                realtime: self.realtime,
                resumption: self.resumption,
                text_only: self.text_only,
            };
            self.runners.spawn(runner.run(actions));
        }
    }

    /// Answers the end of each utterance: the input transcription (when recognized) and
    /// the script's answer. A start of speech needs no message: the service sends
    /// `interrupted` only while it generates, which the script's actions render.
    fn on_heard(&mut self, heard: Vec<Heard>) {
        for h in heard {
            let actions = self.script.on_heard(&h);
            self.play(actions);
        }
    }

    fn new_handle(&self) {
        if self.resumption {
            send_handle(&self.out);
        }
    }

    fn on_client(&mut self, text: &str) {
        let Ok(msg) = serde_json::from_str::<Value>(text) else {
            self.recorder
                .record(self.index, json!({"invalid_json": text}));
            // As the service: an unreadable message ends the session.
            self.out.raw(Out::Close(
                1007,
                "Invalid JSON payload received. Unexpected token.".into(),
            ));
            return;
        };
        self.recorder.record(self.index, msg.clone());
        let msg = client_message::normalize(msg);
        if !self.set_up {
            let Some(setup) = msg.get("setup") else {
                self.out.raw(Out::Close(
                    1007,
                    "Request contains an invalid argument: setup must be the first message".into(),
                ));
                return;
            };
            self.set_up = true;
            self.resumption = setup.get("sessionResumption").is_some();
            self.text_only = setup
                .pointer("/generationConfig/responseModalities")
                .and_then(Value::as_array)
                .is_some_and(|m| {
                    !m.is_empty()
                        && m.iter()
                            .all(|x| x.as_str().is_some_and(|x| x.eq_ignore_ascii_case("text")))
                });
            self.out.json(json!({"setupComplete": {}}));
            self.new_handle();
            let actions = self.script.on_connect();
            self.play(actions);
            return;
        }
        if let Some(rt) = msg.get("realtimeInput") {
            if let Some(text) = rt.get("text").and_then(Value::as_str) {
                let actions = self.script.on_text(text);
                self.play(actions);
            }
            for data in client_message::audio_chunks(rt) {
                let Ok(pcm) = client_message::decode_base64(data) else {
                    self.out.raw(Out::Close(
                        1007,
                        "Invalid value at 'realtime_input.audio.data' (TYPE_BYTES), Base64 decoding failed"
                            .into(),
                    ));
                    return;
                };
                if let Some(listener) = self.listener.as_mut() {
                    let heard = listener.push_pcm16(&pcm);
                    self.on_heard(heard);
                } else {
                    self.audio_bytes += pcm.len() as u64;
                    let heard_ms = self.audio_bytes / IN_BYTES_PER_MS;
                    if let Some(actions) = self.script.on_audio(heard_ms) {
                        self.audio_bytes = 0;
                        self.play(Some(actions));
                    }
                }
            }
            if rt.get("audioStreamEnd").and_then(Value::as_bool) == Some(true)
                && let Some(listener) = self.listener.as_mut()
            {
                let heard = listener.finish();
                self.on_heard(heard);
            }
        }
        if let Some(cc) = msg.get("clientContent")
            && cc.get("turnComplete").and_then(Value::as_bool) == Some(true)
        {
            let text = cc
                .get("turns")
                .and_then(Value::as_array)
                .and_then(|t| t.last())
                .and_then(|t| t.get("parts"))
                .and_then(Value::as_array)
                .map(|parts| {
                    parts
                        .iter()
                        .filter_map(|p| p.get("text").and_then(Value::as_str))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default();
            let actions = self.script.on_text(&text);
            self.play(actions);
        }
        if let Some(responses) = msg
            .get("toolResponse")
            .and_then(|t| t.get("functionResponses"))
            .and_then(Value::as_array)
        {
            self.new_handle();
            for r in responses {
                let id = r.get("id").and_then(Value::as_str).unwrap_or_default();
                let output = r.get("response").cloned().unwrap_or(Value::Null);
                let actions = self.script.on_tool_output(id, &output);
                self.play(actions);
            }
        }
    }
}

fn send_handle(out: &Sender) {
    let n = HANDLES.fetch_add(1, Ordering::Relaxed);
    out.json(json!({"sessionResumptionUpdate": {"newHandle": format!("sim-handle-{n}"), "resumable": true}}));
}

/// Plays a list of actions on one connection.
struct Runner {
    out: Sender,
    realtime: bool,
    resumption: bool,
    text_only: bool,
}

impl Runner {
    async fn run(self, actions: Vec<Action>) {
        let mut usage: Option<(u64, u64)> = None;
        let mut calls: Vec<Value> = Vec::new();
        for action in actions {
            if !matches!(action, Action::CallTool { .. }) && !calls.is_empty() {
                self.out
                    .json(json!({"toolCall": {"functionCalls": std::mem::take(&mut calls)}}));
            }
            match action {
                Action::UserTranscript { text } => self
                    .out
                    .json(json!({"serverContent": {"inputTranscription": {"text": text}}})),
                // A text session gets the answer as text parts of the model's turn.
                Action::Say { text, chunk } if self.text_only => {
                    for piece in tone::pieces(&text, chunk) {
                        self.out.json(
                            json!({"serverContent": {"modelTurn": {"parts": [{"text": piece}]}}}),
                        );
                    }
                }
                Action::Speak { .. } | Action::SpeakWav { .. } if self.text_only => {}
                Action::Say { text, chunk } => {
                    for piece in tone::pieces(&text, chunk) {
                        self.out.json(
                            json!({"serverContent": {"outputTranscription": {"text": piece}}}),
                        );
                    }
                }
                Action::Speak { ms, frame_ms } => {
                    self.speak(ms, frame_ms, &Voice::Tone).await;
                }
                Action::SpeakWav { path, frame_ms } => {
                    let (voice, ms) = Voice::wav_or_tone(&path, OUT_RATE_HZ, 500);
                    self.speak(ms, frame_ms, &voice).await;
                }
                Action::CallTool { id, name, input } => {
                    calls.push(json!({"id": id, "name": name, "args": input}));
                }
                Action::CancelTool { ids } => {
                    self.out.json(json!({"toolCallCancellation": {"ids": ids}}))
                }
                Action::Interrupt => self
                    .out
                    .json(json!({"serverContent": {"interrupted": true}})),
                Action::EndTurn => {
                    self.out
                        .json(json!({"serverContent": {"generationComplete": true}}));
                    let mut done = json!({"serverContent": {"turnComplete": true}});
                    if let Some((input, output)) = usage.take() {
                        done["usageMetadata"] = json!({
                            "promptTokenCount": input, "responseTokenCount": output,
                            "totalTokenCount": input + output,
                            "promptTokensDetails": [{"modality": "AUDIO", "tokenCount": input}],
                            "responseTokensDetails": [{"modality": "AUDIO", "tokenCount": output}],
                        });
                    }
                    self.out.json(done);
                    if self.resumption {
                        send_handle(&self.out);
                    }
                }
                Action::Usage { input, output } => usage = Some((input, output)),
                Action::Error { code, message } => {
                    self.out.raw(Out::Close(1011, format!("{code}: {message}")));
                    return;
                }
                Action::Timeout => self.out.json(json!({"goAway": {"timeLeft": "10s"}})),
                Action::Garbage { text } => self.out.raw(Out::Text(text)),
                Action::UnknownEvent => self.out.json(json!({"simUnknownMessage": {"detail": 1}})),
                Action::Sleep { ms } => tokio::time::sleep(Duration::from_millis(ms)).await,
                Action::Close => {
                    self.out.raw(Out::Drop);
                    return;
                }
                Action::CloseWith { code, reason } => {
                    self.out.raw(Out::Close(code, reason));
                    return;
                }
                Action::Stall { ms } => self.out.raw(Out::Stall(Duration::from_millis(ms))),
            }
        }
        if !calls.is_empty() {
            self.out.json(json!({"toolCall": {"functionCalls": calls}}));
        }
    }

    async fn speak(&self, ms: u64, frame_ms: u64, voice: &Voice) {
        let frame_ms = if frame_ms == 0 {
            DEFAULT_FRAME_MS
        } else {
            frame_ms
        };
        let mut sent = 0;
        let mut sample = 0;
        while sent < ms {
            let this = frame_ms.min(ms - sent);
            let pcm = voice.pcm16(OUT_RATE_HZ, this, sample);
            sample += (pcm.len() / 2) as u64;
            self.out.json(json!({"serverContent": {"modelTurn": {"parts": [
                {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": BASE64.encode(&pcm)}}
            ]}}}));
            sent += this;
            if self.realtime {
                tokio::time::sleep(Duration::from_millis(this)).await;
            } else {
                tokio::task::yield_now().await;
            }
        }
    }
}
