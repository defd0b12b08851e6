//! What the quickstart tests share: running the real binary as a process (a watchdog ends it
//! if it hangs, with no provider credentials from the developer's environment), reading its
//! `--json` events, and the calculator scenario with the assertion on its turn.

#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use bidi_sim::{Action, Script, Trigger};
use serde_json::Value;

/// Upper bound against hangs, never a timing assertion.
pub const HANG: Duration = Duration::from_secs(60);

/// Runs the quickstart with `args` and `stdin`, without any provider credentials in its
/// environment; kills it if it hangs.
pub fn quickstart(args: &[&str], stdin: &str) -> Output {
    quickstart_with_env(args, stdin, &[])
}

/// Like [`quickstart`], with `env` set (nothing else of the provider credentials).
pub fn quickstart_with_env(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bidi-quickstart"));
    command
        .args(args)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env_remove("OPENAI_API_KEY")
        .env_remove("GEMINI_API_KEY")
        .env_remove("GOOGLE_API_KEY")
        .env_remove("RUST_LOG")
        .env_remove("RUST_BACKTRACE");
    // Nor the developer's proxies and CA locations (tests set them explicitly).
    for var in [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
    ] {
        command.env_remove(var);
    }
    command.envs(env.iter().copied());
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the quickstart binary starts");
    if let Some(mut input) = child.stdin.take() {
        input.write_all(stdin.as_bytes()).expect("stdin written");
    }
    let pid = child.id();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if done_rx.recv_timeout(HANG).is_err() {
            // Still running: end it so the test fails instead of hanging.
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
    });
    let output = child.wait_with_output().expect("the quickstart ran");
    done_tx.send(()).ok();
    watchdog.join().ok();
    output
}

/// Runs the quickstart in a blocking task (the simulator goes on serving meanwhile).
pub async fn run(args: Vec<String>, stdin: &'static str) -> Output {
    run_with_env(args, stdin, Vec::new()).await
}

/// Like [`run`], with `env` set.
pub async fn run_with_env(
    args: Vec<String>,
    stdin: &'static str,
    env: Vec<(&'static str, String)>,
) -> Output {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        quickstart_with_env(&args, stdin, &env)
    })
    .await
    .expect("the run task")
}

/// Bytes as text (lossy).
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The JSON events on stdout; panics on a line that is not JSON.
pub fn events(output: &Output) -> Vec<Value> {
    text(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
        .collect()
}

/// The events of type `kind`.
pub fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

/// The final transcripts of `role`.
pub fn finals(events: &[Value], role: &str) -> Vec<String> {
    of_type(events, "bidi_transcript_stream")
        .into_iter()
        .filter(|e| e["role"] == role && e["is_final"] == true)
        .filter_map(|e| e["text"].as_str().map(str::to_owned))
        .collect()
}

pub fn assert_ok(output: &Output) {
    assert!(
        output.status.success(),
        "exit {:?}\nstderr: {}\nstdout: {}",
        output.status.code(),
        text(&output.stderr),
        text(&output.stdout)
    );
}

/// The calculator turn, seen in the JSON events: the call, its result (84), then an answer.
pub fn assert_calculator_turn(events: &[Value]) {
    let call = events
        .iter()
        .position(|e| {
            e["type"] == "tool_use_stream" && e["current_tool_use"]["name"] == "calculator"
        })
        .unwrap_or_else(|| panic!("no calculator call in {events:#?}"));
    let id = &events[call]["current_tool_use"]["toolUseId"];
    let result = events
        .iter()
        .position(|e| e["type"] == "tool_result" && &e["tool_result"]["toolUseId"] == id)
        .unwrap_or_else(|| panic!("no calculator result in {events:#?}"));
    let tool_result = &events[result]["tool_result"];
    assert_eq!(tool_result["status"], "success");
    assert_eq!(tool_result["content"][0]["text"], "84");
    assert!(call < result);
    let answered = events[result..].iter().any(|e| {
        e["type"] == "bidi_transcript_stream"
            && e["role"] == "assistant"
            && e["is_final"] == true
            && e["text"].as_str().is_some_and(|t| t.contains("84"))
    });
    assert!(answered, "no answer after the tool result: {events:#?}");
}

/// The calculator turn as a script: "times" calls the tool, its result is spoken about.
pub fn calculator_script() -> Script {
    Script::new()
        .on(
            Trigger::Text {
                contains: "times".into(),
            },
            vec![Action::CallTool {
                id: "calc-1".into(),
                name: "calculator".into(),
                input: serde_json::json!({"expression": "12 times 7"}),
            }],
        )
        .on(
            Trigger::ToolResult {
                tool_use_id: Some("calc-1".into()),
            },
            vec![
                Action::Say {
                    text: "The calculator says {tool_result}.".into(),
                    chunk: 0,
                },
                Action::EndTurn,
            ],
        )
}
