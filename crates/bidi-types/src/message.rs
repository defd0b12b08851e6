//! Conversation history in the Bedrock Converse shape the reference uses: [`Message`],
//! [`Role`] and [`ContentBlock`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::media::{DocumentBlock, ImageBlock};
use crate::{ToolResult, ToolUse, TypesError};

/// Who said something. JSON: `"user"` or `"assistant"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "&'static str")]
pub enum Role {
    /// The person talking to the agent (and tool results, as in Converse).
    #[default]
    User,
    /// The model.
    Assistant,
}

impl Role {
    /// The JSON spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Assistant => "assistant",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = TypesError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "user" => Ok(Self::User),
            "assistant" => Ok(Self::Assistant),
            other => Err(TypesError::UnsupportedRole {
                field: "role",
                value: other.to_owned(),
            }),
        }
    }
}

impl TryFrom<String> for Role {
    type Error = TypesError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Role> for &'static str {
    fn from(r: Role) -> Self {
        r.as_str()
    }
}

/// One turn of the conversation: `{"role": ..., "content": [...]}`.
///
/// ```
/// use bidi_types::{ContentBlock, Message, Role};
///
/// let m = Message::text(Role::User, "hello");
/// assert_eq!(
///     serde_json::to_string(&m).unwrap(),
///     r#"{"role":"user","content":[{"text":"hello"}]}"#
/// );
/// assert_eq!(m.content[0], ContentBlock::Text("hello".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Who said it.
    pub role: Role,
    /// What was said, in order.
    pub content: Vec<ContentBlock>,
    /// bidi's notes about the message, kept with it in session files and never sent to a
    /// model: `{"interrupted": {"heard_ms": N, "audio_ms": M}}` marks an assistant turn the
    /// user interrupted, whose text was cut to what the user heard (N of M ms of its audio).
    /// Absent (`None`) on every other message; the original's messages have no such key, and
    /// its session files load as they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

impl Message {
    /// A message of one text block.
    pub fn text(role: Role, text: impl Into<String>) -> Self {
        Self {
            role,
            content: vec![ContentBlock::Text(text.into())],
            metadata: None,
        }
    }

    /// The assistant's request for a tool.
    pub fn tool_use(tool_use: ToolUse) -> Self {
        Self {
            role: Role::Assistant,
            content: vec![ContentBlock::ToolUse(tool_use)],
            metadata: None,
        }
    }

    /// The user-role message that carries a tool's result.
    pub fn tool_result(result: ToolResult) -> Self {
        Self {
            role: Role::User,
            content: vec![ContentBlock::ToolResult(result)],
            metadata: None,
        }
    }

    /// The `interrupted` mark of [`metadata`](Self::metadata): `(heard_ms, audio_ms)` when
    /// the message is an interrupted assistant turn cut to what the user heard.
    pub fn interrupted(&self) -> Option<(u64, u64)> {
        let mark = self.metadata.as_ref()?.get("interrupted")?;
        let heard = mark.get("heard_ms")?.as_u64()?;
        let audio = mark.get("audio_ms")?.as_u64()?;
        Some((heard, audio))
    }

    /// The text blocks joined with `\n`, or `None` when the message has none.
    pub fn joined_text(&self) -> Option<String> {
        let mut texts = self.content.iter().filter_map(|b| match b {
            ContentBlock::Text(t) => Some(t.as_str()),
            _ => None,
        });
        let first = texts.next()?;
        Some(texts.fold(first.to_owned(), |mut acc, t| {
            acc.push('\n');
            acc.push_str(t);
            acc
        }))
    }
}

/// One block of a message. JSON: an object with exactly one key, `text`, `image`, `document`,
/// `toolUse` or `toolResult`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ContentBlock {
    /// Plain text.
    Text(String),
    /// An image.
    Image(ImageBlock),
    /// A document.
    Document(DocumentBlock),
    /// The model asked for a tool.
    ToolUse(ToolUse),
    /// A tool answered.
    ToolResult(ToolResult),
}
