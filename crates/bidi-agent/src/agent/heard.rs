//! What the user heard of the assistant's turn, in the history: the assistant's spoken text
//! is held until the turn settles, and an interrupted turn enters the history cut to the
//! part the user heard, marked `interrupted` (see [`Message::metadata`]).
//!
//! [`HeardTurn`] is a pure state machine; the model task feeds it the model's events and
//! the [`PlaybackTracker`](bidi_types::PlaybackTracker)'s positions, and the history write
//! ([`Inner::append`](super::inner::Inner::append)) takes what has settled before anything
//! else is appended, so the order of the conversation is kept.
//!
//! The text of a response is held from its `bidi_response_start`; text outside a response
//! (a model that sends none) enters the history as it is finalised, as in the original.
//!
//! A turn settles when the next response starts, before any other message enters the
//! history (the user's next words, a tool call), at a restart, at `stop`, and when its
//! response completes if by then every received second of its audio was heard (always, when
//! no output reports playback: text counts as heard once delivered).
//!
//! The cut: no provider gives word timings with its transcript, so the heard position maps
//! to text in proportion to the turn's audio (`heard_ms / audio_ms` of its characters), then
//! back to the last word boundary. Nothing heard: no assistant message at all.

use std::time::Duration;

use bidi_types::{Message, Role};
use serde_json::{Map, Value, json};

/// The assistant's turn in progress, as the history will keep it.
#[derive(Debug, Default)]
pub(crate) struct HeardTurn {
    /// Final texts of the turn, in order.
    finals: Vec<String>,
    /// The text of the item in progress (its partial transcript so far), if no final came.
    partial: String,
    /// Set by an interruption: how much of the turn's audio was heard.
    cut: Option<Duration>,
    /// A response is being generated (between its start and its completion).
    open: bool,
    /// The response's turn was interrupted and has entered the history, cut: the rest of the
    /// response's text (a provider's final transcript after the interruption, arriving after
    /// the user's next words settled the turn) is not history. Cleared by the next response.
    late: bool,
}

/// Where an assistant transcript goes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Route {
    /// Held with its turn.
    Hold,
    /// Into the history now (text outside any response, as in the original).
    Append,
    /// Dropped: it belongs to an interrupted turn already in the history.
    Drop,
}

impl HeardTurn {
    /// A response started (`bidi_response_start`): the previous turn settles first, with
    /// `audio` the previous response's audio received (see [`settle`](Self::settle)); its
    /// messages are returned for the history.
    pub(crate) fn start(&mut self, audio: Duration) -> Vec<Message> {
        let previous = self.settle(audio);
        self.open = true;
        self.late = false;
        previous
    }

    /// Where an assistant transcript arriving now goes.
    pub(crate) fn route(&self) -> Route {
        if self.late {
            Route::Drop
        } else if self.open || self.cut.is_some() {
            Route::Hold
        } else {
            Route::Append
        }
    }

    /// The response completed (`bidi_response_complete`); its text stays held until the
    /// turn settles.
    pub(crate) fn close(&mut self) {
        self.open = false;
    }

    /// A final assistant transcript.
    pub(crate) fn final_text(&mut self, text: &str) {
        self.finals.push(text.to_owned());
        self.partial.clear();
    }

    /// A partial assistant transcript: `current` is the item's text so far.
    pub(crate) fn partial_text(&mut self, current: &str) {
        current.clone_into(&mut self.partial);
    }

    /// A partial assistant transcript that adds `delta` to the item's text so far.
    pub(crate) fn partial_delta(&mut self, delta: &str) {
        self.partial.push_str(delta);
    }

    /// The user interrupted: `heard` of the turn's audio was heard. The first interruption of
    /// a turn counts; the text is cut in proportion to the audio received by the time the
    /// turn settles (a provider stops its audio and its transcript at the same point).
    pub(crate) fn interrupted(&mut self, heard: Duration) {
        if self.cut.is_none() {
            self.cut = Some(heard);
        }
    }

    /// The turn's messages as the history keeps them, leaving the state empty for the next
    /// turn. `audio` is the response's audio received so far (the
    /// [`PlaybackTracker`](bidi_types::PlaybackTracker)'s count): its text covers that much.
    pub(crate) fn settle(&mut self, audio: Duration) -> Vec<Message> {
        let mut texts = std::mem::take(&mut self.finals);
        let partial = std::mem::take(&mut self.partial);
        let cut = self.cut.take().map(|heard| (heard.min(audio), audio));
        if cut.is_some() {
            self.late = true;
        }
        if !partial.trim().is_empty() && cut.is_some() {
            // Only an interrupted item ends without its final text.
            texts.push(partial);
        }
        let Some((heard, audio)) = cut.filter(|(heard, audio)| heard < audio) else {
            return texts
                .into_iter()
                .filter(|t| !t.trim().is_empty())
                .map(|t| Message::text(Role::Assistant, t))
                .collect();
        };
        let total: usize = texts.iter().map(|t| t.chars().count()).sum();
        let keep = proportion(total, heard, audio);
        let mut messages = Vec::new();
        let mut left = keep;
        for text in texts {
            let n = text.chars().count();
            if left >= n {
                left -= n;
                if !text.trim().is_empty() {
                    messages.push(Message::text(Role::Assistant, text));
                }
                continue;
            }
            let heard_text = word_prefix(&text, left);
            if !heard_text.is_empty() {
                let mut message = Message::text(Role::Assistant, heard_text);
                message.metadata = Some(mark(heard, audio));
                messages.push(message);
            }
            break;
        }
        messages
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// `{"interrupted": {"heard_ms", "audio_ms"}}`.
fn mark(heard: Duration, audio: Duration) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert(
        "interrupted".to_owned(),
        json!({"heard_ms": millis(heard), "audio_ms": millis(audio)}),
    );
    map
}

/// `total * heard / audio`, rounded down.
fn proportion(total: usize, heard: Duration, audio: Duration) -> usize {
    if audio.is_zero() {
        return total;
    }
    let keep = (total as u128).saturating_mul(heard.as_nanos()) / audio.as_nanos();
    usize::try_from(keep).unwrap_or(total).min(total)
}

/// The first `chars` characters of `text`, cut back to the end of the last whole word (the
/// whole text when it fits).
fn word_prefix(text: &str, chars: usize) -> String {
    let end = text
        .char_indices()
        .nth(chars)
        .map_or(text.len(), |(i, _)| i);
    if end >= text.len() {
        return text.trim_end().to_owned();
    }
    let head = &text[..end];
    // The cut falls inside a word unless the next character starts a new one.
    let inside_word =
        !text[end..].starts_with(char::is_whitespace) && !head.ends_with(char::is_whitespace);
    let head = if inside_word {
        head.rfind(char::is_whitespace).map_or("", |i| &head[..i])
    } else {
        head
    };
    head.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn texts(messages: &[Message]) -> Vec<String> {
        messages.iter().filter_map(Message::joined_text).collect()
    }

    #[test]
    fn a_turn_heard_in_full_is_kept_as_generated() {
        let mut t = HeardTurn::default();
        t.final_text("It is noon in Paris.");
        let m = t.settle(ms(1000));
        assert_eq!(texts(&m), ["It is noon in Paris."]);
        assert_eq!(m[0].metadata, None);
        assert!(t.settle(ms(1000)).is_empty(), "settling empties the turn");
    }

    #[test]
    fn an_interrupted_turn_keeps_the_heard_words() {
        let mut t = HeardTurn::default();
        // 40 characters over 4 s of audio; 1 s heard: 10 characters, back to a word.
        t.final_text("The weather in Paris is sunny and warm..");
        t.interrupted(ms(1000));
        let m = t.settle(ms(4000));
        assert_eq!(texts(&m), ["The"]);
        assert_eq!(m[0].interrupted(), Some((1000, 4000)));
    }

    #[test]
    fn the_cut_stops_at_a_word_boundary_and_later_items_are_dropped() {
        let mut t = HeardTurn::default();
        t.final_text("Let me check.");
        t.final_text("It is sunny in Paris today.");
        // 13 + 27 = 40 characters; half heard = 20: 7 into the second text.
        t.interrupted(ms(2000));
        let m = t.settle(ms(4000));
        assert_eq!(texts(&m), ["Let me check.", "It is"]);
        assert_eq!(m[0].metadata, None);
        assert_eq!(m[1].interrupted(), Some((2000, 4000)));
    }

    #[test]
    fn an_interrupted_item_without_its_final_uses_its_partial_text() {
        let mut t = HeardTurn::default();
        t.partial_text("Once upon a time there");
        t.interrupted(ms(500));
        let m = t.settle(ms(1000));
        assert_eq!(texts(&m), ["Once upon a"]);
    }

    #[test]
    fn deltas_without_the_text_so_far_add_up() {
        let mut t = HeardTurn::default();
        for word in ["Once ", "upon ", "a ", "time ", "there"] {
            t.partial_delta(word);
        }
        t.interrupted(ms(500));
        assert_eq!(texts(&t.settle(ms(1000))), ["Once upon a"]);
    }

    #[test]
    fn nothing_heard_leaves_no_message() {
        let mut t = HeardTurn::default();
        t.final_text("Hello there.");
        t.interrupted(Duration::ZERO);
        assert!(t.settle(ms(1000)).is_empty());
    }

    #[test]
    fn a_partial_without_an_interruption_is_not_history() {
        let mut t = HeardTurn::default();
        t.partial_text("Hel");
        assert!(t.settle(ms(100)).is_empty());
    }

    #[test]
    fn text_arriving_after_an_interrupted_turn_settled_is_dropped_until_the_next_response() {
        let mut t = HeardTurn::default();
        assert!(t.start(Duration::ZERO).is_empty());
        t.final_text("Hello there, friend.");
        t.interrupted(ms(500));
        t.close();
        assert_eq!(t.route(), Route::Hold, "the turn is not settled yet");
        assert_eq!(texts(&t.settle(ms(1000))), ["Hello"]);
        assert_eq!(t.route(), Route::Drop, "a late final of the same turn");
        assert!(t.start(Duration::ZERO).is_empty());
        assert_eq!(t.route(), Route::Hold);
        t.close();
        t.settle(Duration::ZERO);
        assert_eq!(t.route(), Route::Append, "text outside any response");
    }

    #[test]
    fn an_interrupted_turn_settled_by_the_next_response_is_cut() {
        let mut t = HeardTurn::default();
        t.start(Duration::ZERO);
        t.final_text("Hello there, friend.");
        t.interrupted(ms(500));
        t.close();
        // The next response starts before anything else settled the turn: the previous
        // response's audio decides the cut.
        let previous = t.start(ms(1000));
        assert_eq!(texts(&previous), ["Hello"]);
        assert_eq!(previous[0].interrupted(), Some((500, 1000)));
        assert_eq!(t.route(), Route::Hold, "the new response's text is held");
    }

    #[test]
    fn word_prefix_handles_multibyte_text_and_exact_boundaries() {
        assert_eq!(word_prefix("héllo wörld", 6), "héllo");
        assert_eq!(word_prefix("héllo wörld", 5), "héllo");
        assert_eq!(word_prefix("héllo wörld", 4), "");
        assert_eq!(word_prefix("héllo wörld", 99), "héllo wörld");
    }
}
