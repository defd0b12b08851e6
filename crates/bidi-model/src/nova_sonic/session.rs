//! The task behind a started model: feeds the open connection, keeps the user audio content
//! alive with silence, maps what the server sends, tracks the history a new connection
//! replays, and swaps connections proactively before the service's time limit.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_bedrockruntime::Client;
use base64::Engine;
use bidi_types::{
    BidiInputEvent, BidiOutputEvent, Message, ModelError, ModelInput, ModelTimeout, Role, ToolSpec,
};
use tokio::sync::{mpsc, watch};
use tokio::time::{MissedTickBehavior, timeout};

use super::NovaSonicConfig;
use super::connection::{Connection, Incoming};
use super::encode::{self, NovaRole};
use super::{Decoder, history};

/// How long closing events and the server's last events may take on stop.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// What the model's `send` asks of the session task.
#[derive(Debug)]
pub(crate) enum Command {
    /// Forward input.
    Input(ModelInput),
}

/// The events sent to `receive()`.
pub(crate) type EventSender = mpsc::Sender<Result<BidiOutputEvent, ModelError>>;

/// One open connection and its names.
struct Live {
    conn: Connection,
    prompt: String,
    audio_content: String,
    opened_at: Instant,
    /// Opened by a proactive hand-off and silent so far: if it fails now, the agent's
    /// restart (with history) is the way out, so the failure is reported as a timeout.
    fresh_handoff: bool,
}

/// What a session needs to open connections.
pub(crate) struct SessionParams {
    pub client: Client,
    pub config: Arc<NovaSonicConfig>,
    pub system_prompt: Option<String>,
    pub tools: Vec<ToolSpec>,
    pub history: Vec<Message>,
    /// Becomes `true` when `stop` is called.
    pub stop: watch::Receiver<bool>,
}

/// The session task's state.
pub(crate) struct Session {
    params: SessionParams,
    live: Live,
    decoder: Decoder,
    events: EventSender,
    /// User audio waiting for room in the connection's input (bounded by `handoff_buffer`).
    pending: VecDeque<(String, Duration)>,
    pending_len: Duration,
    /// User audio sent on the live connection since the last final user transcript (at
    /// most `handoff_replay`): replayed to the next connection at a hand-off.
    unheard: VecDeque<(String, Duration)>,
    unheard_len: Duration,
    last_user_audio: Option<Instant>,
    tools_pending: HashSet<String>,
    silence_b64: String,
}

fn new_name() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The duration of `len` bytes of 16-bit PCM at `rate` Hz with `channels` channels.
fn pcm_duration(len: usize, rate: u32, channels: u16) -> Duration {
    let bytes_per_sec = u64::from(rate) * 2 * u64::from(channels);
    if bytes_per_sec == 0 {
        return Duration::ZERO;
    }
    Duration::from_nanos((len as u64).saturating_mul(1_000_000_000) / bytes_per_sec)
}

impl Session {
    /// Opens the first connection and queues its setup.
    pub(crate) async fn open(params: SessionParams, events: EventSender) -> Self {
        let audio = params.config.audio.clone();
        let frame = params.config.silence_frame;
        let silence_len = (u128::from(audio.input_rate.hz())
            * u128::from(audio.channels.count())
            * 2
            * frame.as_millis()
            / 1000) as usize;
        let silence_b64 =
            base64::engine::general_purpose::STANDARD.encode(vec![0u8; silence_len & !1]);
        let live = Self::connect(&params).await;
        Self {
            decoder: Decoder::new(audio),
            params,
            live,
            events,
            pending: VecDeque::new(),
            pending_len: Duration::ZERO,
            unheard: VecDeque::new(),
            unheard_len: Duration::ZERO,
            last_user_audio: None,
            tools_pending: HashSet::new(),
            silence_b64,
        }
    }

    /// Opens a connection and queues sessionStart, promptStart, the system prompt, the
    /// history and the start of the user audio content.
    async fn connect(params: &SessionParams) -> Live {
        let config = &params.config;
        let conn = Connection::open(params.client.clone(), config.model_id.clone());
        let prompt = new_name();
        let audio_content = new_name();
        let mut setup = vec![
            encode::session_start(&config.inference, config.turn_detection),
            encode::prompt_start(&prompt, &config.audio, &config.voice, &params.tools),
        ];
        setup.extend(encode::text_content(
            &prompt,
            &new_name(),
            NovaRole::System,
            false,
            params.system_prompt.as_deref().unwrap_or(""),
        ));
        for (role, text) in history::history(&params.history) {
            setup.extend(encode::text_content(
                &prompt,
                &new_name(),
                role,
                false,
                &text,
            ));
        }
        setup.push(encode::audio_content_start(
            &prompt,
            &audio_content,
            &config.audio,
        ));
        for event in setup {
            if conn.input.send(event).await.is_err() {
                // The stream failed to open; its reader reports why.
                break;
            }
        }
        tracing::debug!("prompt=<{prompt}> | connection setup queued");
        Live {
            conn,
            prompt,
            audio_content,
            opened_at: Instant::now(),
            fresh_handoff: false,
        }
    }

    /// Runs until stopped, the connection fails or the model is dropped.
    pub(crate) async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let frame = self.params.config.silence_frame;
        let mut ticker = tokio::time::interval(frame);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut stop = self.params.stop.clone();
        loop {
            tokio::select! {
                _ = stopped(&mut stop) => break,
                command = commands.recv() => match command {
                    Some(Command::Input(input)) => {
                        if let Err(e) = self.input(input).await {
                            self.emit(Ok(e.to_event().into())).await;
                        }
                    }
                    None => break,
                },
                incoming = self.live.conn.output.recv() => {
                    let incoming = incoming.unwrap_or(Incoming::Ended);
                    if !self.incoming(incoming).await {
                        if self.stopping() || self.events.is_closed() {
                            break;
                        }
                        return;
                    }
                }
                _ = ticker.tick() => self.tick(frame),
            }
        }
        self.close().await;
    }

    fn stopping(&self) -> bool {
        *self.params.stop.borrow()
    }

    /// Emits to `receive()`. False when nobody listens any more, or when a stop was asked for
    /// while waiting for room.
    async fn emit(&mut self, item: Result<BidiOutputEvent, ModelError>) -> bool {
        let mut stop = self.params.stop.clone();
        tokio::select! {
            biased;
            sent = self.events.send(item) => sent.is_ok(),
            _ = stopped(&mut stop) => false,
        }
    }

    /// Forwards one input. Errors are reported as events; the session goes on.
    async fn input(&mut self, input: ModelInput) -> Result<(), ModelError> {
        let prompt = self.live.prompt.clone();
        match input {
            ModelInput::Event(BidiInputEvent::Audio(audio)) => {
                let audio_cfg = &self.params.config.audio;
                let len = audio.audio().len() / 4 * 3;
                let dur = pcm_duration(len, audio_cfg.input_rate.hz(), audio_cfg.channels.count());
                let json = encode::audio_input(&prompt, &self.live.audio_content, audio.audio());
                self.last_user_audio = Some(Instant::now());
                self.push_audio(json, dur);
                Ok(())
            }
            ModelInput::Event(BidiInputEvent::Text(text)) => {
                let events =
                    encode::text_content(&prompt, &new_name(), NovaRole::User, true, text.text());
                self.remember(Message::text(Role::User, text.text()));
                self.send_all(events).await
            }
            ModelInput::Event(BidiInputEvent::Image(_)) => Err(ModelError::Unsupported {
                content: "image".into(),
                provider: "Nova Sonic",
            }),
            // A player's report is the agent's business: nothing goes on the wire.
            ModelInput::Event(BidiInputEvent::Playback(_)) => Ok(()),
            ModelInput::ToolResult(result) => {
                let events = encode::tool_result(&prompt, &new_name(), &result)?;
                self.tools_pending.remove(&result.tool_use_id);
                self.send_all(events).await
            }
            // `ModelInput` and `BidiInputEvent` are non-exhaustive upstream.
            #[allow(unreachable_patterns)]
            _ => Err(ModelError::Unsupported {
                content: "unknown input".into(),
                provider: "Nova Sonic",
            }),
        }
    }

    /// Sends events in order after any audio waiting for room.
    async fn send_all(
        &mut self,
        events: impl IntoIterator<Item = String>,
    ) -> Result<(), ModelError> {
        self.flush_pending();
        while let Some((json, dur)) = self.pending.pop_front() {
            self.pending_len = self.pending_len.saturating_sub(dur);
            self.send(json).await?;
        }
        for e in events {
            self.send(e).await?;
        }
        Ok(())
    }

    async fn send(&self, json: String) -> Result<(), ModelError> {
        let mut stop = self.params.stop.clone();
        tokio::select! {
            biased;
            sent = self.live.conn.input.send(json) => {
                sent.map_err(|_| ModelError::Closed("the stream's input is closed".into()))
            }
            _ = stopped(&mut stop) => Err(ModelError::Closed("stopping".into())),
        }
    }

    /// Queues user audio without waiting: into the connection's input when there is room,
    /// else into the bounded hand-off buffer (oldest dropped first).
    fn push_audio(&mut self, json: String, dur: Duration) {
        self.pending.push_back((json, dur));
        self.pending_len += dur;
        let max = self.params.config.handoff_buffer;
        while self.pending_len > max && self.pending.len() > 1 {
            if let Some((_, d)) = self.pending.pop_front() {
                self.pending_len = self.pending_len.saturating_sub(d);
                tracing::warn!(
                    "buffered_ms=<{}> | input is backed up, dropping the oldest user audio",
                    self.pending_len.as_millis()
                );
            }
        }
        self.flush_pending();
    }

    fn flush_pending(&mut self) {
        while let Some((json, dur)) = self.pending.pop_front() {
            let keep = (!self.params.config.handoff_replay.is_zero()).then(|| json.clone());
            match self.live.conn.input.try_send(json) {
                Ok(()) => {
                    self.pending_len = self.pending_len.saturating_sub(dur);
                    if let Some(json) = keep {
                        self.keep_unheard(json, dur);
                    }
                }
                Err(mpsc::error::TrySendError::Full(json)) => {
                    self.pending.push_front((json, dur));
                    return;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    self.pending.clear();
                    self.pending_len = Duration::ZERO;
                    return;
                }
            }
        }
    }

    /// Remembers user audio sent on the live connection, keeping the newest
    /// `handoff_replay` of it.
    fn keep_unheard(&mut self, json: String, dur: Duration) {
        self.unheard.push_back((json, dur));
        self.unheard_len += dur;
        let max = self.params.config.handoff_replay;
        while self.unheard_len > max {
            match self.unheard.pop_front() {
                Some((_, d)) => self.unheard_len = self.unheard_len.saturating_sub(d),
                None => break,
            }
        }
    }

    /// One silence frame when no user audio flows.
    fn tick(&mut self, frame: Duration) {
        self.flush_pending();
        if !self.params.config.silence_keepalive {
            return;
        }
        let flowing = self
            .last_user_audio
            .is_some_and(|t| t.elapsed() < frame * 3);
        if !flowing && self.pending.is_empty() {
            let json = encode::audio_input(
                &self.live.prompt,
                &self.live.audio_content,
                &self.silence_b64,
            );
            // Silence is never buffered: when there is no room it is simply not needed.
            self.live.conn.input.try_send(json).ok();
        }
    }

    /// Handles what the reader reported. Returns whether the session goes on.
    async fn incoming(&mut self, incoming: Incoming) -> bool {
        match incoming {
            Incoming::Chunk(bytes) => {
                self.live.fresh_handoff = false;
                match self.decoder.decode_bytes(&bytes) {
                    Ok(decoded) => {
                        for event in decoded.events {
                            if let BidiOutputEvent::ToolUseStream(t) = &event {
                                self.tools_pending
                                    .insert(t.current_tool_use().tool_use_id.clone());
                            }
                            if !self.emit(Ok(event)).await {
                                return false;
                            }
                        }
                        if let Some((role, text)) = decoded.final_text {
                            if role == Role::User {
                                // The model has turned the audio so far into words.
                                self.unheard.clear();
                                self.unheard_len = Duration::ZERO;
                            }
                            self.remember(Message::text(role, text));
                        }
                        if decoded.turn_boundary && self.restart_due() {
                            self.handoff().await;
                        }
                    }
                    Err(e) => {
                        tracing::warn!("error=<{e}> | malformed Nova Sonic event");
                        let e: ModelError = e.into();
                        if !self.emit(Ok(e.to_event().into())).await {
                            return false;
                        }
                    }
                }
                true
            }
            Incoming::Failed(e) => {
                let e = if self.live.fresh_handoff && !e.is_timeout() {
                    ModelTimeout::new(format!(
                        "proactive restart could not open the next connection | {e}"
                    ))
                    .into()
                } else {
                    e
                };
                if e.is_timeout() {
                    tracing::info!("error=<{e}> | connection limit reached, the agent restarts");
                }
                // The error ends `receive`; the agent yields it once as a `bidi_error` event.
                self.emit(Err(e)).await;
                false
            }
            Incoming::Ended => {
                self.emit(Err(ModelError::Closed(
                    "the server ended the stream".into(),
                )))
                .await;
                false
            }
        }
    }

    /// Adds a message to the history a hand-off replays, keeping at most twice what a
    /// replay can carry so a long conversation does not grow memory without bound.
    fn remember(&mut self, message: Message) {
        let history = &mut self.params.history;
        history.push(message);
        let size = |m: &Message| m.joined_text().map_or(0, |t| t.len());
        let mut total: usize = history.iter().map(size).sum();
        let mut drop = 0;
        while total > 2 * history::MAX_TOTAL_BYTES && drop + 1 < history.len() {
            total -= size(&history[drop]);
            drop += 1;
        }
        history.drain(..drop);
    }

    fn restart_due(&self) -> bool {
        self.tools_pending.is_empty()
            && self
                .params
                .config
                .restart_after
                .is_some_and(|after| self.live.opened_at.elapsed() >= after)
    }

    /// Swaps to a new connection at a turn boundary: the new one is opened with the history
    /// so far while the old one is closed and drained in the background. User audio that
    /// arrives meanwhile queues in the new connection's input (and the hand-off buffer).
    async fn handoff(&mut self) {
        let age = self.live.opened_at.elapsed();
        tracing::info!(
            "age_s=<{}> | proactive restart: opening the next connection",
            age.as_secs()
        );
        let mut next = Self::connect(&self.params).await;
        next.fresh_handoff = true;
        let old = std::mem::replace(&mut self.live, next);
        self.decoder = Decoder::new(self.params.config.audio.clone());
        // Audio the old connection got but did not transcribe yet, then audio still waiting,
        // was meant for the user's current speech: it goes to the new connection, in order,
        // re-addressed to its prompt and content.
        let replay: Vec<(String, Duration)> = self.unheard.drain(..).collect();
        self.unheard_len = Duration::ZERO;
        if !replay.is_empty() {
            tracing::debug!(
                "chunks=<{}> | replaying untranscribed user audio to the next connection",
                replay.len()
            );
        }
        let waiting: Vec<(String, Duration)> =
            replay.into_iter().chain(self.pending.drain(..)).collect();
        self.pending_len = Duration::ZERO;
        for (json, dur) in waiting {
            let json = json
                .replace(&old.prompt, &self.live.prompt)
                .replace(&old.audio_content, &self.live.audio_content);
            self.push_audio(json, dur);
        }
        tokio::spawn(close_live(old));
    }

    /// Sends the closing events and drains the server's last events.
    async fn close(&mut self) {
        self.flush_pending();
        shut_input(&mut self.live).await;
        let decoder = &mut self.decoder;
        let events = &self.events;
        let output = &mut self.live.conn.output;
        let drain = async {
            while let Some(item) = output.recv().await {
                match item {
                    Incoming::Chunk(bytes) => {
                        if let Ok(d) = decoder.decode_bytes(&bytes) {
                            for e in d.events {
                                events.try_send(Ok(e)).ok();
                            }
                        }
                    }
                    Incoming::Failed(_) | Incoming::Ended => break,
                }
            }
        };
        if timeout(CLOSE_TIMEOUT, drain).await.is_err() {
            tracing::debug!(
                "prompt=<{}> | server did not end the stream in time",
                self.live.prompt
            );
        }
    }
}

/// Sends `contentEnd` (audio), `promptEnd` and `sessionEnd`, then ends the input stream.
async fn shut_input(live: &mut Live) {
    let closing = [
        encode::content_end(&live.prompt, &live.audio_content),
        encode::prompt_end(&live.prompt),
        encode::session_end(),
    ];
    for e in closing {
        match timeout(CLOSE_TIMEOUT, live.conn.input.send(e)).await {
            Ok(Ok(())) => {}
            _ => break,
        }
    }
    // Dropping our only sender ends the input stream.
    let (closed, _) = mpsc::channel(1);
    drop(std::mem::replace(&mut live.conn.input, closed));
}

/// Closes a connection that was replaced, dropping what it still sends.
async fn close_live(mut live: Live) {
    shut_input(&mut live).await;
    let drain = async {
        while let Some(item) = live.conn.output.recv().await {
            if !matches!(item, Incoming::Chunk(_)) {
                break;
            }
        }
    };
    timeout(CLOSE_TIMEOUT, drain).await.ok();
    live.conn.abort();
    tracing::debug!("prompt=<{}> | previous connection closed", live.prompt);
}

/// Resolves once a stop is asked for (or the model is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    // `wait_for` errs only when the sender is dropped: the model is gone, which is a stop too.
    let _ = stop.wait_for(|s| *s).await.map(|_| ());
}
