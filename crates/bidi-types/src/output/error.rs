//! The error event.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Something went wrong: `{"type": "bidi_error", "message", "code", "details"}`.
///
/// `code` names the kind of error (the reference writes the exception's class name);
/// `details` is always written, `null` when there are none.
///
/// ```
/// use bidi_types::BidiErrorEvent;
/// let e = BidiErrorEvent::new("bad frame", "ProtocolError");
/// assert_eq!(serde_json::to_value(&e).unwrap()["details"], serde_json::Value::Null);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "bidi_error")]
pub struct BidiErrorEvent {
    message: String,
    code: String,
    // Boxed: rare, and a map is as large as the rest of the event.
    #[serde(default)]
    details: Option<Box<Map<String, Value>>>,
}

impl BidiErrorEvent {
    /// An error event without details.
    pub fn new(message: impl Into<String>, code: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: code.into(),
            details: None,
        }
    }
    /// With details.
    pub fn with_details(mut self, details: Map<String, Value>) -> Self {
        self.details = Some(Box::new(details));
        self
    }
    /// What went wrong, for people.
    pub fn message(&self) -> &str {
        &self.message
    }
    /// What kind of error, for programs.
    pub fn code(&self) -> &str {
        &self.code
    }
    /// More context, when there is some.
    pub fn details(&self) -> Option<&Map<String, Value>> {
        self.details.as_deref()
    }
}
