//! Smoke tests of the benchmark binary: the orchestrator starts the Rust simulator, runs one
//! short `sessions_2` repeat in a fresh child process (two real `BidiAgent`s with the OpenAI
//! provider, or two wire-floor sessions) and writes the JSON. Asserts on counts and shape,
//! never on timing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use serde_json::Value;

/// `bidi-bench run --server sim` of one 1-second `sessions_2` repeat with `client`; the
/// results JSON.
fn sessions_2(client: &str) -> Value {
    let dir = std::env::temp_dir().join(format!("bidi-bench-{client}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let out = dir.join("results.json");
    let status = Command::new(env!("CARGO_BIN_EXE_bidi-bench"))
        .args([
            "run", "--server", "sim", "--client", client, "--only", "sessions",
        ])
        .args([
            "--sessions",
            "2",
            "--session-duration",
            "1",
            "--session-repeats",
            "1",
        ])
        .args(["--child-timeout", "60", "--out"])
        .arg(&out)
        .status()
        .expect("run bidi-bench");
    assert!(status.success(), "bidi-bench failed: {status}");
    let text = std::fs::read_to_string(&out).expect("results written");
    let _ = std::fs::remove_dir_all(&dir);
    serde_json::from_str(&text).expect("JSON")
}

/// What both clients must deliver: 1 s of 20 ms chunks each way, per session, every output
/// chunk carrying the simulator's timing header.
fn assert_every_chunk(run: &Value) {
    assert!(run.get("error").is_none(), "run failed: {run}");
    assert_eq!(run["errors"], serde_json::json!([]));
    assert_eq!(run["sessions"], 2);
    assert_eq!(run["in_chunks_sent"], 100);
    assert_eq!(run["out_chunks_recv"], 100);
    assert_eq!(run["delivered_ratio"], 1.0);
    assert!(run["out_latency_p50_ms"].is_number(), "{run}");
}

#[test]
fn sessions_against_the_simulator_deliver_every_chunk() {
    let results = sessions_2("bidi");
    let run = &results["runs"]["sessions_2"][0];
    assert_every_chunk(run);
    assert_eq!(run["client"], "bidi");
    assert!(run["peak_rss_mb"].as_f64().unwrap() > 0.0);
    assert!(results["median"]["sessions_2"]["keeps_up"].is_string());
}

#[test]
fn the_wire_floor_sends_and_reads_the_same_audio() {
    let results = sessions_2("wire");
    let run = &results["runs"]["sessions_2"][0];
    assert_every_chunk(run);
    assert_eq!(run["client"], "wire");
}
