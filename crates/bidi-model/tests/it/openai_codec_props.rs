//! Property tests: random and mutated server frames never make the OpenAI decoder panic;
//! every rejection is a typed [`DecodeError`], and every event it emits is valid.
#![cfg(feature = "openai")]

use std::time::Duration;

use bidi_model::openai::decode::{DecodeError, Decoder, Step};
use bidi_types::{BidiOutputEvent, ModelError};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Valid GA frames of every kind the decoder knows.
fn corpus() -> Vec<Value> {
    vec![
        json!({"type": "session.created", "session": {"id": "s"}}),
        json!({"type": "response.created", "response": {"id": "r1", "status": "in_progress"}}),
        json!({"type": "response.output_item.added", "response_id": "r1", "output_index": 0,
            "item": {"id": "i1", "type": "message", "role": "assistant"}}),
        json!({"type": "response.output_audio.delta", "response_id": "r1", "item_id": "i1",
            "output_index": 0, "content_index": 0, "delta": "AAABAAIAAwA="}),
        json!({"type": "response.output_audio_transcript.delta", "item_id": "i1", "delta": "Hel"}),
        json!({"type": "response.output_audio_transcript.done", "item_id": "i1", "transcript": "Hello"}),
        json!({"type": "response.output_text.delta", "delta": "x"}),
        json!({"type": "response.output_text.done", "text": "xy"}),
        json!({"type": "conversation.item.input_audio_transcription.delta", "item_id": "u", "delta": "wh"}),
        json!({"type": "conversation.item.input_audio_transcription.completed", "item_id": "u", "transcript": "what"}),
        json!({"type": "conversation.item.input_audio_transcription.segment", "segment": {"text": "seg"}}),
        json!({"type": "conversation.item.input_audio_transcription.failed", "error": {"message": "no"}}),
        json!({"type": "response.output_item.added", "item": {"type": "function_call", "call_id": "c1", "name": "calc"}}),
        json!({"type": "response.function_call_arguments.delta", "call_id": "c1", "delta": "{\"x\":"}),
        json!({"type": "response.function_call_arguments.done", "call_id": "c1", "name": "calc", "arguments": "{\"x\":1}"}),
        json!({"type": "input_audio_buffer.speech_started", "audio_start_ms": 10, "item_id": "u2"}),
        json!({"type": "response.cancelled", "response": {"id": "r1"}}),
        json!({"type": "response.done", "response": {"id": "r1", "status": "cancelled", "usage": {
            "input_tokens": 3, "output_tokens": 4, "total_tokens": 7,
            "input_token_details": {"text_tokens": 1, "audio_tokens": 2, "image_tokens": 1, "cached_tokens": 1},
            "output_token_details": {"text_tokens": 2, "audio_tokens": 2}}}}),
        json!({"type": "error", "error": {"type": "invalid_request_error", "code": "x", "message": "m"}}),
        json!({"type": "error", "error": {"code": "session_expired", "message": "60 minutes"}}),
    ]
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::String),
        "[A-Za-z0-9+/=%]{0,16}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// One mutation of a frame.
#[derive(Debug, Clone)]
enum Mutation {
    /// Remove the n-th key (of the top level or its first nested object).
    Drop(usize),
    /// Replace the n-th key's value.
    Replace(usize, Value),
    /// Cut the serialised text at a byte.
    Truncate(usize),
    /// Splice bytes into the text.
    Splice(usize, String),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Drop),
        (any::<usize>(), any_json()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), "\\PC{0,6}").prop_map(|(i, s)| Mutation::Splice(i, s)),
    ]
}

fn nth_key(obj: &Map<String, Value>, n: usize) -> Option<String> {
    if obj.is_empty() {
        return None;
    }
    obj.keys().nth(n % obj.len()).cloned()
}

fn apply(frame: &Value, m: &Mutation) -> String {
    let mut v = frame.clone();
    match m {
        Mutation::Drop(n) | Mutation::Replace(n, _) => {
            let Some(obj) = v.as_object_mut() else {
                return v.to_string();
            };
            // Odd picks go one level down when the key holds an object.
            let key = nth_key(obj, *n);
            let target = match key {
                Some(k) if n % 2 == 1 && obj.get(&k).is_some_and(Value::is_object) => {
                    obj.get_mut(&k).and_then(Value::as_object_mut)
                }
                _ => Some(obj),
            };
            if let Some(target) = target
                && let Some(k) = nth_key(target, n / 2)
            {
                match m {
                    Mutation::Replace(_, value) => {
                        target.insert(k, value.clone());
                    }
                    _ => {
                        target.remove(&k);
                    }
                }
            }
            v.to_string()
        }
        Mutation::Truncate(at) => {
            let text = v.to_string();
            let mut cut = at % (text.len() + 1);
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text[..cut].to_owned()
        }
        Mutation::Splice(at, piece) => {
            let mut text = v.to_string();
            let mut at = at % (text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            text.insert_str(at, piece);
            text
        }
    }
}

/// Decodes `frame`, checking the properties on the outcome.
fn check(decoder: &mut Decoder, frame: &str) -> Result<(), TestCaseError> {
    match decoder.decode(frame) {
        Ok(steps) => {
            for step in steps {
                if let Step::Emit(event) = step {
                    let json = event.to_json();
                    let back = BidiOutputEvent::from_json(&json);
                    prop_assert!(back.is_ok(), "emitted an invalid event {json}: {back:?}");
                }
            }
        }
        Err(e) => {
            // Typed, and it becomes a protocol error event.
            let _: &DecodeError = &e;
            let model: ModelError = e.into();
            let event = model.to_event();
            prop_assert_eq!(event.code(), "ModelProtocolError");
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_text_never_panics(frame in "\\PC{0,64}") {
        let mut d = Decoder::new(Duration::ZERO);
        check(&mut d, &frame)?;
    }

    #[test]
    fn random_json_never_panics(value in any_json(), kind in prop::sample::select(
        corpus().iter().filter_map(|v| v["type"].as_str().map(str::to_owned)).collect::<Vec<_>>()
    )) {
        let mut d = Decoder::new(Duration::ZERO);
        check(&mut d, &value.to_string())?;
        // The same value under a known type.
        let mut obj = match value { Value::Object(o) => o, other => {
            let mut o = Map::new();
            o.insert("payload".into(), other);
            o
        }};
        obj.insert("type".into(), Value::String(kind));
        check(&mut d, &Value::Object(obj).to_string())?;
    }

    #[test]
    fn mutated_sessions_never_panic(edits in prop::collection::vec((any::<prop::sample::Index>(), mutation()), 1..40)) {
        // One decoder through a whole mutated session: the state machine must survive.
        let corpus = corpus();
        let mut d = Decoder::new(Duration::from_millis(5));
        for (pick, m) in &edits {
            let frame = &corpus[pick.index(corpus.len())];
            check(&mut d, &apply(frame, m))?;
            check(&mut d, &frame.to_string())?;
        }
    }
}

#[test]
fn the_corpus_decodes_cleanly() {
    let mut d = Decoder::new(Duration::ZERO);
    for frame in corpus() {
        d.decode(&frame.to_string())
            .unwrap_or_else(|e| panic!("{frame} failed: {e}"));
    }
}
