//! The `run` command's flags: [`RunArgs`], and which server and client a run uses.

use std::path::PathBuf;

/// Which server the scenarios run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ServerKind {
    /// `fake_openai_realtime.py`, the Python original's server (same as `bench_python.py`).
    Python,
    /// `bidi_sim::openai::OpenAiSim` in a child process of this binary (real-time pacing).
    Sim,
}

/// Which client the benchmark child runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ClientKind {
    /// `BidiAgent` + `BidiOpenAIRealtimeModel`: the product.
    Bidi,
    /// The same WebSocket frames from one bare task per session (`wire.rs`): the floor.
    Wire,
}

impl ClientKind {
    /// The name in the child's parameters and in the results.
    pub fn name(self) -> &'static str {
        match self {
            Self::Bidi => "bidi",
            Self::Wire => "wire",
        }
    }
}

/// The benchmark's knobs (the flags of `bench_python.py`).
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// The server.
    #[arg(long, value_enum, default_value = "python")]
    pub server: ServerKind,
    /// Repeats of each single-session scenario.
    #[arg(long, default_value_t = 5)]
    pub repeats: usize,
    /// Repeats of each sessions_N scenario.
    #[arg(long, default_value_t = 3)]
    pub session_repeats: usize,
    /// Audio seconds per direction for duplex_rt.
    #[arg(long, default_value_t = 20.0)]
    pub duration: f64,
    /// Audio seconds per direction for duplex_fast.
    #[arg(long, default_value_t = 100.0)]
    pub fast_duration: f64,
    /// Audio seconds per session for sessions_N.
    #[arg(long, default_value_t = 10.0)]
    pub session_duration: f64,
    /// Comma list of concurrent session counts.
    #[arg(long, default_value = "1,10,25,50,75,100,200")]
    pub sessions: String,
    /// Barge-ins / tool calls per run.
    #[arg(long, default_value_t = 20)]
    pub iterations: usize,
    /// Chunks for the throughput scenarios.
    #[arg(long, default_value_t = 20_000)]
    pub tput_chunks: usize,
    /// Input PCM rate (16000 or 24000).
    #[arg(long, default_value_t = 24_000)]
    pub input_rate: u32,
    /// Chunk duration, ms.
    #[arg(long, default_value_t = 20)]
    pub chunk_ms: u32,
    /// p99 lateness threshold for "keeps up", ms.
    #[arg(long, default_value_t = 100.0)]
    pub keepup_ms: f64,
    /// Comma list of scenarios or scenario families (e.g. `duplex_rt,sessions`).
    #[arg(long)]
    pub only: Option<String>,
    /// taskset: server on CPU 0, benchmark child on CPU 1.
    #[arg(long)]
    pub pin: bool,
    /// Tiny smoke run (1 repeat, short durations).
    #[arg(long)]
    pub quick: bool,
    /// Where to write the JSON (default: `target/bench/results-bidi[-sim][-quick].json`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Python interpreter with `websockets` for the fake server (default:
    /// `$BIDI_PEER_PYTHON`, then `<peer>/.venv/bin/python`, then `python3`).
    #[arg(long)]
    pub python: Option<PathBuf>,
    /// The peer folder (default: the first `shared/peer` above the repository).
    #[arg(long)]
    pub peer_dir: Option<PathBuf>,
    /// The benchmark child's tokio runtime: `current` (one thread, like the Python event
    /// loop), `multi` (a worker per usable CPU) or `multi:N`.
    #[arg(long, default_value = "multi")]
    pub runtime: String,
    /// The client: `bidi` (`BidiAgent` + `BidiOpenAIRealtimeModel`) or `wire` (the same
    /// WebSocket frames from one bare task per session, no agent: the floor any client of
    /// this protocol pays on this machine).
    #[arg(long, value_enum, default_value = "bidi")]
    pub client: ClientKind,
    /// The OpenAI model's per-connection queue capacity, frames each way
    /// (`OpenAiRealtimeConfig::channel_capacity`; default: the model's default).
    #[arg(long)]
    pub channel_capacity: Option<usize>,
    /// Per child process time limit, seconds.
    #[arg(long, default_value_t = 600.0)]
    pub child_timeout: f64,
}

impl RunArgs {
    /// Applies `--quick` (as `bench_python.py --quick`).
    pub fn effective(&self) -> Self {
        let mut a = self.clone();
        if a.quick {
            (a.repeats, a.session_repeats) = (1, 1);
            (a.duration, a.session_duration, a.fast_duration) = (3.0, 3.0, 3.0);
            (a.iterations, a.tput_chunks) = (5, 1000);
            a.sessions = "1,10".to_owned();
        }
        a
    }
}
