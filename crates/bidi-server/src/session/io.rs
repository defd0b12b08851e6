//! The agent's side of a socket: [`WsInput`] reads it the client's events, [`WsOutput`]
//! queues its events for the client, never holding up the agent for a slow reader.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use bidi_agent::types::{
    BidiAgentEvent, BidiInput, BidiInputEvent, BidiOutput, BidiOutputEvent, IoError,
};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

use super::link::{Closer, Frames, Read};
use super::{Inbound, InboundError, TurnClock};
use crate::metrics::ServerMetrics;

/// The client's input events, until the socket ends or the server closes it. A frame that
/// is not a valid event is answered with a `bidi_error`, and reading goes on.
pub(crate) struct WsInput {
    pub(crate) frames: Frames,
    pub(crate) inbound: Inbound,
    pub(crate) replies: mpsc::Sender<String>,
    pub(crate) clock: Arc<Mutex<TurnClock>>,
    pub(crate) grace: std::time::Duration,
}

impl WsInput {
    /// The event in `frame`, or `None` after telling the client what was wrong with it.
    async fn event(&mut self, frame: Read) -> Option<BidiInputEvent> {
        let parsed = match frame {
            Read::Text(text) => self.inbound.read(&text),
            Read::Binary => Err(InboundError::Binary),
        };
        match parsed {
            Ok(event) => {
                let now = Instant::now();
                let mut clock = self.clock.lock().unwrap_or_else(PoisonError::into_inner);
                match &event {
                    BidiInputEvent::Text(_) => clock.text_turn(now),
                    // The client's own samples, decoded once when the frame was read.
                    BidiInputEvent::Audio(_) => {
                        if let Some((pcm, rate)) = self.inbound.received_mono_pcm() {
                            clock.audio(pcm, rate, now);
                        }
                    }
                    _ => {}
                }
                Some(event)
            }
            Err(e) => {
                tracing::debug!("error=<{e}> | a client frame was refused");
                let reply = BidiAgentEvent::from(e.to_event()).to_json_string();
                let _ = tokio::time::timeout(self.grace, self.replies.send(reply)).await;
                None
            }
        }
    }
}

#[async_trait::async_trait]
impl BidiInput for WsInput {
    async fn read(&mut self) -> Result<Option<BidiInputEvent>, IoError> {
        loop {
            let frame = self.frames.next().await?;
            if let Some(event) = self.event(frame).await {
                return Ok(Some(event));
            }
        }
    }
}

/// The agent's events as JSON text frames on the client's bounded queue. Audio that does
/// not fit is dropped (and counted); any other event waits for room up to the slow-client
/// grace, then the socket is closed with 1008.
pub(crate) struct WsOutput {
    pub(crate) frames: mpsc::Sender<String>,
    pub(crate) closer: Closer,
    pub(crate) metrics: ServerMetrics,
    pub(crate) clock: Arc<Mutex<TurnClock>>,
    pub(crate) grace: std::time::Duration,
}

#[async_trait::async_trait]
impl BidiOutput for WsOutput {
    async fn write(&mut self, event: &BidiAgentEvent) -> Result<(), IoError> {
        let frame = event.to_json_string();
        match event {
            BidiAgentEvent::Output(BidiOutputEvent::AudioStream(_)) => {
                match self.frames.try_send(frame) {
                    Ok(()) => {
                        let latency = self
                            .clock
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .audio_sent(Instant::now());
                        if let Some(latency) = latency {
                            self.metrics.first_audio(latency);
                        }
                        Ok(())
                    }
                    Err(TrySendError::Full(_)) => {
                        self.metrics.audio_dropped();
                        Ok(())
                    }
                    Err(TrySendError::Closed(_)) => Err(gone()),
                }
            }
            other => {
                if matches!(
                    other,
                    BidiAgentEvent::Output(BidiOutputEvent::Interruption(_))
                ) {
                    self.metrics.interruption();
                }
                match tokio::time::timeout(self.grace, self.frames.send(frame)).await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(_)) => Err(gone()),
                    Err(_) => {
                        tracing::info!(
                            "code=<1008> | the client did not read for too long; closing"
                        );
                        self.closer.close(1008, "client too slow");
                        Err(IoError::Closed("the client did not keep up".into()))
                    }
                }
            }
        }
    }
}

fn gone() -> IoError {
    IoError::Closed("the client is gone".into())
}
