//! One benchmark session's scripted in-memory [`BenchInput`] (text commands and stamped PCM
//! chunks, paced on an absolute schedule or not), its recording [`BenchOutput`], and the
//! [`SessionState`] they share with the driver in `child`.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bidi_types::{
    AudioFormat, BidiAgentEvent, BidiAudioInputEvent, BidiInput, BidiInputEvent, BidiOutput,
    BidiOutputEvent, Channels, IoError, SampleRate,
};
use serde_json::Value;
use tokio::sync::watch;

use crate::error::ChildError;
use crate::metrics::{InputRecord, OutputRecord, param};

const IN_MAGIC: &[u8; 8] = b"BENCHIN\0";
pub(crate) const OUT_MAGIC: &[u8; 8] = b"FAKEOAI\0";

/// One step of an input's script.
#[derive(Debug, Clone)]
pub(crate) enum Step {
    Text(String),
    /// Wait until the output has seen this many `bidi_response_complete`.
    WaitCompletes(usize),
    Sleep(Duration),
    Audio {
        chunks: u64,
        paced: bool,
    },
}

pub(crate) fn script(name: &str, p: &Value) -> Result<Vec<Step>, ChildError> {
    let chunk_ms = param(p, "chunk_ms", 20.0);
    let iterations = param(p, "iterations", 20.0) as usize;
    let steps = match name {
        "duplex_rt" | "duplex_fast" => duplex(p, chunk_ms, name == "duplex_rt"),
        n if n.starts_with("sessions") => duplex(p, chunk_ms, true),
        "interrupt" => (0..iterations)
            .flat_map(|k| {
                [
                    Step::Text(format!(
                        "interrupt {} 5 realtime",
                        param(p, "barge_in_ms", 200.0)
                    )),
                    Step::WaitCompletes(k + 1),
                    Step::Sleep(Duration::from_millis(50)),
                ]
            })
            .collect(),
        "tool_sync" | "tool_async" => (0..iterations)
            .flat_map(|k| {
                [
                    Step::Text("call tool".to_owned()),
                    Step::WaitCompletes(2 * (k + 1)),
                    Step::Sleep(Duration::from_millis(50)),
                ]
            })
            .collect(),
        "tput_in" => vec![Step::Audio {
            chunks: param(p, "chunks", 20_000.0) as u64,
            paced: false,
        }],
        "tput_out" => {
            let secs = param(p, "chunks", 20_000.0) * chunk_ms / 1000.0;
            vec![Step::Text(format!("audio {secs} fast"))]
        }
        other => return Err(ChildError::UnknownScenario(other.to_owned())),
    };
    Ok(steps)
}

fn duplex(p: &Value, chunk_ms: f64, paced: bool) -> Vec<Step> {
    let d = param(p, "duration", 20.0);
    let chunks = (d * 1000.0 / chunk_ms).round() as u64;
    let pace = if paced { "realtime" } else { "fast" };
    vec![
        Step::Text(format!("audio {d} {pace}")),
        Step::Audio { chunks, paced },
    ]
}

pub(crate) fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A synthetic 300 Hz tone chunk without its first 24 bytes (room for the input header),
/// base64; and the chunk's full size in bytes.
pub(crate) fn tone_body_b64(rate: u32, chunk_ms: u32) -> (String, u64) {
    let n = rate * chunk_ms / 1000;
    let pcm: Vec<u8> = (0..n)
        .flat_map(|i| {
            let x = 6000.0 * (std::f64::consts::TAU * 300.0 * f64::from(i) / f64::from(rate)).sin();
            (x as i16).to_le_bytes()
        })
        .collect();
    (BASE64.encode(&pcm[24..]), u64::from(n) * 2)
}

/// What the driver and a session's input/output share.
pub(crate) struct SessionState {
    pub(crate) input: Mutex<InputRecord>,
    pub(crate) output: Mutex<OutputRecord>,
    pub(crate) connected: watch::Sender<bool>,
    pub(crate) completes: watch::Sender<usize>,
    pub(crate) input_done: watch::Sender<bool>,
}

impl SessionState {
    /// A fresh state, shared.
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            input: Mutex::default(),
            output: Mutex::default(),
            connected: watch::Sender::new(false),
            completes: watch::Sender::new(0),
            input_done: watch::Sender::new(false),
        })
    }
}

/// In-memory [`BidiInput`]: text commands and paced or unpaced PCM chunks, each starting
/// with the `BENCHIN` header (sequence number, send time).
pub(crate) struct BenchInput {
    steps: Vec<Step>,
    pos: usize,
    chunk_k: u64,
    audio_t0: Option<Instant>,
    go: watch::Receiver<bool>,
    phase: Duration,
    started: bool,
    chunk: Duration,
    rate: SampleRate,
    body_b64: Arc<str>,
    state: Arc<SessionState>,
}

impl BenchInput {
    /// An input playing `steps` once `go` turns true and `phase` has passed, with chunks of
    /// `chunk` at `rate` whose body after the header is `body_b64`.
    pub(crate) fn new(
        steps: Vec<Step>,
        go: watch::Receiver<bool>,
        phase: Duration,
        chunk: Duration,
        rate: SampleRate,
        body_b64: Arc<str>,
        state: Arc<SessionState>,
    ) -> Self {
        Self {
            steps,
            pos: 0,
            chunk_k: 0,
            audio_t0: None,
            go,
            phase,
            started: false,
            chunk,
            rate,
            body_b64,
            state,
        }
    }

    /// The input PCM rate, Hz.
    pub(crate) fn rate_hz(&self) -> u32 {
        self.rate.hz()
    }
}

#[async_trait::async_trait]
impl BidiInput for BenchInput {
    async fn read(&mut self) -> Result<Option<BidiInputEvent>, IoError> {
        if !self.started {
            let _ = self.go.wait_for(|go| *go).await;
            if !self.phase.is_zero() {
                tokio::time::sleep(self.phase).await;
            }
            self.started = true;
        }
        loop {
            let Some(step) = self.steps.get(self.pos) else {
                lock(&self.state.input).done = Some(Instant::now());
                self.state.input_done.send_replace(true);
                // Idle until the driver ends the run.
                std::future::pending::<()>().await;
                return Ok(None);
            };
            match step {
                Step::Text(text) => {
                    self.pos += 1;
                    return Ok(Some(BidiInputEvent::from(text.as_str())));
                }
                Step::WaitCompletes(n) => {
                    let n = *n;
                    let _ = self.state.completes.subscribe().wait_for(|c| *c >= n).await;
                    self.pos += 1;
                }
                Step::Sleep(d) => {
                    tokio::time::sleep(*d).await;
                    self.pos += 1;
                }
                Step::Audio { chunks, paced } => {
                    if self.chunk_k >= *chunks {
                        self.pos += 1;
                        self.chunk_k = 0;
                        self.audio_t0 = None;
                        continue;
                    }
                    let t0 = *self.audio_t0.get_or_insert_with(Instant::now);
                    let k = self.chunk_k;
                    if *paced {
                        let due = t0 + self.chunk.mul_f64(k as f64);
                        tokio::time::sleep_until(due.into()).await;
                        let lag = Instant::now().saturating_duration_since(due);
                        lock(&self.state.input).lag_s.push(lag.as_secs_f64());
                    } else {
                        tokio::task::yield_now().await;
                    }
                    let seq = {
                        let mut rec = lock(&self.state.input);
                        rec.first_send.get_or_insert(t0);
                        rec.sent_chunks += 1;
                        rec.sent_chunks - 1
                    };
                    let mut header = [0u8; 24];
                    header[..8].copy_from_slice(IN_MAGIC);
                    header[8..16].copy_from_slice(&seq.to_le_bytes());
                    header[16..].copy_from_slice(&now_ns().to_le_bytes());
                    let mut audio = String::with_capacity(32 + self.body_b64.len());
                    BASE64.encode_string(header, &mut audio);
                    audio.push_str(&self.body_b64);
                    self.chunk_k += 1;
                    let event = BidiAudioInputEvent::new(
                        audio,
                        AudioFormat::Pcm,
                        self.rate,
                        Channels::Mono,
                    )
                    .map_err(|e| IoError::Other(Box::new(e)))?;
                    return Ok(Some(BidiInputEvent::Audio(event)));
                }
            }
        }
    }
}

/// In-memory [`BidiOutput`]: timestamps audio chunks against the server's stamp and
/// records control events.
pub(crate) struct BenchOutput {
    state: Arc<SessionState>,
}

impl BenchOutput {
    /// An output recording into `state`.
    pub(crate) fn new(state: Arc<SessionState>) -> Self {
        Self { state }
    }
}

/// Receive time minus the server's send stamp (first 32 base64 characters of the chunk).
pub(crate) fn stamp_latency_ns(audio: &str, now: u64) -> Option<f64> {
    let head = audio.get(..32)?;
    let mut hdr = [0u8; 24];
    BASE64.decode_slice(head, &mut hdr).ok()?;
    if &hdr[..8] != OUT_MAGIC {
        return None;
    }
    let sent = u64::from_le_bytes(hdr[16..24].try_into().ok()?);
    Some(now as f64 - sent as f64)
}

#[async_trait::async_trait]
impl BidiOutput for BenchOutput {
    async fn write(&mut self, event: &BidiAgentEvent) -> Result<(), IoError> {
        let now = now_ns();
        if let Some(BidiOutputEvent::AudioStream(a)) = event.as_output() {
            let lat = stamp_latency_ns(a.audio(), now);
            let m = Instant::now();
            let mut o = lock(&self.state.output);
            if let Some(lat) = lat {
                o.lat_ns.push(lat);
            }
            o.audio_first.get_or_insert(m);
            o.audio_last = Some(m);
            o.audio_chunks += 1;
            return Ok(());
        }
        let kind = event.event_type();
        let mut o = lock(&self.state.output);
        *o.counts.entry(kind.to_owned()).or_default() += 1;
        match event.as_output() {
            Some(BidiOutputEvent::Interruption(_)) => o.interrupt_recv_ns.push(now as f64),
            Some(BidiOutputEvent::ResponseComplete(c)) => {
                o.complete
                    .push((now as f64, format!("{:?}", c.stop_reason())));
                let n = o.complete.len();
                drop(o);
                self.state.completes.send_replace(n);
            }
            Some(BidiOutputEvent::ConnectionStart(_)) => {
                drop(o);
                self.state.connected.send_replace(true);
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stamp_latency_reads_the_fake_server_header() {
        let mut hdr = Vec::from(*OUT_MAGIC);
        hdr.extend_from_slice(&7u64.to_le_bytes());
        hdr.extend_from_slice(&1_000u64.to_le_bytes());
        hdr.extend_from_slice(&[0u8; 960]);
        let b64 = BASE64.encode(&hdr);
        assert_eq!(stamp_latency_ns(&b64, 1_500), Some(500.0));
        assert_eq!(stamp_latency_ns(&BASE64.encode([0u8; 48]), 1_500), None);
        assert_eq!(stamp_latency_ns("short", 1), None);
    }

    #[test]
    fn scripts_follow_the_python_benchmark() {
        let p = json!({"duration": 3, "chunk_ms": 20});
        let s = script("sessions_10", &p).unwrap_or_default();
        assert!(matches!(&s[0], Step::Text(t) if t == "audio 3 realtime"));
        assert!(matches!(
            s[1],
            Step::Audio {
                chunks: 150,
                paced: true
            }
        ));
        assert!(script("nope", &p).is_err());
    }
}
