//! A short fuzzing pass of each target: CI's share of `cargo xtask fuzz`. The budget per
//! target is `BIDI_FUZZ_MS` milliseconds (default 1000). A failure prints arbtest's seed;
//! `ARBTEST_SEED=0x... cargo test -p bidi-fuzz --test it NAME` replays it.

use std::time::Duration;

fn budget() -> Duration {
    let ms = std::env::var("BIDI_FUZZ_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000);
    Duration::from_millis(ms)
}

fn pass(name: &str) {
    let target = bidi_fuzz::target(name).expect("a known target");
    let report = bidi_fuzz::run::fuzz(target, budget());
    assert!(report.inputs > 0, "{name}: no input was tried");
}

#[test]
fn openai_server_events() {
    pass("openai_server_events");
}

#[test]
fn gemini_server_messages() {
    pass("gemini_server_messages");
}

#[test]
fn nova_server_events() {
    pass("nova_server_events");
}

#[test]
fn nova_event_stream() {
    pass("nova_event_stream");
}

#[test]
fn client_events() {
    pass("client_events");
}

#[test]
fn wav() {
    pass("wav");
}

#[test]
fn sim_gemini_client() {
    pass("sim_gemini_client");
}

#[test]
fn sim_scenario() {
    pass("sim_scenario");
}

#[test]
fn sim_openai_client() {
    pass("sim_openai_client");
}

#[test]
fn twilio_frames() {
    pass("twilio_frames");
}

#[test]
fn every_target_has_a_pass_here() {
    let here = include_str!("short_pass.rs");
    for target in bidi_fuzz::TARGETS {
        assert!(
            here.contains(&format!("pass(\"{}\")", target.name)),
            "no short pass for {}",
            target.name
        );
    }
}
