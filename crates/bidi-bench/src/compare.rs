//! `compare`: the Python benchmark and ours, alternately in one invocation (A B A B ...),
//! on the same fake server build and machine, then the ratios.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::args::{ClientKind, RunArgs, ServerKind};
use crate::error::BenchError;
use crate::metrics::median_of_runs;
use crate::orchestrate;
use crate::report::{fmt, write_json};
use crate::server::{peer_dir, python, repo_root};

/// The flags of `compare`.
#[derive(Debug, Clone, clap::Args)]
pub struct CompareArgs {
    /// The benchmark knobs, passed to both sides.
    #[command(flatten)]
    pub run: RunArgs,
    /// A/B rounds (each round runs Python, then bidi).
    #[arg(long, default_value_t = 2)]
    pub rounds: usize,
    /// Also run the wire floor (`--client wire`) after bidi in every round, on the
    /// scenarios it can play (duplex, throughput, sessions), and print how much each client
    /// costs above it.
    #[arg(long)]
    pub with_floor: bool,
}

/// The scenarios the wire floor plays: it sends and reads audio, it answers no tool call
/// and reacts to no interruption.
const FLOOR_SCENARIOS: [&str; 5] = [
    "duplex_rt",
    "duplex_fast",
    "tput_in",
    "tput_out",
    "sessions",
];

/// CPU figures compared above the floor: label, scenario, key.
const FLOOR_ROWS: [(&str, &str, &str); 4] = [
    (
        "(a) CPU per chunk, real time (us)",
        "duplex_rt",
        "cpu_us_per_chunk",
    ),
    (
        "(a) CPU per chunk, max pace (us)",
        "duplex_fast",
        "cpu_us_per_chunk",
    ),
    (
        "    CPU per input chunk, max pace (us)",
        "tput_in",
        "cpu_us_per_chunk",
    ),
    (
        "    CPU per output chunk, max pace (us)",
        "tput_out",
        "cpu_us_per_chunk",
    ),
];

/// `--only` for the floor runs: the user's selection restricted to [`FLOOR_SCENARIOS`].
fn floor_only(only: Option<&str>) -> String {
    let all = FLOOR_SCENARIOS.join(",");
    match only {
        None => all,
        Some(o) => o
            .split(',')
            .filter(|s| FLOOR_SCENARIOS.iter().any(|f| s.starts_with(f)))
            .collect::<Vec<_>>()
            .join(","),
    }
}

/// One compared figure: label, scenario, key, and whether lower is better.
const ROWS: [(&str, &str, &str, bool); 20] = [
    (
        "(a) CPU per chunk, real time (us)",
        "duplex_rt",
        "cpu_us_per_chunk",
        true,
    ),
    (
        "(a) CPU per duplex audio-second, real time",
        "duplex_rt",
        "cpu_s_per_duplex_audio_s",
        true,
    ),
    (
        "(a) CPU per chunk, max pace (us)",
        "duplex_fast",
        "cpu_us_per_chunk",
        true,
    ),
    (
        "(b) audio delta latency p50 (ms)",
        "duplex_rt",
        "out_latency_p50_ms",
        true,
    ),
    (
        "(b) audio delta latency p99 (ms)",
        "duplex_rt",
        "out_latency_p99_ms",
        true,
    ),
    (
        "    input latency p50 (ms)",
        "duplex_rt",
        "in_latency_p50_ms",
        true,
    ),
    (
        "(c) interruption latency p50 (ms)",
        "interrupt",
        "interrupt_latency_pooled_p50_ms",
        true,
    ),
    (
        "(c) interruption latency p99 (ms)",
        "interrupt",
        "interrupt_latency_pooled_p99_ms",
        true,
    ),
    (
        "(d) tool round trip p50, sync (ms)",
        "tool_sync",
        "tool_rtt_pooled_p50_ms",
        true,
    ),
    (
        "(d) tool round trip p99, sync (ms)",
        "tool_sync",
        "tool_rtt_pooled_p99_ms",
        true,
    ),
    (
        "(d) tool round trip p50, async (ms)",
        "tool_async",
        "tool_rtt_pooled_p50_ms",
        true,
    ),
    (
        "(d) tool round trip p99, async (ms)",
        "tool_async",
        "tool_rtt_pooled_p99_ms",
        true,
    ),
    (
        "(e) max input throughput (chunks/s)",
        "tput_in",
        "tput_in_chunks_per_s_client",
        false,
    ),
    (
        "    CPU per input chunk, max pace (us)",
        "tput_in",
        "cpu_us_per_chunk",
        true,
    ),
    (
        "(e) max output throughput (chunks/s)",
        "tput_out",
        "tput_out_chunks_per_s",
        false,
    ),
    (
        "    CPU per output chunk, max pace (us)",
        "tput_out",
        "cpu_us_per_chunk",
        true,
    ),
    (
        "(f) peak RSS, 1 session (MiB)",
        "duplex_rt",
        "peak_rss_mb",
        true,
    ),
    (
        "(f) RSS per extra session, N=50 (KiB)",
        "sessions_50",
        EXTRA_SESSION_KB,
        true,
    ),
    (
        "(f) RSS per extra session, N=400 (KiB)",
        "sessions_400",
        EXTRA_SESSION_KB,
        true,
    ),
    (
        "    RSS per session from the start, N=50 (KiB)",
        "sessions_50",
        "rss_per_session_kb",
        true,
    ),
];

/// The derived key of [`add_extra_session_rss`].
const EXTRA_SESSION_KB: &str = "rss_per_extra_session_kb";

/// What each session past the first costs, connected: `(RSS(N) - RSS(1)) / (N - 1)` from the
/// medians of `sessions_N` and `sessions_1`, added to each `sessions_N`'s median as
/// [`EXTRA_SESSION_KB`]. `rss_per_session_kb` (`(RSS(N) - RSS at start) / N`) also counts
/// what the first connection loads once: for a Rust binary its code pages, faulted in on
/// first use (~2.4 MB here), which the Python side loaded at import, before its start.
fn add_extra_session_rss(side: &mut Value) {
    let Some(medians) = side["median"].as_object_mut() else {
        return;
    };
    let Some(one) = medians
        .get("sessions_1")
        .and_then(|m| m["rss_connected_mb"].as_f64())
    else {
        return;
    };
    for (name, median) in medians.iter_mut() {
        let n = name
            .strip_prefix("sessions_")
            .and_then(|n| n.parse::<f64>().ok());
        let (Some(n), Some(rss)) = (n, median["rss_connected_mb"].as_f64()) else {
            continue;
        };
        if n > 1.0 {
            median[EXTRA_SESSION_KB] = json!((rss - one) * 1024.0 / (n - 1.0));
        }
    }
}

/// How to create the Python venv.
pub fn venv_help(peer: &Path) -> String {
    format!(
        "The Python benchmark needs strands-agents 1.40.0 and websockets 16.1.1 in a venv:\n\n    \
         python3.11 -m venv {0}/.venv   # or any path, then pass --python <venv>/bin/python\n    \
         {0}/.venv/bin/pip install strands-agents==1.40.0 websockets==16.1.1\n\n\
         (see {0}/README.md section 1; the peer folder may be read-only: use e.g. /tmp/peer-venv)",
        peer.display()
    )
}

fn has_strands(py: &Path) -> bool {
    std::process::Command::new(py)
        .args(["-c", "import strands.experimental.bidi, websockets"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn python_args(a: &RunArgs, out: &Path) -> Vec<String> {
    let mut v: Vec<String> = vec![
        "--repeats".into(),
        a.repeats.to_string(),
        "--session-repeats".into(),
        a.session_repeats.to_string(),
        "--duration".into(),
        a.duration.to_string(),
        "--fast-duration".into(),
        a.fast_duration.to_string(),
        "--session-duration".into(),
        a.session_duration.to_string(),
        "--sessions".into(),
        a.sessions.clone(),
        "--iterations".into(),
        a.iterations.to_string(),
        "--tput-chunks".into(),
        a.tput_chunks.to_string(),
        "--input-rate".into(),
        a.input_rate.to_string(),
        "--chunk-ms".into(),
        a.chunk_ms.to_string(),
        "--keepup-ms".into(),
        a.keepup_ms.to_string(),
        "--out".into(),
        out.display().to_string(),
    ];
    if let Some(only) = &a.only {
        v.extend(["--only".into(), only.clone()]);
    }
    if a.pin {
        v.push("--pin".into());
    }
    v
}

fn pool(rounds: &[Value]) -> Value {
    let mut runs: Map<String, Value> = Map::new();
    for r in rounds {
        for (name, list) in r["runs"].as_object().into_iter().flatten() {
            let entry = runs.entry(name.clone()).or_insert_with(|| json!([]));
            if let (Some(e), Some(l)) = (entry.as_array_mut(), list.as_array()) {
                e.extend(l.iter().filter(|x| x.get("error").is_none()).cloned());
            }
        }
    }
    let median: Map<String, Value> = runs
        .iter()
        .filter_map(|(k, v)| {
            let v = v.as_array()?;
            (!v.is_empty()).then(|| (k.clone(), median_of_runs(v)))
        })
        .collect();
    json!({"runs": runs, "median": median})
}

/// Runs the rounds, prints the ratio table, writes `target/bench/compare.json` (or
/// `--out`). Exits early with the venv instructions when Python is not ready.
pub async fn compare(args: &CompareArgs) -> Result<Value, BenchError> {
    let mut a = args.run.effective();
    a.server = ServerKind::Python;
    let peer = peer_dir(a.peer_dir.as_deref())?;
    let py = python(a.python.as_deref(), &peer);
    if !has_strands(&py) {
        eprintln!(
            "python=<{}> | cannot import strands.experimental.bidi\n\n{}",
            py.display(),
            venv_help(&peer)
        );
        return Err(BenchError::Server {
            what: "python".into(),
            detail: "the venv is missing".into(),
        });
    }
    a.python = Some(py.clone());
    let dir = repo_root().join("target/bench");
    std::fs::create_dir_all(&dir).map_err(|source| BenchError::Io {
        what: format!("creating {}", dir.display()),
        source,
    })?;
    let (mut py_rounds, mut our_rounds, mut floor_rounds) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..args.rounds.max(1) {
        let py_out = dir.join(format!("compare-python-round{round}.json"));
        eprintln!("== round {} / {}: Python (A)", round + 1, args.rounds);
        let mut cmd = if a.pin {
            let mut c = std::process::Command::new("taskset");
            c.args(["-c", "0,1"]).arg(&py);
            c
        } else {
            std::process::Command::new(&py)
        };
        let status = cmd
            .arg(peer.join("bench_python.py"))
            .args(python_args(&a, &py_out))
            .stdout(std::process::Stdio::null())
            .status()
            .map_err(|source| BenchError::Io {
                what: "running bench_python.py".into(),
                source,
            })?;
        match std::fs::read_to_string(&py_out)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
        {
            Some(v) if status.success() => py_rounds.push(v),
            _ => eprintln!("bench_python.py failed (status {status}); round skipped for Python"),
        }
        eprintln!("== round {} / {}: bidi (B)", round + 1, args.rounds);
        let mut ours = a.clone();
        ours.out = Some(dir.join(format!("compare-bidi-round{round}.json")));
        our_rounds.push(orchestrate::orchestrate(&ours).await?);
        let only = floor_only(a.only.as_deref());
        if args.with_floor && !only.is_empty() {
            eprintln!("== round {} / {}: wire floor", round + 1, args.rounds);
            let mut floor = a.clone();
            floor.client = ClientKind::Wire;
            floor.only = Some(only);
            floor.out = Some(dir.join(format!("compare-wire-round{round}.json")));
            floor_rounds.push(orchestrate::orchestrate(&floor).await?);
        }
    }
    let mut python_side = pool(&py_rounds);
    let mut ours = pool(&our_rounds);
    add_extra_session_rss(&mut python_side);
    add_extra_session_rss(&mut ours);
    let mut ratios = Map::new();
    println!(
        "\nA/B over {} round(s), medians of all repeats | ratio = how many times better bidi is",
        args.rounds
    );
    println!(
        "{:<46} {:>12} {:>12} {:>9}",
        "metric", "bidi", "Python", "ratio"
    );
    for (label, s, k, lower_better) in ROWS {
        let o = ours["median"].get(s).and_then(|x| x.get(k));
        let p = python_side["median"].get(s).and_then(|x| x.get(k));
        let ratio = match (o.and_then(Value::as_f64), p.and_then(Value::as_f64)) {
            (Some(o), Some(p)) if o > 0.0 && p > 0.0 => {
                Some(if lower_better { p / o } else { o / p })
            }
            _ => None,
        };
        if let Some(r) = ratio {
            ratios.insert(format!("{s}.{k}"), json!(r));
        }
        println!(
            "{label:<46} {:>12} {:>12} {:>9}",
            fmt(o),
            fmt(p),
            ratio.map_or_else(|| "-".to_owned(), |r| format!("{r:.1}x"))
        );
    }
    print_sessions(&ours, &python_side);
    let floor = (!floor_rounds.is_empty()).then(|| pool(&floor_rounds));
    if let Some(floor) = &floor {
        print_floor(&ours, &python_side, floor, &mut ratios);
    }
    let result = json!({
        "meta": {"tool": "bidi-bench compare", "rounds": args.rounds, "pinned": a.pin,
                 "params": format!("{a:?}"),
                 "note": "A/B alternation on a 2-core shared machine; medians over all repeats of all rounds"},
        "bidi": ours,
        "python": python_side,
        "wire": floor,
        "ratios": ratios,
    });
    let out: PathBuf = args
        .run
        .out
        .clone()
        .unwrap_or_else(|| dir.join("compare.json"));
    write_json(&out, &result)?;
    eprintln!("saved {}", out.display());
    Ok(result)
}

fn print_sessions(ours: &Value, python_side: &Value) {
    let mut ns: Vec<usize> = ours["median"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, _)| k.strip_prefix("sessions_")?.parse().ok())
        .collect();
    ns.sort_unstable();
    if ns.is_empty() {
        return;
    }
    println!("\n(g) sessions: keeps up / out p99 ms / CPU cores / peak MiB   (bidi | Python)");
    for n in ns {
        let k = format!("sessions_{n}");
        let row = |side: &Value| {
            let d = side["median"].get(&k);
            let g = |c: &str| fmt(d.and_then(|d| d.get(c)));
            format!(
                "{:>5} {:>9} {:>6} {:>7}",
                g("keeps_up"),
                g("out_latency_p99_ms"),
                g("cpu_util"),
                g("peak_rss_mb")
            )
        };
        println!("{n:>6}  {} | {}", row(ours), row(python_side));
    }
}

/// The CPU rows against the wire floor: each side's cost above it, and their ratio.
fn print_floor(ours: &Value, python_side: &Value, floor: &Value, ratios: &mut Map<String, Value>) {
    println!(
        "\nAbove the wire floor (same frames, no agent) | ratio = Python's cost above the floor / bidi's"
    );
    println!(
        "{:<40} {:>9} {:>9} {:>9} {:>10} {:>12} {:>8}",
        "metric", "floor", "bidi", "Python", "bidi-floor", "Python-floor", "ratio"
    );
    for (label, s, k) in FLOOR_ROWS {
        let get = |side: &Value| {
            side["median"]
                .get(s)
                .and_then(|x| x.get(k))
                .and_then(Value::as_f64)
        };
        let (f, o, p) = (get(floor), get(ours), get(python_side));
        let above = |x: Option<f64>| Some(x? - f?);
        let ratio = match (above(o), above(p)) {
            (Some(o), Some(p)) if o > 0.0 && p > 0.0 => Some(p / o),
            _ => None,
        };
        if let Some(r) = ratio {
            ratios.insert(format!("{s}.{k}.above_floor"), json!(r));
        }
        let show = |x: Option<f64>| x.map_or_else(|| "-".to_owned(), |x| format!("{x:.1}"));
        println!(
            "{label:<40} {:>9} {:>9} {:>9} {:>10} {:>12} {:>8}",
            show(f),
            show(o),
            show(p),
            show(above(o)),
            show(above(p)),
            ratio.map_or_else(|| "-".to_owned(), |r| format!("{r:.1}x"))
        );
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{EXTRA_SESSION_KB, add_extra_session_rss, floor_only};

    #[test]
    fn an_extra_session_costs_the_growth_past_the_first() {
        let mut side = json!({"median": {
            "sessions_1": {"rss_connected_mb": 8.0},
            "sessions_51": {"rss_connected_mb": 10.5},
            "duplex_rt": {"rss_connected_mb": 9.0},
        }});
        add_extra_session_rss(&mut side);
        assert_eq!(side["median"]["sessions_51"][EXTRA_SESSION_KB], json!(51.2));
        assert!(side["median"]["sessions_1"].get(EXTRA_SESSION_KB).is_none());
        assert!(side["median"]["duplex_rt"].get(EXTRA_SESSION_KB).is_none());
    }

    #[test]
    fn the_floor_plays_only_the_audio_scenarios() {
        assert_eq!(
            floor_only(None),
            "duplex_rt,duplex_fast,tput_in,tput_out,sessions"
        );
        assert_eq!(
            floor_only(Some("interrupt,duplex_rt,tool_sync,sessions_50")),
            "duplex_rt,sessions_50"
        );
        assert_eq!(floor_only(Some("tool_async")), "");
    }
}
