//! Our side of the protocol: the input events Nova Sonic takes, as JSON text ready to be the
//! `bytes` of an input chunk.

use bidi_types::{AudioConfig, ModelError, ToolResult, ToolResultContent, ToolSpec};
use serde_json::{Map, Value, json};

use crate::nova_sonic::config::{InferenceConfig, TurnDetection};

/// The role of a text content Nova Sonic takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NovaRole {
    /// Instructions.
    System,
    /// The person.
    User,
    /// The model (history only).
    Assistant,
}

impl NovaRole {
    /// The wire spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::System => "SYSTEM",
            Self::User => "USER",
            Self::Assistant => "ASSISTANT",
        }
    }
}

const TEXT_CONFIG: &str = "text/plain";

/// `sessionStart` with the inference settings (only those set) and, when given, the turn
/// detection (v2).
pub fn session_start(inference: &InferenceConfig, turn: Option<TurnDetection>) -> String {
    let mut start = Map::new();
    start.insert(
        "inferenceConfiguration".into(),
        Value::Object(inference.to_wire()),
    );
    if let Some(turn) = turn {
        start.insert(
            "turnDetectionConfiguration".into(),
            json!({"endpointingSensitivity": turn.as_str()}),
        );
    }
    json!({"event": {"sessionStart": start}}).to_string()
}

/// `promptStart`: text and audio output configuration and, only with tools, the tool-use
/// output and tool configuration (each `inputSchema.json` a JSON string).
pub fn prompt_start(prompt: &str, audio: &AudioConfig, voice: &str, tools: &[ToolSpec]) -> String {
    let mut start = Map::new();
    start.insert("promptName".into(), json!(prompt));
    start.insert(
        "textOutputConfiguration".into(),
        json!({"mediaType": TEXT_CONFIG}),
    );
    start.insert(
        "audioOutputConfiguration".into(),
        json!({
            "mediaType": "audio/lpcm",
            "sampleRateHertz": audio.output_rate.hz(),
            "sampleSizeBits": 16,
            "channelCount": audio.channels.count(),
            "voiceId": voice,
            "encoding": "base64",
            "audioType": "SPEECH",
        }),
    );
    if !tools.is_empty() {
        start.insert(
            "toolUseOutputConfiguration".into(),
            json!({"mediaType": "application/json"}),
        );
        let tools: Vec<Value> = tools
            .iter()
            .map(|t| {
                json!({"toolSpec": {
                    "name": t.name,
                    "description": t.description,
                    "inputSchema": {"json": t.input_schema.json.to_string()},
                }})
            })
            .collect();
        start.insert("toolConfiguration".into(), json!({ "tools": tools }));
    }
    json!({"event": {"promptStart": start}}).to_string()
}

/// A whole text content: `contentStart`, `textInput`, `contentEnd`.
pub fn text_content(
    prompt: &str,
    content: &str,
    role: NovaRole,
    interactive: bool,
    text: &str,
) -> [String; 3] {
    [
        json!({"event": {"contentStart": {
            "promptName": prompt,
            "contentName": content,
            "type": "TEXT",
            "role": role.as_str(),
            "interactive": interactive,
            "textInputConfiguration": {"mediaType": TEXT_CONFIG},
        }}})
        .to_string(),
        json!({"event": {"textInput": {"promptName": prompt, "contentName": content, "content": text}}})
            .to_string(),
        content_end(prompt, content),
    ]
}

/// `contentStart` of the user's audio content, at the configured input rate and channels.
pub fn audio_content_start(prompt: &str, content: &str, audio: &AudioConfig) -> String {
    json!({"event": {"contentStart": {
        "promptName": prompt,
        "contentName": content,
        "type": "AUDIO",
        "interactive": true,
        "role": "USER",
        "audioInputConfiguration": {
            "mediaType": "audio/lpcm",
            "sampleRateHertz": audio.input_rate.hz(),
            "sampleSizeBits": 16,
            "channelCount": audio.channels.count(),
            "audioType": "SPEECH",
            "encoding": "base64",
        },
    }}})
    .to_string()
}

/// One `audioInput` chunk (base64 PCM, forwarded as is).
pub fn audio_input(prompt: &str, content: &str, base64_pcm: &str) -> String {
    json!({"event": {"audioInput": {"promptName": prompt, "contentName": content, "content": base64_pcm}}})
        .to_string()
}

/// The `toolResult` payload: the single block, or `{"content": [blocks]}`, as a string.
/// Only `text` and `json` blocks are accepted.
pub fn tool_result_payload(result: &ToolResult) -> Result<String, ModelError> {
    let unsupported: Vec<&str> = result
        .content
        .iter()
        .filter(|c| !matches!(c, ToolResultContent::Text(_) | ToolResultContent::Json(_)))
        .map(ToolResultContent::kind)
        .collect();
    if !unsupported.is_empty() {
        return Err(ModelError::Unsupported {
            content: format!(
                "tool_use_id={}, content_types={unsupported:?}",
                result.tool_use_id
            ),
            provider: "Nova Sonic",
        });
    }
    let blocks: Vec<Value> = result
        .content
        .iter()
        .map(|c| match c {
            ToolResultContent::Text(t) => json!({ "text": t }),
            ToolResultContent::Json(j) => json!({ "json": j }),
            // Filtered out above.
            ToolResultContent::Image(_) | ToolResultContent::Document(_) => Value::Null,
        })
        .collect();
    let payload = match blocks.as_slice() {
        [one] => one.clone(),
        _ => json!({ "content": blocks }),
    };
    Ok(payload.to_string())
}

/// A whole tool-result content: `contentStart` (TOOL), `toolResult`, `contentEnd`.
pub fn tool_result(
    prompt: &str,
    content: &str,
    result: &ToolResult,
) -> Result<[String; 3], ModelError> {
    let payload = tool_result_payload(result)?;
    Ok([
        json!({"event": {"contentStart": {
            "promptName": prompt,
            "contentName": content,
            "interactive": false,
            "type": "TOOL",
            "role": "TOOL",
            "toolResultInputConfiguration": {
                "toolUseId": result.tool_use_id,
                "type": "TEXT",
                "textInputConfiguration": {"mediaType": TEXT_CONFIG},
            },
        }}})
        .to_string(),
        json!({"event": {"toolResult": {"promptName": prompt, "contentName": content, "content": payload}}})
            .to_string(),
        content_end(prompt, content),
    ])
}

/// `contentEnd` of one content.
pub fn content_end(prompt: &str, content: &str) -> String {
    json!({"event": {"contentEnd": {"promptName": prompt, "contentName": content}}}).to_string()
}

/// `promptEnd`.
pub fn prompt_end(prompt: &str) -> String {
    json!({"event": {"promptEnd": {"promptName": prompt}}}).to_string()
}

/// `sessionEnd` (the documented close; the original sends `connectionEnd`).
pub fn session_end() -> String {
    json!({"event": {"sessionEnd": {}}}).to_string()
}
