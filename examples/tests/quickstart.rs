//! The quickstart as a user runs it: the real program as a process (the `bidi-quickstart`
//! binary, the same code as `cargo run --example quickstart`), against the simulators on
//! loopback, through each provider's real client.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use bidi_examples::assistant::demo;
use bidi_sim::bedrock::BedrockSim;
use bidi_sim::gemini::{GeminiSim, GeminiSimOptions};
use bidi_sim::openai::{OpenAiSim, OpenAiSimOptions};
use bidi_sim::{Action, Script, Trigger};
use serde_json::Value;

/// Upper bound against hangs, never a timing assertion.
const HANG: Duration = Duration::from_secs(60);

/// Runs the quickstart with `args` and `stdin`, without any provider credentials in its
/// environment; kills it if it hangs.
fn quickstart(args: &[&str], stdin: &str) -> Output {
    quickstart_with_env(args, stdin, &[])
}

/// Like [`quickstart`], with `env` set (nothing else of the provider credentials).
fn quickstart_with_env(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
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
        .env_remove("RUST_BACKTRACE")
        .envs(env.iter().copied());
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
async fn run(args: Vec<String>, stdin: &'static str) -> Output {
    run_with_env(args, stdin, Vec::new()).await
}

/// Like [`run`], with `env` set.
async fn run_with_env(
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

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The JSON events on stdout; panics on a line that is not JSON.
fn events(output: &Output) -> Vec<Value> {
    text(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
        .collect()
}

fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

/// The final transcripts of `role`.
fn finals(events: &[Value], role: &str) -> Vec<String> {
    of_type(events, "bidi_transcript_stream")
        .into_iter()
        .filter(|e| e["role"] == role && e["is_final"] == true)
        .filter_map(|e| e["text"].as_str().map(str::to_owned))
        .collect()
}

fn assert_ok(output: &Output) {
    assert!(
        output.status.success(),
        "exit {:?}\nstderr: {}\nstdout: {}",
        output.status.code(),
        text(&output.stderr),
        text(&output.stdout)
    );
}

/// The calculator turn, seen in the JSON events: the call, its result (84), then an answer.
fn assert_calculator_turn(events: &[Value]) {
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

fn calculator_script() -> Script {
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

const RIGHT_KEY: &str = "sk-right-key-0123456789";
const WRONG_KEY: &str = "sk-wrong-secret-9876543210";
const RIGHT_AWS_KEY_ID: &str = "AKIDQUICKSTARTRIGHT";

/// One provider's run: its name, its endpoint, the environment holding the credentials and
/// the variable a refusal names.
type Case = (
    &'static str,
    String,
    Vec<(&'static str, String)>,
    &'static str,
);

/// The three simulators, each accepting only its right credential.
struct Guarded {
    openai: bidi_sim::openai::OpenAiSimHandle,
    gemini: bidi_sim::gemini::GeminiSimHandle,
    bedrock: BedrockSim,
}

impl Guarded {
    async fn start() -> Self {
        let openai = OpenAiSim::start_with(
            calculator_script(),
            OpenAiSimOptions {
                require_key: Some(RIGHT_KEY.into()),
                ..OpenAiSimOptions::default()
            },
        )
        .await
        .expect("openai sim");
        let gemini = GeminiSim::start_with(
            calculator_script(),
            GeminiSimOptions {
                require_key: Some(RIGHT_KEY.into()),
                ..GeminiSimOptions::default()
            },
        )
        .await
        .expect("gemini sim");
        let bedrock = BedrockSim::start(calculator_script())
            .await
            .expect("bedrock sim");
        bedrock.require_access_key_id(Some(RIGHT_AWS_KEY_ID.into()));
        Self {
            openai,
            gemini,
            bedrock,
        }
    }

    /// Per provider: its endpoint, the environment holding `key` (for Bedrock the access
    /// key id `aws_key_id` with `key` as the secret), and the variable a refusal names.
    fn cases(&self, key: &str, aws_key_id: &str) -> Vec<Case> {
        // The AWS chain reads only the environment: no profile files, no instance metadata.
        let aws = vec![
            ("AWS_ACCESS_KEY_ID", aws_key_id.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", key.to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
            (
                "AWS_CONFIG_FILE",
                "/nonexistent/bidi-test-aws-config".to_owned(),
            ),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/bidi-test-aws-credentials".to_owned(),
            ),
        ];
        vec![
            (
                "openai",
                self.openai.url(),
                vec![("OPENAI_API_KEY", key.to_owned())],
                "OPENAI_API_KEY",
            ),
            (
                "gemini",
                self.gemini.base_url(),
                vec![("GEMINI_API_KEY", key.to_owned())],
                "GEMINI_API_KEY",
            ),
            (
                "nova-sonic",
                self.bedrock.endpoint(),
                aws,
                "AWS_ACCESS_KEY_ID",
            ),
        ]
    }

    async fn shutdown(self) {
        self.openai.shutdown().await;
        self.gemini.shutdown().await;
        self.bedrock.shutdown().await;
    }
}

fn args(provider: &str, endpoint: &str) -> Vec<String> {
    [
        "--provider",
        provider,
        "--endpoint",
        endpoint,
        "--text",
        "--json",
    ]
    .map(String::from)
    .to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_credentials_are_one_line_on_stderr_and_exit_3() {
    let sims = Guarded::start().await;
    for (provider, endpoint, env, variable) in sims.cases(WRONG_KEY, "AKIDQUICKSTARTWRONG") {
        let output = run_with_env(args(provider, &endpoint), "What is 12 times 7?\n", env).await;
        let stderr = text(&output.stderr);
        let stdout = text(&output.stdout);
        assert_eq!(
            output.status.code(),
            Some(3),
            "{provider}: stderr: {stderr}\nstdout: {stdout}"
        );
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{provider}: one line: {stderr}");
        let expected = format!("error: {provider} rejected the credentials at {endpoint}: check ");
        assert!(lines[0].starts_with(&expected), "{provider}: {stderr}");
        assert!(lines[0].contains(variable), "{provider}: {stderr}");
        assert!(!stderr.contains("panicked"), "{provider}: {stderr}");
        assert!(!stderr.contains("backtrace"), "{provider}: {stderr}");
        for secret in [WRONG_KEY, RIGHT_KEY] {
            assert!(
                !stderr.contains(secret),
                "{provider}: secret on stderr: {stderr}"
            );
            assert!(
                !stdout.contains(secret),
                "{provider}: secret on stdout: {stdout}"
            );
        }
        // Whatever reached stdout is JSON events (Bedrock's refusal arrives as the error of
        // the open stream, which the agent yields as one `bidi_error`); no conversation
        // took place.
        let events = events(&output);
        assert!(finals(&events, "assistant").is_empty(), "{stdout}");
        assert!(
            of_type(&events, "bidi_error").len() <= 1,
            "{provider}: the refusal is reported once: {stdout}"
        );
    }
    sims.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_right_credentials_from_the_environment_reach_the_endpoint() {
    let sims = Guarded::start().await;
    for (provider, endpoint, env, _) in sims.cases(RIGHT_KEY, RIGHT_AWS_KEY_ID) {
        let output = run_with_env(args(provider, &endpoint), "What is 12 times 7?\n", env).await;
        assert_ok(&output);
        assert_calculator_turn(&events(&output));
    }
    sims.shutdown().await;
}
