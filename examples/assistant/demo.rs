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

fn speak() -> Action {
    Action::Speak {
        ms: 400,
        frame_ms: 0,
    }
}

fn result_of(id: &str) -> Trigger {
    Trigger::ToolResult {
        tool_use_id: Some(id.to_owned()),
    }
}

/// The demo scenario: the time question calls `current_time`, the arithmetic question calls
/// `calculator`, each answer is spoken after the tool's result came back, with the result in
/// it (`{tool_result}`); any other text gets
/// a hint, and a second and more of speech is taken as the time question (the simulator has
/// no speech recognition).
pub fn script() -> Script {
    let time_call = |id: &str| Action::CallTool {
        id: id.to_owned(),
        name: "current_time".to_owned(),
        input: json!({"timezone": "Asia/Tokyo"}),
    };
    Script::new()
        .on(
            Trigger::Text {
                contains: "times".into(),
            },
            vec![Action::CallTool {
                id: "call-calc".into(),
                name: "calculator".into(),
                input: json!({"expression": "12 * 7"}),
            }],
        )
        .on(
            result_of("call-calc"),
            vec![say("12 times 7 is {tool_result}."), speak(), Action::EndTurn],
        )
        .on(
            Trigger::Text {
                contains: "time".into(),
            },
            vec![time_call("call-time")],
        )
        .on(
            result_of("call-time"),
            vec![
                say("In Tokyo it is {tool_result}."),
                speak(),
                Action::EndTurn,
            ],
        )
        .on(
            Trigger::Audio { min_ms: 1500 },
            vec![
                Action::UserTranscript {
                    text: "What time is it in Tokyo?".into(),
                },
                time_call("call-time-spoken"),
            ],
        )
        .on(
            result_of("call-time-spoken"),
            vec![
                say("In Tokyo it is {tool_result}."),
                speak(),
                Action::EndTurn,
            ],
        )
        .always(
            Trigger::Text {
                contains: String::new(),
            },
            vec![
                say("This is the offline simulator: ask me what time it is in Tokyo, or what 12 times 7 is."),
                speak(),
                Action::EndTurn,
            ],
        )
}
