//! The binary's flags (a contract: scripts and tests drive the server with them).

use std::net::SocketAddr;
use std::path::PathBuf;

use bidi_agent::session::S3Location;
use bidi_examples::assistant::cli::ProviderName;
use clap::{Parser, ValueEnum};

/// Serve the quickstart's voice agent to browsers over WebSocket: a voice page at `/`, the
/// conversation at `/ws`, health at `/healthz`, Prometheus metrics at `/metrics`. With no
/// provider and no credentials it serves the offline simulator.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "bidi-server",
    version,
    about,
    long_about = None,
    after_help = "Credentials come from the environment, as for the quickstart: OPENAI_API_KEY; \
GEMINI_API_KEY or GOOGLE_API_KEY; AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or AWS_PROFILE.\n\n\
The first line on stdout is `listening on http://HOST:PORT`; logs go to stderr (RUST_LOG).\n\
SIGTERM or Ctrl-C drains: no new sessions, open ones go on up to --drain-timeout, then \
close with 1001."
)]
pub struct Args {
    /// The provider (default: from the environment's credentials, else `sim`).
    #[arg(long, value_enum)]
    pub provider: Option<ProviderFlag>,
    /// Talk to this endpoint instead of the provider's (e.g. a `bidi-sim` server); needs
    /// `--provider nova|openai|gemini`.
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Also trust the CA certificates of this PEM file.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// The model id.
    #[arg(long)]
    pub model: Option<String>,
    /// The voice.
    #[arg(long)]
    pub voice: Option<String>,
    /// The system prompt (default: the quickstart's).
    #[arg(long)]
    pub system_prompt: Option<String>,
    /// Where to listen (port 0: any free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Require this token on every route but /healthz: `Authorization: Bearer TOKEN` or
    /// `?token=TOKEN`.
    #[arg(long, env = "BIDI_SERVER_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Live sessions at most; more upgrades get HTTP 503.
    #[arg(long, default_value_t = 100)]
    pub max_sessions: usize,
    /// The largest WebSocket message a client may send; a larger one closes its socket
    /// with 1009.
    #[arg(long, default_value_t = 1_048_576)]
    pub max_frame_bytes: usize,
    /// Seconds open sessions may go on after SIGTERM/Ctrl-C before they are closed with 1001.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub drain_timeout: u64,
    /// The server's public base URL, `https://host[:port]`, for phone calls: the host of
    /// the TwiML Stream URL and the URL Twilio signs (default: the request's Host header).
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// The Twilio account's auth token: /twilio/* requests need a valid X-Twilio-Signature.
    #[arg(long, env = "TWILIO_AUTH_TOKEN", hide_env_values = true)]
    pub twilio_auth_token: Option<String>,
    /// The audio a phone call's model gets: `mulaw`, the call's own G.711 passed through
    /// where the provider takes it (OpenAI Realtime), else PCM; `pcm`, PCM at the model's
    /// rate for every provider (the call's audio resampled both ways).
    #[arg(long, value_enum, default_value_t = CallAudioFlag::Mulaw)]
    pub call_audio: CallAudioFlag,
    /// Keep file sessions here; clients resume one with `?session=ID`.
    #[arg(long, value_name = "DIR", conflicts_with = "session_s3")]
    pub session_dir: Option<PathBuf>,
    /// Keep sessions in S3 under `s3://BUCKET/PREFIX` (the Python original's
    /// S3SessionManager layout); clients resume one with `?session=ID` on any replica.
    /// Credentials and region come from the usual AWS chain.
    #[arg(long, value_name = "S3_URL")]
    pub session_s3: Option<S3Location>,
    /// Talk to this S3-compatible endpoint (MinIO, Ceph, moto...) with path-style
    /// addressing, instead of AWS's S3; needs `--session-s3`.
    #[arg(long, value_name = "URL", requires = "session_s3")]
    pub s3_endpoint: Option<String>,
}

/// `--provider`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProviderFlag {
    /// Amazon Nova Sonic on Bedrock (AWS credentials).
    #[value(alias = "nova-sonic")]
    Nova,
    /// OpenAI Realtime (`OPENAI_API_KEY`).
    Openai,
    /// Google Gemini Live (`GEMINI_API_KEY` or `GOOGLE_API_KEY`).
    Gemini,
    /// The offline simulator, started in-process.
    Sim,
}

impl From<ProviderFlag> for ProviderName {
    fn from(flag: ProviderFlag) -> Self {
        match flag {
            ProviderFlag::Nova => Self::NovaSonic,
            ProviderFlag::Openai => Self::Openai,
            ProviderFlag::Gemini => Self::Gemini,
            ProviderFlag::Sim => Self::Sim,
        }
    }
}

/// `--call-audio`'s values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CallAudioFlag {
    /// The call's μ-law passed through where the provider takes it.
    Mulaw,
    /// PCM at the model's rate, resampled.
    Pcm,
}

impl From<CallAudioFlag> for bidi_server::assistant::CallAudio {
    fn from(flag: CallAudioFlag) -> Self {
        match flag {
            CallAudioFlag::Mulaw => Self::Mulaw,
            CallAudioFlag::Pcm => Self::Pcm,
        }
    }
}
