//! [`BidiGeminiLiveModel`]: the connection. Opens the WebSocket, sends `setup` and waits for
//! `setupComplete`, replays history (unless resuming), runs the task that decodes server
//! messages, and turns `goAway` into a restart that never straddles a tool call.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bidi_types::{
    BidiConnectionStartEvent, BidiInputEvent, BidiModel, BidiOutputEvent, ModelConfig, ModelError,
    ModelEventStream, ModelInput, StartParams,
};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::config::GeminiLiveConfig;
use super::decode::{Decoder, ServerSignal, go_away_timeout};
use super::{RESTART_HANDLE_KEY, encode};
use crate::ws::{self, Inbound, WsConfig, WsIncoming, WsReceiver, WsSender};

/// How long before the end announced by `goAway` the restart happens at the latest.
const GO_AWAY_MARGIN: Duration = Duration::from_secs(2);

type EventResult = Result<BidiOutputEvent, ModelError>;

/// The provider's name in errors.
const PROVIDER: &str = "Gemini";
/// What to fix when Gemini refuses the key.
const AUTH_HINT: &str =
    "check GEMINI_API_KEY or GOOGLE_API_KEY (or GeminiLiveConfig::with_api_key)";

/// Whether a close reason is Gemini refusing the API key ("API key not valid. Please pass a
/// valid API key.", "API key expired...", sent with close code 1007).
fn is_key_refusal(reason: &str) -> bool {
    reason.to_ascii_lowercase().contains("api key")
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Google Gemini Live as a [`BidiModel`], over a WebSocket.
///
/// `start` returns once the server answered the setup; a key the server refuses (a close
/// 1007 "API key not valid", or a 401/403 upgrade) fails `start` with
/// [`ModelError::Unauthorized`].
///
/// ```no_run
/// # async fn demo() -> Result<(), bidi_types::ModelError> {
/// use bidi_model::gemini::{BidiGeminiLiveModel, GeminiLiveConfig};
/// use bidi_types::{BidiModel, StartParams};
///
/// // API key from GOOGLE_API_KEY or GEMINI_API_KEY.
/// let model = BidiGeminiLiveModel::new(GeminiLiveConfig::default().with_voice("Puck"))?;
/// model.start(StartParams { system_prompt: Some("Be brief.".into()), ..Default::default() }).await?;
/// let events = model.receive()?;
/// model.send("Hello!".into()).await?;
/// # drop(events);
/// model.stop().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct BidiGeminiLiveModel {
    config: GeminiLiveConfig,
    /// The URL connected to, from the config's base URL and API version.
    url: String,
    api_key: String,
    session: Mutex<Option<Session>>,
    lifecycle: tokio::sync::Mutex<()>,
    /// The latest resumable handle; it outlives connections.
    handle: Arc<Mutex<Option<String>>>,
}

/// What `send` needs of the open connection.
#[derive(Debug, Clone)]
struct Link {
    sender: WsSender,
    decoder: Arc<Mutex<Decoder>>,
    /// Whether the latest handle is newer than the latest tool response sent.
    handle_current: Arc<AtomicBool>,
}

#[derive(Debug)]
struct Session {
    id: String,
    link: Link,
    events: Option<ws::EventQueue>,
    pump: JoinHandle<()>,
    stopping: Arc<AtomicBool>,
}

impl BidiGeminiLiveModel {
    /// A model with `config`. Fails with [`ModelError::Config`] when no API key is given
    /// and neither `GOOGLE_API_KEY` nor `GEMINI_API_KEY` is set. The key is never logged.
    pub fn new(config: GeminiLiveConfig) -> Result<Self, ModelError> {
        let api_key = config.resolve_api_key().ok_or_else(|| {
            ModelError::Config(
                "Gemini API key is required | give GeminiLiveConfig::with_api_key or set \
                 GOOGLE_API_KEY or GEMINI_API_KEY"
                    .to_owned(),
            )
        })?;
        Ok(Self {
            url: config.url()?,
            config,
            api_key,
            session: Mutex::new(None),
            lifecycle: tokio::sync::Mutex::new(()),
            handle: Arc::new(Mutex::new(None)),
        })
    }

    /// The settings.
    pub fn settings(&self) -> &GeminiLiveConfig {
        &self.config
    }

    /// The latest resumable session handle the server gave, if any.
    pub fn session_handle(&self) -> Option<String> {
        lock(&self.handle).clone()
    }

    fn ws_config(&self) -> WsConfig {
        let c = &self.config;
        let mut ws = WsConfig::new(self.url.clone())
            .header("x-goog-api-key", &self.api_key)
            .capacity(c.channel_capacity)
            .ping_interval(Some(c.ping_interval))
            .ping_timeout(c.ping_timeout);
        if let Some(tls) = &c.tls {
            ws = ws.tls(Arc::clone(tls));
        }
        if let Some(path) = &c.ca_file {
            ws = ws.ca_file(path.clone());
        }
        ws
    }

    fn link(&self) -> Result<Link, ModelError> {
        lock(&self.session)
            .as_ref()
            .map(|s| s.link.clone())
            .ok_or(ModelError::NotStarted { action: "sending" })
    }
}

async fn send_json(sender: &WsSender, message: &Value) -> Result<(), ModelError> {
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

#[bidi_types::async_trait]
impl BidiModel for BidiGeminiLiveModel {
    fn config(&self) -> ModelConfig {
        let mut config = ModelConfig::new(&self.config.model_id, self.config.audio.clone());
        config.inference = self.config.generation.clone();
        config
    }

    fn connection_id(&self) -> Option<String> {
        lock(&self.session).as_ref().map(|s| s.id.clone())
    }

    async fn start(&self, params: StartParams) -> Result<(), ModelError> {
        let _lifecycle = self.lifecycle.lock().await;
        if lock(&self.session).is_some() {
            return Err(ModelError::AlreadyStarted);
        }
        let resume = params
            .restart_config
            .get(RESTART_HANDLE_KEY)
            .and_then(Value::as_str)
            .map(str::to_owned);
        let setup = encode::setup(
            &self.config,
            params.system_prompt.as_deref(),
            &params.tools,
            resume.as_deref(),
        );
        let id = uuid::Uuid::new_v4().to_string();
        tracing::debug!(
            "connection_id=<{id}>, model=<{}>, resuming=<{}> | gemini live connecting",
            self.config.model_id,
            resume.is_some()
        );
        let (sender, mut receiver) = ws::connect(self.ws_config())
            .await
            .map_err(|e| ws::connect_failed(e, PROVIDER, AUTH_HINT, &id))?;
        let decoder = Arc::new(Mutex::new(Decoder::new(&id, self.config.audio.clone())));
        // Gemini refuses a key by closing right after the upgrade, which may beat the setup:
        // then the close, read next, says why, rather than the failed send.
        let sent = send_json(&sender, &setup).await;
        await_setup(&mut receiver, &decoder, self.config.setup_timeout).await?;
        sent?;
        // A resumed session already holds the conversation; otherwise replay it.
        if resume.is_none()
            && let Some(history) = encode::history(&params.messages)
        {
            send_json(&sender, &history).await?;
        }

        let (tx, rx) = mpsc::channel(self.config.channel_capacity);
        let start = BidiConnectionStartEvent::new(&id, &self.config.model_id);
        // The channel is new and empty: this cannot fail.
        let _ = tx.try_send(Ok(start.into()));
        let stopping = Arc::new(AtomicBool::new(false));
        let handle_current = Arc::new(AtomicBool::new(false));
        let pump = Pump {
            id: id.clone(),
            decoder: Arc::clone(&decoder),
            handle: Arc::clone(&self.handle),
            handle_current: Arc::clone(&handle_current),
            resumption: self.config.session_resumption,
            stopping: Arc::clone(&stopping),
            events: tx,
            go_away: None,
        };
        let pump = tokio::spawn(pump.run(receiver));
        *lock(&self.session) = Some(Session {
            id,
            link: Link {
                sender,
                decoder,
                handle_current,
            },
            events: Some(rx),
            pump,
            stopping,
        });
        Ok(())
    }

    async fn send(&self, input: ModelInput) -> Result<(), ModelError> {
        let Link {
            sender,
            decoder,
            handle_current,
        } = self.link()?;
        let message = match &input {
            ModelInput::Event(BidiInputEvent::Text(t)) => encode::text(&self.config, t.text()),
            ModelInput::Event(BidiInputEvent::Audio(a)) => {
                encode::audio(a.audio(), self.config.audio.input_rate.hz())
            }
            ModelInput::Event(BidiInputEvent::Image(i)) => encode::image(i.image(), i.mime_type()),
            ModelInput::ToolResult(result) => {
                let Some(name) = lock(&decoder)
                    .call_name(&result.tool_use_id)
                    .map(str::to_owned)
                else {
                    // The call belongs to a connection that is gone: the session on this one
                    // never saw it and would reject the response.
                    tracing::warn!(
                        "tool_use_id=<{}> | no open call on this connection, result not sent",
                        result.tool_use_id
                    );
                    return Ok(());
                };
                let response = encode::function_response(result, &name)?;
                // Handles issued before this response do not hold it.
                handle_current.store(false, Ordering::Release);
                send_json(&sender, &encode::tool_response(vec![response])).await?;
                lock(&decoder).close_call(&result.tool_use_id);
                return Ok(());
            }
        };
        send_json(&sender, &message).await
    }

    fn receive(&self) -> Result<ModelEventStream, ModelError> {
        let mut guard = lock(&self.session);
        let session = guard.as_mut().ok_or(ModelError::NotStarted {
            action: "receiving",
        })?;
        ws::take_events(&mut session.events)
    }

    async fn stop(&self) -> Result<(), ModelError> {
        let _lifecycle = self.lifecycle.lock().await;
        let Some(mut session) = lock(&self.session).take() else {
            return Ok(());
        };
        session.stopping.store(true, Ordering::Release);
        ws::shut_down(&session.link.sender, &mut session.pump, &session.id).await;
        tracing::debug!(
            "connection_id=<{}> | gemini live connection closed",
            session.id
        );
        Ok(())
    }
}

/// A `goAway` waiting for open function calls to be answered.
#[derive(Debug)]
struct PendingGoAway {
    time_left: Option<String>,
    deadline: Instant,
}

/// The task that turns server messages into events.
struct Pump {
    id: String,
    decoder: Arc<Mutex<Decoder>>,
    handle: Arc<Mutex<Option<String>>>,
    /// Whether the latest handle is newer than the latest tool response sent.
    handle_current: Arc<AtomicBool>,
    resumption: bool,
    stopping: Arc<AtomicBool>,
    events: mpsc::Sender<EventResult>,
    go_away: Option<PendingGoAway>,
}

/// `"50s"` / `"1.5s"` as a duration.
fn parse_time_left(s: &str) -> Option<Duration> {
    s.strip_suffix('s')?
        .parse::<f64>()
        .ok()
        .filter(|f| f.is_finite() && *f >= 0.0)
        .map(Duration::from_secs_f64)
}

impl Pump {
    async fn run(mut self, mut receiver: WsReceiver) {
        let end = loop {
            let deadline = self.go_away.as_ref().map(|g| g.deadline);
            let frame = tokio::select! {
                frame = receiver.recv() => frame,
                () = async { match deadline { Some(d) => tokio::time::sleep_until(d).await, None => std::future::pending().await } } => {
                    // Out of time with calls still open: restart without a handle, so the
                    // new session replays history instead of resuming mid-call.
                    let time_left = self.go_away.take().and_then(|g| g.time_left);
                    break Some(ModelError::Timeout(go_away_timeout(time_left.as_deref(), None)));
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
                    let left = time_left
                        .as_deref()
                        .and_then(parse_time_left)
                        .unwrap_or(Duration::from_secs(10));
                    self.go_away = Some(PendingGoAway {
                        time_left,
                        deadline: Instant::now() + left.saturating_sub(GO_AWAY_MARGIN),
                    });
                }
                ServerSignal::ToolCallCancellation(ids) => {
                    tracing::debug!("ids=<{ids:?}> | gemini cancelled tool calls");
                }
                ServerSignal::SetupComplete => {}
            }
        }
        self.restart_if_ready()
    }

    /// After a `goAway`: restart once no call is open and, with resumption, once the latest
    /// handle is newer than the latest tool response (a resumed session must hold every
    /// call and response the client knows of).
    fn restart_if_ready(&mut self) -> Option<ModelError> {
        self.go_away.as_ref()?;
        if lock(&self.decoder).has_open_calls() {
            return None;
        }
        let handle = lock(&self.handle).clone();
        let current = self.handle_current.load(Ordering::Acquire);
        if self.resumption && !current {
            return None;
        }
        let time_left = self.go_away.take().and_then(|g| g.time_left);
        Some(ModelError::Timeout(go_away_timeout(
            time_left.as_deref(),
            handle.as_deref().filter(|_| current),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::parse_time_left;
    use std::time::Duration;

    #[test]
    fn time_left() {
        assert_eq!(parse_time_left("50s"), Some(Duration::from_secs(50)));
        assert_eq!(parse_time_left("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_time_left("soon"), None);
        assert_eq!(parse_time_left("-1s"), None);
    }
}
