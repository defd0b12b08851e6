//! [`GeminiSim`]: a local Gemini Live server (`BidiGenerateContent` over WebSocket) driven
//! by a [`Script`].
//!
//! What it speaks, per connection:
//!
//! - with [`GeminiSimOptions::require_key`], another key (or none) is closed with 1007 "API
//!   key not valid" right after the upgrade (see [`crate::auth`]);
//! - the first client message must be `setup`; it is answered with `setupComplete` and fires
//!   [`Trigger::Connect`](crate::Trigger::Connect). Any other first message closes the
//!   socket with 1007, as the service does;
//! - with `sessionResumption` in the setup, a `sessionResumptionUpdate` with a new resumable
//!   handle follows the setup, every turn end and every tool response;
//! - `realtimeInput.text`, and `clientContent` with `turnComplete: true`, fire
//!   [`Trigger::Text`](crate::Trigger::Text) (`clientContent` with `turnComplete: false` is
//!   history and fires nothing); `realtimeInput.audio` (16 kHz PCM16) adds to the audio
//!   heard and fires [`Trigger::Audio`](crate::Trigger::Audio) (when the script has
//!   [utterances](crate::hearing), the audio goes to turn detection instead, and each
//!   utterance, ended by silence or `realtimeInput.audioStreamEnd`, is answered with
//!   [`ScriptState::on_utterance`](crate::script::ScriptState::on_utterance)); each
//!   response in a `toolResponse` fires [`Trigger::ToolResult`](crate::Trigger::ToolResult).
//!
//! The [`Action`](crate::Action)s render as: `UserTranscript` an `inputTranscription`;
//! `Say` `outputTranscription` pieces; `Speak` `modelTurn` inline audio at 24 kHz;
//! consecutive `CallTool`s one `toolCall` with their `functionCalls`; `CancelTool` a
//! `toolCallCancellation` with its ids; `Interrupt`
//! `interrupted`; `EndTurn` `turnComplete` (with the last `Usage` as `usageMetadata`);
//! `Error` a close with code 1011 and the message; `Timeout` a `goAway` (`timeLeft: "10s"`);
//! `Garbage` the raw text; `UnknownEvent` a message with an unknown key; `Close` drops the
//! socket.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use bidi_sim::gemini::GeminiSim;
//! use bidi_sim::{Action, Script, Trigger};
//!
//! let script = Script::new().on(Trigger::Text { contains: "hi".into() }, vec![
//!     Action::Say { text: "Hello!".into(), chunk: 3 },
//!     Action::EndTurn,
//! ]);
//! let sim = GeminiSim::start(script).await?;
//! assert!(sim.base_url().starts_with("ws://127.0.0.1:"));
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

pub mod client_message;
mod connection;

use std::io;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::Script;
use crate::auth;
use crate::recording::{self, RecordedConnection, Recorder};
use crate::ws::WsServerHandle;

/// Whether `path` is a Live API method path the real service serves:
/// `/ws/google.ai.generativelanguage.{VERSION}.GenerativeService.BidiGenerateContent` (or
/// `...Constrained`, for ephemeral tokens), VERSION an API version (`v1`, `v1beta`,
/// `v1alpha`, ...: google-genai 3.x asks for `v1`). Any other path gets HTTP 404.
///
/// ```
/// use bidi_sim::gemini::is_service_path;
/// assert!(is_service_path("/ws/google.ai.generativelanguage.v1.GenerativeService.BidiGenerateContent"));
/// assert!(is_service_path("/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"));
/// assert!(!is_service_path("/ws/google.ai.generativelanguage.beta.GenerativeService.BidiGenerateContent"));
/// ```
pub fn is_service_path(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/ws/google.ai.generativelanguage.") else {
        return false;
    };
    let Some((version, method)) = rest.split_once(".GenerativeService.") else {
        return false;
    };
    let digits = version.strip_prefix('v').unwrap_or_default();
    let number_end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    let api_version = number_end > 0
        && matches!(&digits[number_end..], "" | "alpha" | "beta")
        && !version.contains('/');
    if !api_version {
        return false;
    }
    matches!(
        method,
        "BidiGenerateContent" | "BidiGenerateContentConstrained"
    )
}

/// Options of a [`GeminiSim`] beyond the script.
#[derive(Debug, Clone, Default)]
pub struct GeminiSimOptions {
    /// TLS: serve `wss://` with this config (e.g. an `rcgen` certificate for `localhost`).
    pub tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    /// Pace `Speak` audio at real time instead of sending it at once.
    pub realtime: bool,
    /// Accept only this API key (the `key` query parameter or the `x-goog-api-key` header);
    /// any other, or none, is closed with 1007 "API key not valid" (see [`crate::auth`]).
    /// `None` (the default): any credentials.
    pub require_key: Option<String>,
    /// Refused upgrades and slow reading (see [`Faults`](crate::faults::Faults)).
    pub faults: crate::faults::Faults,
}

/// The Gemini Live simulator. See the [module docs](self).
#[derive(Debug)]
pub struct GeminiSim;

impl GeminiSim {
    /// Starts a server on 127.0.0.1 that plays `script` to every connection.
    pub async fn start(script: Script) -> io::Result<GeminiSimHandle> {
        Self::start_with(script, GeminiSimOptions::default()).await
    }

    /// Starts a server with options.
    pub async fn start_with(
        script: Script,
        options: GeminiSimOptions,
    ) -> io::Result<GeminiSimHandle> {
        Self::start_on(0, script, options).await
    }

    /// Starts a server with options on 127.0.0.1:`port` (0: a free port).
    pub async fn start_on(
        port: u16,
        script: Script,
        options: GeminiSimOptions,
    ) -> io::Result<GeminiSimHandle> {
        let realtime = options.realtime;
        let required = options.require_key;
        let (server, recorder) = recording::serve_recorded_on(
            port,
            options.tls,
            is_service_path,
            options.faults,
            move |socket, rec, index| {
                let presented = rec.request(index).and_then(|r| auth::gemini_key(&r));
                let accepted = auth::accepts(required.as_deref(), presented.as_deref());
                let script = script.clone();
                async move {
                    if accepted {
                        connection::run(socket, script, rec, index, realtime).await;
                    } else {
                        auth::reject_gemini(socket, rec, index).await;
                    }
                }
            },
        )
        .await?;
        Ok(GeminiSimHandle { server, recorder })
    }
}

/// A running [`GeminiSim`].
#[derive(Debug)]
pub struct GeminiSimHandle {
    server: WsServerHandle,
    recorder: Arc<Recorder>,
}

impl GeminiSimHandle {
    /// The base URL to give the client: `ws://127.0.0.1:<port>/ws` (`wss://localhost:...`
    /// with TLS); the client appends the service path.
    pub fn base_url(&self) -> String {
        self.server.url("/ws")
    }

    /// The full URL of the `BidiGenerateContent` method (API version `v1beta`), as a client
    /// that does not build the path itself connects to it.
    pub fn url(&self) -> String {
        self.server
            .url("/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent")
    }

    /// What every connection so far sent.
    pub fn recorded(&self) -> Vec<RecordedConnection> {
        self.recorder.snapshot()
    }

    /// Waits until some connection sent a message with top-level key `key` whose value
    /// `accept` takes, and returns that value; `None` after `timeout`.
    pub async fn wait_for(
        &self,
        key: &str,
        accept: impl Fn(&Value) -> bool,
        timeout: Duration,
    ) -> Option<Value> {
        self.recorder
            .wait_until(
                |conns| {
                    conns
                        .iter()
                        .find_map(|c| c.under(key).into_iter().find(|v| accept(v)).cloned())
                },
                timeout,
            )
            .await
    }

    /// Waits until at least `n` connections were opened.
    pub async fn wait_for_connections(&self, n: usize, timeout: Duration) -> bool {
        self.recorder
            .wait_until(|conns| (conns.len() >= n).then_some(()), timeout)
            .await
            .is_some()
    }

    /// Stops the server and drops its connections.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}
