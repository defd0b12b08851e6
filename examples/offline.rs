//! What the offline examples share: a simulated OpenAI Realtime model, and one question
//! asked and answered.

use std::time::Duration;

use bidi_agent::models::openai::{BidiOpenAIRealtimeModel, OpenAiRealtimeConfig};
use bidi_agent::types::{BidiAgentEvent, BidiOutputEvent, Role};
use bidi_agent::{AgentError, AgentEventStream, BidiAgent};
use bidi_sim::Script;
use bidi_sim::openai::{OpenAiSim, OpenAiSimHandle};
use futures_util::StreamExt;
use tokio::time::Instant;

use crate::assistant::conversation::Turns;

/// Any error of an example.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Starts the OpenAI Realtime simulator with `script` and a real OpenAI client pointed at it.
pub async fn openai_model(
    script: Script,
) -> Result<(OpenAiSimHandle, BidiOpenAIRealtimeModel), BoxError> {
    let sim = OpenAiSim::start(script).await?;
    let model = BidiOpenAIRealtimeModel::new(
        OpenAiRealtimeConfig::new()
            .endpoint(sim.url())
            .api_key("offline"),
    )?;
    Ok((sim, model))
}

/// Sends `text` and returns the agent's events until the answer is complete (every tool's
/// result answered), or nothing came for 10 s.
pub async fn ask(
    agent: &BidiAgent,
    events: &mut AgentEventStream,
    text: &str,
) -> Result<Vec<BidiAgentEvent>, AgentError> {
    let mut turns = Turns::new(Duration::from_secs(10));
    turns.sent();
    agent.send(text).await?;
    let mut seen = Vec::new();
    while !turns.idle(Instant::now()) {
        tokio::select! {
            event = events.next() => match event {
                Some(event) => {
                    let event = event?;
                    turns.observe(&event);
                    seen.push(event);
                }
                None => break,
            },
            _ = tokio::time::sleep_until(turns.quiet_deadline()) => {}
        }
    }
    Ok(seen)
}

/// The final transcripts of the assistant among `events`.
pub fn answers(events: &[BidiAgentEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            BidiAgentEvent::Output(BidiOutputEvent::TranscriptStream(t))
                if t.role() == Role::Assistant && t.is_final() =>
            {
                Some(t.text().to_owned())
            }
            _ => None,
        })
        .collect()
}
