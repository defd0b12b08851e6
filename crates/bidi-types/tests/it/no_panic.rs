//! Property tests: no JSON, however random or mutated, makes the parsers panic, and every
//! rejection is a typed error.

use bidi_types::{BidiAgentEvent, BidiInputEvent, BidiOutputEvent};
use proptest::prelude::*;
use serde_json::{Value, json};

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        prop_oneof![
            Just("pcm".to_owned()),
            Just("user".to_owned()),
            Just("AQD/fw==".to_owned()),
            ".{0,12}"
        ]
        .prop_map(Value::String),
        prop_oneof![
            Just(16000),
            Just(24000),
            Just(48000),
            Just(1),
            Just(2),
            0u64..100_000
        ]
        .prop_map(|n| json!(n)),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("type".to_owned()),
                    Just("text".to_owned()),
                    Just("audio".to_owned()),
                    Just("sample_rate".to_owned()),
                    Just("channels".to_owned()),
                    Just("format".to_owned()),
                    "[a-z_]{1,8}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const TYPES: [&str; 17] = [
    "bidi_text_input",
    "bidi_audio_input",
    "bidi_image_input",
    "bidi_connection_start",
    "bidi_connection_restart",
    "bidi_response_start",
    "bidi_audio_stream",
    "bidi_transcript_stream",
    "bidi_interruption",
    "bidi_response_complete",
    "bidi_usage",
    "bidi_connection_close",
    "bidi_error",
    "tool_use_stream",
    "bidi_tool_cancellation",
    "tool_result",
    "tool_stream",
];

proptest! {
    #[test]
    fn random_json_never_panics(v in arb_json()) {
        let _ = BidiInputEvent::from_json(&v);
        let _ = BidiOutputEvent::from_json(&v);
        let _ = BidiAgentEvent::from_json(&v);
    }

    #[test]
    fn random_fields_under_a_real_type_never_panic(i in 0..TYPES.len(), v in arb_json()) {
        let mut obj = match v { Value::Object(m) => m, other => {
            let mut m = serde_json::Map::new(); m.insert("x".into(), other); m } };
        obj.insert("type".into(), json!(TYPES[i]));
        let v = Value::Object(obj);
        if let Ok(e) = BidiInputEvent::from_json(&v) {
            // Whatever parses re-serialises and parses again to the same event.
            prop_assert_eq!(BidiInputEvent::from_json(&e.to_json()).ok(), Some(e));
        }
        if let Ok(e) = BidiAgentEvent::from_json(&v) {
            prop_assert_eq!(BidiAgentEvent::from_json(&e.to_json()).ok(), Some(e));
        }
    }

    #[test]
    fn random_text_never_panics(s in ".{0,64}") {
        let _ = BidiInputEvent::from_json_str(&s);
        let _ = BidiAgentEvent::from_json_str(&s);
    }
}
