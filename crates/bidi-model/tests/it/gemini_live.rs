//! The Gemini Live client against the `bidi-sim` Gemini server, over a real WebSocket:
//! setup handshake, text and audio turns, tool round trips, interruption, malformed messages,
//! server closes and lifecycle errors. Restarts are in `gemini_restart.rs`.
#![cfg(feature = "gemini")]

use crate::gemini_support;

use bidi_model::gemini::{BidiGeminiLiveModel, GeminiLiveConfig};
use bidi_sim::gemini::GeminiSim;
use bidi_sim::{Action, Script, Trigger};
use bidi_types::*;
use futures_util::StreamExt;
use gemini_support::*;
use serde_json::{Value, json};

#[tokio::test]
async fn setup_handshake_carries_model_prompt_tools_and_key() {
    let sim = GeminiSim::start(Script::new()).await.expect("sim");
    let m = model_with(&sim, GeminiLiveConfig::default().with_voice("Puck"));
    let tool = ToolSpec::new(
        "calc",
        "Calculate",
        json!({"type": "object", "properties": {"x": {"type": "string"}}, "required": ["x"], "additionalProperties": false}),
    );
    m.start(StartParams {
        system_prompt: Some("Be brief".into()),
        tools: vec![tool],
        messages: vec![
            Message::text(Role::User, "earlier"),
            Message::text(Role::Assistant, "noted"),
        ],
        ..StartParams::default()
    })
    .await
    .expect("start");
    let mut events = m.receive().expect("events");
    assert!(matches!(
        events.next().await,
        Some(Ok(BidiOutputEvent::ConnectionStart(_)))
    ));
    let history = sim
        .wait_for("clientContent", |_| true, WAIT)
        .await
        .expect("history");
    assert_eq!(history["turnComplete"], false);
    assert_eq!(
        history["turns"][1],
        json!({"role": "model", "parts": [{"text": "noted"}]})
    );

    let rec = &sim.recorded()[0];
    assert_eq!(
        rec.request.path,
        "/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContent"
    );
    assert_eq!(rec.request.header("x-goog-api-key"), Some("test-key"));
    let setup = rec.under("setup")[0];
    assert_eq!(
        setup["model"],
        "models/gemini-2.5-flash-native-audio-preview-09-2025"
    );
    assert_eq!(setup["systemInstruction"]["parts"][0]["text"], "Be brief");
    let decl = &setup["tools"][0]["functionDeclarations"][0];
    assert_eq!(decl["name"], "calc");
    assert_eq!(decl["parametersJsonSchema"]["additionalProperties"], false);
    assert_eq!(
        setup["generationConfig"]["speechConfig"]["voiceConfig"]["prebuiltVoiceConfig"]["voiceName"],
        "Puck"
    );
    assert_eq!(setup["sessionResumption"], json!({}));
    m.stop().await.expect("stop");
    m.stop().await.expect("stop twice");
    sim.shutdown().await;
}

#[tokio::test]
async fn text_turn() {
    let script = Script::new().on(
        Trigger::Text {
            contains: "weather".into(),
        },
        vec![
            Action::Say {
                text: "Sunny all day.".into(),
                chunk: 4,
            },
            Action::Usage {
                input: 3,
                output: 5,
            },
            Action::EndTurn,
        ],
    );
    let sim = GeminiSim::start(script).await.expect("sim");
    let m = model(&sim);
    m.start(StartParams::default()).await.expect("start");
    let mut events = m.receive().expect("events");
    m.send("What's the weather?".into()).await.expect("send");
    let evs = until(&mut events, |e| matches!(e, BidiOutputEvent::Usage(_))).await;
    assert_eq!(
        types(&evs)[..3],
        [
            "bidi_connection_start",
            "bidi_response_start",
            "bidi_transcript_stream"
        ]
    );
    assert_eq!(finals(&evs, Role::Assistant), ["Sunny all day."]);
    assert!(evs.iter().any(|e| matches!(e, BidiOutputEvent::ResponseComplete(c) if c.stop_reason() == StopReason::Complete)));
    match evs.last() {
        Some(BidiOutputEvent::Usage(u)) => {
            assert_eq!(
                (u.input_tokens(), u.output_tokens(), u.total_tokens()),
                (3, 5, 8)
            );
            assert_eq!(u.modality_details()[0].modality, Modality::Audio);
        }
        other => panic!("{other:?}"),
    }
    let sent = sim
        .wait_for("realtimeInput", |v| v.get("text").is_some(), WAIT)
        .await
        .expect("text");
    assert_eq!(sent, json!({"text": "What's the weather?"}));
    m.stop().await.expect("stop");
    sim.shutdown().await;
}

#[tokio::test]
async fn audio_turn_with_transcripts() {
    let script = Script::new().on(
        Trigger::Audio { min_ms: 200 },
        vec![
            Action::UserTranscript {
                text: "Tell me a joke".into(),
            },
            Action::Speak {
                ms: 400,
                frame_ms: 40,
            },
            Action::Say {
                text: "Why did the chicken".into(),
                chunk: 5,
            },
            Action::EndTurn,
        ],
    );
    let sim = GeminiSim::start(script).await.expect("sim");
    let m = model(&sim);
    m.start(StartParams::default()).await.expect("start");
    let mut events = m.receive().expect("events");
    let silence = vec![0u8; 3200]; // 100 ms at 16 kHz
    for _ in 0..3 {
        let chunk = BidiAudioInputEvent::from_bytes(
            &silence,
            AudioFormat::Pcm,
            SampleRate::Hz16000,
            Channels::Mono,
        );
        m.send(chunk.into()).await.expect("audio");
    }
    let evs = until(&mut events, is_complete).await;
    assert_eq!(finals(&evs, Role::User), ["Tell me a joke"]);
    assert_eq!(finals(&evs, Role::Assistant), ["Why did the chicken"]);
    let audio: Vec<&BidiAudioStreamEvent> = evs
        .iter()
        .filter_map(|e| match e {
            BidiOutputEvent::AudioStream(a) => Some(a),
            _ => None,
        })
        .collect();
    assert_eq!(audio.len(), 10);
    assert!(audio.iter().all(|a| a.sample_rate() == SampleRate::Hz24000));
    let bytes: usize = audio
        .iter()
        .map(|a| a.audio_bytes().expect("b64").len())
        .sum();
    assert_eq!(bytes, 24_000 * 2 * 400 / 1000);
    let rec = &sim.recorded()[0];
    let chunks = rec.under("realtimeInput");
    assert_eq!(chunks.len(), 3);
    assert_eq!(chunks[0]["audio"]["mimeType"], "audio/pcm;rate=16000");
    m.stop().await.expect("stop");
    sim.shutdown().await;
}

#[tokio::test]
async fn tool_round_trip_with_two_calls_in_one_message() {
    let script = Script::new()
        .on(
            Trigger::Text {
                contains: "time".into(),
            },
            vec![
                Action::CallTool {
                    id: "fc-1".into(),
                    name: "clock".into(),
                    input: json!({"tz": "UTC"}),
                },
                Action::CallTool {
                    id: "fc-2".into(),
                    name: "calc".into(),
                    input: json!({"x": 2}),
                },
            ],
        )
        .on(
            Trigger::ToolResult {
                tool_use_id: Some("fc-2".into()),
            },
            vec![
                Action::Say {
                    text: "Noon, and 4.".into(),
                    chunk: 0,
                },
                Action::EndTurn,
            ],
        );
    let sim = GeminiSim::start(script).await.expect("sim");
    let m = model(&sim);
    m.start(StartParams::default()).await.expect("start");
    let mut events = m.receive().expect("events");
    m.send("What time is it?".into()).await.expect("send");
    let evs = until(&mut events, |e| {
        matches!(e, BidiOutputEvent::ToolUseStream(t) if t.current_tool_use().tool_use_id == "fc-2")
    })
    .await;
    let uses: Vec<ToolUse> = evs
        .iter()
        .filter_map(|e| match e {
            BidiOutputEvent::ToolUseStream(t) => Some(t.current_tool_use().clone()),
            _ => None,
        })
        .collect();
    assert_eq!(uses[0], ToolUse::new("fc-1", "clock", json!({"tz": "UTC"})));
    assert_eq!(uses[1].name, "calc");
    m.send(ToolResult::text("fc-1", "12:00").into())
        .await
        .expect("result 1");
    m.send(ToolResult::json("fc-2", json!({"value": 4})).into())
        .await
        .expect("result 2");
    // A result for a call this connection never saw is not sent.
    m.send(ToolResult::text("fc-unknown", "x").into())
        .await
        .expect("dropped");
    let evs = until(&mut events, is_complete).await;
    assert_eq!(finals(&evs, Role::Assistant), ["Noon, and 4."]);
    let responses: Vec<Value> = sim.recorded()[0]
        .under("toolResponse")
        .into_iter()
        .flat_map(|t| {
            t["functionResponses"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(
        responses,
        [
            json!({"id": "fc-1", "name": "clock", "response": {"output": "12:00"}}),
            json!({"id": "fc-2", "name": "calc", "response": {"output": {"value": 4}}}),
        ]
    );
    m.stop().await.expect("stop");
    sim.shutdown().await;
}

#[tokio::test]
async fn interruption() {
    let script = Script::new().on(
        Trigger::Text {
            contains: "story".into(),
        },
        vec![
            Action::Say {
                text: "Once upon".into(),
                chunk: 0,
            },
            Action::Speak {
                ms: 200,
                frame_ms: 0,
            },
            Action::Interrupt,
        ],
    );
    let sim = GeminiSim::start(script).await.expect("sim");
    let m = model(&sim);
    m.start(StartParams::default()).await.expect("start");
    let mut events = m.receive().expect("events");
    m.send("Tell me a story".into()).await.expect("send");
    let evs = until(&mut events, is_complete).await;
    let tail: Vec<&str> = types(&evs).into_iter().rev().take(3).collect();
    assert_eq!(
        tail,
        [
            "bidi_response_complete",
            "bidi_transcript_stream",
            "bidi_interruption"
        ]
    );
    assert!(
        matches!(evs.last(), Some(BidiOutputEvent::ResponseComplete(c)) if c.stop_reason() == StopReason::Interrupted)
    );
    m.stop().await.expect("stop");
    sim.shutdown().await;
}

#[tokio::test]
async fn malformed_and_unknown_messages_become_error_events_or_are_ignored() {
    let script = Script::new().on(
        Trigger::Text {
            contains: "x".into(),
        },
        vec![
            Action::Garbage {
                text: "{definitely not json".into(),
            },
            Action::UnknownEvent,
            Action::Say {
                text: "still talking".into(),
                chunk: 0,
            },
            Action::EndTurn,
        ],
    );
    let sim = GeminiSim::start(script).await.expect("sim");
    let m = model(&sim);
    m.start(StartParams::default()).await.expect("start");
    let mut events = m.receive().expect("events");
    m.send("x".into()).await.expect("send");
    let evs = until(&mut events, is_complete).await;
    let errors: Vec<&BidiErrorEvent> = evs
        .iter()
        .filter_map(|e| match e {
            BidiOutputEvent::Error(e) => Some(e),
            _ => None,
        })
        .collect();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].code(), "ModelProtocolError");
    assert_eq!(finals(&evs, Role::Assistant), ["still talking"]);
    m.stop().await.expect("stop");
    sim.shutdown().await;
}

#[tokio::test]
async fn server_errors_and_closes_end_the_stream_with_an_error_not_a_timeout() {
    for (action, expect) in [
        (
            Action::Error {
                code: "INTERNAL".into(),
                message: "Deadline expired".into(),
            },
            "code=<1011>",
        ),
        (Action::Close, "connection"),
    ] {
        let script = Script::new().on(
            Trigger::Text {
                contains: "go".into(),
            },
            vec![action],
        );
        let sim = GeminiSim::start(script).await.expect("sim");
        let m = model(&sim);
        m.start(StartParams::default()).await.expect("start");
        let mut events = m.receive().expect("events");
        m.send("go".into()).await.expect("send");
        let err = first_error(&mut events).await;
        assert!(!err.is_timeout(), "{err}");
        assert!(err.to_string().to_lowercase().contains(expect), "{err}");
        m.stop().await.expect("stop");
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn lifecycle_errors() {
    let sim = GeminiSim::start(Script::new()).await.expect("sim");
    let m = model(&sim);
    assert!(matches!(
        m.send("x".into()).await,
        Err(ModelError::NotStarted { .. })
    ));
    assert!(matches!(m.receive(), Err(ModelError::NotStarted { .. })));
    m.start(StartParams::default()).await.expect("start");
    assert!(matches!(
        m.start(StartParams::default()).await,
        Err(ModelError::AlreadyStarted)
    ));
    assert!(m.connection_id().is_some());
    let _events = m.receive().expect("first receive");
    assert!(m.receive().is_err(), "receive is once per connection");
    m.stop().await.expect("stop");
    assert_eq!(m.connection_id(), None);
    sim.shutdown().await;

    // Nothing listening: a clear connection error.
    let gone = BidiGeminiLiveModel::new(
        GeminiLiveConfig::default()
            .with_api_key("k")
            .with_base_url("ws://127.0.0.1:9/ws"),
    )
    .expect("model");
    let err = gone
        .start(StartParams::default())
        .await
        .expect_err("refused");
    assert!(matches!(err, ModelError::Connection { .. }), "{err}");
}

#[tokio::test]
async fn missing_api_key_is_a_config_error() {
    let env_has_key = ["GOOGLE_API_KEY", "GEMINI_API_KEY"]
        .iter()
        .any(|k| std::env::var(k).is_ok_and(|v| !v.is_empty()));
    let result = BidiGeminiLiveModel::new(GeminiLiveConfig::default());
    if env_has_key {
        assert!(result.is_ok());
    } else {
        let err = result.expect_err("no key");
        assert!(matches!(err, ModelError::Config(_)));
        assert!(err.to_string().contains("GEMINI_API_KEY"), "{err}");
    }
}

#[tokio::test]
async fn tool_behavior_and_result_scheduling_go_on_the_wire() {
    let script = Script::new()
        .on(
            Trigger::Text {
                contains: "book".into(),
            },
            vec![Action::CallTool {
                id: "fc-1".into(),
                name: "book".into(),
                input: json!({}),
            }],
        )
        .on(
            Trigger::ToolResult {
                tool_use_id: Some("fc-1".into()),
            },
            vec![
                Action::Say {
                    text: "Booked.".into(),
                    chunk: 0,
                },
                Action::EndTurn,
            ],
        );
    let sim = GeminiSim::start(script).await.expect("sim");
    let m = model(&sim);
    let schema = json!({"type": "object", "properties": {}});
    let book = ToolSpec::new("book", "Book a table", schema.clone())
        .with_behavior(ToolBehavior::NonBlocking)
        .with_scheduling(ToolScheduling::Interrupt);
    let plain = ToolSpec::new("plain", "A tool with the service's defaults", schema);
    m.start(StartParams {
        tools: vec![book, plain],
        ..StartParams::default()
    })
    .await
    .expect("start");
    let mut events = m.receive().expect("events");
    m.send("book a table".into()).await.expect("send");
    until(&mut events, |e| {
        matches!(e, BidiOutputEvent::ToolUseStream(_))
    })
    .await;
    m.send(ToolResult::text("fc-1", "done").into())
        .await
        .expect("result");
    let evs = until(&mut events, is_complete).await;
    assert_eq!(finals(&evs, Role::Assistant), ["Booked."]);
    let rec = &sim.recorded()[0];
    let setup = &rec.under("setup")[0];
    let decls = &setup["tools"][0]["functionDeclarations"];
    assert_eq!(decls[0]["behavior"], "NON_BLOCKING", "{decls}");
    assert!(decls[1].get("behavior").is_none(), "{decls}");
    let response = &rec.under("toolResponse")[0]["functionResponses"][0];
    assert_eq!(
        *response,
        json!({"id": "fc-1", "name": "book", "response": {"output": "done"}, "scheduling": "INTERRUPT"})
    );
    m.stop().await.expect("stop");
    sim.shutdown().await;
}
