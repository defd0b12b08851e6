//! [`GeminiLiveConfig`]: the Gemini Live provider's settings and defaults.

use std::sync::Arc;
use std::time::Duration;

use bidi_types::{AudioConfig, ModelError, SampleRate};
use serde_json::{Map, Value};

/// The reference's default model.
pub const DEFAULT_MODEL: &str = "gemini-2.5-flash-native-audio-preview-09-2025";

/// The public endpoint's host and path prefix; the API version and service name follow.
pub const DEFAULT_BASE_URL: &str = "wss://generativelanguage.googleapis.com/ws";

/// The API version the reference uses.
pub const DEFAULT_API_VERSION: &str = "v1alpha";

/// What the model answers with. Gemini accepts one modality per session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResponseModality {
    /// Speech (with output transcription when enabled).
    #[default]
    Audio,
    /// Text only.
    Text,
}

impl ResponseModality {
    /// The wire spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Audio => "AUDIO",
            Self::Text => "TEXT",
        }
    }
}

/// How mid-session text reaches the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TextInputMode {
    /// `realtimeInput.text`: what current models require mid-session (the default).
    #[default]
    RealtimeInput,
    /// `clientContent` with `turnComplete: true`, as the reference sends it.
    ClientContent,
}

/// Settings of a [`BidiGeminiLiveModel`](super::BidiGeminiLiveModel).
///
/// ```
/// use bidi_model::gemini::GeminiLiveConfig;
///
/// let cfg = GeminiLiveConfig::default().with_api_key("k").with_voice("Puck");
/// assert_eq!(cfg.audio.input_rate.hz(), 16_000);
/// assert_eq!(cfg.audio.output_rate.hz(), 24_000);
/// assert!(cfg.url()?.starts_with("wss://generativelanguage.googleapis.com/ws/google.ai.generativelanguage.v1alpha."));
/// # Ok::<(), bidi_types::ModelError>(())
/// ```
#[derive(Clone)]
pub struct GeminiLiveConfig {
    /// Model id, without the `models/` prefix.
    pub model_id: String,
    /// API key; when `None`, `GOOGLE_API_KEY` then `GEMINI_API_KEY` are read at start.
    pub api_key: Option<String>,
    /// The WebSocket URL: a base (`wss://host[:port]`, `wss://host/ws`, or a proxy's path
    /// prefix; the service path is added) or the full URL of the `BidiGenerateContent`
    /// method, any API version. See [`endpoint::gemini_url`](crate::endpoint::gemini_url).
    pub base_url: String,
    /// API version (`v1alpha`, `v1beta`) added to a base URL; a full URL keeps its own.
    pub api_version: String,
    /// Audio: 16 kHz in, 24 kHz out, mono PCM; `voice` is the prebuilt voice name.
    pub audio: AudioConfig,
    /// What the model answers with.
    pub response_modality: ResponseModality,
    /// Ask for transcripts of the user's speech.
    pub input_transcription: bool,
    /// Ask for transcripts of the model's speech.
    pub output_transcription: bool,
    /// Extra `generationConfig` keys (`temperature`, `topP`, `maxOutputTokens`, ...).
    pub generation: Map<String, Value>,
    /// `realtimeInputConfig` (voice activity detection settings), when set.
    pub realtime_input_config: Option<Value>,
    /// `contextWindowCompression` (e.g. `{"slidingWindow": {}}`) for sessions past 15 min.
    pub context_window_compression: Option<Value>,
    /// Ask for session resumption handles, so a `goAway` restart resumes the session.
    pub session_resumption: bool,
    /// How mid-session text is sent.
    pub text_input: TextInputMode,
    /// TLS for `wss://` (a custom root store, client certificates); when `None`, rustls
    /// trusting the bundled roots, the system's store and [`Self::ca_file`] (see
    /// [`crate::trust`]).
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// A PEM bundle of more CAs to trust for `wss://` (a private CA, a corporate TLS
    /// proxy's); ignored when [`Self::tls`] is set.
    pub ca_file: Option<std::path::PathBuf>,
    /// How often to ping the server.
    pub ping_interval: Duration,
    /// How long the server may stay silent after a ping before the connection counts as
    /// dead. Gemini answers pings slowly (8–30 s), so this is generous: a short timeout
    /// makes the client drop healthy sessions.
    pub ping_timeout: Duration,
    /// How long `start` waits for `setupComplete`.
    pub setup_timeout: Duration,
    /// Events buffered between the connection and the agent.
    pub channel_capacity: usize,
}

impl Default for GeminiLiveConfig {
    fn default() -> Self {
        Self {
            model_id: DEFAULT_MODEL.to_owned(),
            api_key: None,
            base_url: DEFAULT_BASE_URL.to_owned(),
            api_version: DEFAULT_API_VERSION.to_owned(),
            audio: AudioConfig::new(SampleRate::Hz16000, SampleRate::Hz24000),
            response_modality: ResponseModality::Audio,
            input_transcription: true,
            output_transcription: true,
            generation: Map::new(),
            realtime_input_config: None,
            context_window_compression: None,
            session_resumption: true,
            text_input: TextInputMode::RealtimeInput,
            tls: None,
            ca_file: None,
            ping_interval: Duration::from_secs(20),
            ping_timeout: Duration::from_secs(90),
            setup_timeout: Duration::from_secs(15),
            channel_capacity: 256,
        }
    }
}

impl std::fmt::Debug for GeminiLiveConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The API key is never shown.
        f.debug_struct("GeminiLiveConfig")
            .field("model_id", &self.model_id)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("base_url", &self.base_url)
            .field("api_version", &self.api_version)
            .field("audio", &self.audio)
            .field("response_modality", &self.response_modality)
            .field("session_resumption", &self.session_resumption)
            .field("custom_tls", &self.tls.is_some())
            .field("ca_file", &self.ca_file)
            .finish_non_exhaustive()
    }
}

impl GeminiLiveConfig {
    /// The same config with another model.
    pub fn with_model(mut self, model_id: impl Into<String>) -> Self {
        self.model_id = model_id.into();
        self
    }

    /// The same config with an API key.
    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// The same config with a prebuilt voice (`Puck`, `Kore`, ...).
    pub fn with_voice(mut self, voice: impl Into<String>) -> Self {
        self.audio.voice = Some(voice.into());
        self
    }

    /// The same config pointed at another server (a proxy, a simulator): a base URL or the
    /// method's full URL (see [`Self::url`]).
    pub fn with_base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// The same config trusting `tls` for `wss://`.
    pub fn with_tls(mut self, tls: Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(tls);
        self
    }

    /// The same config also trusting the CA certificates of this PEM file for `wss://`.
    pub fn with_ca_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// The full WebSocket URL of the `BidiGenerateContent` service, from
    /// [`base_url`](Self::base_url) in any form
    /// [`endpoint::gemini_url`](crate::endpoint::gemini_url) accepts.
    ///
    /// # Errors
    /// [`ModelError::Config`] naming the accepted forms when the URL is malformed.
    pub fn url(&self) -> Result<String, ModelError> {
        crate::endpoint::gemini_url(&self.base_url, &self.api_version)
    }

    /// The API key from the config, else `GOOGLE_API_KEY`, else `GEMINI_API_KEY`.
    pub fn resolve_api_key(&self) -> Option<String> {
        self.api_key
            .clone()
            .or_else(|| std::env::var("GOOGLE_API_KEY").ok())
            .or_else(|| std::env::var("GEMINI_API_KEY").ok())
            .filter(|k| !k.is_empty())
    }
}
