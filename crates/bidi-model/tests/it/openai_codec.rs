//! The OpenAI Realtime codec on hand-written frames: decoding (usage, function calls,
//! barge-in), encoding refusals and session settings, config checks.
#![cfg(feature = "openai")]

use std::time::Duration;

use bidi_model::openai::decode::{DecodeError, Decoder, Step};
use bidi_types::{AudioFormat, BidiAudioStreamEvent, Channels, SampleRate};
use serde_json::{Value, json};

fn events(steps: Vec<Step>) -> Vec<Value> {
    steps
        .into_iter()
        .filter_map(|s| match s {
            Step::Emit(e) => Some(e.to_json()),
            _ => None,
        })
        .collect()
}

#[test]
fn usage_matches_the_reference_capture() {
    let mut d = Decoder::new(Duration::ZERO);
    let frame = json!({"type": "response.done", "response": {"id": "r", "status": "completed", "usage": {
        "input_tokens": 10, "output_tokens": 20, "total_tokens": 30,
        "input_token_details": {"text_tokens": 4, "audio_tokens": 6, "cached_tokens": 2},
        "output_token_details": {"text_tokens": 5, "audio_tokens": 15}}}});
    let out = events(d.decode(&frame.to_string()).expect("decodes"));
    assert_eq!(out[0]["stop_reason"], "complete");
    assert_eq!(
        out[1],
        json!({"type":"bidi_usage","inputTokens":10,"outputTokens":20,"totalTokens":30,
            "modality_details":[{"modality":"text","input_tokens":4,"output_tokens":5},
                                {"modality":"audio","input_tokens":6,"output_tokens":15}],
            "cacheReadInputTokens":2})
    );
}

#[test]
fn response_status_maps_to_stop_reason() {
    let mut d = Decoder::new(Duration::ZERO);
    for (status, stop) in [
        ("completed", "complete"),
        ("cancelled", "interrupted"),
        ("incomplete", "interrupted"),
        ("failed", "error"),
        ("other", "complete"),
    ] {
        let frame = json!({"type": "response.done", "response": {"id": "r", "status": status}});
        let out = events(d.decode(&frame.to_string()).expect("decodes"));
        assert_eq!(out.len(), 1, "no usage without usage");
        assert_eq!(out[0]["stop_reason"], stop, "status {status}");
    }
}

#[test]
fn function_call_takes_name_from_item_and_arguments_from_done() {
    let mut d = Decoder::new(Duration::ZERO);
    d.decode(r#"{"type":"response.output_item.added","item":{"type":"function_call","call_id":"c1","name":"calc"}}"#)
        .expect("decodes");
    d.decode(
        r#"{"type":"response.function_call_arguments.delta","call_id":"c1","delta":"{\"x\":"}"#,
    )
    .expect("decodes");
    let out = events(
        d.decode(r#"{"type":"response.function_call_arguments.done","call_id":"c1","arguments":"{\"x\":2}"}"#)
            .expect("decodes"),
    );
    assert_eq!(
        out[0]["current_tool_use"],
        json!({"toolUseId":"c1","name":"calc","input":{"x":2}})
    );
    // A call never announced still decodes when done names it.
    let out = events(
        d.decode(r#"{"type":"response.function_call_arguments.done","call_id":"c2","name":"t","arguments":""}"#)
            .expect("decodes"),
    );
    assert_eq!(out[0]["current_tool_use"]["input"], json!({}));
    let err = d
        .decode(
            r#"{"type":"response.function_call_arguments.done","call_id":"c3","arguments":"{}"}"#,
        )
        .expect_err("no name");
    assert!(matches!(err, DecodeError::UnnamedCall { .. }));
    let err = d
        .decode(r#"{"type":"response.function_call_arguments.done","call_id":"c4","name":"t","arguments":"{oops"}"#)
        .expect_err("bad JSON");
    assert!(matches!(err, DecodeError::BadArguments { .. }));
}

#[test]
fn transcripts_and_errors() {
    let mut d = Decoder::new(Duration::ZERO);
    let out = events(
        d.decode(r#"{"type":"conversation.item.input_audio_transcription.completed","transcript":"hi there"}"#)
            .expect("decodes"),
    );
    assert_eq!(out[0]["role"], "user");
    assert_eq!(out[0]["is_final"], true);
    assert_eq!(out[0]["current_transcript"], "hi there");
    // Blank user text is dropped.
    let steps = d
        .decode(r#"{"type":"conversation.item.input_audio_transcription.delta","delta":"  "}"#)
        .expect("decodes");
    assert!(steps.is_empty());
    let out = events(
        d.decode(r#"{"type":"error","error":{"type":"invalid_request_error","code":"bad_thing","message":"no"}}"#)
            .expect("decodes"),
    );
    assert_eq!(out[0]["type"], "bidi_error");
    assert_eq!(out[0]["details"]["provider_code"], "bad_thing");
    let steps = d
        .decode(r#"{"type":"error","error":{"code":"response_cancel_not_active","message":"x"}}"#)
        .expect("decodes");
    assert!(steps.is_empty());
    let steps = d
        .decode(r#"{"type":"error","error":{"code":"session_expired","message":"60 minutes"}}"#)
        .expect("decodes");
    assert!(matches!(&steps[0], Step::SessionExpired(_)));
    assert!(matches!(
        d.decode("[1]"),
        Err(DecodeError::NotAnObject("array"))
    ));
    assert!(matches!(
        d.decode(r#"{"a":1}"#),
        Err(DecodeError::MissingType)
    ));
    assert!(matches!(
        d.decode(r#"{"type":"response.output_audio.delta","delta":"%%%"}"#),
        Err(DecodeError::BadAudio { .. })
    ));
    assert!(
        d.decode(r#"{"type":"response.audio.delta","delta":"AAAA"}"#)
            .expect("beta names are ignored")
            .is_empty()
    );
}

#[test]
fn speech_started_reports_the_item_being_played_once() {
    let mut d = Decoder::new(Duration::from_millis(100));
    d.decode(r#"{"type":"response.created","response":{"id":"r1"}}"#)
        .expect("decodes");
    // 960 bytes = 20 ms at 24 kHz.
    let pcm = BidiAudioStreamEvent::from_bytes(
        &[0; 960],
        AudioFormat::Pcm,
        SampleRate::Hz24000,
        Channels::Mono,
    );
    let audio = json!({"type":"response.output_audio.delta","item_id":"i1","content_index":0,
        "delta": pcm.audio()});
    let steps = d.decode(&audio.to_string()).expect("decodes");
    assert!(matches!(&steps[0], Step::AudioItemStarted { item_id } if item_id == "i1"));
    d.decode(&audio.to_string()).expect("decodes");
    let steps = d
        .decode(r#"{"type":"input_audio_buffer.speech_started"}"#)
        .expect("decodes");
    assert_eq!(events(steps.clone())[0]["type"], "bidi_interruption");
    match &steps[1] {
        Step::BargeIn {
            active_response,
            item: Some(item),
            emitted_total,
        } => {
            assert_eq!(active_response.as_deref(), Some("r1"));
            assert_eq!(item.received, Duration::from_millis(40));
            assert_eq!(*emitted_total, Duration::from_millis(140));
        }
        other => panic!("unexpected {other:?}"),
    }
    // Late audio of the interrupted item is passed on but not tracked again.
    let steps = d.decode(&audio.to_string()).expect("decodes");
    assert_eq!(steps.len(), 1);
    let steps = d
        .decode(r#"{"type":"input_audio_buffer.speech_started"}"#)
        .expect("decodes");
    assert!(matches!(&steps[1], Step::BargeIn { item: None, .. }));
}

#[test]
fn encoder_refuses_what_the_service_cannot_take() {
    use bidi_model::openai::{OpenAiRealtimeConfig, encode};
    use bidi_types::{ImageBlock, Message, ModelError, ToolResult, ToolResultContent};

    let image: ImageBlock =
        serde_json::from_value(json!({"format": "png", "source": {"bytes": "AAAA"}}))
            .expect("image block");
    let mut result = ToolResult::text("call_1", "ok");
    result.content.push(ToolResultContent::Image(image));
    let err = encode::tool_result(&result).expect_err("image in a tool result");
    assert!(matches!(err, ModelError::Unsupported { .. }), "{err}");
    assert!(err.to_string().contains("image"), "{err}");
    let err = encode::history(&[Message::tool_result(result)]).expect_err("also in history");
    assert!(matches!(err, ModelError::Unsupported { .. }));

    // An empty result is the JSON of an empty array, as the reference sends it.
    let mut empty = ToolResult::text("call_2", "");
    empty.content.clear();
    let item = encode::tool_result(&empty).expect("encodes");
    assert_eq!(item["item"]["output"], "[]");

    // Turn detection off is an explicit null; transcription off is absent; unknown
    // inference keys are dropped.
    let config = OpenAiRealtimeConfig::new()
        .turn_detection(None)
        .transcription(None)
        .inference("temperature", json!(0.2))
        .inference("tool_choice", json!("auto"));
    let session = &encode::session_update(&config, None, &[])["session"];
    assert_eq!(session["audio"]["input"]["turn_detection"], Value::Null);
    assert!(session["audio"]["input"].get("transcription").is_none());
    assert!(session.get("temperature").is_none());
    assert_eq!(session["tool_choice"], "auto");
    assert!(
        session["instructions"]
            .as_str()
            .is_some_and(|s| s.starts_with("You are a helpful assistant"))
    );
}

#[test]
fn config_checks_its_settings() {
    use bidi_model::openai::OpenAiRealtimeConfig;
    use bidi_types::{AudioConfig, SampleRate};

    let env = |k: &str| (k == "OPENAI_API_KEY").then(|| "sk-env".to_owned());
    let too_long = OpenAiRealtimeConfig::new()
        .session_timeout(Duration::from_secs(3001))
        .resolve(env)
        .expect_err("above 50 minutes");
    assert!(
        too_long.to_string().contains("session_timeout"),
        "{too_long}"
    );
    let mut wrong_rate = OpenAiRealtimeConfig::new();
    wrong_rate.audio = AudioConfig::new(SampleRate::Hz16000, SampleRate::Hz24000);
    let err = wrong_rate.resolve(env).expect_err("16 kHz");
    assert!(err.to_string().contains("input_rate=<16000>"), "{err}");
    // μ-law only at 8 kHz, PCM only at 24 kHz.
    let phone = OpenAiRealtimeConfig::new()
        .mulaw()
        .resolve(env)
        .expect("pcmu");
    assert_eq!(
        phone.audio,
        AudioConfig::mulaw().with_voice(phone.voice.clone())
    );
    let mut mixed = OpenAiRealtimeConfig::new().mulaw();
    mixed.audio.output_rate = SampleRate::Hz24000;
    let err = mixed.resolve(env).expect_err("pcmu at 24 kHz");
    assert!(err.to_string().contains("format=<pcmu>"), "{err}");
    let mut narrow = OpenAiRealtimeConfig::new();
    narrow.audio = AudioConfig::new(SampleRate::Hz8000, SampleRate::Hz8000);
    let err = narrow.resolve(env).expect_err("PCM at 8 kHz");
    assert!(err.to_string().contains("format=<pcm>"), "{err}");
    let err = OpenAiRealtimeConfig::new()
        .endpoint("https://api.openai.com/v1/realtime?key=secret")
        .resolve(env)
        .expect_err("not a WebSocket URL");
    assert!(!err.to_string().contains("secret"), "{err}");
    let ok = OpenAiRealtimeConfig::new()
        .organization("org-explicit")
        .resolve(|k| match k {
            "OPENAI_API_KEY" => Some("sk-env".into()),
            "OPENAI_ORGANIZATION" => Some("org-env".into()),
            "OPENAI_PROJECT" => Some("proj-env".into()),
            _ => None,
        })
        .expect("valid");
    assert_eq!(
        ok.organization.as_deref(),
        Some("org-explicit"),
        "config wins over env"
    );
    assert_eq!(ok.project.as_deref(), Some("proj-env"));
    assert_eq!(ok.audio.voice.as_deref(), Some("alloy"));
    assert!(!format!("{ok:?}").contains("sk-env"), "the key never shows");
}
