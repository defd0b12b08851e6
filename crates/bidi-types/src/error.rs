//! [`TypesError`]: why a value could not become an event, a message or an audio setting.

/// Why JSON or a raw value could not be turned into one of this crate's types.
///
/// Every variant names the field and, where it is safe to show, the offending value.
/// Base64 payloads are never echoed back (they may hold raw audio); their length is given
/// instead.
///
/// ```
/// use bidi_types::{BidiInputEvent, TypesError};
///
/// let err = BidiInputEvent::from_json_str(
///     r#"{"type":"bidi_audio_input","audio":"AAAA","format":"pcm","sample_rate":11025,"channels":1}"#,
/// )
/// .unwrap_err();
/// assert!(matches!(err, TypesError::UnsupportedSampleRate { field: "sample_rate", value: 11025 }));
/// assert_eq!(
///     err.to_string(),
///     "sample_rate=<11025> | unsupported sample rate, expected 8000, 16000, 24000 or 48000"
/// );
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TypesError {
    /// The text was not JSON at all.
    #[error("invalid JSON | {0}")]
    Json(#[from] serde_json::Error),

    /// An event must be a JSON object.
    #[error("found=<{found}> | event must be a JSON object")]
    NotAnObject {
        /// The JSON kind that was found instead (`array`, `string`, ...).
        found: &'static str,
    },

    /// The object has no string `type` key.
    #[error("event has no string `type` key | cannot tell which event it is")]
    MissingType,

    /// The `type` names no event this side accepts.
    #[error("input_type=<{type_name}> | input type not supported")]
    UnknownType {
        /// The `type` that was given.
        type_name: String,
    },

    /// A required key is absent.
    #[error("event=<{event}>, field=<{field}> | missing field")]
    MissingField {
        /// The event's `type` tag.
        event: &'static str,
        /// The missing key.
        field: &'static str,
    },

    /// A key that the event does not have.
    #[error("event=<{event}>, field=<{field}> | unknown field")]
    UnknownField {
        /// The event's `type` tag.
        event: &'static str,
        /// The unexpected key.
        field: String,
    },

    /// A key holds a value of the wrong JSON kind.
    #[error("event=<{event}>, field=<{field}>, value=<{value}> | expected {expected}")]
    WrongType {
        /// The event's `type` tag.
        event: &'static str,
        /// The key.
        field: &'static str,
        /// What was expected (`a string`, `an integer`, ...).
        expected: &'static str,
        /// The value found, as compact JSON (cut to 64 characters).
        value: String,
    },

    /// A sample rate other than 8000, 16000, 24000 or 48000 Hz.
    #[error("{field}=<{value}> | unsupported sample rate, expected 8000, 16000, 24000 or 48000")]
    UnsupportedSampleRate {
        /// The key that held it (`sample_rate`, `input_rate`, `output_rate`).
        field: &'static str,
        /// The rate given.
        value: u64,
    },

    /// A channel count other than 1 or 2.
    #[error("{field}=<{value}> | unsupported channel count, expected 1 or 2")]
    UnsupportedChannels {
        /// The key that held it.
        field: &'static str,
        /// The count given.
        value: u64,
    },

    /// An audio format other than `pcm`, `wav`, `opus`, `mp3` or `pcmu`.
    #[error("{field}=<{value}> | unsupported audio format, expected pcm, wav, opus, mp3 or pcmu")]
    UnsupportedFormat {
        /// The key that held it.
        field: &'static str,
        /// The format given.
        value: String,
    },

    /// A role other than `user` or `assistant`.
    #[error("{field}=<{value}> | unsupported role, expected user or assistant")]
    UnsupportedRole {
        /// The key that held it.
        field: &'static str,
        /// The role given.
        value: String,
    },

    /// A base64 payload that does not decode.
    #[error("{field}=<{len} chars> | invalid base64: {reason}")]
    InvalidBase64 {
        /// The key that held it (`audio`, `image`).
        field: &'static str,
        /// Length of the rejected text (the text itself is not shown).
        len: usize,
        /// What the decoder said.
        reason: String,
    },

    /// A value of the right kind outside the range the key allows.
    #[error("{field}=<{value}> | out of range: {reason}")]
    OutOfRange {
        /// The key that held it.
        field: &'static str,
        /// The value given, as text.
        value: String,
        /// Why it is refused.
        reason: &'static str,
    },

    /// An event whose shape did not match its `type` (output and loop events).
    #[error("event=<{event}> | {source}")]
    InvalidEvent {
        /// The event's `type` tag (or its key, for events without one).
        event: String,
        /// What serde said, naming the key.
        #[source]
        source: serde_json::Error,
    },
}

impl TypesError {
    /// The same error, attributed to the key `field` (for values parsed on their own, such as
    /// a sample rate, before they are known to belong to a key).
    pub(crate) fn in_field(self, field: &'static str) -> Self {
        match self {
            Self::UnsupportedSampleRate { value, .. } => {
                Self::UnsupportedSampleRate { field, value }
            }
            Self::UnsupportedChannels { value, .. } => Self::UnsupportedChannels { field, value },
            Self::UnsupportedFormat { value, .. } => Self::UnsupportedFormat { field, value },
            Self::UnsupportedRole { value, .. } => Self::UnsupportedRole { field, value },
            Self::InvalidBase64 { len, reason, .. } => Self::InvalidBase64 { field, len, reason },
            other => other,
        }
    }
}
