//! Barge-in, the agent's side: what the agent does when the user speaks over the model.
//!
//! A barge-in crosses every layer; each has one named home:
//!
//! 1. The model detects it in its provider's protocol and emits `bidi_interruption`; on
//!    OpenAI it also cancels the response and truncates the assistant's audio item to what
//!    the user heard, measured by the agent's `PlaybackTracker` (`bidi-model`,
//!    `openai/truncate.rs`; see docs/providers.md, "Barge-in truncation").
//! 2. The agent ([`on_interruption`], here): the `bidi_interruption` event is queued like any
//!    other, so `receive` yields it and `run` writes it to every output (that is how the
//!    outputs are told to clear); then the interruption hook
//!    ([`BidiInterruptionHookEvent`]) fires. What the user heard is counted by the one
//!    `PlaybackTracker` the agent gives its model (at every start) and its IO (outputs
//!    report what they played); the agent's history keeps only final transcripts, so an
//!    interrupted answer enters it as the provider finalised it.
//! 3. The outputs clear: `bidi-audio`'s speaker output drops the audio it has not played yet
//!    (see docs/audio.md, "Barge-in"); the text output prints `interrupted`.

use bidi_types::InterruptionReason;

use super::conversation::Conversation;
use crate::error::AgentError;
use crate::hooks::BidiInterruptionHookEvent;

/// The agent's reaction to a `bidi_interruption` already queued for the outputs: fires the
/// interruption hook. A hook's error ends `receive`.
pub(crate) async fn on_interruption(
    conv: &Conversation,
    reason: InterruptionReason,
) -> Result<(), AgentError> {
    let event = BidiInterruptionHookEvent {
        agent: conv.handle(),
        reason,
        interrupted_response_id: None,
    };
    conv.inner.hooks.interruption(&event).await
}
