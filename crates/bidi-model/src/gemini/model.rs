//! [`BidiGeminiLiveModel`]: the [`BidiModel`]. Builds the `setup`, opens the connection
//! ([`connection`](super::connection)), replays history unless resuming, sends inputs and
//! tool responses, stops.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bidi_types::{
    BidiConnectionStartEvent, BidiInputEvent, BidiModel, ModelConfig, ModelError, ModelEventStream,
    ModelInput, StartParams, ToolScheduling,
};
use serde_json::Value;
use tokio::sync::mpsc;

use super::config::GeminiLiveConfig;
use super::connection::{self, PROVIDER, Pump, lock, send_json};
use super::decode::Decoder;
use super::go_away::GoAway;
use super::{RESTART_HANDLE_KEY, encode};
use crate::ws::{LiveConnection, WsConfig, WsSender};

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
    /// Each tool's result scheduling, by name, where its spec sets one.
    scheduling: Arc<HashMap<String, ToolScheduling>>,
}

/// A started connection and what `send` needs of it.
#[derive(Debug)]
struct Session {
    live: LiveConnection,
    link: Link,
}

impl BidiGeminiLiveModel {
    /// A model with `config`. Fails with [`ModelError::Config`] when no API key is given
    /// and neither `GOOGLE_API_KEY` nor `GEMINI_API_KEY` is set. The key is never logged.
    pub fn new(config: GeminiLiveConfig) -> Result<Self, ModelError> {
        crate::lifecycle::warn(PROVIDER, &config.model_id);
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

#[bidi_types::async_trait]
impl BidiModel for BidiGeminiLiveModel {
    fn config(&self) -> ModelConfig {
        let mut config = ModelConfig::new(&self.config.model_id, self.config.audio.clone());
        config.inference = self.config.generation.clone();
        config
    }

    fn connection_id(&self) -> Option<String> {
        lock(&self.session).as_ref().map(|s| s.live.id().to_owned())
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
        let decoder = Arc::new(Mutex::new(Decoder::new(&id, self.config.audio.clone())));
        let (sender, receiver) = connection::open(
            self.ws_config(),
            &id,
            &setup,
            &decoder,
            self.config.setup_timeout,
        )
        .await?;
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
            go_away: GoAway::default(),
        };
        let pump = tokio::spawn(pump.run(receiver));
        *lock(&self.session) = Some(Session {
            link: Link {
                sender: sender.clone(),
                decoder,
                handle_current,
                scheduling: Arc::new(
                    params
                        .tools
                        .iter()
                        .filter_map(|t| Some((t.name.clone(), t.scheduling?)))
                        .collect(),
                ),
            },
            live: LiveConnection::new(id, sender, rx, pump, stopping),
        });
        Ok(())
    }

    async fn send(&self, input: ModelInput) -> Result<(), ModelError> {
        let Link {
            sender,
            decoder,
            handle_current,
            scheduling,
        } = self.link()?;
        let message = match &input {
            ModelInput::Event(BidiInputEvent::Text(t)) => encode::text(&self.config, t.text()),
            ModelInput::Event(BidiInputEvent::Audio(a)) => {
                encode::audio(a.audio(), self.config.audio.input_rate.hz())
            }
            ModelInput::Event(BidiInputEvent::Image(i)) => encode::image(i.image(), i.mime_type()),
            // A player's report is the agent's business: nothing goes on the wire.
            ModelInput::Event(BidiInputEvent::Playback(_)) => return Ok(()),
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
                let schedule = scheduling.get(&name).copied();
                let response = encode::function_response(result, &name, schedule)?;
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
        session.live.take_events()
    }

    async fn stop(&self) -> Result<(), ModelError> {
        let _lifecycle = self.lifecycle.lock().await;
        let Some(session) = lock(&self.session).take() else {
            return Ok(());
        };
        session.live.close(PROVIDER).await;
        Ok(())
    }
}
