//! Reading a client's message as the Live service does: protobuf JSON, where every field may
//! be spelled in lowerCamelCase (`clientContent`) or as in the proto (`client_content`), and
//! `bytes` fields are base64 in the standard or the URL-safe alphabet, padded or not.
//! google-genai sends snake_case keys and URL-safe base64; our client sends camelCase and
//! standard base64. Pure functions, no IO.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use serde_json::{Map, Value};

/// Keys whose values are the user's own data (a function's arguments and response, a JSON
/// schema's property names): their insides keep their spelling.
const OPAQUE: &[&str] = &[
    "args",
    "response",
    "parameters",
    "parametersJsonSchema",
    "responseJsonSchema",
    "properties",
];

/// `client_content` → `clientContent`; a key without `_` is returned as it is.
pub fn camel(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The message with every structural key in lowerCamelCase (the user's data untouched).
///
/// ```
/// use bidi_sim::gemini::client_message::normalize;
/// use serde_json::json;
/// let m = normalize(json!({"tool_response": {"function_responses": [
///     {"id": "c1", "name": "f", "response": {"city_name": "Paris"}}]}}));
/// assert_eq!(m["toolResponse"]["functionResponses"][0]["response"]["city_name"], "Paris");
/// ```
pub fn normalize(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::with_capacity(map.len());
            for (key, value) in map {
                let key = camel(&key);
                let value = if OPAQUE.contains(&key.as_str()) {
                    value
                } else {
                    normalize(value)
                };
                out.insert(key, value);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(normalize).collect()),
        other => other,
    }
}

/// Base64 in either alphabet, padded or not, as protobuf JSON reads `bytes`.
///
/// ```
/// use bidi_sim::gemini::client_message::decode_base64;
/// assert_eq!(decode_base64("-_8=").unwrap(), [0xfb, 0xff]);
/// assert_eq!(decode_base64("+/8").unwrap(), [0xfb, 0xff]);
/// assert!(decode_base64("not base64!").is_err());
/// ```
pub fn decode_base64(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    let url_safe = text.contains(['-', '_']);
    let padded = text.ends_with('=');
    match (url_safe, padded) {
        (false, true) => STANDARD.decode(text),
        (false, false) => STANDARD_NO_PAD.decode(text),
        (true, true) => URL_SAFE.decode(text),
        (true, false) => URL_SAFE_NO_PAD.decode(text),
    }
}

/// The base64 audio of a (normalized) `realtimeInput`: `audio.data`, and the older
/// `mediaChunks[].data` whose MIME type is audio (or unset).
pub fn audio_chunks(realtime_input: &Value) -> Vec<&str> {
    let mut out = Vec::new();
    if let Some(data) = realtime_input
        .get("audio")
        .and_then(|a| a.get("data"))
        .and_then(Value::as_str)
    {
        out.push(data);
    }
    if let Some(chunks) = realtime_input.get("mediaChunks").and_then(Value::as_array) {
        for chunk in chunks {
            let audio = chunk
                .get("mimeType")
                .and_then(Value::as_str)
                .is_none_or(|m| m.starts_with("audio/"));
            if let Some(data) = chunk.get("data").and_then(Value::as_str)
                && audio
            {
                out.push(data);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_become_camel_case_and_data_keeps_its_spelling() {
        let m = normalize(json!({
            "setup": {"generation_config": {"response_modalities": ["AUDIO"]},
                      "tools": [{"function_declarations": [{"name": "f",
                          "parameters": {"type": "object", "properties": {"city_name": {"type": "string"}}}}]}]},
            "client_content": {"turns": [{"role": "user", "parts": [{"text": "hi"}]}], "turn_complete": true},
        }));
        assert_eq!(
            m["setup"]["generationConfig"]["responseModalities"][0],
            "AUDIO"
        );
        assert!(m["setup"]["tools"][0]["functionDeclarations"][0]["parameters"]["properties"]["city_name"].is_object());
        assert_eq!(m["clientContent"]["turnComplete"], true);
    }

    #[test]
    fn audio_comes_from_audio_and_from_media_chunks() {
        let rt = normalize(json!({"media_chunks": [
            {"mime_type": "audio/pcm;rate=16000", "data": "AAA="},
            {"mime_type": "image/jpeg", "data": "BBB="}], "audio": {"data": "CCC="}}));
        assert_eq!(audio_chunks(&rt), ["CCC=", "AAA="]);
    }
}
