//! The Gemini simulator reads client messages as the service reads protobuf JSON (issue 21):
//! snake_case keys as google-genai sends them, URL-safe base64, the older
//! `realtimeInput.mediaChunks`; an unreadable message or audio closes with 1007 and a message
//! instead of being dropped in silence. Raw WebSocket clients, so the exact bytes are ours.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bidi_sim::gemini::GeminiSim;
use bidi_sim::{Action, Script, Trigger};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

type Client =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const HANG: Duration = Duration::from_secs(20);

fn script() -> Script {
    Script::new()
        .on(
            Trigger::Text {
                contains: "weather".into(),
            },
            vec![Action::CallTool {
                id: "c1".into(),
                name: "get_weather".into(),
                input: json!({"city": "Paris"}),
            }],
        )
        .on(
            Trigger::ToolResult { tool_use_id: None },
            vec![
                Action::Say {
                    text: "It is {tool_result}.".into(),
                    chunk: 0,
                },
                Action::EndTurn,
            ],
        )
        .on(
            Trigger::Audio { min_ms: 40 },
            vec![
                Action::Say {
                    text: "I heard you.".into(),
                    chunk: 0,
                },
                Action::EndTurn,
            ],
        )
}

async fn send(ws: &mut Client, message: Value) {
    ws.send(Message::text(message.to_string()))
        .await
        .expect("send");
}

/// The output transcription text up to the turn's end.
async fn answer(ws: &mut Client) -> String {
    let wait = async {
        let mut text = String::new();
        loop {
            let frame = ws.next().await.expect("open").expect("frame");
            let Message::Text(frame) = frame else {
                continue;
            };
            let m: Value = serde_json::from_str(frame.as_str()).expect("json");
            if let Some(t) = m.pointer("/serverContent/outputTranscription/text") {
                text.push_str(t.as_str().unwrap_or_default());
            }
            if m.pointer("/serverContent/turnComplete") == Some(&Value::Bool(true)) {
                return text;
            }
        }
    };
    tokio::time::timeout(HANG, wait).await.expect("in time")
}

async fn set_up(sim: &bidi_sim::gemini::GeminiSimHandle) -> Client {
    let (mut ws, _) = tokio_tungstenite::connect_async(sim.url())
        .await
        .expect("connect");
    send(
        &mut ws,
        json!({"setup": {"model": "models/sim", "generation_config": {"response_modalities": ["AUDIO"]}}}),
    )
    .await;
    let wait = async {
        loop {
            let frame = ws.next().await.expect("open").expect("frame");
            if let Message::Text(t) = frame
                && t.as_str().contains("setupComplete")
            {
                return;
            }
        }
    };
    tokio::time::timeout(HANG, wait).await.expect("setup");
    ws
}

async fn closed_with(ws: &mut Client) -> (u16, String) {
    let wait = async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(Some(frame)))) => {
                    return (u16::from(frame.code), frame.reason.to_string());
                }
                Some(Ok(_)) => {}
                other => panic!("no close frame: {other:?}"),
            }
        }
    };
    tokio::time::timeout(HANG, wait)
        .await
        .expect("closed in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snake_case_turns_and_tool_responses_are_answered() {
    let sim = GeminiSim::start(script()).await.expect("sim");
    let mut ws = set_up(&sim).await;
    send(
        &mut ws,
        json!({"client_content": {"turns": [{"role": "user", "parts": [{"text": "the weather?"}]}], "turn_complete": true}}),
    )
    .await;
    let call = tokio::time::timeout(HANG, async {
        loop {
            let Some(Ok(Message::Text(t))) = ws.next().await else {
                panic!("closed")
            };
            let m: Value = serde_json::from_str(t.as_str()).expect("json");
            if let Some(call) = m.pointer("/toolCall/functionCalls/0") {
                return call.clone();
            }
        }
    })
    .await
    .expect("a tool call");
    assert_eq!(call["name"], "get_weather");
    send(
        &mut ws,
        json!({"tool_response": {"function_responses": [{"id": call["id"], "name": "get_weather", "response": {"result": "sunny"}}]}}),
    )
    .await;
    assert!(answer(&mut ws).await.contains("sunny"));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_chunks_in_url_safe_base64_are_heard() {
    let sim = GeminiSim::start(script()).await.expect("sim");
    let mut ws = set_up(&sim).await;
    // 60 ms of a loud square wave, bytes chosen so the URL-safe alphabet shows (`-`, `_`).
    let pcm: Vec<u8> = (0..960)
        .flat_map(|i| {
            if i % 2 == 0 {
                [0xfb, 0xff]
            } else {
                [0x05, 0x7f]
            }
        })
        .collect();
    let data = URL_SAFE_NO_PAD.encode(&pcm);
    assert!(data.contains(['-', '_']), "{data}");
    send(
        &mut ws,
        json!({"realtime_input": {"media_chunks": [{"mime_type": "audio/pcm;rate=16000", "data": data}]}}),
    )
    .await;
    assert_eq!(answer(&mut ws).await, "I heard you.");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_base64_and_bad_json_close_with_1007_and_a_message() {
    let sim = GeminiSim::start(script()).await.expect("sim");
    let mut ws = set_up(&sim).await;
    send(
        &mut ws,
        json!({"realtimeInput": {"audio": {"mimeType": "audio/pcm;rate=16000", "data": "not base64!"}}}),
    )
    .await;
    let (code, reason) = closed_with(&mut ws).await;
    assert_eq!(code, u16::from(CloseCode::Invalid));
    assert!(reason.contains("Base64"), "{reason}");

    let mut ws = set_up(&sim).await;
    ws.send(Message::text("{not json")).await.expect("send");
    let (code, reason) = closed_with(&mut ws).await;
    assert_eq!(code, 1007);
    assert!(reason.contains("JSON"), "{reason}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_session_gets_text_parts_and_no_audio() {
    let sim = GeminiSim::start(Script::new().on(
        Trigger::Text {
            contains: "hello".into(),
        },
        vec![
            Action::Say {
                text: "Hi in text.".into(),
                chunk: 0,
            },
            Action::Speak {
                ms: 40,
                frame_ms: 20,
            },
            Action::EndTurn,
        ],
    ))
    .await
    .expect("sim");
    let (mut ws, _) = tokio_tungstenite::connect_async(sim.url())
        .await
        .expect("connect");
    send(
        &mut ws,
        json!({"setup": {"model": "models/sim", "generation_config": {"response_modalities": ["TEXT"]}}}),
    )
    .await;
    send(
        &mut ws,
        json!({"client_content": {"turns": [{"role": "user", "parts": [{"text": "hello"}]}], "turn_complete": true}}),
    )
    .await;
    let messages = tokio::time::timeout(HANG, async {
        let mut seen = Vec::new();
        loop {
            let Some(Ok(Message::Text(t))) = ws.next().await else {
                panic!("closed: {seen:?}")
            };
            let m: Value = serde_json::from_str(t.as_str()).expect("json");
            let done = m.pointer("/serverContent/turnComplete") == Some(&Value::Bool(true));
            seen.push(m);
            if done {
                return seen;
            }
        }
    })
    .await
    .expect("a turn");
    let text: String = messages
        .iter()
        .filter_map(|m| m.pointer("/serverContent/modelTurn/parts/0/text"))
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(text, "Hi in text.");
    assert!(
        !messages.iter().any(|m| m
            .pointer("/serverContent/modelTurn/parts/0/inlineData")
            .is_some()
            || m.pointer("/serverContent/outputTranscription").is_some()),
        "no audio in a text session: {messages:?}"
    );
    sim.shutdown().await;
}
