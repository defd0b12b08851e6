//! [`OpenAiRealtimeConfig`]: model id, credentials, endpoint, voice, turn detection,
//! transcription, audio, inference settings and the session timer.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bidi_types::{AudioConfig, AudioFormat, Channels, ModelError, SampleRate};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The GA endpoint.
pub const OPENAI_REALTIME_URL: &str = "wss://api.openai.com/v1/realtime";
/// The default model id.
pub const DEFAULT_MODEL: &str = "gpt-realtime-2";
/// The default voice.
pub const DEFAULT_VOICE: &str = "alloy";
/// The default instructions when the agent gives no system prompt (as the reference).
pub const DEFAULT_INSTRUCTIONS: &str = "You are a helpful assistant. Please speak in English and keep your responses clear and concise.";
/// The client's session timer by default and at most: 50 minutes, before the service's
/// 60-minute limit (30 on Azure: set a shorter timer there).
pub const MAX_SESSION_TIMEOUT: Duration = Duration::from_secs(3000);
/// The inference keys copied into `session.update`; others are dropped with a warning.
pub const SUPPORTED_INFERENCE_KEYS: [&str; 3] =
    ["max_output_tokens", "output_modalities", "tool_choice"];

/// How the service decides that the user finished a turn
/// (`session.audio.input.turn_detection`).
///
/// ```
/// use bidi_model::openai::TurnDetection;
/// let json = serde_json::to_value(TurnDetection::default()).unwrap();
/// assert_eq!(json, serde_json::json!({
///     "type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300, "silence_duration_ms": 500
/// }));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TurnDetection {
    /// Voice activity detection on silence.
    ServerVad {
        /// Activation threshold, 0 to 1.
        threshold: f64,
        /// Audio kept before speech starts, in ms.
        prefix_padding_ms: u64,
        /// Silence that ends a turn, in ms.
        silence_duration_ms: u64,
        /// Whether the service answers each turn by itself (service default: true).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        create_response: Option<bool>,
        /// Whether speech cancels the running response (service default: true).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        interrupt_response: Option<bool>,
        /// Ends an idle turn after this long, in ms.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        idle_timeout_ms: Option<u64>,
    },
    /// A model decides whether the user finished speaking.
    SemanticVad {
        /// `low`, `medium`, `high` or `auto`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        eagerness: Option<String>,
        /// Whether the service answers each turn by itself.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        create_response: Option<bool>,
        /// Whether speech cancels the running response.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        interrupt_response: Option<bool>,
    },
}

impl Default for TurnDetection {
    fn default() -> Self {
        Self::ServerVad {
            threshold: 0.5,
            prefix_padding_ms: 300,
            silence_duration_ms: 500,
            create_response: None,
            interrupt_response: None,
            idle_timeout_ms: None,
        }
    }
}

/// Transcription of the user's audio (`session.audio.input.transcription`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputTranscription {
    /// The transcription model (`gpt-4o-transcribe` by default).
    pub model: String,
    /// The spoken language (ISO-639-1), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// A hint for the transcription model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
}

impl Default for InputTranscription {
    fn default() -> Self {
        Self {
            model: "gpt-4o-transcribe".to_owned(),
            language: None,
            prompt: None,
        }
    }
}

/// The API key: never printed, never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }
    /// The key itself, for the `Authorization` header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

/// Settings of a [`BidiOpenAIRealtimeModel`](super::BidiOpenAIRealtimeModel).
///
/// Every field has the reference's default but the model: `gpt-realtime-2` (OpenAI's current
/// generally available realtime model; the reference's `gpt-realtime` is on its way out, see
/// [`lifecycle`](crate::lifecycle)), the GA endpoint, voice `alloy`,
/// server VAD (0.5 / 300 ms / 500 ms), `gpt-4o-transcribe` transcription, PCM 24 kHz mono
/// each way, a 50-minute session timer. The API key, organization and project fall back to
/// `OPENAI_API_KEY`, `OPENAI_ORGANIZATION` and `OPENAI_PROJECT`.
///
/// ```
/// use std::time::Duration;
/// use bidi_model::openai::{OpenAiRealtimeConfig, TurnDetection};
///
/// let config = OpenAiRealtimeConfig::new()
///     .api_key("sk-test")
///     .endpoint("ws://127.0.0.1:8765/v1/realtime")
///     .voice("verse")
///     .turn_detection(Some(TurnDetection::SemanticVad {
///         eagerness: Some("low".into()),
///         create_response: None,
///         interrupt_response: None,
///     }))
///     .session_timeout(Duration::from_secs(25 * 60)); // Azure: 30-minute sessions
/// assert_eq!(config.model_id, "gpt-realtime-2");
/// assert!(!format!("{config:?}").contains("sk-test"));
/// ```
#[derive(Clone)]
pub struct OpenAiRealtimeConfig {
    /// The model id, sent as `?model=`.
    pub model_id: String,
    /// The API key (`Authorization: Bearer`); `OPENAI_API_KEY` when `None`.
    pub api_key: Option<ApiKey>,
    /// `OpenAI-Organization`; `OPENAI_ORGANIZATION` when `None`.
    pub organization: Option<String>,
    /// `OpenAI-Project`; `OPENAI_PROJECT` when `None`.
    pub project: Option<String>,
    /// The WebSocket URL: a base (`wss://host[:port]`, `/v1/realtime` is added) or a full
    /// URL (`wss://host/v1/realtime[?model=...]`, or a proxy's path); `?model=` is added
    /// unless given. See [`endpoint::openai_url`](crate::endpoint::openai_url).
    pub endpoint: String,
    /// More request headers (e.g. Azure's `api-key`).
    pub extra_headers: Vec<(String, String)>,
    /// The output voice.
    pub voice: String,
    /// Turn detection; `None` sends `null` (the client then commits turns itself).
    pub turn_detection: Option<TurnDetection>,
    /// Input transcription; `None` leaves it off.
    pub transcription: Option<InputTranscription>,
    /// Audio in and out: PCM at 24 kHz (the only PCM rate the GA service takes), or
    /// G.711 μ-law at 8 kHz ([`AudioConfig::mulaw`], `audio/pcmu`: a phone call's audio
    /// as it is, see [`mulaw`](Self::mulaw)).
    pub audio: AudioConfig,
    /// `max_output_tokens`, `output_modalities`, `tool_choice`; other keys are dropped.
    pub inference: Map<String, Value>,
    /// How hard a reasoning model (the `gpt-realtime-2` family) thinks before it speaks,
    /// sent as the session's `reasoning: {effort}`; the service's default (`low`) when
    /// `None`.
    pub reasoning_effort: Option<ReasoningEffort>,
    /// The client's session timer; at most [`MAX_SESSION_TIMEOUT`].
    pub session_timeout: Duration,
    /// TLS for `wss://` (a custom root store, client certificates); when `None`, rustls
    /// trusting the bundled roots, the system's store and [`Self::ca_file`] (see
    /// [`crate::trust`]).
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// A PEM bundle of more CAs to trust for `wss://` (a private CA, a corporate TLS
    /// proxy's); ignored when [`Self::tls`] is set.
    pub ca_file: Option<std::path::PathBuf>,
    /// How many events each channel (socket in, socket out, events to the agent) holds.
    pub channel_capacity: usize,
}

/// How much a reasoning realtime model thinks before it answers: the GA session's
/// `reasoning.effort`. Higher effort answers harder questions at the cost of latency and
/// output tokens.
///
/// ```
/// use bidi_model::openai::ReasoningEffort;
/// assert_eq!(ReasoningEffort::High.as_str(), "high");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasoningEffort {
    /// `minimal`.
    Minimal,
    /// `low` (the service's default).
    Low,
    /// `medium`.
    Medium,
    /// `high`.
    High,
    /// `xhigh`.
    XHigh,
}

impl ReasoningEffort {
    /// The wire value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Minimal => "minimal",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::XHigh => "xhigh",
        }
    }
}

impl Default for OpenAiRealtimeConfig {
    fn default() -> Self {
        Self {
            model_id: DEFAULT_MODEL.to_owned(),
            reasoning_effort: None,
            api_key: None,
            organization: None,
            project: None,
            endpoint: OPENAI_REALTIME_URL.to_owned(),
            extra_headers: Vec::new(),
            voice: DEFAULT_VOICE.to_owned(),
            turn_detection: Some(TurnDetection::default()),
            transcription: Some(InputTranscription::default()),
            audio: AudioConfig::new(SampleRate::Hz24000, SampleRate::Hz24000),
            inference: Map::new(),
            session_timeout: MAX_SESSION_TIMEOUT,
            tls: None,
            ca_file: None,
            channel_capacity: 256,
        }
    }
}

impl fmt::Debug for OpenAiRealtimeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<&str> = self.extra_headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("OpenAiRealtimeConfig")
            .field("model_id", &self.model_id)
            .field("api_key", &self.api_key)
            .field("organization", &self.organization)
            .field("project", &self.project)
            .field("endpoint", &self.endpoint)
            .field("extra_headers", &headers)
            .field("voice", &self.voice)
            .field("turn_detection", &self.turn_detection)
            .field("transcription", &self.transcription)
            .field("audio", &self.audio)
            .field("inference", &self.inference)
            .field("session_timeout", &self.session_timeout)
            .field("custom_tls", &self.tls.is_some())
            .field("ca_file", &self.ca_file)
            .field("channel_capacity", &self.channel_capacity)
            .finish()
    }
}

impl OpenAiRealtimeConfig {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the reasoning effort (`gpt-realtime-2` family).
    pub fn reasoning_effort(mut self, effort: ReasoningEffort) -> Self {
        self.reasoning_effort = Some(effort);
        self
    }

    /// Sets the model id.
    pub fn model_id(mut self, model_id: impl Into<String>) -> Self {
        self.model_id = model_id.into();
        self
    }
    /// Sets the API key.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(ApiKey::new(key));
        self
    }
    /// Sets the organization header.
    pub fn organization(mut self, organization: impl Into<String>) -> Self {
        self.organization = Some(organization.into());
        self
    }
    /// Sets the project header.
    pub fn project(mut self, project: impl Into<String>) -> Self {
        self.project = Some(project.into());
        self
    }
    /// Sets the WebSocket URL, a base or a full URL (see [`Self::url`]).
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = url.into();
        self
    }
    /// Adds a request header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra_headers.push((name.into(), value.into()));
        self
    }
    /// Sets the voice.
    pub fn voice(mut self, voice: impl Into<String>) -> Self {
        self.voice = voice.into();
        self
    }

    /// Telephone audio both ways: G.711 μ-law at 8 kHz (`audio/pcmu`), so a phone call's
    /// audio passes through with no resampling or transcoding.
    ///
    /// ```
    /// use bidi_model::openai::{OpenAiRealtimeConfig, encode};
    /// let c = OpenAiRealtimeConfig::new().mulaw();
    /// let e = encode::session_update(&c, None, &[]);
    /// assert_eq!(e["session"]["audio"]["input"]["format"], serde_json::json!({"type": "audio/pcmu"}));
    /// assert_eq!(e["session"]["audio"]["output"]["format"], serde_json::json!({"type": "audio/pcmu"}));
    /// ```
    pub fn mulaw(mut self) -> Self {
        let voice = self.audio.voice.take();
        self.audio = AudioConfig::mulaw();
        self.audio.voice = voice;
        self
    }

    /// Sets turn detection (`None`: off).
    pub fn turn_detection(mut self, turn_detection: Option<TurnDetection>) -> Self {
        self.turn_detection = turn_detection;
        self
    }
    /// Sets input transcription (`None`: off).
    pub fn transcription(mut self, transcription: Option<InputTranscription>) -> Self {
        self.transcription = transcription;
        self
    }
    /// Sets one inference setting.
    pub fn inference(mut self, key: impl Into<String>, value: Value) -> Self {
        self.inference.insert(key.into(), value);
        self
    }
    /// Sets the session timer.
    pub fn session_timeout(mut self, timeout: Duration) -> Self {
        self.session_timeout = timeout;
        self
    }
    /// Sets the TLS config for `wss://`.
    pub fn tls(mut self, tls: Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Also trusts the CA certificates of this PEM file for `wss://`.
    pub fn ca_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// Checks the settings and fills the credentials from `env` (the process environment in
    /// [`BidiOpenAIRealtimeModel::new`](super::BidiOpenAIRealtimeModel::new)).
    ///
    /// ```
    /// use bidi_model::openai::OpenAiRealtimeConfig;
    /// let err = OpenAiRealtimeConfig::new().resolve(|_| None).unwrap_err();
    /// assert!(err.to_string().contains("OPENAI_API_KEY"));
    /// let ok = OpenAiRealtimeConfig::new()
    ///     .resolve(|k| (k == "OPENAI_API_KEY").then(|| "sk-env".to_owned()))
    ///     .unwrap();
    /// assert_eq!(ok.api_key.unwrap().expose(), "sk-env");
    /// ```
    pub fn resolve(mut self, env: impl Fn(&str) -> Option<String>) -> Result<Self, ModelError> {
        if self.api_key.is_none() {
            self.api_key = env("OPENAI_API_KEY").filter(|k| !k.is_empty()).map(ApiKey);
        }
        if self.api_key.is_none() {
            return Err(ModelError::Config(
                "api_key=<missing> | OpenAI API key is required: set api_key in the config or the OPENAI_API_KEY environment variable".to_owned(),
            ));
        }
        if self.organization.is_none() {
            self.organization = env("OPENAI_ORGANIZATION").filter(|v| !v.is_empty());
        }
        if self.project.is_none() {
            self.project = env("OPENAI_PROJECT").filter(|v| !v.is_empty());
        }
        if self.session_timeout > MAX_SESSION_TIMEOUT || self.session_timeout.is_zero() {
            return Err(ModelError::Config(format!(
                "session_timeout=<{:?}>, max=<{:?}> | session timeout must be above zero and within the limit",
                self.session_timeout, MAX_SESSION_TIMEOUT
            )));
        }
        self.url()?;
        let audio = &self.audio;
        let pcm = audio.format == AudioFormat::Pcm
            && audio.input_rate == SampleRate::Hz24000
            && audio.output_rate == SampleRate::Hz24000;
        let mulaw = audio.format == AudioFormat::Pcmu
            && audio.input_rate == SampleRate::Hz8000
            && audio.output_rate == SampleRate::Hz8000;
        if !(pcm || mulaw) || audio.channels != Channels::Mono {
            return Err(ModelError::Config(format!(
                "input_rate=<{}>, output_rate=<{}>, format=<{}>, channels=<{}> | OpenAI Realtime takes mono PCM at 24000 Hz, or μ-law (pcmu) at 8000 Hz",
                audio.input_rate, audio.output_rate, audio.format, audio.channels
            )));
        }
        self.audio.voice = Some(self.voice.clone());
        self.channel_capacity = self.channel_capacity.max(1);
        Ok(self)
    }

    /// The URL to connect to, from [`endpoint`](Self::endpoint) in any of the forms
    /// [`endpoint::openai_url`](crate::endpoint::openai_url) accepts: a base URL gets
    /// `/v1/realtime`, and `model=<model_id>` is added unless the query names a model.
    ///
    /// ```
    /// use bidi_model::openai::OpenAiRealtimeConfig;
    /// let c = OpenAiRealtimeConfig::new().endpoint("wss://proxy.local/rt?deployment=x");
    /// assert_eq!(c.url().unwrap(), "wss://proxy.local/rt?deployment=x&model=gpt-realtime-2");
    /// let c = OpenAiRealtimeConfig::new().endpoint("wss://api.openai.com");
    /// assert_eq!(c.url().unwrap(), "wss://api.openai.com/v1/realtime?model=gpt-realtime-2");
    /// ```
    ///
    /// # Errors
    /// [`ModelError::Config`] naming the accepted forms when the endpoint is malformed.
    pub fn url(&self) -> Result<String, ModelError> {
        crate::endpoint::openai_url(&self.endpoint, &self.model_id)
    }
}
