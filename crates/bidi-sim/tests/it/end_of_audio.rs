//! The client's end of audio ends the utterance under way, with no silence after it: OpenAI's
//! `input_audio_buffer.commit` and Gemini's `realtimeInput.audioStreamEnd`, sent by raw
//! WebSocket clients (our own clients rely on the server's VAD and never send them).

use crate::support;

use std::path::Path;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bidi_sim::gemini::GeminiSim;
use bidi_sim::openai::OpenAiSim;
use bidi_sim::{Script, scenario};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

type Client =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Upper bound against hangs, never a timing assertion.
const HANG: Duration = Duration::from_secs(20);

fn shipped() -> Script {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scenarios/spoken.json");
    scenario::load(path).expect("the shipped scenario loads")
}

/// The shipped "what time" recording at `rate`, with silence before it only, as 20 ms
/// frames of PCM bytes.
fn question(dir: &Path, rate: u32) -> Vec<Vec<u8>> {
    let wav = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/scenarios/what-time.wav"
    ));
    let out = dir.join(format!("q-{rate}.wav"));
    let (samples, _) = support::read(&support::convert(wav, &out, rate, (0.2, 0.0)));
    support::pcm(&samples)
        .chunks(rate as usize / 50 * 2)
        .map(<[u8]>::to_vec)
        .collect()
}

async fn send(ws: &mut Client, message: Value) {
    ws.send(Message::text(message.to_string()))
        .await
        .expect("send");
}

/// The next server message that `accept` takes, skipping others.
async fn next_where(ws: &mut Client, accept: impl Fn(&Value) -> bool) -> Value {
    let wait = async {
        loop {
            let frame = ws.next().await.expect("open").expect("frame");
            let Message::Text(text) = frame else { continue };
            let message: Value = serde_json::from_str(text.as_str()).expect("server sends JSON");
            if accept(&message) {
                return message;
            }
        }
    };
    tokio::time::timeout(HANG, wait)
        .await
        .expect("the message in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_commit_ends_the_utterance() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sim = OpenAiSim::start(shipped()).await.expect("sim");
    let (mut ws, _) = tokio_tungstenite::connect_async(sim.url())
        .await
        .expect("connect");
    send(
        &mut ws,
        json!({"type": "session.update", "session": {"type": "realtime"}}),
    )
    .await;
    next_where(&mut ws, |e| e["type"] == "session.updated").await;
    for frame in question(dir.path(), 24_000) {
        send(
            &mut ws,
            json!({"type": "input_audio_buffer.append", "audio": BASE64.encode(frame)}),
        )
        .await;
    }
    let started = next_where(&mut ws, |e| {
        e["type"] == "input_audio_buffer.speech_started"
    })
    .await;
    let start_ms = started["audio_start_ms"].as_u64().expect("audio_start_ms");
    assert!((150..=250).contains(&start_ms), "{started}");
    send(&mut ws, json!({"type": "input_audio_buffer.commit"})).await;
    let stopped = next_where(&mut ws, |e| {
        e["type"] == "input_audio_buffer.speech_stopped"
    })
    .await;
    assert_eq!(stopped["item_id"], started["item_id"]);
    let committed = next_where(&mut ws, |e| e["type"] == "input_audio_buffer.committed").await;
    assert_eq!(committed["item_id"], started["item_id"]);
    let transcript = next_where(&mut ws, |e| {
        e["type"] == "conversation.item.input_audio_transcription.completed"
    })
    .await;
    assert_eq!(transcript["transcript"], support::TIME);
    let answer = next_where(&mut ws, |e| {
        e["type"] == "response.output_audio_transcript.done"
    })
    .await;
    assert_eq!(answer["transcript"], "It is noon in Tokyo.");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gemini_audio_stream_end_ends_the_utterance() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sim = GeminiSim::start(shipped()).await.expect("sim");
    let (mut ws, _) = tokio_tungstenite::connect_async(sim.url())
        .await
        .expect("connect");
    send(&mut ws, json!({"setup": {"model": "models/sim"}})).await;
    next_where(&mut ws, |m| m.get("setupComplete").is_some()).await;
    for frame in question(dir.path(), 16_000) {
        send(
            &mut ws,
            json!({"realtimeInput": {"audio": {"mimeType": "audio/pcm;rate=16000", "data": BASE64.encode(frame)}}}),
        )
        .await;
    }
    send(&mut ws, json!({"realtimeInput": {"audioStreamEnd": true}})).await;
    let heard = next_where(&mut ws, |m| {
        m.pointer("/serverContent/inputTranscription").is_some()
    })
    .await;
    assert_eq!(
        heard.pointer("/serverContent/inputTranscription/text"),
        Some(&Value::from(support::TIME))
    );
    let answer = next_where(&mut ws, |m| {
        m.pointer("/serverContent/outputTranscription").is_some()
    })
    .await;
    assert_eq!(
        answer.pointer("/serverContent/outputTranscription/text"),
        Some(&Value::from("It is noon in Tokyo."))
    );
    sim.shutdown().await;
}
