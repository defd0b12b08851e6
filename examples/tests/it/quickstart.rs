//! The quickstart as a user runs it: the real program as a process (the `bidi-quickstart`
//! binary, the same code as `cargo run --example quickstart`), against the simulators on
//! loopback, through each provider's real client.

use crate::support;

use std::path::Path;
use std::time::Duration;

use bidi_examples::assistant::demo;
use bidi_sim::bedrock::BedrockSim;
use bidi_sim::gemini::GeminiSim;
use bidi_sim::openai::OpenAiSim;
use bidi_sim::{Action, Script, Trigger};
use serde_json::Value;
use support::{
    assert_calculator_turn, assert_ok, calculator_script, events, finals, of_type, quickstart, run,
    text,
};

#[test]
fn with_no_flags_and_nothing_on_stdin_the_demo_plays_and_the_run_ends() {
    let output = quickstart(&[], "");
    assert_ok(&output);
    let stderr = text(&output.stderr);
    assert!(stderr.contains("offline simulator"), "{stderr}");
    assert!(stderr.contains("demo conversation"), "{stderr}");
    let stdout = text(&output.stdout);
    assert!(stdout.contains("tool call: current_time"), "{stdout}");
    assert!(stdout.contains("tool call: calculator"), "{stdout}");
    assert!(stdout.contains("12 times 7 is 84."), "{stdout}");
}

#[test]
fn the_in_process_simulator_speaks_each_protocol() {
    for protocol in ["openai", "gemini", "nova-sonic"] {
        let output = quickstart(
            &["--provider", "sim", "--sim-protocol", protocol, "--json"],
            "",
        );
        assert_ok(&output);
        let events = events(&output);
        assert_calculator_turn(&events);
        // The time tool's own result is in the spoken answer.
        let time = of_type(&events, "tool_result")
            .into_iter()
            .find_map(|r| {
                r["tool_result"]["content"][0]["text"]
                    .as_str()
                    .filter(|t| t.ends_with("in Asia/Tokyo"))
            })
            .unwrap_or_else(|| panic!("{protocol}: no time result"))
            .to_owned();
        let finals = finals(&events, "assistant");
        assert!(
            finals
                .iter()
                .any(|t| t == &format!("In Tokyo it is {time}.")),
            "{protocol}: {finals:?}"
        );
    }
}

/// Whether a recorded client message holds the tool's output `84`.
fn holds_84(v: &Value) -> bool {
    v.to_string().contains("84")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_mode_with_json_against_a_separate_openai_simulator() {
    let sim = OpenAiSim::start(calculator_script()).await.expect("sim");
    let args = [
        "--provider",
        "openai",
        "--endpoint",
        &sim.url(),
        "--json",
        "--text",
    ];
    let output = run(args.map(String::from).to_vec(), "What is 12 times 7?\n").await;
    assert_ok(&output);
    assert_calculator_turn(&events(&output));
    let sent = sim
        .wait_for(
            "conversation.item.create",
            |e| e["item"]["type"] == "function_call_output" && holds_84(e),
            Duration::from_secs(1),
        )
        .await;
    assert!(sent.is_some(), "the tool result reached the provider");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_mode_with_json_against_a_separate_gemini_simulator() {
    let sim = GeminiSim::start(calculator_script()).await.expect("sim");
    let args = [
        "--provider",
        "gemini",
        "--endpoint",
        &sim.base_url(),
        "--json",
    ];
    let output = run(args.map(String::from).to_vec(), "What is 12 times 7?\n").await;
    assert_ok(&output);
    assert_calculator_turn(&events(&output));
    let sent = sim
        .wait_for("toolResponse", holds_84, Duration::from_secs(1))
        .await;
    assert!(sent.is_some(), "the tool result reached the provider");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_mode_with_json_against_a_separate_bedrock_simulator() {
    let sim = BedrockSim::start(calculator_script()).await.expect("sim");
    let args = [
        "--provider",
        "nova-sonic",
        "--endpoint",
        &sim.endpoint(),
        "--json",
    ];
    let output = run(args.map(String::from).to_vec(), "What is 12 times 7?\n").await;
    assert_ok(&output);
    assert_calculator_turn(&events(&output));
    let recorded = sim.recorded();
    let tool_result_sent = recorded
        .iter()
        .flatten()
        .any(|e| e["event"]["toolResult"].is_object() && holds_84(e));
    assert!(tool_result_sent, "the tool result reached the provider");
    sim.shutdown().await;
}

/// Two seconds of a 300 Hz tone at 16 kHz, as the user's "speech".
fn write_speech(path: &Path) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).expect("wav created");
    for n in 0..32_000u32 {
        let s = (f64::from(n) * std::f64::consts::TAU * 300.0 / 16_000.0).sin() * 6000.0;
        writer.write_sample(s as i16).expect("sample written");
    }
    writer.finalize().expect("wav finalized");
}

#[test]
fn audio_mode_from_and_to_wav_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("question.wav");
    let output_wav = dir.path().join("answer.wav");
    write_speech(&input);
    let output = quickstart(
        &[
            "--provider",
            "sim",
            "--json",
            "--input-wav",
            input.to_str().expect("utf-8 path"),
            "--output-wav",
            output_wav.to_str().expect("utf-8 path"),
        ],
        "",
    );
    assert_ok(&output);
    let events = events(&output);
    // The simulator "heard" the question, the tool ran, the answer was spoken.
    assert_eq!(finals(&events, "user"), ["What time is it in Tokyo?"]);
    assert!(
        of_type(&events, "tool_result")
            .iter()
            .any(|r| r["tool_result"]["content"][0]["text"]
                .as_str()
                .is_some_and(|t| t.ends_with("in Asia/Tokyo"))),
        "{events:#?}"
    );
    let audio_events = of_type(&events, "bidi_audio_stream");
    assert!(!audio_events.is_empty());
    // The output WAV holds the model's speech: 400 ms of tone at the model's 24 kHz.
    let reader = hound::WavReader::open(&output_wav).expect("output wav");
    assert_eq!(reader.spec().sample_rate, 24_000);
    let samples: Vec<i16> = reader
        .into_samples::<i16>()
        .collect::<Result<_, _>>()
        .expect("samples");
    assert_eq!(samples.len(), 24_000 * 400 / 1000);
    let peak = samples.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
    assert!(peak > 4000, "the speech is audible, peak {peak}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interruption_ends_the_answer_and_the_run_goes_on_to_its_end() {
    let script = Script::new()
        .on(
            Trigger::Text {
                contains: "story".into(),
            },
            vec![
                Action::Say {
                    text: "Once upon a time".into(),
                    chunk: 0,
                },
                Action::Speak {
                    ms: 2000,
                    frame_ms: 100,
                },
                Action::Interrupt,
            ],
        )
        .on(
            Trigger::Text {
                contains: "thanks".into(),
            },
            vec![
                Action::Say {
                    text: "You are welcome.".into(),
                    chunk: 0,
                },
                Action::EndTurn,
            ],
        );
    let sim = OpenAiSim::start(script).await.expect("sim");
    let args = ["--provider", "openai", "--endpoint", &sim.url(), "--json"];
    let output = run(args.map(String::from).to_vec(), "Tell me a story\nthanks\n").await;
    assert_ok(&output);
    let events = events(&output);
    let interruption = events
        .iter()
        .position(|e| e["type"] == "bidi_interruption")
        .unwrap_or_else(|| panic!("no interruption in {events:#?}"));
    let cut = events[interruption..]
        .iter()
        .any(|e| e["type"] == "bidi_response_complete" && e["stop_reason"] == "interrupted");
    assert!(
        cut,
        "the interrupted response ends as interrupted: {events:#?}"
    );
    assert_eq!(
        finals(&events, "assistant").last().map(String::as_str),
        Some("You are welcome.")
    );
    sim.shutdown().await;
}

#[test]
fn a_bad_flag_is_one_line_on_stderr_and_exit_2() {
    let output = quickstart(&["--bogus"], "");
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--bogus"), "{stderr}");
    let output = quickstart(&["--provider", "skype"], "");
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("skype"));
}

#[test]
fn an_unreachable_endpoint_is_one_line_on_stderr_and_exit_1() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    for (provider, endpoint) in [
        ("openai", format!("ws://127.0.0.1:{port}/v1/realtime")),
        ("gemini", format!("ws://127.0.0.1:{port}/ws")),
        ("nova-sonic", format!("http://127.0.0.1:{port}")),
    ] {
        let output = quickstart(
            &["--provider", provider, "--endpoint", &endpoint, "--text"],
            "hello\n",
        );
        assert_eq!(output.status.code(), Some(1), "{provider}");
        let stderr = text(&output.stderr);
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "{provider}: {stderr}");
        assert!(errors[0].contains(provider), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn an_endpoint_with_the_in_process_simulator_is_a_usage_error() {
    let output = quickstart(&["--provider", "sim", "--endpoint", "ws://127.0.0.1:1"], "");
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("--endpoint needs --provider"));
}

#[test]
fn the_demo_lines_ask_what_the_demo_scenario_answers() {
    // The demo user's lines and the scenario belong together.
    let script = demo::script();
    assert!(demo::DEMO_LINES.iter().all(|line| script.rules.iter().any(|r| matches!(
        &r.when,
        Trigger::Text { contains } if !contains.is_empty() && line.to_lowercase().contains(contains.as_str())
    ))));
}
