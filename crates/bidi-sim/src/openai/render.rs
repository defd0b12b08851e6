//! Script actions rendered as OpenAI Realtime server events, and the response state they
//! share with the connection.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::format::Format;
use crate::voice::Voice;
use crate::{Action, tone};

const DEFAULT_FRAME_MS: u64 = 20;
static EVENT_SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

pub(super) use crate::ws::Outgoing as Out;

/// The response being generated.
#[derive(Debug)]
pub(super) struct OpenResponse {
    pub(super) id: String,
    message_item: Option<String>,
    /// The transcript of the open message item so far.
    transcript: String,
    output: Vec<Value>,
}

impl OpenResponse {
    /// Ends the open message item as the service does: `response.content_part.done`, then
    /// `response.output_item.done` with the item `completed` (or `incomplete`, cut short)
    /// and its content; the response's output keeps the finished item.
    fn close_message(&mut self, status: &str, text: bool, out: &Sender) {
        let Some(item_id) = self.message_item.take() else {
            return;
        };
        let transcript = std::mem::take(&mut self.transcript);
        let Some(index) = self
            .output
            .iter()
            .position(|i| i["id"].as_str() == Some(item_id.as_str()))
        else {
            return;
        };
        let (part, content) = if text {
            (
                json!({"type": "text", "text": transcript}),
                json!({"type": "output_text", "text": transcript}),
            )
        } else {
            (
                json!({"type": "audio", "transcript": transcript}),
                json!({"type": "output_audio", "transcript": transcript}),
            )
        };
        out.event(
            json!({"type": "response.content_part.done", "response_id": self.id,
            "item_id": item_id, "output_index": index, "content_index": 0, "part": part}),
        );
        let item = json!({"id": item_id, "object": "realtime.item", "type": "message",
            "role": "assistant", "status": status,
            "content": [content]});
        out.event(
            json!({"type": "response.output_item.done", "response_id": self.id,
            "output_index": index, "item": item}),
        );
        self.output[index] = item;
    }
}

/// State shared by the connection and the action runners. Frames are queued while it is
/// locked, so their order matches the state changes.
#[derive(Debug, Default)]
pub(super) struct Shared {
    pub(super) response: Option<OpenResponse>,
    /// The session's `output_modalities` is `["text"]`: answers are text, no audio.
    pub(super) text_only: bool,
    usage: Option<(u64, u64)>,
    /// The session's output format (`session.audio.output.format`).
    pub(super) output: Format,
    /// Per assistant item: the audio samples sent, and their rate.
    pub(super) item_samples: HashMap<String, (u64, u32)>,
    next_id: u64,
}

impl Shared {
    pub(super) fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}_sim{:06}", self.next_id)
    }

    fn ensure_response(&mut self, out: &Sender) -> String {
        if let Some(r) = &self.response {
            return r.id.clone();
        }
        let id = self.id("resp");
        out.event(json!({"type": "response.created", "response": {
            "object": "realtime.response", "id": id, "status": "in_progress",
            "status_details": null, "output": [], "output_modalities": ["audio"], "usage": null,
        }}));
        self.response = Some(OpenResponse {
            id: id.clone(),
            message_item: None,
            transcript: String::new(),
            output: Vec::new(),
        });
        id
    }

    /// Sends one `response.output_audio_transcript.delta` and keeps it in the open item's
    /// transcript.
    fn transcript_delta(
        &mut self,
        response_id: &str,
        item_id: &str,
        index: usize,
        piece: &str,
        out: &Sender,
    ) {
        out.event(json!({"type": "response.output_audio_transcript.delta",
            "response_id": response_id, "item_id": item_id, "output_index": index,
            "content_index": 0, "delta": piece}));
        if let Some(r) = self.response.as_mut() {
            r.transcript.push_str(piece);
        }
    }

    /// The response and its assistant message item, opened as needed.
    fn ensure_message(&mut self, out: &Sender) -> (String, String, usize) {
        let response_id = self.ensure_response(out);
        let new_id = self.id("item");
        let Some(r) = self.response.as_mut() else {
            return (response_id, new_id, 0);
        };
        if let Some(item) = &r.message_item {
            return (response_id, item.clone(), r.output.len().saturating_sub(1));
        }
        let item = json!({"id": new_id, "object": "realtime.item", "type": "message",
            "role": "assistant", "status": "in_progress", "content": []});
        let index = r.output.len();
        out.event(
            json!({"type": "response.output_item.added", "response_id": response_id,
            "output_index": index, "item": item}),
        );
        out.event(
            json!({"type": "conversation.item.added", "previous_item_id": null, "item": item}),
        );
        out.event(
            json!({"type": "response.content_part.added", "response_id": response_id,
            "item_id": new_id, "output_index": index, "content_index": 0,
            "part": {"type": "audio", "transcript": ""}}),
        );
        r.output.push(item);
        r.message_item = Some(new_id.clone());
        (response_id, new_id, index)
    }

    /// Ends the running response with `status`.
    pub(super) fn finish(&mut self, status: &str, reason: Option<&str>, out: &Sender) {
        let Some(mut r) = self.response.take() else {
            return;
        };
        let item_status = if status == "completed" {
            "completed"
        } else {
            "incomplete"
        };
        r.close_message(item_status, self.text_only, out);
        // The service always reports usage; a script without a `usage` action reports zeros.
        let (i, o) = self.usage.take().unwrap_or((0, 0));
        let usage = json!({"total_tokens": i + o, "input_tokens": i, "output_tokens": o,
            "input_token_details": {"text_tokens": i, "audio_tokens": 0, "image_tokens": 0, "cached_tokens": 0},
            "output_token_details": {"text_tokens": 0, "audio_tokens": o}});
        let details = reason.map_or(
            Value::Null,
            |reason| json!({"type": status, "reason": reason}),
        );
        out.event(json!({"type": "response.done", "response": {
            "object": "realtime.response", "id": r.id, "status": status,
            "status_details": details, "output": r.output, "usage": usage,
        }}));
    }
}

/// Queues frames for the socket.
#[derive(Debug, Clone)]
pub(super) struct Sender(pub(super) mpsc::UnboundedSender<Out>);

impl Sender {
    pub(super) fn event(&self, mut event: Value) {
        if let Some(obj) = event.as_object_mut() {
            let n = EVENT_SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let id = format!("event_sim{n:08}");
            obj.entry("event_id").or_insert(Value::String(id));
        }
        let _ = self.0.send(Out::Text(event.to_string()));
    }

    pub(super) fn error(&self, code: &str, message: &str) {
        self.event(json!({"type": "error", "error": {
            "type": "invalid_request_error", "code": code, "message": message, "param": null,
        }}));
    }

    fn raw(&self, out: Out) {
        let _ = self.0.send(out);
    }
}

/// Plays a list of actions.
#[derive(Debug, Clone)]
pub(super) struct Runner {
    pub(super) shared: Arc<Mutex<Shared>>,
    pub(super) out: Sender,
    pub(super) realtime: bool,
    /// Start each audio chunk with the peer fake server's timing header (PCM output only).
    pub(super) stamp: bool,
}

/// The peer fake server's output header: magic, sequence number, send time (ns since the
/// Unix epoch), 24 bytes.
fn stamp_header(pcm: &mut [u8], seq: u64) {
    if pcm.len() < 24 {
        return;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    pcm[..8].copy_from_slice(b"FAKEOAI\0");
    pcm[8..16].copy_from_slice(&seq.to_le_bytes());
    pcm[16..24].copy_from_slice(&now.to_le_bytes());
}

impl Runner {
    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) async fn run(self, actions: Vec<Action>) {
        let mut actions = actions.into_iter().peekable();
        while let Some(action) = actions.next() {
            let (text_only, format) = {
                let s = self.lock();
                (s.text_only, s.output)
            };
            // Words followed by their audio go out interleaved with it, as the service
            // streams a spoken answer's transcript alongside its audio.
            if let Action::Say { text, chunk } = &action
                && !text_only
                && let Some((voice, ms, frame_ms)) =
                    actions.peek().and_then(|a| speech(a, format.rate_hz()))
            {
                actions.next();
                // Unchunked words go out a word at a time, as the service's deltas do.
                let pieces = match chunk {
                    0 => text.split_inclusive(' ').map(str::to_owned).collect(),
                    n => tone::pieces(text, *n),
                };
                let words = Words {
                    pieces,
                    text: text.clone(),
                };
                self.speak(format, ms, frame_ms, &voice, Some(words)).await;
                continue;
            }
            // Calls in a row are one response's parallel calls: it ends after the last.
            let more_calls = matches!(actions.peek(), Some(Action::CallTool { .. }));
            if !self.step(action, more_calls).await {
                return;
            }
        }
    }

    /// Plays one action; `false` ends the list (the connection is closing). A tool call
    /// followed by another (`more_calls`) leaves its response open.
    async fn step(&self, action: Action, more_calls: bool) -> bool {
        let out = &self.out;
        match action {
            Action::UserTranscript { text } => {
                let item_id = self.lock().id("item");
                out.event(
                    json!({"type": "conversation.item.input_audio_transcription.delta",
                    "item_id": item_id, "content_index": 0, "delta": text}),
                );
                // The openai SDK's types require `usage`: the audio's duration, estimated
                // from the words (about 2.5 a second).
                let words = text.split_whitespace().count() as u64;
                out.event(
                    json!({"type": "conversation.item.input_audio_transcription.completed",
                    "item_id": item_id, "content_index": 0, "transcript": text,
                    "usage": {"type": "duration", "seconds": (words * 2).div_ceil(5).max(1)}}),
                );
            }
            Action::Say { text, chunk } if self.lock().text_only => {
                let mut s = self.lock();
                let (response_id, item_id, index) = s.ensure_message(out);
                for piece in tone::pieces(&text, chunk) {
                    out.event(json!({"type": "response.output_text.delta",
                        "response_id": response_id, "item_id": item_id, "output_index": index,
                        "content_index": 0, "delta": piece}));
                }
                out.event(json!({"type": "response.output_text.done",
                    "response_id": response_id, "item_id": item_id, "output_index": index,
                    "content_index": 0, "text": text}));
                if let Some(r) = s.response.as_mut() {
                    r.transcript.push_str(&text);
                }
            }
            // A text-only session has no audio.
            Action::Speak { .. } | Action::SpeakWav { .. } if self.lock().text_only => {}
            // Words with no audio after them.
            Action::Say { text, chunk } => {
                let mut s = self.lock();
                let (response_id, item_id, index) = s.ensure_message(out);
                for piece in tone::pieces(&text, chunk) {
                    s.transcript_delta(&response_id, &item_id, index, &piece, out);
                }
                out.event(json!({"type": "response.output_audio_transcript.done",
                    "response_id": response_id, "item_id": item_id, "output_index": index,
                    "content_index": 0, "transcript": text}));
            }
            Action::Speak { .. } | Action::SpeakWav { .. } => {
                let format = self.lock().output;
                if let Some((voice, ms, frame_ms)) = speech(&action, format.rate_hz()) {
                    self.speak(format, ms, frame_ms, &voice, None).await;
                }
            }
            Action::CallTool { id, name, input } => {
                let mut s = self.lock();
                let response_id = s.ensure_response(out);
                let item_id = s.id("item");
                let arguments = input.to_string();
                let text_only = s.text_only;
                let Some(r) = s.response.as_mut() else {
                    return true;
                };
                r.close_message("completed", text_only, out);
                let index = r.output.len();
                let mut item = json!({"id": item_id, "object": "realtime.item", "type": "function_call",
                    "status": "in_progress", "call_id": id, "name": name, "arguments": ""});
                out.event(
                    json!({"type": "response.output_item.added", "response_id": response_id,
                    "output_index": index, "item": item}),
                );
                let cut = arguments
                    .char_indices()
                    .map(|(i, _)| i)
                    .nth(arguments.chars().count() / 2)
                    .unwrap_or(0);
                for delta in [&arguments[..cut], &arguments[cut..]] {
                    out.event(json!({"type": "response.function_call_arguments.delta",
                        "response_id": response_id, "item_id": item_id, "output_index": index,
                        "call_id": id, "delta": delta}));
                }
                out.event(json!({"type": "response.function_call_arguments.done",
                    "response_id": response_id, "item_id": item_id, "output_index": index,
                    "call_id": id, "name": name, "arguments": arguments}));
                item["status"] = json!("completed");
                item["arguments"] = json!(arguments);
                out.event(
                    json!({"type": "response.output_item.done", "response_id": response_id,
                    "output_index": index, "item": item}),
                );
                r.output.push(item);
                if !more_calls {
                    s.finish("completed", None, out);
                }
            }
            Action::Interrupt => {
                let item_id = self.lock().id("item");
                out.event(json!({"type": "input_audio_buffer.speech_started",
                    "audio_start_ms": 0, "item_id": item_id}));
            }
            Action::EndTurn => {
                let mut s = self.lock();
                s.ensure_response(out);
                s.finish("completed", None, out);
            }
            Action::Usage { input, output } => self.lock().usage = Some((input, output)),
            Action::Error { code, message } => out.error(&code, &message),
            Action::Timeout => {
                out.error(
                    "session_expired",
                    "Your session hit the maximum duration of 60 minutes.",
                );
                out.raw(Out::Close(1000, "session expired".into()));
                return false;
            }
            Action::Garbage { text } => out.raw(Out::Text(text)),
            Action::UnknownEvent => {
                out.event(json!({"type": "sim.unknown_event", "detail": "not in the protocol"}))
            }
            Action::Sleep { ms } => tokio::time::sleep(Duration::from_millis(ms)).await,
            // OpenAI Realtime has no event that drops a call.
            Action::CancelTool { .. } => {}
            Action::Close => {
                out.raw(Out::Drop);
                return false;
            }
            Action::CloseWith { code, reason } => {
                out.raw(Out::Close(code, reason));
                return false;
            }
            Action::Stall { ms } => out.raw(Out::Stall(Duration::from_millis(ms))),
        }
        true
    }

    /// Streams `ms` of `voice` in the current response, in `format` (`voice` at its rate),
    /// with `words` (their transcript) interleaved: each frame is preceded by the
    /// transcript deltas due by its end, so the words run a little ahead of the audio, and
    /// the transcript's `done` follows the audio's. Stops when the response is cancelled:
    /// the words not yet sent are not sent. The timing header (`stamp`) is put on
    /// PCM only: in G.711 its bytes would be neither a header nor audio.
    async fn speak(
        &self,
        format: Format,
        ms: u64,
        frame_ms: u64,
        voice: &Voice,
        words: Option<Words>,
    ) {
        let frame_ms = if frame_ms == 0 {
            DEFAULT_FRAME_MS
        } else {
            frame_ms
        };
        let (response_id, item_id, index) = self.lock().ensure_message(&self.out);
        let frames = ms.div_ceil(frame_ms).max(1) as usize;
        let mut said = 0;
        let mut sent_ms = 0;
        let mut sample = 0;
        let mut seq = 0;
        let mut frame = 0;
        let started = tokio::time::Instant::now();
        while sent_ms < ms {
            let this_ms = frame_ms.min(ms - sent_ms);
            frame += 1;
            {
                let mut s = self.lock();
                if s.response.as_ref().map(|r| r.id.as_str()) != Some(response_id.as_str()) {
                    return; // cancelled
                }
                if let Some(words) = &words {
                    let due = (words.pieces.len() * frame).div_ceil(frames);
                    for piece in words.pieces.get(said..due).unwrap_or_default() {
                        s.transcript_delta(&response_id, &item_id, index, piece, &self.out);
                    }
                    said = said.max(due);
                }
                let rate = format.rate_hz();
                let mut pcm = voice.pcm16(rate, this_ms, sample);
                if self.stamp && format == Format::Pcm {
                    stamp_header(&mut pcm, seq);
                    seq += 1;
                }
                let samples = (pcm.len() / 2) as u64;
                sample += samples;
                let sent = s.item_samples.entry(item_id.clone()).or_insert((0, rate));
                *sent = (sent.0 + samples, rate);
                let audio = format.encode(pcm);
                self.out.event(json!({"type": "response.output_audio.delta",
                    "response_id": response_id, "item_id": item_id, "output_index": index,
                    "content_index": 0, "delta": BASE64.encode(&audio)}));
            }
            sent_ms += this_ms;
            if self.realtime {
                tokio::time::sleep_until(started + Duration::from_millis(sent_ms)).await;
            } else {
                tokio::task::yield_now().await;
            }
        }
        let mut s = self.lock();
        if s.response.as_ref().map(|r| r.id.as_str()) != Some(response_id.as_str()) {
            return; // cancelled during the last frame's wait
        }
        self.out.event(json!({"type": "response.output_audio.done",
            "response_id": response_id, "item_id": item_id, "output_index": index, "content_index": 0}));
        if let Some(words) = words {
            for piece in words.pieces.get(said..).unwrap_or_default() {
                s.transcript_delta(&response_id, &item_id, index, piece, &self.out);
            }
            self.out
                .event(json!({"type": "response.output_audio_transcript.done",
                "response_id": response_id, "item_id": item_id, "output_index": index,
                "content_index": 0, "transcript": words.text}));
        }
    }
}

/// The audio a `Speak` or `SpeakWav` action plays at `rate_hz`: its voice, length and frame
/// (ms); `None` for any other action.
fn speech(action: &Action, rate_hz: u32) -> Option<(Voice, u64, u64)> {
    match action {
        Action::Speak { ms, frame_ms } => Some((Voice::Tone, *ms, *frame_ms)),
        Action::SpeakWav { path, frame_ms } => {
            let (voice, ms) = Voice::wav_or_tone(path, rate_hz, 500);
            Some((voice, ms, *frame_ms))
        }
        _ => None,
    }
}

/// A spoken answer's words: the transcript deltas to interleave with its audio.
struct Words {
    pieces: Vec<String>,
    text: String,
}
