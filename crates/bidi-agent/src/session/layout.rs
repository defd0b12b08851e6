//! The reference's session layout as JSON: what `session.json`, `agent.json` and
//! `message_<n>.json` hold, shared by the file and the S3 managers so a session written by
//! one is read by the other (and by the reference).

use std::time::{SystemTime, UNIX_EPOCH};

use bidi_types::Message;
use serde_json::{Map, Value, json};

use crate::state::AgentState;

/// `session.json`: `{"session_id", "session_type": "AGENT", "created_at", "updated_at"}`.
pub(crate) fn session_json(session_id: &str) -> Value {
    let now = now_iso();
    json!({"session_id": session_id, "session_type": "AGENT", "created_at": now, "updated_at": now})
}

/// `agent.json` when the agent is created (the reference's `SessionAgent.from_bidi_agent`
/// before any interrupt state).
pub(crate) fn new_agent_json(agent_id: &str, state: Map<String, Value>) -> Value {
    let now = now_iso();
    json!({
        "agent_id": agent_id,
        "state": state,
        "conversation_manager_state": {},
        "_internal_state": {},
        "created_at": now,
        "updated_at": now,
    })
}

/// `agent.json` on a sync: the state now, the first `created_at` kept.
pub(crate) fn synced_agent_json(
    agent_id: &str,
    state: Map<String, Value>,
    created_at: Value,
) -> Value {
    json!({
        "agent_id": agent_id,
        "state": state,
        "conversation_manager_state": {},
        "_internal_state": {"interrupt_state": {"interrupts": {}, "context": {}, "activated": false}},
        "created_at": created_at,
        "updated_at": now_iso(),
    })
}

/// The agent state stored in `agent.json`, or why it is not one.
pub(crate) fn stored_state(agent: &Map<String, Value>) -> Result<AgentState, String> {
    match agent.get("state") {
        Some(Value::Object(m)) => AgentState::from_map(m.clone()).map_err(|e| e.to_string()),
        _ => Err("`state` is not an object".into()),
    }
}

/// `message_<id>.json`: `{"message", "message_id", "redact_message", "created_at", "updated_at"}`.
pub(crate) fn message_json(message: &Message, id: u64) -> Value {
    let now = now_iso();
    let mut body = serde_json::to_value(message).unwrap_or(Value::Null);
    encode_bytes(&mut body);
    json!({"message": body, "message_id": id, "redact_message": null, "created_at": now, "updated_at": now})
}

/// The message a stored `message_<n>.json` holds (its redacted form when set), or why it
/// holds none.
pub(crate) fn stored_message(stored: &Map<String, Value>) -> Result<Message, String> {
    let body = match stored.get("redact_message") {
        Some(r) if !r.is_null() => r,
        _ => stored.get("message").ok_or("no `message` key")?,
    };
    let mut body = body.clone();
    decode_bytes(&mut body);
    serde_json::from_value(body).map_err(|e| e.to_string())
}

/// The number in a message object's name: `message_<n>.json` → `n` (`None`: not a message
/// name; `Some(Err)`: a message name with no number).
pub(crate) fn message_number(name: &str) -> Option<Result<u64, String>> {
    let n = name.strip_prefix("message_")?.strip_suffix(".json")?;
    Some(
        n.parse()
            .map_err(|_| "message file name has no number".to_owned()),
    )
}

/// A JSON object from stored text, or why it is not one.
pub(crate) fn parse_object(text: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err("not a JSON object".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// The text stored for `value`: indented by two spaces, as the reference writes it.
pub(crate) fn to_text(value: &Value) -> Result<String, serde_json::Error> {
    serde_json::to_string_pretty(value)
}

/// The reference stores raw bytes (image and document sources) as
/// `{"__bytes_encoded__": true, "data": "<base64>"}`; our messages hold the base64 text.
fn encode_bytes(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Object(source)) = map.get_mut("source")
                && let Some(Value::String(b64)) = source.get("bytes")
            {
                let data = Value::String(b64.clone());
                source.insert(
                    "bytes".into(),
                    json!({"__bytes_encoded__": true, "data": data}),
                );
            }
            map.values_mut().for_each(encode_bytes);
        }
        Value::Array(items) => items.iter_mut().for_each(encode_bytes),
        _ => {}
    }
}

/// Reads the reference's byte markers back as base64 text.
fn decode_bytes(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.get("__bytes_encoded__") == Some(&Value::Bool(true))
                && let Some(Value::String(data)) = map.get("data")
            {
                *value = Value::String(data.clone());
                return;
            }
            map.values_mut().for_each(decode_bytes);
        }
        Value::Array(items) => items.iter_mut().for_each(decode_bytes),
        _ => {}
    }
}

/// Now as ISO-8601 UTC with microseconds: `2025-01-01T12:00:00.051326+00:00`.
pub(crate) fn now_iso() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}+00:00",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_micros()
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn bytes_use_the_reference_marker_both_ways() {
        let message: Message = serde_json::from_value(json!({"role": "user", "content": [
            {"image": {"format": "png", "source": {"bytes": "iVBORw=="}}},
            {"toolResult": {"toolUseId": "t", "status": "success", "content": [
                {"document": {"format": "txt", "name": "d", "source": {"bytes": "AA=="}}}
            ]}}
        ]}))
        .unwrap();
        let stored = message_json(&message, 0);
        assert_eq!(
            stored["message"]["content"][0]["image"]["source"]["bytes"],
            json!({"__bytes_encoded__": true, "data": "iVBORw=="})
        );
        let Value::Object(stored) = stored else {
            panic!("an object")
        };
        assert_eq!(stored_message(&stored).unwrap(), message);
    }

    #[test]
    fn iso_timestamps_have_the_reference_shape() {
        let t = now_iso();
        assert_eq!(t.len(), "2025-01-01T12:00:00.051326+00:00".len(), "{t}");
        assert!(t.ends_with("+00:00") && t.starts_with("20"), "{t}");
    }

    #[test]
    fn message_names_carry_their_number() {
        assert_eq!(message_number("message_12.json"), Some(Ok(12)));
        assert!(matches!(message_number("message_x.json"), Some(Err(_))));
        assert_eq!(message_number("agent.json"), None);
    }
}
