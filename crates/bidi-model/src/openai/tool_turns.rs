//! When to ask for the answer after tool calls: one `response.create` per response, once
//! every function call of that response has its output.
//!
//! A GA Realtime response can carry several function-call items (parallel tool calls, and a
//! spoken preamble beside them). Sending `response.create` after each output starts a
//! response while the next output is still on its way; the service refuses the second
//! (`conversation_already_has_active_response`) and the answer covers only the first call.
//! [`ToolTurns`] is the pure state machine the connection and the model share: the decoder's
//! calls are registered per response, the response's end is marked, and each output sent
//! says whether `response.create` is due now.

use std::collections::{HashMap, HashSet};

/// What to do after a tool's output was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterOutput {
    /// Every call of the response is answered and the response ended: send
    /// `response.create`.
    Create,
    /// Other calls of the response are still running, or the response is still going: the
    /// last of them (or the response's end) sends it.
    Wait,
}

#[derive(Debug, Default)]
struct Turn {
    waiting: HashSet<String>,
    ended: bool,
}

/// The function calls of each response still waiting for their outputs.
///
/// ```
/// use bidi_model::openai::tool_turns::{AfterOutput, ToolTurns};
///
/// let mut turns = ToolTurns::default();
/// turns.call("resp_1", "call_a");
/// turns.call("resp_1", "call_b");
/// assert!(!turns.response_ended("resp_1")); // both calls still run
/// assert_eq!(turns.output_sent("call_b"), AfterOutput::Wait);
/// assert_eq!(turns.output_sent("call_a"), AfterOutput::Create); // one answer, after both
/// ```
#[derive(Debug, Default)]
pub struct ToolTurns {
    turns: HashMap<String, Turn>,
    response_of: HashMap<String, String>,
}

impl ToolTurns {
    /// The response `response_id` made the function call `call_id`.
    pub fn call(&mut self, response_id: &str, call_id: &str) {
        self.turns
            .entry(response_id.to_owned())
            .or_default()
            .waiting
            .insert(call_id.to_owned());
        self.response_of
            .insert(call_id.to_owned(), response_id.to_owned());
    }

    /// The response ended (`response.done`); `true` when its calls were all answered already,
    /// so `response.create` is due now. A response without calls is forgotten.
    pub fn response_ended(&mut self, response_id: &str) -> bool {
        let Some(turn) = self.turns.get_mut(response_id) else {
            return false;
        };
        turn.ended = true;
        if turn.waiting.is_empty() {
            self.turns.remove(response_id);
            return true;
        }
        false
    }

    /// The output of `call_id` was sent. A call this connection never saw (made on an earlier
    /// connection) asks for the answer at once, as one call alone would.
    pub fn output_sent(&mut self, call_id: &str) -> AfterOutput {
        let Some(response_id) = self.response_of.remove(call_id) else {
            return AfterOutput::Create;
        };
        let Some(turn) = self.turns.get_mut(&response_id) else {
            return AfterOutput::Create;
        };
        turn.waiting.remove(call_id);
        if turn.waiting.is_empty() && turn.ended {
            self.turns.remove(&response_id);
            AfterOutput::Create
        } else {
            AfterOutput::Wait
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_call_answered_after_its_response_ended() {
        let mut t = ToolTurns::default();
        t.call("r", "a");
        assert!(!t.response_ended("r"));
        assert_eq!(t.output_sent("a"), AfterOutput::Create);
    }

    #[test]
    fn outputs_before_the_response_ends_wait_for_its_end() {
        let mut t = ToolTurns::default();
        t.call("r", "a");
        t.call("r", "b");
        assert_eq!(t.output_sent("a"), AfterOutput::Wait);
        assert_eq!(t.output_sent("b"), AfterOutput::Wait);
        assert!(
            t.response_ended("r"),
            "the end sends the one response.create"
        );
        assert!(!t.response_ended("r"), "once");
    }

    #[test]
    fn unknown_calls_and_responses_without_calls() {
        let mut t = ToolTurns::default();
        assert_eq!(
            t.output_sent("from-an-earlier-connection"),
            AfterOutput::Create
        );
        assert!(!t.response_ended("no-calls"));
    }

    #[test]
    fn responses_are_independent() {
        let mut t = ToolTurns::default();
        t.call("r1", "a");
        t.call("r2", "b");
        t.response_ended("r1");
        t.response_ended("r2");
        assert_eq!(t.output_sent("b"), AfterOutput::Create);
        assert_eq!(t.output_sent("a"), AfterOutput::Create);
    }
}
