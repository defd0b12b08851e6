//! A spoken question through the quickstart binary: `--input-wav` plays a recording to a
//! separate OpenAI simulator that knows the scenario's utterances; the simulator recognizes
//! which question it is, and the quickstart prints its transcript and the matching answer.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use bidi_sim::openai::OpenAiSim;
use bidi_sim::scenario;
use serde_json::Value;

/// Upper bound against hangs, never a timing assertion.
const HANG: Duration = Duration::from_secs(60);

fn shipped() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crates/bidi-sim/tests/scenarios"
    ))
}

/// The shipped recording of `name`, with a second of silence after it (the end of the
/// utterance, for the simulator's turn detection).
fn question(name: &str, out: &Path) {
    let reader = hound::WavReader::open(shipped().join(name)).expect("shipped recording");
    let spec = reader.spec();
    let mut samples: Vec<i16> = reader
        .into_samples::<i16>()
        .collect::<Result<_, _>>()
        .expect("samples");
    samples.extend(vec![0; spec.sample_rate as usize]);
    let mut writer = hound::WavWriter::create(out, spec).expect("wav created");
    for s in samples {
        writer.write_sample(s).expect("sample");
    }
    writer.finalize().expect("wav finalized");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spoken_question_gets_the_matching_answer() {
    let script = scenario::load(shipped().join("spoken.json")).expect("shipped scenario");
    let sim = OpenAiSim::start(script).await.expect("sim");
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("question.wav");
    let output_wav = dir.path().join("answer.wav");
    question("what-time.wav", &input);
    let args: Vec<String> = [
        "--provider",
        "openai",
        "--endpoint",
        &sim.url(),
        "--json",
        "--input-wav",
        input.to_str().expect("utf-8 path"),
        "--output-wav",
        output_wav.to_str().expect("utf-8 path"),
    ]
    .map(String::from)
    .to_vec();
    let output = tokio::task::spawn_blocking(move || {
        let child = Command::new(env!("CARGO_BIN_EXE_bidi-quickstart"))
            .args(&args)
            .env_remove("RUST_LOG")
            .env("OPENAI_API_KEY", "test")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the quickstart starts");
        let pid = child.id();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let watchdog = std::thread::spawn(move || {
            if done_rx.recv_timeout(HANG).is_err() {
                // Still running: end it so the test fails instead of hanging.
                let _ = Command::new("kill").arg(pid.to_string()).status();
            }
        });
        let output = child.wait_with_output();
        done_tx.send(()).ok();
        watchdog.join().ok();
        output.expect("the quickstart ran")
    })
    .await
    .expect("the run task");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}\n{stdout}");
    let events: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
        .collect();
    let finals = |role: &str| -> Vec<String> {
        events
            .iter()
            .filter(|e| {
                e["type"] == "bidi_transcript_stream" && e["role"] == role && e["is_final"] == true
            })
            .filter_map(|e| e["text"].as_str().map(str::to_owned))
            .collect()
    };
    assert_eq!(finals("user"), ["What time is it in Tokyo?"], "{events:#?}");
    assert_eq!(finals("assistant"), ["It is noon in Tokyo."], "{events:#?}");
    // The answer's speech (300 ms at 24 kHz) is in the output file.
    let reader = hound::WavReader::open(&output_wav).expect("output wav");
    assert_eq!(reader.len(), 24_000 * 300 / 1000);
    sim.shutdown().await;
}
