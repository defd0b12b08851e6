//! Output and loop events: the ported `test_events.py` cases and the shapes bidi adds.
//!
//! Ported from the reference's `tests/strands/experimental/bidi/types/test_events.py`:
//! - `test_event_json_serialization` (every event but the restart; usage without optional
//!   keys; an error event): `every_event_round_trips_through_json_text`;
//! - `test_transcript_stream_event_delta_pattern`: `transcript_partial_and_final_accessors`;
//! - `test_transcript_stream_event_extends_model_stream_event`: not applicable (no class
//!   hierarchy in Rust; the transcript is a variant of `BidiOutputEvent`).

use bidi_types::*;
use serde_json::{Value, json};

fn all_events() -> Vec<BidiAgentEvent> {
    let tool_use = ToolUse::new("t-1", "calc", json!({"x": 1}));
    vec![
        BidiConnectionStartEvent::new("c-1", "gpt-realtime").into(),
        BidiConnectionRestartEvent::new(
            ModelTimeout::new("8 minutes").with_restart("live_session_handle", json!("h1")),
        )
        .into(),
        BidiResponseStartEvent::new("r-1").into(),
        BidiAudioStreamEvent::from_bytes(
            &[1, 2, 3, 4],
            AudioFormat::Pcm,
            SampleRate::Hz24000,
            Channels::Mono,
        )
        .into(),
        BidiTranscriptStreamEvent::new("hi", Role::User, true, Some("hi".into())).into(),
        BidiTranscriptStreamEvent::new("hi", Role::User, false, None).into(),
        BidiInterruptionEvent::new(InterruptionReason::UserSpeech).into(),
        BidiInterruptionEvent::new(InterruptionReason::Error).into(),
        BidiResponseCompleteEvent::new("r-1", StopReason::ToolUse).into(),
        BidiUsageEvent::new(1, 2, 3).into(),
        BidiUsageEvent::new(1, 2, 3)
            .with_modality_details(vec![ModalityUsage {
                modality: Modality::Text,
                input_tokens: 1,
                output_tokens: 2,
            }])
            .with_cache(Some(4), None)
            .into(),
        BidiConnectionCloseEvent::new("c-1", CloseReason::UserRequest).into(),
        BidiErrorEvent::new("test", "ValueError").into(),
        ToolUseStreamEvent::complete(tool_use.clone()).into(),
        BidiToolCancellationEvent::new(vec!["t-1".into(), "t-2".into()]).into(),
        ToolStreamEvent::new(tool_use.clone(), json!({"progress": 0.5})).into(),
        ToolResultEvent::new(ToolResult::text("t-1", "2")).into(),
        ToolResultMessageEvent::new(Message::tool_result(ToolResult::json(
            "t-1",
            json!({"v": 2}),
        )))
        .into(),
        ToolCancelEvent::new(tool_use, "tool cancelled by user").into(),
    ]
}

#[test]
fn every_event_round_trips_through_json_text() {
    for e in all_events() {
        let text = serde_json::to_string(&e).expect("serialise");
        let back =
            BidiAgentEvent::from_json_str(&text).unwrap_or_else(|err| panic!("{text}: {err}"));
        assert_eq!(back, e, "{text}");
        let v: Value = serde_json::from_str(&text).expect("json");
        match e {
            BidiAgentEvent::ToolResultMessage(_) => assert!(v.get("type").is_none()),
            BidiAgentEvent::ToolCancel(_) => assert!(v.get("type").is_none()),
            _ => {
                assert_eq!(v["type"], e.event_type());
                assert!(text.starts_with("{\"type\":"), "type key first: {text}");
            }
        }
    }
}

#[test]
fn usage_without_optional_keys_omits_them() {
    let v = serde_json::to_value(BidiUsageEvent::new(1, 2, 3)).expect("json");
    assert_eq!(
        v,
        json!({"type": "bidi_usage", "inputTokens": 1, "outputTokens": 2, "totalTokens": 3})
    );
    let u = BidiUsageEvent::new(1, 2, 3).with_cache(None, Some(7));
    let v = serde_json::to_value(&u).expect("json");
    assert!(v.get("cacheReadInputTokens").is_none());
    assert_eq!(v["cacheWriteInputTokens"], 7);
    assert_eq!(u.cache_read_input_tokens(), None);
    assert!(u.modality_details().is_empty());
}

#[test]
fn transcript_partial_and_final_accessors() {
    let partial =
        BidiTranscriptStreamEvent::new("Hello", Role::Assistant, false, Some("Hello".into()));
    assert_eq!(partial.text(), "Hello");
    assert_eq!(partial.delta().text, "Hello");
    assert!(!partial.is_final());
    assert_eq!(partial.current_transcript(), Some("Hello"));
    let final_ = BidiTranscriptStreamEvent::new(
        "Hello world",
        Role::Assistant,
        true,
        Some("Hello world".into()),
    );
    assert!(final_.is_final());
    assert_eq!(final_.role(), Role::Assistant);
}

#[test]
fn transcript_writes_null_current_transcript_and_reads_it_missing() {
    let e = BidiTranscriptStreamEvent::new("x", Role::User, false, None);
    assert_eq!(
        serde_json::to_value(&e).expect("json")["current_transcript"],
        Value::Null
    );
    let parsed = BidiOutputEvent::from_json(&json!({
        "type": "bidi_transcript_stream", "delta": {"text": "x"}, "text": "x", "role": "user", "is_final": false
    }))
    .expect("missing current_transcript is allowed");
    assert_eq!(parsed, BidiOutputEvent::TranscriptStream(e));
}

#[test]
fn error_event_always_writes_details() {
    let v = serde_json::to_value(BidiErrorEvent::new("test", "ValueError")).expect("json");
    assert_eq!(
        v,
        json!({"type": "bidi_error", "message": "test", "code": "ValueError", "details": null})
    );
}

#[test]
fn restart_event_shape() {
    let e = BidiConnectionRestartEvent::new(
        ModelTimeout::new("limit").with_restart("live_session_handle", json!("h1")),
    );
    assert_eq!(
        serde_json::to_value(&e).expect("json"),
        json!({"type": "bidi_connection_restart", "timeout_error": {"message": "limit", "restart_config": {"live_session_handle": "h1"}}})
    );
    assert_eq!(
        e.timeout_error().restart_config["live_session_handle"],
        "h1"
    );
}

#[test]
fn model_error_becomes_an_error_event() {
    let e = ModelError::Provider {
        code: "ThrottlingException".into(),
        message: "slow down".into(),
    }
    .to_event();
    assert_eq!(e.code(), "ModelProviderError");
    assert_eq!(
        e.details().expect("details")["provider_code"],
        "ThrottlingException"
    );
    let t = ModelError::from(ModelTimeout::new("x"));
    assert!(t.is_timeout());
    assert_eq!(t.to_event().code(), "BidiModelTimeoutError");
}

#[test]
fn malformed_output_events_name_the_event() {
    for (v, event) in [
        (
            json!({"type": "bidi_response_start"}),
            "bidi_response_start",
        ),
        (
            json!({"type": "bidi_interruption", "reason": "boredom"}),
            "bidi_interruption",
        ),
        (
            json!({"type": "bidi_response_complete", "response_id": "r", "stop_reason": "done"}),
            "bidi_response_complete",
        ),
        (
            json!({"type": "bidi_audio_stream", "audio": "%%", "format": "pcm", "sample_rate": 24000, "channels": 1}),
            "bidi_audio_stream",
        ),
        (
            json!({"type": "bidi_audio_stream", "audio": "", "format": "pcm", "sample_rate": 11025, "channels": 1}),
            "bidi_audio_stream",
        ),
        (
            json!({"type": "bidi_usage", "inputTokens": -1, "outputTokens": 0, "totalTokens": 0}),
            "bidi_usage",
        ),
        (
            json!({"type": "tool_use_stream", "delta": {}, "current_tool_use": {}}),
            "tool_use_stream",
        ),
        (
            json!({"type": "bidi_tool_cancellation", "tool_use_ids": "fc-1"}),
            "bidi_tool_cancellation",
        ),
    ] {
        let e = BidiOutputEvent::from_json(&v).expect_err("rejected");
        assert!(
            matches!(&e, TypesError::InvalidEvent { event: got, .. } if got == event),
            "{v}: {e}"
        );
    }
    assert!(matches!(
        BidiOutputEvent::from_json(&json!({"type": "bidi_text_input", "text": "x"})),
        Err(TypesError::UnknownType { .. })
    ));
    assert!(matches!(
        BidiAgentEvent::from_json(&json!({"nothing": 1})),
        Err(TypesError::MissingType)
    ));
}

#[test]
fn messages_use_converse_keys() {
    let m = Message {
        role: Role::Assistant,
        content: vec![
            ContentBlock::Text("a".into()),
            ContentBlock::ToolUse(ToolUse::new("t", "n", json!({}))),
            ContentBlock::Image(ImageBlock {
                format: "png".into(),
                source: BinarySource {
                    bytes: "iVBORw==".into(),
                },
            }),
        ],
        metadata: None,
    };
    let v = serde_json::to_value(&m).expect("json");
    assert_eq!(
        v,
        json!({"role": "assistant", "content": [
            {"text": "a"},
            {"toolUse": {"toolUseId": "t", "name": "n", "input": {}}},
            {"image": {"format": "png", "source": {"bytes": "iVBORw=="}}}
        ]})
    );
    assert_eq!(serde_json::from_value::<Message>(v).expect("parse"), m);
    assert_eq!(m.joined_text().as_deref(), Some("a"));
    let two = Message {
        role: Role::User,
        content: vec![
            ContentBlock::Text("a".into()),
            ContentBlock::Text("b".into()),
        ],
        metadata: None,
    };
    assert_eq!(two.joined_text().as_deref(), Some("a\nb"));
    assert_eq!(
        Message::tool_use(ToolUse::new("t", "n", json!({}))).joined_text(),
        None
    );
}

#[test]
fn tool_spec_and_result_shapes() {
    let spec = ToolSpec::new("calc", "Calculate", json!({"type": "object"}));
    assert_eq!(
        serde_json::to_value(&spec).expect("json"),
        json!({"name": "calc", "description": "Calculate", "inputSchema": {"json": {"type": "object"}}})
    );
    let r = ToolResult {
        tool_use_id: "t".into(),
        status: ToolResultStatus::Success,
        content: vec![
            ToolResultContent::Text("a".into()),
            ToolResultContent::Json(json!({"b": 1})),
        ],
    };
    assert_eq!(
        serde_json::to_value(&r).expect("json"),
        json!({"toolUseId": "t", "status": "success", "content": [{"text": "a"}, {"json": {"b": 1}}]})
    );
    assert_eq!(r.content[1].kind(), "json");
    assert!(
        serde_json::from_value::<ToolResult>(
            json!({"toolUseId": "t", "status": "maybe", "content": []})
        )
        .is_err()
    );
}

#[test]
fn audio_config_json_matches_the_reference_keys() {
    let cfg = AudioConfig::new(SampleRate::Hz16000, SampleRate::Hz24000).with_voice("matthew");
    assert_eq!(
        serde_json::to_value(&cfg).expect("json"),
        json!({"input_rate": 16000, "output_rate": 24000, "channels": 1, "format": "pcm", "voice": "matthew"})
    );
    let bad = serde_json::from_value::<AudioConfig>(
        json!({"input_rate": 44100, "output_rate": 24000, "channels": 1, "format": "pcm"}),
    );
    assert!(bad.expect_err("rejected").to_string().contains("44100"));
}

/// Every event of a conversation passes through the agent's queues, whose blocks hold 32
/// slots of the largest variant: the rare, large events (tool uses, errors with details, a
/// restart) are boxed, so an audio chunk's slot stays small.
#[test]
fn queued_events_stay_small() {
    use std::mem::size_of;
    let output = size_of::<bidi_types::BidiOutputEvent>();
    let agent = size_of::<bidi_types::BidiAgentEvent>();
    let result = size_of::<Result<bidi_types::BidiOutputEvent, bidi_types::ModelError>>();
    assert!(output <= 96, "BidiOutputEvent is {output} bytes");
    assert!(agent <= 96, "BidiAgentEvent is {agent} bytes");
    assert!(
        result <= 104,
        "Result<BidiOutputEvent, ModelError> is {result} bytes"
    );
}
