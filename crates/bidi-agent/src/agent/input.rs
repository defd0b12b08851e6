//! [`IntoAgentInput`]: what `BidiAgent::send` accepts.

use bidi_types::{BidiAudioInputEvent, BidiImageInputEvent, BidiInputEvent, BidiTextInputEvent};
use serde_json::Value;

use crate::AgentError;

/// A value `send` accepts: text (`&str`, `String`), any input event, or a JSON dict in the
/// reference's form (`{"type": "bidi_text_input", "text": "hi"}`, what WebSocket clients
/// send), which is validated.
///
/// ```
/// use bidi_agent::IntoAgentInput;
/// use serde_json::json;
///
/// assert!("hi".into_agent_input().is_ok());
/// assert!(json!({"type": "bidi_text_input", "text": "hi"}).into_agent_input().is_ok());
/// let err = json!({"type": "bidi_video_input"}).into_agent_input().unwrap_err();
/// assert_eq!(err.to_string(), "invalid input | input_type=<bidi_video_input> | input type not supported");
/// ```
pub trait IntoAgentInput {
    /// The input event, or [`AgentError::InvalidInput`] naming what was wrong.
    fn into_agent_input(self) -> Result<BidiInputEvent, AgentError>;
}

impl IntoAgentInput for BidiInputEvent {
    fn into_agent_input(self) -> Result<BidiInputEvent, AgentError> {
        Ok(self)
    }
}

macro_rules! infallible_input {
    ($($t:ty),*) => {$(
        impl IntoAgentInput for $t {
            fn into_agent_input(self) -> Result<BidiInputEvent, AgentError> {
                Ok(BidiInputEvent::from(self))
            }
        }
    )*};
}

infallible_input!(
    &str,
    String,
    BidiTextInputEvent,
    BidiAudioInputEvent,
    BidiImageInputEvent
);

impl IntoAgentInput for &String {
    fn into_agent_input(self) -> Result<BidiInputEvent, AgentError> {
        Ok(BidiInputEvent::from(self.as_str()))
    }
}

impl IntoAgentInput for Value {
    fn into_agent_input(self) -> Result<BidiInputEvent, AgentError> {
        BidiInputEvent::from_json(&self).map_err(AgentError::InvalidInput)
    }
}

impl IntoAgentInput for &Value {
    fn into_agent_input(self) -> Result<BidiInputEvent, AgentError> {
        BidiInputEvent::from_json(self).map_err(AgentError::InvalidInput)
    }
}
