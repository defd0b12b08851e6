//! Which provider the quickstart talks to, and the model for it: a cloud provider picked by
//! flag or by the credentials in the environment, or the simulator in-process.

use bidi_agent::models::gemini::{BidiGeminiLiveModel, GeminiLiveConfig};
use bidi_agent::models::nova_sonic::{BidiNovaSonicModel, NovaSonicConfig};
use bidi_agent::models::openai::{BidiOpenAIRealtimeModel, OpenAiRealtimeConfig};
use bidi_agent::models::trust::CaFile;
use bidi_agent::types::BidiModel;
use bidi_sim::Script;
use bidi_sim::bedrock::BedrockSim;
use bidi_sim::gemini::{GeminiSim, GeminiSimHandle};
use bidi_sim::openai::{OpenAiSim, OpenAiSimHandle};

use super::QuickstartError;
use super::cli::{Args, ProviderName, SimProtocol};

/// The provider the run talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// Amazon Nova Sonic on Bedrock.
    NovaSonic,
    /// OpenAI Realtime.
    OpenAi,
    /// Gemini Live.
    Gemini,
    /// The simulator, in-process, speaking one provider's protocol.
    Sim(SimProtocol),
}

/// The provider for `args` and the environment `env`: the flag, else AWS credentials →
/// Nova Sonic, `OPENAI_API_KEY` → OpenAI, `GEMINI_API_KEY`/`GOOGLE_API_KEY` → Gemini, else
/// the simulator.
///
/// ```
/// use bidi_examples::assistant::cli::{Args, SimProtocol};
/// use bidi_examples::assistant::provider::{Provider, choose};
/// use clap::Parser;
///
/// let args = Args::parse_from(["quickstart"]);
/// let none = |_: &str| None;
/// assert_eq!(choose(&args, none).unwrap(), Provider::Sim(SimProtocol::Openai));
/// let openai = |k: &str| (k == "OPENAI_API_KEY").then(|| "sk-x".to_owned());
/// assert_eq!(choose(&args, openai).unwrap(), Provider::OpenAi);
/// ```
pub fn choose(
    args: &Args,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Provider, QuickstartError> {
    let set = |k: &str| env(k).is_some_and(|v| !v.is_empty());
    let chosen = match args.provider {
        Some(ProviderName::NovaSonic) => Provider::NovaSonic,
        Some(ProviderName::Openai) => Provider::OpenAi,
        Some(ProviderName::Gemini) => Provider::Gemini,
        Some(ProviderName::Sim) => Provider::Sim(args.sim_protocol),
        None if set("AWS_ACCESS_KEY_ID") || set("AWS_PROFILE") => Provider::NovaSonic,
        None if set("OPENAI_API_KEY") => Provider::OpenAi,
        None if set("GEMINI_API_KEY") || set("GOOGLE_API_KEY") => Provider::Gemini,
        None => Provider::Sim(args.sim_protocol),
    };
    if let (Provider::Sim(_), Some(endpoint)) = (chosen, &args.endpoint) {
        return Err(QuickstartError::Usage(format!(
            "endpoint=<{endpoint}> | --endpoint needs --provider nova-sonic, openai or gemini (the protocol the endpoint speaks); --provider sim starts its own simulator"
        )));
    }
    Ok(chosen)
}

/// Whether `url`'s host is on this machine (127.0.0.0/8, `localhost`, `[::1]`): a local
/// simulator, which takes any credentials.
///
/// ```
/// use bidi_examples::assistant::provider::is_loopback;
/// assert!(is_loopback("ws://127.0.0.1:9000/v1/realtime"));
/// assert!(is_loopback("http://localhost:80"));
/// assert!(!is_loopback("wss://api.openai.com/v1/realtime"));
/// ```
pub fn is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    host == "localhost" || host == "::1" || host.starts_with("127.")
}

/// A simulator started in-process; dropped (and stopped) with the run.
#[derive(Debug)]
pub enum LocalSim {
    /// The Bedrock (Nova Sonic) simulator.
    Bedrock(BedrockSim),
    /// The OpenAI Realtime simulator.
    OpenAi(OpenAiSimHandle),
    /// The Gemini Live simulator.
    Gemini(GeminiSimHandle),
}

impl LocalSim {
    /// Starts the simulator for `protocol`, playing `script`.
    pub async fn start(protocol: SimProtocol, script: Script) -> Result<Self, QuickstartError> {
        let failed = |e: String| QuickstartError::Sim(format!("protocol=<{protocol}> | {e}"));
        Ok(match protocol {
            SimProtocol::NovaSonic => Self::Bedrock(
                BedrockSim::start(script)
                    .await
                    .map_err(|e| failed(e.to_string()))?,
            ),
            SimProtocol::Openai => Self::OpenAi(
                OpenAiSim::start(script)
                    .await
                    .map_err(|e| failed(e.to_string()))?,
            ),
            SimProtocol::Gemini => Self::Gemini(
                GeminiSim::start(script)
                    .await
                    .map_err(|e| failed(e.to_string()))?,
            ),
        })
    }

    /// The endpoint to give the client.
    pub fn endpoint(&self) -> String {
        match self {
            Self::Bedrock(s) => s.endpoint(),
            Self::OpenAi(s) => s.url(),
            Self::Gemini(s) => s.base_url(),
        }
    }

    /// Stops the server.
    pub async fn shutdown(self) {
        match self {
            Self::Bedrock(s) => s.shutdown().await,
            Self::OpenAi(s) => s.shutdown().await,
            Self::Gemini(s) => s.shutdown().await,
        }
    }
}

/// The placeholder key and credentials given to a local simulator.
const SIM_KEY: &str = "bidi-sim";

/// The model for `provider`, at `endpoint` when set, with the flags' model, voice.
pub fn model(
    provider: Provider,
    endpoint: Option<&str>,
    args: &Args,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Box<dyn BidiModel>, QuickstartError> {
    build(provider, endpoint, args, env, false)
}

/// The model for a phone call: as [`model`], with telephone audio (G.711 μ-law at 8 kHz)
/// where the provider takes it (OpenAI Realtime, `audio/pcmu`), so the call's audio needs
/// no resampling; the other providers as [`model`].
pub fn phone_model(
    provider: Provider,
    endpoint: Option<&str>,
    args: &Args,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Box<dyn BidiModel>, QuickstartError> {
    build(provider, endpoint, args, env, true)
}

fn build(
    provider: Provider,
    endpoint: Option<&str>,
    args: &Args,
    env: impl Fn(&str) -> Option<String>,
    phone: bool,
) -> Result<Box<dyn BidiModel>, QuickstartError> {
    let local = endpoint.is_some_and(is_loopback);
    let protocol = match provider {
        Provider::NovaSonic => SimProtocol::NovaSonic,
        Provider::OpenAi => SimProtocol::Openai,
        Provider::Gemini => SimProtocol::Gemini,
        Provider::Sim(p) => p,
    };
    let config_error = |e: bidi_agent::types::ModelError| QuickstartError::Config(e.to_string());
    if let Some(path) = &args.ca_file {
        // Checked now, so a bad file is a clear error before any connection.
        CaFile::load(path).map_err(|e| QuickstartError::Config(e.to_string()))?;
    }
    Ok(match protocol {
        SimProtocol::NovaSonic => {
            let mut config = NovaSonicConfig::default();
            if let Some(url) = endpoint {
                config = config.with_endpoint_url(url);
            }
            let has_aws = ["AWS_ACCESS_KEY_ID", "AWS_PROFILE"]
                .iter()
                .any(|k| env(k).is_some_and(|v| !v.is_empty()));
            if local && !has_aws {
                // A simulator: static placeholder credentials, and no lookup of the AWS chain.
                config = config.with_region("us-east-1").with_credentials(
                    aws_sdk_bedrockruntime::config::Credentials::new(
                        SIM_KEY, SIM_KEY, None, None, "bidi-sim",
                    ),
                );
            }
            if let Some(ca) = &args.ca_file {
                config = config.with_ca_file(ca);
            }
            if let Some(m) = &args.model {
                config = config.with_model_id(m);
            }
            if let Some(v) = &args.voice {
                config = config.with_voice(v);
            }
            Box::new(BidiNovaSonicModel::new(config).map_err(config_error)?)
        }
        SimProtocol::Openai => {
            let mut config = OpenAiRealtimeConfig::new();
            if let Some(url) = endpoint {
                config = config.endpoint(url);
            }
            if local && env("OPENAI_API_KEY").is_none_or(|k| k.is_empty()) {
                config = config.api_key(SIM_KEY);
            }
            if let Some(ca) = &args.ca_file {
                config = config.ca_file(ca);
            }
            if let Some(m) = &args.model {
                config = config.model_id(m);
            }
            if let Some(v) = &args.voice {
                config = config.voice(v);
            }
            if phone {
                config = config.mulaw();
            }
            Box::new(BidiOpenAIRealtimeModel::new(config).map_err(config_error)?)
        }
        SimProtocol::Gemini => {
            let mut config = GeminiLiveConfig::default();
            if let Some(url) = endpoint {
                config = config.with_base_url(url);
            }
            let key = env("GOOGLE_API_KEY")
                .or_else(|| env("GEMINI_API_KEY"))
                .filter(|k| !k.is_empty());
            match key {
                Some(key) => config = config.with_api_key(key),
                None if local => config = config.with_api_key(SIM_KEY),
                None => {
                    return Err(QuickstartError::Config(
                        "api_key=<missing> | Gemini needs GEMINI_API_KEY or GOOGLE_API_KEY".into(),
                    ));
                }
            }
            if let Some(ca) = &args.ca_file {
                config = config.with_ca_file(ca);
            }
            if let Some(m) = &args.model {
                config = config.with_model(m);
            }
            if let Some(v) = &args.voice {
                config = config.with_voice(v);
            }
            Box::new(BidiGeminiLiveModel::new(config).map_err(config_error)?)
        }
    })
}
