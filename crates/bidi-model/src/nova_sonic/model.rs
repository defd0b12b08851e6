//! [`BidiNovaSonicModel`]: the [`BidiModel`] over a [`Session`] task.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_sdk_bedrockruntime::Client;
use aws_sdk_bedrockruntime::config::Region;
use bidi_types::{
    BidiConnectionStartEvent, BidiInputEvent, BidiModel, ModelConfig, ModelError, ModelEventStream,
    ModelInput, StartParams, async_trait,
};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;

use super::encode;
use super::http;
use super::session::{Command, EventSender, Session, SessionParams};
use super::{DEFAULT_REGION, NovaSonicConfig};
use crate::trust::CaFile;

/// Commands queued from `send` before it waits.
const COMMAND_CAPACITY: usize = 64;
/// Events queued for `receive` before the session waits.
const EVENT_CAPACITY: usize = 256;
/// Longest a stop waits for the session to close.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

struct Running {
    id: String,
    commands: mpsc::Sender<Command>,
    stop: watch::Sender<bool>,
    events: Option<mpsc::Receiver<Result<bidi_types::BidiOutputEvent, ModelError>>>,
    task: JoinHandle<()>,
}

/// Amazon Nova Sonic, a [`BidiModel`] over Bedrock's bidirectional stream.
///
/// ```no_run
/// use bidi_model::nova_sonic::{BidiNovaSonicModel, NovaSonicConfig};
/// use bidi_types::{BidiModel, StartParams};
///
/// # async fn demo() -> Result<(), bidi_types::ModelError> {
/// let model = BidiNovaSonicModel::new(NovaSonicConfig::default().with_region("us-east-1"))?;
/// model.start(StartParams { system_prompt: Some("Be brief.".into()), ..Default::default() }).await?;
/// let events = model.receive()?;
/// model.send("Hello!".into()).await?;
/// # drop(events);
/// model.stop().await?;
/// # Ok(()) }
/// ```
pub struct BidiNovaSonicModel {
    config: Arc<NovaSonicConfig>,
    running: Mutex<Option<Running>>,
}

impl std::fmt::Debug for BidiNovaSonicModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BidiNovaSonicModel")
            .field("config", &self.config)
            .field("connection_id", &self.connection_id())
            .finish()
    }
}

impl BidiNovaSonicModel {
    /// A model with `config`, validated (see [`NovaSonicConfig::validate`]). A full
    /// `.../model/MODEL_ID/invoke-with-bidirectional-stream` endpoint URL is cut back to its
    /// base, its model id used, and the region of an AWS host used when none is configured
    /// (see [`endpoint::bedrock_endpoint`](crate::endpoint::bedrock_endpoint)).
    pub fn new(mut config: NovaSonicConfig) -> Result<Self, ModelError> {
        config.validate()?;
        if let Some(url) = &config.endpoint_url {
            let endpoint = crate::endpoint::bedrock_endpoint(url)?;
            if let Some(model_id) = endpoint.model_id {
                if model_id != config.model_id {
                    tracing::info!(
                        "model_id=<{model_id}>, configured=<{}> | using the model the endpoint URL names",
                        config.model_id
                    );
                }
                config.model_id = model_id;
            }
            if config.region.is_none() {
                config.region = endpoint.region;
            }
            config.endpoint_url = Some(endpoint.url);
            config.validate()?;
        }
        crate::lifecycle::warn("Nova Sonic", &config.model_id);
        Ok(Self {
            config: Arc::new(config),
            running: Mutex::new(None),
        })
    }

    /// The settings.
    pub fn settings(&self) -> &NovaSonicConfig {
        &self.config
    }

    fn lock(&self) -> MutexGuard<'_, Option<Running>> {
        // A poisoned lock only means a panic elsewhere; the state itself stays consistent.
        self.running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The client: the configured one, or one from the AWS chain with the overrides.
    async fn client(&self) -> Result<Client, ModelError> {
        if let Some(client) = &self.config.client {
            return Ok(client.clone());
        }
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(region) = &self.config.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(credentials) = &self.config.credentials {
            loader = loader.credentials_provider(credentials.clone());
        }
        if let Some(path) = &self.config.ca_file {
            let ca_file = CaFile::load(path).map_err(|e| ModelError::Config(e.to_string()))?;
            loader = loader.http_client(http::client_trusting(&ca_file)?);
        }
        let sdk = loader.load().await;
        if sdk.credentials_provider().is_none() {
            return Err(ModelError::Config(
                "no AWS credentials found. configure credentials via environment variables, credential files, IAM roles, or SSO.".into(),
            ));
        }
        let mut builder = aws_sdk_bedrockruntime::config::Builder::from(&sdk);
        if sdk.region().is_none() {
            builder = builder.region(Region::new(DEFAULT_REGION));
        }
        if let Some(url) = &self.config.endpoint_url {
            builder = builder.endpoint_url(url.clone());
        }
        Ok(Client::from_conf(builder.build()))
    }
}

#[async_trait]
impl BidiModel for BidiNovaSonicModel {
    fn config(&self) -> ModelConfig {
        let mut audio = self.config.audio.clone();
        audio.voice = Some(self.config.voice.clone());
        let mut config = ModelConfig::new(self.config.model_id.clone(), audio);
        config.inference = self.config.inference.to_map();
        config
    }

    fn connection_id(&self) -> Option<String> {
        self.lock().as_ref().map(|r| r.id.clone())
    }

    async fn start(&self, params: StartParams) -> Result<(), ModelError> {
        if self.lock().is_some() {
            return Err(ModelError::AlreadyStarted);
        }
        let client = self.client().await?;
        let id = uuid::Uuid::new_v4().to_string();
        let (events_tx, events_rx): (EventSender, _) = mpsc::channel(EVENT_CAPACITY);
        events_tx
            .send(Ok(BidiConnectionStartEvent::new(
                id.clone(),
                self.config.model_id.clone(),
            )
            .into()))
            .await
            .ok();
        let (stop, stop_rx) = watch::channel(false);
        let session = Session::open(
            SessionParams {
                client,
                config: self.config.clone(),
                system_prompt: params.system_prompt,
                tools: params.tools,
                history: params.messages,
                stop: stop_rx,
            },
            events_tx,
        )
        .await;
        let (commands, commands_rx) = mpsc::channel(COMMAND_CAPACITY);
        let task = tokio::spawn(session.run(commands_rx));
        let mut running = self.lock();
        if running.is_some() {
            task.abort();
            return Err(ModelError::AlreadyStarted);
        }
        tracing::debug!(
            "connection_id=<{id}>, model_id=<{}> | started",
            self.config.model_id
        );
        *running = Some(Running {
            id,
            commands,
            stop,
            events: Some(events_rx),
            task,
        });
        Ok(())
    }

    async fn send(&self, input: ModelInput) -> Result<(), ModelError> {
        let commands = self
            .lock()
            .as_ref()
            .map(|r| r.commands.clone())
            .ok_or(ModelError::NotStarted { action: "sending" })?;
        // Refuse what Nova Sonic cannot take here, so the caller gets the error.
        match &input {
            ModelInput::Event(BidiInputEvent::Image(_)) => {
                return Err(ModelError::Unsupported {
                    content: "image".into(),
                    provider: "Nova Sonic",
                });
            }
            ModelInput::ToolResult(result) => {
                encode::tool_result_payload(result)?;
            }
            _ => {}
        }
        commands
            .send(Command::Input(input))
            .await
            .map_err(|_| ModelError::Closed("the connection has ended".into()))
    }

    fn receive(&self) -> Result<ModelEventStream, ModelError> {
        let rx =
            self.lock()
                .as_mut()
                .and_then(|r| r.events.take())
                .ok_or(ModelError::NotStarted {
                    action: "receiving",
                })?;
        Ok(Box::pin(ReceiverStream::new(rx)))
    }

    async fn stop(&self) -> Result<(), ModelError> {
        let Some(running) = self.lock().take() else {
            return Ok(());
        };
        let Running {
            id, stop, mut task, ..
        } = running;
        stop.send(true).ok();
        if tokio::time::timeout(STOP_TIMEOUT, &mut task).await.is_err() {
            tracing::warn!("connection_id=<{id}> | stop timed out, aborting the session");
            task.abort();
        }
        tracing::debug!("connection_id=<{id}> | stopped");
        Ok(())
    }
}
