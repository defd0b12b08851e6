//! bidi-sim accepted by clients we did not write (issue 21): the official openai SDK
//! (realtime) runs a text turn and a tool round trip against the `bidi-sim` binary, and every
//! server event validates against the SDK's own models.
//!
//! `BIDI_CLIENTS_PYTHON` names the interpreter of a venv with the pinned clients (`.ci/run`
//! makes it). Outside CI the test skips with a message when it is unset; under CI
//! (`CI=true`) it fails instead.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::Value;

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

fn clients_python() -> Option<String> {
    match std::env::var("BIDI_CLIENTS_PYTHON") {
        Ok(python) => Some(python),
        Err(_) if in_ci() => panic!("BIDI_CLIENTS_PYTHON is unset under CI (.ci/run makes it)"),
        Err(_) => {
            eprintln!("SKIPPED: BIDI_CLIENTS_PYTHON unset (a venv with the pinned openai SDK)");
            None
        }
    }
}

/// The bidi-sim binary serving one protocol with a scenario; killed when dropped.
struct Sim {
    child: std::process::Child,
    url: String,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sim(protocol: &str, scenario: &str) -> Sim {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bidi-sim"))
        .args(["--protocol", protocol, "--scenario", scenario])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("bidi-sim starts");
    let stdout = child.stdout.take().expect("stdout");
    let line = BufReader::new(stdout)
        .lines()
        .next()
        .expect("a READY line")
        .expect("readable");
    let url = line
        .split_whitespace()
        .nth(2)
        .unwrap_or_else(|| panic!("READY line: {line}"))
        .to_owned();
    Sim { child, url }
}

#[test]
fn the_openai_sdk_runs_a_text_turn_and_a_tool_call_with_typed_events() {
    let Some(python) = clients_python() else {
        return;
    };
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scenarios/weather.json");
    let server = sim("openai", scenario);
    // The SDK takes the HTTP base URL and adds `/realtime` on the ws scheme.
    let base = server
        .url
        .replacen("ws://", "http://", 1)
        .trim_end_matches("/realtime")
        .to_owned();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/openai_sdk.py");
    let out = Command::new(python)
        .args([script, &base])
        .output()
        .expect("the client runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "client failed:\n{stdout}\n{stderr}");
    let last: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(last["ok"], true, "{last}");
    assert_eq!(last["call"], "get_weather");
    assert_eq!(last["answer"][0], "It is sunny in Paris.");
}
