//! The conversation loop: one input and several outputs around a [`BidiAgent`], ending when
//! the input is exhausted and the conversation is idle (every input answered, no tool
//! running), when the model closes, or at Ctrl-C.
//!
//! Unlike [`BidiAgent::run`], which goes on until the model ends the conversation, this loop
//! ends a scripted run (piped lines, a WAV file) on its own; and it can hold each line back
//! until the previous one is answered, as a person would.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use bidi_agent::types::{
    AgentView, BidiAgentEvent, BidiInput, BidiInputEvent, BidiOutput, BidiOutputEvent, IoError,
    ModelError,
};
use bidi_agent::{AgentError, BidiAgent};
use futures_util::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// Whether the conversation waits for anything: a response, a tool.
#[derive(Debug)]
pub struct Turns {
    /// A response must start and complete after the last input or tool result.
    awaiting: bool,
    /// A response started since `awaiting` was set.
    started_since: bool,
    /// The model spoke (transcript or audio) since `awaiting` was set.
    spoke_since: bool,
    /// A response is being generated.
    active: bool,
    /// Tool calls without a result yet.
    pending_tools: HashSet<String>,
    /// The last event or input.
    last_activity: Instant,
    /// How long silence counts as an answer that will not come.
    quiet: Duration,
}

impl Turns {
    /// Nothing awaited yet; `quiet` is how long to wait for an answer that may never come.
    pub fn new(quiet: Duration) -> Self {
        Self {
            awaiting: false,
            started_since: false,
            spoke_since: false,
            active: false,
            pending_tools: HashSet::new(),
            last_activity: Instant::now(),
            quiet,
        }
    }

    /// An input was sent: an answer is awaited.
    pub fn sent(&mut self) {
        self.awaiting = true;
        self.started_since = self.active;
        self.spoke_since = false;
        self.last_activity = Instant::now();
    }

    /// An event of the agent arrived.
    pub fn observe(&mut self, event: &BidiAgentEvent) {
        self.last_activity = Instant::now();
        match event {
            BidiAgentEvent::Output(BidiOutputEvent::ResponseStart(_)) => {
                self.active = true;
                self.started_since = true;
            }
            BidiAgentEvent::Output(BidiOutputEvent::ResponseComplete(_)) => {
                self.active = false;
                // A response begun after the input, or one that went on speaking after a
                // tool's result (Gemini answers the result in the same turn), answers it.
                if (self.started_since || self.spoke_since) && self.pending_tools.is_empty() {
                    self.awaiting = false;
                }
            }
            BidiAgentEvent::Output(BidiOutputEvent::ToolUseStream(u)) => {
                self.pending_tools
                    .insert(u.current_tool_use().tool_use_id.clone());
            }
            BidiAgentEvent::ToolResult(r) => {
                self.pending_tools.remove(&r.tool_result().tool_use_id);
                // The model answers the result, in a new response or the running one.
                self.awaiting = true;
                self.started_since = false;
                self.spoke_since = false;
            }
            BidiAgentEvent::Output(BidiOutputEvent::TranscriptStream(t))
                if t.role() == bidi_agent::types::Role::Assistant =>
            {
                self.spoke_since = true;
            }
            BidiAgentEvent::Output(BidiOutputEvent::AudioStream(_)) => {
                self.spoke_since = true;
            }
            _ => {}
        }
    }

    /// Nothing running and nothing awaited (or awaited in vain for `quiet`).
    pub fn idle(&self, now: Instant) -> bool {
        !self.active
            && self.pending_tools.is_empty()
            && (!self.awaiting || now >= self.quiet_deadline())
    }

    /// When silence ends the wait for an answer.
    pub fn quiet_deadline(&self) -> Instant {
        self.last_activity + self.quiet
    }
}

/// What the input reader waits for when gated: every input it sent received by the loop,
/// and the conversation idle.
#[derive(Debug, Clone, Copy)]
struct Ready {
    received: u64,
    idle: bool,
}

/// How [`converse`] runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Send an input only when the conversation is idle (scripted lines); else as it comes.
    pub gate_inputs: bool,
    /// How long silence counts as an answer that will not come.
    pub quiet: Duration,
}

/// Runs `agent` between `input` and `outputs` until the input is exhausted and the
/// conversation idle, the model closes, or Ctrl-C. Starts and stops everything.
pub async fn converse(
    agent: &BidiAgent,
    input: Box<dyn BidiInput>,
    mut outputs: Vec<Box<dyn BidiOutput>>,
    options: Options,
) -> Result<(), AgentError> {
    agent.start(None).await?;
    let view: Arc<dyn AgentView> = Arc::new(agent.handle());
    let started = start_outputs(&mut outputs, &view).await;
    let (ready_tx, ready_rx) = watch::channel(Ready {
        received: 0,
        idle: true,
    });
    let (cancel_tx, cancel_rx) = watch::channel(false);
    let (events_tx, events_rx) = mpsc::channel(16);
    let reader = tokio::spawn(read_input(
        input,
        Arc::clone(&view),
        options.gate_inputs.then_some(ready_rx),
        cancel_rx,
        events_tx,
    ));
    let result = match started {
        Ok(()) => pump(agent, &mut outputs, events_rx, ready_tx, options.quiet).await,
        Err(e) => Err(e),
    };
    cancel_tx.send(true).ok();
    let input_stop = match reader.await {
        Ok(stopped) => stopped.map_err(|source| AgentError::Io {
            name: "input.stop".into(),
            source,
        }),
        Err(e) => Err(AgentError::Io {
            name: "input".into(),
            source: IoError::Closed(format!("the input task failed: {e}")),
        }),
    };
    let mut output_stop = Ok(());
    for (i, output) in outputs.iter_mut().enumerate() {
        if let Err(source) = output.stop().await
            && output_stop.is_ok()
        {
            output_stop = Err(AgentError::Io {
                name: format!("output[{i}].stop"),
                source,
            });
        }
    }
    let agent_stop = agent.stop().await;
    result.and(input_stop).and(output_stop).and(agent_stop)
}

async fn start_outputs(
    outputs: &mut [Box<dyn BidiOutput>],
    view: &Arc<dyn AgentView>,
) -> Result<(), AgentError> {
    for (i, output) in outputs.iter_mut().enumerate() {
        output
            .start(Arc::clone(view))
            .await
            .map_err(|source| AgentError::Io {
                name: format!("output[{i}].start"),
                source,
            })?;
    }
    Ok(())
}

/// Reads the input (waiting for `ready` before each event when gated) into `events`; stops
/// the input at its end or on `cancel`.
async fn read_input(
    mut input: Box<dyn BidiInput>,
    view: Arc<dyn AgentView>,
    mut ready: Option<watch::Receiver<Ready>>,
    mut cancel: watch::Receiver<bool>,
    events: mpsc::Sender<Result<BidiInputEvent, IoError>>,
) -> Result<(), IoError> {
    if let Err(e) = input.start(view).await {
        events.send(Err(e)).await.ok();
        return Ok(());
    }
    let mut sent = 0u64;
    loop {
        if let Some(ready) = ready.as_mut() {
            tokio::select! {
                r = ready.wait_for(|r| r.received == sent && r.idle) => if r.is_err() { break },
                _ = cancel.wait_for(|c| *c) => break,
            }
        }
        let read = tokio::select! {
            r = input.read() => r,
            _ = cancel.wait_for(|c| *c) => break,
        };
        match read {
            Ok(Some(event)) => {
                if events.send(Ok(event)).await.is_err() {
                    break;
                }
                sent += 1;
            }
            Ok(None) => break,
            Err(e) => {
                events.send(Err(e)).await.ok();
                break;
            }
        }
    }
    input.stop().await
}

/// How long the conversation waits for the event stream to say why the model's connection
/// ended, when a send finds it ended.
const CAUSE_GRACE: Duration = Duration::from_secs(2);

async fn pump(
    agent: &BidiAgent,
    outputs: &mut [Box<dyn BidiOutput>],
    mut inputs: mpsc::Receiver<Result<BidiInputEvent, IoError>>,
    ready: watch::Sender<Ready>,
    quiet: Duration,
) -> Result<(), AgentError> {
    let mut turns = Turns::new(quiet);
    let mut events = agent.receive();
    let mut inputs_done = false;
    // A send that found the model's connection ended, and until when to wait for the event
    // stream to say why (a refusal, a provider error): that cause is what gets reported.
    let mut ended: Option<(AgentError, Instant)> = None;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        let deadline = match &ended {
            Some((_, until)) => *until,
            None => turns.quiet_deadline(),
        };
        tokio::select! {
            event = events.next() => match event {
                None => return ended.map_or(Ok(()), |(e, _)| Err(e)),
                Some(Err(e)) => return Err(e),
                Some(Ok(event)) => {
                    turns.observe(&event);
                    for (i, output) in outputs.iter_mut().enumerate() {
                        output.write(&event).await.map_err(|source| AgentError::Io {
                            name: format!("output[{i}]"),
                            source,
                        })?;
                    }
                }
            },
            input = inputs.recv(), if !inputs_done => match input {
                Some(Ok(event)) => {
                    turns.sent();
                    ready.send_modify(|r| {
                        r.received += 1;
                        r.idle = false;
                    });
                    match agent.send(event).await {
                        Ok(()) => {}
                        Err(e @ AgentError::Model(ModelError::Closed(_))) => {
                            ended = Some((e, Instant::now() + CAUSE_GRACE));
                            inputs_done = true;
                        }
                        Err(e) => return Err(e),
                    }
                }
                Some(Err(source)) => return Err(AgentError::Io { name: "input".into(), source }),
                None => inputs_done = true,
            },
            _ = tokio::time::sleep_until(deadline) => {}
            _ = &mut ctrl_c => return Ok(()),
        }
        if let Some((e, until)) = ended.take() {
            if Instant::now() >= until {
                return Err(e);
            }
            ended = Some((e, until));
            continue;
        }
        let idle = turns.idle(Instant::now());
        if inputs_done && idle {
            return Ok(());
        }
        ready.send_if_modified(|r| std::mem::replace(&mut r.idle, idle) != idle);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bidi_agent::types::{
        BidiResponseCompleteEvent, BidiResponseStartEvent, BidiTranscriptStreamEvent, Role,
        StopReason, ToolResult, ToolResultEvent, ToolUse, ToolUseStreamEvent,
    };
    use serde_json::json;

    fn start() -> BidiAgentEvent {
        BidiResponseStartEvent::new("r").into()
    }
    fn complete() -> BidiAgentEvent {
        BidiResponseCompleteEvent::new("r", StopReason::Complete).into()
    }

    #[tokio::test(start_paused = true)]
    async fn a_turn_with_a_tool_is_idle_only_after_the_answer_to_the_result() {
        let mut t = Turns::new(Duration::from_secs(5));
        assert!(t.idle(Instant::now()));
        t.sent();
        assert!(!t.idle(Instant::now()));
        t.observe(&start());
        let call = ToolUse::new("c1", "calculator", json!({}));
        t.observe(&ToolUseStreamEvent::complete(call).into());
        // The result comes back before the function-call response is done.
        t.observe(&ToolResultEvent::new(ToolResult::text("c1", "84")).into());
        t.observe(&complete());
        assert!(!t.idle(Instant::now()), "the answer to the result is due");
        t.observe(&start());
        t.observe(&complete());
        assert!(t.idle(Instant::now()));
    }

    #[tokio::test(start_paused = true)]
    async fn a_turn_that_answers_the_tool_result_in_the_same_response_is_idle_at_its_end() {
        let mut t = Turns::new(Duration::from_secs(5));
        t.sent();
        t.observe(&start());
        let call = ToolUse::new("c1", "current_time", json!({}));
        t.observe(&ToolUseStreamEvent::complete(call).into());
        t.observe(&ToolResultEvent::new(ToolResult::text("c1", "noon")).into());
        assert!(!t.idle(Instant::now()));
        let said = BidiTranscriptStreamEvent::new("It is noon.", Role::Assistant, true, None);
        t.observe(&said.into());
        t.observe(&BidiResponseCompleteEvent::new("r", StopReason::ToolUse).into());
        assert!(t.idle(Instant::now()));
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_that_never_comes_is_given_up_after_the_quiet_time() {
        let mut t = Turns::new(Duration::from_secs(5));
        t.sent();
        assert!(!t.idle(Instant::now()));
        tokio::time::advance(Duration::from_secs(6)).await;
        assert!(t.idle(Instant::now()));
    }
}
