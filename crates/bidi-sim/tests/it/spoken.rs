//! Spoken questions end to end: each provider's real client, behind a real agent, streams
//! espeak-ng speech to its simulator; the simulator detects each utterance, recognizes it
//! among the scenario's utterances, sends the user's transcript and answers with the rule
//! the transcript matches, the same rule that answers typed text.

use crate::support;

use std::path::Path;
use std::time::Duration;

use aws_sdk_bedrockruntime::config::Credentials;
use bidi_agent::BidiAgent;
use bidi_agent::models::gemini::{BidiGeminiLiveModel, GeminiLiveConfig};
use bidi_agent::models::nova_sonic::{BidiNovaSonicModel, NovaSonicConfig};
use bidi_agent::types::{AudioFormat, BidiAudioInputEvent, BidiModel, Channels, SampleRate};
use bidi_sim::bedrock::BedrockSim;
use bidi_sim::gemini::GeminiSim;
use bidi_sim::openai::OpenAiSim;
use bidi_sim::{Script, scenario};
use serde_json::Value;
use support::{JOKE, TIME, TIMES};

const NOON: &str = "It is noon in Tokyo.";
const EIGHTY_FOUR: &str = "Twelve times seven is 84.";

/// The scenario file and the recordings it names, in `dir`: "times" is tried before "time",
/// which both questions contain.
fn scenario_in(dir: &Path) -> Script {
    for (name, text) in [("time", TIME), ("times", TIMES), ("joke", JOKE)] {
        support::speak(dir, &format!("{name}.wav"), text, &[]);
    }
    let path = dir.join("spoken.json");
    let json = serde_json::json!({
        "description": "spoken or typed, the same rules answer",
        "utterances": [
            {"transcript": TIME, "wav": "time.wav"},
            {"transcript": TIMES, "wav": "times.wav"},
            {"transcript": JOKE, "wav": "joke.wav"},
        ],
        "rules": [
            {"when": {"on": "text", "contains": "times"}, "repeat": true,
             "then": [{"do": "say", "text": EIGHTY_FOUR}, {"do": "end_turn"}]},
            {"when": {"on": "text", "contains": "time"}, "repeat": true,
             "then": [{"do": "say", "text": NOON}, {"do": "end_turn"}]},
        ],
    });
    std::fs::write(&path, json.to_string()).expect("scenario written");
    scenario::load(&path).expect("the scenario loads")
}

/// `name`.wav in `dir` at `rate` Hz with silence around it.
fn samples(dir: &Path, name: &str, rate: u32) -> Vec<i16> {
    let out = dir.join(format!("{name}-{rate}.wav"));
    let wav = std::fs::canonicalize(dir.join(format!("{name}.wav"))).expect("the wav exists");
    support::read(&support::convert(&wav, &out, rate, (0.3, 1.0))).0
}

/// Streams `samples` to the agent in 20 ms frames, a bit faster than real time.
async fn stream(agent: &BidiAgent, samples: &[i16], rate: SampleRate) {
    for frame in support::pcm(samples).chunks(rate.hz() as usize / 50 * 2) {
        let event = BidiAudioInputEvent::from_bytes(frame, AudioFormat::Pcm, rate, Channels::Mono);
        agent.send(event).await.expect("audio sent");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Says `name` to the agent.
async fn say(agent: &BidiAgent, dir: &Path, name: &str, rate: SampleRate) {
    stream(agent, &samples(dir, name, rate.hz()), rate).await;
}

fn user_said(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["type"] == "bidi_transcript_stream" && e["role"] == "user")
        .filter_map(|e| e["text"].as_str().map(str::to_owned))
        .collect()
}

fn answer(events: &[Value]) -> Option<String> {
    events
        .last()
        .and_then(|e| e["text"].as_str())
        .map(str::to_owned)
}

/// Two spoken questions then a typed one, in one session.
async fn converse(model: Box<dyn BidiModel>, dir: &Path, rate: SampleRate) {
    let agent = BidiAgent::builder_boxed(model).build().expect("agent");
    agent.start(None).await.expect("start");
    let mut events = agent.receive();

    say(&agent, dir, "time", rate).await;
    let first = support::until_answer(&mut events).await;
    assert!(user_said(&first).iter().any(|t| t == TIME), "{first:#?}");
    assert_eq!(answer(&first).as_deref(), Some(NOON), "{first:#?}");

    say(&agent, dir, "times", rate).await;
    let second = support::until_answer(&mut events).await;
    assert!(user_said(&second).iter().any(|t| t == TIMES), "{second:#?}");
    assert!(!user_said(&second).iter().any(|t| t == TIME), "{second:#?}");
    assert_eq!(answer(&second).as_deref(), Some(EIGHTY_FOUR), "{second:#?}");

    // The rule that answered the spoken question answers the typed one.
    agent.send("So what time is it?").await.expect("text sent");
    let third = support::until_answer(&mut events).await;
    assert_eq!(answer(&third).as_deref(), Some(NOON), "{third:#?}");
    agent.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_hears_which_question_was_spoken() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sim = OpenAiSim::start(scenario_in(dir.path()))
        .await
        .expect("sim");
    let model = support::openai_model(&sim.url());
    converse(Box::new(model), dir.path(), SampleRate::Hz24000).await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gemini_hears_which_question_was_spoken() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sim = GeminiSim::start(scenario_in(dir.path()))
        .await
        .expect("sim");
    let model = BidiGeminiLiveModel::new(
        GeminiLiveConfig::default()
            .with_base_url(sim.base_url())
            .with_api_key("test"),
    )
    .expect("model");
    converse(Box::new(model), dir.path(), SampleRate::Hz16000).await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nova_sonic_hears_which_question_was_spoken() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sim = BedrockSim::start(scenario_in(dir.path()))
        .await
        .expect("sim");
    let model = BidiNovaSonicModel::new(
        NovaSonicConfig::default()
            .with_region("us-east-1")
            .with_endpoint_url(sim.endpoint())
            .with_credentials(Credentials::new("AKIDTEST", "secret", None, None, "test")),
    )
    .expect("model");
    converse(Box::new(model), dir.path(), SampleRate::Hz16000).await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_scenario_answers_its_recordings_and_not_noise() {
    let shipped = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scenarios"));
    let script = scenario::load(shipped.join("spoken.json")).expect("the shipped scenario loads");
    assert_eq!(script.utterances.len(), 2);
    let sim = OpenAiSim::start(script).await.expect("sim");
    let model = support::openai_model(&sim.url());
    let agent = BidiAgent::builder(model).build().expect("agent");
    agent.start(None).await.expect("start");
    let mut events = agent.receive();
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(
        shipped.join("twelve-times-seven.wav"),
        dir.path().join("q.wav"),
    )
    .expect("copy");

    say(&agent, dir.path(), "q", SampleRate::Hz24000).await;
    let spoken = support::until_answer(&mut events).await;
    assert!(user_said(&spoken).iter().any(|t| t == TIMES), "{spoken:#?}");
    assert_eq!(answer(&spoken).as_deref(), Some(EIGHTY_FOUR));
    // The server VAD's start of speech reached the client as a barge-in.
    assert!(
        spoken.iter().any(|e| e["type"] == "bidi_interruption"),
        "{spoken:#?}"
    );

    // Noise is speech to the VAD but no known utterance: no transcript, the audio rule.
    let mut noise = support::noise(1_200, 24_000, 6_000);
    noise.extend(vec![0; 24_000]);
    stream(&agent, &noise, SampleRate::Hz24000).await;
    let heard = support::until_answer(&mut events).await;
    assert!(user_said(&heard).is_empty(), "{heard:#?}");
    assert_eq!(
        answer(&heard).as_deref(),
        Some("Sorry, I did not catch that.")
    );
    agent.stop().await.expect("stop");
    sim.shutdown().await;
}
