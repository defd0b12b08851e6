//! Our side to OpenAI's JSON: `session.update`, input, tool results, history replay,
//! `response.cancel` and `conversation.item.truncate`. Pure functions, no IO.

use std::collections::HashMap;

use bidi_types::{
    AudioFormat, BidiInputEvent, ContentBlock, Message, ModelError, Role, SampleRate, ToolResult,
    ToolResultContent, ToolSpec,
};
use serde_json::{Map, Value, json};

use super::config::{DEFAULT_INSTRUCTIONS, OpenAiRealtimeConfig, SUPPORTED_INFERENCE_KEYS};

const PROVIDER: &str = "OpenAI Realtime";
/// OpenAI's limit on `call_id` length.
pub const MAX_CALL_ID_CHARS: usize = 32;

/// The `session.update` event sent right after connecting: built fresh from `config` every
/// time (never from a shared, mutated default).
///
/// ```
/// use bidi_model::openai::{OpenAiRealtimeConfig, encode};
/// let e = encode::session_update(&OpenAiRealtimeConfig::new(), Some("Be brief"), &[]);
/// assert_eq!(e["type"], "session.update");
/// assert_eq!(e["session"]["instructions"], "Be brief");
/// assert_eq!(e["session"]["audio"]["output"]["format"], serde_json::json!({"type": "audio/pcm", "rate": 24000}));
/// ```
pub fn session_update(
    config: &OpenAiRealtimeConfig,
    system_prompt: Option<&str>,
    tools: &[ToolSpec],
) -> Value {
    let mut input = Map::new();
    input.insert(
        "format".into(),
        audio_format(config.audio.format, config.audio.input_rate),
    );
    if let Some(t) = &config.transcription {
        input.insert("transcription".into(), json!(t));
    }
    input.insert("turn_detection".into(), json!(config.turn_detection));
    let mut session = Map::new();
    session.insert("type".into(), json!("realtime"));
    let instructions = system_prompt
        .filter(|p| !p.is_empty())
        .unwrap_or(DEFAULT_INSTRUCTIONS);
    session.insert("instructions".into(), json!(instructions));
    session.insert("output_modalities".into(), json!(["audio"]));
    session.insert(
        "audio".into(),
        json!({
            "input": input,
            "output": {
                "format": audio_format(config.audio.format, config.audio.output_rate),
                "voice": config.voice,
            },
        }),
    );
    if !tools.is_empty() {
        session.insert(
            "tools".into(),
            Value::Array(tools.iter().map(tool).collect()),
        );
    }
    if let Some(effort) = config.reasoning_effort {
        session.insert("reasoning".into(), json!({"effort": effort.as_str()}));
    }
    for (key, value) in &config.inference {
        if SUPPORTED_INFERENCE_KEYS.contains(&key.as_str()) {
            session.insert(key.clone(), value.clone());
        } else {
            tracing::warn!("parameter=<{key}> | ignoring unsupported session parameter");
        }
    }
    json!({"type": "session.update", "session": session})
}

/// A tool spec as a Realtime function tool. A schema given as a JSON string is parsed.
fn tool(spec: &ToolSpec) -> Value {
    let schema = match &spec.input_schema.json {
        Value::String(s) => serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.clone())),
        other => other.clone(),
    };
    json!({
        "type": "function",
        "name": spec.name,
        "description": spec.description,
        "parameters": schema,
    })
}

/// The events that carry one input: text becomes a user message plus `response.create`,
/// audio an `input_audio_buffer.append` (base64 as given). Images are refused.
///
/// ```
/// use bidi_model::openai::encode;
/// let events = encode::input(&"What time?".into()).unwrap();
/// assert_eq!(events[0]["item"]["content"][0], serde_json::json!({"type": "input_text", "text": "What time?"}));
/// assert_eq!(events[1], serde_json::json!({"type": "response.create"}));
/// ```
pub fn input(event: &BidiInputEvent) -> Result<Vec<Value>, ModelError> {
    match event {
        BidiInputEvent::Text(t) => Ok(vec![
            json!({"type": "conversation.item.create", "item": {
                "type": "message", "role": "user",
                "content": [{"type": "input_text", "text": t.text()}],
            }}),
            json!({"type": "response.create"}),
        ]),
        BidiInputEvent::Audio(a) => Ok(vec![
            json!({"type": "input_audio_buffer.append", "audio": a.audio()}),
        ]),
        BidiInputEvent::Image(_) => Err(ModelError::Unsupported {
            content: "image".to_owned(),
            provider: PROVIDER,
        }),
        // A player's report is the agent's business: nothing goes on the wire.
        BidiInputEvent::Playback(_) => Ok(Vec::new()),
    }
}

/// `input_audio_buffer.append` as JSON text, written directly: the hot path of audio input
/// (no `Value` tree, one copy of the audio). `audio` is base64, which never needs JSON
/// escaping; anything else is escaped as JSON requires.
///
/// ```
/// use bidi_model::openai::encode;
/// let text = encode::audio_append("AAEC");
/// assert_eq!(text, r#"{"type":"input_audio_buffer.append","audio":"AAEC"}"#);
/// let v: serde_json::Value = serde_json::from_str(&encode::audio_append("a\"b")).unwrap();
/// assert_eq!(v["audio"], "a\"b");
/// ```
pub fn audio_append(audio: &str) -> String {
    const HEAD: &str = r#"{"type":"input_audio_buffer.append","audio":"#;
    let is_base64 = audio
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
    if !is_base64 {
        return json!({"type": "input_audio_buffer.append", "audio": audio}).to_string();
    }
    let mut text = String::with_capacity(HEAD.len() + audio.len() + 3);
    text.push_str(HEAD);
    text.push('"');
    text.push_str(audio);
    text.push_str("\"}");
    text
}

/// A tool's answer: a `function_call_output` item. The output is the JSON of the whole
/// content array; only text and JSON blocks are accepted. The `response.create` that asks
/// for the answer is sent once per response, after all its calls' outputs
/// ([`tool_turns`](super::tool_turns)).
///
/// ```
/// use bidi_types::ToolResult;
/// use bidi_model::openai::encode;
/// let item = encode::tool_result(&ToolResult::text("call_1", "42")).unwrap();
/// assert_eq!(item["item"]["output"], r#"[{"text":"42"}]"#);
/// ```
pub fn tool_result(result: &ToolResult) -> Result<Value, ModelError> {
    function_call_output(&result.tool_use_id, result)
}

/// `response.create`: ask the model to answer now.
pub fn response_create() -> Value {
    json!({"type": "response.create"})
}

fn function_call_output(call_id: &str, result: &ToolResult) -> Result<Value, ModelError> {
    Ok(json!({"type": "conversation.item.create", "item": {
        "type": "function_call_output",
        "call_id": call_id,
        "output": result_output(result)?,
    }}))
}

fn result_output(result: &ToolResult) -> Result<String, ModelError> {
    if let Some(bad) = result
        .content
        .iter()
        .find(|b| !matches!(b, ToolResultContent::Text(_) | ToolResultContent::Json(_)))
    {
        return Err(ModelError::Unsupported {
            content: format!("tool_use_id={}, {}", result.tool_use_id, bad.kind()),
            provider: PROVIDER,
        });
    }
    serde_json::to_string(&result.content)
        .map_err(|e| ModelError::Protocol(format!("tool result not serialisable: {e}")))
}

/// `call_id` for a tool use id: its first 32 characters.
///
/// ```
/// assert_eq!(bidi_model::openai::encode::call_id("call_0123456789012345678901234567890"), "call_012345678901234567890123456");
/// ```
pub fn call_id(tool_use_id: &str) -> &str {
    match tool_use_id.char_indices().nth(MAX_CALL_ID_CHARS) {
        Some((end, _)) => &tool_use_id[..end],
        None => tool_use_id,
    }
}

/// The `conversation.item.create` events that replay `messages` into a new session, as the
/// reference does: function calls go out as soon as they are met, results only when their
/// call is in the history (orphans are skipped), and each message's text parts follow as
/// one message item. Never a `response.create`.
///
/// ```
/// use bidi_types::{Message, Role, ToolResult};
/// use bidi_model::openai::encode;
/// let events = encode::history(&[
///     Message::text(Role::User, "hi"),
///     Message::tool_result(ToolResult::text("orphan", "x")),
/// ]).unwrap();
/// assert_eq!(events.len(), 1);
/// ```
pub fn history(messages: &[Message]) -> Result<Vec<Value>, ModelError> {
    let mut call_ids: HashMap<&str, &str> = HashMap::new();
    for message in messages {
        for block in &message.content {
            if let ContentBlock::ToolUse(u) = block {
                call_ids.insert(&u.tool_use_id, call_id(&u.tool_use_id));
            }
        }
    }
    let mut events = Vec::new();
    for message in messages {
        let mut parts = Vec::new();
        for block in &message.content {
            match block {
                ContentBlock::Text(text) => {
                    let kind = match message.role {
                        Role::User => "input_text",
                        Role::Assistant => "output_text",
                    };
                    parts.push(json!({"type": kind, "text": text}));
                }
                ContentBlock::ToolUse(u) => {
                    let arguments = serde_json::to_string(&u.input).map_err(|e| {
                        ModelError::Protocol(format!("tool input not serialisable: {e}"))
                    })?;
                    events.push(json!({"type": "conversation.item.create", "item": {
                        "type": "function_call",
                        "call_id": call_id(&u.tool_use_id),
                        "name": u.name,
                        "arguments": arguments,
                    }}));
                }
                ContentBlock::ToolResult(r) => {
                    let output = result_output(r)?;
                    let Some(id) = call_ids.get(r.tool_use_id.as_str()) else {
                        tracing::debug!(
                            "tool_use_id=<{}> | skipping tool result without its call",
                            r.tool_use_id
                        );
                        continue;
                    };
                    events.push(json!({"type": "conversation.item.create", "item": {
                        "type": "function_call_output",
                        "call_id": id,
                        "output": output,
                    }}));
                }
                ContentBlock::Image(_) | ContentBlock::Document(_) => {
                    tracing::debug!(
                        "role=<{}> | skipping non-text block in history",
                        message.role
                    );
                }
            }
        }
        if !parts.is_empty() {
            events.push(json!({"type": "conversation.item.create", "item": {
                "type": "message", "role": message.role.to_string(), "content": parts,
            }}));
        }
    }
    Ok(events)
}

/// `response.cancel`.
pub fn response_cancel() -> Value {
    json!({"type": "response.cancel"})
}

/// `conversation.item.truncate`: cut an assistant audio item to `audio_end_ms`.
///
/// ```
/// let e = bidi_model::openai::encode::item_truncate("item_1", 0, 740);
/// assert_eq!(e["audio_end_ms"], 740);
/// ```
pub fn item_truncate(item_id: &str, content_index: u64, audio_end_ms: u64) -> Value {
    json!({
        "type": "conversation.item.truncate",
        "item_id": item_id,
        "content_index": content_index,
        "audio_end_ms": audio_end_ms,
    })
}

/// The GA format object for audio in `format` at `rate`: `{"type": "audio/pcm", "rate":
/// 24000}`, or `{"type": "audio/pcmu"}` (G.711 μ-law, 8 kHz, no rate key).
fn audio_format(format: AudioFormat, rate: SampleRate) -> Value {
    match format {
        AudioFormat::Pcmu => json!({"type": "audio/pcmu"}),
        _ => json!({"type": "audio/pcm", "rate": rate.hz()}),
    }
}
