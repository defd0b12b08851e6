//! Conversation turns (text, audio, tools, barge-in), transports and keepalive: the real
//! Bedrock SDK client, through `BidiNovaSonicModel`, against the local Bedrock simulator
//! (`bidi_sim::bedrock`) speaking the real wire protocol.
#![cfg(feature = "nova-sonic")]

use crate::common;

use aws_sdk_bedrockruntime::Client;
use aws_sdk_bedrockruntime::config::{BehaviorVersion, Region};
use bidi_model::nova_sonic::{BidiNovaSonicModel, NovaSonicConfig};
use bidi_sim::bedrock::{BedrockSim, event_name};
use bidi_sim::{Action, Script, Trigger};
use bidi_types::{
    BidiModel, BidiOutputEvent, Role, SampleRate, StartParams, StopReason, ToolResult, ToolSpec,
};
use common::*;
use serde_json::{Value, json};

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
    // What the service received: AWS's samples' settings, the default.
    assert_eq!(
        conn[0]["event"]["sessionStart"]["inferenceConfiguration"],
        json!({"maxTokens": 1024, "temperature": 0.7, "topP": 0.9})
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
