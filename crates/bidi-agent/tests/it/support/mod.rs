//! Test support: a scripted [`BidiModel`] that replays one list of steps per connection and
//! records what it was started with and sent.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bidi_agent::types::*;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::sync::watch;

#[cfg(feature = "s3")]
pub mod moto;
#[cfg(feature = "s3")]
pub mod relay;

/// One step of a connection's script.
#[derive(Debug)]
pub enum Step {
    /// Yield this event.
    Event(BidiOutputEvent),
    /// End the stream with this error.
    Fail(ModelError),
    /// Wait until the model has received this many inputs in all.
    WaitSent(usize),
    /// End the stream (the connection closed).
    End,
}

impl From<BidiOutputEvent> for Step {
    fn from(e: BidiOutputEvent) -> Self {
        Self::Event(e)
    }
}

#[derive(Default)]
struct Shared {
    scripts: Mutex<VecDeque<Vec<Step>>>,
    fail_start: Mutex<Option<ModelError>>,
    /// Every send is recorded, then refused as if the connection had ended.
    sends_closed: std::sync::atomic::AtomicBool,
    fail_stop: Mutex<Option<ModelError>>,
    starts: Mutex<Vec<StartParams>>,
    sent: Mutex<Vec<ModelInput>>,
    sent_on: Mutex<Vec<usize>>,
    sent_count: Mutex<Option<watch::Sender<usize>>>,
    stops: AtomicUsize,
    live: Mutex<Option<(String, watch::Sender<bool>)>>,
    pending: Mutex<Option<(Vec<Step>, watch::Receiver<bool>)>>,
    connections: AtomicUsize,
}

/// A model that replays scripts. Clones share everything, so a test keeps one to inspect.
#[derive(Clone, Default)]
pub struct ScriptedModel(Arc<Shared>);

impl ScriptedModel {
    /// A model whose n-th start plays `scripts[n]` (then stays open until stopped).
    pub fn new(scripts: Vec<Vec<Step>>) -> Self {
        let m = Self::default();
        *m.0.scripts.lock().unwrap() = scripts.into();
        *m.0.sent_count.lock().unwrap() = Some(watch::channel(0).0);
        m
    }

    pub fn fail_next_start(&self, e: ModelError) {
        *self.0.fail_start.lock().unwrap() = Some(e);
    }

    /// From now on every send is recorded (for [`Step::WaitSent`]) and then fails with
    /// [`ModelError::Closed`], as a provider's send does once its connection ended.
    pub fn close_sends(&self) {
        self.0.sends_closed.store(true, Ordering::SeqCst);
    }

    pub fn fail_next_stop(&self, e: ModelError) {
        *self.0.fail_stop.lock().unwrap() = Some(e);
    }

    pub fn starts(&self) -> Vec<StartParams> {
        self.0.starts.lock().unwrap().clone()
    }

    pub fn sent(&self) -> Vec<ModelInput> {
        self.0.sent.lock().unwrap().clone()
    }

    pub fn sent_tool_results(&self) -> Vec<ToolResult> {
        self.sent()
            .into_iter()
            .filter_map(|i| match i {
                ModelInput::ToolResult(r) => Some(r),
                _ => None,
            })
            .collect()
    }

    /// For each input sent, the number of the connection (1-based start) it went to.
    pub fn sent_on(&self) -> Vec<usize> {
        self.0.sent_on.lock().unwrap().clone()
    }

    pub fn stops(&self) -> usize {
        self.0.stops.load(Ordering::SeqCst)
    }
}

#[bidi_agent::async_trait]
impl BidiModel for ScriptedModel {
    fn config(&self) -> ModelConfig {
        ModelConfig::new(
            "scripted",
            AudioConfig::new(SampleRate::Hz24000, SampleRate::Hz16000),
        )
    }

    fn connection_id(&self) -> Option<String> {
        self.0
            .live
            .lock()
            .unwrap()
            .as_ref()
            .map(|(id, _)| id.clone())
    }

    async fn start(&self, params: StartParams) -> Result<(), ModelError> {
        if let Some(e) = self.0.fail_start.lock().unwrap().take() {
            return Err(e);
        }
        if self.0.live.lock().unwrap().is_some() {
            return Err(ModelError::AlreadyStarted);
        }
        self.0.starts.lock().unwrap().push(params);
        let n = self.0.connections.fetch_add(1, Ordering::SeqCst) + 1;
        let (stop_tx, stop_rx) = watch::channel(false);
        *self.0.live.lock().unwrap() = Some((format!("conn-{n}"), stop_tx));
        let script = self
            .0
            .scripts
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_default();
        *self.0.pending.lock().unwrap() = Some((script, stop_rx));
        Ok(())
    }

    async fn send(&self, input: ModelInput) -> Result<(), ModelError> {
        if self.0.live.lock().unwrap().is_none() {
            return Err(ModelError::NotStarted { action: "sending" });
        }
        if let ModelInput::ToolResult(r) = &input
            && r.content.iter().any(|c| c.kind() == "document")
        {
            return Err(ModelError::Unsupported {
                content: "document".into(),
                provider: "scripted",
            });
        }
        let count = {
            let mut sent = self.0.sent.lock().unwrap();
            sent.push(input);
            self.0
                .sent_on
                .lock()
                .unwrap()
                .push(self.0.connections.load(Ordering::SeqCst));
            sent.len()
        };
        if let Some(tx) = self.0.sent_count.lock().unwrap().as_ref() {
            tx.send_replace(count);
        }
        if self.0.sends_closed.load(Ordering::SeqCst) {
            return Err(ModelError::Closed("the connection has ended".into()));
        }
        Ok(())
    }

    fn receive(&self) -> Result<ModelEventStream, ModelError> {
        let (script, stop) =
            self.0
                .pending
                .lock()
                .unwrap()
                .take()
                .ok_or(ModelError::NotStarted {
                    action: "receiving",
                })?;
        let sent = self
            .0
            .sent_count
            .lock()
            .unwrap()
            .as_ref()
            .map(|tx| tx.subscribe())
            .unwrap_or_else(|| watch::channel(0).1);
        let state = (VecDeque::from(script), stop, sent, false);
        Ok(Box::pin(futures_util::stream::unfold(
            state,
            |(mut script, mut stop, mut sent, done)| async move {
                if done {
                    return None;
                }
                loop {
                    match script.pop_front() {
                        Some(Step::Event(e)) => return Some((Ok(e), (script, stop, sent, false))),
                        Some(Step::Fail(e)) => return Some((Err(e), (script, stop, sent, true))),
                        Some(Step::WaitSent(n)) => {
                            tokio::select! {
                                _ = sent.wait_for(|c| *c >= n) => {}
                                _ = stop.wait_for(|s| *s) => return None,
                            }
                        }
                        Some(Step::End) => return None,
                        None => {
                            let _ = stop.wait_for(|s| *s).await;
                            return None;
                        }
                    }
                }
            },
        )))
    }

    async fn stop(&self) -> Result<(), ModelError> {
        self.0.stops.fetch_add(1, Ordering::SeqCst);
        if let Some((_, tx)) = self.0.live.lock().unwrap().take() {
            tx.send_replace(true);
        }
        if let Some(e) = self.0.fail_stop.lock().unwrap().take() {
            return Err(e);
        }
        Ok(())
    }
}

// Event builders.

pub fn conn_start(id: &str) -> Step {
    Step::Event(BidiConnectionStartEvent::new(id, "scripted").into())
}

pub fn transcript(text: &str, role: Role, is_final: bool) -> Step {
    Step::Event(BidiTranscriptStreamEvent::new(text, role, is_final, None).into())
}

pub fn tool_use(id: &str, name: &str, input: Value) -> Step {
    Step::Event(ToolUseStreamEvent::complete(ToolUse::new(id, name, input)).into())
}

pub fn audio() -> Step {
    Step::Event(
        BidiAudioStreamEvent::from_bytes(
            &[0, 1, 2, 3],
            AudioFormat::Pcm,
            SampleRate::Hz16000,
            Channels::Mono,
        )
        .into(),
    )
}

pub fn interruption() -> Step {
    Step::Event(BidiInterruptionEvent::new(InterruptionReason::UserSpeech).into())
}

pub fn timeout(message: &str) -> Step {
    Step::Fail(ModelError::Timeout(
        ModelTimeout::new(message).with_restart("test_restart_config", json!(1)),
    ))
}

/// Collects the agent's events until `stop_after` returns true for one (inclusive), or the
/// stream ends. Fails the test after a generous bound against hangs.
pub async fn collect_until(
    events: &mut bidi_agent::AgentEventStream,
    mut stop_after: impl FnMut(&BidiAgentEvent) -> bool,
) -> Vec<Result<BidiAgentEvent, bidi_agent::AgentError>> {
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(item) = events.next().await {
            let last = match &item {
                Ok(e) => stop_after(e),
                Err(_) => false,
            };
            out.push(item);
            if last {
                break;
            }
        }
    })
    .await
    .expect("events did not arrive within 20 s");
    out
}

/// Collects every event until the stream ends.
pub async fn collect_all(
    events: &mut bidi_agent::AgentEventStream,
) -> Vec<Result<BidiAgentEvent, bidi_agent::AgentError>> {
    collect_until(events, |_| false).await
}

/// The type tags of a list of collected events (`Err` as `error`).
pub fn types(events: &[Result<BidiAgentEvent, bidi_agent::AgentError>]) -> Vec<&'static str> {
    events
        .iter()
        .map(|e| e.as_ref().map_or("error", BidiAgentEvent::event_type))
        .collect()
}

/// Bounds a future against hangs.
pub async fn within<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .expect("did not finish within 20 s")
}
