//! bidi-sim accepted by clients we did not write (issue 21), against the `bidi-sim` binary:
//! - the official openai SDK (realtime): a text turn and a tool round trip, and a spoken turn
//!   (espeak-ng speech through the server VAD), every server event validated against the
//!   SDK's own models;
//! - google-genai's Live client, over `wss://` with `--tls` (it always hands websockets an
//!   SSL context, so `ws://` is out of its reach): a tool round trip with the spoken answer,
//!   a text-only session answered in text parts, and realtime audio heard and answered;
//! - strands-agents 1.40's `BidiAgent` (the Python original) with its OpenAI and Gemini
//!   models: a text turn and a tool call each;
//! - the AWS SDK for JavaScript v3 (`InvokeModelWithBidirectionalStreamCommand` over HTTP/2)
//!   against the Bedrock server: a text turn and a tool call (`tests/clients/aws-js`, pinned
//!   by its package-lock.json; `.ci/run` runs `npm ci` there).
//!
//! `BIDI_CLIENTS_PYTHON` names the interpreter of a venv with the pinned openai SDK and
//! google-genai, `BIDI_STRANDS_PYTHON` one with strands-agents 1.40 (its pins differ:
//! google-genai 1.x); `.ci/run` makes both. Outside CI a test skips with a message when its
//! variable is unset; under CI (`CI=true`) it fails instead.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support;

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The interpreter `var` names, or `None` (skip) outside CI.
fn python(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(python) => Some(python),
        Err(_) if in_ci() => panic!("{var} is unset under CI (.ci/run makes it)"),
        Err(_) => {
            eprintln!("SKIPPED: {var} unset (a venv with the pinned clients, see .ci/run)");
            None
        }
    }
}

fn clients_python() -> Option<String> {
    python("BIDI_CLIENTS_PYTHON")
}

fn strands_python() -> Option<String> {
    python("BIDI_STRANDS_PYTHON")
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
        // Killed, the server could not remove its CA file.
        if let Some(ca) = &self.ca {
            let _ = std::fs::remove_file(ca);
        }
    }
}

impl Sim {
    /// The base URL the openai SDK takes: HTTP, without the `/realtime` it adds.
    fn openai_base(&self) -> String {
        self.url
            .replacen("ws://", "http://", 1)
            .trim_end_matches("/realtime")
            .to_owned()
    }

    /// The base URL google-genai takes: HTTPS, without the `/ws/...` method path it adds.
    fn gemini_base(&self) -> String {
        self.url
            .replacen("wss://", "https://", 1)
            .trim_end_matches("/ws")
            .to_owned()
    }
}

fn scenario(name: &str) -> String {
    format!("{}/tests/scenarios/{name}", env!("CARGO_MANIFEST_DIR"))
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

/// Runs the Python client `script` (in `tests/clients/`) with `args`, trusting `sim`'s CA
/// when it has one: its [verdict](client_verdict).
fn run_client(python: &str, script: &str, args: &[&str], sim: &Sim) -> Value {
    let script = format!("{}/tests/clients/{script}", env!("CARGO_MANIFEST_DIR"));
    let mut command = Command::new(python);
    command.arg(&script).args(args);
    if let Some(ca) = &sim.ca {
        command.env("SSL_CERT_FILE", ca);
    }
    client_verdict(&mut command)
}

/// Runs a client `command`; returns its last stdout line as JSON, after checking it exited
/// well and said `"ok": true`.
fn client_verdict(command: &mut Command) -> Value {
    let out = command.output().expect("the client runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "client failed:\n{stdout}\n{stderr}");
    let last: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    assert_eq!(last["ok"], true, "{last}");
    last
}

/// The scenario `spoken.json`'s first question, spoken by espeak-ng now and converted to
/// `rate` Hz with silence before it.
fn spoken_question(dir: &Path, rate: u32) -> PathBuf {
    let wav = support::speak(dir, "question.wav", support::TIME, &[]);
    support::convert(
        &wav,
        &dir.join(format!("question-{rate}.wav")),
        rate,
        (0.3, 0.0),
    )
}

#[test]
fn the_openai_sdk_runs_a_text_turn_and_a_tool_call_with_typed_events() {
    let Some(python) = clients_python() else {
        return;
    };
    let server = sim("openai", &scenario("weather.json"), &[]);
    let last = run_client(&python, "openai_sdk.py", &[&server.openai_base()], &server);
    assert_eq!(last["call"], "get_weather");
    assert_eq!(last["answer"][0], "It is sunny in Paris.");
}

#[test]
fn the_openai_sdk_speaks_a_question_and_hears_the_answer() {
    let Some(python) = clients_python() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let wav = spoken_question(dir.path(), 24_000);
    let server = sim("openai", &scenario("spoken.json"), &[]);
    let wav = wav.to_string_lossy();
    let last = run_client(
        &python,
        "openai_sdk.py",
        &[&server.openai_base(), "--spoken", &wav],
        &server,
    );
    assert_eq!(last["heard"], support::TIME, "{last}");
    assert_eq!(last["answer"][0], "It is noon in Tokyo.", "{last}");
    assert!(
        last["audio_bytes"].as_u64().is_some_and(|n| n > 0),
        "{last}"
    );
    let vad = [
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
    ];
    assert_eq!(last["vad"], serde_json::json!(vad), "{last}");
}

#[test]
fn google_genai_calls_a_tool_and_hears_the_answer_over_wss() {
    let Some(python) = clients_python() else {
        return;
    };
    let server = sim("gemini", &scenario("weather.json"), &["--tls"]);
    assert!(server.ca.is_some(), "the CA line");
    let last = run_client(
        &python,
        "google_genai.py",
        &[&server.gemini_base()],
        &server,
    );
    assert_eq!(last["call"], "get_weather");
    assert_eq!(last["answer"], "It is sunny in Paris.");
    assert!(
        last["audio_bytes"].as_u64().is_some_and(|n| n > 0),
        "{last}"
    );
}

#[test]
fn google_genai_gets_text_parts_in_a_text_only_session() {
    let Some(python) = clients_python() else {
        return;
    };
    let server = sim("gemini", &scenario("weather.json"), &["--tls"]);
    let last = run_client(
        &python,
        "google_genai.py",
        &[&server.gemini_base(), "--text"],
        &server,
    );
    assert_eq!(last["answer"], "Hello! Ask me about the weather.", "{last}");
    assert_eq!(last["audio_bytes"], 0, "{last}");
}

#[test]
fn google_genai_streams_realtime_speech_and_hears_the_answer() {
    let Some(python) = clients_python() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let wav = spoken_question(dir.path(), 16_000);
    let server = sim("gemini", &scenario("spoken.json"), &["--tls"]);
    let wav = wav.to_string_lossy();
    let last = run_client(
        &python,
        "google_genai.py",
        &[&server.gemini_base(), "--spoken", &wav],
        &server,
    );
    assert_eq!(last["heard"], support::TIME, "{last}");
    assert_eq!(last["answer"], "It is noon in Tokyo.", "{last}");
    assert!(
        last["audio_bytes"].as_u64().is_some_and(|n| n > 0),
        "{last}"
    );
}

/// strands 1.40's `BidiAgent` with `provider`'s model: a greeting, then a tool call.
fn strands_turns(provider: &str, server: &Sim, url: &str) {
    let Some(python) = strands_python() else {
        return;
    };
    let last = run_client(&python, "strands_agent.py", &[provider, url], server);
    assert_eq!(
        last["greeting"], "Hello! Ask me about the weather.",
        "{last}"
    );
    assert_eq!(last["call"], "get_weather", "{last}");
    assert_eq!(last["tool_result"], "sunny in Paris", "{last}");
    assert_eq!(last["answer"], "It is sunny in Paris.", "{last}");
}

#[test]
fn strands_openai_model_runs_a_text_turn_and_a_tool_call() {
    let server = sim("openai", &scenario("weather.json"), &[]);
    let url = server.url.clone();
    strands_turns("openai", &server, &url);
}

#[test]
fn strands_gemini_model_runs_a_text_turn_and_a_tool_call_over_wss() {
    let server = sim("gemini", &scenario("weather.json"), &["--tls"]);
    let url = server.gemini_base();
    strands_turns("gemini", &server, &url);
}

#[test]
fn the_aws_sdk_for_javascript_runs_a_text_turn_and_a_tool_call_against_bedrock() {
    let harness = format!("{}/tests/clients/aws-js", env!("CARGO_MANIFEST_DIR"));
    let installed = Path::new(&harness)
        .join("node_modules/@aws-sdk/client-bedrock-runtime")
        .exists();
    if !installed {
        assert!(
            !in_ci(),
            "no node_modules under CI (.ci/run runs npm ci in {harness})"
        );
        eprintln!("SKIPPED: npm ci in {harness} first");
        return;
    }
    let server = sim("nova-sonic", &scenario("weather.json"), &[]);
    let last = client_verdict(
        Command::new("node")
            .arg(format!("{harness}/nova_sonic.mjs"))
            .arg(&server.url),
    );
    assert_eq!(
        last["greeting"], "Hello! Ask me about the weather.",
        "{last}"
    );
    assert_eq!(last["call"], "get_weather", "{last}");
    assert_eq!(last["answer"], "It is sunny in Paris.", "{last}");
    assert!(
        last["audio_bytes"].as_u64().is_some_and(|n| n > 0),
        "{last}"
    );
}
