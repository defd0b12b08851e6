//! The orchestrator: starts the server (the Python fake or the Rust simulator) as a child
//! process, runs every scenario repeat in a fresh child process of this binary, and writes
//! the results in the layout of `results-python.json` (`meta`, `runs`, `median`).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::metrics::median_of_runs;
use crate::{http, procfs};

/// Which server the scenarios run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ServerKind {
    /// `fake_openai_realtime.py`, the Python original's server (same as `bench_python.py`).
    Python,
    /// `bidi_sim::openai::OpenAiSim` in a child process of this binary (real-time pacing).
    Sim,
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

/// Why the orchestrator failed.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The peer folder was not found.
    #[error("no shared/peer folder above {0} (pass --peer-dir)")]
    NoPeer(PathBuf),
    /// The server did not print its READY line.
    #[error("server=<{what}> | failed to start: {detail}")]
    Server {
        /// Which server.
        what: String,
        /// What happened.
        detail: String,
    },
    /// A file or process error.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BenchError {
    let what = what.into();
    move |source| BenchError::Io { what, source }
}

/// The repository root (this crate is `crates/bidi-bench`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The peer folder: `--peer-dir`, else the first `<ancestor>/shared/peer` of the repo root
/// (`../shared/peer` from the main checkout; further up from a worktree).
pub fn peer_dir(given: Option<&Path>) -> Result<PathBuf, BenchError> {
    if let Some(p) = given {
        return Ok(p.to_path_buf());
    }
    let root = repo_root();
    root.ancestors()
        .skip(1)
        .map(|a| a.join("shared").join("peer"))
        .find(|p| p.join("fake_openai_realtime.py").is_file())
        .ok_or(BenchError::NoPeer(root))
}

/// The interpreter for the peer's Python scripts.
pub fn python(given: Option<&Path>, peer: &Path) -> PathBuf {
    if let Some(p) = given {
        return p.to_path_buf();
    }
    if let Some(p) = std::env::var_os("BIDI_PEER_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = peer.join(".venv/bin/python");
    if venv.is_file() {
        return venv;
    }
    PathBuf::from("python3")
}

fn pinned(cpu: &str, program: &Path, pin: bool) -> Command {
    if pin {
        let mut c = Command::new("taskset");
        c.arg("-c").arg(cpu).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// A running server child.
pub struct Server {
    child: Child,
    /// The WebSocket endpoint.
    pub url: String,
    /// `/stats` (Python fake only).
    pub stats_url: Option<String>,
}

impl Server {
    /// Starts the server of `kind`, pinned to CPU 0 with `pin`.
    pub async fn start(kind: ServerKind, a: &RunArgs, speak: &[f64]) -> Result<Self, BenchError> {
        let mut cmd = match kind {
            ServerKind::Python => {
                let peer = peer_dir(a.peer_dir.as_deref())?;
                let py = python(a.python.as_deref(), &peer);
                let mut c = pinned("0", &py, a.pin);
                c.arg(peer.join("fake_openai_realtime.py"))
                    .args(["--port", "0"]);
                c
            }
            ServerKind::Sim => {
                let exe = std::env::current_exe().map_err(io("current_exe"))?;
                let mut c = pinned("0", &exe, a.pin);
                let secs: Vec<String> = speak.iter().map(f64::to_string).collect();
                c.args(["sim-server", "--speak-seconds", &secs.join(",")]);
                c
            }
        };
        let what = format!("{kind:?}");
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(io(format!("spawning the {what} server")))?;
        let stdout = child.stdout.take().ok_or_else(|| BenchError::Server {
            what: what.clone(),
            detail: "no stdout".to_owned(),
        })?;
        let mut line = String::new();
        let mut reader = BufReader::new(stdout);
        let read = reader.read_line(&mut line);
        let _ = tokio::time::timeout(Duration::from_secs(60), read).await;
        // Keep draining so the server never blocks on a full pipe.
        tokio::spawn(async move {
            let mut sink = String::new();
            while reader.read_line(&mut sink).await.is_ok_and(|n| n > 0) {
                sink.clear();
            }
        });
        let url = line
            .trim()
            .strip_prefix("READY ")
            .ok_or_else(|| BenchError::Server {
                what: what.clone(),
                detail: format!("first line {line:?}"),
            })?
            .to_owned();
        let stats_url = (kind == ServerKind::Python).then(|| {
            let base = url.trim_start_matches("ws://");
            let authority = base.split('/').next().unwrap_or(base);
            format!("http://{authority}/stats")
        });
        Ok(Self {
            child,
            url,
            stats_url,
        })
    }

    /// The server process's CPU seconds so far.
    pub fn cpu_s(&self) -> Option<f64> {
        let pid = self.child.id()?;
        procfs::cpu_times(&pid.to_string()).map(|c| c.total_s())
    }

    /// Stops the server.
    pub async fn stop(mut self) {
        drop(self.child.stdin.take());
        if tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

/// The plan: (scenario, params, repeats), in `bench_python.py`'s order.
pub fn plan(a: &RunArgs, kind: ServerKind) -> Vec<(String, Value, usize)> {
    let sel: Option<Vec<String>> = a
        .only
        .as_ref()
        .map(|o| o.split(',').map(str::to_owned).collect());
    let base = json!({"input_rate": a.input_rate, "chunk_ms": a.chunk_ms, "runtime": a.runtime});
    let mut plan = Vec::new();
    let mut add = |name: String, params: Value, repeats: usize| {
        let key = if name.starts_with("sessions") {
            "sessions"
        } else {
            name.as_str()
        };
        // The simulator has no /stats (interrupt and tool timings come from it) and paces
        // every response at real time (no max-pace output).
        let sim_ok = matches!(key, "duplex_rt" | "tput_in" | "sessions");
        if kind == ServerKind::Sim && !sim_ok {
            return;
        }
        if sel
            .as_ref()
            .is_none_or(|s| s.iter().any(|x| x == &name || x == key))
        {
            let mut p = base.clone();
            if let (Some(p), Value::Object(extra)) = (p.as_object_mut(), params) {
                p.extend(extra);
            }
            plan.push((name, p, repeats));
        }
    };
    add(
        "duplex_rt".into(),
        json!({"duration": a.duration}),
        a.repeats,
    );
    add(
        "duplex_fast".into(),
        json!({"duration": a.fast_duration}),
        a.repeats,
    );
    add(
        "interrupt".into(),
        json!({"iterations": a.iterations, "barge_in_ms": 200}),
        a.repeats,
    );
    add(
        "tool_sync".into(),
        json!({"iterations": a.iterations}),
        a.repeats,
    );
    add(
        "tool_async".into(),
        json!({"iterations": a.iterations}),
        a.repeats,
    );
    add(
        "tput_in".into(),
        json!({"chunks": a.tput_chunks}),
        a.repeats,
    );
    add(
        "tput_out".into(),
        json!({"chunks": a.tput_chunks}),
        a.repeats,
    );
    for n in a
        .sessions
        .split(',')
        .filter_map(|x| x.trim().parse::<usize>().ok())
    {
        add(
            format!("sessions_{n}"),
            json!({"sessions": n, "duration": a.session_duration, "keepup_threshold_ms": a.keepup_ms}),
            a.session_repeats,
        );
    }
    plan
}

async fn run_child(
    name: &str,
    server: &Server,
    params: &Value,
    a: &RunArgs,
) -> Result<Value, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut cmd = pinned("1", &exe, a.pin);
    cmd.args([
        "child",
        name,
        "--url",
        &server.url,
        "--params",
        &params.to_string(),
    ]);
    if let Some(s) = &server.stats_url {
        cmd.args(["--stats-url", s]);
    }
    cmd.kill_on_drop(true)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = tokio::time::timeout(Duration::from_secs_f64(a.child_timeout), cmd.output())
        .await
        .map_err(|_| "child timeout".to_owned())?
        .map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().rev().find(|l| l.starts_with('{'));
    match (out.status.success(), last) {
        (true, Some(line)) => serde_json::from_str(line).map_err(|e| e.to_string()),
        _ => {
            let err = String::from_utf8_lossy(&out.stderr);
            let tail: String = err
                .chars()
                .rev()
                .take(800)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            Err(format!("rc={:?} stderr={tail}", out.status.code()))
        }
    }
}

fn default_out(a: &RunArgs, kind: ServerKind) -> PathBuf {
    let mut name = String::from("results-bidi");
    if kind == ServerKind::Sim {
        name.push_str("-sim");
    }
    if a.quick {
        name.push_str("-quick");
    }
    repo_root()
        .join("target/bench")
        .join(format!("{name}.json"))
}

/// Runs the whole plan and writes the JSON; returns it.
pub async fn orchestrate(args: &RunArgs) -> Result<Value, BenchError> {
    let a = args.effective();
    let kind = a.server;
    let plan = plan(&a, kind);
    let speak: Vec<f64> = vec![a.duration, a.fast_duration, a.session_duration];
    let server = Server::start(kind, &a, &speak).await?;
    let out = a.out.clone().unwrap_or_else(|| default_out(&a, kind));
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
    }
    let mut results = json!({
        "meta": {
            "tool": "bidi-bench",
            "client": "bidi (Rust) BidiAgent + BidiOpenAIRealtimeModel",
            "server": format!("{kind:?}"),
            "bidi_version": env!("CARGO_PKG_VERSION"),
            "cpu_count": std::thread::available_parallelism().map_or(0, usize::from),
            "platform": format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
            "date_utc": date_utc(),
            "note": "2-core noisy shared machine; the server runs on the same 2 cores; numbers are medians of repeats",
            "params": format!("{a:?}"),
            "pinned": a.pin,
        },
        "runs": {},
        "median": {},
    });
    for (name, params, reps) in plan {
        let mut runs = Vec::new();
        for r in 0..reps {
            let mut p = params.clone();
            p["tag"] = json!(format!("{name}-r{r}-{}", std::process::id()));
            let t = Instant::now();
            let srv0 = server.cpu_s();
            let res = run_child(&name, &server, &p, &a).await;
            let wall = t.elapsed().as_secs_f64();
            let mut res = match res {
                Ok(v) => v,
                Err(e) => json!({"scenario": name, "error": e}),
            };
            if kind == ServerKind::Sim
                && let (Some(a0), Some(a1)) = (srv0, server.cpu_s())
            {
                // No /stats: the server's CPU over the whole child run (a bit wider).
                res["server_cpu_s"] = json!(a1 - a0);
            }
            res["run_wall_s"] = json!(wall);
            let err = res
                .get("error")
                .cloned()
                .or_else(|| res.get("errors").and_then(|e| e.get(0)).cloned());
            eprintln!(
                "  {name} run {}/{reps}: {} ({wall:.1}s)",
                r + 1,
                err.map_or_else(|| "ok".to_owned(), |e| format!("ERROR {e}"))
            );
            if let Some(stats) = &server.stats_url {
                let reset = stats.replace("/stats", "/reset");
                let _ = http::get_json(&reset).await;
            }
            runs.push(res);
        }
        let good: Vec<Value> = runs
            .iter()
            .filter(|r| r.get("error").is_none())
            .cloned()
            .collect();
        if !good.is_empty() {
            results["median"][&name] = median_of_runs(&good);
        }
        results["runs"][&name] = Value::Array(runs);
        write_json(&out, &results)?;
    }
    server.stop().await;
    print_summary(&results);
    write_json(&out, &results)?;
    eprintln!("\nsaved {}", out.display());
    Ok(results)
}

/// Writes `value` as indented JSON.
pub fn write_json(path: &Path, value: &Value) -> Result<(), BenchError> {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    std::fs::write(path, text).map_err(io(format!("writing {}", path.display())))
}

fn date_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A number for a table: `-` when absent.
pub fn fmt(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "-".to_owned(),
        Some(Value::Number(n)) => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            if x.abs() >= 1000.0 {
                format!("{x:.0}")
            } else if x.abs() < 1.0 {
                format!("{x:.3}")
            } else {
                format!("{x:.2}")
            }
        }
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Prints the medians as `bench_python.py` does (single-session rows, then sessions_N).
pub fn print_summary(results: &Value) {
    let empty = Map::new();
    let m = results["median"].as_object().unwrap_or(&empty);
    let g = |s: &str, k: &str| fmt(m.get(s).and_then(|x| x.get(k)));
    println!(
        "\nbidi-bench | server {} | medians of repeats",
        fmt(results["meta"].get("server"))
    );
    let rows = [
        (
            "(a) CPU per duplex audio-second, real-time",
            "duplex_rt",
            "cpu_s_per_duplex_audio_s",
            "cpu-s/s",
        ),
        (
            "    CPU per chunk, real-time",
            "duplex_rt",
            "cpu_us_per_chunk",
            "us",
        ),
        (
            "(a) CPU per duplex audio-second, max pace",
            "duplex_fast",
            "cpu_s_per_duplex_audio_s",
            "cpu-s/s",
        ),
        (
            "    CPU per chunk, max pace",
            "duplex_fast",
            "cpu_us_per_chunk",
            "us",
        ),
        (
            "(b) audio delta latency p50",
            "duplex_rt",
            "out_latency_p50_ms",
            "ms",
        ),
        (
            "(b) audio delta latency p99",
            "duplex_rt",
            "out_latency_p99_ms",
            "ms",
        ),
        (
            "    input latency p50",
            "duplex_rt",
            "in_latency_p50_ms",
            "ms",
        ),
        (
            "    input latency p99",
            "duplex_rt",
            "in_latency_p99_ms",
            "ms",
        ),
        (
            "(c) interruption latency p50",
            "interrupt",
            "interrupt_latency_pooled_p50_ms",
            "ms",
        ),
        (
            "(c) interruption latency p99",
            "interrupt",
            "interrupt_latency_pooled_p99_ms",
            "ms",
        ),
        (
            "(d) tool round trip p50 (sync)",
            "tool_sync",
            "tool_rtt_pooled_p50_ms",
            "ms",
        ),
        (
            "(d) tool round trip p99 (sync)",
            "tool_sync",
            "tool_rtt_pooled_p99_ms",
            "ms",
        ),
        (
            "(d) tool round trip p50 (async)",
            "tool_async",
            "tool_rtt_pooled_p50_ms",
            "ms",
        ),
        (
            "(d) tool round trip p99 (async)",
            "tool_async",
            "tool_rtt_pooled_p99_ms",
            "ms",
        ),
        (
            "(e) max input throughput",
            "tput_in",
            "tput_in_chunks_per_s_client",
            "chunks/s",
        ),
        (
            "    input, server-side",
            "tput_in",
            "tput_in_chunks_per_s_server",
            "chunks/s",
        ),
        (
            "    CPU per input chunk, max pace",
            "tput_in",
            "cpu_us_per_chunk",
            "us",
        ),
        (
            "(e) max output throughput",
            "tput_out",
            "tput_out_chunks_per_s",
            "chunks/s",
        ),
        (
            "    CPU per output chunk, max pace",
            "tput_out",
            "cpu_us_per_chunk",
            "us",
        ),
        ("(f) peak RSS, 1 session", "duplex_rt", "peak_rss_mb", "MiB"),
        (
            "    RSS at start",
            "duplex_rt",
            "rss_after_import_mb",
            "MiB",
        ),
    ];
    for (label, s, k, unit) in rows {
        if m.contains_key(s) {
            println!("{label:<46} {:>10} {unit}", g(s, k));
        }
    }
    let mut sess: Vec<(usize, &Value)> = m
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("sessions_")?.parse().ok()?, v)))
        .collect();
    sess.sort_by_key(|(n, _)| *n);
    if !sess.is_empty() {
        println!("\n(g) concurrent sessions, each duplex real-time (medians):");
        let cols = [
            "keeps_up",
            "cpu_util",
            "out_latency_p50_ms",
            "out_latency_p99_ms",
            "in_sched_lag_p99_ms",
            "delivered_ratio",
            "peak_rss_mb",
            "rss_per_session_kb",
            "server_cpu_s",
        ];
        println!(
            "{:>6} {}",
            "N",
            cols.map(|c| format!("{:>12}", &c[..c.len().min(12)]))
                .join(" ")
        );
        for (n, d) in sess {
            let vals: Vec<String> = cols
                .iter()
                .map(|c| format!("{:>12}", fmt(d.get(*c))))
                .collect();
            println!("{n:>6} {}", vals.join(" "));
        }
    }
}
