//! The OpenAI simulator in a telephone session: `session.update` with `audio/pcmu` (G.711
//! μ-law, 8 kHz, a byte per sample) both ways, seen by a raw WebSocket client: the audio
//! trigger counts 8 bytes a millisecond, answers are μ-law at 8 kHz, truncation is bounded
//! at that rate, turn detection hears the decoded audio; formats the service does not take
//! are refused. A PCM session is unchanged (the other OpenAI tests).

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bidi_sim::hearing::{Listening, Utterance};
use bidi_sim::openai::OpenAiSim;
use bidi_sim::{Action, Script, Trigger, g711};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::support;

type Client =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const HANG: Duration = Duration::from_secs(20);

const PCMU: &str = r#"{"type": "session.update", "session": {"type": "realtime",
    "audio": {"input": {"format": {"type": "audio/pcmu"}},
              "output": {"format": {"type": "audio/pcmu"}}}}}"#;

async fn send(ws: &mut Client, event: Value) {
    ws.send(Message::text(event.to_string()))
        .await
        .expect("send");
}

/// The next server event, `None` when none comes within `wait`.
async fn next_event(ws: &mut Client, wait: Duration) -> Option<Value> {
    let read = async {
        loop {
            let frame = ws.next().await.expect("open").expect("frame");
            if let Message::Text(text) = frame {
                return serde_json::from_str(text.as_str()).expect("server sends JSON");
            }
        }
    };
    tokio::time::timeout(wait, read).await.ok()
}

/// The events up to and including the next one whose type is `kind`.
async fn until(ws: &mut Client, kind: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    loop {
        let event = next_event(ws, HANG)
            .await
            .unwrap_or_else(|| panic!("{kind} in time; saw {seen:#?}"));
        let done = event["type"] == kind;
        seen.push(event);
        if done {
            return seen;
        }
    }
}

async fn expect(ws: &mut Client, kind: &str) -> Value {
    until(ws, kind).await.pop().expect("the event")
}

/// A client past `session.updated` of a μ-law session.
async fn connect_pcmu(url: String) -> Client {
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connect");
    expect(&mut ws, "session.created").await;
    send(&mut ws, serde_json::from_str(PCMU).expect("json")).await;
    let updated = expect(&mut ws, "session.updated").await;
    for side in ["input", "output"] {
        assert_eq!(
            updated["session"]["audio"][side]["format"],
            json!({"type": "audio/pcmu"}),
            "{side}: the format replaced whole, no rate left from the PCM default"
        );
    }
    ws
}

/// `ms` of a 440 Hz tone as μ-law at 8 kHz.
fn mulaw_tone(ms: u64) -> Vec<u8> {
    g711::pcm16_to_mulaw(&bidi_sim::tone::pcm16(8_000, ms, 440.0, 0))
}

fn append(audio: &[u8]) -> Value {
    json!({"type": "input_audio_buffer.append", "audio": BASE64.encode(audio)})
}

/// The decoded bytes of every `response.output_audio.delta` among `events`, and the item
/// they belong to.
fn output_audio(events: &[Value]) -> (Vec<u8>, String) {
    let mut audio = Vec::new();
    let mut item = String::new();
    for e in events
        .iter()
        .filter(|e| e["type"] == "response.output_audio.delta")
    {
        let delta = BASE64
            .decode(e["delta"].as_str().expect("delta"))
            .expect("base64");
        audio.extend(delta);
        e["item_id"].as_str().expect("item").clone_into(&mut item);
    }
    (audio, item)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mulaw_session_counts_speaks_and_truncates_at_8_khz() {
    let sim = OpenAiSim::start(Script::new().on(
        Trigger::Audio { min_ms: 1_000 },
        vec![
            Action::Speak {
                ms: 500,
                frame_ms: 0,
            },
            Action::EndTurn,
        ],
    ))
    .await
    .expect("sim");
    let mut ws = connect_pcmu(sim.url()).await;

    // 999 ms of μ-law (7992 bytes) is not yet a second...
    let tone = mulaw_tone(1_000);
    assert_eq!(tone.len(), 8_000);
    for chunk in tone[..7_992].chunks(160) {
        send(&mut ws, append(chunk)).await;
    }
    if let Some(early) = next_event(&mut ws, Duration::from_millis(300)).await {
        panic!("nothing expected before a second of audio; got {early}");
    }
    // ...the last 8 bytes make it one.
    send(&mut ws, append(&tone[7_992..])).await;
    let events = until(&mut ws, "response.done").await;
    assert!(events.iter().any(|e| e["type"] == "response.created"));
    let (audio, item_id) = output_audio(&events);
    assert_eq!(audio.len(), 4_000, "500 ms at 8 bytes a millisecond");
    let deltas = events
        .iter()
        .filter(|e| e["type"] == "response.output_audio.delta")
        .count();
    assert_eq!(deltas, 25, "20 ms frames of 160 bytes");
    let peak = audio
        .iter()
        .map(|&c| g711::mulaw_decode(c).unsigned_abs())
        .max()
        .unwrap_or(0);
    assert!(peak > 3_000, "a tone, not silence: peak {peak}");
    // The tone decodes as a tone: its samples agree with the 8 kHz PCM rendering.
    let pcm = bidi_sim::tone::pcm16(8_000, 20, 440.0, 0);
    assert_eq!(g711::pcm16_to_mulaw(&pcm), audio[..160]);

    // 500 ms is 4000 samples at 8 kHz: 501 ms is past the audio, 500 within it.
    for (ms, accepted) in [(501, false), (500, true), (250, true)] {
        send(
            &mut ws,
            json!({"type": "conversation.item.truncate", "item_id": item_id,
                "content_index": 0, "audio_end_ms": ms}),
        )
        .await;
        let answer = next_event(&mut ws, HANG).await.expect("an answer");
        if accepted {
            assert_eq!(
                answer["type"], "conversation.item.truncated",
                "{ms}: {answer}"
            );
            assert_eq!(answer["audio_end_ms"], ms);
        } else {
            assert_eq!(answer["type"], "error", "{ms}: {answer}");
            assert_eq!(answer["error"]["code"], "invalid_value");
        }
    }
    sim.shutdown().await;
}

/// The events of one replayed connection: `session.update` with `format` (JSON) both
/// ways, then `audio` appended in one event.
async fn replay(script: Script, format: &str, audio: &[u8]) -> Vec<Value> {
    let update = format!(
        r#"{{"type": "session.update", "session": {{"audio": {{"input": {{"format": {format}}}, "output": {{"format": {format}}}}}}}}}"#
    );
    let append = append(audio).to_string();
    bidi_sim::openai::replay(script, &[&update, &append]).await
}

#[tokio::test]
async fn the_audio_trigger_fires_at_exactly_8_bytes_a_millisecond() {
    let script = || {
        Script::new().on(
            Trigger::Audio { min_ms: 1_000 },
            vec![
                Action::Speak {
                    ms: 100,
                    frame_ms: 0,
                },
                Action::EndTurn,
            ],
        )
    };
    for format in [r#"{"type": "audio/pcmu"}"#, r#"{"type": "audio/pcma"}"#] {
        let short = replay(script(), format, &[0xFF; 7_999]).await;
        assert!(
            !short.iter().any(|e| e["type"] == "response.created"),
            "{format}: 7999 bytes fired"
        );
        let events = replay(script(), format, &[0xFF; 8_000]).await;
        let (audio, _) = output_audio(&events);
        assert_eq!(
            audio.len(),
            800,
            "{format}: 100 ms at 8 kHz, a byte a sample"
        );
    }
    // PCM, as before: 24 samples of two bytes a millisecond.
    let pcm = r#"{"type": "audio/pcm", "rate": 24000}"#;
    let short = replay(script(), pcm, &[0; 47_998]).await;
    assert!(!short.iter().any(|e| e["type"] == "response.created"));
    let events = replay(script(), pcm, &[0; 48_000]).await;
    assert_eq!(output_audio(&events).0.len(), 4_800);
}

#[tokio::test]
async fn a_format_the_service_does_not_take_is_refused_and_not_applied() {
    let script = Script::new().on(
        Trigger::Connect,
        vec![
            Action::Speak {
                ms: 10,
                frame_ms: 0,
            },
            Action::EndTurn,
        ],
    );
    for (side, bad) in [
        ("input", json!({"type": "g711_ulaw"})),
        ("output", json!({"type": "audio/pcm", "rate": 16000})),
        ("output", json!({"rate": 24000})),
        ("input", json!("audio/pcmu")),
    ] {
        let refused =
            json!({"type": "session.update", "session": {"audio": {side: {"format": bad}}}});
        let frames = [refused.to_string(), PCMU.to_owned()];
        let frames: Vec<&str> = frames.iter().map(String::as_str).collect();
        let events = bidi_sim::openai::replay(script.clone(), &frames).await;
        let kinds: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
        assert_eq!(
            kinds[..3],
            ["session.created", "error", "session.updated"],
            "{bad}"
        );
        assert_eq!(events[1]["error"]["code"], "invalid_value", "{bad}");
        assert_eq!(
            events[1]["error"]["param"],
            format!("session.audio.{side}.format")
        );
        // The refused update was not applied, and did not count as the first: the
        // second is, and it starts the script in μ-law.
        assert_eq!(
            events[2]["session"]["audio"][side]["format"]["type"],
            "audio/pcmu"
        );
        assert_eq!(output_audio(&events).0.len(), 80, "{bad}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turn_detection_hears_the_decoded_mulaw_at_8_khz() {
    const SAID: &str = "the sound of the sea";
    let voice = support::noise(600, 8_000, 8_000);
    let script = Script::new()
        .hears(Utterance::from_samples(SAID, voice.clone(), 8_000))
        .on(
            Trigger::Text {
                contains: "sea".into(),
            },
            vec![
                Action::Say {
                    text: "Waves.".into(),
                    chunk: 0,
                },
                Action::EndTurn,
            ],
        );
    assert_eq!(Listening::default().silence_ms, 500);
    let sim = OpenAiSim::start(script).await.expect("sim");
    let mut ws = connect_pcmu(sim.url()).await;
    // 500 ms of μ-law silence, the 600 ms utterance, then 1 s of silence.
    let mut audio = vec![0xFF; 4_000];
    audio.extend(g711::pcm16_to_mulaw(&support::pcm(&voice)));
    audio.extend(vec![0xFF; 8_000]);
    for chunk in audio.chunks(160) {
        send(&mut ws, append(chunk)).await;
    }
    let started = expect(&mut ws, "input_audio_buffer.speech_started").await;
    let at = started["audio_start_ms"].as_u64().expect("start");
    // The detector's start, less its prefix padding, near 500 ms on the 8 kHz timeline (at
    // 24 kHz a byte a sample would read as a third of the time, two bytes a sample).
    assert!((100..=600).contains(&at), "speech started at {at} ms");
    let stopped = expect(&mut ws, "input_audio_buffer.speech_stopped").await;
    let end = stopped["audio_end_ms"].as_u64().expect("end");
    assert!((1_000..=1_700).contains(&end), "speech stopped at {end} ms");
    let transcript = expect(
        &mut ws,
        "conversation.item.input_audio_transcription.completed",
    )
    .await;
    assert_eq!(transcript["transcript"], SAID);
    expect(&mut ws, "response.done").await;
    sim.shutdown().await;
}
