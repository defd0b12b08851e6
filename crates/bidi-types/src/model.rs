//! The boundary between the agent and a provider: the [`BidiModel`] trait, what it is
//! started with ([`StartParams`]), sent ([`ModelInput`]) and reports ([`ModelConfig`]), and
//! how it fails ([`ModelError`], [`ModelTimeout`]).

use std::pin::Pin;

use futures_core::Stream;
use serde_json::{Map, Value};

use crate::timeout::{ModelTimeout, RestartConfig};
use crate::{AudioConfig, BidiErrorEvent, BidiInputEvent, BidiOutputEvent, Message, ToolResult};
use crate::{PlaybackTracker, ToolSpec, TypesError};

/// Any error, boxed, for sources that are not ours.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The stream of events a started model yields. It ends when the connection closes; an
/// `Err` item is final.
pub type ModelEventStream =
    Pin<Box<dyn Stream<Item = Result<BidiOutputEvent, ModelError>> + Send + 'static>>;

/// Why a model call failed.
///
/// [`ModelError::Timeout`] is the one the agent recovers from by restarting the connection;
/// the others end the conversation (after a `bidi_error` event).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// `send`, `receive` or `stop` before `start`.
    #[error("model not started | call start before {action}")]
    NotStarted {
        /// What was attempted (`sending`, `receiving`).
        action: &'static str,
    },

    /// `start` twice.
    #[error("model already started | call stop before starting again")]
    AlreadyStarted,

    /// The provider's connection limit; restartable.
    #[error(transparent)]
    Timeout(#[from] ModelTimeout),

    /// A setting is missing or wrong (no API key, bad turn-detection value, ...).
    #[error("{0}")]
    Config(String),

    /// The connection could not be opened, or broke.
    #[error("{message}")]
    Connection {
        /// What happened, without secrets.
        message: String,
        /// The transport's error.
        #[source]
        source: Option<BoxError>,
    },

    /// The provider answered with an error.
    #[error("code=<{code}> | {message}")]
    Provider {
        /// The provider's error code or exception name.
        code: String,
        /// The provider's message.
        message: String,
    },

    /// The provider refused the credentials: a wrong, revoked or missing API key, or an AWS
    /// access key it does not know. Not retried: the fix is on the user's side.
    ///
    /// ```
    /// use bidi_types::ModelError;
    /// let e = ModelError::Unauthorized {
    ///     provider: "OpenAI",
    ///     reason: "invalid_api_key".into(),
    ///     hint: "check OPENAI_API_KEY".into(),
    /// };
    /// assert_eq!(e.to_string(), "OpenAI rejected the credentials (invalid_api_key): check OPENAI_API_KEY");
    /// assert_eq!(e.code(), "ModelUnauthorizedError");
    /// ```
    #[error("{provider} rejected the credentials ({reason}): {hint}")]
    Unauthorized {
        /// Which provider (`OpenAI`, `Gemini`, `Nova Sonic`).
        provider: &'static str,
        /// What the provider answered (status, error code, its message), never the secret.
        reason: String,
        /// What to fix, e.g. `check OPENAI_API_KEY`.
        hint: String,
    },

    /// A frame from the provider could not be understood.
    #[error("malformed provider frame | {0}")]
    Protocol(String),

    /// Something the provider cannot take (an image for a speech-only model, a document
    /// in a tool result).
    #[error("content_type=<{content}> | content not supported by {provider}")]
    Unsupported {
        /// What was refused.
        content: String,
        /// Which provider.
        provider: &'static str,
    },

    /// An event or value was invalid.
    #[error(transparent)]
    Types(#[from] TypesError),

    /// The connection is closed.
    #[error("connection closed | {0}")]
    Closed(String),
}

impl ModelError {
    /// A connection error without a source.
    pub fn connection(message: impl Into<String>) -> Self {
        Self::Connection {
            message: message.into(),
            source: None,
        }
    }

    /// Whether the agent should restart the connection rather than stop.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout(_))
    }

    /// The kind of error, as written in `bidi_error.code`.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::NotStarted { .. } => "ModelNotStartedError",
            Self::AlreadyStarted => "ModelAlreadyStartedError",
            Self::Timeout(_) => "BidiModelTimeoutError",
            Self::Config(_) => "ModelConfigError",
            Self::Connection { .. } => "ModelConnectionError",
            Self::Provider { .. } => "ModelProviderError",
            Self::Unauthorized { .. } => "ModelUnauthorizedError",
            Self::Protocol(_) => "ModelProtocolError",
            Self::Unsupported { .. } => "ModelUnsupportedContentError",
            Self::Types(_) => "ValueError",
            Self::Closed(_) => "ModelConnectionClosedError",
        }
    }

    /// The `bidi_error` event that reports this error.
    ///
    /// ```
    /// use bidi_types::ModelError;
    /// let e = ModelError::Protocol("expected JSON".into()).to_event();
    /// assert_eq!(e.code(), "ModelProtocolError");
    /// assert_eq!(e.message(), "malformed provider frame | expected JSON");
    /// ```
    pub fn to_event(&self) -> BidiErrorEvent {
        let event = BidiErrorEvent::new(self.to_string(), self.code());
        match self {
            Self::Provider { code, .. } => {
                let mut details = Map::new();
                details.insert("provider_code".into(), Value::String(code.clone()));
                event.with_details(details)
            }
            Self::Unauthorized { provider, .. } => {
                let mut details = Map::new();
                details.insert("provider".into(), Value::String((*provider).to_owned()));
                event.with_details(details)
            }
            _ => event,
        }
    }
}

/// What a model connection is opened with.
#[derive(Debug, Clone, Default)]
pub struct StartParams {
    /// Instructions for the model.
    pub system_prompt: Option<String>,
    /// The tools it may call.
    pub tools: Vec<ToolSpec>,
    /// The conversation so far, replayed into the new connection.
    pub messages: Vec<Message>,
    /// Settings carried over by a restart (empty on a first start).
    pub restart_config: RestartConfig,
    /// What the audio output has played, for providers that cut an interrupted turn to what
    /// the user heard. The agent passes the same tracker on every start.
    pub playback: Option<PlaybackTracker>,
}

/// What the agent sends a started model.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelInput {
    /// Text, audio or an image.
    Event(BidiInputEvent),
    /// A tool's answer to one of the model's tool uses.
    ToolResult(ToolResult),
}

impl<T: Into<BidiInputEvent>> From<T> for ModelInput {
    fn from(e: T) -> Self {
        Self::Event(e.into())
    }
}

impl From<ToolResult> for ModelInput {
    fn from(r: ToolResult) -> Self {
        Self::ToolResult(r)
    }
}

/// What a model reports about itself: its id, its audio (after merging user settings with
/// the provider's defaults) and its inference settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    /// The provider's model id.
    pub model_id: String,
    /// The audio it takes and gives.
    pub audio: AudioConfig,
    /// Inference settings as given (provider-specific keys).
    pub inference: Map<String, Value>,
}

impl ModelConfig {
    /// A config with no inference settings.
    pub fn new(model_id: impl Into<String>, audio: AudioConfig) -> Self {
        Self {
            model_id: model_id.into(),
            audio,
            inference: Map::new(),
        }
    }
}

/// A speech-to-speech model behind a persistent, bidirectional connection.
///
/// The agent calls `start`, then concurrently `send`s input and consumes the stream from
/// `receive`, and finally calls `stop`. Methods take `&self` so that sending and receiving
/// can run at once from different tasks; implementations keep their connection state behind
/// interior mutability. The trait is object safe: the agent holds a `Box<dyn BidiModel>`.
///
/// Implementations are expected to:
/// - yield [`BidiOutputEvent::ConnectionStart`] first from `receive`;
/// - turn a malformed provider frame into a [`BidiOutputEvent::Error`] event (or an `Err`
///   item when the connection cannot go on), never a panic;
/// - end the stream with `Err(ModelError::Timeout)` when the provider's connection limit is
///   reached, so the agent restarts with history;
/// - make `stop` idempotent.
///
/// # Example
///
/// A model that answers every text with the same text, as a transcript:
///
/// ```
/// use std::sync::Mutex;
/// use async_trait::async_trait;
/// use bidi_types::*;
/// use tokio::sync::mpsc;
///
/// struct Echo {
///     tx: Mutex<Option<mpsc::UnboundedSender<Result<BidiOutputEvent, ModelError>>>>,
///     rx: Mutex<Option<mpsc::UnboundedReceiver<Result<BidiOutputEvent, ModelError>>>>,
/// }
///
/// #[async_trait]
/// impl BidiModel for Echo {
///     fn config(&self) -> ModelConfig {
///         ModelConfig::new("echo", AudioConfig::new(SampleRate::Hz16000, SampleRate::Hz16000))
///     }
///     fn connection_id(&self) -> Option<String> {
///         self.tx.lock().unwrap().as_ref().map(|_| "echo-1".to_owned())
///     }
///     async fn start(&self, _params: StartParams) -> Result<(), ModelError> {
///         let (tx, rx) = mpsc::unbounded_channel();
///         tx.send(Ok(BidiConnectionStartEvent::new("echo-1", "echo").into())).ok();
///         *self.tx.lock().unwrap() = Some(tx);
///         *self.rx.lock().unwrap() = Some(rx);
///         Ok(())
///     }
///     async fn send(&self, input: ModelInput) -> Result<(), ModelError> {
///         let guard = self.tx.lock().unwrap();
///         let tx = guard.as_ref().ok_or(ModelError::NotStarted { action: "sending" })?;
///         if let ModelInput::Event(BidiInputEvent::Text(t)) = input {
///             let e = BidiTranscriptStreamEvent::new(t.text(), Role::Assistant, true, None);
///             tx.send(Ok(e.into())).ok();
///         }
///         Ok(())
///     }
///     fn receive(&self) -> Result<ModelEventStream, ModelError> {
///         let rx = self.rx.lock().unwrap().take().ok_or(ModelError::NotStarted { action: "receiving" })?;
///         Ok(Box::pin(tokio_stream::wrappers::UnboundedReceiverStream::new(rx)))
///     }
///     async fn stop(&self) -> Result<(), ModelError> {
///         self.tx.lock().unwrap().take();
///         Ok(())
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ModelError> {
/// use futures_util::StreamExt;
///
/// let model: Box<dyn BidiModel> = Box::new(Echo { tx: Mutex::new(None), rx: Mutex::new(None) });
/// model.start(StartParams::default()).await?;
/// let mut events = model.receive()?;
/// model.send("hello".into()).await?;
/// assert!(matches!(events.next().await, Some(Ok(BidiOutputEvent::ConnectionStart(_)))));
/// match events.next().await {
///     Some(Ok(BidiOutputEvent::TranscriptStream(t))) => assert_eq!(t.text(), "hello"),
///     other => panic!("unexpected {other:?}"),
/// }
/// model.stop().await?;
/// # Ok(()) }
/// ```
#[async_trait::async_trait]
pub trait BidiModel: Send + Sync {
    /// The model's id, audio and inference settings. Audio IO reads it at start.
    fn config(&self) -> ModelConfig;

    /// The id of the open connection, `None` when stopped.
    fn connection_id(&self) -> Option<String>;

    /// Opens the connection with the system prompt, the tools and the history (and, on a
    /// restart, the provider's restart settings). Errors with [`ModelError::AlreadyStarted`]
    /// when already started.
    async fn start(&self, params: StartParams) -> Result<(), ModelError>;

    /// Sends text, audio, an image or a tool result.
    async fn send(&self, input: ModelInput) -> Result<(), ModelError>;

    /// The events of the current connection. Call once per `start`.
    fn receive(&self) -> Result<ModelEventStream, ModelError>;

    /// Closes the connection, sending the provider's closing events. Idempotent.
    async fn stop(&self) -> Result<(), ModelError>;
}
