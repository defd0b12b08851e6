//! The Nova Sonic codec on the protocol's example JSON (the spec's Nova Sonic section), and
//! a property test: random and mutated provider frames never panic the decoder.
#![cfg(feature = "nova-sonic")]

use bidi_model::nova_sonic::{self as codec, CodecError, Decoder, NovaEvent, NovaRole, encode};
use bidi_model::nova_sonic::{
    InferenceConfig, NOVA_SONIC_V1_MODEL_ID, NovaSonicConfig, TurnDetection,
};
use bidi_types::{
    AudioConfig, BidiOutputEvent, InterruptionReason, Role, SampleRate, StopReason, ToolResult,
    ToolResultContent, ToolSpec,
};
use proptest::prelude::*;
use serde_json::{Value, json};

fn v(s: &str) -> Value {
    serde_json::from_str(s).expect("JSON")
}

fn audio16() -> AudioConfig {
    AudioConfig::new(SampleRate::Hz16000, SampleRate::Hz16000)
}

#[test]
fn session_start_matches_the_protocol() {
    let inference = InferenceConfig {
        max_tokens: Some(1024),
        temperature: Some(0.5),
        top_p: Some(0.9),
    };
    assert_eq!(
        v(&encode::session_start(
            &inference,
            Some(TurnDetection::High)
        )),
        json!({"event": {"sessionStart": {
            "inferenceConfiguration": {"maxTokens": 1024, "temperature": 0.5, "topP": 0.9},
            "turnDetectionConfiguration": {"endpointingSensitivity": "HIGH"}}}})
    );
    // The default is AWS's samples' settings.
    assert_eq!(
        v(&encode::session_start(&InferenceConfig::default(), None)),
        json!({"event": {"sessionStart": {"inferenceConfiguration":
            {"maxTokens": 1024, "temperature": 0.7, "topP": 0.9}}}})
    );
    assert_eq!(
        v(&encode::session_start(&InferenceConfig::unset(), None)),
        json!({"event": {"sessionStart": {"inferenceConfiguration": {}}}})
    );
}

#[test]
fn prompt_start_with_tools_matches_the_protocol() {
    let spec = ToolSpec::new(
        "calc",
        "Calculate",
        json!({"type": "object", "properties": {"x": {"type": "string", "description": "X"}}, "required": ["x"]}),
    );
    let got = v(&encode::prompt_start(
        "PROMPT",
        &audio16(),
        "matthew",
        &[spec],
    ));
    let tools = &got["event"]["promptStart"]["toolConfiguration"]["tools"];
    let schema = tools[0]["toolSpec"]["inputSchema"]["json"]
        .as_str()
        .expect("a JSON string");
    assert_eq!(
        v(schema),
        json!({"type": "object", "properties": {"x": {"type": "string", "description": "X"}}, "required": ["x"]})
    );
    let mut without_schema = got.clone();
    without_schema["event"]["promptStart"]["toolConfiguration"]["tools"][0]["toolSpec"]["inputSchema"]
        ["json"] = json!("<schema>");
    assert_eq!(
        without_schema,
        json!({"event": {"promptStart": {"promptName": "PROMPT",
            "textOutputConfiguration": {"mediaType": "text/plain"},
            "audioOutputConfiguration": {"mediaType": "audio/lpcm", "sampleRateHertz": 16000, "sampleSizeBits": 16, "channelCount": 1, "voiceId": "matthew", "encoding": "base64", "audioType": "SPEECH"},
            "toolUseOutputConfiguration": {"mediaType": "application/json"},
            "toolConfiguration": {"tools": [{"toolSpec": {"name": "calc", "description": "Calculate",
                "inputSchema": {"json": "<schema>"}}}]}}}})
    );
    // The two tool keys appear only with tools.
    let bare = v(&encode::prompt_start("PROMPT", &audio16(), "matthew", &[]));
    assert!(
        bare["event"]["promptStart"]
            .get("toolConfiguration")
            .is_none()
    );
    assert!(
        bare["event"]["promptStart"]
            .get("toolUseOutputConfiguration")
            .is_none()
    );
}

#[test]
fn text_audio_and_tool_contents_match_the_protocol() {
    let [start, input, end] =
        encode::text_content("PROMPT", "C-SYS", NovaRole::System, false, "Be brief");
    assert_eq!(
        v(&start),
        json!({"event": {"contentStart": {"promptName": "PROMPT", "contentName": "C-SYS", "type": "TEXT", "role": "SYSTEM", "interactive": false, "textInputConfiguration": {"mediaType": "text/plain"}}}})
    );
    assert_eq!(
        v(&input),
        json!({"event": {"textInput": {"promptName": "PROMPT", "contentName": "C-SYS", "content": "Be brief"}}})
    );
    assert_eq!(
        v(&end),
        json!({"event": {"contentEnd": {"promptName": "PROMPT", "contentName": "C-SYS"}}})
    );
    assert_eq!(
        v(&encode::audio_content_start("PROMPT", "C-AUD", &audio16())),
        json!({"event": {"contentStart": {"promptName": "PROMPT", "contentName": "C-AUD", "type": "AUDIO", "interactive": true, "role": "USER", "audioInputConfiguration": {"mediaType": "audio/lpcm", "sampleRateHertz": 16000, "sampleSizeBits": 16, "channelCount": 1, "audioType": "SPEECH", "encoding": "base64"}}}})
    );
    assert_eq!(
        v(&encode::audio_input("PROMPT", "C-AUD", "AQACAA==")),
        json!({"event": {"audioInput": {"promptName": "PROMPT", "contentName": "C-AUD", "content": "AQACAA=="}}})
    );
    let [start, result, _] = encode::tool_result("PROMPT", "C-T1", &ToolResult::text("tu-1", "42"))
        .expect("text result");
    assert_eq!(
        v(&start),
        json!({"event": {"contentStart": {"promptName": "PROMPT", "contentName": "C-T1", "interactive": false, "type": "TOOL", "role": "TOOL", "toolResultInputConfiguration": {"toolUseId": "tu-1", "type": "TEXT", "textInputConfiguration": {"mediaType": "text/plain"}}}}})
    );
    assert_eq!(
        v(&result),
        json!({"event": {"toolResult": {"promptName": "PROMPT", "contentName": "C-T1", "content": "{\"text\":\"42\"}"}}})
    );
    let two = ToolResult {
        content: vec![
            ToolResultContent::Text("a".into()),
            ToolResultContent::Json(json!({"b": 1})),
        ],
        ..ToolResult::text("tu-2", "")
    };
    assert_eq!(
        v(&encode::tool_result_payload(&two).expect("payload")),
        json!({"content": [{"text": "a"}, {"json": {"b": 1}}]})
    );
    assert_eq!(
        v(&encode::prompt_end("PROMPT")),
        json!({"event": {"promptEnd": {"promptName": "PROMPT"}}})
    );
    assert_eq!(
        v(&encode::session_end()),
        json!({"event": {"sessionEnd": {}}})
    );
}

fn decode_all(decoder: &mut Decoder, events: &[Value]) -> Vec<BidiOutputEvent> {
    events
        .iter()
        .flat_map(|e| {
            decoder
                .decode_bytes(e.to_string().as_bytes())
                .expect("valid event")
                .events
        })
        .collect()
}

#[test]
fn a_spoken_response_maps_to_one_response_with_transcripts_audio_and_usage() {
    let mut d = Decoder::new(audio16());
    let stage = |s: &str| json!(json!({"generationStage": s}).to_string());
    let out = decode_all(
        &mut d,
        &[
            json!({"event": {"completionStart": {"completionId": "c-1"}}}),
            json!({"event": {"contentStart": {"type": "TEXT", "role": "USER", "additionalModelFields": stage("FINAL")}}}),
            json!({"event": {"textOutput": {"role": "USER", "content": "hi"}}}),
            json!({"event": {"contentEnd": {"stopReason": "PARTIAL_TURN"}}}),
            json!({"event": {"contentStart": {"type": "TEXT", "role": "ASSISTANT", "additionalModelFields": stage("SPECULATIVE")}}}),
            json!({"event": {"textOutput": {"role": "ASSISTANT", "content": "Hello"}}}),
            json!({"event": {"contentEnd": {"stopReason": "PARTIAL_TURN"}}}),
            json!({"event": {"contentStart": {"type": "AUDIO", "role": "ASSISTANT"}}}),
            json!({"event": {"audioOutput": {"content": "AQACAA=="}}}),
            json!({"event": {"contentEnd": {"stopReason": "PARTIAL_TURN"}}}),
            json!({"event": {"usageEvent": {"totalInputTokens": 3, "totalOutputTokens": 4}}}),
            json!({"event": {"contentStart": {"type": "TEXT", "role": "ASSISTANT", "additionalModelFields": stage("FINAL")}}}),
            json!({"event": {"textOutput": {"role": "ASSISTANT", "content": "Hello"}}}),
            json!({"event": {"contentEnd": {"stopReason": "END_TURN"}}}),
            json!({"event": {"completionEnd": {"completionId": "c-1", "stopReason": "END_TURN"}}}),
        ],
    );
    let types: Vec<String> = out
        .iter()
        .map(|e| e.to_json()["type"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        types,
        [
            "bidi_response_start",
            "bidi_transcript_stream",
            "bidi_transcript_stream",
            "bidi_audio_stream",
            "bidi_usage",
            "bidi_transcript_stream",
            "bidi_response_complete",
        ]
    );
    match (&out[0], &out[6]) {
        (BidiOutputEvent::ResponseStart(s), BidiOutputEvent::ResponseComplete(c)) => {
            assert_eq!(s.response_id(), "c-1");
            assert_eq!(c.response_id(), "c-1");
            assert_eq!(c.stop_reason(), StopReason::Complete);
        }
        other => panic!("{other:?}"),
    }
    let BidiOutputEvent::TranscriptStream(user) = &out[1] else {
        panic!()
    };
    assert_eq!((user.role(), user.is_final()), (Role::User, true));
    let BidiOutputEvent::TranscriptStream(spec) = &out[2] else {
        panic!()
    };
    assert_eq!((spec.role(), spec.is_final()), (Role::Assistant, false));
    let BidiOutputEvent::Usage(u) = &out[4] else {
        panic!()
    };
    assert_eq!(u.total_tokens(), 7);
    assert!(!d.in_response());
}

#[test]
fn barge_in_from_the_marker_and_from_the_stop_reason_is_one_interruption() {
    let mut d = Decoder::new(audio16());
    let out = decode_all(
        &mut d,
        &[
            json!({"event": {"completionStart": {"completionId": "c-2"}}}),
            json!({"event": {"contentStart": {"type": "TEXT", "role": "ASSISTANT"}}}),
            json!({"event": {"textOutput": {"role": "ASSISTANT", "content": "{ \"interrupted\" : true }"}}}),
            json!({"event": {"contentEnd": {"stopReason": "INTERRUPTED"}}}),
        ],
    );
    let interruptions: Vec<_> = out
        .iter()
        .filter_map(|e| match e {
            BidiOutputEvent::Interruption(i) => Some(i.reason()),
            _ => None,
        })
        .collect();
    assert_eq!(interruptions, [InterruptionReason::UserSpeech]);
    assert!(
        !out.iter()
            .any(|e| matches!(e, BidiOutputEvent::TranscriptStream(_)))
    );
    assert!(
        matches!(out.last(), Some(BidiOutputEvent::ResponseComplete(c)) if c.stop_reason() == StopReason::Interrupted)
    );

    // The stop reason alone is enough.
    let mut d = Decoder::new(audio16());
    let out = decode_all(
        &mut d,
        &[
            json!({"event": {"contentStart": {"type": "AUDIO", "role": "ASSISTANT"}}}),
            json!({"event": {"contentEnd": {"stopReason": "INTERRUPTED"}}}),
        ],
    );
    assert!(
        out.iter()
            .any(|e| matches!(e, BidiOutputEvent::Interruption(_)))
    );
}

#[test]
fn tool_use_parses_its_arguments() {
    let mut d = Decoder::new(audio16());
    let out = decode_all(
        &mut d,
        &[
            json!({"event": {"toolUse": {"toolUseId": "tu-1", "toolName": "calc", "content": "{\"x\": \"2\"}"}}}),
        ],
    );
    let Some(BidiOutputEvent::ToolUseStream(t)) = out.last() else {
        panic!("{out:?}")
    };
    assert_eq!(t.current_tool_use().input, json!({"x": "2"}));
    let bad = d.decode_bytes(
        json!({"event": {"toolUse": {"toolUseId": "tu-2", "toolName": "calc", "content": "{oops"}}})
            .to_string()
            .as_bytes(),
    );
    assert!(
        matches!(bad, Err(CodecError::ToolInput { ref tool_use_id, .. }) if tool_use_id == "tu-2")
    );
}

#[test]
fn parse_reports_what_is_wrong() {
    assert!(matches!(codec::parse(b"nope"), Err(CodecError::NotJson(_))));
    assert!(matches!(
        codec::parse(b"[1]"),
        Err(CodecError::NotAnEvent { .. })
    ));
    assert!(matches!(
        codec::parse(br#"{"event":{}}"#),
        Err(CodecError::NotAnEvent { .. })
    ));
    assert!(matches!(
        codec::parse(br#"{"event":{"textOutput":{"content":"x"}}}"#),
        Err(CodecError::BadField { field: "role", .. })
    ));
    assert!(matches!(
        codec::parse(br#"{"event":{"audioOutput":{"content":"!!"}}}"#),
        Ok(NovaEvent::AudioOutput { .. })
    ));
    let mut d = Decoder::new(audio16());
    assert!(matches!(
        d.decode_bytes(br#"{"event":{"audioOutput":{"content":"!!"}}}"#),
        Err(CodecError::Audio(_))
    ));
    assert_eq!(
        codec::parse(br#"{"event":{"somethingNew":{"a":1}}}"#).expect("unknown is fine"),
        NovaEvent::Unknown {
            name: "somethingNew".into()
        }
    );
}

#[test]
fn config_is_validated_like_the_reference() {
    let v1 = NovaSonicConfig::default()
        .with_model_id(NOVA_SONIC_V1_MODEL_ID)
        .with_turn_detection(TurnDetection::Low);
    assert_eq!(
        v1.validate()
            .expect_err("v1 has no turn detection")
            .to_string(),
        "turn_detection is only supported in Nova Sonic v2. Current model_id: amazon.nova-sonic-v1:0. Use amazon.nova-2-sonic-v1:0 instead."
    );
    assert!(
        NovaSonicConfig::default()
            .with_model_id(NOVA_SONIC_V1_MODEL_ID)
            .validate()
            .is_ok()
    );
    assert!("SOMETIMES".parse::<TurnDetection>().is_err());
    let opus = NovaSonicConfig::default().with_audio(AudioConfig {
        format: bidi_types::AudioFormat::Opus,
        ..audio16()
    });
    assert!(opus.validate().is_err());
}

/// A valid output event of each kind, for mutation.
fn valid_events() -> Vec<Value> {
    vec![
        json!({"event": {"completionStart": {"completionId": "c"}}}),
        json!({"event": {"contentStart": {"type": "TEXT", "role": "ASSISTANT", "additionalModelFields": "{\"generationStage\":\"FINAL\"}"}}}),
        json!({"event": {"textOutput": {"role": "ASSISTANT", "content": "hi"}}}),
        json!({"event": {"audioOutput": {"content": "AQACAA=="}}}),
        json!({"event": {"toolUse": {"toolUseId": "t", "toolName": "n", "content": "{}"}}}),
        json!({"event": {"contentEnd": {"stopReason": "INTERRUPTED"}}}),
        json!({"event": {"usageEvent": {"totalInputTokens": 1, "totalOutputTokens": 2}}}),
        json!({"event": {"completionEnd": {"stopReason": "END_TURN"}}}),
    ]
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z]{1,16}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let mut d = Decoder::new(audio16());
        let _ = d.decode_bytes(&bytes);
    }

    #[test]
    fn mutated_events_are_handled_or_typed_errors(
        which in 0usize..8,
        key in "[a-zA-Z]{1,16}",
        replacement in any_json(),
        cut in 0usize..200,
    ) {
        let mut d = Decoder::new(audio16());
        let mut event = valid_events()[which].clone();
        // Replace one field of the event body, or add one.
        if let Some(body) = event["event"].as_object_mut().and_then(|o| o.values_mut().next()).and_then(Value::as_object_mut) {
            let target = body.keys().nth(cut % (body.len() + 1)).cloned().unwrap_or(key);
            body.insert(target, replacement);
        }
        let text = event.to_string();
        match d.decode_bytes(text.as_bytes()) {
            Ok(_) => {}
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
        // Truncated frames are errors, never panics.
        let truncated = &text.as_bytes()[..cut.min(text.len())];
        if cut < text.len() {
            prop_assert!(d.decode_bytes(truncated).is_err());
        }
    }
}
