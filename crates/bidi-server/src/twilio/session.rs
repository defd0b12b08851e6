//! One phone call on a Twilio Media Streams socket: the caller's audio to the agent, the
//! agent's audio to the caller with marks, `clear` on barge-in ahead of anything queued, the
//! marks Twilio echoes back as what the caller heard.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use bidi_agent::types::{
    AgentView, BidiAgentEvent, BidiInput, BidiInputEvent, BidiOutput, BidiOutputEvent,
    BidiTextInputEvent, IoError,
};
use bidi_agent::{AgentError, InvocationState};
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::sync::{OwnedSemaphorePermit, mpsc};

use super::call::{CallerAudio, Playout, TWILIO_RATE};
use super::protocol::{self, StreamStart, TwilioEvent};
use crate::factory::SessionStart;
use crate::session::TurnClock;
use crate::session::link::{self, Closer, Frames, Read};
use crate::state::AppState;

/// How long a call may take to say `start`.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A message for Twilio, tagged with the interruption epoch it belongs to: the writer drops
/// media queued before a `clear`.
type Tagged = (u64, String);

/// Serves one Twilio Media Streams socket to its end.
pub(crate) async fn serve(socket: WebSocket, state: Arc<AppState>, _slot: OwnedSemaphorePermit) {
    let config = &state.config;
    let metrics = state.metrics.clone();
    metrics.session_opened();
    let _open = Open(metrics.clone());
    let (sink, stream) = socket.split();
    let reading = link::Reading::start(stream, &state);
    let closer = reading.closer.clone();
    let (frames_tx, frames_rx) = mpsc::channel::<Tagged>(config.send_queue.max(1));
    let (urgent_tx, urgent_rx) = mpsc::channel::<String>(8);
    let epoch = Arc::new(AtomicU64::new(0));
    let writer = tokio::spawn(write(
        sink,
        frames_rx,
        urgent_rx,
        Arc::clone(&epoch),
        reading.closer.clone(),
        metrics.clone(),
    ));

    let started = {
        let mut frames = reading.frames().await;
        match tokio::time::timeout(START_TIMEOUT, wait_for_start(&mut frames)).await {
            Ok(Some(start)) => Some((start, frames)),
            Ok(None) => {
                tracing::info!("the call ended before its start message");
                None
            }
            Err(_) => {
                tracing::info!("no start message within {START_TIMEOUT:?}; closing");
                closer.close(1008, "no start message");
                None
            }
        }
    };
    match started {
        Some((start, frames)) => {
            converse(&state, start, frames, frames_tx, urgent_tx, epoch, &closer).await;
        }
        // No conversation: the writer's queues end here, so it sends the close; the frames
        // were given back above, so the client's close can be read.
        None => drop((frames_tx, urgent_tx)),
    }
    reading.finish(writer).await;
}

/// Skips what comes before `start` (logged); `None` when the call ends first.
async fn wait_for_start(frames: &mut Frames) -> Option<StreamStart> {
    while let Ok(frame) = frames.next().await {
        let Read::Text(text) = frame else { continue };
        match protocol::parse(&text) {
            Ok(TwilioEvent::Start(start)) => return Some(start),
            Ok(TwilioEvent::Stop) => return None,
            Ok(TwilioEvent::Connected) => {}
            Ok(other) => tracing::debug!("event=<{other:?}> | skipped before start"),
            Err(e) => tracing::debug!("error=<{e}> | skipped a bad frame before start"),
        }
    }
    None
}

#[allow(clippy::too_many_arguments)]
async fn converse(
    state: &AppState,
    start: StreamStart,
    frames: Frames,
    out: mpsc::Sender<Tagged>,
    urgent: mpsc::Sender<String>,
    epoch: Arc<AtomicU64>,
    closer: &Closer,
) {
    tracing::info!(call_sid = %start.call_sid, stream_sid = %start.stream_sid, "call started");
    // With a session store, each call is a session named by its call id.
    let session = match &state.config.sessions {
        None => None,
        Some(store) => store
            .open(&start.call_sid)
            .await
            .map_err(|e| tracing::warn!("error=<{e}> | no session for this call"))
            .ok(),
    };
    let start_agent = SessionStart {
        session,
        phone_call: true,
    };
    let agent = match state.factory.create(start_agent).await {
        Ok(agent) => agent,
        Err(e) => {
            tracing::warn!("error=<{e}> | could not make the call's agent");
            closer.close(1011, "agent unavailable");
            return;
        }
    };
    let caller = match CallerAudio::new(&agent.model().config().audio) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!("error=<{e}> | the model's audio cannot be fed from a call");
            closer.close(1011, "unsupported model audio");
            return;
        }
    };
    let playout = Arc::new(Mutex::new(Playout::new()));
    let clock = Arc::new(Mutex::new(TurnClock::new()));
    let invocation = InvocationState::new().with(
        "twilio",
        json!({"call_sid": start.call_sid, "stream_sid": start.stream_sid,
            "account_sid": start.account_sid, "custom_parameters": start.custom_parameters}),
    );
    let input = CallInput {
        frames,
        caller,
        playout: Arc::clone(&playout),
        clock: Arc::clone(&clock),
    };
    let output = CallOutput {
        stream_sid: start.stream_sid.clone(),
        out,
        urgent,
        epoch,
        playout,
        clock,
        metrics: state.metrics.clone(),
    };
    let outcome = agent
        .run(
            vec![Box::new(input)],
            vec![Box::new(output)],
            Some(invocation),
        )
        .await;
    match outcome {
        Ok(())
        | Err(AgentError::Io {
            source: IoError::Closed(_),
            ..
        }) => {}
        Err(e) => {
            tracing::info!("error=<{e}> | the call's conversation failed");
            closer.close(1011, "the conversation failed");
        }
    }
    tracing::info!(call_sid = %start.call_sid, "call ended");
}

/// Keeps `bidi_sessions_active` true however the call ends.
struct Open(crate::metrics::ServerMetrics);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.session_closed();
    }
}

/// The caller's side: audio, DTMF digits and mark echoes as the agent's input events.
struct CallInput {
    frames: Frames,
    caller: CallerAudio,
    playout: Arc<Mutex<Playout>>,
    clock: Arc<Mutex<TurnClock>>,
}

impl CallInput {
    fn event(&mut self, text: &str) -> Result<Option<BidiInputEvent>, IoError> {
        let event = match protocol::parse(text) {
            Ok(event) => event,
            Err(e) => {
                tracing::debug!("error=<{e}> | skipped a bad frame");
                return Ok(None);
            }
        };
        Ok(match event {
            TwilioEvent::Media { track, payload } if track.starts_with("inbound") => {
                match self.caller.decode(&payload) {
                    Ok((audio, pcm)) => {
                        lock(&self.clock).samples(pcm, TWILIO_RATE, Instant::now());
                        Some(BidiInputEvent::Audio(audio))
                    }
                    Err(e) => {
                        tracing::debug!("error=<{e}> | skipped a media message");
                        None
                    }
                }
            }
            TwilioEvent::Mark { name } => lock(&self.playout)
                .echoed(&name)
                .map(BidiInputEvent::Playback),
            TwilioEvent::Dtmf { digit } => {
                lock(&self.clock).text_turn(Instant::now());
                Some(BidiInputEvent::Text(BidiTextInputEvent::new(format!(
                    "DTMF {digit}"
                ))))
            }
            TwilioEvent::Stop => return Err(IoError::Closed("the call ended (stop)".into())),
            other => {
                tracing::debug!("event=<{other:?}> | skipped");
                None
            }
        })
    }
}

#[async_trait::async_trait]
impl BidiInput for CallInput {
    async fn read(&mut self) -> Result<Option<BidiInputEvent>, IoError> {
        loop {
            let Read::Text(text) = self.frames.next().await? else {
                tracing::debug!("skipped a binary frame");
                continue;
            };
            if let Some(event) = self.event(&text)? {
                return Ok(Some(event));
            }
        }
    }
}

/// The agent's side: audio as μ-law `media` and marks, `clear` on interruption.
struct CallOutput {
    stream_sid: String,
    out: mpsc::Sender<Tagged>,
    urgent: mpsc::Sender<String>,
    epoch: Arc<AtomicU64>,
    playout: Arc<Mutex<Playout>>,
    clock: Arc<Mutex<TurnClock>>,
    metrics: crate::metrics::ServerMetrics,
}

#[async_trait::async_trait]
impl BidiOutput for CallOutput {
    /// The caller's phone plays the audio and Twilio's mark echoes report it: nothing is
    /// heard until a mark says so (a barge-in before any echo truncates nothing).
    async fn start(&mut self, agent: Arc<dyn AgentView>) -> Result<(), IoError> {
        if let Some(tracker) = agent.playback() {
            tracker.attach();
        }
        Ok(())
    }

    async fn write(&mut self, event: &BidiAgentEvent) -> Result<(), IoError> {
        let BidiAgentEvent::Output(event) = event else {
            return Ok(());
        };
        match event {
            BidiOutputEvent::ResponseStart(start) => {
                lock(&self.playout).response_started(Some(start.response_id().to_owned()));
            }
            BidiOutputEvent::Interruption(_) => {
                self.metrics.interruption();
                // Everything queued before the clear is dropped by the writer; the clear
                // goes ahead of it.
                let send_clear = lock(&self.playout).interrupted();
                self.epoch.fetch_add(1, Ordering::AcqRel);
                if send_clear
                    && self
                        .urgent
                        .try_send(protocol::clear(&self.stream_sid))
                        .is_err()
                {
                    tracing::debug!("the clear could not be queued: the call is ending");
                }
            }
            BidiOutputEvent::AudioStream(audio) => {
                let chunk = match lock(&self.playout).audio(audio) {
                    Ok(Some(chunk)) => chunk,
                    Ok(None) => return Ok(()),
                    Err(e) => {
                        tracing::debug!("error=<{e}> | skipped the model's audio chunk");
                        return Ok(());
                    }
                };
                let epoch = self.epoch.load(Ordering::Acquire);
                let media = (epoch, protocol::media(&self.stream_sid, &chunk.payload));
                let mark = (epoch, protocol::mark(&self.stream_sid, &chunk.mark));
                if self.out.try_send(media).is_err() || self.out.try_send(mark).is_err() {
                    self.metrics.audio_dropped();
                } else if let Some(latency) = lock(&self.clock).audio_sent(Instant::now()) {
                    self.metrics.first_audio(latency);
                }
            }
            _ => {}
        }
        Ok(())
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Sends `clear`s first, then queued messages of the current epoch, until the queues end
/// or a close is asked for.
async fn write(
    mut sink: SplitSink<WebSocket, Message>,
    mut frames: mpsc::Receiver<Tagged>,
    mut urgent: mpsc::Receiver<String>,
    epoch: Arc<AtomicU64>,
    closer: Closer,
    metrics: crate::metrics::ServerMetrics,
) {
    let mut close = closer.subscribe();
    loop {
        let text = tokio::select! {
            biased;
            changed = close.changed() => {
                let asked = *close.borrow_and_update();
                if changed.is_err() || asked.is_some() {
                    if let Some((code, reason)) = asked {
                        let _ = sink.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
                    }
                    return;
                }
                continue;
            }
            Some(clear) = urgent.recv() => clear,
            frame = frames.recv() => match frame {
                Some((tag, text)) if tag == epoch.load(Ordering::Acquire) => text,
                Some(_) => continue,
                None => {
                    let (code, reason) = closer.at_end();
                    let _ = sink.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
                    return;
                }
            },
        };
        // Media and its mark (queued together) go out in one write.
        let more = || {
            while let Ok((tag, text)) = frames.try_recv() {
                if tag == epoch.load(Ordering::Acquire) {
                    return Some(text);
                }
            }
            None
        };
        let Ok(sent) = link::send_batch(&mut sink, text, more).await else {
            return;
        };
        for _ in 0..sent {
            metrics.message_out();
        }
    }
}
