//! Bad input from a client gives a typed error naming the key and the value, never a panic.

use bidi_types::{BidiInputEvent, TypesError};
use serde_json::{Value, json};

fn audio(overrides: Value) -> Value {
    let mut base = json!({"type": "bidi_audio_input", "audio": "AQD/fw==", "format": "pcm", "sample_rate": 16000, "channels": 1});
    for (k, v) in overrides.as_object().expect("object") {
        if v.is_null() {
            base.as_object_mut().expect("object").remove(k);
        } else {
            base[k] = v.clone();
        }
    }
    base
}

fn err(v: Value) -> TypesError {
    BidiInputEvent::from_json(&v).expect_err("must be rejected")
}

#[test]
fn valid_inputs_parse() {
    for v in [
        json!({"type": "bidi_text_input", "text": "hi", "role": "user"}),
        json!({"type": "bidi_text_input", "text": "hi"}),
        json!({"type": "bidi_text_input", "text": "hi", "role": "assistant"}),
        audio(json!({})),
        audio(json!({"sample_rate": 24000, "channels": 2, "format": "opus"})),
        audio(json!({"sample_rate": 48000, "format": "wav", "audio": ""})),
        audio(json!({"format": "mp3"})),
        audio(json!({"format": "pcmu", "sample_rate": 8000})),
        json!({"type": "bidi_image_input", "image": "iVBORw==", "mime_type": "image/png"}),
    ] {
        assert!(BidiInputEvent::from_json(&v).is_ok(), "{v}");
    }
}

#[test]
fn telephone_audio_round_trips_and_knows_its_length() {
    // 160 bytes of μ-law at 8 kHz: 20 ms, one byte a sample (PCM would be 10 ms).
    let payload = "/".repeat(213) + "w==";
    let v = audio(json!({"format": "pcmu", "sample_rate": 8000, "audio": payload}));
    let Ok(BidiInputEvent::Audio(event)) = BidiInputEvent::from_json(&v) else {
        panic!("pcmu at 8 kHz parses");
    };
    assert_eq!(event.audio_bytes().expect("bytes").len(), 160);
    assert_eq!(event.duration(), std::time::Duration::from_millis(20));
    assert_eq!(serde_json::to_value(&event).expect("json"), v);
}

#[test]
fn text_role_defaults_to_user() {
    match BidiInputEvent::from_json(&json!({"type": "bidi_text_input", "text": "hi"})) {
        Ok(BidiInputEvent::Text(t)) => assert_eq!(t.role(), bidi_types::Role::User),
        other => panic!("{other:?}"),
    }
}

#[test]
fn unknown_type_is_named() {
    let e = err(json!({"type": "bidirectional_text_input", "text": "hi"}));
    assert!(
        matches!(&e, TypesError::UnknownType { type_name } if type_name == "bidirectional_text_input")
    );
    assert_eq!(
        e.to_string(),
        "input_type=<bidirectional_text_input> | input type not supported"
    );
}

#[test]
fn missing_or_non_string_type() {
    assert!(matches!(
        err(json!({"text": "hi"})),
        TypesError::MissingType
    ));
    assert!(matches!(err(json!({"type": 3})), TypesError::MissingType));
    assert!(matches!(
        err(json!(["bidi_text_input"])),
        TypesError::NotAnObject { found: "array" }
    ));
    assert!(matches!(
        err(json!("hello")),
        TypesError::NotAnObject { found: "string" }
    ));
}

#[test]
fn missing_field_is_named() {
    let e = err(json!({"type": "bidi_text_input"}));
    assert!(
        matches!(
            e,
            TypesError::MissingField {
                event: "bidi_text_input",
                field: "text"
            }
        ),
        "{e}"
    );
    let e = err(audio(json!({"channels": null})));
    assert!(
        matches!(
            e,
            TypesError::MissingField {
                event: "bidi_audio_input",
                field: "channels"
            }
        ),
        "{e}"
    );
    let e = err(json!({"type": "bidi_image_input", "image": "iVBORw=="}));
    assert!(
        matches!(
            e,
            TypesError::MissingField {
                field: "mime_type",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn unknown_field_is_named() {
    let e = err(json!({"type": "bidi_text_input", "text": "hi", "colour": "red"}));
    assert!(
        matches!(&e, TypesError::UnknownField { field, .. } if field == "colour"),
        "{e}"
    );
}

#[test]
fn wrong_types_name_field_and_value() {
    let e = err(json!({"type": "bidi_text_input", "text": 42}));
    assert!(
        matches!(&e, TypesError::WrongType { field: "text", value, .. } if value == "42"),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "event=<bidi_text_input>, field=<text>, value=<42> | expected a string"
    );
    let e = err(audio(json!({"sample_rate": "16000"})));
    assert!(
        matches!(&e, TypesError::WrongType { field: "sample_rate", value, .. } if value == "\"16000\""),
        "{e}"
    );
    let e = err(audio(json!({"channels": -1})));
    assert!(
        matches!(
            e,
            TypesError::WrongType {
                field: "channels",
                ..
            }
        ),
        "{e}"
    );
    let e = err(audio(json!({"sample_rate": 16000.5})));
    assert!(
        matches!(
            e,
            TypesError::WrongType {
                field: "sample_rate",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn long_values_are_cut_in_messages() {
    let long = "x".repeat(1000);
    let e = err(json!({"type": "bidi_text_input", "text": [long]}));
    assert!(e.to_string().len() < 200, "{e}");
}

#[test]
fn sample_rates_outside_the_four_are_rejected() {
    for rate in [0u64, 11025, 22050, 44100, 96000, u64::MAX] {
        let e = err(audio(json!({"sample_rate": rate})));
        assert!(
            matches!(e, TypesError::UnsupportedSampleRate { field: "sample_rate", value } if value == rate),
            "{rate}: {e}"
        );
    }
}

#[test]
fn channels_outside_one_and_two_are_rejected() {
    for ch in [0u64, 3, 6] {
        let e = err(audio(json!({"channels": ch})));
        assert!(
            matches!(e, TypesError::UnsupportedChannels { field: "channels", value } if value == ch),
            "{e}"
        );
    }
}

#[test]
fn formats_outside_the_five_are_rejected() {
    for f in ["flac", "PCM", "test-format", ""] {
        let e = err(audio(json!({"format": f})));
        assert!(
            matches!(&e, TypesError::UnsupportedFormat { field: "format", value } if value == f),
            "{e}"
        );
    }
}

#[test]
fn bad_roles_are_rejected() {
    let e = err(json!({"type": "bidi_text_input", "text": "hi", "role": "system"}));
    assert!(
        matches!(&e, TypesError::UnsupportedRole { field: "role", value } if value == "system"),
        "{e}"
    );
}

#[test]
fn invalid_base64_is_rejected_without_echoing_the_payload() {
    for bad in ["%%%%", "AQD/fw=", "AQD", "AQ==AQ==", "AQD/fw==\n"] {
        let e = err(audio(json!({"audio": bad})));
        assert!(
            matches!(e, TypesError::InvalidBase64 { field: "audio", .. }),
            "{bad:?}: {e}"
        );
        assert!(
            !e.to_string().contains(bad.trim_end()) || bad.len() < 4,
            "{e}"
        );
    }
    let e =
        err(json!({"type": "bidi_image_input", "image": "not base64!", "mime_type": "image/png"}));
    assert!(
        matches!(e, TypesError::InvalidBase64 { field: "image", .. }),
        "{e}"
    );
}

#[test]
fn large_valid_audio_is_accepted_and_large_invalid_rejected() {
    use base64::Engine as _;
    let pcm: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&pcm);
    let ok = BidiInputEvent::from_json(&audio(json!({"audio": b64.clone()}))).expect("valid");
    match ok {
        BidiInputEvent::Audio(a) => assert_eq!(a.audio_bytes().expect("decode"), pcm),
        other => panic!("{other:?}"),
    }
    let mut bad = b64;
    bad.replace_range(50_000..50_001, "*");
    let e = err(audio(json!({"audio": bad})));
    assert!(matches!(e, TypesError::InvalidBase64 { .. }), "{e}");
}

#[test]
fn invalid_json_text_is_a_typed_error() {
    let e = BidiInputEvent::from_json_str("{not json").expect_err("rejected");
    assert!(matches!(e, TypesError::Json(_)), "{e}");
}

#[test]
fn serde_deserialize_reports_the_same_message() {
    let e = serde_json::from_value::<BidiInputEvent>(audio(json!({"sample_rate": 11025})))
        .expect_err("rejected");
    assert!(e.to_string().contains("sample_rate=<11025>"), "{e}");
    let e = serde_json::from_value::<bidi_types::BidiTextInputEvent>(audio(json!({})))
        .expect_err("wrong event");
    assert!(e.to_string().contains("expected bidi_text_input"), "{e}");
}

/// `from_json_str` reads a well-formed audio frame on a fast path: whatever the frame, it
/// gives what the general path (`from_json` on the parsed value) gives, errors included.
#[test]
fn audio_frames_parse_as_the_general_path_does() {
    let frames = [
        r#"{"type":"bidi_audio_input","audio":"AAABAA==","format":"pcm","sample_rate":16000,"channels":1}"#,
        r#"{"channels":2,"sample_rate":24000,"format":"pcm","audio":"AAABAAIAAwA=","type":"bidi_audio_input"}"#,
        // An escaped slash: the audio is not borrowed from the text.
        r#"{"type":"bidi_audio_input","audio":"AA\/A","format":"pcm","sample_rate":16000,"channels":1}"#,
        r#"{"type":"bidi_audio_input","audio":"not base64!","format":"pcm","sample_rate":16000,"channels":1}"#,
        r#"{"type":"bidi_audio_input","audio":"AAAA","format":"pcm","sample_rate":44100,"channels":1}"#,
        r#"{"type":"bidi_audio_input","audio":"AAAA","format":"pcm","sample_rate":16000.0,"channels":1}"#,
        r#"{"type":"bidi_audio_input","audio":"AAAA","format":"mp3","sample_rate":16000,"channels":1}"#,
        r#"{"type":"bidi_audio_input","audio":"AAAA","format":"pcm","sample_rate":16000,"channels":3}"#,
        r#"{"type":"bidi_audio_input","audio":"AAAA","format":"pcm","sample_rate":16000,"channels":1,"x":1}"#,
        r#"{"type":"bidi_audio_input","audio":"AAAA","format":"pcm","sample_rate":16000}"#,
        r#"{"type":"bidi_text_input","text":"hi"}"#,
        r#"{"type":"bidi_audio_input","audio":"AAAA","format":"pcm","sample_rate":16000,"channels":1"#,
    ];
    for text in frames {
        let fast = BidiInputEvent::from_json_str(text).map_err(|e| e.to_string());
        let general = serde_json::from_str::<serde_json::Value>(text)
            .map_err(|e| TypesError::from(e).to_string())
            .and_then(|v| BidiInputEvent::from_json(&v).map_err(|e| e.to_string()));
        assert_eq!(fast, general, "{text}");
    }
}
