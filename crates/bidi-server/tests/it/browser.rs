//! The voice page in a real headless Chromium (Debian's), driven by playwright-core from
//! node (`tests/browser/voice_page.mjs`), its microphone a WAV file spoken by espeak-ng: the
//! simulator hears the question, the page shows both transcript lines and the tool, plays
//! the answer, is interrupted by a second utterance (playback stops within 200 ms), stops,
//! starts again, and a wrong token gets a 401 page. Skipped where node's packages or
//! Chromium are missing, except under CI (`CI=true`), where `.ci/run` installs them.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::support::Server;

fn harness_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// Why the browser test cannot run here, if it cannot.
fn missing() -> Option<String> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !PathBuf::from(&chromium).exists() {
        return Some(format!("no Chromium at {chromium}"));
    }
    if !harness_dir().join("node_modules/playwright-core").exists() {
        return Some("no node_modules (npm ci in crates/bidi-server/tests/browser)".into());
    }
    for tool in ["node", "espeak-ng", "sox"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            return Some(format!("no {tool} on PATH"));
        }
    }
    None
}

#[test]
fn the_voice_page_converses_in_headless_chromium() {
    if let Some(why) = missing() {
        assert!(
            std::env::var("CI").is_err(),
            "the browser test must run under CI: {why}"
        );
        eprintln!("skipped: {why}");
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let mic = dir.path().join("mic.wav");
    let made = Command::new("bash")
        .arg(harness_dir().join("make_mic_wav.sh"))
        .arg(&mic)
        .status()
        .expect("make_mic_wav.sh runs");
    assert!(made.success(), "the microphone file was not made");
    let server = Server::start(&["--token", "page-token"]);
    let out = dir.path().join("result.json");
    let run = Command::new("node")
        .current_dir(harness_dir())
        .arg("voice_page.mjs")
        .args([
            "--url",
            &format!("http://{}/?token=page-token", server.addr),
        ])
        .args([
            "--bad-token-url",
            &format!("http://{}/?token=wrong", server.addr),
        ])
        .arg("--wav")
        .arg(&mic)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("node runs");
    let summary = std::fs::read_to_string(&out).unwrap_or_default();
    assert!(
        run.status.success(),
        "voice_page.mjs failed: {}\n{summary}",
        String::from_utf8_lossy(&run.stderr)
    );
    let summary: Value = serde_json::from_str(&summary).expect("a JSON summary");
    let lines: Vec<&str> = summary["transcript"]
        .as_array()
        .expect("transcript lines")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        lines.contains(&"user: What time is it in Tokyo?"),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("assistant: In Tokyo it is ")),
        "{lines:?}"
    );
    assert!(
        summary["tools"]
            .as_array()
            .is_some_and(|t| t.iter().any(|l| l == "tool: current_time")),
        "{summary}"
    );
    assert!(summary["stats"]["samplesPlayed"].as_u64().unwrap_or(0) > 0);
    assert!(summary["stats"]["interruptions"].as_u64().unwrap_or(0) >= 1);
    assert_eq!(summary["checks"]["badToken"]["status"], 401);
    assert_eq!(
        summary["pageErrors"].as_array().map(Vec::len),
        Some(0),
        "{summary}"
    );
}
