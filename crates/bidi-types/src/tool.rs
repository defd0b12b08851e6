//! Tools as the model sees them: [`ToolSpec`], [`ToolUse`] and [`ToolResult`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::media::{DocumentBlock, ImageBlock};

/// What a tool is called, what it does and what input it takes:
/// `{"name", "description", "inputSchema": {"json": <JSON Schema>}}`.
///
/// ```
/// use bidi_types::ToolSpec;
/// use serde_json::json;
///
/// let spec = ToolSpec::new("calc", "Calculate", json!({"type": "object", "properties": {}}));
/// assert_eq!(serde_json::to_value(&spec).unwrap()["inputSchema"]["json"]["type"], "object");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// The name the model calls it by.
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// Its input.
    #[serde(rename = "inputSchema")]
    pub input_schema: ToolInputSchema,
    /// Whether the model waits for the result ([`ToolBehavior`]); `None`: the provider's
    /// default. Only Gemini Live reads it (the function declaration's `behavior`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behavior: Option<ToolBehavior>,
    /// How the model takes the result when it arrives ([`ToolScheduling`]); `None`: the
    /// provider's default. Only Gemini Live reads it (the function response's
    /// `scheduling`, which the service applies to non-blocking calls).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduling: Option<ToolScheduling>,
}

impl ToolSpec {
    /// A spec from a name, a description and a JSON Schema for the input.
    pub fn new(name: impl Into<String>, description: impl Into<String>, schema: Value) -> Self {
        Self {
            name: name.into(),
            description: description.into(),
            input_schema: ToolInputSchema { json: schema },
            behavior: None,
            scheduling: None,
        }
    }

    /// The spec with `behavior`.
    ///
    /// ```
    /// use bidi_types::{ToolBehavior, ToolScheduling, ToolSpec};
    /// use serde_json::json;
    ///
    /// let spec = ToolSpec::new("refund", "Refund an order", json!({"type": "object"}))
    ///     .with_behavior(ToolBehavior::NonBlocking)
    ///     .with_scheduling(ToolScheduling::WhenIdle);
    /// let v = serde_json::to_value(&spec).unwrap();
    /// assert_eq!(v["behavior"], "NON_BLOCKING");
    /// assert_eq!(v["scheduling"], "WHEN_IDLE");
    /// ```
    #[must_use]
    pub fn with_behavior(mut self, behavior: ToolBehavior) -> Self {
        self.behavior = Some(behavior);
        self
    }

    /// The spec with `scheduling`.
    #[must_use]
    pub fn with_scheduling(mut self, scheduling: ToolScheduling) -> Self {
        self.scheduling = Some(scheduling);
        self
    }
}

/// Whether the model waits for a tool's result (Gemini Live's function `behavior`).
/// JSON: `"BLOCKING"` or `"NON_BLOCKING"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ToolBehavior {
    /// The model waits for the result before it goes on.
    Blocking,
    /// The model keeps talking while the tool runs (the service's default on current Live
    /// models).
    NonBlocking,
}

/// How the model takes a tool's result that arrives while it may be talking (Gemini
/// Live's `FunctionResponse.scheduling`, for non-blocking calls). JSON: `"INTERRUPT"`,
/// `"WHEN_IDLE"` or `"SILENT"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ToolScheduling {
    /// Stop what it is saying and answer with the result now.
    Interrupt,
    /// Answer with the result once it is done talking (the service's default).
    WhenIdle,
    /// Take the result into the context without answering.
    Silent,
}

impl ToolBehavior {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Blocking => "BLOCKING",
            Self::NonBlocking => "NON_BLOCKING",
        }
    }
}

impl ToolScheduling {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Interrupt => "INTERRUPT",
            Self::WhenIdle => "WHEN_IDLE",
            Self::Silent => "SILENT",
        }
    }
}

/// `{"json": <JSON Schema>}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolInputSchema {
    /// The JSON Schema of the tool's input object.
    pub json: Value,
}

/// The model's request to run a tool: `{"toolUseId", "name", "input"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolUse {
    /// The provider's id for this call; the result must carry it back.
    #[serde(rename = "toolUseId")]
    pub tool_use_id: String,
    /// The tool's name.
    pub name: String,
    /// The arguments, usually an object.
    pub input: Value,
}

impl ToolUse {
    /// A tool use.
    pub fn new(tool_use_id: impl Into<String>, name: impl Into<String>, input: Value) -> Self {
        Self {
            tool_use_id: tool_use_id.into(),
            name: name.into(),
            input,
        }
    }
}

/// Whether a tool succeeded. JSON: `"success"` or `"error"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ToolResultStatus {
    /// It did what was asked.
    Success,
    /// It failed; the content says why.
    Error,
}

/// What a tool answered: `{"toolUseId", "status", "content": [...]}`.
///
/// ```
/// use bidi_types::{ToolResult, ToolResultStatus};
///
/// let r = ToolResult::error("t-1", "Unknown tool: nope");
/// assert_eq!(r.status, ToolResultStatus::Error);
/// assert_eq!(
///     serde_json::to_string(&r).unwrap(),
///     r#"{"toolUseId":"t-1","status":"error","content":[{"text":"Unknown tool: nope"}]}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolResult {
    /// The id of the [`ToolUse`] this answers.
    #[serde(rename = "toolUseId")]
    pub tool_use_id: String,
    /// Success or error.
    pub status: ToolResultStatus,
    /// The answer's blocks.
    pub content: Vec<ToolResultContent>,
}

impl ToolResult {
    /// A successful result of one text block.
    pub fn text(tool_use_id: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            tool_use_id: tool_use_id.into(),
            status: ToolResultStatus::Success,
            content: vec![ToolResultContent::Text(text.into())],
        }
    }

    /// A successful result of one JSON block.
    pub fn json(tool_use_id: impl Into<String>, json: Value) -> Self {
        Self {
            tool_use_id: tool_use_id.into(),
            status: ToolResultStatus::Success,
            content: vec![ToolResultContent::Json(json)],
        }
    }

    /// A failed result whose one text block says why.
    pub fn error(tool_use_id: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            tool_use_id: tool_use_id.into(),
            status: ToolResultStatus::Error,
            content: vec![ToolResultContent::Text(message.into())],
        }
    }

    /// Whether the status is success.
    pub fn is_success(&self) -> bool {
        self.status == ToolResultStatus::Success
    }
}

/// One block of a tool's answer. JSON: `{"text": ...}`, `{"json": ...}`, `{"image": ...}` or
/// `{"document": ...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ToolResultContent {
    /// Text.
    Text(String),
    /// Any JSON value.
    Json(Value),
    /// An image.
    Image(ImageBlock),
    /// A document.
    Document(DocumentBlock),
}

impl ToolResultContent {
    /// The block's key (`text`, `json`, `image`, `document`), as providers name unsupported
    /// content in their errors.
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::Text(_) => "text",
            Self::Json(_) => "json",
            Self::Image(_) => "image",
            Self::Document(_) => "document",
        }
    }
}
