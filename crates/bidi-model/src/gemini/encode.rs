//! Client messages: our start parameters and inputs as Gemini Live JSON.
//!
//! Every top-level key is the documented camelCase (`setup`, `clientContent`,
//! `realtimeInput`, `toolResponse`).

use bidi_types::{
    ContentBlock, Message, ModelError, Role, ToolResult, ToolResultContent, ToolResultStatus,
    ToolScheduling, ToolSpec,
};
use serde_json::{Map, Value, json};

use super::config::{GeminiLiveConfig, ResponseModality, TextInputMode};

/// The `setup` message: model, generation and speech config, system instruction, function
/// declarations, transcription and resumption settings.
///
/// Tool input schemas go out as `parametersJsonSchema` (full JSON Schema), since
/// `parameters` accepts only an OpenAPI subset. The resumption handle is sent only when
/// there is one (an explicit null is rejected by newer models).
pub fn setup(
    cfg: &GeminiLiveConfig,
    system_prompt: Option<&str>,
    tools: &[ToolSpec],
    resume_handle: Option<&str>,
) -> Value {
    let mut generation = Map::new();
    generation.insert(
        "responseModalities".into(),
        json!([cfg.response_modality.as_str()]),
    );
    for (k, v) in &cfg.generation {
        generation.insert(k.clone(), v.clone());
    }
    if let Some(voice) = &cfg.audio.voice {
        generation.insert(
            "speechConfig".into(),
            json!({"voiceConfig": {"prebuiltVoiceConfig": {"voiceName": voice}}}),
        );
    }

    let mut setup = Map::new();
    setup.insert("model".into(), json!(format!("models/{}", cfg.model_id)));
    setup.insert("generationConfig".into(), Value::Object(generation));
    if let Some(prompt) = system_prompt.filter(|p| !p.is_empty()) {
        setup.insert(
            "systemInstruction".into(),
            json!({"parts": [{"text": prompt}]}),
        );
    }
    if !tools.is_empty() {
        let decls: Vec<Value> = tools
            .iter()
            .map(|t| {
                let mut decl = json!({
                    "name": t.name,
                    "description": t.description,
                    "parametersJsonSchema": t.input_schema.json,
                });
                if let Some(behavior) = t.behavior {
                    decl["behavior"] = json!(behavior.as_str());
                }
                decl
            })
            .collect();
        setup.insert("tools".into(), json!([{"functionDeclarations": decls}]));
    }
    if let Some(rc) = &cfg.realtime_input_config {
        setup.insert("realtimeInputConfig".into(), rc.clone());
    }
    if let Some(cwc) = &cfg.context_window_compression {
        setup.insert("contextWindowCompression".into(), cwc.clone());
    }
    if cfg.session_resumption {
        let resumption = match resume_handle {
            Some(h) => json!({"handle": h}),
            None => json!({}),
        };
        setup.insert("sessionResumption".into(), resumption);
    }
    if cfg.input_transcription && cfg.response_modality == ResponseModality::Audio {
        setup.insert("inputAudioTranscription".into(), json!({}));
    }
    if cfg.output_transcription && cfg.response_modality == ResponseModality::Audio {
        setup.insert("outputAudioTranscription".into(), json!({}));
    }
    json!({ "setup": setup })
}

/// The history as one `clientContent` message of text turns (assistant as `model`), with
/// `turnComplete: false` so the model does not answer the replayed turns. Tool uses and
/// results are not replayed (the reference drops them too). `None` when nothing has text.
pub fn history(messages: &[Message]) -> Option<Value> {
    let turns: Vec<Value> = messages
        .iter()
        .filter_map(|m| {
            let parts: Vec<Value> = m
                .content
                .iter()
                .filter_map(|b| match b {
                    ContentBlock::Text(t) => Some(json!({"text": t})),
                    _ => None,
                })
                .collect();
            if parts.is_empty() {
                return None;
            }
            let role = match m.role {
                Role::User => "user",
                Role::Assistant => "model",
            };
            Some(json!({"role": role, "parts": parts}))
        })
        .collect();
    if turns.is_empty() {
        return None;
    }
    Some(json!({"clientContent": {"turns": turns, "turnComplete": false}}))
}

/// A user's text, mid-session.
pub fn text(cfg: &GeminiLiveConfig, text: &str) -> Value {
    match cfg.text_input {
        TextInputMode::RealtimeInput => json!({"realtimeInput": {"text": text}}),
        TextInputMode::ClientContent => json!({"clientContent": {
            "turns": [{"role": "user", "parts": [{"text": text}]}],
            "turnComplete": true,
        }}),
    }
}

/// A chunk of user audio (base64 PCM) at `rate_hz`.
pub fn audio(base64: &str, rate_hz: u32) -> Value {
    json!({"realtimeInput": {"audio": {"data": base64, "mimeType": format!("audio/pcm;rate={rate_hz}")}}})
}

/// An image or video frame (base64).
pub fn image(base64: &str, mime_type: &str) -> Value {
    json!({"realtimeInput": {"video": {"data": base64, "mimeType": mime_type}}})
}

/// One function response for `result`, answering the call named `name`, with the tool's
/// `scheduling` when it has one.
///
/// The response object uses the documented keys: `output` on success, `error` on failure;
/// one block is sent as its value (text or JSON), several as an array.
pub fn function_response(
    result: &ToolResult,
    name: &str,
    scheduling: Option<ToolScheduling>,
) -> Result<Value, ModelError> {
    let mut values = Vec::with_capacity(result.content.len());
    for block in &result.content {
        match block {
            ToolResultContent::Text(t) => values.push(Value::String(t.clone())),
            ToolResultContent::Json(j) => values.push(j.clone()),
            other => {
                return Err(ModelError::Unsupported {
                    content: format!("tool_use_id={} {}", result.tool_use_id, other.kind()),
                    provider: "Gemini Live",
                });
            }
        }
    }
    let value = if values.len() == 1 {
        values.pop().unwrap_or(Value::Null)
    } else {
        Value::Array(values)
    };
    let key = match result.status {
        ToolResultStatus::Success => "output",
        ToolResultStatus::Error => "error",
    };
    let mut response = json!({"id": result.tool_use_id, "name": name, "response": { key: value }});
    if let Some(scheduling) = scheduling {
        response["scheduling"] = json!(scheduling.as_str());
    }
    Ok(response)
}

/// A `toolResponse` message carrying `responses`.
pub fn tool_response(responses: Vec<Value>) -> Value {
    json!({"toolResponse": {"functionResponses": responses}})
}

#[cfg(test)]
mod tests {
    use super::*;
    use bidi_types::ToolUse;

    #[test]
    fn default_setup_asks_for_audio_transcripts_and_resumption() {
        let v = setup(&GeminiLiveConfig::default(), None, &[], None);
        assert_eq!(
            v,
            json!({"setup": {
                "model": "models/gemini-2.5-flash-native-audio-preview-09-2025",
                "generationConfig": {"responseModalities": ["AUDIO"]},
                "sessionResumption": {},
                "inputAudioTranscription": {},
                "outputAudioTranscription": {},
            }})
        );
    }

    #[test]
    fn full_setup() {
        let mut cfg = GeminiLiveConfig::default().with_voice("Puck");
        cfg.generation.insert("temperature".into(), json!(0.7));
        cfg.context_window_compression = Some(json!({"slidingWindow": {}}));
        cfg.realtime_input_config =
            Some(json!({"automaticActivityDetection": {"disabled": false}}));
        let tool = ToolSpec::new(
            "calc",
            "Calculate",
            json!({"type": "object", "properties": {"x": {"type": "string"}}, "required": ["x"]}),
        );
        let v = setup(&cfg, Some("Be brief"), &[tool], Some("H1"));
        let s = &v["setup"];
        assert_eq!(s["generationConfig"]["temperature"], 0.7);
        assert_eq!(
            s["generationConfig"]["speechConfig"]["voiceConfig"]["prebuiltVoiceConfig"]["voiceName"],
            "Puck"
        );
        assert_eq!(
            s["systemInstruction"],
            json!({"parts": [{"text": "Be brief"}]})
        );
        assert_eq!(s["tools"][0]["functionDeclarations"][0]["name"], "calc");
        assert_eq!(
            s["tools"][0]["functionDeclarations"][0]["parametersJsonSchema"]["required"],
            json!(["x"])
        );
        assert_eq!(s["sessionResumption"], json!({"handle": "H1"}));
        assert_eq!(s["contextWindowCompression"], json!({"slidingWindow": {}}));
        assert_eq!(
            s["realtimeInputConfig"]["automaticActivityDetection"]["disabled"],
            false
        );
    }

    #[test]
    fn text_modality_asks_for_no_audio_transcription() {
        let cfg = GeminiLiveConfig {
            response_modality: ResponseModality::Text,
            session_resumption: false,
            ..GeminiLiveConfig::default()
        };
        let v = setup(&cfg, None, &[], Some("ignored"));
        assert_eq!(
            v["setup"]["generationConfig"]["responseModalities"],
            json!(["TEXT"])
        );
        assert!(v["setup"].get("inputAudioTranscription").is_none());
        assert!(v["setup"].get("sessionResumption").is_none());
    }

    #[test]
    fn history_keeps_text_turns_only() {
        let msgs = vec![
            Message::text(Role::User, "hi"),
            Message {
                role: Role::Assistant,
                content: vec![
                    ContentBlock::Text("hello".into()),
                    ContentBlock::Text("there".into()),
                    ContentBlock::ToolUse(ToolUse::new("t", "calc", json!({}))),
                ],
                metadata: None,
            },
            Message::tool_result(ToolResult::text("t", "2")),
        ];
        assert_eq!(
            history(&msgs),
            Some(json!({"clientContent": {"turns": [
                {"role": "user", "parts": [{"text": "hi"}]},
                {"role": "model", "parts": [{"text": "hello"}, {"text": "there"}]},
            ], "turnComplete": false}}))
        );
        assert_eq!(history(&[]), None);
        assert_eq!(history(&msgs[2..]), None);
    }

    #[test]
    fn inputs() {
        let cfg = GeminiLiveConfig::default();
        assert_eq!(text(&cfg, "hi"), json!({"realtimeInput": {"text": "hi"}}));
        let cc = GeminiLiveConfig {
            text_input: TextInputMode::ClientContent,
            ..GeminiLiveConfig::default()
        };
        assert_eq!(text(&cc, "hi")["clientContent"]["turnComplete"], true);
        assert_eq!(
            audio("AQACAA==", 16_000),
            json!({"realtimeInput": {"audio": {"data": "AQACAA==", "mimeType": "audio/pcm;rate=16000"}}})
        );
        assert_eq!(
            image("iVBORw==", "image/png")["realtimeInput"]["video"]["mimeType"],
            "image/png"
        );
    }

    #[test]
    fn function_responses() {
        let one = function_response(&ToolResult::text("fc-1", "42"), "calc", None).expect("ok");
        assert_eq!(
            one,
            json!({"id": "fc-1", "name": "calc", "response": {"output": "42"}})
        );
        let err = function_response(&ToolResult::error("fc-1", "boom"), "calc", None).expect("ok");
        assert_eq!(err["response"], json!({"error": "boom"}));
        let many = ToolResult {
            tool_use_id: "fc-2".into(),
            status: ToolResultStatus::Success,
            content: vec![
                ToolResultContent::Text("a".into()),
                ToolResultContent::Json(json!({"b": 1})),
            ],
        };
        assert_eq!(
            function_response(&many, "f", None).expect("ok")["response"],
            json!({"output": ["a", {"b": 1}]})
        );
        let image = ToolResult {
            tool_use_id: "fc-3".into(),
            status: ToolResultStatus::Success,
            content: vec![ToolResultContent::Image(bidi_types::ImageBlock {
                format: "png".into(),
                source: bidi_types::BinarySource {
                    bytes: String::new(),
                },
            })],
        };
        assert!(matches!(
            function_response(&image, "f", None),
            Err(ModelError::Unsupported {
                provider: "Gemini Live",
                ..
            })
        ));
        assert_eq!(
            tool_response(vec![one]),
            json!({"toolResponse": {"functionResponses": [{"id": "fc-1", "name": "calc", "response": {"output": "42"}}]}})
        );
    }
}
