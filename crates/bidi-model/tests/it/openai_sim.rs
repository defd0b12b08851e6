//! The OpenAI Realtime client against the bidi-sim OpenAI server: the real client code and
//! a server speaking the GA wire protocol over a loopback WebSocket.
#![cfg(feature = "openai")]

use crate::support;

use std::time::Duration;

use bidi_model::openai::OpenAiRealtimeConfig;
use bidi_sim::openai::OpenAiSim;
use bidi_sim::{Action, Script, Trigger};
use bidi_types::{
    AudioFormat, BidiAudioInputEvent, BidiImageInputEvent, BidiModel, BidiOutputEvent, Channels,
    ContentBlock, Message, ModelError, Role, SampleRate, StartParams, StopReason, ToolResult,
    ToolSpec, ToolUse,
};
use serde_json::json;
use support::{HANG, is_complete, model, model_with, next, types, until};

fn text(contains: &str) -> Trigger {
    Trigger::Text {
        contains: contains.into(),
    }
}

fn say(text: &str) -> Action {
    Action::Say {
        text: text.into(),
        chunk: 4,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_turn_configures_the_session_and_streams_the_answer() {
    let sim = OpenAiSim::start(Script::new().on(
        text("hello"),
        vec![
            say("Hi there!"),
            Action::Usage {
                input: 7,
                output: 9,
            },
            Action::EndTurn,
        ],
    ))
    .await
    .expect("sim");
    let model = model_with(
        OpenAiRealtimeConfig::new()
            .endpoint(sim.url())
            .organization("org-1")
            .project("proj-1")
            .voice("verse")
            .inference("max_output_tokens", json!(100))
            .inference("temperature", json!(0.3)),
    );
    let tool = ToolSpec::new(
        "calc",
        "Calculate",
        json!({"type": "object", "properties": {"x": {"type": "string"}}, "required": ["x"]}),
    );
    model
        .start(StartParams {
            system_prompt: Some("Be brief".into()),
            tools: vec![tool],
            ..Default::default()
        })
        .await
        .expect("start");
    let connection_id = model.connection_id().expect("connected");
    let mut events = model.receive().expect("receive");
    model.send("Hello, model".into()).await.expect("send");
    let seen = until(&mut events, |e| matches!(e, BidiOutputEvent::Usage(_))).await;
    assert_eq!(
        types(&seen),
        [
            "bidi_connection_start",
            "bidi_response_start",
            "bidi_transcript_stream",
            "bidi_transcript_stream",
            "bidi_transcript_stream",
            "bidi_transcript_stream",
            "bidi_response_complete",
            "bidi_usage"
        ]
    );
    match &seen[0] {
        BidiOutputEvent::ConnectionStart(s) => {
            assert_eq!(s.connection_id(), connection_id);
            assert_eq!(s.model(), "gpt-realtime-2");
        }
        other => panic!("unexpected {other:?}"),
    }
    let BidiOutputEvent::TranscriptStream(last) = &seen[5] else {
        panic!("expected a transcript, got {:?}", seen[5]);
    };
    assert!(last.is_final());
    assert_eq!(last.text(), "Hi there!");
    assert_eq!(last.role(), Role::Assistant);
    let BidiOutputEvent::ResponseComplete(done) = &seen[6] else {
        panic!("expected response complete");
    };
    assert_eq!(done.stop_reason(), StopReason::Complete);
    let BidiOutputEvent::Usage(usage) = &seen[7] else {
        panic!("expected usage");
    };
    assert_eq!((usage.input_tokens(), usage.output_tokens()), (7, 9));

    let recorded = sim.recorded();
    assert_eq!(recorded.len(), 1);
    let conn = &recorded[0];
    assert_eq!(conn.request.path, "/v1/realtime");
    assert_eq!(conn.request.query.as_deref(), Some("model=gpt-realtime-2"));
    assert_eq!(
        conn.request.header("authorization"),
        Some("Bearer sk-test-not-a-key")
    );
    assert_eq!(conn.request.header("openai-organization"), Some("org-1"));
    assert_eq!(conn.request.header("openai-project"), Some("proj-1"));
    assert_eq!(conn.request.header("openai-beta"), None);
    let session = &conn.events[0];
    assert_eq!(session["type"], "session.update");
    assert_eq!(
        session["session"],
        json!({
            "type": "realtime",
            "instructions": "Be brief",
            "output_modalities": ["audio"],
            "audio": {
                "input": {
                    "format": {"type": "audio/pcm", "rate": 24000},
                    "transcription": {"model": "gpt-4o-transcribe"},
                    "turn_detection": {"type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300, "silence_duration_ms": 500},
                },
                "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "verse"},
            },
            "tools": [{"type": "function", "name": "calc", "description": "Calculate",
                "parameters": {"type": "object", "properties": {"x": {"type": "string"}}, "required": ["x"]}}],
            "max_output_tokens": 100,
        })
    );
    assert_eq!(
        conn.events[1],
        json!({"type": "conversation.item.create", "item": {"type": "message", "role": "user",
            "content": [{"type": "input_text", "text": "Hello, model"}]}})
    );
    assert_eq!(conn.events[2], json!({"type": "response.create"}));

    model.stop().await.expect("stop");
    assert!(model.connection_id().is_none());
    assert!(
        next(&mut events).await.is_none(),
        "the stream ends after stop"
    );
    model.stop().await.expect("stop is idempotent");
    assert!(matches!(
        model.send("again".into()).await,
        Err(ModelError::NotStarted { .. })
    ));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audio_turn_streams_user_audio_and_model_speech() {
    let sim = OpenAiSim::start(Script::new().on(
        Trigger::Audio { min_ms: 100 },
        vec![
            Action::UserTranscript {
                text: "what time is it".into(),
            },
            Action::Speak {
                ms: 200,
                frame_ms: 40,
            },
            say("Noon."),
            Action::EndTurn,
        ],
    ))
    .await
    .expect("sim");
    let model = model(&sim.url());
    model.start(StartParams::default()).await.expect("start");
    let mut events = model.receive().expect("receive");
    let mut sent = Vec::new();
    for i in 0..5u8 {
        let chunk = vec![i; 960]; // 20 ms at 24 kHz
        let event = BidiAudioInputEvent::from_bytes(
            &chunk,
            AudioFormat::Pcm,
            SampleRate::Hz24000,
            Channels::Mono,
        );
        sent.push(event.audio().to_owned());
        model.send(event.into()).await.expect("send audio");
    }
    let seen = until(&mut events, is_complete).await;
    let user: Vec<_> = seen
        .iter()
        .filter_map(|e| match e {
            BidiOutputEvent::TranscriptStream(t) if t.role() == Role::User => Some(t),
            _ => None,
        })
        .collect();
    assert_eq!(user.len(), 2, "a partial and a final user transcript");
    assert!(user[1].is_final());
    assert_eq!(user[1].text(), "what time is it");
    let mut audio_bytes = 0;
    for e in &seen {
        if let BidiOutputEvent::AudioStream(a) = e {
            assert_eq!(a.sample_rate(), SampleRate::Hz24000);
            assert_eq!(a.channels(), Channels::Mono);
            assert_eq!(a.format(), AudioFormat::Pcm);
            audio_bytes += a.audio_bytes().expect("base64").len();
        }
    }
    assert_eq!(audio_bytes, 200 * 48, "200 ms of 24 kHz PCM16");
    let appended: Vec<_> = sim.recorded()[0]
        .of_type("input_audio_buffer.append")
        .into_iter()
        .map(|e| e["audio"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(appended, sent, "audio goes out as given, in order");
    model.stop().await.expect("stop");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tool_round_trip() {
    let sim = OpenAiSim::start(
        Script::new()
            .on(
                text("time"),
                vec![Action::CallTool {
                    id: "call_42".into(),
                    name: "current_time".into(),
                    input: json!({"tz": "UTC", "precise": true}),
                }],
            )
            .on(
                Trigger::ToolResult {
                    tool_use_id: Some("call_42".into()),
                },
                vec![say("It is noon."), Action::EndTurn],
            ),
    )
    .await
    .expect("sim");
    let model = model(&sim.url());
    model.start(StartParams::default()).await.expect("start");
    let mut events = model.receive().expect("receive");
    model.send("What time is it?".into()).await.expect("send");
    let seen = until(&mut events, |e| {
        matches!(e, BidiOutputEvent::ToolUseStream(_))
    })
    .await;
    let BidiOutputEvent::ToolUseStream(call) = seen.last().expect("an event") else {
        panic!("expected a tool use");
    };
    assert_eq!(
        call.current_tool_use(),
        &ToolUse::new(
            "call_42",
            "current_time",
            json!({"tz": "UTC", "precise": true})
        )
    );
    let done = until(&mut events, is_complete).await;
    assert!(matches!(
        done.last(),
        Some(BidiOutputEvent::ResponseComplete(_))
    ));
    model
        .send(ToolResult::text("call_42", "12:00").into())
        .await
        .expect("send result");
    let seen = until(&mut events, is_complete).await;
    assert!(seen.iter().any(|e| matches!(e,
        BidiOutputEvent::TranscriptStream(t) if t.is_final() && t.text() == "It is noon.")));
    let conn = &sim.recorded()[0];
    let outputs = conn.of_type("conversation.item.create");
    assert_eq!(
        outputs[1]["item"],
        json!({"type": "function_call_output", "call_id": "call_42", "output": "[{\"text\":\"12:00\"}]"})
    );
    assert_eq!(
        conn.events.last().expect("events")["type"],
        "response.create"
    );
    model.stop().await.expect("stop");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_errors_and_malformed_frames_become_error_events_and_the_turn_goes_on() {
    let sim = OpenAiSim::start(Script::new().on(
        text("go"),
        vec![
            Action::Error {
                code: "rate_limit_exceeded".into(),
                message: "slow down".into(),
            },
            Action::Garbage {
                text: "{not json".into(),
            },
            Action::Garbage {
                text: r#"{"type":"response.output_audio.delta","delta":42}"#.into(),
            },
            Action::UnknownEvent,
            say("still here"),
            Action::EndTurn,
        ],
    ))
    .await
    .expect("sim");
    let model = model(&sim.url());
    model.start(StartParams::default()).await.expect("start");
    let mut events = model.receive().expect("receive");
    model.send("go".into()).await.expect("send");
    let seen = until(&mut events, is_complete).await;
    let errors: Vec<_> = seen
        .iter()
        .filter_map(|e| match e {
            BidiOutputEvent::Error(err) => Some(err),
            _ => None,
        })
        .collect();
    assert_eq!(errors.len(), 3, "{seen:?}");
    assert_eq!(errors[0].code(), "ModelProviderError");
    assert_eq!(
        errors[0].details().and_then(|d| d.get("provider_code")),
        Some(&json!("rate_limit_exceeded"))
    );
    assert!(errors[0].message().contains("slow down"));
    assert_eq!(errors[1].code(), "ModelProtocolError");
    assert_eq!(errors[2].code(), "ModelProtocolError");
    assert!(
        errors[2].message().contains("delta"),
        "{}",
        errors[2].message()
    );
    assert!(seen.iter().any(|e| matches!(e,
        BidiOutputEvent::TranscriptStream(t) if t.is_final() && t.text() == "still here")));
    model.stop().await.expect("stop");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_close_ends_the_stream_with_an_error() {
    let sim = OpenAiSim::start(Script::new().on(text("bye"), vec![say("Bye"), Action::Close]))
        .await
        .expect("sim");
    let model = model(&sim.url());
    model.start(StartParams::default()).await.expect("start");
    let mut events = model.receive().expect("receive");
    model.send("bye".into()).await.expect("send");
    let end = loop {
        match next(&mut events).await {
            Some(Ok(_)) => continue,
            other => break other,
        }
    };
    match end {
        Some(Err(e @ (ModelError::Connection { .. } | ModelError::Closed(_)))) => {
            assert!(!e.is_timeout());
        }
        other => panic!("expected a connection error, got {other:?}"),
    }
    assert!(next(&mut events).await.is_none(), "an Err item is final");
    model.stop().await.expect("stop after a broken connection");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_timer_surfaces_as_timeout_and_restart_replays_history() {
    let sim = OpenAiSim::start(Script::new()).await.expect("sim");
    let model = model_with(
        OpenAiRealtimeConfig::new()
            .endpoint(sim.url())
            .session_timeout(Duration::from_millis(300)),
    );
    model.start(StartParams::default()).await.expect("start");
    let mut events = model.receive().expect("receive");
    assert!(matches!(
        next(&mut events).await,
        Some(Ok(BidiOutputEvent::ConnectionStart(_)))
    ));
    match next(&mut events).await {
        Some(Err(e)) => {
            assert!(e.is_timeout(), "{e}");
            assert!(e.to_string().contains("timeout_s=<0.3>"), "{e}");
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(next(&mut events).await.is_none());
    model.stop().await.expect("stop");

    // The agent restarts with the history so far, tool calls included.
    let long_id = "call_0123456789012345678901234567890123";
    let history = vec![
        Message::text(Role::User, "hi"),
        Message {
            role: Role::Assistant,
            content: vec![
                ContentBlock::Text("hello".into()),
                ContentBlock::ToolUse(ToolUse::new(long_id, "calc", json!({"x": "1"}))),
            ],
            metadata: None,
        },
        Message::tool_result(ToolResult::text(long_id, "2")),
        Message::tool_result(ToolResult::text("orphan", "3")),
    ];
    model
        .start(StartParams {
            messages: history,
            ..Default::default()
        })
        .await
        .expect("restart");
    sim.wait_for(
        "conversation.item.create",
        |e| e["item"]["type"] == "function_call_output",
        HANG,
    )
    .await
    .expect("history replayed");
    let recorded = sim.recorded();
    assert_eq!(recorded.len(), 2, "a second connection");
    let replay: Vec<_> = recorded[1].events[1..].to_vec();
    assert_eq!(
        replay,
        vec![
            json!({"type": "conversation.item.create", "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}}),
            json!({"type": "conversation.item.create", "item": {"type": "function_call", "call_id": "call_012345678901234567890123456", "name": "calc", "arguments": "{\"x\":\"1\"}"}}),
            json!({"type": "conversation.item.create", "item": {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "hello"}]}}),
            json!({"type": "conversation.item.create", "item": {"type": "function_call_output", "call_id": "call_012345678901234567890123456", "output": "[{\"text\":\"2\"}]"}}),
        ]
    );
    model.stop().await.expect("stop");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_session_expiry_is_a_timeout() {
    let sim = OpenAiSim::start(Script::new().on(Trigger::Connect, vec![Action::Timeout]))
        .await
        .expect("sim");
    let model = model(&sim.url());
    model.start(StartParams::default()).await.expect("start");
    let mut events = model.receive().expect("receive");
    let end = loop {
        match next(&mut events).await {
            Some(Ok(_)) => continue,
            other => break other,
        }
    };
    assert!(matches!(end, Some(Err(ModelError::Timeout(_)))), "{end:?}");
    model.stop().await.expect("stop");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_content_and_lifecycle_errors() {
    let sim = OpenAiSim::start(Script::new()).await.expect("sim");
    let model = model(&sim.url());
    assert!(matches!(
        model.send("early".into()).await,
        Err(ModelError::NotStarted { .. })
    ));
    assert!(model.receive().is_err());
    model.start(StartParams::default()).await.expect("start");
    assert!(matches!(
        model.start(StartParams::default()).await,
        Err(ModelError::AlreadyStarted)
    ));
    let image = BidiImageInputEvent::from_bytes(&[1, 2, 3], "image/png");
    assert!(matches!(
        model.send(image.into()).await,
        Err(ModelError::Unsupported { .. })
    ));
    let _events = model.receive().expect("receive");
    assert!(model.receive().is_err(), "receive once per start");
    model.stop().await.expect("stop");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_endpoint_is_a_connection_error() {
    // Bind and drop a listener to get a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let model = model(&format!("ws://127.0.0.1:{port}/v1/realtime"));
    let err = model
        .start(StartParams::default())
        .await
        .expect_err("nobody listens");
    assert!(matches!(err, ModelError::Connection { .. }), "{err}");
    assert!(!err.to_string().contains("sk-test"), "no secret in errors");
    assert!(model.connection_id().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reasoning_effort_is_sent_with_the_session_only_when_set() {
    use bidi_model::openai::ReasoningEffort;
    let sim = OpenAiSim::start(Script::new()).await.expect("sim");
    for (effort, expected) in [
        (Some(ReasoningEffort::High), json!({"effort": "high"})),
        (None, serde_json::Value::Null),
    ] {
        let mut config = OpenAiRealtimeConfig::new().endpoint(sim.url());
        if let Some(effort) = effort {
            config = config.reasoning_effort(effort);
        }
        let model = model_with(config);
        model.start(StartParams::default()).await.expect("start");
        model.stop().await.expect("stop");
        let recorded = sim.recorded();
        let session = &recorded.last().expect("a connection").events[0];
        assert_eq!(session["session"]["reasoning"], expected, "{session}");
    }
    sim.shutdown().await;
}
