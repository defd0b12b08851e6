//! Reading one event's keys out of a JSON object, with errors that name the event, the key
//! and the value.

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::TypesError;

/// The standard base64 engine every event uses (RFC 4648 alphabet, padded), for what is
/// not on the audio path.
pub(crate) const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The same alphabet and padding, with SIMD: audio goes through it every 20-100 ms.
const FAST: base64_simd::Base64 = base64_simd::STANDARD;

/// The error for base64 text in `field` that does not decode, with what is wrong with it
/// (the fast decoder only says that something is; this runs once per bad input).
fn invalid_base64(field: &'static str, text: &str) -> TypesError {
    let reason = match BASE64.decode(text) {
        Err(e) => e.to_string(),
        Ok(_) => "not canonical standard base64".to_owned(),
    };
    TypesError::InvalidBase64 {
        field,
        len: text.len(),
        reason,
    }
}

/// Encodes bytes as standard base64.
pub(crate) fn encode_base64(bytes: &[u8]) -> String {
    FAST.encode_to_string(bytes)
}

/// Decodes base64 text, naming `field` on failure.
pub(crate) fn decode_base64(field: &'static str, text: &str) -> Result<Vec<u8>, TypesError> {
    FAST.decode_to_vec(text)
        .map_err(|_| invalid_base64(field, text))
}

/// Decodes base64 text into `out` (cleared first), naming `field` on failure.
pub(crate) fn decode_base64_into(
    field: &'static str,
    text: &str,
    out: &mut Vec<u8>,
) -> Result<(), TypesError> {
    out.clear();
    FAST.decode_append(text, out)
        .map_err(|_| invalid_base64(field, text))
}

/// Checks that `text` is valid base64 without keeping the bytes.
pub(crate) fn check_base64(field: &'static str, text: &str) -> Result<(), TypesError> {
    FAST.check(text.as_bytes())
        .map_err(|_| invalid_base64(field, text))
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

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::*;

    #[test]
    fn the_fast_decoder_accepts_exactly_what_the_standard_one_does() {
        let mut cases: Vec<String> = [
            "",
            "A",
            "AA",
            "AAA",
            "AA=",
            "AA==",
            "AQ==",
            "AR==",
            "AAA=",
            "AAB=",
            "AAE=",
            "====",
            "AA==AA==",
            " AAAA",
            "AAAA\n",
            "AAAA ",
            "-_-_",
            "+/+/",
            "AAAA====",
            "A===",
            "AA=A",
            "\u{e9}AAA",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        // Every length up to two SIMD blocks, ending in each kind of quantum.
        for n in 0..70usize {
            let bytes: Vec<u8> = (0..n).map(|i| (i * 37 + 11) as u8).collect();
            let text = BASE64.encode(&bytes);
            cases.push(text.clone());
            cases.push(format!("{text}="));
            cases.push(text.replace('=', ""));
            if let Some(last) = text.char_indices().rev().find(|(_, c)| *c != '=') {
                cases.push(format!("{}!{}", &text[..last.0], &text[last.0 + 1..]));
            }
        }
        for text in cases {
            let slow = BASE64.decode(&text).ok();
            let fast = decode_base64("audio", &text).ok();
            assert_eq!(fast, slow, "{text:?}");
            assert_eq!(
                check_base64("audio", &text).is_ok(),
                slow.is_some(),
                "{text:?}"
            );
            if let Some(bytes) = slow {
                assert_eq!(encode_base64(&bytes), BASE64.encode(&bytes));
            }
        }
    }

    #[test]
    fn a_bad_payload_says_what_is_wrong_with_it() {
        let Err(TypesError::InvalidBase64 { field, len, reason }) = check_base64("audio", "AQ!D")
        else {
            panic!("not an error");
        };
        assert_eq!((field, len), ("audio", 4));
        assert!(reason.contains("Invalid symbol"), "{reason}");
    }
}
