//! `BidiAgent`: options, lifecycle, send and receive. Ports the reference's
//! `tests/strands/experimental/bidi/agent/test_agent.py`, case by case:
//!
//! - `test_bidi_agent_init_with_various_configurations` → `init_with_various_configurations`
//! - `test_bidi_agent_init_with_model_id` → not portable: the model is required (a string
//!   giving Nova Sonic comes with the `nova-sonic` feature); `builder` takes any `BidiModel`.
//! - `test_bidi_agent_start_stop_lifecycle` → `start_stop_lifecycle`
//! - `test_bidi_agent_send_with_input_types` → `send_with_input_types`
//! - `test_bidi_agent_receive_events_from_model` → `receive_events_from_model`
//! - `test_bidi_agent_tool_integration` → `tool_integration`
//! - `test_bidi_agent_send_receive_error_before_start` → `send_receive_error_before_start`
//! - `test_bidi_agent_start_receive_propagates_model_errors` →
//!   `start_receive_propagates_model_errors`
//! - `test_bidi_agent_state_consistency` → `state_consistency`
//!
//! Beyond the reference: bad dict inputs, `scoped`, the playback tracker, and `stop` waking a
//! pending `receive`.
#![allow(clippy::unwrap_used)]

use crate::support;

use bidi_agent::types::*;
use bidi_agent::{AgentError, BidiAgent, InvocationState};
use futures_util::StreamExt;
use serde_json::json;
use support::*;

/// Tells the time.
#[bidi_agent::tool]
fn time_tool() -> String {
    "12:00".into()
}

#[tokio::test]
async fn init_with_various_configurations() {
    let agent = BidiAgent::builder(ScriptedModel::new(vec![]))
        .build()
        .unwrap();
    assert_eq!(agent.agent_id(), "default");
    assert_eq!(agent.name(), "Strands Agents");
    assert_eq!(agent.description(), None);
    assert_eq!(agent.system_prompt(), None);
    assert!(agent.messages().is_empty());
    assert!(agent.tool_names().is_empty());
    assert!(!agent.is_started());

    let history = vec![Message::text(Role::User, "earlier")];
    let agent = BidiAgent::builder(ScriptedModel::new(vec![]))
        .agent_id("agent-1")
        .name("Helper")
        .description("helps")
        .system_prompt("be brief")
        .messages(history.clone())
        .tool(time_tool)
        .state_map(json!({"k": 1}).as_object().unwrap().clone())
        .build()
        .unwrap();
    assert_eq!(agent.agent_id(), "agent-1");
    assert_eq!(agent.name(), "Helper");
    assert_eq!(agent.description(), Some("helps"));
    assert_eq!(agent.system_prompt(), Some("be brief"));
    assert_eq!(agent.messages(), history);
    assert_eq!(agent.tool_names(), ["time_tool"]);
    assert_eq!(agent.state().get("k"), Some(json!(1)));
    assert_eq!(agent.model().config().model_id, "scripted");

    for bad in ["a/b", "a\\b", "..", ""] {
        let err = BidiAgent::builder(ScriptedModel::new(vec![]))
            .agent_id(bad)
            .build()
            .unwrap_err();
        assert!(
            matches!(&err, AgentError::InvalidAgentId(id) if id == bad),
            "{err}"
        );
    }
    let err = BidiAgent::builder(ScriptedModel::new(vec![]))
        .agent_id("a/b")
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "agent_id=<a/b> | id cannot contain path separators"
    );
    let err = BidiAgent::builder(ScriptedModel::new(vec![]))
        .state_map(json!({"": 1}).as_object().unwrap().clone())
        .build()
        .unwrap_err();
    assert!(matches!(err, AgentError::State(_)), "{err}");
}

#[tokio::test]
async fn start_stop_lifecycle() {
    let model = ScriptedModel::new(vec![vec![conn_start("conn-1")], vec![conn_start("conn-2")]]);
    let agent = BidiAgent::builder(model.clone()).build().unwrap();
    agent.start(None).await.unwrap();
    assert!(agent.is_started());
    let err = agent.start(None).await.unwrap_err();
    assert!(matches!(err, AgentError::AlreadyStarted));
    assert_eq!(
        err.to_string(),
        "agent already started | call stop before starting again"
    );
    let first = model.connection_id().unwrap();

    agent.stop().await.unwrap();
    agent.stop().await.unwrap();
    assert!(!agent.is_started());
    assert_eq!(model.stops(), 1, "a second stop does nothing");

    agent.start(None).await.unwrap();
    let second = model.connection_id().unwrap();
    assert_ne!(first, second, "a new start opens a new connection");
    agent.stop().await.unwrap();
}

#[tokio::test]
async fn send_with_input_types() {
    let model = ScriptedModel::new(vec![vec![]]);
    let agent = BidiAgent::builder(model.clone()).build().unwrap();
    agent.start(None).await.unwrap();

    agent.send(BidiTextInputEvent::new("typed")).await.unwrap();
    agent.send("plain").await.unwrap();
    assert_eq!(
        agent.messages(),
        [
            Message::text(Role::User, "typed"),
            Message::text(Role::User, "plain")
        ]
    );

    let audio = BidiAudioInputEvent::from_bytes(
        &[0; 8],
        AudioFormat::Pcm,
        SampleRate::Hz16000,
        Channels::Mono,
    );
    agent.send(audio.clone()).await.unwrap();
    agent
        .send(BidiImageInputEvent::from_bytes(&[1, 2], "image/png"))
        .await
        .unwrap();
    assert_eq!(
        agent.messages().len(),
        2,
        "audio and images never reach history"
    );

    let (a, b, c) = tokio::join!(
        agent.send("one"),
        agent.send(String::from("two")),
        agent.send(json!({"type": "bidi_text_input", "text": "three"}))
    );
    a.unwrap();
    b.unwrap();
    c.unwrap();
    assert_eq!(agent.messages().len(), 5);
    assert_eq!(model.sent().len(), 7);
    assert!(model.sent().contains(&ModelInput::Event(audio.into())));
    agent.stop().await.unwrap();
}

#[tokio::test]
async fn bad_dict_inputs_are_typed_errors() {
    let model = ScriptedModel::new(vec![vec![]]);
    let agent = BidiAgent::builder(model.clone()).build().unwrap();
    agent.start(None).await.unwrap();

    let cases = [
        (
            json!({"type": "bidi_video_input"}),
            "input_type=<bidi_video_input>",
        ),
        (
            json!({"type": "bidirectional_text_input", "text": "hi"}),
            "input_type=<bidirectional_text_input>",
        ),
        (json!({"text": "no type"}), "no string `type` key"),
        (json!(["not", "an", "object"]), "found=<array>"),
        (
            json!({"type": "bidi_text_input"}),
            "field=<text> | missing field",
        ),
        (
            json!({"type": "bidi_text_input", "text": 3}),
            "field=<text>, value=<3>",
        ),
        (
            json!({"type": "bidi_text_input", "text": "x", "extra": 1}),
            "field=<extra> | unknown field",
        ),
        (
            json!({"type": "bidi_audio_input", "audio": "AAAA", "format": "pcm", "sample_rate": 11025, "channels": 1}),
            "sample_rate=<11025>",
        ),
        (
            json!({"type": "bidi_audio_input", "audio": "!!", "format": "pcm", "sample_rate": 16000, "channels": 1}),
            "invalid base64",
        ),
        (
            json!({"type": "bidi_text_input", "text": "x", "role": "system"}),
            "role=<system>",
        ),
    ];
    for (value, expected) in cases {
        let err = agent.send(value.clone()).await.unwrap_err();
        assert!(matches!(err, AgentError::InvalidInput(_)), "{value}: {err}");
        let text = err.to_string();
        assert!(
            text.starts_with("invalid input | ") && text.contains(expected),
            "{value}: {text}"
        );
    }
    assert!(model.sent().is_empty(), "nothing invalid reaches the model");
    assert!(agent.messages().is_empty());
    agent
        .send(&json!({"type": "bidi_text_input", "text": "ok", "role": "user"}))
        .await
        .unwrap();
    assert_eq!(model.sent().len(), 1);
    agent.stop().await.unwrap();
}

#[tokio::test]
async fn receive_events_from_model() {
    let script = || {
        vec![
            conn_start("c"),
            audio(),
            transcript("hello", Role::Assistant, true),
        ]
    };
    let model = ScriptedModel::new(vec![script(), script()]);
    let agent = BidiAgent::builder(model.clone()).build().unwrap();
    for round in 1..=2 {
        agent.start(None).await.unwrap();
        let mut events = agent.receive();
        let got = collect_until(&mut events, |e| e.event_type() == "bidi_transcript_stream").await;
        assert_eq!(
            types(&got),
            [
                "bidi_connection_start",
                "bidi_audio_stream",
                "bidi_transcript_stream"
            ],
            "round {round}"
        );
        agent.stop().await.unwrap();
        assert!(
            within(events.next()).await.is_none(),
            "the stream ends at stop"
        );
    }
    assert_eq!(model.starts().len(), 2);
    // Final transcripts are recorded; the second start replayed the first one.
    assert_eq!(
        model.starts()[1].messages,
        [Message::text(Role::Assistant, "hello")]
    );
}

#[tokio::test]
async fn tool_integration() {
    let agent = BidiAgent::builder(ScriptedModel::new(vec![]))
        .tool(time_tool)
        .build()
        .unwrap();
    assert_eq!(agent.tool_names(), ["time_tool"]);
    let result = agent.tool("time_tool", json!({})).await.unwrap();
    assert_eq!(result.content, [ToolResultContent::Text("12:00".into())]);
    assert!(result.tool_use_id.starts_with("tooluse_time_tool_"));
}

#[tokio::test]
async fn send_receive_error_before_start() {
    let agent = BidiAgent::builder(ScriptedModel::new(vec![vec![]]))
        .build()
        .unwrap();
    async fn check(agent: &BidiAgent) {
        let e = agent.send("hi").await.unwrap_err();
        assert!(e.to_string().contains("call start before sending"), "{e}");
        let mut events = agent.receive();
        let e = events.next().await.unwrap().unwrap_err();
        assert!(e.to_string().contains("call start before receiving"), "{e}");
        assert!(events.next().await.is_none());
    }
    check(&agent).await;
    agent.start(None).await.unwrap();
    agent.stop().await.unwrap();
    check(&agent).await;
}

#[tokio::test]
async fn start_receive_propagates_model_errors() {
    let model = ScriptedModel::new(vec![vec![
        conn_start("c"),
        Step::Fail(ModelError::Provider {
            code: "Throttled".into(),
            message: "slow down".into(),
        }),
    ]]);
    model.fail_next_start(ModelError::connection("refused"));
    let agent = BidiAgent::builder(model.clone()).build().unwrap();
    let err = agent.start(None).await.unwrap_err();
    assert!(
        matches!(err, AgentError::Model(ModelError::Connection { .. })),
        "{err}"
    );
    assert!(
        !agent.is_started(),
        "a failed start leaves the agent stopped"
    );

    agent.start(None).await.unwrap();
    let mut events = agent.receive();
    let got = collect_all(&mut events).await;
    assert_eq!(
        types(&got),
        ["bidi_connection_start", "bidi_error", "error"]
    );
    let Ok(BidiAgentEvent::Output(BidiOutputEvent::Error(e))) = &got[1] else {
        panic!("{got:?}")
    };
    assert_eq!(e.code(), "ModelProviderError");
    assert_eq!(e.message(), "code=<Throttled> | slow down");
    assert!(matches!(
        &got[2],
        Err(AgentError::Model(ModelError::Provider { .. }))
    ));
    agent.stop().await.unwrap();
}

#[tokio::test]
async fn state_consistency() {
    let model = ScriptedModel::new(vec![vec![conn_start("c")]]);
    let agent = BidiAgent::builder(model.clone()).build().unwrap();
    assert_eq!(model.connection_id(), None);
    agent.start(None).await.unwrap();
    let id = model.connection_id();
    assert!(id.is_some());
    agent.send("x").await.unwrap();
    assert_eq!(
        model.connection_id(),
        id,
        "the connection id is stable while started"
    );
    agent.stop().await.unwrap();
    assert_eq!(model.connection_id(), None);
}

#[tokio::test]
async fn stop_wakes_a_pending_receive() {
    let agent = BidiAgent::builder(ScriptedModel::new(vec![vec![]]))
        .build()
        .unwrap();
    agent.start(None).await.unwrap();
    let mut events = agent.receive();
    let (next, stopped) = tokio::join!(within(events.next()), async {
        tokio::task::yield_now().await;
        agent.stop().await
    });
    stopped.unwrap();
    assert!(next.is_none());
}

#[tokio::test]
async fn scoped_always_stops() {
    let model = ScriptedModel::new(vec![vec![], vec![]]);
    let agent = BidiAgent::builder(model.clone()).build().unwrap();
    let value = agent
        .scoped(None, |agent| async move {
            assert!(agent.is_started());
            agent.send("hello").await?;
            Ok(7)
        })
        .await
        .unwrap();
    assert_eq!(value, 7);
    assert!(!agent.is_started());

    let err = agent
        .scoped(Some(InvocationState::new()), |agent| async move {
            agent.send(json!({"type": "nope"})).await?;
            Ok(())
        })
        .await
        .unwrap_err();
    assert!(matches!(err, AgentError::InvalidInput(_)));
    assert!(!agent.is_started(), "stopped even when the body failed");
    assert_eq!(model.stops(), 2);
}

#[tokio::test]
async fn one_playback_tracker_for_every_start_and_for_io() {
    let model = ScriptedModel::new(vec![vec![], vec![]]);
    let agent = BidiAgent::builder(model.clone()).build().unwrap();
    for _ in 0..2 {
        agent.start(None).await.unwrap();
        agent.stop().await.unwrap();
    }
    let view: std::sync::Arc<dyn AgentView> = std::sync::Arc::new(agent.handle());
    let tracker = view.playback().unwrap();
    tracker.add_consumed(16_000, 16_000);
    for params in model.starts() {
        let p = params.playback.expect("every start gets the tracker");
        assert_eq!(
            p.consumed(),
            std::time::Duration::from_secs(1),
            "the same tracker"
        );
    }
    assert_eq!(view.model_config().audio.input_rate, SampleRate::Hz24000);
    assert_eq!(view.agent_id(), "default");
}
