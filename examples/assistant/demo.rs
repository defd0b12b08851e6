//! The demo: the scenario the in-process simulator plays when no provider is configured, and
//! the user lines the quickstart sends when there is nobody to type them.

use bidi_sim::{Action, Script, Trigger};
use serde_json::json;

/// What the demo user says when stdin gives nothing (CI, `</dev/null`).
pub const DEMO_LINES: &[&str] = &["What time is it in Tokyo?", "What is 12 times 7?"];

fn say(text: &str) -> Action {
    Action::Say {
        text: text.to_owned(),
        chunk: 0,
    }
}

fn speak(ms: u64) -> Action {
    Action::Speak { ms, frame_ms: 0 }
}

fn result_of(id: &str) -> Trigger {
    Trigger::ToolResult {
        tool_use_id: Some(id.to_owned()),
    }
}

/// The demo scenario. It answers what was asked, taking the question's place and
/// arithmetic from its words ([`bidi_sim::places`]):
///
/// - an arithmetic question ("What is 6 times 9?") calls `calculator` with it and says the
///   result;
/// - a time question naming a place ("What time is it in Paris?", any of a few hundred
///   cities and countries) calls `current_time` with its time zone and answers about that
///   place;
/// - a weather question naming a place says that the demo has no weather service, naming
///   the place;
/// - a second and more of speech the simulator cannot recognize is taken as the time
///   question for Tokyo;
/// - anything else: it did not understand, and what it can answer.
///
/// Each spoken answer is 400 ms of audio.
pub fn script() -> Script {
    script_speaking(400)
}

/// The demo scenario with `answer_ms` of audio in each spoken answer (`bidi-server` gives
/// its listeners answers long enough to interrupt).
pub fn script_speaking(answer_ms: u64) -> Script {
    let call = |id: &str, name: &str, input: serde_json::Value| Action::CallTool {
        id: id.to_owned(),
        name: name.to_owned(),
        input,
    };
    let any_text = || Trigger::Text {
        contains: String::new(),
    };
    Script::new()
        .always(
            any_text(),
            vec![call(
                "call-calc",
                "calculator",
                json!({"expression": "{expression}"}),
            )],
        )
        .always(
            result_of("call-calc"),
            vec![
                say("{spoken_expression} is {tool_result}."),
                speak(answer_ms),
                Action::EndTurn,
            ],
        )
        .always(
            Trigger::Text {
                contains: "weather".into(),
            },
            vec![
                say("This offline demo has no weather service, so I can't tell you the weather in {place}. I can tell you the time there: ask me what time it is in {place}."),
                speak(answer_ms),
                Action::EndTurn,
            ],
        )
        .always(
            Trigger::Text {
                contains: "time".into(),
            },
            vec![call(
                "call-time",
                "current_time",
                json!({"timezone": "{timezone}"}),
            )],
        )
        .always(
            result_of("call-time"),
            vec![say("In {place} it is {tool_result}."), speak(answer_ms), Action::EndTurn],
        )
        .on(
            Trigger::Audio { min_ms: 1500 },
            vec![
                Action::UserTranscript {
                    text: "What time is it in Tokyo?".into(),
                },
                call(
                    "call-time-spoken",
                    "current_time",
                    json!({"timezone": "Asia/Tokyo"}),
                ),
            ],
        )
        .always(
            result_of("call-time-spoken"),
            vec![
                say("In Tokyo it is {tool_result}."),
                speak(answer_ms),
                Action::EndTurn,
            ],
        )
        .always(
            any_text(),
            vec![
                say("Sorry, I did not understand that. This is the offline simulator: ask me what time it is in a city, such as Paris or Nairobi, or an arithmetic question, such as what 12 times 7 is."),
                speak(answer_ms),
                Action::EndTurn,
            ],
        )
}
