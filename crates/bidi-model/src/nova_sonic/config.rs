//! [`NovaSonicConfig`]: the model id, AWS client settings, voice, inference, turn detection,
//! audio and connection-lifetime settings of a [`BidiNovaSonicModel`](super::BidiNovaSonicModel).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use bidi_types::{AudioConfig, AudioFormat, ModelError, SampleRate};
use serde_json::{Map, Value, json};

/// Nova Sonic v1.
pub const NOVA_SONIC_V1_MODEL_ID: &str = "amazon.nova-sonic-v1:0";
/// Nova Sonic v2, the default.
pub const NOVA_SONIC_V2_MODEL_ID: &str = "amazon.nova-2-sonic-v1:0";
/// The region used when neither the config nor the AWS chain gives one.
pub const DEFAULT_REGION: &str = "us-east-1";
/// The default voice.
pub const DEFAULT_VOICE: &str = "matthew";

/// Inference settings, sent in `sessionStart.inferenceConfiguration` (only those set).
///
/// The default is what AWS's Nova Sonic samples send: `maxTokens` 1024, `topP` 0.9,
/// `temperature` 0.7. Set a field to `None` to leave it to the service.
///
/// ```
/// use bidi_model::nova_sonic::{InferenceConfig, NovaSonicConfig};
///
/// let d = InferenceConfig::default();
/// assert_eq!((d.max_tokens, d.top_p, d.temperature), (Some(1024), Some(0.9), Some(0.7)));
/// let config = NovaSonicConfig::default()
///     .with_inference(InferenceConfig { temperature: Some(0.2), ..InferenceConfig::default() });
/// assert_eq!(config.inference.temperature, Some(0.2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InferenceConfig {
    /// `maxTokens`.
    pub max_tokens: Option<u32>,
    /// `temperature`.
    pub temperature: Option<f64>,
    /// `topP`.
    pub top_p: Option<f64>,
}

/// AWS's samples' `maxTokens`.
pub const DEFAULT_MAX_TOKENS: u32 = 1024;
/// AWS's samples' `topP`.
pub const DEFAULT_TOP_P: f64 = 0.9;
/// AWS's samples' `temperature`.
pub const DEFAULT_TEMPERATURE: f64 = 0.7;

impl Default for InferenceConfig {
    fn default() -> Self {
        Self {
            max_tokens: Some(DEFAULT_MAX_TOKENS),
            temperature: Some(DEFAULT_TEMPERATURE),
            top_p: Some(DEFAULT_TOP_P),
        }
    }
}

impl InferenceConfig {
    /// No setting: the service's own defaults (`inferenceConfiguration: {}`).
    pub const fn unset() -> Self {
        Self {
            max_tokens: None,
            temperature: None,
            top_p: None,
        }
    }

    /// The wire object (`maxTokens`, `temperature`, `topP`).
    pub fn to_wire(&self) -> Map<String, Value> {
        let mut m = Map::new();
        if let Some(v) = self.max_tokens {
            m.insert("maxTokens".into(), json!(v));
        }
        if let Some(v) = self.temperature {
            m.insert("temperature".into(), json!(v));
        }
        if let Some(v) = self.top_p {
            m.insert("topP".into(), json!(v));
        }
        m
    }

    /// The settings as given, with the reference's snake_case keys (for
    /// [`ModelConfig::inference`](bidi_types::ModelConfig::inference)).
    pub fn to_map(&self) -> Map<String, Value> {
        let mut m = Map::new();
        if let Some(v) = self.max_tokens {
            m.insert("max_tokens".into(), json!(v));
        }
        if let Some(v) = self.temperature {
            m.insert("temperature".into(), json!(v));
        }
        if let Some(v) = self.top_p {
            m.insert("top_p".into(), json!(v));
        }
        m
    }
}

/// Turn detection's `endpointingSensitivity` (Nova Sonic v2 only): how quickly the model
/// decides the user has finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnDetection {
    /// `HIGH`: ends turns soonest.
    High,
    /// `MEDIUM`.
    Medium,
    /// `LOW`: waits longest.
    Low,
}

impl TurnDetection {
    /// The wire spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::High => "HIGH",
            Self::Medium => "MEDIUM",
            Self::Low => "LOW",
        }
    }
}

impl fmt::Display for TurnDetection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TurnDetection {
    type Err = ModelError;

    /// ```
    /// use bidi_model::nova_sonic::TurnDetection;
    /// assert_eq!("LOW".parse::<TurnDetection>().unwrap(), TurnDetection::Low);
    /// assert_eq!(
    ///     "FAST".parse::<TurnDetection>().unwrap_err().to_string(),
    ///     "Invalid endpointingSensitivity: FAST. Must be HIGH, MEDIUM, or LOW"
    /// );
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "HIGH" => Ok(Self::High),
            "MEDIUM" => Ok(Self::Medium),
            "LOW" => Ok(Self::Low),
            other => Err(ModelError::Config(format!(
                "Invalid endpointingSensitivity: {other}. Must be HIGH, MEDIUM, or LOW"
            ))),
        }
    }
}

/// How a [`BidiNovaSonicModel`](super::BidiNovaSonicModel) connects and what it asks for.
///
/// ```
/// use std::time::Duration;
/// use bidi_model::nova_sonic::{NovaSonicConfig, TurnDetection};
///
/// let config = NovaSonicConfig::default()
///     .with_region("eu-north-1")
///     .with_voice("tiffany")
///     .with_turn_detection(TurnDetection::Medium)
///     .with_restart_after(Some(Duration::from_secs(360)));
/// assert_eq!(config.model_id, "amazon.nova-2-sonic-v1:0");
/// assert!(config.validate().is_ok());
/// ```
#[derive(Clone)]
pub struct NovaSonicConfig {
    /// The Bedrock model id (default [`NOVA_SONIC_V2_MODEL_ID`]).
    pub model_id: String,
    /// The AWS region; `None`: the AWS chain's, else [`DEFAULT_REGION`].
    pub region: Option<String>,
    /// Another endpoint than `https://bedrock-runtime.<region>.amazonaws.com` (a VPC endpoint,
    /// a proxy, a local simulator): a base URL, or the full
    /// `.../model/MODEL_ID/invoke-with-bidirectional-stream` URL
    /// (see [`endpoint::bedrock_endpoint`](crate::endpoint::bedrock_endpoint)).
    pub endpoint_url: Option<String>,
    /// Static credentials instead of the AWS chain.
    pub credentials: Option<aws_sdk_bedrockruntime::config::Credentials>,
    /// A ready client; when set, `region`, `endpoint_url` and `credentials` are not used.
    pub client: Option<aws_sdk_bedrockruntime::Client>,
    /// A PEM bundle of more CAs to trust (a private endpoint's CA, a corporate TLS proxy's),
    /// besides the system's store (which honours `SSL_CERT_FILE` / `SSL_CERT_DIR`); not used
    /// with [`Self::client`].
    pub ca_file: Option<std::path::PathBuf>,
    /// The voice (`voiceId`, default [`DEFAULT_VOICE`]).
    pub voice: String,
    /// Inference settings.
    pub inference: InferenceConfig,
    /// Turn detection (v2 only).
    pub turn_detection: Option<TurnDetection>,
    /// Audio in and out (default: 16 kHz in and out, mono, PCM).
    pub audio: AudioConfig,
    /// Reconnect proactively, at the first turn boundary after this long, before the
    /// service's ~8-minute connection limit (default 6.5 minutes; `None`: only when the
    /// service times out).
    pub restart_after: Option<Duration>,
    /// Most user audio held while the next connection opens (default 10 s); older audio is
    /// dropped first.
    pub handoff_buffer: Duration,
    /// User audio sent on the old connection since the model's last final user transcript
    /// (what it has not yet turned into words), up to this much, is replayed to the next
    /// connection at a hand-off, so speech begun just before the turn boundary is not lost
    /// (default 3 s; zero disables). Audio already transcribed is never replayed, so nothing
    /// is answered twice.
    pub handoff_replay: Duration,
    /// Stream silence at real-time pace whenever no user audio flows (default on), as
    /// cross-modal text input needs an active audio stream.
    pub silence_keepalive: bool,
    /// Duration of one silence frame (default 32 ms).
    pub silence_frame: Duration,
}

impl fmt::Debug for NovaSonicConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NovaSonicConfig")
            .field("model_id", &self.model_id)
            .field("region", &self.region)
            .field("endpoint_url", &self.endpoint_url)
            .field(
                "credentials",
                &self.credentials.as_ref().map(|_| "<static>"),
            )
            .field("client", &self.client.as_ref().map(|_| "<client>"))
            .field("ca_file", &self.ca_file)
            .field("voice", &self.voice)
            .field("inference", &self.inference)
            .field("turn_detection", &self.turn_detection)
            .field("audio", &self.audio)
            .field("restart_after", &self.restart_after)
            .field("handoff_buffer", &self.handoff_buffer)
            .field("handoff_replay", &self.handoff_replay)
            .field("silence_keepalive", &self.silence_keepalive)
            .field("silence_frame", &self.silence_frame)
            .finish()
    }
}

impl Default for NovaSonicConfig {
    fn default() -> Self {
        Self {
            model_id: NOVA_SONIC_V2_MODEL_ID.to_owned(),
            region: None,
            endpoint_url: None,
            credentials: None,
            client: None,
            ca_file: None,
            voice: DEFAULT_VOICE.to_owned(),
            inference: InferenceConfig::default(),
            turn_detection: None,
            audio: AudioConfig::new(SampleRate::Hz16000, SampleRate::Hz16000),
            restart_after: Some(Duration::from_secs(390)),
            handoff_buffer: Duration::from_secs(10),
            handoff_replay: Duration::from_secs(3),
            silence_keepalive: true,
            silence_frame: Duration::from_millis(32),
        }
    }
}

impl NovaSonicConfig {
    /// With another model id.
    pub fn with_model_id(mut self, model_id: impl Into<String>) -> Self {
        self.model_id = model_id.into();
        self
    }

    /// With a region.
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// With another endpoint.
    pub fn with_endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.endpoint_url = Some(url.into());
        self
    }

    /// With static credentials.
    pub fn with_credentials(
        mut self,
        credentials: aws_sdk_bedrockruntime::config::Credentials,
    ) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// With a ready client.
    pub fn with_client(mut self, client: aws_sdk_bedrockruntime::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Also trusting the CA certificates of this PEM file.
    pub fn with_ca_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// With a voice.
    pub fn with_voice(mut self, voice: impl Into<String>) -> Self {
        self.voice = voice.into();
        self
    }

    /// With inference settings.
    pub fn with_inference(mut self, inference: InferenceConfig) -> Self {
        self.inference = inference;
        self
    }

    /// With turn detection (v2 only).
    pub fn with_turn_detection(mut self, turn: TurnDetection) -> Self {
        self.turn_detection = Some(turn);
        self
    }

    /// With audio settings.
    pub fn with_audio(mut self, audio: AudioConfig) -> Self {
        self.audio = audio;
        self
    }

    /// With another proactive restart threshold (`None`: off).
    pub fn with_restart_after(mut self, after: Option<Duration>) -> Self {
        self.restart_after = after;
        self
    }

    /// Checks the settings as the reference does: turn detection only with v2, PCM audio,
    /// a non-empty model id and voice.
    pub fn validate(&self) -> Result<(), ModelError> {
        if self.model_id.is_empty() {
            return Err(ModelError::Config("model_id=<> | model id is empty".into()));
        }
        if self.turn_detection.is_some() && self.model_id == NOVA_SONIC_V1_MODEL_ID {
            return Err(ModelError::Config(format!(
                "turn_detection is only supported in Nova Sonic v2. Current model_id: {}. Use {NOVA_SONIC_V2_MODEL_ID} instead.",
                self.model_id
            )));
        }
        if self.audio.format != AudioFormat::Pcm {
            return Err(ModelError::Config(format!(
                "format=<{}> | Nova Sonic takes and gives PCM (audio/lpcm) only",
                self.audio.format
            )));
        }
        if self.voice.is_empty() {
            return Err(ModelError::Config("voice=<> | voice is empty".into()));
        }
        if let Some(url) = &self.endpoint_url {
            crate::endpoint::bedrock_endpoint(url)?;
        }
        if self.silence_frame.is_zero() {
            return Err(ModelError::Config(
                "silence_frame=<0> | silence frames must last more than 0 ms".into(),
            ));
        }
        Ok(())
    }
}
