//! Reading one event's keys out of a JSON object, with errors that name the event, the key
//! and the value.

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::TypesError;

/// The standard base64 engine every event uses (RFC 4648 alphabet, padded).
pub(crate) const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The error for base64 text in `field` that does not decode.
fn invalid_base64(field: &'static str, text: &str, e: impl std::fmt::Display) -> TypesError {
    TypesError::InvalidBase64 {
        field,
        len: text.len(),
        reason: e.to_string(),
    }
}

/// Decodes base64 text, naming `field` on failure.
pub(crate) fn decode_base64(field: &'static str, text: &str) -> Result<Vec<u8>, TypesError> {
    BASE64
        .decode(text)
        .map_err(|e| invalid_base64(field, text, e))
}

/// Decodes base64 text into `out` (cleared first), naming `field` on failure.
pub(crate) fn decode_base64_into(
    field: &'static str,
    text: &str,
    out: &mut Vec<u8>,
) -> Result<(), TypesError> {
    out.clear();
    BASE64
        .decode_vec(text, out)
        .map_err(|e| invalid_base64(field, text, e))
}

/// Checks that `text` is valid base64 without keeping the bytes.
pub(crate) fn check_base64(field: &'static str, text: &str) -> Result<(), TypesError> {
    // Decode in small stack-sized pieces: no allocation for audio-sized payloads. A piece of
    // 4k characters is whole quanta, so padding can only appear in the last piece.
    const PIECE: usize = 4096;
    let mut out = [0u8; PIECE / 4 * 3];
    if !text.len().is_multiple_of(4) {
        return decode_base64(field, text).map(drop);
    }
    for piece in text.as_bytes().chunks(PIECE) {
        BASE64
            .decode_slice(piece, &mut out)
            .map_err(|e| invalid_base64(field, text, e))?;
    }
    Ok(())
}

/// The JSON kind of a value, for messages.
pub(crate) const fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A value shown in an error: compact JSON, cut to 64 characters.
fn shown(v: &Value) -> String {
    let mut s = v.to_string();
    if s.len() > 64 {
        let mut cut = 61;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("...");
    }
    s
}

/// The object under `value`, or [`TypesError::NotAnObject`].
pub(crate) fn object(value: &Value) -> Result<&Map<String, Value>, TypesError> {
    value
        .as_object()
        .ok_or(TypesError::NotAnObject { found: kind(value) })
}

/// The `type` tag of an object.
pub(crate) fn type_tag(map: &Map<String, Value>) -> Result<&str, TypesError> {
    map.get("type")
        .and_then(Value::as_str)
        .ok_or(TypesError::MissingType)
}

/// The keys of one event's object.
pub(crate) struct Fields<'a> {
    event: &'static str,
    map: &'a Map<String, Value>,
}

impl<'a> Fields<'a> {
    /// Reads `map` as the event `event`, refusing any key outside `type` and `allowed`.
    pub(crate) fn new(
        event: &'static str,
        map: &'a Map<String, Value>,
        allowed: &[&str],
    ) -> Result<Self, TypesError> {
        if let Some(extra) = map
            .keys()
            .find(|k| k.as_str() != "type" && !allowed.contains(&k.as_str()))
        {
            return Err(TypesError::UnknownField {
                event,
                field: extra.clone(),
            });
        }
        Ok(Self { event, map })
    }

    fn wrong(&self, field: &'static str, expected: &'static str, v: &Value) -> TypesError {
        TypesError::WrongType {
            event: self.event,
            field,
            expected,
            value: shown(v),
        }
    }

    fn get(&self, field: &'static str) -> Result<&'a Value, TypesError> {
        self.map.get(field).ok_or(TypesError::MissingField {
            event: self.event,
            field,
        })
    }

    /// A required string.
    pub(crate) fn str(&self, field: &'static str) -> Result<&'a str, TypesError> {
        let v = self.get(field)?;
        v.as_str().ok_or_else(|| self.wrong(field, "a string", v))
    }

    /// An optional string (absent or null gives `None`).
    pub(crate) fn opt_str(&self, field: &'static str) -> Result<Option<&'a str>, TypesError> {
        match self.map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_str()
                .map(Some)
                .ok_or_else(|| self.wrong(field, "a string", v)),
        }
    }

    /// A required non-negative integer.
    pub(crate) fn u64(&self, field: &'static str) -> Result<u64, TypesError> {
        let v = self.get(field)?;
        v.as_u64()
            .ok_or_else(|| self.wrong(field, "a non-negative integer", v))
    }

    /// A required string parsed with `parse`, whose error is attributed to `field`.
    pub(crate) fn parsed<T>(
        &self,
        field: &'static str,
        parse: impl FnOnce(&str) -> Result<T, TypesError>,
    ) -> Result<T, TypesError> {
        parse(self.str(field)?).map_err(|e| e.in_field(field))
    }

    /// A required integer converted with `convert`, whose error is attributed to `field`.
    pub(crate) fn converted<T>(
        &self,
        field: &'static str,
        convert: impl FnOnce(u64) -> Result<T, TypesError>,
    ) -> Result<T, TypesError> {
        convert(self.u64(field)?).map_err(|e| e.in_field(field))
    }
}
