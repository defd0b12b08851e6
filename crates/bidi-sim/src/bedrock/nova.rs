//! How the simulated Nova Sonic answers: [`Action`]s rendered as Nova Sonic output events
//! (`completionStart`, `contentStart` with `additionalModelFields`, `textOutput`,
//! `audioOutput`, `toolUse`, `contentEnd` with `stopReason`, `usageEvent`, `completionEnd`)
//! and exceptions.

use std::io;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use hyper::body::Frame;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::frame;
use crate::voice::Voice;
use crate::{Action, tone};

/// The sending half of a response body.
pub(crate) type BodyTx = mpsc::Sender<Result<Frame<Bytes>, io::Error>>;

/// Default duration of one `audioOutput` frame.
const DEFAULT_FRAME_MS: u64 = 40;

/// What the answering task is asked to do.
#[derive(Debug)]
pub(crate) enum Job {
    /// The client's `promptStart`: its name and audio output settings.
    Prompt {
        /// `promptName`.
        name: String,
        /// `audioOutputConfiguration.sampleRateHertz`.
        output_rate: u32,
    },
    /// Run these actions.
    Actions(Vec<Action>),
}

/// Whether the stream goes on after an action.
#[derive(Debug, PartialEq)]
enum Flow {
    Continue,
    Stop,
}

/// One connection's answering state.
pub(crate) struct Responder {
    tx: BodyTx,
    prompt: String,
    output_rate: u32,
    completion: Option<String>,
    speculative: Option<String>,
    counter: u64,
    tone_pos: u64,
}

impl Responder {
    pub(crate) fn new(tx: BodyTx) -> Self {
        Self {
            tx,
            prompt: String::new(),
            output_rate: 16_000,
            completion: None,
            speculative: None,
            counter: 0,
            tone_pos: 0,
        }
    }

    /// Runs jobs until the channel closes or an action ends the stream.
    pub(crate) async fn run(mut self, mut jobs: mpsc::Receiver<Job>) {
        while let Some(job) = jobs.recv().await {
            match job {
                Job::Prompt { name, output_rate } => {
                    self.prompt = name;
                    self.output_rate = output_rate;
                }
                Job::Actions(actions) => {
                    for action in actions {
                        if self.act(action).await == Flow::Stop {
                            return;
                        }
                    }
                }
            }
        }
    }

    fn next_id(&mut self, what: &str) -> String {
        self.counter += 1;
        format!("{what}-{}", self.counter)
    }

    async fn send_raw(&self, bytes: Bytes) -> Flow {
        match self.tx.send(Ok(Frame::data(bytes))).await {
            Ok(()) => Flow::Continue,
            Err(_) => Flow::Stop,
        }
    }

    async fn emit(&self, name: &str, mut body: Value) -> Flow {
        if let Some(obj) = body.as_object_mut() {
            obj.insert("sessionId".into(), json!("sim-session"));
            obj.insert("promptName".into(), json!(self.prompt));
            if let Some(c) = &self.completion {
                obj.insert("completionId".into(), json!(c));
            }
        }
        let event = json!({ "event": { name: body } });
        self.send_raw(frame::chunk(event.to_string().as_bytes()))
            .await
    }

    async fn ensure_completion(&mut self) -> Flow {
        if self.completion.is_none() {
            self.completion = Some(self.next_id("completion"));
            return self.emit("completionStart", json!({})).await;
        }
        Flow::Continue
    }

    /// A whole content: `contentStart`, the given events, `contentEnd` with `stop`.
    async fn content(
        &mut self,
        kind: &str,
        role: &str,
        stage: Option<&str>,
        events: Vec<(&str, Value)>,
        stop: &str,
    ) -> Flow {
        let content_id = self.next_id("content");
        let mut start = json!({"contentId": content_id, "type": kind, "role": role});
        if let Some(stage) = stage {
            start["additionalModelFields"] = json!(json!({ "generationStage": stage }).to_string());
        }
        if kind == "AUDIO" {
            start["audioOutputConfiguration"] = json!({
                "mediaType": "audio/lpcm", "sampleRateHertz": self.output_rate,
                "sampleSizeBits": 16, "channelCount": 1, "encoding": "base64",
            });
        }
        if self.emit("contentStart", start).await == Flow::Stop {
            return Flow::Stop;
        }
        for (name, mut body) in events {
            body["contentId"] = json!(content_id);
            if self.emit(name, body).await == Flow::Stop {
                return Flow::Stop;
            }
        }
        self.emit(
            "contentEnd",
            json!({"contentId": content_id, "type": kind, "stopReason": stop}),
        )
        .await
    }

    async fn text(&mut self, role: &str, stage: &str, pieces: Vec<String>, stop: &str) -> Flow {
        let events = pieces
            .into_iter()
            .map(|p| ("textOutput", json!({"role": role, "content": p})))
            .collect();
        self.content("TEXT", role, Some(stage), events, stop).await
    }

    async fn act(&mut self, action: Action) -> Flow {
        match action {
            Action::UserTranscript { text } => {
                if self.ensure_completion().await == Flow::Stop {
                    return Flow::Stop;
                }
                self.text("USER", "FINAL", vec![text], "END_TURN").await
            }
            Action::Say { text, chunk } => {
                if self.ensure_completion().await == Flow::Stop {
                    return Flow::Stop;
                }
                let pieces = tone::pieces(&text, chunk);
                self.speculative = Some(text);
                self.text("ASSISTANT", "SPECULATIVE", pieces, "PARTIAL_TURN")
                    .await
            }
            action @ (Action::Speak { .. } | Action::SpeakWav { .. }) => {
                let (voice, ms, frame_ms) = match action {
                    Action::SpeakWav { path, frame_ms } => {
                        let (voice, ms) = Voice::wav_or_tone(&path, self.output_rate, 500);
                        (voice, ms, frame_ms)
                    }
                    Action::Speak { ms, frame_ms } => (Voice::Tone, ms, frame_ms),
                    _ => (Voice::Tone, 0, 0),
                };
                // The tone's phase runs on across answers; a recording starts at its start.
                let mut pos = match voice {
                    Voice::Tone => self.tone_pos,
                    Voice::Samples(_) => 0,
                };
                if self.ensure_completion().await == Flow::Stop {
                    return Flow::Stop;
                }
                let frame_ms = if frame_ms == 0 { DEFAULT_FRAME_MS } else { frame_ms };
                let mut events = Vec::new();
                let mut left = ms;
                while left > 0 {
                    let this = left.min(frame_ms);
                    let pcm = voice.pcm16(self.output_rate, this, pos);
                    let samples = u64::from(self.output_rate) * this / 1000;
                    pos += samples;
                    self.tone_pos += samples;
                    events.push(("audioOutput", json!({"content": B64.encode(pcm)})));
                    left -= this;
                }
                self.content("AUDIO", "ASSISTANT", None, events, "PARTIAL_TURN")
                    .await
            }
            Action::CallTool { id, name, input } => {
                if self.ensure_completion().await == Flow::Stop {
                    return Flow::Stop;
                }
                let events = vec![(
                    "toolUse",
                    json!({"toolUseId": id, "toolName": name, "content": input.to_string(), "role": "TOOL"}),
                )];
                if self.content("TOOL", "TOOL", None, events, "TOOL_USE").await == Flow::Stop {
                    return Flow::Stop;
                }
                self.end_completion("TOOL_USE").await
            }
            Action::Interrupt => {
                if self.ensure_completion().await == Flow::Stop {
                    return Flow::Stop;
                }
                // What the user heard before barging in: the first half of the planned text.
                let mut pieces = Vec::new();
                if let Some(text) = self.speculative.take() {
                    let words: Vec<&str> = text.split_whitespace().collect();
                    let heard = words[..words.len().div_ceil(2)].join(" ");
                    if !heard.is_empty() {
                        pieces.push(heard);
                    }
                }
                pieces.push(r#"{ "interrupted" : true }"#.to_owned());
                if self.text("ASSISTANT", "FINAL", pieces, "INTERRUPTED").await == Flow::Stop {
                    return Flow::Stop;
                }
                self.end_completion("INTERRUPTED").await
            }
            Action::EndTurn => {
                if self.ensure_completion().await == Flow::Stop {
                    return Flow::Stop;
                }
                if let Some(text) = self.speculative.take()
                    && self.text("ASSISTANT", "FINAL", vec![text], "END_TURN").await == Flow::Stop
                {
                    return Flow::Stop;
                }
                self.end_completion("END_TURN").await
            }
            Action::Usage { input, output } => {
                self.emit(
                    "usageEvent",
                    json!({"details": {}, "totalInputTokens": input, "totalOutputTokens": output, "totalTokens": input + output}),
                )
                .await
            }
            Action::Error { code, message } => {
                self.send_raw(frame::exception(&frame::exception_type(&code), &message))
                    .await;
                Flow::Stop
            }
            Action::Timeout => {
                self.send_raw(frame::exception(
                    "modelTimeoutException",
                    "Model has timed out in processing the request",
                ))
                .await;
                Flow::Stop
            }
            Action::Garbage { text } => self.send_raw(frame::chunk(text.as_bytes())).await,
            Action::UnknownEvent => {
                self.emit("futureEvent", json!({"whatever": [1, 2, 3]}))
                    .await
            }
            Action::Sleep { ms } => {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Flow::Continue
            }
            // Nova Sonic has no message that drops a call.
            Action::CancelTool { .. } => Flow::Continue,
            Action::Stall { ms } => {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Flow::Continue
            }
            Action::Close | Action::CloseWith { .. } => {
                self.tx
                    .send(Err(io::Error::new(
                        io::ErrorKind::ConnectionAborted,
                        "simulated abrupt close",
                    )))
                    .await
                    .ok();
                Flow::Stop
            }
        }
    }

    async fn end_completion(&mut self, stop: &str) -> Flow {
        let flow = self
            .emit("completionEnd", json!({"stopReason": stop}))
            .await;
        self.completion = None;
        flow
    }
}
