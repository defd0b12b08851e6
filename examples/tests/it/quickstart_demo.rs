//! The offline demo answers what was asked: the quickstart as a process, questions piped on
//! stdin, against the in-process simulator. The time question's place and the arithmetic
//! come from the question's words, for each provider's protocol.

use crate::support;

use serde_json::Value;
use support::{assert_ok, events, finals, of_type, quickstart};

/// The `current_time` calls' `timezone` inputs and their results, in order.
fn time_calls(events: &[Value]) -> (Vec<String>, Vec<String>) {
    let inputs = of_type(events, "tool_use_stream")
        .into_iter()
        .filter(|e| e["current_tool_use"]["name"] == "current_time")
        .filter_map(|e| e["current_tool_use"]["input"]["timezone"].as_str())
        .map(str::to_owned)
        .collect::<Vec<_>>();
    let results = of_type(events, "tool_result")
        .into_iter()
        .filter_map(|r| r["tool_result"]["content"][0]["text"].as_str())
        .filter(|t| t.contains(" in "))
        .map(str::to_owned)
        .collect();
    let mut unique = inputs;
    unique.dedup();
    (unique, results)
}

#[test]
fn time_questions_are_answered_for_the_place_asked_in_every_protocol() {
    let questions = "What time is it in Paris?\nWhat's the time in Buenos Aires?\nAnd what time is it in Nairobi, Kenya?\n";
    for protocol in ["openai", "gemini", "nova-sonic"] {
        let output = quickstart(
            &["--provider", "sim", "--sim-protocol", protocol, "--json"],
            questions,
        );
        assert_ok(&output);
        let events = events(&output);
        let (zones, results) = time_calls(&events);
        assert_eq!(
            zones,
            [
                "Europe/Paris",
                "America/Argentina/Buenos_Aires",
                "Africa/Nairobi"
            ],
            "{protocol}"
        );
        let answers = finals(&events, "assistant");
        for (place, zone) in [
            ("Paris", "Europe/Paris"),
            ("Buenos Aires", "America/Argentina/Buenos_Aires"),
            ("Nairobi", "Africa/Nairobi"),
        ] {
            let result = results
                .iter()
                .find(|r| r.ends_with(&format!("in {zone}")) || r.ends_with(zone))
                .unwrap_or_else(|| panic!("{protocol}: no result for {zone}: {results:?}"));
            assert!(
                answers.contains(&format!("In {place} it is {result}.")),
                "{protocol}: {answers:?}"
            );
        }
        assert!(
            !answers.iter().any(|a| a.contains("Tokyo")),
            "{protocol}: {answers:?}"
        );
    }
}

#[test]
fn weather_arithmetic_and_questions_it_cannot_answer() {
    let output = quickstart(
        &["--provider", "sim", "--json"],
        "What's the weather like in Lima?\nWhat is 6 times 9?\nSing me a song\n",
    );
    assert_ok(&output);
    let events = events(&output);
    let answers = finals(&events, "assistant");
    assert!(
        answers
            .iter()
            .any(|a| a.contains("weather in Lima") && a.contains("no weather service")),
        "{answers:?}"
    );
    let calc = of_type(&events, "tool_use_stream")
        .into_iter()
        .find(|e| e["current_tool_use"]["name"] == "calculator")
        .expect("a calculator call");
    assert_eq!(calc["current_tool_use"]["input"]["expression"], "6 * 9");
    assert!(
        answers.contains(&"6 times 9 is 54.".to_owned()),
        "{answers:?}"
    );
    assert!(
        answers.iter().any(|a| a.contains("did not understand")),
        "{answers:?}"
    );
    // The weather and the song called no tool: one call, the calculator's.
    assert_eq!(of_type(&events, "tool_result").len(), 1, "{events:#?}");
}
