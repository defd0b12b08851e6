//! A spoken question through the quickstart binary: `--input-wav` plays a recording to a
//! separate OpenAI simulator that knows the scenario's utterances; the simulator recognizes
//! which question it is, and the quickstart prints its transcript and the matching answer.

use crate::support;

use std::path::Path;

use bidi_sim::openai::OpenAiSim;
use bidi_sim::scenario;

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
    let output = support::run_with_env(args, "", vec![("OPENAI_API_KEY", "test".to_owned())]).await;
    support::assert_ok(&output);
    let events = support::events(&output);
    let finals = |role: &str| support::finals(&events, role);
    assert_eq!(finals("user"), ["What time is it in Tokyo?"], "{events:#?}");
    assert_eq!(finals("assistant"), ["It is noon in Tokyo."], "{events:#?}");
    // The answer's speech (300 ms at 24 kHz) is in the output file.
    let reader = hound::WavReader::open(&output_wav).expect("output wav");
    assert_eq!(reader.len(), 24_000 * 300 / 1000);
    sim.shutdown().await;
}
