//! `bidi-bench`: bidi's `BidiAgent` + `BidiOpenAIRealtimeModel` measured the way
//! `shared/peer/bench_python.py` measures the Python original, against the same fake
//! OpenAI Realtime server, or against the Rust simulator for bidi's own ceiling.
//!
//! ```sh
//! cargo build --release -p bidi-bench
//! target/release/bidi-bench run                  # every scenario vs the Python fake server
//! target/release/bidi-bench run --server sim --sessions 100,500,1000
//! target/release/bidi-bench compare --pin --rounds 2   # Python and bidi alternately, ratios
//! ```
//!
//! See `docs/performance.md`.

mod args;
mod child;
mod compare;
mod error;
mod http;
mod metrics;
mod orchestrate;
mod procfs;
mod report;
mod server;
mod session;
mod sim_server;
mod soak;
mod wire;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "bidi-bench",
    about = "Benchmarks bidi against the Python original"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Runs the scenarios (each repeat in a fresh child process) and writes the JSON.
    Run(args::RunArgs),
    /// Runs the Python benchmark and ours alternately and prints the ratios.
    Compare(compare::CompareArgs),
    /// Sessions through a bidi-server process for minutes, sampling its RSS, descriptors,
    /// threads and tasks; fails on growth after the warm-up.
    Soak(soak::SoakArgs),
    /// One scenario run in this process (used by `run`).
    #[command(hide = true)]
    Child {
        /// The scenario.
        name: String,
        /// The WebSocket endpoint.
        #[arg(long)]
        url: String,
        /// The fake server's /stats (absent for the simulator).
        #[arg(long)]
        stats_url: Option<String>,
        /// The parameters, JSON.
        #[arg(long)]
        params: String,
    },
    /// The Rust simulator as a server process (used by `run --server sim`).
    #[command(hide = true)]
    SimServer {
        /// Audio lengths to answer `audio <SECONDS> ...` with, comma-separated.
        #[arg(long, value_delimiter = ',')]
        speak_seconds: Vec<f64>,
        /// Send the audio as fast as possible instead of at real time.
        #[arg(long)]
        fast: bool,
    },
}

/// The tokio runtime: `current` (one thread, like the Python original's event loop),
/// `multi` (one worker per CPU the process may use) or `multi:N`.
fn runtime(kind: &str) -> std::io::Result<tokio::runtime::Runtime> {
    match kind.split_once(':') {
        _ if kind == "current" => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        Some(("multi", n)) => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n.parse().unwrap_or(2))
            .enable_all()
            .build(),
        _ => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let kind = match &cli.command {
        Cmd::Child { params, .. } => serde_json::from_str::<serde_json::Value>(params)
            .ok()
            .and_then(|p| p.get("runtime")?.as_str().map(str::to_owned))
            .unwrap_or_else(|| "multi".to_owned()),
        _ => "multi".to_owned(),
    };
    let rt = match runtime(&kind) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result: Result<(), String> = rt.block_on(async {
        match cli.command {
            Cmd::Run(a) => orchestrate::orchestrate(&a)
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
            Cmd::Compare(a) => compare::compare(&a)
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
            Cmd::Soak(a) => soak::soak(&a).await.map_err(|e| e.to_string()),
            Cmd::Child {
                name,
                url,
                stats_url,
                params,
            } => {
                let params: serde_json::Value =
                    serde_json::from_str(&params).map_err(|e| format!("--params: {e}"))?;
                let target = child::Target { url, stats_url };
                let res = child::run(&name, &target, &params)
                    .await
                    .map_err(|e| e.to_string())?;
                println!("{res}");
                Ok(())
            }
            Cmd::SimServer {
                speak_seconds,
                fast,
            } => sim_server::serve(&speak_seconds, !fast)
                .await
                .map_err(|e| e.to_string()),
        }
    });
    // Child runs leave agent tasks behind (aborted, possibly mid-close): do not wait.
    rt.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bidi-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
