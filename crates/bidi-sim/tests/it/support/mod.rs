//! Test fixtures: sentences spoken by espeak-ng and converted by sox (the hearing tests), the
//! real OpenAI and Gemini clients pointed at a simulator, and the loopback room (`loopback`).

#![allow(dead_code)]

pub mod loopback;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The sentences the tests speak, and the rule text each one matches.
pub const TIME: &str = "What time is it in Tokyo?";
/// The second sentence.
pub const TIMES: &str = "What is twelve times seven?";
/// The third sentence.
pub const JOKE: &str = "Tell me a joke about penguins.";

fn run(command: &mut Command) {
    let status = command
        .status()
        .unwrap_or_else(|e| panic!("{command:?} did not run (apt-get install espeak-ng sox): {e}"));
    assert!(status.success(), "{command:?}: {status}");
}

/// `text` spoken by espeak-ng (22.05 kHz mono) into `dir/name`, with extra espeak-ng `args`.
pub fn speak(dir: &Path, name: &str, text: &str, args: &[&str]) -> PathBuf {
    let path = dir.join(name);
    run(Command::new("espeak-ng")
        .args(args)
        .arg("-w")
        .arg(&path)
        .arg(text));
    path
}

/// `wav` converted by sox to mono 16-bit at `rate` Hz, with `pad_s` seconds of silence
/// before and after.
pub fn convert(wav: &Path, out: &Path, rate: u32, pad_s: (f32, f32)) -> PathBuf {
    let mut cmd = Command::new("sox");
    cmd.arg(wav)
        .args(["-r", &rate.to_string(), "-c", "1", "-b", "16"])
        .arg(out);
    if pad_s != (0.0, 0.0) {
        cmd.args(["pad", &pad_s.0.to_string(), &pad_s.1.to_string()]);
    }
    run(&mut cmd);
    out.to_owned()
}

/// A mono 16-bit WAV file's samples and rate.
pub fn read(wav: &Path) -> (Vec<i16>, u32) {
    let reader = hound::WavReader::open(wav).unwrap_or_else(|e| panic!("{}: {e}", wav.display()));
    let rate = reader.spec().sample_rate;
    let samples = reader
        .into_samples::<i16>()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{}: {e}", wav.display()));
    (samples, rate)
}

/// Deterministic white-ish noise, `ms` long at `rate`, peak `amplitude`.
pub fn noise(ms: u32, rate: u32, amplitude: i16) -> Vec<i16> {
    let mut state = 0x2545_f491_u32;
    (0..rate / 1000 * ms)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let unit = (state % 20_001) as i32 - 10_000;
            (unit * i32::from(amplitude) / 10_000) as i16
        })
        .collect()
}

/// Samples as little-endian PCM bytes.
pub fn pcm(samples: &[i16]) -> Vec<u8> {
    samples.iter().flat_map(|s| s.to_le_bytes()).collect()
}

/// Upper bound on waiting for an answer, against hangs; never a timing assertion.
pub const ANSWER_LIMIT: std::time::Duration = std::time::Duration::from_secs(30);

/// The real OpenAI Realtime client pointed at a simulator's `url`, with a placeholder key.
pub fn openai_model(url: &str) -> bidi_agent::models::openai::BidiOpenAIRealtimeModel {
    use bidi_agent::models::openai::{BidiOpenAIRealtimeModel, OpenAiRealtimeConfig};
    BidiOpenAIRealtimeModel::new(OpenAiRealtimeConfig::new().endpoint(url).api_key("test"))
        .expect("model")
}

/// The agent's events, as reference JSON, up to and including the next final assistant
/// transcript; panics with what was seen when none comes within [`ANSWER_LIMIT`].
pub async fn until_answer(events: &mut bidi_agent::AgentEventStream) -> Vec<serde_json::Value> {
    until(events, |event| {
        event["type"] == "bidi_transcript_stream"
            && event["role"] == "assistant"
            && event["is_final"] == true
    })
    .await
}

/// The agent's events, as reference JSON, up to and including the first that `stop`
/// accepts (or to the stream's end); panics with what was seen when that takes longer
/// than [`ANSWER_LIMIT`].
pub async fn until(
    events: &mut bidi_agent::AgentEventStream,
    stop: impl Fn(&serde_json::Value) -> bool,
) -> Vec<serde_json::Value> {
    use futures_util::StreamExt;
    let mut seen = Vec::new();
    let collect = async {
        while let Some(event) = events.next().await {
            let event = event.expect("event").to_json();
            let done = stop(&event);
            seen.push(event);
            if done {
                return;
            }
        }
    };
    if tokio::time::timeout(ANSWER_LIMIT, collect).await.is_err() {
        panic!("not in time; saw {seen:#?}");
    }
    seen
}

/// The real Gemini Live client pointed at a simulator, with a placeholder key.
pub fn gemini_model(
    sim: &bidi_sim::gemini::GeminiSimHandle,
) -> bidi_agent::models::gemini::BidiGeminiLiveModel {
    use bidi_agent::models::gemini::{BidiGeminiLiveModel, GeminiLiveConfig};
    BidiGeminiLiveModel::new(
        GeminiLiveConfig::default()
            .with_api_key("test")
            .with_base_url(sim.base_url()),
    )
    .expect("model")
}
