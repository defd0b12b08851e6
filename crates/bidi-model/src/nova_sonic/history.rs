//! History replay: the conversation as non-interactive text contents, within Nova Sonic's
//! size limits.

use bidi_types::{Message, Role};

use super::encode::NovaRole;

/// Most bytes of one replayed message (longer text is cut on a character boundary).
pub const MAX_MESSAGE_BYTES: usize = 50 * 1024;
/// Most bytes of replayed history in all (older messages are dropped first).
pub const MAX_TOTAL_BYTES: usize = 200 * 1024;

/// The messages to replay, oldest first, as `(role, text)`: text blocks joined with `\n`,
/// messages without text skipped, each cut to [`MAX_MESSAGE_BYTES`], the newest kept within
/// [`MAX_TOTAL_BYTES`], and leading non-user messages dropped (Nova Sonic requires the first
/// history message to be USER).
///
/// ```
/// use bidi_model::nova_sonic::{history, NovaRole};
/// use bidi_types::{Message, Role};
///
/// let h = history(&[Message::text(Role::Assistant, "lead"), Message::text(Role::User, "hi")]);
/// assert_eq!(h, vec![(NovaRole::User, "hi".to_owned())]);
/// ```
pub fn history(messages: &[Message]) -> Vec<(NovaRole, String)> {
    let mut kept = Vec::new();
    let mut total = 0usize;
    for message in messages.iter().rev() {
        let Some(text) = message.joined_text() else {
            continue;
        };
        let text = cut_to_bytes(text, MAX_MESSAGE_BYTES);
        if total + text.len() > MAX_TOTAL_BYTES {
            tracing::debug!(
                total_bytes = total,
                msg_bytes = text.len(),
                "total_bytes=<{total}>, msg_bytes=<{}> | dropping older history to fit the limit",
                text.len()
            );
            break;
        }
        total += text.len();
        let role = match message.role {
            Role::User => NovaRole::User,
            Role::Assistant => NovaRole::Assistant,
        };
        kept.push((role, text));
    }
    kept.reverse();
    let first_user = kept
        .iter()
        .position(|(r, _)| *r == NovaRole::User)
        .unwrap_or(kept.len());
    kept.split_off(first_user)
}

/// `text` cut to at most `max` UTF-8 bytes, dropping a split character.
fn cut_to_bytes(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use bidi_types::{ContentBlock, ToolUse};

    #[test]
    fn joins_text_skips_tools_and_leading_assistant() {
        let messages = vec![
            Message::text(Role::Assistant, "lead"),
            Message::text(Role::User, "hi"),
            Message {
                role: Role::Assistant,
                content: vec![
                    ContentBlock::Text("hello".into()),
                    ContentBlock::Text("there".into()),
                    ContentBlock::ToolUse(ToolUse::new("t", "x", serde_json::json!({}))),
                ],
                metadata: None,
            },
            Message::tool_use(ToolUse::new("t", "x", serde_json::json!({}))),
        ];
        assert_eq!(
            history(&messages),
            vec![
                (NovaRole::User, "hi".to_owned()),
                (NovaRole::Assistant, "hello\nthere".to_owned())
            ]
        );
    }

    #[test]
    fn caps_each_message_and_the_total_keeping_the_newest() {
        let big = "é".repeat(MAX_MESSAGE_BYTES); // 2 bytes each: twice the cap
        let cut = cut_to_bytes(big.clone(), MAX_MESSAGE_BYTES);
        assert_eq!(cut.len(), MAX_MESSAGE_BYTES);
        let odd = cut_to_bytes(big, MAX_MESSAGE_BYTES - 1);
        assert_eq!(odd.len(), MAX_MESSAGE_BYTES - 2);

        let messages: Vec<Message> = (0..6)
            .map(|i| Message::text(Role::User, format!("{i}").repeat(MAX_MESSAGE_BYTES)))
            .collect();
        let h = history(&messages);
        assert_eq!(h.len(), 4);
        assert!(h[0].1.starts_with('2'));
        assert!(h[3].1.starts_with('5'));
        assert!(h.iter().map(|(_, t)| t.len()).sum::<usize>() <= MAX_TOTAL_BYTES);
    }
}
