//! bidi-sim accepted by clients we did not write (issue 21), against the `bidi-sim` binary:
//! the official openai SDK (realtime) runs a text turn and a tool round trip and every server
//! event validates against the SDK's own models; google-genai's Live client does a tool
//! round trip and gets the spoken answer, over `wss://` with `--tls` (it insists on TLS when
//! it has an API key).
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
    /// The CA file it announced (`--tls`).
    ca: Option<String>,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sim(protocol: &str, scenario: &str, extra: &[&str]) -> Sim {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bidi-sim"))
        .args(["--protocol", protocol, "--scenario", scenario])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("bidi-sim starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut ca = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("readable");
        if let Some(path) = line.strip_prefix("CA ") {
            ca = Some(path.to_owned());
            continue;
        }
        let url = line
            .split_whitespace()
            .nth(2)
            .unwrap_or_else(|| panic!("READY line: {line}"))
            .to_owned();
        return Sim { child, url, ca };
    }
    panic!("bidi-sim printed no READY line");
}

#[test]
fn the_openai_sdk_runs_a_text_turn_and_a_tool_call_with_typed_events() {
    let Some(python) = clients_python() else {
        return;
    };
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scenarios/weather.json");
    let server = sim("openai", scenario, &[]);
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

#[test]
fn google_genai_calls_a_tool_and_hears_the_answer_over_wss() {
    let Some(python) = clients_python() else {
        return;
    };
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scenarios/weather.json");
    let server = sim("gemini", scenario, &["--tls"]);
    let ca = server.ca.clone().expect("the CA line");
    // google-genai takes the HTTPS base URL and adds its own `/ws/...` method path.
    let base = server
        .url
        .replacen("wss://", "https://", 1)
        .trim_end_matches("/ws")
        .to_owned();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/google_genai.py");
    let out = Command::new(python)
        .args([script, &base])
        .env("SSL_CERT_FILE", &ca)
        .output()
        .expect("the client runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "client failed:\n{stdout}\n{stderr}");
    let last: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(last["ok"], true, "{last}");
    assert_eq!(last["call"], "get_weather");
    assert_eq!(last["answer"], "It is sunny in Paris.");
    assert!(
        last["audio_bytes"].as_u64().is_some_and(|n| n > 0),
        "{last}"
    );
}
