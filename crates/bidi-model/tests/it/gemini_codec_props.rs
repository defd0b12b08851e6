//! Property tests of the Gemini Live codec: random and mutated server messages never make
//! the decoder panic, and every rejection is a typed error.
#![cfg(feature = "gemini")]

use bidi_model::gemini::{Decoder, ServerSignal};
use bidi_types::{AudioConfig, ModelError, SampleRate};
use proptest::prelude::*;
use serde_json::{Value, json};

fn samples() -> Vec<Value> {
    vec![
        json!({"setupComplete": {}}),
        json!({"serverContent": {"modelTurn": {"parts": [{"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": "AAAAAA=="}}]}}}),
        json!({"serverContent": {"inputTranscription": {"text": "hi", "finished": true}}}),
        json!({"serverContent": {"outputTranscription": {"text": "hello"}, "turnComplete": true}}),
        json!({"serverContent": {"interrupted": true}}),
        json!({"toolCall": {"functionCalls": [{"id": "fc1", "name": "calc", "args": {"x": 1}}]}}),
        json!({"toolCallCancellation": {"ids": ["fc1"]}}),
        json!({"usageMetadata": {"promptTokenCount": 3, "promptTokensDetails": [{"modality": "AUDIO", "tokenCount": 3}]}}),
        json!({"sessionResumptionUpdate": {"newHandle": "h", "resumable": true}}),
        json!({"goAway": {"timeLeft": "50s"}}),
    ]
}

fn arb_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        ".{0,8}".prop_map(Value::String),
        Just(json!([])),
        Just(json!({})),
    ]
}

/// Replaces the value at a random path of `v` with `leaf`.
fn mutate(v: &mut Value, path: &[usize], leaf: Value) {
    match (v, path.split_first()) {
        (Value::Object(m), Some((i, rest))) if !m.is_empty() => {
            let key = m.keys().nth(i % m.len()).cloned().unwrap_or_default();
            if let Some(child) = m.get_mut(&key) {
                if rest.is_empty() {
                    *child = leaf
                } else {
                    mutate(child, rest, leaf)
                }
            }
        }
        (Value::Array(a), Some((i, rest))) if !a.is_empty() => {
            let n = a.len();
            let child = &mut a[i % n];
            if rest.is_empty() {
                *child = leaf
            } else {
                mutate(child, rest, leaf)
            }
        }
        (slot, _) => *slot = leaf,
    }
}

fn decoder() -> Decoder {
    Decoder::new(
        "c",
        AudioConfig::new(SampleRate::Hz16000, SampleRate::Hz24000),
    )
}

proptest! {
    #[test]
    fn mutated_messages_never_panic(
        seq in prop::collection::vec((0usize..10, prop::collection::vec(0usize..8, 1..5), arb_leaf()), 1..12)
    ) {
        let samples = samples();
        let mut d = decoder();
        for (i, path, leaf) in seq {
            let mut msg = samples[i].clone();
            mutate(&mut msg, &path, leaf);
            match d.decode(&msg.to_string()) {
                Ok(signals) => for s in signals {
                    if let ServerSignal::Event(e) = s {
                        // Every event we emit serialises.
                        prop_assert!(serde_json::to_string(&e).is_ok());
                    }
                },
                Err(e) => prop_assert!(matches!(e, ModelError::Protocol(_))),
            }
        }
    }

    #[test]
    fn random_text_never_panics(s in ".{0,200}") {
        match decoder().decode(&s) {
            Ok(_) => {}
            Err(e) => prop_assert!(matches!(e, ModelError::Protocol(_))),
        }
    }

    #[test]
    fn random_bytes_as_lossy_text_never_panic(b in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = decoder().decode(&String::from_utf8_lossy(&b));
    }
}
