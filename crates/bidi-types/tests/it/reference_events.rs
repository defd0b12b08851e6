//! Every event dict produced by the Python original (tests/fixtures) parses into our types
//! and serialises back to the identical JSON, key for key and in the same order.

use bidi_types::{BidiAgentEvent, BidiInputEvent, BidiOutputEvent};
use serde_json::Value;

const FIXTURES: &str = include_str!("../fixtures/strands-1.40-events.json");

fn fixtures() -> Vec<(String, Value)> {
    let all: Vec<Value> = serde_json::from_str(FIXTURES).expect("fixture file is JSON");
    all.into_iter()
        .map(|f| {
            let class = f["class"].as_str().expect("class").to_owned();
            (class, f["json"].clone())
        })
        .collect()
}

/// The JSON text of `v` with keys in their order, for order-sensitive comparison.
fn ordered(v: &Value) -> String {
    serde_json::to_string(v).expect("serialise")
}

#[test]
fn every_reference_class_is_covered() {
    let classes: Vec<String> = fixtures().into_iter().map(|(c, _)| c).collect();
    assert_eq!(
        classes.len(),
        15,
        "one fixture per reference event class: {classes:?}"
    );
}

#[test]
fn every_reference_event_round_trips_identically() {
    for (class, json) in fixtures() {
        let is_input = class.ends_with("InputEvent");
        let back = if is_input {
            let e = BidiInputEvent::from_json(&json)
                .unwrap_or_else(|e| panic!("{class}: parse failed: {e}"));
            serde_json::to_string(&e).expect("serialise")
        } else {
            let e = BidiAgentEvent::from_json(&json)
                .unwrap_or_else(|e| panic!("{class}: parse failed: {e}"));
            serde_json::to_string(&e).expect("serialise")
        };
        assert_eq!(
            back,
            ordered(&json),
            "{class}: JSON differs after a round trip"
        );
    }
}

#[test]
fn model_events_parse_as_output_events_and_loop_events_do_not() {
    for (class, json) in fixtures() {
        if class.ends_with("InputEvent") {
            continue;
        }
        let loop_event = matches!(class.as_str(), "ToolResultEvent" | "ToolResultMessageEvent");
        let parsed = BidiOutputEvent::from_json(&json);
        assert_eq!(parsed.is_ok(), !loop_event, "{class}: {parsed:?}");
    }
}

#[test]
fn serde_entry_points_agree_with_from_json() {
    for (class, json) in fixtures() {
        let text = json.to_string();
        if class.ends_with("InputEvent") {
            let a: BidiInputEvent = serde_json::from_str(&text).expect("serde parse");
            assert_eq!(
                a,
                BidiInputEvent::from_json(&json).expect("parse"),
                "{class}"
            );
        } else {
            let a: BidiAgentEvent = serde_json::from_str(&text).expect("serde parse");
            assert_eq!(
                a,
                BidiAgentEvent::from_json(&json).expect("parse"),
                "{class}"
            );
        }
    }
}

#[test]
fn json_text_is_the_json_values_text() {
    for (class, json) in fixtures() {
        if class.ends_with("InputEvent") {
            continue;
        }
        let e = BidiAgentEvent::from_json(&json)
            .unwrap_or_else(|e| panic!("{class}: parse failed: {e}"));
        assert_eq!(e.to_json_string(), e.to_json().to_string(), "{class}");
        assert_eq!(e.to_json_string(), ordered(&json), "{class}");
    }
}
