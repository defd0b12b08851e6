//! The Gemini Live connection: opening the WebSocket, the `setup` handshake (a key the server
//! refuses is a close 1007 right after the upgrade), and [`Pump`], the task that decodes the
//! server's messages into events, keeps the latest session resumption handle, and turns
//! `goAway` into a restart ([`go_away`](super::go_away)).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bidi_types::{BidiOutputEvent, ModelError};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::decode::{Decoder, ServerSignal};
use super::go_away::GoAway;
use crate::ws::{self, Inbound, WsConfig, WsIncoming, WsReceiver, WsSender};

/// Locks `m`; a poisoned lock only means a panic elsewhere, the state stays consistent.
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the task hands the model's event stream.
pub(super) type EventResult = Result<BidiOutputEvent, ModelError>;

/// The provider's name in errors.
pub(super) const PROVIDER: &str = "Gemini";
/// What to fix when Gemini refuses the key.
pub(super) const AUTH_HINT: &str =
    "check GEMINI_API_KEY or GOOGLE_API_KEY (or GeminiLiveConfig::with_api_key)";

/// Whether a close reason is Gemini refusing the API key ("API key not valid. Please pass a
/// valid API key.", "API key expired...", sent with close code 1007).
fn is_key_refusal(reason: &str) -> bool {
    reason.to_ascii_lowercase().contains("api key")
}

/// Opens the WebSocket for connection `id`, sends `setup` and waits for `setupComplete`
/// (decoded by `decoder`) within `timeout`.
pub(super) async fn open(
    config: WsConfig,
    id: &str,
    setup: &Value,
    decoder: &Mutex<Decoder>,
    timeout: Duration,
) -> Result<(WsSender, WsReceiver), ModelError> {
    let (sender, mut receiver) = ws::connect(config)
        .await
        .map_err(|e| ws::connect_failed(e, PROVIDER, AUTH_HINT, id))?;
    // Gemini refuses a key by closing right after the upgrade, which may beat the setup:
    // then the close, read next, says why, rather than the failed send.
    let sent = send_json(&sender, setup).await;
    await_setup(&mut receiver, decoder, timeout).await?;
    sent?;
    Ok((sender, receiver))
}

/// Sends one JSON message.
pub(super) async fn send_json(sender: &WsSender, message: &Value) -> Result<(), ModelError> {
    sender
        .send_text(message.to_string())
        .await
        .map_err(|_| ModelError::Closed("cannot send | the connection is closed".to_owned()))
}

/// Reads until `setupComplete`; what the server says first is an error.
async fn await_setup(
    receiver: &mut WsReceiver,
    decoder: &Mutex<Decoder>,
    timeout: Duration,
) -> Result<(), ModelError> {
    let wait = async {
        loop {
            let text = match receiver.recv().await {
                Some(Ok(WsIncoming::Text(t))) => t,
                Some(Ok(WsIncoming::Binary(b))) => String::from_utf8_lossy(&b).into_owned(),
                Some(Ok(WsIncoming::Close(info))) => {
                    let (code, reason) = info.map_or((1005, String::new()), |i| (i.code, i.reason));
                    if is_key_refusal(&reason) {
                        return Err(ModelError::Unauthorized {
                            provider: PROVIDER,
                            reason: format!("close {code}: {reason}"),
                            hint: AUTH_HINT.to_owned(),
                        });
                    }
                    return Err(ModelError::Closed(format!(
                        "code=<{code}>, reason=<{reason}> | server closed the connection during setup"
                    )));
                }
                Some(Err(e)) => return Err(ModelError::connection(format!("setup failed: {e}"))),
                None => return Err(ModelError::Closed("connection ended during setup".into())),
            };
            let signals = lock(decoder).decode(&text)?;
            if signals.contains(&ServerSignal::SetupComplete) {
                return Ok(());
            }
        }
    };
    tokio::time::timeout(timeout, wait)
        .await
        .map_err(|_| ModelError::connection(format!("no setupComplete within {timeout:?}")))?
}

/// The task that turns server messages into events.
pub(super) struct Pump {
    pub(super) id: String,
    pub(super) decoder: Arc<Mutex<Decoder>>,
    pub(super) handle: Arc<Mutex<Option<String>>>,
    /// Whether the latest handle is newer than the latest tool response sent.
    pub(super) handle_current: Arc<AtomicBool>,
    pub(super) resumption: bool,
    pub(super) stopping: Arc<AtomicBool>,
    pub(super) events: mpsc::Sender<EventResult>,
    pub(super) go_away: GoAway,
}

impl Pump {
    pub(super) async fn run(mut self, mut receiver: WsReceiver) {
        let end = loop {
            let deadline = self.go_away.deadline();
            let frame = tokio::select! {
                frame = receiver.recv() => frame,
                () = async { match deadline { Some(d) => tokio::time::sleep_until(d).await, None => std::future::pending().await } } => {
                    break Some(self.go_away.expired());
                }
            };
            let stopping = self.stopping.load(Ordering::Acquire);
            let text = match Inbound::classify(frame, stopping, &self.id) {
                Inbound::Text(text) => text,
                Inbound::Malformed(err) => {
                    self.emit(Ok(err.to_event().into())).await;
                    continue;
                }
                Inbound::End(end) => break end,
            };
            if let Some(end) = self.on_message(&text).await {
                break Some(end);
            }
        };
        let Some(error) = end else { return };
        if !error.is_timeout() {
            tracing::warn!(
                "connection_id=<{}>, error=<{error}> | gemini live connection ended",
                self.id
            );
        }
        if self.stopping.load(Ordering::Acquire) {
            return;
        }
        let _ = self.events.send(Err(error)).await;
    }

    async fn emit(&self, item: EventResult) {
        let _ = self.events.send(item).await;
    }

    /// Handles one message; `Some` ends the connection.
    async fn on_message(&mut self, text: &str) -> Option<ModelError> {
        let decoded = lock(&self.decoder).decode(text);
        let signals = match decoded {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(
                    "connection_id=<{}>, error=<{e}> | malformed gemini message",
                    self.id
                );
                self.emit(Ok(e.to_event().into())).await;
                return None;
            }
        };
        for signal in signals {
            match signal {
                ServerSignal::Event(e) => self.emit(Ok(e)).await,
                ServerSignal::ResumptionHandle(h) => {
                    *lock(&self.handle) = Some(h);
                    self.handle_current.store(true, Ordering::Release);
                }
                ServerSignal::GoAway { time_left } => {
                    tracing::debug!(
                        "connection_id=<{}>, time_left=<{time_left:?}> | gemini goAway",
                        self.id
                    );
                    self.go_away.announced(time_left, Instant::now());
                }
                ServerSignal::SetupComplete => {}
            }
        }
        self.restart_if_ready()
    }

    /// After a `goAway`: the restart, once [`GoAway`] says it may happen.
    fn restart_if_ready(&mut self) -> Option<ModelError> {
        let open_calls = lock(&self.decoder).has_open_calls();
        let handle = lock(&self.handle).clone();
        let current = self.handle_current.load(Ordering::Acquire);
        self.go_away
            .restart_if_ready(open_calls, self.resumption, handle, current)
    }
}
