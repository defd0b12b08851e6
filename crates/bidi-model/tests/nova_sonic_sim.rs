//! The real Bedrock SDK client, through `BidiNovaSonicModel`, against the local Bedrock
//! simulator (`bidi_sim::bedrock`) speaking the real wire protocol.
#![cfg(feature = "nova-sonic")]

use std::time::Duration;

use aws_sdk_bedrockruntime::Client;
use aws_sdk_bedrockruntime::config::{BehaviorVersion, Credentials, Region};
use bidi_model::nova_sonic::{BidiNovaSonicModel, NovaSonicConfig};
use bidi_sim::bedrock::{BedrockSim, event_name};
use bidi_sim::{Action, Script, Trigger};
use bidi_types::{
    AudioFormat, BidiAudioInputEvent, BidiImageInputEvent, BidiModel, BidiOutputEvent, Channels,
    Message, ModelError, ModelEventStream, Role, SampleRate, StartParams, StopReason, ToolResult,
    ToolSpec,
};
use futures_util::StreamExt;
use serde_json::{Value, json};

/// Upper bound against hangs, never a timing assertion.
const HANG: Duration = Duration::from_secs(20);

fn credentials() -> Credentials {
    Credentials::new("AKIDTEST", "test-secret", None, None, "test")
}

fn client(endpoint: &str) -> Client {
    let config = aws_sdk_bedrockruntime::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(credentials())
        .endpoint_url(endpoint)
        .build();
    Client::from_conf(config)
}

fn model(
    sim: &BedrockSim,
    tune: impl FnOnce(NovaSonicConfig) -> NovaSonicConfig,
) -> BidiNovaSonicModel {
    let config = tune(NovaSonicConfig::default().with_client(client(&sim.endpoint())));
    BidiNovaSonicModel::new(config).expect("valid config")
}

fn text(s: &str) -> Trigger {
    Trigger::Text { contains: s.into() }
}

fn say(s: &str) -> Action {
    Action::Say {
        text: s.into(),
        chunk: 0,
    }
}

async fn next(events: &mut ModelEventStream) -> Option<Result<BidiOutputEvent, ModelError>> {
    tokio::time::timeout(HANG, events.next())
        .await
        .expect("the model stream hung")
}

/// Events up to and including the first that `stop` accepts; panics on an `Err` item.
async fn until(
    events: &mut ModelEventStream,
    stop: impl Fn(&BidiOutputEvent) -> bool,
) -> Vec<BidiOutputEvent> {
    let mut seen = Vec::new();
    loop {
        match next(events).await {
            Some(Ok(e)) => {
                let done = stop(&e);
                seen.push(e);
                if done {
                    return seen;
                }
            }
            other => panic!("stream ended with {other:?} after {seen:?}"),
        }
    }
}

fn is_complete(e: &BidiOutputEvent) -> bool {
    matches!(e, BidiOutputEvent::ResponseComplete(_))
}

fn finals(events: &[BidiOutputEvent], role: Role) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            BidiOutputEvent::TranscriptStream(t) if t.is_final() && t.role() == role => {
                Some(t.text().to_owned())
            }
            _ => None,
        })
        .collect()
}

fn named<'a>(events: &'a [Value], name: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| event_name(e) == Some(name))
        .collect()
}

/// The `textInput` contents of a connection with the role and interactivity of their
/// content, in order.
fn text_inputs(events: &[Value]) -> Vec<(String, bool, String)> {
    let mut out = Vec::new();
    for e in events {
        if let Some(t) = e.pointer("/event/textInput") {
            let name = t["contentName"].as_str().unwrap_or_default();
            let start = events
                .iter()
                .find_map(|s| {
                    s.pointer("/event/contentStart")
                        .filter(|c| c["contentName"] == name)
                })
                .cloned()
                .unwrap_or(Value::Null);
            out.push((
                start["role"].as_str().unwrap_or_default().to_owned(),
                start["interactive"].as_bool().unwrap_or(false),
                t["content"].as_str().unwrap_or_default().to_owned(),
            ));
        }
    }
    out
}

fn voiced_audio(events: &[Value]) -> usize {
    named(events, "audioInput")
        .iter()
        .filter(|e| {
            use base64::Engine;
            let b64 = e["event"]["audioInput"]["content"].as_str().unwrap_or("");
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap_or_default()
                .iter()
                .any(|b| *b != 0)
        })
        .count()
}

async fn send_tone(model: &BidiNovaSonicModel, ms: u64) {
    let mut pos = 0;
    for _ in 0..ms / 50 {
        let pcm = bidi_sim::tone::pcm16(16_000, 50, 300.0, pos);
        pos += 800;
        let e = BidiAudioInputEvent::from_bytes(
            &pcm,
            AudioFormat::Pcm,
            SampleRate::Hz16000,
            Channels::Mono,
        );
        model.send(e.into()).await.expect("audio sent");
    }
}

#[tokio::test]
async fn text_turn_then_stop_sends_the_closing_events() {
    let script = Script::new().on(
        text("hello"),
        vec![
            Action::Say {
                text: "Hi there, friend".into(),
                chunk: 4,
            },
            Action::Speak {
                ms: 200,
                frame_ms: 0,
            },
            Action::Usage {
                input: 10,
                output: 20,
            },
            Action::EndTurn,
        ],
    );
    let sim = BedrockSim::start(script).await.expect("sim");
    let model = model(&sim, |c| c);
    model
        .start(StartParams {
            system_prompt: Some("Be brief.".into()),
            ..Default::default()
        })
        .await
        .expect("start");
    assert!(model.connection_id().is_some());
    let mut events = model.receive().expect("receive");
    match next(&mut events).await {
        Some(Ok(BidiOutputEvent::ConnectionStart(c))) => {
            assert_eq!(c.model(), "amazon.nova-2-sonic-v1:0");
        }
        other => panic!("expected connection start, got {other:?}"),
    }
    model.send("hello there".into()).await.expect("send");
    let seen = until(&mut events, is_complete).await;

    let starts = seen
        .iter()
        .filter(|e| matches!(e, BidiOutputEvent::ResponseStart(_)))
        .count();
    assert_eq!(starts, 1, "one response start per response: {seen:?}");
    let speculative: String = seen
        .iter()
        .filter_map(|e| match e {
            BidiOutputEvent::TranscriptStream(t) if !t.is_final() => Some(t.text()),
            _ => None,
        })
        .collect();
    assert_eq!(speculative, "Hi there, friend");
    assert_eq!(finals(&seen, Role::Assistant), ["Hi there, friend"]);
    let audio: Vec<_> = seen
        .iter()
        .filter_map(|e| match e {
            BidiOutputEvent::AudioStream(a) => Some(a),
            _ => None,
        })
        .collect();
    assert_eq!(audio.len(), 5, "200 ms in 40 ms frames");
    assert_eq!(audio[0].sample_rate(), SampleRate::Hz16000);
    assert_eq!(
        audio[0].audio_bytes().expect("pcm").len(),
        16_000 / 1000 * 40 * 2
    );
    assert!(seen.iter().any(
        |e| matches!(e, BidiOutputEvent::Usage(u) if u.input_tokens() == 10 && u.total_tokens() == 30)
    ));
    match seen.last() {
        Some(BidiOutputEvent::ResponseComplete(r)) => {
            assert_eq!(r.stop_reason(), StopReason::Complete)
        }
        other => panic!("{other:?}"),
    }

    model.stop().await.expect("stop");
    assert!(model.connection_id().is_none());
    model.stop().await.expect("stop is idempotent");
    let recorded = sim.recorded();
    assert_eq!(recorded.len(), 1);
    let conn = &recorded[0];
    let names: Vec<&str> = conn.iter().filter_map(event_name).collect();
    assert_eq!(&names[..2], ["sessionStart", "promptStart"]);
    assert_eq!(
        &names[names.len() - 3..],
        ["contentEnd", "promptEnd", "sessionEnd"]
    );
    let texts = text_inputs(conn);
    assert_eq!(texts[0], ("SYSTEM".into(), false, "Be brief.".into()));
    assert!(texts.contains(&("USER".into(), true, "hello there".into())));
    // The audio content is opened with the session, before any user input, and closed last.
    let audio_start = conn
        .iter()
        .position(|e| e.pointer("/event/contentStart/type") == Some(&json!("AUDIO")))
        .expect("audio content");
    let user_text = conn
        .iter()
        .position(|e| e.pointer("/event/textInput/content") == Some(&json!("hello there")))
        .expect("user text");
    assert!(audio_start < user_text);
    let audio_name = &conn[audio_start]["event"]["contentStart"]["contentName"];
    assert_eq!(
        &conn[names.len() - 3]["event"]["contentEnd"]["contentName"],
        audio_name
    );
    assert_eq!(
        conn[0]["event"]["sessionStart"]["inferenceConfiguration"],
        json!({})
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn audio_turn_with_transcripts_and_audio_out() {
    let script = Script::new().on(
        Trigger::Audio { min_ms: 200 },
        vec![
            Action::UserTranscript {
                text: "what time is it".into(),
            },
            say("It is noon."),
            Action::Speak {
                ms: 120,
                frame_ms: 40,
            },
            Action::EndTurn,
        ],
    );
    let sim = BedrockSim::start(script).await.expect("sim");
    let model = model(&sim, |c| c);
    model.start(StartParams::default()).await.expect("start");
    let mut events = model.receive().expect("receive");
    send_tone(&model, 300).await;
    let seen = until(&mut events, is_complete).await;
    assert_eq!(finals(&seen, Role::User), ["what time is it"]);
    assert_eq!(finals(&seen, Role::Assistant), ["It is noon."]);
    assert_eq!(
        seen.iter()
            .filter(|e| matches!(e, BidiOutputEvent::AudioStream(_)))
            .count(),
        3
    );
    model.stop().await.expect("stop");
    let conn = &sim.recorded()[0];
    assert!(
        voiced_audio(conn) >= 4,
        "the user's audio reached the server"
    );
    let first_audio = named(conn, "audioInput")[0];
    let start = named(conn, "contentStart")
        .into_iter()
        .find(|c| c["event"]["contentStart"]["type"] == "AUDIO")
        .expect("audio content start");
    assert_eq!(
        first_audio["event"]["audioInput"]["contentName"],
        start["event"]["contentStart"]["contentName"]
    );
    assert_eq!(
        start["event"]["contentStart"]["audioInputConfiguration"]["sampleRateHertz"],
        16_000
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn tool_call_round_trip() {
    let script = Script::new()
        .on(
            text("time"),
            vec![Action::CallTool {
                id: "t-1".into(),
                name: "current_time".into(),
                input: json!({"tz": "UTC"}),
            }],
        )
        .on(
            Trigger::ToolResult {
                tool_use_id: Some("t-1".into()),
            },
            vec![say("It is noon."), Action::EndTurn],
        );
    let sim = BedrockSim::start(script).await.expect("sim");
    let model = model(&sim, |c| c);
    let spec = ToolSpec::new(
        "current_time",
        "The time now",
        json!({"type": "object", "properties": {"tz": {"type": "string"}}}),
    );
    model
        .start(StartParams {
            tools: vec![spec],
            ..Default::default()
        })
        .await
        .expect("start");
    let mut events = model.receive().expect("receive");
    model.send("what time is it?".into()).await.expect("send");
    let seen = until(&mut events, |e| {
        matches!(e, BidiOutputEvent::ToolUseStream(_))
    })
    .await;
    let Some(BidiOutputEvent::ToolUseStream(call)) = seen.last() else {
        panic!("{seen:?}")
    };
    let call = call.current_tool_use();
    assert_eq!(call.tool_use_id, "t-1");
    assert_eq!(call.name, "current_time");
    assert_eq!(call.input, json!({"tz": "UTC"}));
    let seen = until(&mut events, is_complete).await;
    match seen.last() {
        Some(BidiOutputEvent::ResponseComplete(r)) => {
            assert_eq!(r.stop_reason(), StopReason::ToolUse)
        }
        other => panic!("{other:?}"),
    }
    model
        .send(ToolResult::text("t-1", "12:00 UTC").into())
        .await
        .expect("tool result");
    let seen = until(&mut events, is_complete).await;
    assert_eq!(finals(&seen, Role::Assistant), ["It is noon."]);
    model.stop().await.expect("stop");

    let conn = &sim.recorded()[0];
    let prompt = &conn[1]["event"]["promptStart"];
    let schema = prompt["toolConfiguration"]["tools"][0]["toolSpec"]["inputSchema"]["json"]
        .as_str()
        .expect("inputSchema.json is a JSON string");
    assert_eq!(
        serde_json::from_str::<Value>(schema).expect("schema JSON"),
        json!({"type": "object", "properties": {"tz": {"type": "string"}}})
    );
    let tool_start = named(conn, "contentStart")
        .into_iter()
        .find(|c| c["event"]["contentStart"]["type"] == "TOOL")
        .expect("tool content");
    let start = &tool_start["event"]["contentStart"];
    assert_eq!(start["role"], "TOOL");
    assert_eq!(start["interactive"], false);
    assert_eq!(start["toolResultInputConfiguration"]["toolUseId"], "t-1");
    let result = named(conn, "toolResult")[0];
    assert_eq!(
        result["event"]["toolResult"]["contentName"],
        start["contentName"]
    );
    assert_eq!(
        result["event"]["toolResult"]["content"],
        json!(r#"{"text":"12:00 UTC"}"#)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn barge_in_interrupts_and_keeps_what_was_heard() {
    let script = Script::new().on(
        text("story"),
        vec![
            say("Once upon a time there was a cat"),
            Action::Speak {
                ms: 80,
                frame_ms: 40,
            },
            Action::Interrupt,
        ],
    );
    let sim = BedrockSim::start(script).await.expect("sim");
    let model = model(&sim, |c| c);
    model.start(StartParams::default()).await.expect("start");
    let mut events = model.receive().expect("receive");
    model.send("tell me a story".into()).await.expect("send");
    let seen = until(&mut events, is_complete).await;
    let interruptions = seen
        .iter()
        .filter(|e| matches!(e, BidiOutputEvent::Interruption(_)))
        .count();
    assert_eq!(interruptions, 1, "{seen:?}");
    match seen.last() {
        Some(BidiOutputEvent::ResponseComplete(r)) => {
            assert_eq!(r.stop_reason(), StopReason::Interrupted)
        }
        other => panic!("{other:?}"),
    }
    // The marker text is never a transcript; the final (heard) text is.
    assert_eq!(finals(&seen, Role::Assistant), ["Once upon a time"]);
    model.stop().await.expect("stop");
    sim.shutdown().await;
}

#[tokio::test]
async fn timeout_then_restart_replays_the_history() {
    let script = Script::new()
        .always(text("hello"), vec![say("Hi!"), Action::EndTurn])
        .on(text("later"), vec![Action::Timeout]);
    let sim = BedrockSim::start(script).await.expect("sim");
    let model = model(&sim, |c| c);
    model
        .start(StartParams {
            system_prompt: Some("Be brief.".into()),
            ..Default::default()
        })
        .await
        .expect("start");
    let mut events = model.receive().expect("receive");
    model.send("hello".into()).await.expect("send");
    until(&mut events, is_complete).await;
    model.send("see you later".into()).await.expect("send");
    let err = loop {
        match next(&mut events).await {
            Some(Ok(BidiOutputEvent::Error(e))) => panic!("no bidi_error for a timeout: {e:?}"),
            Some(Ok(_)) => {}
            Some(Err(e)) => break e,
            None => panic!("stream ended without the timeout"),
        }
    };
    assert!(err.is_timeout(), "{err}");
    assert!(err.to_string().contains("timed out"));
    assert!(
        next(&mut events).await.is_none(),
        "the stream ends after the error"
    );

    // What the agent does: stop, then start again with the history so far.
    model.stop().await.expect("stop");
    let history = vec![
        Message::text(Role::Assistant, "dropped: history starts with the user"),
        Message::text(Role::User, "hello"),
        Message::text(Role::Assistant, "Hi!"),
        Message::text(Role::User, "see you later"),
    ];
    model
        .start(StartParams {
            system_prompt: Some("Be brief.".into()),
            messages: history,
            ..Default::default()
        })
        .await
        .expect("restart");
    let mut events = model.receive().expect("receive");
    assert!(matches!(
        next(&mut events).await,
        Some(Ok(BidiOutputEvent::ConnectionStart(_)))
    ));
    model.send("hello again".into()).await.expect("send");
    let seen = until(&mut events, is_complete).await;
    assert_eq!(finals(&seen, Role::Assistant), ["Hi!"]);
    model.stop().await.expect("stop");

    let recorded = sim.recorded();
    assert_eq!(recorded.len(), 2);
    let texts = text_inputs(&recorded[1]);
    assert_eq!(
        texts,
        [
            ("SYSTEM".into(), false, "Be brief.".into()),
            ("USER".into(), false, "hello".into()),
            ("ASSISTANT".into(), false, "Hi!".into()),
            ("USER".into(), false, "see you later".into()),
            ("USER".into(), true, "hello again".into()),
        ]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn silence_validation_error_531_is_restartable() {
    let script = Script::new().on(
        text("wait"),
        vec![Action::Error {
            code: "ValidationException".into(),
            message: "Timed out waiting for input events (InternalErrorCode=531)".into(),
        }],
    );
    let sim = BedrockSim::start(script).await.expect("sim");
    let model = model(&sim, |c| c);
    model.start(StartParams::default()).await.expect("start");
    let mut events = model.receive().expect("receive");
    model.send("wait".into()).await.expect("send");
    let err = loop {
        match next(&mut events).await {
            Some(Ok(_)) => {}
            Some(Err(e)) => break e,
            None => panic!("no error"),
        }
    };
    assert!(err.is_timeout(), "{err}");
    model.stop().await.expect("stop");
    sim.shutdown().await;
}

#[tokio::test]
async fn provider_exception_is_an_error_event_then_an_error() {
    let script = Script::new().on(
        text("boom"),
        vec![Action::Error {
            code: "ModelStreamErrorException".into(),
            message: "the model broke".into(),
        }],
    );
    let sim = BedrockSim::start(script).await.expect("sim");
    let model = model(&sim, |c| c);
    model.start(StartParams::default()).await.expect("start");
    let mut events = model.receive().expect("receive");
    model.send("boom".into()).await.expect("send");
    let seen = until(&mut events, |e| matches!(e, BidiOutputEvent::Error(_))).await;
    let Some(BidiOutputEvent::Error(event)) = seen.last() else {
        panic!()
    };
    assert_eq!(event.code(), "ModelProviderError");
    assert!(
        event.message().contains("the model broke"),
        "{}",
        event.message()
    );
    match next(&mut events).await {
        Some(Err(ModelError::Provider { message, .. })) => {
            assert_eq!(message, "the model broke")
        }
        other => panic!("{other:?}"),
    }
    model.stop().await.expect("stop");
    sim.shutdown().await;
}

#[tokio::test]
async fn malformed_frames_and_unknown_events_do_not_end_the_conversation() {
    let script = Script::new().on(
        text("go"),
        vec![
            Action::Garbage {
                text: "\u{0}{not json".into(),
            },
            Action::UnknownEvent,
            say("still here"),
            Action::EndTurn,
        ],
    );
    let sim = BedrockSim::start(script).await.expect("sim");
    let model = model(&sim, |c| c);
    model.start(StartParams::default()).await.expect("start");
    let mut events = model.receive().expect("receive");
    model.send("go".into()).await.expect("send");
    let seen = until(&mut events, is_complete).await;
    let errors: Vec<_> = seen
        .iter()
        .filter_map(|e| match e {
            BidiOutputEvent::Error(e) => Some(e),
            _ => None,
        })
        .collect();
    assert_eq!(errors.len(), 1, "only the garbage is an error: {seen:?}");
    assert_eq!(errors[0].code(), "ModelProtocolError");
    assert_eq!(finals(&seen, Role::Assistant), ["still here"]);
    model.stop().await.expect("stop");
    sim.shutdown().await;
}

#[tokio::test]
async fn server_closing_mid_stream_is_a_clear_error() {
    let script = Script::new().on(text("go"), vec![say("partial"), Action::Close]);
    let sim = BedrockSim::start(script).await.expect("sim");
    let model = model(&sim, |c| c);
    model.start(StartParams::default()).await.expect("start");
    let mut events = model.receive().expect("receive");
    model.send("go".into()).await.expect("send");
    let mut saw_error_event = false;
    let err = loop {
        match next(&mut events).await {
            Some(Ok(BidiOutputEvent::Error(_))) => saw_error_event = true,
            Some(Ok(_)) => {}
            Some(Err(e)) => break e,
            None => panic!("the stream ended without an error"),
        }
    };
    assert!(saw_error_event);
    assert!(!err.is_timeout());
    assert!(
        matches!(
            err,
            ModelError::Connection { .. } | ModelError::Closed(_) | ModelError::Protocol(_)
        ),
        "{err:?}"
    );
    model.stop().await.expect("stop after a failure");
    sim.shutdown().await;
}

#[tokio::test]
async fn images_and_documents_are_refused_with_typed_errors() {
    let sim = BedrockSim::start(Script::new()).await.expect("sim");
    let model = model(&sim, |c| c);
    assert!(matches!(
        model.send("early".into()).await,
        Err(ModelError::NotStarted { .. })
    ));
    model.start(StartParams::default()).await.expect("start");
    assert!(matches!(
        model.start(StartParams::default()).await,
        Err(ModelError::AlreadyStarted)
    ));
    let image = BidiImageInputEvent::from_bytes(&[1, 2, 3], "image/png");
    let err = model.send(image.into()).await.expect_err("image refused");
    assert_eq!(err.code(), "ModelUnsupportedContentError");
    let doc = ToolResult {
        tool_use_id: "t-9".into(),
        status: bidi_types::ToolResultStatus::Success,
        content: vec![bidi_types::ToolResultContent::Document(
            bidi_types::DocumentBlock {
                format: "pdf".into(),
                name: "d".into(),
                source: bidi_types::BinarySource {
                    bytes: "AA==".into(),
                },
            },
        )],
    };
    let err = model.send(doc.into()).await.expect_err("document refused");
    assert!(err.to_string().contains("t-9"), "{err}");
    model.stop().await.expect("stop");
    sim.shutdown().await;
}

#[tokio::test]
async fn proactive_restart_hands_off_at_a_turn_boundary_without_losing_audio() {
    let script = Script::new()
        .on(text("hello"), vec![say("Hi!"), Action::EndTurn])
        .on(
            Trigger::Audio { min_ms: 200 },
            vec![
                Action::UserTranscript {
                    text: "second".into(),
                },
                say("Yes?"),
                Action::EndTurn,
            ],
        );
    let sim = BedrockSim::start(script).await.expect("sim");
    // Threshold zero: the first turn boundary hands off.
    let model = model(&sim, |c| c.with_restart_after(Some(Duration::ZERO)));
    model.start(StartParams::default()).await.expect("start");
    let connection_id = model.connection_id();
    let mut events = model.receive().expect("receive");
    model.send("hello".into()).await.expect("send");
    until(&mut events, is_complete).await;
    // The hand-off is under way: this audio must reach the next connection.
    send_tone(&model, 300).await;
    let seen = until(&mut events, is_complete).await;
    assert!(
        !seen.iter().any(|e| matches!(
            e,
            BidiOutputEvent::Error(_) | BidiOutputEvent::ConnectionStart(_)
        )),
        "the hand-off is invisible to the agent: {seen:?}"
    );
    assert_eq!(finals(&seen, Role::User), ["second"]);
    assert_eq!(finals(&seen, Role::Assistant), ["Yes?"]);
    assert_eq!(model.connection_id(), connection_id);

    let recorded = sim
        .wait_for(HANG, |r| {
            r.len() >= 2 && r[0].last().and_then(event_name) == Some("sessionEnd")
        })
        .await
        .expect("the first connection was closed");
    let first: Vec<&str> = recorded[0].iter().filter_map(event_name).collect();
    assert_eq!(
        &first[first.len() - 3..],
        ["contentEnd", "promptEnd", "sessionEnd"]
    );
    assert_eq!(voiced_audio(&recorded[0]), 0);
    let second = &recorded[1];
    assert_eq!(
        voiced_audio(second),
        6,
        "every user audio chunk reached the new connection"
    );
    assert_eq!(
        text_inputs(second),
        [
            ("SYSTEM".into(), false, String::new()),
            ("USER".into(), false, "hello".into()),
            ("ASSISTANT".into(), false, "Hi!".into()),
        ],
        "history replayed, nothing interactive (no greeting)"
    );
    model.stop().await.expect("stop");
    sim.shutdown().await;
}

#[tokio::test]
async fn tls_and_http2_with_the_production_client_stack() {
    use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};

    let script = Script::new().on(text("hello"), vec![say("Hi over h2!"), Action::EndTurn]);
    let sim = BedrockSim::start_tls(script).await.expect("sim");
    let pem = sim.ca_pem().expect("ca").to_owned();
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(
            TlsContext::builder()
                .with_trust_store(
                    TrustStore::empty()
                        .with_native_roots(false)
                        .with_pem_certificate(pem.into_bytes()),
                )
                .build()
                .expect("tls context"),
        )
        .build_https();
    let config = aws_sdk_bedrockruntime::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(credentials())
        .endpoint_url(sim.endpoint())
        .http_client(http)
        .build();
    let model =
        BidiNovaSonicModel::new(NovaSonicConfig::default().with_client(Client::from_conf(config)))
            .expect("config");
    model.start(StartParams::default()).await.expect("start");
    let mut events = model.receive().expect("receive");
    model.send("hello".into()).await.expect("send");
    let seen = until(&mut events, is_complete).await;
    assert_eq!(finals(&seen, Role::Assistant), ["Hi over h2!"]);
    model.stop().await.expect("stop");
    assert!(sim.endpoint().starts_with("https://localhost:"));
    assert_eq!(sim.recorded().len(), 1);
    assert_eq!(sim.http_versions(), ["HTTP/2.0"]);
    sim.shutdown().await;
}

#[tokio::test]
async fn endpoint_url_and_static_credentials_without_a_ready_client() {
    let script = Script::new().on(text("hello"), vec![say("Hi!"), Action::EndTurn]);
    let sim = BedrockSim::start(script).await.expect("sim");
    let model = BidiNovaSonicModel::new(
        NovaSonicConfig::default()
            .with_region("eu-north-1")
            .with_endpoint_url(sim.endpoint())
            .with_credentials(credentials())
            .with_voice("tiffany"),
    )
    .expect("config");
    assert_eq!(model.config().audio.voice.as_deref(), Some("tiffany"));
    model.start(StartParams::default()).await.expect("start");
    let mut events = model.receive().expect("receive");
    model.send("hello".into()).await.expect("send");
    let seen = until(&mut events, is_complete).await;
    assert_eq!(finals(&seen, Role::Assistant), ["Hi!"]);
    model.stop().await.expect("stop");
    let prompt = &sim.recorded()[0][1];
    assert_eq!(
        prompt["event"]["promptStart"]["audioOutputConfiguration"]["voiceId"],
        "tiffany"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn text_mode_keeps_the_audio_content_alive_with_silence() {
    let sim = BedrockSim::start(Script::new()).await.expect("sim");
    let model = model(&sim, |c| c);
    model.start(StartParams::default()).await.expect("start");
    // No user audio at all: silence frames flow on their own.
    let recorded = sim
        .wait_for(HANG, |r| {
            r.first().is_some_and(|c| named(c, "audioInput").len() >= 3)
        })
        .await
        .expect("silence frames");
    let silent = named(&recorded[0], "audioInput");
    assert_eq!(voiced_audio(&recorded[0]), 0);
    use base64::Engine;
    let frame = base64::engine::general_purpose::STANDARD
        .decode(
            silent[0]["event"]["audioInput"]["content"]
                .as_str()
                .expect("b64"),
        )
        .expect("pcm");
    assert_eq!(
        frame.len(),
        16_000 / 1000 * 32 * 2,
        "one 32 ms frame at 16 kHz"
    );
    model.stop().await.expect("stop");

    // Without keepalive, no audio is sent until the user speaks.
    let sim = BedrockSim::start(Script::new()).await.expect("sim");
    let mut config = NovaSonicConfig::default().with_client(client(&sim.endpoint()));
    config.silence_keepalive = false;
    let quiet = BidiNovaSonicModel::new(config).expect("config");
    quiet.start(StartParams::default()).await.expect("start");
    quiet.send("hello".into()).await.expect("send");
    let recorded = sim
        .wait_for(HANG, |r| {
            r.first().is_some_and(|c| {
                c.iter()
                    .any(|e| e.pointer("/event/textInput/content") == Some(&json!("hello")))
            })
        })
        .await
        .expect("text arrives");
    assert!(named(&recorded[0], "audioInput").is_empty());
    quiet.stop().await.expect("stop");
    sim.shutdown().await;
}
