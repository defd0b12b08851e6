//! Events: build, print and validate the JSON events a bidi agent exchanges.
//!
//! ```text
//! cargo run --example events                 # a short conversation, as the JSON lines a client sees
//! cargo run --example events -- FILE.json    # validate events from a file (a JSON array or one per line)
//! ```
//!
//! Input events are validated the way a WebSocket server built on bidi validates its
//! clients; every rejection names the key and the value. This example needs no network and
//! no credentials.

use std::process::ExitCode;

use bidi_agent::types::{
    AudioFormat, BidiAgentEvent, BidiAudioStreamEvent, BidiConnectionStartEvent, BidiInputEvent,
    BidiInterruptionEvent, BidiResponseCompleteEvent, BidiResponseStartEvent,
    BidiTranscriptStreamEvent, BidiUsageEvent, Channels, InterruptionReason, Message, Role,
    SampleRate, StopReason, ToolResult, ToolResultEvent, ToolResultMessageEvent, ToolUse,
    ToolUseStreamEvent,
};
use serde_json::{Value, json};

/// A short conversation with a tool call and a barge-in, as the agent would yield it.
fn demo_conversation() -> Vec<BidiAgentEvent> {
    let tool_use = ToolUse::new("t-1", "current_time", json!({"timezone": "UTC"}));
    let result = ToolResult::text("t-1", "12:00");
    let tone: Vec<u8> = (0..480i16)
        .flat_map(|i| (((f32::from(i) * 0.13).sin() * 8000.0) as i16).to_le_bytes())
        .collect();
    vec![
        BidiConnectionStartEvent::new("conn-1", "amazon.nova-2-sonic-v1:0").into(),
        BidiTranscriptStreamEvent::new("What time is it?", Role::User, true, None).into(),
        BidiResponseStartEvent::new("resp-1").into(),
        ToolUseStreamEvent::complete(tool_use).into(),
        ToolResultEvent::new(result.clone()).into(),
        ToolResultMessageEvent::new(Message::tool_result(result)).into(),
        BidiTranscriptStreamEvent::new("It is noon.", Role::Assistant, true, None).into(),
        BidiAudioStreamEvent::from_bytes(
            &tone,
            AudioFormat::Pcm,
            SampleRate::Hz24000,
            Channels::Mono,
        )
        .into(),
        BidiInterruptionEvent::new(InterruptionReason::UserSpeech).into(),
        BidiResponseCompleteEvent::new("resp-1", StopReason::Interrupted).into(),
        BidiUsageEvent::new(42, 17, 59).into(),
    ]
}

/// What a client might send, good and bad.
fn demo_inputs() -> Vec<Value> {
    vec![
        json!({"type": "bidi_text_input", "text": "What's the weather?", "role": "user"}),
        json!({"type": "bidi_audio_input", "audio": "AQD/fw==", "format": "pcm", "sample_rate": 16000, "channels": 1}),
        json!({"type": "bidi_audio_input", "audio": "AQD/fw==", "format": "pcm", "sample_rate": 44100, "channels": 1}),
        json!({"type": "bidi_audio_input", "audio": "%%%", "format": "pcm", "sample_rate": 16000, "channels": 1}),
        json!({"type": "bidi_image_input", "image": "iVBORw==", "mime_type": 7}),
        json!({"type": "bidi_video_input"}),
    ]
}

/// Validates one value as an input event, else as any agent event.
fn check(value: &Value) -> Result<String, String> {
    let is_input = value
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.ends_with("_input"));
    if is_input {
        BidiInputEvent::from_json(value)
            .map(|e| e.to_json().to_string())
            .map_err(|e| e.to_string())
    } else {
        BidiAgentEvent::from_json(value)
            .map(|e| e.to_json().to_string())
            .map_err(|e| e.to_string())
    }
}

fn read_values(path: &str) -> Result<Vec<Value>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("file=<{path}> | {e}"))?;
    if let Ok(Value::Array(items)) = serde_json::from_str::<Value>(&text) {
        return Ok(items);
    }
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| format!("file=<{path}>, line=<{}> | {e}", i + 1))
        })
        .collect()
}

fn main() -> ExitCode {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        println!("# what the agent yields (one JSON event per line):");
        for event in demo_conversation() {
            println!("{}", serde_json::to_string(&event).unwrap_or_default());
        }
        println!("\n# what clients send, validated:");
        for value in demo_inputs() {
            match check(&value) {
                Ok(json) => println!("ok       {json}"),
                Err(e) => println!("rejected {e}"),
            }
        }
        return ExitCode::SUCCESS;
    }
    let mut failed = 0usize;
    for path in &files {
        let values = match read_values(path) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        for value in values {
            // The reference's fixtures wrap each event as {"class", "json"}.
            let event = value.get("json").unwrap_or(&value);
            match check(event) {
                Ok(json) => println!("ok       {json}"),
                Err(e) => {
                    failed += 1;
                    println!("rejected {e}");
                }
            }
        }
    }
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
