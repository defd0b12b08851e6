//! A scenario that speaks a recording: the WAV file, named relative to the scenario file,
//! reaches a real OpenAI client behind a real agent as the model's audio, at 24 kHz.

use crate::support;

use std::time::Duration;

use base64::Engine;
use bidi_agent::BidiAgent;
use bidi_sim::openai::OpenAiSim;
use bidi_sim::scenario;
use futures_util::StreamExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recording_is_the_models_speech() {
    let dir = tempfile::tempdir().expect("temp dir");
    // 250 ms at 16 kHz of a ramp: distinctive samples, played at 24 kHz (375 ms worth = 6000 samples).
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(dir.path().join("hello.wav"), spec).expect("wav");
    for n in 0..4000i32 {
        w.write_sample(((n % 200) * 100) as i16).expect("sample");
    }
    w.finalize().expect("finalize");
    let scenario_path = dir.path().join("scenario.json");
    std::fs::write(
        &scenario_path,
        r#"{"rules": [{"when": {"on": "text"}, "then": [
            {"do": "say", "text": "Hello."},
            {"do": "speak_wav", "path": "hello.wav", "frame_ms": 50},
            {"do": "end_turn"}]}]}"#,
    )
    .expect("scenario");
    let script = scenario::load(&scenario_path).expect("scenario loads");

    let sim = OpenAiSim::start(script).await.expect("sim");
    let model = support::openai_model(&sim.url());
    let agent = BidiAgent::builder(model).build().expect("agent");
    agent.start(None).await.expect("start");
    agent.send("hi").await.expect("send");
    let mut events = agent.receive();
    let mut pcm = Vec::new();
    let collect = async {
        while let Some(event) = events.next().await {
            let event = event.expect("event").to_json();
            if event["type"] == "bidi_audio_stream" {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(event["audio"].as_str().expect("audio"))
                    .expect("base64");
                pcm.extend(bytes);
            }
            if event["type"] == "bidi_response_complete" {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), collect)
        .await
        .expect("the answer in time");
    agent.stop().await.expect("stop");
    sim.shutdown().await;

    let samples: Vec<i16> = pcm
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    assert_eq!(samples.len(), 6000, "250 ms at 24 kHz");
    // Not the tone: the ramp's shape survives (rising runs up to near 19900).
    let peak = samples.iter().copied().max().unwrap_or(0);
    assert!((19_000..=20_000).contains(&peak), "peak {peak}");
    let rising = samples.windows(2).filter(|w| w[1] > w[0]).count();
    assert!(rising > samples.len() * 9 / 10, "mostly rising: {rising}");
}

#[test]
fn a_missing_recording_fails_the_scenario_load() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("s.json");
    std::fs::write(
        &path,
        r#"{"rules": [{"when": {"on": "connect"}, "then": [{"do": "speak_wav", "path": "nope.wav"}]}]}"#,
    )
    .expect("write");
    let err = scenario::load(&path).expect_err("missing wav");
    assert!(err.to_string().contains("nope.wav"), "{err}");
}
