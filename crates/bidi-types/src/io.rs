//! The boundary between the agent and the outside world: [`BidiInput`] (microphone, stdin,
//! a WebSocket...) produces input events, [`BidiOutput`] (speaker, stdout...) consumes the
//! agent's events, and both see the agent through [`AgentView`].

use std::sync::Arc;

use crate::{BidiAgentEvent, BidiInputEvent, BoxError, ModelConfig, PlaybackTracker};

/// The read-only view of the agent that inputs and outputs get at `start`.
///
/// ```
/// use bidi_types::{AgentView, AudioConfig, ModelConfig, SampleRate};
///
/// struct Fixed;
/// impl AgentView for Fixed {
///     fn model_config(&self) -> ModelConfig {
///         ModelConfig::new("m", AudioConfig::new(SampleRate::Hz16000, SampleRate::Hz24000))
///     }
///     fn agent_id(&self) -> &str { "default" }
/// }
/// assert_eq!(Fixed.model_config().audio.output_rate, SampleRate::Hz24000);
/// ```
pub trait AgentView: Send + Sync {
    /// The model's config, of which audio IO reads [`ModelConfig::audio`].
    fn model_config(&self) -> ModelConfig;

    /// The agent's id.
    fn agent_id(&self) -> &str;

    /// The tracker an audio output reports playback through (see [`PlaybackTracker`]);
    /// `None` when the agent does not track playback.
    fn playback(&self) -> Option<PlaybackTracker> {
        None
    }
}

/// Why an input or output failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IoError {
    /// `read`/`write` before `start`.
    #[error("io not started | call start before {action}")]
    NotStarted {
        /// What was attempted.
        action: &'static str,
    },
    /// The source or sink is gone (a closed socket, a lost device).
    #[error("io closed | {0}")]
    Closed(String),
    /// An operating-system error.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// Any other failure of the implementation (an audio device error, ...).
    #[error(transparent)]
    Other(BoxError),
}

/// A source of input events for the agent.
///
/// `BidiAgent::run` calls `start` once, then `read` in a loop, sending each event to the
/// model, and `stop` at the end whatever happened. `read` returning `Ok(None)` means the
/// source is exhausted (end of file, client gone): the agent stops reading it and carries on.
///
/// ```
/// use async_trait::async_trait;
/// use bidi_types::{BidiInput, BidiInputEvent, IoError};
///
/// /// Sends a fixed list of lines, then ends.
/// struct Lines(std::vec::IntoIter<&'static str>);
///
/// #[async_trait]
/// impl BidiInput for Lines {
///     async fn read(&mut self) -> Result<Option<BidiInputEvent>, IoError> {
///         Ok(self.0.next().map(BidiInputEvent::from))
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let mut input: Box<dyn BidiInput> = Box::new(Lines(vec!["hi"].into_iter()));
/// assert!(input.read().await.unwrap().is_some());
/// assert!(input.read().await.unwrap().is_none());
/// # }
/// ```
#[async_trait::async_trait]
pub trait BidiInput: Send {
    /// Opens the source. `agent` tells, for example, the model's input audio rate.
    async fn start(&mut self, agent: Arc<dyn AgentView>) -> Result<(), IoError> {
        let _ = agent;
        Ok(())
    }

    /// The next event; `Ok(None)` once the source is exhausted.
    async fn read(&mut self) -> Result<Option<BidiInputEvent>, IoError>;

    /// Releases the source. Called once, even after an error.
    async fn stop(&mut self) -> Result<(), IoError> {
        Ok(())
    }
}

/// A sink for the agent's events: audio to play, transcripts to show, tool activity.
///
/// `BidiAgent::run` calls `start` once, then `write` for every event the agent yields
/// (outputs must ignore what they do not use), and `stop` at the end whatever happened.
///
/// ```
/// use async_trait::async_trait;
/// use bidi_types::{BidiAgentEvent, BidiOutput, BidiOutputEvent, IoError};
///
/// /// Counts interruptions.
/// #[derive(Default)]
/// struct Interruptions(usize);
///
/// #[async_trait]
/// impl BidiOutput for Interruptions {
///     async fn write(&mut self, event: &BidiAgentEvent) -> Result<(), IoError> {
///         if let Some(BidiOutputEvent::Interruption(_)) = event.as_output() {
///             self.0 += 1;
///         }
///         Ok(())
///     }
/// }
/// ```
#[async_trait::async_trait]
pub trait BidiOutput: Send {
    /// Opens the sink. `agent` tells, for example, the model's output audio rate.
    async fn start(&mut self, agent: Arc<dyn AgentView>) -> Result<(), IoError> {
        let _ = agent;
        Ok(())
    }

    /// Handles one event.
    async fn write(&mut self, event: &BidiAgentEvent) -> Result<(), IoError>;

    /// Releases the sink. Called once, even after an error.
    async fn stop(&mut self) -> Result<(), IoError> {
        Ok(())
    }
}
