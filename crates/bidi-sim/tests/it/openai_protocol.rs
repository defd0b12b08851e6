//! The OpenAI simulator seen by a raw WebSocket client: its answers to the client events
//! the service checks (truncate bounds, cancel without a response, bad JSON) and what it
//! records.

use std::time::Duration;

use bidi_sim::openai::OpenAiSim;
use bidi_sim::{Action, Script, Trigger};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

type Client =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const HANG: Duration = Duration::from_secs(20);

async fn send(ws: &mut Client, event: Value) {
    ws.send(Message::text(event.to_string()))
        .await
        .expect("send");
}

/// A client connected to `url`, past the server's `session.created`.
async fn connect(url: String) -> Client {
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connect");
    expect(&mut ws, "session.created").await;
    ws
}

/// The user says `text`, and asks for the answer.
async fn ask(ws: &mut Client, text: &str) {
    send(
        ws,
        json!({"type": "conversation.item.create", "item": {"type": "message", "role": "user",
            "content": [{"type": "input_text", "text": text}]}}),
    )
    .await;
    send(ws, json!({"type": "response.create"})).await;
}

/// The next server event whose type is `kind`, skipping others.
async fn expect(ws: &mut Client, kind: &str) -> Value {
    let wait = async {
        loop {
            let frame = ws.next().await.expect("open").expect("frame");
            let Message::Text(text) = frame else { continue };
            let event: Value = serde_json::from_str(text.as_str()).expect("server sends JSON");
            if event["type"] == kind {
                return event;
            }
        }
    };
    tokio::time::timeout(HANG, wait)
        .await
        .expect("event in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_and_records_like_the_service() {
    let sim = OpenAiSim::start(Script::new().on(
        Trigger::Text {
            contains: "talk".into(),
        },
        vec![Action::Speak {
            ms: 100,
            frame_ms: 20,
        }],
    ))
    .await
    .expect("sim");
    let mut ws = connect(format!("{}?model=m1", sim.url())).await;
    send(
        &mut ws,
        json!({"type": "session.update", "session": {"type": "realtime"}}),
    )
    .await;
    expect(&mut ws, "session.updated").await;

    send(&mut ws, json!({"type": "response.cancel"})).await;
    let err = expect(&mut ws, "error").await;
    assert_eq!(err["error"]["code"], "response_cancel_not_active");

    send(
        &mut ws,
        json!({"type": "conversation.item.create", "item": {"type": "message", "role": "user",
        "content": [{"type": "input_text", "text": "please talk"}]}}),
    )
    .await;
    expect(&mut ws, "conversation.item.added").await;
    send(&mut ws, json!({"type": "response.create"})).await;
    let created = expect(&mut ws, "response.created").await;
    let delta = expect(&mut ws, "response.output_audio.delta").await;
    let item_id = delta["item_id"].as_str().expect("item id").to_owned();
    expect(&mut ws, "response.output_audio.done").await;

    for bad in [0, 101] {
        send(
            &mut ws,
            json!({"type": "conversation.item.truncate", "item_id": item_id,
            "content_index": 0, "audio_end_ms": bad}),
        )
        .await;
        let err = expect(&mut ws, "error").await;
        assert_eq!(err["error"]["code"], "invalid_value", "audio_end_ms={bad}");
    }
    send(
        &mut ws,
        json!({"type": "conversation.item.truncate", "item_id": item_id,
        "content_index": 0, "audio_end_ms": 100}),
    )
    .await;
    let truncated = expect(&mut ws, "conversation.item.truncated").await;
    assert_eq!(truncated["audio_end_ms"], 100);

    send(&mut ws, json!({"type": "response.create"})).await;
    let err = expect(&mut ws, "error").await;
    assert_eq!(
        err["error"]["code"],
        "conversation_already_has_active_response"
    );
    send(&mut ws, json!({"type": "response.cancel"})).await;
    let done = expect(&mut ws, "response.done").await;
    assert_eq!(done["response"]["id"], created["response"]["id"]);
    assert_eq!(done["response"]["status"], "cancelled");

    ws.send(Message::text("{oops")).await.expect("send");
    let err = expect(&mut ws, "error").await;
    assert_eq!(err["error"]["code"], "invalid_json");
    ws.close(None).await.expect("close");

    let recorded = sim.recorded();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].request.query.as_deref(), Some("model=m1"));
    let kinds: Vec<_> = recorded[0]
        .events
        .iter()
        .map(|e| e["type"].as_str().unwrap_or("<invalid>").to_owned())
        .collect();
    assert_eq!(
        kinds,
        [
            "session.update",
            "response.cancel",
            "conversation.item.create",
            "response.create",
            "conversation.item.truncate",
            "conversation.item.truncate",
            "conversation.item.truncate",
            "response.create",
            "response.cancel",
            "<invalid>"
        ]
    );
    assert_eq!(recorded[0].events[9], json!({"invalid_json": "{oops"}));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn benchmark_options_stamp_audio_and_skip_recording_appends() {
    use base64::Engine as _;
    let options = bidi_sim::openai::OpenAiSimOptions {
        realtime: true,
        stamp: true,
        skip_audio_recording: true,
        ..Default::default()
    };
    let script = Script::new().always(
        Trigger::Text {
            contains: "audio".into(),
        },
        vec![
            Action::Speak {
                ms: 60,
                frame_ms: 20,
            },
            Action::EndTurn,
        ],
    );
    let sim = OpenAiSim::start_with(script, options).await.expect("sim");
    let mut ws = connect(format!("{}?model=b1", sim.url())).await;
    send(
        &mut ws,
        json!({"type": "session.update", "session": {"type": "realtime"}}),
    )
    .await;
    send(
        &mut ws,
        json!({"type": "input_audio_buffer.append", "audio": "AAAAAA=="}),
    )
    .await;
    ask(&mut ws, "audio please").await;
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    for seq in 0u64..3 {
        let delta = expect(&mut ws, "response.output_audio.delta").await;
        let pcm = base64::engine::general_purpose::STANDARD
            .decode(delta["delta"].as_str().expect("delta"))
            .expect("base64");
        assert_eq!(pcm.len(), 960);
        assert_eq!(&pcm[..8], b"FAKEOAI\0");
        assert_eq!(pcm[8..16], seq.to_le_bytes());
        let sent = u64::from_le_bytes(pcm[16..24].try_into().expect("8 bytes"));
        assert!(
            u128::from(sent) + 1_000_000_000 >= before,
            "stamp is a current time"
        );
    }
    expect(&mut ws, "response.done").await;
    let recorded = sim.recorded();
    let kinds: Vec<&str> = recorded[0]
        .events
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "session.update",
            "conversation.item.create",
            "response.create"
        ]
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skip_recording_keeps_nothing_and_forgets_closed_connections() {
    let options = bidi_sim::openai::OpenAiSimOptions {
        skip_recording: true,
        ..Default::default()
    };
    let script = Script::new().always(
        Trigger::Text {
            contains: "hi".into(),
        },
        vec![
            Action::Say {
                text: "Hello.".into(),
                chunk: 0,
            },
            Action::EndTurn,
        ],
    );
    let sim = OpenAiSim::start_with(script, options).await.expect("sim");
    for _ in 0..3 {
        let mut ws = connect(sim.url()).await;
        ask(&mut ws, "hi").await;
        expect(&mut ws, "response.done").await;
        // Open: listed, with no events.
        let open = sim.recorded();
        assert_eq!(open.len(), 1);
        assert!(open[0].events.is_empty(), "{:?}", open[0].events);
        ws.close(None).await.expect("close");
        while ws.next().await.is_some() {}
        let forgotten = tokio::time::timeout(Duration::from_secs(10), async {
            while !sim.recorded().is_empty() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        assert!(forgotten.is_ok(), "a closed connection is forgotten");
    }
    sim.shutdown().await;
}

/// Every server event of a turn, in order, until `response.done`.
async fn turn(ws: &mut Client) -> Vec<Value> {
    let wait = async {
        let mut events = Vec::new();
        loop {
            let frame = ws.next().await.expect("open").expect("frame");
            let Message::Text(text) = frame else { continue };
            let event: Value = serde_json::from_str(text.as_str()).expect("server sends JSON");
            let done = event["type"] == "response.done";
            events.push(event);
            if done {
                return events;
            }
        }
    };
    tokio::time::timeout(HANG, wait)
        .await
        .expect("a turn in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spoken_turn_has_the_ga_event_sequence_and_usage() {
    let sim = OpenAiSim::start(Script::new().on(
        Trigger::Text {
            contains: "hello".into(),
        },
        vec![
            Action::UserTranscript {
                text: "hello there".into(),
            },
            Action::Say {
                text: "Hi!".into(),
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
    let mut ws = connect(sim.url()).await;
    send(
        &mut ws,
        json!({"type": "session.update", "session": {"type": "realtime"}}),
    )
    .await;
    ask(&mut ws, "hello").await;
    let events = turn(&mut ws).await;
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    let at = |k: &str| {
        kinds
            .iter()
            .position(|x| *x == k)
            .unwrap_or_else(|| panic!("no {k}: {kinds:?}"))
    };
    let completed = &events[at("conversation.item.input_audio_transcription.completed")];
    assert_eq!(completed["usage"]["type"], "duration", "{completed}");
    assert!(at("response.created") < at("response.output_item.added"));
    assert!(at("response.output_item.added") < at("response.content_part.added"));
    assert!(at("response.content_part.added") < at("response.output_audio.delta"));
    assert!(at("response.output_audio.done") < at("response.content_part.done"));
    assert!(at("response.content_part.done") < at("response.output_item.done"));
    assert!(at("response.output_item.done") < at("response.done"));
    let item = &events[at("response.output_item.done")]["item"];
    assert_eq!(item["status"], "completed");
    assert_eq!(item["content"][0]["transcript"], "Hi!");
    let done = &events[at("response.done")]["response"];
    assert!(done["usage"].is_object(), "usage always: {done}");
    assert_eq!(done["output"][0]["status"], "completed");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_updated_is_the_whole_session_and_a_text_session_gets_text() {
    let sim = OpenAiSim::start(Script::new().on(
        Trigger::Text {
            contains: "hello".into(),
        },
        vec![
            Action::Say {
                text: "Hi in text.".into(),
                chunk: 4,
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
    let mut ws = connect(sim.url()).await;
    send(
        &mut ws,
        json!({"type": "session.update", "session": {"type": "realtime",
            "output_modalities": ["text"], "instructions": "Be brief."}}),
    )
    .await;
    let updated = expect(&mut ws, "session.updated").await;
    let session = &updated["session"];
    assert_eq!(session["instructions"], "Be brief.");
    assert_eq!(session["output_modalities"], json!(["text"]));
    assert_eq!(
        session["audio"]["output"]["voice"], "alloy",
        "kept from the session: {session}"
    );
    ask(&mut ws, "hello").await;
    let events = turn(&mut ws).await;
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert!(kinds.contains(&"response.output_text.done"), "{kinds:?}");
    assert!(
        !kinds.iter().any(|k| k.starts_with("response.output_audio")),
        "a text session gets no audio: {kinds:?}"
    );
    let done = events.last().expect("response.done");
    assert_eq!(
        done["response"]["output"][0]["content"][0]["text"],
        "Hi in text."
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spoken_answer_interleaves_its_words_with_its_audio() {
    let text = "It is noon in Tokyo today.";
    let sim = OpenAiSim::start(Script::new().on(
        Trigger::Text {
            contains: "time".into(),
        },
        vec![
            Action::Say {
                text: text.into(),
                chunk: 0,
            },
            Action::Speak {
                ms: 200,
                frame_ms: 20,
            },
            Action::EndTurn,
        ],
    ))
    .await
    .expect("sim");
    let mut ws = connect(sim.url()).await;
    ask(&mut ws, "what time is it").await;
    let events = turn(&mut ws).await;
    // A letter per event: a = audio delta, w = a word (transcript delta).
    let shape: String = events
        .iter()
        .filter_map(|e| match e["type"].as_str() {
            Some("response.output_audio.delta") => Some('a'),
            Some("response.output_audio_transcript.delta") => Some('w'),
            _ => None,
        })
        .collect();
    assert_eq!(shape.matches('w').count(), 6, "a delta per word: {shape}");
    assert_eq!(shape.matches('a').count(), 10, "{shape}");
    assert!(shape.starts_with('w'), "the words lead the audio: {shape}");
    assert!(
        shape.contains("aw"),
        "words after audio, interleaved: {shape}"
    );
    assert!(shape.ends_with('a'), "{shape}");
    let words: String = events
        .iter()
        .filter(|e| e["type"] == "response.output_audio_transcript.delta")
        .filter_map(|e| e["delta"].as_str())
        .collect();
    assert_eq!(words, text);
    let at = |k: &str| {
        events
            .iter()
            .position(|e| e["type"] == k)
            .unwrap_or_else(|| panic!("no {k}"))
    };
    assert!(at("response.output_audio.done") < at("response.output_audio_transcript.done"));
    assert_eq!(
        events[at("response.output_audio_transcript.done")]["transcript"],
        text
    );
    sim.shutdown().await;
}
