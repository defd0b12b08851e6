//! [`BidiOpenAIRealtimeModel`]: the connection. Opens the WebSocket, configures the
//! session, replays history, runs the task that decodes server frames into events (and
//! cancels and truncates on barge-in), and keeps the session timer.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bidi_types::{
    BidiConnectionStartEvent, BidiInputEvent, BidiModel, BidiOutputEvent, ModelConfig, ModelError,
    ModelEventStream, ModelInput, ModelTimeout, PlaybackTracker, StartParams,
};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::config::OpenAiRealtimeConfig;
use super::decode::{Decoder, Step};
use super::{encode, truncate};
use crate::ws::{self, Inbound, WsConfig, WsIncoming, WsReceiver, WsSender};

type EventResult = Result<BidiOutputEvent, ModelError>;

/// The provider's name in errors.
const PROVIDER: &str = "OpenAI";
/// What to fix when OpenAI refuses the key.
const AUTH_HINT: &str = "check OPENAI_API_KEY (or OpenAiRealtimeConfig::api_key)";
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

/// OpenAI Realtime (GA protocol) as a [`BidiModel`], over a WebSocket.
///
/// `start` returns once the server created the session (`session.created`); a key the server
/// refuses (its `invalid_api_key` error and close 3000, or a 401/403 upgrade) fails `start`
/// with [`ModelError::Unauthorized`].
///
/// ```no_run
/// # async fn demo() -> Result<(), bidi_types::ModelError> {
/// use bidi_model::openai::{BidiOpenAIRealtimeModel, OpenAiRealtimeConfig};
/// use bidi_types::{BidiModel, StartParams};
///
/// // API key from OPENAI_API_KEY.
/// let model = BidiOpenAIRealtimeModel::new(OpenAiRealtimeConfig::new().voice("marin"))?;
/// model.start(StartParams { system_prompt: Some("Be brief.".into()), ..Default::default() }).await?;
/// let events = model.receive()?;
/// model.send("Hello!".into()).await?;
/// # drop(events);
/// model.stop().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct BidiOpenAIRealtimeModel {
    config: OpenAiRealtimeConfig,
    /// The URL connected to, from the config's endpoint.
    url: String,
    session: Mutex<Option<Session>>,
    lifecycle: tokio::sync::Mutex<()>,
    /// Model audio emitted across this model's connections, in ns (the playback tracker
    /// counts from its creation, so truncation needs the same span).
    emitted_ns: Arc<AtomicU64>,
}

#[derive(Debug)]
struct Session {
    id: String,
    sender: WsSender,
    events: Option<ws::EventQueue>,
    pump: JoinHandle<()>,
    stopping: Arc<AtomicBool>,
}

impl BidiOpenAIRealtimeModel {
    /// A model with `config`; the API key (and organization, project) fall back to the
    /// environment. Fails with [`ModelError::Config`] when no key is found or a setting is
    /// out of range. The key is never logged.
    pub fn new(config: OpenAiRealtimeConfig) -> Result<Self, ModelError> {
        let config = config.resolve(|k| std::env::var(k).ok())?;
        Ok(Self {
            url: config.url()?,
            config,
            session: Mutex::new(None),
            lifecycle: tokio::sync::Mutex::new(()),
            emitted_ns: Arc::new(AtomicU64::new(0)),
        })
    }

    /// The resolved settings.
    pub fn settings(&self) -> &OpenAiRealtimeConfig {
        &self.config
    }

    fn lock(&self) -> MutexGuard<'_, Option<Session>> {
        self.session.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn ws_config(&self) -> WsConfig {
        let c = &self.config;
        let mut ws = WsConfig::new(self.url.clone()).capacity(c.channel_capacity);
        if let Some(key) = &c.api_key {
            ws = ws.header("Authorization", format!("Bearer {}", key.expose()));
        }
        if let Some(org) = &c.organization {
            ws = ws.header("OpenAI-Organization", org);
        }
        if let Some(project) = &c.project {
            ws = ws.header("OpenAI-Project", project);
        }
        for (name, value) in &c.extra_headers {
            ws = ws.header(name, value);
        }
        if let Some(tls) = &c.tls {
            ws = ws.tls(Arc::clone(tls));
        }
        if let Some(path) = &c.ca_file {
            ws = ws.ca_file(path.clone());
        }
        ws
    }
}

async fn send_json(sender: &WsSender, event: &Value) -> Result<(), ModelError> {
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

#[bidi_types::async_trait]
impl BidiModel for BidiOpenAIRealtimeModel {
    fn config(&self) -> ModelConfig {
        let mut config = ModelConfig::new(&self.config.model_id, self.config.audio.clone());
        config.inference = self.config.inference.clone();
        config
    }

    fn connection_id(&self) -> Option<String> {
        self.lock().as_ref().map(|s| s.id.clone())
    }

    async fn start(&self, params: StartParams) -> Result<(), ModelError> {
        let _lifecycle = self.lifecycle.lock().await;
        if self.lock().is_some() {
            return Err(ModelError::AlreadyStarted);
        }
        // Everything that can fail on our side fails before connecting.
        let mut frames = vec![encode::session_update(
            &self.config,
            params.system_prompt.as_deref(),
            &params.tools,
        )];
        frames.extend(encode::history(&params.messages)?);

        let id = uuid::Uuid::new_v4().to_string();
        let deadline = Instant::now() + self.config.session_timeout;
        tracing::debug!(
            "connection_id=<{id}>, model=<{}> | openai realtime connecting",
            self.config.model_id
        );
        let (sender, mut receiver) = ws::connect(self.ws_config())
            .await
            .map_err(|e| ws::connect_failed(e, PROVIDER, AUTH_HINT, &id))?;
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
        for frame in &frames {
            send_json(&sender, frame).await?;
        }
        tracing::debug!(
            "connection_id=<{id}>, history_events=<{}> | session configured",
            frames.len() - 1
        );

        let (tx, rx) = mpsc::channel(self.config.channel_capacity);
        let start = BidiConnectionStartEvent::new(&id, &self.config.model_id);
        // The channel is new and empty: this cannot fail.
        let _ = tx.try_send(Ok(start.into()));
        let stopping = Arc::new(AtomicBool::new(false));
        if let Some(tracker) = &params.playback {
            // Audio the tracker consumed that this model never emitted (another model, an
            // earlier agent) counts as emitted and fully played, so it does not hide the
            // queue of the next barge-in.
            let consumed = u64::try_from(tracker.consumed().as_nanos()).unwrap_or(u64::MAX);
            self.emitted_ns.fetch_max(consumed, Ordering::AcqRel);
        }
        let emitted = Duration::from_nanos(self.emitted_ns.load(Ordering::Acquire));
        let pump = Pump {
            id: id.clone(),
            sender: sender.clone(),
            decoder: Decoder::new(emitted),
            tracker: params.playback,
            item_started: None,
            deadline,
            timeout: self.config.session_timeout,
            stopping: Arc::clone(&stopping),
            emitted_ns: Arc::clone(&self.emitted_ns),
            events: tx,
        };
        let pump = tokio::spawn(pump.run(receiver, first));
        *self.lock() = Some(Session {
            id,
            sender,
            events: Some(rx),
            pump,
            stopping,
        });
        Ok(())
    }

    async fn send(&self, input: ModelInput) -> Result<(), ModelError> {
        let sender = self
            .lock()
            .as_ref()
            .map(|s| s.sender.clone())
            .ok_or(ModelError::NotStarted { action: "sending" })?;
        if let ModelInput::Event(BidiInputEvent::Audio(audio)) = &input {
            // The hot path: JSON text built directly, no `Value` tree.
            return sender
                .send_text(encode::audio_append(audio.audio()))
                .await
                .map_err(|_| {
                    ModelError::Closed("cannot send | the connection is closed".to_owned())
                });
        }
        let frames = match &input {
            ModelInput::Event(event) => encode::input(event)?,
            ModelInput::ToolResult(result) => {
                tracing::debug!("tool_use_id=<{}> | sending tool result", result.tool_use_id);
                encode::tool_result(result)?
            }
        };
        for frame in &frames {
            send_json(&sender, frame).await?;
        }
        Ok(())
    }

    fn receive(&self) -> Result<ModelEventStream, ModelError> {
        let mut guard = self.lock();
        let session = guard.as_mut().ok_or(ModelError::NotStarted {
            action: "receiving",
        })?;
        ws::take_events(&mut session.events)
    }

    async fn stop(&self) -> Result<(), ModelError> {
        let _lifecycle = self.lifecycle.lock().await;
        let Some(mut session) = self.lock().take() else {
            return Ok(());
        };
        session.stopping.store(true, Ordering::Release);
        ws::shut_down(&session.sender, &mut session.pump, &session.id).await;
        tracing::debug!(
            "connection_id=<{}> | openai realtime connection closed",
            session.id
        );
        Ok(())
    }
}

/// The task that turns server frames into events.
struct Pump {
    id: String,
    sender: WsSender,
    decoder: Decoder,
    tracker: Option<PlaybackTracker>,
    /// The audio item being played and when its first audio arrived.
    item_started: Option<(String, Instant)>,
    deadline: Instant,
    timeout: Duration,
    stopping: Arc<AtomicBool>,
    emitted_ns: Arc<AtomicU64>,
    events: mpsc::Sender<EventResult>,
}

impl Pump {
    /// Serves the connection; `first` is the frame read before (`session.created`).
    async fn run(mut self, mut receiver: WsReceiver, first: String) {
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
                Step::Emit(event) => self.emit(Ok(event)).await,
                Step::AudioItemStarted { item_id } => {
                    self.item_started = Some((item_id, Instant::now()));
                }
                Step::BargeIn {
                    active_response,
                    item,
                    emitted_total,
                } => self.barge_in(active_response, item, emitted_total).await,
                Step::SessionExpired(timeout) => return Some(ModelError::Timeout(timeout)),
            }
        }
        None
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
