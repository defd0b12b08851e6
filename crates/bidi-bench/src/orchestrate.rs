//! The orchestrator: starts the server (the Python fake or the Rust simulator) as a child
//! process, runs every scenario repeat in a fresh child process of this binary, and writes
//! the results in the layout of `results-python.json` (`meta`, `runs`, `median`).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::args::{ClientKind, RunArgs, ServerKind};
use crate::error::{BenchError, io};
use crate::http;
use crate::metrics::median_of_runs;
use crate::report::{date_utc, print_summary, write_json};
use crate::server::{Server, pinned, repo_root};

/// The plan: (scenario, params, repeats), in `bench_python.py`'s order.
pub fn plan(a: &RunArgs, kind: ServerKind) -> Vec<(String, Value, usize)> {
    let sel: Option<Vec<String>> = a
        .only
        .as_ref()
        .map(|o| o.split(',').map(str::to_owned).collect());
    let base = json!({"input_rate": a.input_rate, "chunk_ms": a.chunk_ms, "runtime": a.runtime,
        "client": a.client.name(), "channel_capacity": a.channel_capacity});
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
    let mut name = format!("results-{}", a.client.name());
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
            "client": match a.client {
                ClientKind::Bidi => "bidi (Rust) BidiAgent + BidiOpenAIRealtimeModel",
                ClientKind::Wire => "wire floor: the same WebSocket frames, no agent",
            },
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
