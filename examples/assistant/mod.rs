//! The assistant behind `cargo run --example quickstart`: a voice assistant with two tools
//! that runs anywhere. Its parts:
//!
//! - [`cli`]: the flags;
//! - [`provider`]: which provider (flags, then the environment's credentials, else the
//!   simulator in-process) and its model;
//! - [`tools`]: `current_time` and `calculator`, written with `#[tool]`;
//! - [`demo`]: the simulator's demo scenario and the demo user's lines;
//! - [`io`]: text lines with the demo fallback, and JSON lines for scripts;
//! - [`conversation`]: the loop that ends a scripted run on its own.
//!
//! [`main`] is the whole program; the `quickstart` example and the `bidi-quickstart` binary
//! both call it. At a terminal it first probes the default microphone and speaker
//! (`BidiAudioIO::check`, which opens them the way a conversation would, quietly); when
//! either cannot be opened it says [`NO_AUDIO_DEVICES`] and runs the text conversation.

pub mod cli;
pub mod conversation;
pub mod demo;
pub mod io;
pub mod provider;
pub mod tools;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use bidi_agent::audio::{BidiAudioIO, WavInput, WavOutput};
use bidi_agent::io::{TextInput, TextOutput};
use bidi_agent::types::{BidiInput, BidiOutput, ModelError};
use bidi_agent::{AgentError, BidiAgent};
use clap::Parser;

use cli::Args;
use provider::{LocalSim, Provider};

/// The system prompt unless `--system-prompt` gives one.
pub const DEFAULT_SYSTEM_PROMPT: &str = "You are a helpful voice assistant. Use the current_time tool for the time anywhere and the calculator tool for arithmetic. Keep your answers short.";

/// Why the quickstart stopped; shown as one line on stderr.
#[derive(Debug, thiserror::Error)]
pub enum QuickstartError {
    /// The flags do not go together.
    #[error("{0}")]
    Usage(String),
    /// The provider's settings are incomplete or wrong.
    #[error("{0}")]
    Config(String),
    /// The in-process simulator could not start.
    #[error("simulator | {0}")]
    Sim(String),
    /// The provider rejected the credentials (exit code [`EXIT_REJECTED`]).
    #[error("{provider} rejected the credentials at {endpoint}: {hint} ({reason})")]
    Rejected {
        /// The provider's name (`openai`, `gemini`, `nova-sonic`).
        provider: String,
        /// Where the client connected, without a query string.
        endpoint: String,
        /// What to fix, naming the environment variables read.
        hint: &'static str,
        /// What the provider answered, never the secret.
        reason: String,
    },
    /// The conversation failed (the provider could not be reached, an IO failed).
    #[error("provider=<{provider}> | {source}")]
    Agent {
        /// The provider's name.
        provider: String,
        /// What failed.
        #[source]
        source: AgentError,
    },
}

/// The exit code when the provider rejected the credentials.
pub const EXIT_REJECTED: u8 = 3;

impl QuickstartError {
    /// The process's exit code for this error: [`EXIT_REJECTED`] (3) for rejected
    /// credentials, 1 otherwise (flags the parser refuses exit with 2 before any run).
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Rejected { .. } => EXIT_REJECTED,
            _ => 1,
        }
    }
}

/// What to check when `provider` rejects the credentials.
fn credentials_hint(provider: Provider) -> &'static str {
    match provider {
        Provider::OpenAi | Provider::Sim(cli::SimProtocol::Openai) => "check OPENAI_API_KEY",
        Provider::Gemini | Provider::Sim(cli::SimProtocol::Gemini) => {
            "check GEMINI_API_KEY or GOOGLE_API_KEY"
        }
        Provider::NovaSonic | Provider::Sim(cli::SimProtocol::NovaSonic) => {
            "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)"
        }
    }
}

/// The program: parses the flags, runs the conversation, and turns every failure into one
/// line on stderr and a nonzero exit (2 for bad flags, 3 for rejected credentials, 1
/// otherwise).
pub fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) => {
            if matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            ) {
                print!("{e}");
                return ExitCode::SUCCESS;
            }
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("error: bad arguments");
            eprintln!("{first} (see --help)");
            return ExitCode::from(2);
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(run(args));
    runtime.shutdown_timeout(Duration::from_secs(1));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::from(e.exit_code())
        }
    }
}

/// `error` and its sources on one line.
pub fn one_line(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text.replace(['\n', '\r'], " ")
}

/// What the quickstart says, once, when a terminal has no microphone or speaker to open.
pub const NO_AUDIO_DEVICES: &str =
    "no microphone or speaker found: using text (pass --text to skip this check)";

/// Whether the default microphone and speaker can really be opened: probed the way opening
/// them would, with ALSA's own messages logged at debug instead of printed.
fn audio_devices_found() -> bool {
    match BidiAudioIO::new().check() {
        Ok((microphone, speaker)) => {
            tracing::debug!("microphone=<{microphone}>, speaker=<{speaker}> | audio devices found");
            true
        }
        Err(e) => {
            tracing::debug!("error=<{e}> | no audio devices");
            false
        }
    }
}

/// Runs one conversation as `args` say.
pub async fn run(args: Args) -> Result<(), QuickstartError> {
    let env = |k: &str| std::env::var(k).ok();
    let provider = provider::choose(&args, env)?;
    let (sim, endpoint) = match provider {
        Provider::Sim(protocol) => {
            let sim = LocalSim::start(protocol, demo::script()).await?;
            let why = if args.provider.is_some() {
                "--provider sim"
            } else {
                "no provider credentials"
            };
            eprintln!(
                "{why}: talking to the offline simulator ({protocol} protocol) at {}",
                sim.endpoint()
            );
            let endpoint = sim.endpoint();
            (Some(sim), Some(endpoint))
        }
        _ => (None, args.endpoint.clone()),
    };
    let provider_name = match provider {
        Provider::NovaSonic => "nova-sonic".to_owned(),
        Provider::OpenAi => "openai".to_owned(),
        Provider::Gemini => "gemini".to_owned(),
        Provider::Sim(p) => format!("sim/{p}"),
    };
    let model = provider::model(provider, endpoint.as_deref(), &args, env)?;
    let shown_endpoint = endpoint.as_deref().map_or_else(
        || "its default endpoint".to_owned(),
        |e| e.split('?').next().unwrap_or_default().to_owned(),
    );
    let agent_error = |source| match source {
        AgentError::Model(ModelError::Unauthorized { reason, .. }) => QuickstartError::Rejected {
            provider: provider_name.clone(),
            endpoint: shown_endpoint.clone(),
            hint: credentials_hint(provider),
            reason,
        },
        source => QuickstartError::Agent {
            provider: provider_name.clone(),
            source,
        },
    };
    let agent = BidiAgent::builder_boxed(model)
        .tool(tools::current_time)
        .tool(tools::calculator)
        .system_prompt(
            args.system_prompt
                .clone()
                .unwrap_or_else(|| DEFAULT_SYSTEM_PROMPT.to_owned()),
        )
        .build()
        .map_err(agent_error)?;

    let tty = std::io::stdin().is_terminal();
    let microphone = args.input_wav.is_none() && !args.text && tty && audio_devices_found();
    let mut gate_inputs = false;
    // One BidiAudioIO for the microphone and the speaker: the microphone cancels the
    // speaker's echo (docs/audio.md, "Echo cancellation").
    let audio = BidiAudioIO::new();
    let input: Box<dyn BidiInput> = if let Some(path) = &args.input_wav {
        Box::new(WavInput::new(path))
    } else if microphone {
        eprintln!("audio mode: speak into the microphone; Ctrl-C ends");
        Box::new(audio.input())
    } else {
        if !args.text {
            if tty {
                eprintln!("{NO_AUDIO_DEVICES}");
            } else {
                eprintln!("text mode (no terminal): type or pipe lines; end of input ends the run");
            }
        }
        // Scripted lines wait for the previous answer, as a person would.
        gate_inputs = !tty;
        let demo = (sim.is_some() && !tty)
            .then(|| demo::DEMO_LINES.iter().map(|s| (*s).to_owned()).collect());
        Box::new(io::LinesWithDemo::new(TextInput::stdin(), demo))
    };
    let mut outputs: Vec<Box<dyn BidiOutput>> = Vec::new();
    if args.json {
        outputs.push(Box::new(io::JsonLines::to_writer(tokio::io::stdout())));
    } else {
        outputs.push(Box::new(
            TextOutput::to_writer(tokio::io::stdout())
                .partials(std::io::IsTerminal::is_terminal(&std::io::stdout())),
        ));
    }
    if let Some(path) = &args.output_wav {
        outputs.push(Box::new(WavOutput::new(path)));
    } else if microphone {
        outputs.push(Box::new(audio.output()));
    }
    let options = conversation::Options {
        gate_inputs,
        quiet: if sim.is_some() || endpoint.as_deref().is_some_and(provider::is_loopback) {
            Duration::from_secs(3)
        } else {
            Duration::from_secs(15)
        },
    };
    let result = conversation::converse(&agent, input, outputs, options)
        .await
        .map_err(agent_error);
    if let Some(sim) = sim {
        sim.shutdown().await;
    }
    result
}
