use super::*;
use bidi_types::SampleRate;
use serde_json::json;

fn decoder() -> Decoder {
    Decoder::new(
        "c1",
        AudioConfig::new(SampleRate::Hz16000, SampleRate::Hz24000),
    )
}

fn events(d: &mut Decoder, msg: Value) -> Vec<BidiOutputEvent> {
    d.decode(&msg.to_string())
        .expect("decodes")
        .into_iter()
        .filter_map(|s| match s {
            ServerSignal::Event(e) => Some(e),
            _ => None,
        })
        .collect()
}

fn types(evs: &[BidiOutputEvent]) -> Vec<&'static str> {
    evs.iter().map(BidiOutputEvent::event_type).collect()
}

#[test]
fn setup_complete_and_resumption() {
    let mut d = decoder();
    assert_eq!(
        d.decode(r#"{"setupComplete":{}}"#).expect("ok"),
        [ServerSignal::SetupComplete]
    );
    assert_eq!(
        d.decode(r#"{"sessionResumptionUpdate":{"newHandle":"h1","resumable":true}}"#)
            .expect("ok"),
        [ServerSignal::ResumptionHandle("h1".into())]
    );
    assert!(
        d.decode(r#"{"sessionResumptionUpdate":{"newHandle":"h2","resumable":false}}"#)
            .expect("ok")
            .is_empty()
    );
    assert!(
        d.decode(r#"{"sessionResumptionUpdate":{"resumable":true}}"#)
            .expect("ok")
            .is_empty()
    );
}

#[test]
fn a_spoken_turn() {
    let mut d = decoder();
    let evs = events(
        &mut d,
        json!({"serverContent": {"inputTranscription": {"text": "What "}}}),
    );
    assert_eq!(types(&evs), ["bidi_transcript_stream"]);
    events(
        &mut d,
        json!({"serverContent": {"inputTranscription": {"text": "time?"}}}),
    );
    // The model's first audio closes the user's transcript and opens a response.
    let evs = events(
        &mut d,
        json!({"serverContent": {"modelTurn": {"parts": [
            {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": "AAAAAA=="}}
        ]}}}),
    );
    assert_eq!(
        types(&evs),
        [
            "bidi_transcript_stream",
            "bidi_response_start",
            "bidi_audio_stream"
        ]
    );
    match &evs[0] {
        BidiOutputEvent::TranscriptStream(t) => {
            assert!(t.is_final());
            assert_eq!(t.role(), Role::User);
            assert_eq!(t.text(), "What time?");
        }
        other => panic!("{other:?}"),
    }
    match &evs[2] {
        BidiOutputEvent::AudioStream(a) => assert_eq!(a.sample_rate(), SampleRate::Hz24000),
        other => panic!("{other:?}"),
    }
    let evs = events(
        &mut d,
        json!({"serverContent": {"outputTranscription": {"text": "It is "}}}),
    );
    assert_eq!(types(&evs), ["bidi_transcript_stream"]);
    events(
        &mut d,
        json!({"serverContent": {"outputTranscription": {"text": "noon."}}}),
    );
    let evs = events(&mut d, json!({"serverContent": {"turnComplete": true}}));
    assert_eq!(
        types(&evs),
        ["bidi_transcript_stream", "bidi_response_complete"]
    );
    match (&evs[0], &evs[1]) {
        (BidiOutputEvent::TranscriptStream(t), BidiOutputEvent::ResponseComplete(c)) => {
            assert_eq!(t.text(), "It is noon.");
            assert!(t.is_final());
            assert_eq!(c.response_id(), "c1-r1");
            assert_eq!(c.stop_reason(), StopReason::Complete);
        }
        other => panic!("{other:?}"),
    }
    // The next turn gets a new response id.
    let evs = events(
        &mut d,
        json!({"serverContent": {"modelTurn": {"parts": [{"text": "Hi"}]}}}),
    );
    assert!(matches!(&evs[0], BidiOutputEvent::ResponseStart(r) if r.response_id() == "c1-r2"));
}

#[test]
fn interruption_ends_the_response_as_interrupted() {
    let mut d = decoder();
    events(
        &mut d,
        json!({"serverContent": {"outputTranscription": {"text": "Once upon"}}}),
    );
    let evs = events(&mut d, json!({"serverContent": {"interrupted": true}}));
    assert_eq!(
        types(&evs),
        [
            "bidi_interruption",
            "bidi_transcript_stream",
            "bidi_response_complete"
        ]
    );
    assert!(
        matches!(&evs[2], BidiOutputEvent::ResponseComplete(c) if c.stop_reason() == StopReason::Interrupted)
    );
    // A turnComplete after it closes nothing more.
    assert!(events(&mut d, json!({"serverContent": {"turnComplete": true}})).is_empty());
}

#[test]
fn two_function_calls_in_one_message() {
    let mut d = decoder();
    let evs = events(
        &mut d,
        json!({"toolCall": {"functionCalls": [
            {"id": "fc1", "name": "calc", "args": {"x": 1}},
            {"id": "fc2", "name": "time"}
        ]}}),
    );
    assert_eq!(
        types(&evs),
        ["bidi_response_start", "tool_use_stream", "tool_use_stream"]
    );
    match &evs[2] {
        BidiOutputEvent::ToolUseStream(t) => {
            assert_eq!(t.current_tool_use().tool_use_id, "fc2");
            assert_eq!(t.current_tool_use().input, json!({}));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(d.call_name("fc1"), Some("calc"));
    assert!(d.has_open_calls());
    assert_eq!(d.close_call("fc1").as_deref(), Some("calc"));
    let sig = d
        .decode(r#"{"toolCallCancellation":{"ids":["fc2"]}}"#)
        .expect("ok");
    assert_eq!(
        sig,
        [ServerSignal::Event(
            BidiToolCancellationEvent::new(vec!["fc2".into()]).into()
        )]
    );
    assert!(!d.has_open_calls());
    let evs = events(&mut d, json!({"serverContent": {"turnComplete": true}}));
    assert!(
        matches!(&evs[0], BidiOutputEvent::ResponseComplete(c) if c.stop_reason() == StopReason::ToolUse)
    );
}

#[test]
fn usage_with_modalities_in_lower_case() {
    let mut d = decoder();
    let evs = events(
        &mut d,
        json!({"usageMetadata": {
            "promptTokenCount": 5, "responseTokenCount": 7, "totalTokenCount": 12, "cachedContentTokenCount": 2,
            "promptTokensDetails": [{"modality": "AUDIO", "tokenCount": 5}],
            "responseTokensDetails": [{"modality": "AUDIO", "tokenCount": 7}, {"modality": "TEXT", "tokenCount": 1}]
        }}),
    );
    assert_eq!(
        serde_json::to_value(&evs[0]).expect("json"),
        json!({"type": "bidi_usage", "inputTokens": 5, "outputTokens": 7, "totalTokens": 12,
               "modality_details": [
                   {"modality": "audio", "input_tokens": 5, "output_tokens": 7},
                   {"modality": "text", "input_tokens": 0, "output_tokens": 1}],
               "cacheReadInputTokens": 2})
    );
}

#[test]
fn audio_and_usage_in_one_message_are_both_kept() {
    let mut d = decoder();
    let evs = events(
        &mut d,
        json!({
            "serverContent": {"modelTurn": {"parts": [{"inlineData": {"mimeType": "audio/pcm", "data": "AAAA"}}]}},
            "usageMetadata": {"promptTokenCount": 1}
        }),
    );
    assert_eq!(
        types(&evs),
        ["bidi_response_start", "bidi_audio_stream", "bidi_usage"]
    );
}

#[test]
fn go_away_and_its_timeout() {
    let mut d = decoder();
    assert_eq!(
        d.decode(r#"{"goAway":{"timeLeft":"50s"}}"#).expect("ok"),
        [ServerSignal::GoAway {
            time_left: Some("50s".into())
        }]
    );
    let t = crate::gemini::go_away::go_away_timeout(Some("50s"), Some("h1"));
    assert_eq!(t.restart_config["live_session_handle"], "h1");
    assert!(t.message.contains("50s"));
}

#[test]
fn malformed_messages() {
    let mut d = decoder();
    assert!(matches!(
        d.decode("{not json"),
        Err(ModelError::Protocol(_))
    ));
    assert!(matches!(d.decode("[1,2]"), Err(ModelError::Protocol(_))));
    // Inside a valid message, bad parts become error events and the rest goes on.
    let evs = events(
        &mut d,
        json!({"serverContent": {"modelTurn": {"parts": [
            {"inlineData": {"mimeType": "audio/pcm", "data": "%%%"}},
            {"inlineData": {"mimeType": "audio/pcm"}},
            {"text": "still here"}
        ]}}}),
    );
    assert_eq!(
        types(&evs),
        [
            "bidi_response_start",
            "bidi_error",
            "bidi_error",
            "bidi_transcript_stream"
        ]
    );
    let evs = events(
        &mut d,
        json!({"toolCall": {"functionCalls": [{"name": "no id"}]}}),
    );
    assert_eq!(types(&evs), ["bidi_error"]);
    assert!(events(&mut d, json!({"somethingNew": {}})).is_empty());
}

#[test]
fn thoughts_and_non_audio_inline_data_are_skipped() {
    let mut d = decoder();
    let evs = events(
        &mut d,
        json!({"serverContent": {"modelTurn": {"parts": [
            {"text": "thinking...", "thought": true},
            {"inlineData": {"mimeType": "image/png", "data": "iVBORw=="}}
        ]}}}),
    );
    assert!(evs.is_empty());
}
