//! The agent's shared core, [`Inner`]: its options, model, tools, hooks, state, history and
//! lifecycle phase; the history write ([`Inner::append`], which first lets the assistant's
//! settled turn in, as heard: [`heard`](super::heard)) and the gated send to the model
//! ([`Inner::send`], which keeps a player's `bidi_playback` report for the heard position).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bidi_types::{
    BidiInputEvent, BidiModel, BidiPlaybackEvent, Message, ModelConfig, ModelInput,
    PlaybackTracker, RestartConfig, StartParams, ToolSpec, TypesError,
};

use super::heard::HeardTurn;
use super::shared::{AgentCore, AgentHandle, Phase};
use crate::error::AgentError;
use crate::hooks::{BidiMessageAddedEvent, HookRegistry};
use crate::state::AgentState;
use crate::tools::{AgentTools, ToolExecutor};

/// Everything the agent, its tasks and its handles share.
pub(crate) struct Inner {
    pub(crate) model: Box<dyn BidiModel>,
    pub(crate) agent_id: String,
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) system_prompt: Option<String>,
    pub(crate) record_direct_tool_call: bool,
    pub(crate) tools: AgentTools,
    pub(crate) executor: Arc<dyn ToolExecutor>,
    pub(crate) hooks: HookRegistry,
    pub(crate) state: AgentState,
    pub(crate) playback: PlaybackTracker,
    /// The assistant's turn in progress, held until it settles (as heard).
    pub(crate) heard: Mutex<HeardTurn>,
    /// The id of the response in progress (the last `bidi_response_start`).
    pub(crate) current_response: Mutex<Option<String>>,
    pub(crate) messages: Mutex<Vec<Message>>,
    /// Held while messages are appended and their hooks run, so batches stay adjacent.
    pub(crate) append_lock: tokio::sync::Mutex<()>,
    /// Read-held by every send; write-held while the connection restarts.
    pub(crate) send_gate: tokio::sync::RwLock<()>,
    pub(crate) phase: Mutex<Phase>,
}

impl Inner {
    /// The history, locked.
    pub(crate) fn history(&self) -> MutexGuard<'_, Vec<Message>> {
        self.messages.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The assistant's turn in progress, locked.
    pub(crate) fn heard(&self) -> MutexGuard<'_, HeardTurn> {
        self.heard.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The id of the response in progress, locked.
    pub(crate) fn current_response(&self) -> MutexGuard<'_, Option<String>> {
        self.current_response
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn phase(&self) -> MutexGuard<'_, Phase> {
        self.phase.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn is_started(&self) -> bool {
        matches!(*self.phase(), Phase::Started(_))
    }

    /// A handle on this core.
    pub(crate) fn handle(self: &Arc<Self>) -> AgentHandle {
        AgentHandle::new(Arc::clone(self) as Arc<dyn AgentCore>)
    }

    /// What the model starts with: the system prompt, the tools' specs, the history so far.
    pub(crate) fn start_params(&self, restart_config: RestartConfig) -> StartParams {
        StartParams {
            system_prompt: self.system_prompt.clone(),
            tools: self.tools.specs(),
            messages: self.history().clone(),
            restart_config,
            playback: Some(self.playback.clone()),
        }
    }

    /// The history write: appends the assistant's settled turn if one is held (see
    /// [`heard`](super::heard)), then `batch`, adjacent, firing `BidiMessageAddedEvent` after
    /// each message.
    pub(crate) async fn append(
        self: &Arc<Self>,
        batch: impl IntoIterator<Item = Message>,
    ) -> Result<(), AgentError> {
        let _held = self.append_lock.lock().await;
        let settled = self.heard().settle(self.playback.emitted_in_response());
        for message in settled.into_iter().chain(batch) {
            self.history().push(message.clone());
            let event = BidiMessageAddedEvent {
                agent: self.handle(),
                message,
            };
            self.hooks.message_added(&event).await?;
        }
        Ok(())
    }

    /// Sends to the model through the gate (held during a restart); text is appended to the
    /// history first.
    pub(crate) async fn send(self: &Arc<Self>, input: ModelInput) -> Result<(), AgentError> {
        if !self.is_started() {
            return Err(AgentError::NotStarted { action: "sending" });
        }
        if let ModelInput::Event(BidiInputEvent::Playback(report)) = &input {
            return self.report_played(report);
        }
        let _gate = self.send_gate.read().await;
        if let ModelInput::Event(BidiInputEvent::Text(t)) = &input {
            self.append([Message::text(t.role(), t.text())]).await?;
        }
        self.model.send(input).await?;
        Ok(())
    }
}

impl Inner {
    /// Lets the assistant's held turn into the history now (at a restart, at stop).
    pub(crate) async fn settle(self: &Arc<Self>) -> Result<(), AgentError> {
        self.append(std::iter::empty()).await
    }

    /// A player's `bidi_playback` report: the heard position of the current response. A
    /// report naming another response is ignored; one past the audio sent is refused.
    fn report_played(&self, report: &BidiPlaybackEvent) -> Result<(), AgentError> {
        if let Some(id) = report.response_id()
            && self.current_response().as_deref() != Some(id)
        {
            tracing::debug!(
                response_id = id,
                "bidi_playback for a response that is not current, ignored"
            );
            return Ok(());
        }
        let played = Duration::from_millis(report.played_ms());
        self.playback.report_played(played).map_err(|sent| {
            AgentError::InvalidInput(TypesError::OutOfRange {
                field: "played_ms",
                value: report.played_ms().to_string(),
                reason: if sent.is_zero() {
                    "no audio was sent for the current response"
                } else {
                    "more than the audio sent for the current response"
                },
            })
        })
    }
}

impl AgentCore for Inner {
    fn agent_id(&self) -> &str {
        &self.agent_id
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }
    fn system_prompt(&self) -> Option<&str> {
        self.system_prompt.as_deref()
    }
    fn messages(&self) -> Vec<Message> {
        self.history().clone()
    }
    fn state(&self) -> &AgentState {
        &self.state
    }
    fn tool_names(&self) -> Vec<String> {
        self.tools.names()
    }
    fn tool_specs(&self) -> Vec<ToolSpec> {
        self.tools.specs()
    }
    fn model_config(&self) -> ModelConfig {
        self.model.config()
    }
    fn connection_id(&self) -> Option<String> {
        self.model.connection_id()
    }
    fn playback(&self) -> PlaybackTracker {
        self.playback.clone()
    }
}
