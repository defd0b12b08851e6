//! [`Script`]: what a simulated model answers to what, independent of the provider.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::hearing::{Heard, Listener, Listening, Utterance};
use crate::places::Slots;

/// What a client did that a [`Rule`] can answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "on", rename_all = "snake_case")]
pub enum Trigger {
    /// The connection was opened and configured (session start / setup done).
    Connect,
    /// The user sent text containing `contains` (case-insensitive; empty matches any text).
    Text {
        /// The text to look for.
        #[serde(default)]
        contains: String,
    },
    /// The user sent at least `min_ms` milliseconds of audio since the last answer. When the
    /// script has [`utterances`](Script::utterances), it fires only at the end of an
    /// utterance that no `text` rule answered, `min_ms` compared with the utterance's length
    /// ([`ScriptState::on_utterance`]).
    Audio {
        /// How much audio must arrive first.
        #[serde(default)]
        min_ms: u64,
    },
    /// The client sent the result of a tool call.
    ToolResult {
        /// Only the result for this call id (any call when `None`).
        #[serde(default)]
        tool_use_id: Option<String>,
    },
}

/// One thing the simulated model does, rendered by each server in its provider's protocol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case")]
pub enum Action {
    /// Transcript of what the user said (as the provider's speech recognition would send it).
    UserTranscript {
        /// The text.
        text: String,
    },
    /// The model's reply as text/transcript, streamed in pieces of at most `chunk` chars.
    /// `{tool_result}` in the text is replaced by the text of the last tool result the
    /// client sent on the connection.
    Say {
        /// The text.
        text: String,
        /// Piece size for partial transcripts (0: one piece).
        #[serde(default)]
        chunk: usize,
    },
    /// The model's speech: `ms` milliseconds of a generated tone at the provider's output
    /// rate, sent in frames of `frame_ms`.
    Speak {
        /// Total duration.
        ms: u64,
        /// Frame duration (0: the server's default).
        #[serde(default)]
        frame_ms: u64,
    },
    /// The model's speech from a recording: the WAV file at `path` (any rate and channel
    /// count), played at the provider's output rate in frames of `frame_ms`. A path relative
    /// to a scenario file is resolved against the file's folder
    /// ([`scenario::load`](crate::scenario::load)); a file that cannot be read is spoken as
    /// 500 ms of tone.
    SpeakWav {
        /// The WAV file.
        path: String,
        /// Frame duration (0: the server's default).
        #[serde(default)]
        frame_ms: u64,
    },
    /// The model calls a tool; the server then waits for the result (see
    /// [`Trigger::ToolResult`]).
    CallTool {
        /// The call id.
        id: String,
        /// The tool's name.
        name: String,
        /// The arguments.
        input: Value,
    },
    /// The model drops tool calls it asked for (Gemini's `toolCallCancellation`; the OpenAI
    /// and Nova Sonic protocols have no such message, so their servers skip it). A result the
    /// client sends for a dropped call anyway is recorded and still fires
    /// [`Trigger::ToolResult`].
    CancelTool {
        /// The ids of the dropped calls.
        ids: Vec<String>,
    },
    /// The model stops because the user barged in.
    Interrupt,
    /// The end of the model's turn.
    EndTurn,
    /// Token usage.
    Usage {
        /// Input tokens.
        input: u64,
        /// Output tokens.
        output: u64,
    },
    /// A provider error event/exception.
    Error {
        /// The provider's code or exception name.
        code: String,
        /// Its message.
        message: String,
    },
    /// The provider's connection time limit is reached (the client must restart).
    Timeout,
    /// Bytes that are not a valid frame of the protocol.
    Garbage {
        /// What to send.
        text: String,
    },
    /// A well-formed event the client does not know.
    UnknownEvent,
    /// Wait before the next action.
    Sleep {
        /// How long.
        ms: u64,
    },
    /// Close the connection abruptly.
    Close,
    /// Close the connection with this close code and reason (the WebSocket servers: e.g.
    /// Gemini's 1011 internal error or 1007 invalid argument; Bedrock has no close codes and
    /// drops the stream).
    CloseWith {
        /// The WebSocket close code.
        code: u16,
        /// Its reason text.
        #[serde(default)]
        reason: String,
    },
    /// The server goes silent for `ms`: it neither sends nor reads (the WebSocket servers;
    /// the client's sends back up). Bedrock only pauses its sending.
    Stall {
        /// How long.
        ms: u64,
    },
}

/// When the client does `when`, the model does `then`, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// What triggers the rule.
    pub when: Trigger,
    /// What the model does.
    pub then: Vec<Action>,
    /// Whether the rule fires once only (the default) or every time.
    #[serde(default)]
    pub repeat: bool,
}

/// A simulated model's behaviour: rules tried in order; the first unused (or repeating)
/// rule whose trigger matches fires.
///
/// ```
/// use bidi_sim::{Action, Script, Trigger};
///
/// let script = Script::new()
///     .on(Trigger::Text { contains: "time".into() }, vec![
///         Action::CallTool { id: "t-1".into(), name: "current_time".into(), input: serde_json::json!({}) },
///     ])
///     .on(Trigger::ToolResult { tool_use_id: None }, vec![
///         Action::Say { text: "It is noon.".into(), chunk: 0 },
///         Action::EndTurn,
///     ]);
/// assert_eq!(script.rules.len(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Script {
    /// The rules, in priority order.
    pub rules: Vec<Rule>,
    /// The utterances the simulated model recognizes in the user's audio (none: `audio`
    /// triggers count raw audio, see [`hearing`](crate::hearing)).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub utterances: Vec<Utterance>,
    /// How utterances are detected and recognized.
    #[serde(default)]
    pub listening: Listening,
}

impl Script {
    /// An empty script (the model never answers).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a rule that fires once.
    pub fn on(mut self, when: Trigger, then: Vec<Action>) -> Self {
        self.rules.push(Rule {
            when,
            then,
            repeat: false,
        });
        self
    }

    /// Adds an utterance the model recognizes in the user's audio.
    pub fn hears(mut self, utterance: Utterance) -> Self {
        self.utterances.push(utterance);
        self
    }

    /// A listener for input at `rate_hz` when the script has utterances (`None` otherwise:
    /// its `audio` triggers count raw audio, as before utterances existed).
    pub fn listener(&self, rate_hz: u32) -> Option<Listener> {
        if self.utterances.is_empty() {
            return None;
        }
        Some(Listener::new(&self.utterances, self.listening, rate_hz))
    }

    /// Adds a rule that fires every time.
    pub fn always(mut self, when: Trigger, then: Vec<Action>) -> Self {
        self.rules.push(Rule {
            when,
            then,
            repeat: true,
        });
        self
    }
}

/// Tracks which rules of a script have fired on one connection.
#[derive(Debug, Clone)]
pub struct ScriptState {
    script: Script,
    used: Vec<bool>,
    tool_output: Option<String>,
    /// The placeholders' values of the question each tool call answers, by call id.
    call_slots: HashMap<String, Slots>,
}

impl ScriptState {
    /// A fresh state for `script`.
    pub fn new(script: Script) -> Self {
        let used = vec![false; script.rules.len()];
        Self {
            script,
            used,
            tool_output: None,
            call_slots: HashMap::new(),
        }
    }

    /// The script being played.
    pub fn script(&self) -> &Script {
        &self.script
    }

    /// The actions of the first rule that `matches` accepts, marking it used.
    pub fn fire(&mut self, matches: impl Fn(&Trigger) -> bool) -> Option<Vec<Action>> {
        self.fire_with(matches, &Slots::default())
    }

    /// The actions of the first rule that `matches` accepts and whose placeholders
    /// (`{place}`, `{timezone}`, `{expression}`, `{spoken_expression}`, see
    /// [`places`](crate::places)) `slots` fills, filled and marked used. A rule naming a
    /// placeholder the question did not give is passed over, so a later rule (a "did not
    /// understand" fallback) answers. The slots are kept for each tool call fired, and fill
    /// the rule that answers its result.
    pub fn fire_with(
        &mut self,
        matches: impl Fn(&Trigger) -> bool,
        slots: &Slots,
    ) -> Option<Vec<Action>> {
        let (idx, actions) = self.script.rules.iter().enumerate().find_map(|(i, r)| {
            let available = r.repeat || !self.used[i];
            if !available || !matches(&r.when) {
                return None;
            }
            let actions = r
                .then
                .iter()
                .map(|a| fill_action(a, slots, self.tool_output.as_deref()))
                .collect::<Option<Vec<_>>>()?;
            Some((i, actions))
        })?;
        self.used[idx] = true;
        for action in &actions {
            if let Action::CallTool { id, .. } = action {
                self.call_slots.insert(id.clone(), slots.clone());
            }
        }
        Some(actions)
    }

    /// The actions answering text `text`, if a rule matches.
    pub fn on_text(&mut self, text: &str) -> Option<Vec<Action>> {
        let lower = text.to_lowercase();
        let slots = Slots::from_text(text);
        self.fire_with(
            |t| matches!(t, Trigger::Text { contains } if lower.contains(&contains.to_lowercase())),
            &slots,
        )
    }

    /// The actions answering `audio_ms` milliseconds of audio received since the last answer.
    pub fn on_audio(&mut self, audio_ms: u64) -> Option<Vec<Action>> {
        self.fire(|t| matches!(t, Trigger::Audio { min_ms } if audio_ms >= *min_ms))
    }

    /// The actions answering an utterance the user finished speaking, `ms` long, as a
    /// provider answers speech: when it was recognized as `transcript`, the user's
    /// transcript first, then the first `text` rule matching the transcript, else the first
    /// `audio` rule; when it was not recognized, the first `audio` rule (and no transcript).
    pub fn on_utterance(&mut self, transcript: Option<&str>, ms: u64) -> Option<Vec<Action>> {
        let Some(text) = transcript else {
            return self.on_audio(ms);
        };
        let mut actions = vec![Action::UserTranscript {
            text: text.to_owned(),
        }];
        if let Some(more) = self.on_text(text).or_else(|| self.on_audio(ms)) {
            actions.extend(more);
        }
        Some(actions)
    }

    /// The actions answering what a [`Listener`] heard: the end of
    /// an utterance is answered as [`on_utterance`](Self::on_utterance) says, the start of
    /// speech by nothing.
    pub fn on_heard(&mut self, heard: &Heard) -> Option<Vec<Action>> {
        match heard {
            Heard::SpeechStarted { .. } => None,
            Heard::Utterance {
                start_ms,
                end_ms,
                recognition,
            } => self.on_utterance(
                recognition.transcript.as_deref(),
                end_ms.saturating_sub(*start_ms),
            ),
        }
    }

    /// The actions answering a tool result for `tool_use_id`.
    pub fn on_tool_result(&mut self, tool_use_id: &str) -> Option<Vec<Action>> {
        let slots = self
            .call_slots
            .get(tool_use_id)
            .cloned()
            .unwrap_or_default();
        self.fire_with(|t| matches!(t, Trigger::ToolResult { tool_use_id: id } if id.as_deref().is_none_or(|id| id == tool_use_id)), &slots)
    }

    /// Remembers the text of a tool's `output` (as the client sent it: text, or JSON whose
    /// `text` strings are taken) for `{tool_result}`, then answers like
    /// [`on_tool_result`](Self::on_tool_result).
    pub fn on_tool_output(&mut self, tool_use_id: &str, output: &Value) -> Option<Vec<Action>> {
        self.tool_output = Some(output_text(output));
        self.on_tool_result(tool_use_id)
    }

    /// The actions answering a new connection.
    pub fn on_connect(&mut self) -> Option<Vec<Action>> {
        self.fire(|t| matches!(t, Trigger::Connect))
    }
}

/// `action` with its placeholders filled from `slots` and `{tool_result}` from
/// `tool_output`; `None` when a placeholder has no value.
fn fill_action(action: &Action, slots: &Slots, tool_output: Option<&str>) -> Option<Action> {
    fn fill_json(value: &Value, slots: &Slots) -> Option<Value> {
        Some(match value {
            Value::String(s) => Value::String(slots.fill(s)?),
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|v| fill_json(v, slots))
                    .collect::<Option<_>>()?,
            ),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| Some((k.clone(), fill_json(v, slots)?)))
                    .collect::<Option<_>>()?,
            ),
            other => other.clone(),
        })
    }
    let mut action = action.clone();
    match &mut action {
        Action::Say { text, .. } => {
            if let Some(output) = tool_output {
                *text = text.replace("{tool_result}", output);
            }
            *text = slots.fill(text)?;
        }
        Action::UserTranscript { text } => *text = slots.fill(text)?,
        Action::CallTool { input, .. } => *input = fill_json(input, slots)?,
        _ => {}
    }
    Some(action)
}

/// The readable text of a tool output: the `text` strings inside (a string holding JSON is
/// read as JSON), else every string inside, else the JSON itself.
fn output_text(output: &Value) -> String {
    fn strings(v: &Value, only_text: bool, under_text: bool, out: &mut Vec<String>) {
        match v {
            Value::String(s) => {
                if let Ok(inner @ (Value::Object(_) | Value::Array(_))) =
                    serde_json::from_str::<Value>(s)
                {
                    strings(&inner, only_text, under_text, out);
                } else if under_text || !only_text {
                    out.push(s.clone());
                }
            }
            Value::Array(items) => items
                .iter()
                .for_each(|i| strings(i, only_text, under_text, out)),
            Value::Object(map) => map
                .iter()
                .for_each(|(k, i)| strings(i, only_text, k == "text", out)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    strings(output, true, false, &mut found);
    if found.is_empty() {
        strings(output, false, false, &mut found);
    }
    if found.is_empty() {
        output.to_string()
    } else {
        found.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_result_placeholders_take_the_outputs_text() {
        let script = Script::new().always(
            Trigger::ToolResult { tool_use_id: None },
            vec![Action::Say {
                text: "It is {tool_result}.".into(),
                chunk: 0,
            }],
        );
        let mut s = ScriptState::new(script);
        let say = |text: &str| {
            Some(vec![Action::Say {
                text: text.into(),
                chunk: 0,
            }])
        };
        // Bedrock: a JSON string; OpenAI: text; Gemini: an object.
        let bedrock = Value::from(r#"{"content":[{"text":"84"}],"status":"success"}"#);
        assert_eq!(s.on_tool_output("a", &bedrock), say("It is 84."));
        assert_eq!(
            s.on_tool_output("b", &Value::from("noon")),
            say("It is noon.")
        );
        let gemini = serde_json::json!({"output": "7 pm"});
        assert_eq!(s.on_tool_output("c", &gemini), say("It is 7 pm."));
    }

    #[test]
    fn rules_fire_once_in_order_unless_repeating() {
        let script = Script::new()
            .on(
                Trigger::Text {
                    contains: "Hello".into(),
                },
                vec![Action::EndTurn],
            )
            .always(
                Trigger::Text {
                    contains: String::new(),
                },
                vec![Action::Interrupt],
            );
        let mut s = ScriptState::new(script);
        assert_eq!(s.on_text("oh hello there"), Some(vec![Action::EndTurn]));
        assert_eq!(s.on_text("hello again"), Some(vec![Action::Interrupt]));
        assert_eq!(s.on_text("x"), Some(vec![Action::Interrupt]));
        assert_eq!(s.on_audio(1000), None);
        assert_eq!(s.on_connect(), None);
    }

    #[test]
    fn a_recognized_utterance_is_transcribed_then_answered_as_text() {
        let script = Script::new()
            .on(
                Trigger::Text {
                    contains: "time".into(),
                },
                vec![Action::EndTurn],
            )
            .on(Trigger::Audio { min_ms: 500 }, vec![Action::Interrupt]);
        let mut s = ScriptState::new(script);
        let transcript = |t: &str| Action::UserTranscript { text: t.into() };
        assert_eq!(
            s.on_utterance(Some("What time is it"), 900),
            Some(vec![transcript("What time is it"), Action::EndTurn])
        );
        // The text rule is used: the audio rule answers, after the transcript.
        assert_eq!(
            s.on_utterance(Some("What time is it"), 900),
            Some(vec![transcript("What time is it"), Action::Interrupt])
        );
        // Nothing left: the transcript alone.
        assert_eq!(
            s.on_utterance(Some("hello"), 900),
            Some(vec![transcript("hello")])
        );
        assert_eq!(s.on_utterance(None, 900), None);
        let mut s = ScriptState::new(Script::new().on(Trigger::Audio { min_ms: 500 }, vec![]));
        assert_eq!(s.on_utterance(None, 400), None);
        assert_eq!(s.on_utterance(None, 600), Some(vec![]));
    }

    #[test]
    fn tool_results_match_by_id() {
        let script = Script::new().on(
            Trigger::ToolResult {
                tool_use_id: Some("t-2".into()),
            },
            vec![Action::EndTurn],
        );
        let mut s = ScriptState::new(script);
        assert_eq!(s.on_tool_result("t-1"), None);
        assert_eq!(s.on_tool_result("t-2"), Some(vec![Action::EndTurn]));
    }

    #[test]
    fn scripts_read_from_json() {
        let s: Script = serde_json::from_value(serde_json::json!({"rules": [
            {"when": {"on": "audio", "min_ms": 200}, "then": [{"do": "speak", "ms": 500}, {"do": "end_turn"}]}
        ]}))
        .expect("script");
        assert_eq!(
            s.rules[0].then[0],
            Action::Speak {
                ms: 500,
                frame_ms: 0
            }
        );
        let mut st = ScriptState::new(s);
        assert_eq!(st.on_audio(100), None);
        assert!(st.on_audio(250).is_some());
    }

    #[test]
    fn placeholders_take_the_question_and_follow_its_tool_call() {
        let s: Script = serde_json::from_value(serde_json::json!({"rules": [
            {"when": {"on": "text", "contains": "time"}, "repeat": true,
             "then": [{"do": "call_tool", "id": "t", "name": "current_time", "input": {"timezone": "{timezone}"}}]},
            {"when": {"on": "tool_result", "tool_use_id": "t"}, "repeat": true,
             "then": [{"do": "say", "text": "In {place} it is {tool_result}."}]},
            {"when": {"on": "text"}, "repeat": true,
             "then": [{"do": "say", "text": "Sorry, I did not understand."}]}
        ]}))
        .expect("script");
        let mut st = ScriptState::new(s);
        assert_eq!(
            st.on_text("What time is it in Lagos?"),
            Some(vec![Action::CallTool {
                id: "t".into(),
                name: "current_time".into(),
                input: serde_json::json!({"timezone": "Africa/Lagos"}),
            }])
        );
        let answer = st.on_tool_output("t", &serde_json::json!("09:00 in Africa/Lagos"));
        assert_eq!(
            answer,
            Some(vec![Action::Say {
                text: "In Lagos it is 09:00 in Africa/Lagos.".into(),
                chunk: 0
            }])
        );
        // No place: the time rule is passed over, the fallback answers.
        assert_eq!(
            st.on_text("What time is it on Mars?"),
            Some(vec![Action::Say {
                text: "Sorry, I did not understand.".into(),
                chunk: 0
            }])
        );
    }
}
