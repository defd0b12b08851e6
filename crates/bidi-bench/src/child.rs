//! One scenario run in this (fresh) process: N real [`BidiAgent`]s with
//! [`BidiOpenAIRealtimeModel`]s, each between a scripted in-memory [`BenchInput`] and a
//! recording [`BenchOutput`], as `bench_python.py`'s child does.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bidi_agent::BidiAgent;
use bidi_model::openai::{BidiOpenAIRealtimeModel, OpenAiRealtimeConfig};
use bidi_types::{
    AudioFormat, BidiAgentEvent, BidiAudioInputEvent, BidiInput, BidiInputEvent, BidiOutput,
    BidiOutputEvent, Channels, IoError, SampleRate,
};
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::http;
use crate::metrics::{self, InputRecord, Measured, OutputRecord, ServerSide, param};
use crate::procfs;
use crate::wire;

const IN_MAGIC: &[u8; 8] = b"BENCHIN\0";
const OUT_MAGIC: &[u8; 8] = b"FAKEOAI\0";

/// Benchmark tool: returns immediately (sync: runs on a blocking thread).
#[bidi_agent::tool(name = "bench_tool")]
fn bench_tool(x: i64) -> String {
    format!("ok {x}")
}

/// Benchmark tool (async): returns immediately.
#[bidi_agent::tool(name = "bench_tool")]
async fn bench_tool_async(x: i64) -> String {
    format!("ok {x}")
}

/// Where the run's server is.
#[derive(Debug, Clone)]
pub struct Target {
    /// The WebSocket endpoint.
    pub url: String,
    /// The fake server's `/stats` URL; `None` for the Rust simulator.
    pub stats_url: Option<String>,
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum ChildError {
    /// A scenario name this benchmark does not know.
    #[error("scenario=<{0}> | unknown scenario")]
    UnknownScenario(String),
    /// Building the model or agent failed.
    #[error("building session {index}: {message}")]
    Build {
        /// The session.
        index: usize,
        /// The error.
        message: String,
    },
    /// The sessions did not all connect.
    #[error("sessions did not connect within {0:?}")]
    Connect(Duration),
    /// `/stats` failed.
    #[error(transparent)]
    Stats(#[from] http::HttpError),
}

/// One step of an input's script.
#[derive(Debug, Clone)]
enum Step {
    Text(String),
    /// Wait until the output has seen this many `bidi_response_complete`.
    WaitCompletes(usize),
    Sleep(Duration),
    Audio {
        chunks: u64,
        paced: bool,
    },
}

fn script(name: &str, p: &Value) -> Result<Vec<Step>, ChildError> {
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
fn tone_body_b64(rate: u32, chunk_ms: u32) -> (String, u64) {
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
    input: Mutex<InputRecord>,
    pub(crate) output: Mutex<OutputRecord>,
    pub(crate) connected: watch::Sender<bool>,
    pub(crate) completes: watch::Sender<usize>,
    input_done: watch::Sender<bool>,
}

impl SessionState {
    fn new() -> Arc<Self> {
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
struct BenchOutput {
    state: Arc<SessionState>,
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

async fn session_done(name: &str, p: &Value, state: &SessionState) {
    let iterations = param(p, "iterations", 20.0) as usize;
    let completes = |n: usize| async move {
        let _ = state.completes.subscribe().wait_for(|c| *c >= n).await;
    };
    let input_done = || async {
        let _ = state.input_done.subscribe().wait_for(|d| *d).await;
    };
    match name {
        "interrupt" => completes(iterations).await,
        "tool_sync" | "tool_async" => completes(2 * iterations).await,
        "tput_in" => input_done().await,
        _ => {
            input_done().await;
            completes(1).await;
        }
    }
}

async fn server_cpu(stats_url: &str) -> Result<f64, http::HttpError> {
    let s = http::get_json(&format!("{stats_url}?prefix=__none__")).await?;
    let srv = &s["server"];
    Ok(srv["cpu_user_s"].as_f64().unwrap_or(0.0) + srv["cpu_sys_s"].as_f64().unwrap_or(0.0))
}

/// Runs scenario `name` with `params` against `target` and returns its result object.
pub async fn run(name: &str, target: &Target, p: &Value) -> Result<Value, ChildError> {
    let rss_start = procfs::rss_kb();
    let tag = p
        .get("tag")
        .and_then(Value::as_str)
        .unwrap_or("bidi")
        .to_owned();
    let n_sessions = param(p, "sessions", 1.0).max(1.0) as usize;
    // `--client wire`: the floor (raw WebSocket traffic, no agent), see `wire`.
    let wire = p.get("client").and_then(Value::as_str) == Some("wire");
    let rate_hz = param(p, "input_rate", 24_000.0) as u32;
    let chunk_ms = param(p, "chunk_ms", 20.0) as u32;
    let rate = SampleRate::try_from(rate_hz).unwrap_or(SampleRate::Hz24000);
    let (body, _chunk_bytes) = tone_body_b64(rate_hz, chunk_ms);
    let body: Arc<str> = body.into();
    let chunk = Duration::from_millis(u64::from(chunk_ms));
    let steps = script(name, p)?;
    let (go_tx, go_rx) = watch::channel(false);

    let mut states = Vec::with_capacity(n_sessions);
    let mut tasks = Vec::with_capacity(n_sessions);
    let t_connect0 = Instant::now();
    for i in 0..n_sessions {
        let mut config = OpenAiRealtimeConfig::new()
            .api_key("fake-key")
            .endpoint(target.url.clone())
            .model_id(format!("{tag}-{i}"));
        config.audio = bidi_types::AudioConfig::new(rate, SampleRate::Hz24000);
        if let Some(c) = p.get("channel_capacity").and_then(Value::as_u64) {
            config.channel_capacity = usize::try_from(c).unwrap_or(usize::MAX);
        }
        let build = |e: &dyn std::fmt::Display| ChildError::Build {
            index: i,
            message: e.to_string(),
        };
        let wire_url = config.endpoint.clone();
        let model = BidiOpenAIRealtimeModel::new(config).map_err(|e| build(&e))?;
        let builder = BidiAgent::builder(model).system_prompt("benchmark");
        let builder = if name == "tool_async" {
            builder.tool(bench_tool_async)
        } else {
            builder.tool(bench_tool)
        };
        let agent = builder.build().map_err(|e| build(&e))?;
        let state = SessionState::new();
        let phase = if n_sessions > 1 {
            chunk.mul_f64(i as f64 / n_sessions as f64)
        } else {
            Duration::ZERO
        };
        let input = BenchInput {
            steps: steps.clone(),
            pos: 0,
            chunk_k: 0,
            audio_t0: None,
            go: go_rx.clone(),
            phase,
            started: false,
            chunk,
            rate,
            body_b64: Arc::clone(&body),
            state: Arc::clone(&state),
        };
        let output = BenchOutput {
            state: Arc::clone(&state),
        };
        let st = Arc::clone(&state);
        if wire {
            let model_id = format!("{tag}-{i}");
            tasks.push(tokio::spawn(async move {
                if let Err(e) = wire::session(&wire_url, &model_id, input, Arc::clone(&st)).await {
                    let mut msg = e.to_string();
                    msg.truncate(300);
                    lock(&st.output).error = Some(msg);
                    st.connected.send_replace(true);
                }
            }));
            states.push(state);
            continue;
        }
        tasks.push(tokio::spawn(async move {
            if let Err(e) = agent
                .run(vec![Box::new(input)], vec![Box::new(output)], None)
                .await
            {
                let mut msg = e.to_string();
                msg.truncate(300);
                lock(&st.output).error = Some(msg);
                // Unblock the driver.
                st.connected.send_replace(true);
            }
        }));
        states.push(state);
    }
    let connect_limit = Duration::from_secs(120);
    let all_connected = async {
        for s in &states {
            let _ = s.connected.subscribe().wait_for(|c| *c).await;
        }
    };
    tokio::time::timeout(connect_limit, all_connected)
        .await
        .map_err(|_| ChildError::Connect(connect_limit))?;
    let connect_s = t_connect0.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss_connected = procfs::rss_kb();
    let srv0 = match &target.stats_url {
        Some(url) => Some(server_cpu(url).await?),
        None => None,
    };
    let c0 = procfs::cpu_times("self").unwrap_or_default();
    let p0 = procfs::process_cpu();
    let x0 = procfs::context_switches();
    let w0 = Instant::now();
    go_tx.send_replace(true);
    let timeout = Duration::from_secs_f64(param(p, "timeout", 300.0));
    let waiters: Vec<_> = states
        .iter()
        .map(|s| {
            let (s, name, p) = (Arc::clone(s), name.to_owned(), p.clone());
            tokio::spawn(async move { session_done(&name, &p, &s).await })
        })
        .collect();
    let mut timed_out = 0;
    let deadline = tokio::time::Instant::now() + timeout;
    for w in waiters {
        match tokio::time::timeout_at(deadline, w).await {
            Ok(_) => {}
            Err(_) => timed_out += 1,
        }
    }
    let wall_s = w0.elapsed().as_secs_f64();
    let p1 = procfs::process_cpu();
    let c1 = procfs::cpu_times("self").unwrap_or_default();
    let switches = procfs::context_switches().saturating_sub(x0);

    let server = match &target.stats_url {
        Some(url) => {
            if name == "tput_in" {
                let need = param(p, "chunks", 20_000.0) * n_sessions as f64;
                for _ in 0..600 {
                    let s = http::get_json(&format!("{url}?prefix={tag}-&raw=1")).await?;
                    let got: f64 = s["sessions"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|x| x["input"]["chunks"].as_f64())
                        .sum();
                    if got >= need {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            let s = http::get_json(&format!("{url}?prefix={tag}-&raw=1")).await?;
            let srv = &s["server"];
            let cpu1 = srv["cpu_user_s"].as_f64().unwrap_or(0.0)
                + srv["cpu_sys_s"].as_f64().unwrap_or(0.0);
            ServerSide::Stats {
                sessions: s["sessions"].as_array().cloned().unwrap_or_default(),
                server_cpu_s: cpu1 - srv0.unwrap_or(cpu1),
            }
        }
        None => ServerSide::Sim {
            out_chunks_per_session: sim_out_chunks(name, p),
        },
    };
    let peak = procfs::peak_rss_kb();
    for t in &tasks {
        t.abort();
    }
    let m = Measured {
        wall_s,
        cpu_user_s: c1.user_s - c0.user_s,
        cpu_sys_s: c1.sys_s - c0.sys_s,
        cpu_s: (p1 - p0).as_secs_f64(),
        connect_s,
        timed_out,
        rss_start_kb: rss_start,
        rss_connected_kb: rss_connected,
        peak_rss_kb: peak,
    };
    let inputs: Vec<InputRecord> = states
        .iter()
        .map(|s| std::mem::take(&mut *lock(&s.input)))
        .collect();
    let outputs: Vec<OutputRecord> = states
        .iter()
        .map(|s| std::mem::take(&mut *lock(&s.output)))
        .collect();
    let mut res = metrics::summarize(name, p, &inputs, &outputs, &server, &m);
    res["client"] = json!(if wire { "wire" } else { "bidi" });
    let chunks = res["in_chunks_sent"].as_f64().unwrap_or(0.0)
        + res["out_chunks_recv"].as_f64().unwrap_or(0.0);
    res["context_switches"] = json!(switches);
    if chunks > 0.0 {
        res["context_switches_per_chunk"] = json!(switches as f64 / chunks);
    }
    Ok(res)
}

/// Output chunks the simulator sends per session for the scenario's `audio D` command.
fn sim_out_chunks(name: &str, p: &Value) -> u64 {
    let chunk_ms = param(p, "chunk_ms", 20.0);
    let secs = if name == "tput_out" {
        param(p, "chunks", 20_000.0) * chunk_ms / 1000.0
    } else {
        param(p, "duration", 20.0)
    };
    (secs * 1000.0 / chunk_ms).ceil() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(sim_out_chunks("sessions_10", &p), 150);
    }
}
