//! [`ModelTimeout`]: the provider's connection time limit, the one model error the agent
//! recovers from, with the [`RestartConfig`] a restart carries.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Provider settings a restart must carry to the new connection (for example Gemini's
/// `live_session_handle`). Empty for providers that simply replay history.
pub type RestartConfig = Map<String, Value>;

/// The provider hit its connection time limit; the agent reopens the connection with the
/// history so far and `restart_config`. JSON (inside `bidi_connection_restart`):
/// `{"message", "restart_config"}`.
///
/// ```
/// use bidi_types::ModelTimeout;
/// let t = ModelTimeout::new("connection limit reached");
/// assert_eq!(t.to_string(), "model timeout | connection limit reached");
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ModelTimeout {
    /// What the provider said.
    pub message: String,
    /// Settings for the next `start` (see [`RestartConfig`]).
    #[serde(default)]
    pub restart_config: RestartConfig,
}

impl ModelTimeout {
    /// A timeout with no restart settings.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            restart_config: Map::new(),
        }
    }

    /// The same timeout with one restart setting.
    pub fn with_restart(mut self, key: impl Into<String>, value: Value) -> Self {
        self.restart_config.insert(key.into(), value);
        self
    }
}

impl fmt::Display for ModelTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "model timeout | {}", self.message)
    }
}

impl std::error::Error for ModelTimeout {}
