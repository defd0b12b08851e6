//! Smoke test of the benchmark binary: the orchestrator starts the Rust simulator, runs one
//! short `sessions_2` repeat in a fresh child process (two real `BidiAgent`s with the OpenAI
//! provider) and writes the JSON. Asserts on counts and shape, never on timing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

#[test]
fn sessions_against_the_simulator_deliver_every_chunk() {
    let dir = std::env::temp_dir().join(format!("bidi-bench-smoke-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let out = dir.join("smoke.json");
    let status = Command::new(env!("CARGO_BIN_EXE_bidi-bench"))
        .args([
            "run",
            "--server",
            "sim",
            "--only",
            "sessions",
            "--sessions",
            "2",
            "--session-duration",
            "1",
            "--session-repeats",
            "1",
            "--child-timeout",
            "60",
            "--out",
        ])
        .arg(&out)
        .status()
        .expect("run bidi-bench");
    assert!(status.success(), "bidi-bench failed: {status}");
    let text = std::fs::read_to_string(&out).expect("results written");
    let results: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let run = &results["runs"]["sessions_2"][0];
    assert!(run.get("error").is_none(), "run failed: {run}");
    assert_eq!(run["errors"], serde_json::json!([]));
    assert_eq!(run["sessions"], 2);
    // 1 s of 20 ms chunks each way, per session.
    assert_eq!(run["in_chunks_sent"], 100);
    assert_eq!(run["out_chunks_recv"], 100);
    assert_eq!(run["delivered_ratio"], 1.0);
    // Every output chunk carried the simulator's timing header.
    assert!(run["out_latency_p50_ms"].is_number(), "{run}");
    assert!(run["peak_rss_mb"].as_f64().unwrap() > 0.0);
    assert!(results["median"]["sessions_2"]["keeps_up"].is_string());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_wire_floor_sends_and_reads_the_same_audio() {
    let dir = std::env::temp_dir().join(format!("bidi-bench-wire-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let out = dir.join("wire.json");
    let status = Command::new(env!("CARGO_BIN_EXE_bidi-bench"))
        .args([
            "run",
            "--server",
            "sim",
            "--client",
            "wire",
            "--only",
            "sessions",
            "--sessions",
            "2",
            "--session-duration",
            "1",
            "--session-repeats",
            "1",
            "--child-timeout",
            "60",
            "--out",
        ])
        .arg(&out)
        .status()
        .expect("run bidi-bench");
    assert!(status.success(), "bidi-bench failed: {status}");
    let text = std::fs::read_to_string(&out).expect("results written");
    let results: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let run = &results["runs"]["sessions_2"][0];
    assert!(run.get("error").is_none(), "run failed: {run}");
    assert_eq!(run["client"], "wire");
    assert_eq!(run["in_chunks_sent"], 100);
    // Every chunk the simulator sent was found in the raw frames, stamp included.
    assert_eq!(run["out_chunks_recv"], 100);
    assert!(run["out_latency_p50_ms"].is_number(), "{run}");
    let _ = std::fs::remove_dir_all(&dir);
}
