//! [`BidiOpenAIRealtimeModel`]: the [`BidiModel`]. Configures the session and replays
//! history on a connection opened by [`connection`](super::connection), whose task decodes
//! the server's frames; sends inputs and tool results; stops.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bidi_types::{
    BidiConnectionStartEvent, BidiInputEvent, BidiModel, ModelConfig, ModelError, ModelEventStream,
    ModelInput, StartParams,
};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::config::OpenAiRealtimeConfig;
use super::connection::{self, PROVIDER, Pump, send_json};
use super::decode::Decoder;
use super::encode;
use super::tool_turns::{AfterOutput, ToolTurns};
use crate::ws::{LiveConnection, WsConfig};

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
    session: Mutex<Option<LiveConnection>>,
    lifecycle: tokio::sync::Mutex<()>,
    /// Model audio emitted across this model's connections, in ns (the playback tracker
    /// counts from its creation, so truncation needs the same span).
    emitted_ns: Arc<AtomicU64>,
    /// The function calls of each response on the current connection (emptied at each
    /// start), shared with its pump.
    turns: Arc<Mutex<ToolTurns>>,
}

impl BidiOpenAIRealtimeModel {
    /// A model with `config`; the API key (and organization, project) fall back to the
    /// environment. Fails with [`ModelError::Config`] when no key is found or a setting is
    /// out of range. The key is never logged.
    pub fn new(config: OpenAiRealtimeConfig) -> Result<Self, ModelError> {
        let config = config.resolve(|k| std::env::var(k).ok())?;
        crate::lifecycle::warn(PROVIDER, &config.model_id);
        Ok(Self {
            url: config.url()?,
            config,
            session: Mutex::new(None),
            lifecycle: tokio::sync::Mutex::new(()),
            emitted_ns: Arc::new(AtomicU64::new(0)),
            turns: Arc::default(),
        })
    }

    /// The resolved settings.
    pub fn settings(&self) -> &OpenAiRealtimeConfig {
        &self.config
    }

    fn lock(&self) -> MutexGuard<'_, Option<LiveConnection>> {
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

#[bidi_types::async_trait]
impl BidiModel for BidiOpenAIRealtimeModel {
    fn config(&self) -> ModelConfig {
        let mut config = ModelConfig::new(&self.config.model_id, self.config.audio.clone());
        config.inference = self.config.inference.clone();
        config
    }

    fn connection_id(&self) -> Option<String> {
        self.lock().as_ref().map(|s| s.id().to_owned())
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
        let (sender, receiver, first) = connection::open(self.ws_config(), &id).await?;
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
        *self.turns.lock().unwrap_or_else(PoisonError::into_inner) = ToolTurns::default();
        let pump = Pump {
            id: id.clone(),
            sender: sender.clone(),
            decoder: Decoder::new(emitted)
                .with_output(self.config.audio.format, self.config.audio.output_rate),
            tracker: params.playback,
            item_started: None,
            deadline,
            timeout: self.config.session_timeout,
            stopping: Arc::clone(&stopping),
            emitted_ns: Arc::clone(&self.emitted_ns),
            turns: Arc::clone(&self.turns),
            events: tx,
        };
        let pump = tokio::spawn(pump.run(receiver, first));
        *self.lock() = Some(LiveConnection::new(id, sender, rx, pump, stopping));
        Ok(())
    }

    async fn send(&self, input: ModelInput) -> Result<(), ModelError> {
        let sender = self
            .lock()
            .as_ref()
            .map(|s| s.sender().clone())
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
                let item = encode::tool_result(result)?;
                send_json(&sender, &item).await?;
                let after = self
                    .turns
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .output_sent(&result.tool_use_id);
                match after {
                    AfterOutput::Create => vec![encode::response_create()],
                    AfterOutput::Wait => Vec::new(),
                }
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
        session.take_events()
    }

    async fn stop(&self) -> Result<(), ModelError> {
        let _lifecycle = self.lifecycle.lock().await;
        let Some(session) = self.lock().take() else {
            return Ok(());
        };
        session.close(PROVIDER).await;
        Ok(())
    }
}
