//! The OpenAI Realtime connection: opening the WebSocket and waiting for the server's
//! verdict (`session.created`, or a refusal), and [`Pump`], the task that decodes the
//! server's frames into events, keeps the session timer, and on barge-in cancels the running
//! response and truncates the interrupted item to what was heard ([`truncate`](super::truncate)).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bidi_types::{BidiOutputEvent, ModelError, ModelTimeout, PlaybackTracker};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::decode::{Decoder, Step};
use super::tool_turns::ToolTurns;
use super::{encode, truncate};
use crate::ws::{self, Inbound, WsConfig, WsIncoming, WsReceiver, WsSender};

pub(super) type EventResult = Result<BidiOutputEvent, ModelError>;

/// The provider's name in errors.
pub(super) const PROVIDER: &str = "OpenAI";
/// What to fix when OpenAI refuses the key.
pub(super) const AUTH_HINT: &str = "check OPENAI_API_KEY (or OpenAiRealtimeConfig::api_key)";
/// How long `start` waits for the server's first event (`session.created`).
const SESSION_CREATED_TIMEOUT: Duration = Duration::from_secs(15);

/// The error codes OpenAI refuses credentials with.
fn is_auth_code(code: &str) -> bool {
    matches!(code, "invalid_api_key" | "missing_api_key")
}

/// The server's first frame: `Ok` with the frame when the session was created (or anything
/// else that is not a refusal), the error when the server refused the connection. An `error`
/// event first is followed by a close; a credentials error is
/// [`ModelError::Unauthorized`].
async fn session_verdict(
    frame: Option<Result<WsIncoming, ws::WsError>>,
    receiver: &mut WsReceiver,
) -> Result<String, ModelError> {
    let text = match frame {
        Some(Ok(WsIncoming::Text(text))) => text,
        Some(Ok(WsIncoming::Binary(bytes))) => String::from_utf8_lossy(&bytes).into_owned(),
        Some(Ok(WsIncoming::Close(info))) => return Err(closed_before_session(info)),
        Some(Err(e)) => {
            return Err(ModelError::Connection {
                message: format!("the connection broke before session.created: {e}"),
                source: Some(Box::new(e)),
            });
        }
        None => {
            return Err(ModelError::Closed(
                "connection ended before session.created".into(),
            ));
        }
    };
    let event: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if event.get("type").and_then(Value::as_str) != Some("error") {
        return Ok(text);
    }
    let field = |k: &str| {
        event
            .get("error")
            .and_then(|e| e.get(k))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let (code, kind, message) = (field("code"), field("type"), field("message"));
    let missing = kind == "invalid_request_error" && message.contains("authentication");
    let code = if code.is_empty() { kind } else { code };
    // Let the close the server sends after the error arrive (bounded), so the socket ends
    // with its handshake.
    let close = tokio::time::timeout(ws::CLOSE_GRACE, async {
        loop {
            match receiver.recv().await {
                Some(Ok(WsIncoming::Close(info))) => return info,
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return None,
            }
        }
    })
    .await
    .ok()
    .flatten();
    let closed_for_auth = close
        .as_ref()
        .is_some_and(|c| c.reason.contains("invalid_api_key"));
    if is_auth_code(&code) || closed_for_auth || missing {
        return Err(ModelError::Unauthorized {
            provider: PROVIDER,
            reason: format!("{code}: {message}"),
            hint: AUTH_HINT.to_owned(),
        });
    }
    Err(ModelError::Provider { code, message })
}

fn closed_before_session(info: Option<ws::CloseInfo>) -> ModelError {
    let (code, reason) = info.map_or((1005, String::new()), |i| (i.code, i.reason));
    if reason.contains("invalid_api_key") {
        return ModelError::Unauthorized {
            provider: PROVIDER,
            reason: format!("close {code}: {reason}"),
            hint: AUTH_HINT.to_owned(),
        };
    }
    ModelError::Closed(format!(
        "code=<{code}>, reason=<{reason}> | server closed the connection before session.created"
    ))
}

/// Opens the WebSocket for connection `id` and waits for the server's verdict: the first
/// frame (`session.created`) when it accepted the session, else why not.
pub(super) async fn open(
    config: WsConfig,
    id: &str,
) -> Result<(WsSender, WsReceiver, String), ModelError> {
    let (sender, mut receiver) = ws::connect(config)
        .await
        .map_err(|e| ws::connect_failed(e, PROVIDER, AUTH_HINT, id))?;
    // OpenAI accepts every upgrade and answers it with `session.created`, or with an
    // `error` and a close when it refuses the key: wait for that verdict.
    let first = match tokio::time::timeout(SESSION_CREATED_TIMEOUT, receiver.recv()).await {
        Ok(frame) => session_verdict(frame, &mut receiver).await?,
        Err(_) => {
            return Err(ModelError::connection(format!(
                "connection_id=<{id}>, timeout=<{SESSION_CREATED_TIMEOUT:?}> | no session.created from OpenAI Realtime"
            )));
        }
    };
    Ok((sender, receiver, first))
}

/// Sends one JSON event.
pub(super) async fn send_json(sender: &WsSender, event: &Value) -> Result<(), ModelError> {
    sender
        .send_text(event.to_string())
        .await
        .map_err(|_| ModelError::Closed("cannot send | the connection is closed".to_owned()))?;
    let kind = event
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    tracing::debug!("event_type=<{kind}> | openai event sent");
    Ok(())
}

/// The task that turns server frames into events.
pub(super) struct Pump {
    pub(super) id: String,
    pub(super) sender: WsSender,
    pub(super) decoder: Decoder,
    pub(super) tracker: Option<PlaybackTracker>,
    /// The audio item being played and when its first audio arrived.
    pub(super) item_started: Option<(String, Instant)>,
    pub(super) deadline: Instant,
    pub(super) timeout: Duration,
    pub(super) stopping: Arc<AtomicBool>,
    pub(super) emitted_ns: Arc<AtomicU64>,
    /// The function calls of each response, shared with the model's sends (one
    /// `response.create` per response, after all its outputs).
    pub(super) turns: Arc<Mutex<ToolTurns>>,
    pub(super) events: mpsc::Sender<EventResult>,
}

impl Pump {
    /// Serves the connection; `first` is the frame read before (`session.created`).
    pub(super) async fn run(mut self, mut receiver: WsReceiver, first: String) {
        if let Some(end) = self.on_frame(&first).await {
            self.emit(Err(end)).await;
            return;
        }
        let end = loop {
            let frame = tokio::select! {
                frame = receiver.recv() => frame,
                () = tokio::time::sleep_until(self.deadline) => {
                    let secs = self.timeout.as_secs_f64();
                    break Some(ModelError::Timeout(ModelTimeout::new(format!(
                        "timeout_s=<{secs}> | client session timer reached, restart with history"
                    ))));
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
            if let Some(end) = self.on_frame(&text).await {
                break Some(end);
            }
        };
        self.emitted_ns.store(
            u64::try_from(self.decoder.emitted_total().as_nanos()).unwrap_or(u64::MAX),
            Ordering::Release,
        );
        let Some(error) = end else { return };
        if error.is_timeout() {
            tracing::debug!("connection_id=<{}> | session time limit, closing", self.id);
            let _ = self.sender.close(1000, "session time limit").await;
        } else {
            tracing::warn!(
                "connection_id=<{}>, error=<{error}> | openai realtime connection ended",
                self.id
            );
        }
        self.emit(Err(error)).await;
        // Let the closing handshake finish (the receiver's drop would cut it).
        let drain = async { while receiver.recv().await.is_some() {} };
        let _ = tokio::time::timeout(ws::CLOSE_GRACE, drain).await;
    }

    async fn emit(&self, item: EventResult) {
        // A consumer that dropped the stream is not an error: keep serving barge-in.
        let _ = self.events.send(item).await;
    }

    /// Handles one text frame; `Some` ends the connection.
    async fn on_frame(&mut self, text: &str) -> Option<ModelError> {
        let steps = match self.decoder.decode(text) {
            Ok(steps) => steps,
            Err(e) => {
                tracing::warn!(
                    "connection_id=<{}>, error=<{e}> | malformed openai frame",
                    self.id
                );
                self.emit(Ok(ModelError::from(e).to_event().into())).await;
                return None;
            }
        };
        for step in steps {
            match step {
                Step::Emit(event) => {
                    self.track_calls(&event).await;
                    self.emit(Ok(event)).await;
                }
                Step::AudioItemStarted { item_id } => {
                    self.item_started = Some((item_id, Instant::now()));
                }
                Step::BargeIn {
                    active_response,
                    item,
                    emitted_total,
                } => {
                    // Boxed: rare, and its sends would otherwise size every frame's future.
                    Box::pin(self.barge_in(active_response, item, emitted_total)).await;
                }
                Step::SessionExpired(timeout) => return Some(ModelError::Timeout(timeout)),
            }
        }
        None
    }

    /// Registers each function call with its response; at a response's end whose calls were
    /// all answered already, asks for the answer (`response.create`).
    async fn track_calls(&mut self, event: &BidiOutputEvent) {
        let create = {
            let mut turns = self.turns.lock().unwrap_or_else(PoisonError::into_inner);
            match event {
                BidiOutputEvent::ToolUseStream(u) => {
                    if let Some(response_id) = self.decoder.active_response() {
                        turns.call(response_id, &u.current_tool_use().tool_use_id);
                    }
                    false
                }
                BidiOutputEvent::ResponseComplete(done) => turns.response_ended(done.response_id()),
                _ => false,
            }
        };
        if create
            && send_json(&self.sender, &encode::response_create())
                .await
                .is_err()
        {
            tracing::debug!(
                "connection_id=<{}> | closed before response.create",
                self.id
            );
        }
    }

    /// Cancels the running response and cuts the interrupted item to what was heard.
    async fn barge_in(
        &mut self,
        active_response: Option<String>,
        item: Option<super::decode::AudioItem>,
        emitted_total: Duration,
    ) {
        if let Some(response_id) = &active_response {
            tracing::debug!("response_id=<{response_id}> | barge-in, cancelling response");
            if send_json(&self.sender, &encode::response_cancel())
                .await
                .is_err()
            {
                return;
            }
        }
        let Some(item) = item else { return };
        let generating = active_response.is_some()
            && (item.response_id.is_none() || item.response_id == active_response);
        let since_first = self
            .item_started
            .take()
            .filter(|(id, _)| *id == item.item_id)
            .map(|(_, at)| at.elapsed());
        let tracker = self.tracker.as_ref();
        match truncate::audio_end_ms(&item, tracker, emitted_total, since_first, generating) {
            Some(ms) => {
                tracing::debug!(
                    "item_id=<{}>, audio_end_ms=<{ms}>, received_ms=<{}> | truncating interrupted item",
                    item.item_id,
                    item.received.as_millis()
                );
                let frame = encode::item_truncate(&item.item_id, item.content_index, ms);
                let _ = send_json(&self.sender, &frame).await;
            }
            None => tracing::debug!(
                "item_id=<{}> | nothing to truncate (none of it played, or all of it)",
                item.item_id
            ),
        }
    }
}
