//! The quickstart's flags (a contract: scripts rely on them).

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

/// A voice assistant with two tools (the time in a timezone, a calculator). With no
/// credentials it talks to the offline simulator; with no microphone or no terminal it
/// works in text.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "quickstart",
    version,
    about,
    long_about = None,
    after_help = "With --endpoint, the provider's credentials come from the environment \
(OPENAI_API_KEY; GEMINI_API_KEY or GOOGLE_API_KEY; AWS_ACCESS_KEY_ID and \
AWS_SECRET_ACCESS_KEY or AWS_PROFILE) when set, else a placeholder for a local simulator.\n\n\
HTTPS_PROXY, ALL_PROXY and NO_PROXY choose an HTTP proxy; SSL_CERT_FILE, SSL_CERT_DIR and \
--ca-file add trusted certificate authorities.\n\n\
Exit codes: 0 done, 1 failed (one line on stderr), 2 bad flags, 3 the provider rejected \
the credentials."
)]
pub struct Args {
    /// The provider (default: from the environment's credentials, else `sim`).
    #[arg(long, value_enum)]
    pub provider: Option<ProviderName>,
    /// Talk to this endpoint instead of the provider's (e.g. a `bidi-sim` server): its base
    /// URL (`wss://host[:port]`) or the full URL its docs show; needs
    /// `--provider nova-sonic|openai|gemini`, the protocol it speaks.
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// The model id.
    #[arg(long)]
    pub model: Option<String>,
    /// The voice.
    #[arg(long)]
    pub voice: Option<String>,
    /// The system prompt.
    #[arg(long)]
    pub system_prompt: Option<String>,
    /// Text instead of audio: read lines from stdin, print the conversation.
    #[arg(long)]
    pub text: bool,
    /// Print every output event as one JSON line (the reference's dicts), for scripts.
    #[arg(long)]
    pub json: bool,
    /// Send this WAV file as the user's speech instead of the microphone.
    #[arg(long, value_name = "FILE")]
    pub input_wav: Option<PathBuf>,
    /// Write the model's speech to this WAV file instead of the speaker.
    #[arg(long, value_name = "FILE")]
    pub output_wav: Option<PathBuf>,
    /// Also trust the CA certificates of this PEM file (a private endpoint's CA, a corporate
    /// TLS proxy's), besides the bundled roots and the system's store (`SSL_CERT_FILE`,
    /// `SSL_CERT_DIR`).
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// With `--provider sim`: the protocol the in-process simulator speaks.
    #[arg(long, value_enum, default_value_t = SimProtocol::Openai)]
    pub sim_protocol: SimProtocol,
}

/// `--provider`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProviderName {
    /// Amazon Nova Sonic on Bedrock (AWS credentials).
    NovaSonic,
    /// OpenAI Realtime (`OPENAI_API_KEY`).
    Openai,
    /// Google Gemini Live (`GEMINI_API_KEY` or `GOOGLE_API_KEY`).
    Gemini,
    /// The offline simulator, started in-process.
    Sim,
}

/// `--sim-protocol`: which provider the simulator imitates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SimProtocol {
    /// OpenAI Realtime over WebSocket.
    Openai,
    /// Gemini Live over WebSocket.
    Gemini,
    /// Nova Sonic over Bedrock's HTTP/2 event stream.
    NovaSonic,
}

impl std::fmt::Display for SimProtocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Openai => "openai",
            Self::Gemini => "gemini",
            Self::NovaSonic => "nova-sonic",
        })
    }
}
