//! [`OpenAiSim`]: a local OpenAI Realtime server (GA protocol) driven by a [`Script`].
//!
//! What it speaks, per connection:
//!
//! - on connect: `session.created` (or, when [`OpenAiSimOptions::require_key`] names another
//!   key, OpenAI's `invalid_api_key` error and close 3000: see [`crate::auth`]); each `session.update` is answered with
//!   `session.updated` (the whole session, the update merged in), and the first one applied fires
//!   [`Trigger::Connect`](crate::Trigger::Connect); an update naming an audio format the
//!   service does not take is refused with an `invalid_value` error and not applied (see
//!   "Audio formats" below);
//! - `conversation.item.create` is answered with `conversation.item.added` and
//!   `conversation.item.done`; a user message's text, or a `function_call_output`, is
//!   remembered until `response.create`, which fires [`Trigger::Text`](crate::Trigger::Text)
//!   or [`Trigger::ToolResult`](crate::Trigger::ToolResult) (a tool output wins over an
//!   earlier text; a text forgets an earlier tool output, as after a replayed history;
//!   a second `response.create`
//!   while a response runs gets `conversation_already_has_active_response`);
//! - `input_audio_buffer.append` adds to the audio heard (in the input format) and fires
//!   [`Trigger::Audio`](crate::Trigger::Audio); when the script has
//!   [utterances](crate::hearing), the audio goes to turn detection instead, like the
//!   service's server VAD: `input_audio_buffer.speech_started` when speech starts, then
//!   `speech_stopped`, `committed` and the answer to the utterance
//!   ([`ScriptState::on_utterance`](crate::script::ScriptState::on_utterance)) when it ends;
//! - `response.cancel` ends the running response (`response.done`, status `cancelled`) or
//!   gets `response_cancel_not_active`;
//! - `conversation.item.truncate` is answered with `conversation.item.truncated`, or an
//!   `invalid_value` error when `audio_end_ms` is 0 or beyond the item's audio, as the
//!   service does;
//! - `input_audio_buffer.commit` / `.clear`: `committed` / `cleared` (with utterances, a
//!   commit ends the utterance under way and a clear forgets the audio heard).
//!
//! The [`Action`](crate::Action)s render as: `Say` and `Speak` stream
//! `response.output_audio_transcript.delta/.done` and `response.output_audio.delta` in an
//! assistant message item (opening `response.created` and `response.output_item.added`
//! first), a `Say` followed by its `Speak` interleaved as the service streams them (each
//! transcript delta just ahead of its share of the audio, the transcript's `done` after the
//! audio's); `CallTool` sends a `function_call` item, its arguments in two deltas and
//! `response.function_call_arguments.done`, then `response.done`; `EndTurn` sends
//! `response.done` (status `completed`, with the last `Usage`); `Interrupt` sends
//! `input_audio_buffer.speech_started` and, like a session with `interrupt_response:
//! false`, leaves cancelling to the client; `UserTranscript` sends
//! `conversation.item.input_audio_transcription.delta/.completed`; `Error` an `error`
//! event; `Timeout` the `session_expired` error and a close; `Garbage` the raw text;
//! `UnknownEvent` a `sim.unknown_event`; `Close` drops the socket without a close frame.
//!
//! # Audio formats
//!
//! As the service, the simulator takes in `session.update` these
//! `session.audio.input.format` and `session.audio.output.format`, each direction on its
//! own, and applies them to the audio that follows:
//!
//! - `{"type": "audio/pcm", "rate": 24000}` (the default; `rate` may be left out, 24000 is
//!   the only one taken): 16-bit little-endian mono PCM at 24 kHz;
//! - `{"type": "audio/pcmu"}`: G.711 μ-law, 8 kHz mono, one byte per sample (a phone
//!   call's audio, e.g. Twilio's, passed through unchanged);
//! - `{"type": "audio/pcma"}`: G.711 A-law, the same at 8 kHz.
//!
//! Any other `type`, another PCM `rate`, or a format without a `type`, gets an
//! `invalid_value` error (its `param` names the format) and the update is not applied. A
//! format in an update replaces the session's whole (`audio/pcmu` has no `rate`).
//! In G.711, [`Trigger::Audio`](crate::Trigger::Audio) counts 8 bytes per millisecond,
//! turn detection hears the decoded audio at 8 kHz, answers are spoken at 8 kHz and coded
//! ([`crate::g711`]), and `conversation.item.truncate`'s bounds are the audio sent at
//! that rate. [`OpenAiSimOptions::stamp`]'s header is put on PCM output only.
//!
//! Every client frame is recorded as JSON per connection (a frame that is not JSON is
//! recorded as `{"invalid_json": <text>}`).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use bidi_sim::openai::OpenAiSim;
//! use bidi_sim::{Action, Script, Trigger};
//!
//! let script = Script::new().on(Trigger::Text { contains: "hi".into() }, vec![
//!     Action::Say { text: "Hello!".into(), chunk: 3 },
//!     Action::EndTurn,
//! ]);
//! let sim = OpenAiSim::start(script).await?;
//! assert!(sim.url().starts_with("ws://127.0.0.1:"));
//! assert!(sim.recorded().is_empty());
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

mod connection;
mod format;
mod render;

use std::io;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::Script;
use crate::auth;
pub use crate::recording::RecordedConnection;

use crate::recording::{self, Recorder};
use crate::ws::{Outgoing, WsServerHandle};

/// Plays `frames` (a client's text frames) against one simulated connection of `script`,
/// without a socket, and returns the events the server wrote, in order (a frame it would
/// write that is not JSON, such as a scripted `garbage`, is left out). Audio is sent at
/// once. For fuzzing the simulator's reading of client events, and for quick checks of a
/// script.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use bidi_sim::{Action, Script, Trigger};
///
/// let script = Script::new().on(Trigger::Text { contains: "hi".into() }, vec![
///     Action::Say { text: "Hello!".into(), chunk: 0 },
///     Action::EndTurn,
/// ]);
/// let frames = [
///     r#"{"type": "conversation.item.create", "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}}"#,
///     r#"{"type": "response.create"}"#,
/// ];
/// let events = bidi_sim::openai::replay(script, &frames).await;
/// assert_eq!(events[0]["type"], "session.created");
/// assert!(events.iter().any(|e| e["type"] == "response.done"));
/// # }
/// ```
pub async fn replay(script: Script, frames: &[&str]) -> Vec<Value> {
    connection::replay(script, frames)
        .await
        .into_iter()
        .filter_map(|out| match out {
            Outgoing::Text(text) => serde_json::from_str(&text).ok(),
            _ => None,
        })
        .collect()
}

/// The path of OpenAI's Realtime WebSocket, the one path this server upgrades (others get
/// HTTP 404, as from the real service).
pub const SERVICE_PATH: &str = "/v1/realtime";

fn is_service_path(path: &str) -> bool {
    path == SERVICE_PATH
}

/// Options of an [`OpenAiSim`] beyond the script.
#[derive(Debug, Clone, Default)]
pub struct OpenAiSimOptions {
    /// TLS: serve `wss://` with this config (e.g. an `rcgen` certificate for `localhost`).
    pub tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    /// Pace `Speak` audio at real time (on an absolute schedule, without drift) instead of
    /// sending it at once.
    pub realtime: bool,
    /// Start every `response.output_audio.delta` with the 24-byte timing header of the
    /// peer fake server (`shared/peer/fake_openai_realtime.py`): `b"FAKEOAI\0"`, the
    /// chunk's sequence number and its send time in ns since the Unix epoch, both `u64` LE.
    /// Benchmarks decode it to measure audio latency. PCM output only: a session whose
    /// output format is G.711 (`audio/pcmu`, `audio/pcma`) gets its audio unstamped, as
    /// the header's bytes would play as noise there.
    pub stamp: bool,
    /// Do not record `input_audio_buffer.append` events (their audio would grow the
    /// recording without bound in long benchmark runs). Other events are still recorded.
    pub skip_audio_recording: bool,
    /// Record nothing: each connection is forgotten as it ends and its events are not kept,
    /// so a server that runs indefinitely (bidi-server's built-in simulator) keeps flat
    /// memory. [`OpenAiSimHandle::recorded`] then lists only the connections still open,
    /// without their events.
    pub skip_recording: bool,
    /// Accept only this API key (`Authorization: Bearer <key>`); any other, or none, gets
    /// OpenAI's `invalid_api_key` error and close 3000 (see [`crate::auth`]). `None` (the
    /// default): any credentials.
    pub require_key: Option<String>,
    /// Refused upgrades and slow reading (see [`Faults`](crate::faults::Faults)).
    pub faults: crate::faults::Faults,
}

/// The OpenAI Realtime simulator. See the [module docs](self).
#[derive(Debug)]
pub struct OpenAiSim;

impl OpenAiSim {
    /// Starts a server on 127.0.0.1 that plays `script` to every connection.
    pub async fn start(script: Script) -> io::Result<OpenAiSimHandle> {
        Self::start_with(script, OpenAiSimOptions::default()).await
    }

    /// Starts a server with options.
    pub async fn start_with(
        script: Script,
        options: OpenAiSimOptions,
    ) -> io::Result<OpenAiSimHandle> {
        Self::start_on(0, script, options).await
    }

    /// Starts a server with options on 127.0.0.1:`port` (0: a free port).
    pub async fn start_on(
        port: u16,
        script: Script,
        options: OpenAiSimOptions,
    ) -> io::Result<OpenAiSimHandle> {
        let pacing = connection::Pacing {
            realtime: options.realtime,
            stamp: options.stamp,
            skip_audio_recording: options.skip_audio_recording,
            skip_recording: options.skip_recording,
        };
        let required = options.require_key;
        let (server, recorder) = recording::serve_recorded_on(
            port,
            options.tls,
            is_service_path,
            options.faults,
            move |socket, rec, index| {
                let presented = rec
                    .request(index)
                    .and_then(|r| auth::openai_bearer(&r).map(str::to_owned));
                let accepted = auth::accepts(required.as_deref(), presented.as_deref());
                let script = script.clone();
                async move {
                    if accepted {
                        connection::run(socket, script, Arc::clone(&rec), index, pacing).await;
                    } else {
                        auth::reject_openai(socket, presented, Arc::clone(&rec), index).await;
                    }
                    if pacing.skip_recording {
                        rec.forget(index);
                    }
                }
            },
        )
        .await?;
        Ok(OpenAiSimHandle { server, recorder })
    }
}

/// A running [`OpenAiSim`].
#[derive(Debug)]
pub struct OpenAiSimHandle {
    server: WsServerHandle,
    recorder: Arc<Recorder>,
}

impl OpenAiSimHandle {
    /// The endpoint: `ws://127.0.0.1:<port>/v1/realtime` (`wss://localhost:...` with TLS).
    pub fn url(&self) -> String {
        self.server.url("/v1/realtime")
    }

    /// What every connection so far sent.
    pub fn recorded(&self) -> Vec<RecordedConnection> {
        self.recorder.snapshot()
    }

    /// Waits until some connection sent an event of type `kind` that `accept` takes, and
    /// returns it; `None` after `timeout`.
    pub async fn wait_for(
        &self,
        kind: &str,
        accept: impl Fn(&Value) -> bool,
        timeout: Duration,
    ) -> Option<Value> {
        self.recorder
            .wait_until(
                |conns| {
                    conns
                        .iter()
                        .find_map(|c| c.of_type(kind).into_iter().find(|e| accept(e)).cloned())
                },
                timeout,
            )
            .await
    }

    /// Stops the server and drops its connections.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}
