//! Sessions served concurrently through `/ws` at real time, bidi-server against the Python
//! original served as its docs show (FastAPI + uvicorn, `strands_ws_server.py`), both in
//! front of the same provider: bidi-sim's OpenAI Realtime server in this process, pacing its
//! audio at real time and stamping each chunk with its send time.
//!
//! ```text
//! cargo bench -p bidi-server --bench serve -- --python /tmp/serve-venv/bin/python --sessions 1,10,50 --seconds 20
//! ```
//!
//! Each client streams 24 kHz 20 ms frames of silence at real time (on an absolute schedule)
//! and asks a question every 3 s; the provider answers each with 1 s of audio in 20 ms
//! chunks. Measured per server and session count, over the window after every session is
//! connected: first-audio latency (question sent → first `bidi_audio_stream` received),
//! audio-delta latency (the provider's send stamp in each chunk → received by the client),
//! p50 and p99 of each; the server process's CPU (utime + stime from `/proc`) per session as
//! a share of one core, and its RSS growth over idle per session. Without `--python`, bidi
//! alone. After each bidi-server run, the same sessions on the library path
//! ([`library`]: `BidiAgent::run` with in-process IO, in a process of its own), and at the
//! end the served path's cost over the library path's. `--rounds N` repeats every
//! measurement N times, alternating (the ratios are of medians). `--calls 10,50` measures
//! Twilio calls on `/twilio/media` the same way, each against the library path at as many
//! sessions. `--pin` runs the measured process on CPU 1 and the load on CPU 0. Not a test:
//! numbers go to docs/performance.md.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bidi_sim::openai::{OpenAiSim, OpenAiSimOptions};
use bidi_sim::{Action, Script, Trigger};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

mod calls;
mod library;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The provider's send stamp (bidi-sim's `stamp` option): magic, sequence, ns since epoch.
const MAGIC: &[u8; 8] = b"FAKEOAI\0";
const QUESTION_EVERY: Duration = Duration::from_secs(3);

struct Options {
    python: Option<String>,
    sessions: Vec<usize>,
    calls: Vec<usize>,
    seconds: u64,
    rounds: usize,
    pin: bool,
}

fn options() -> Result<Options, BoxError> {
    let mut o = Options {
        python: None,
        sessions: vec![1, 10, 50],
        calls: Vec::new(),
        seconds: 20,
        rounds: 1,
        pin: false,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = || args.get(i + 1).cloned().ok_or("a flag needs a value");
        match args[i].as_str() {
            "--python" => o.python = Some(value()?),
            "--sessions" => {
                o.sessions = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?;
            }
            "--calls" => {
                o.calls = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?;
            }
            "--seconds" => o.seconds = value()?.parse()?,
            "--rounds" => o.rounds = value()?.parse::<usize>()?.max(1),
            "--pin" => {
                o.pin = true;
                i += 1;
                continue;
            }
            // cargo bench passes `--bench`; anything else is refused.
            "--bench" => {
                i += 1;
                continue;
            }
            other => return Err(format!("unknown flag {other}").into()),
        }
        i += 2;
    }
    Ok(o)
}

/// How long ago the provider sent the audio chunk `audio` (base64), from its stamp.
fn stamp_age_ms(audio: &str) -> Option<f64> {
    let mut header = [0u8; 24];
    let head = audio.get(..32)?;
    BASE64.decode_slice(head, &mut header).ok()?;
    if &header[..8] != MAGIC {
        return None;
    }
    let mut sent = [0u8; 8];
    sent.copy_from_slice(&header[16..24]);
    let sent = u64::from_le_bytes(sent);
    Some(now_ns().saturating_sub(sent) as f64 / 1e6)
}

/// The provider's script: each `trigger` is answered with a line and 1 s of speech.
fn answering(trigger: Trigger) -> Script {
    Script::new().always(
        trigger,
        vec![
            Action::Say {
                text: "Here you are.".into(),
                chunk: 0,
            },
            Action::Speak {
                ms: 1_000,
                frame_ms: 20,
            },
            Action::EndTurn,
        ],
    )
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// A server under test, killed when dropped.
struct Served {
    child: Child,
    addr: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(mut command: Command) -> Result<Served, BoxError> {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().ok_or("no stdout")?).read_line(&mut line)?;
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .ok_or_else(|| format!("unexpected first line {line:?}"))?
        .to_owned();
    Ok(Served { child, addr })
}

/// bidi-server with the OpenAI provider at `endpoint`, on any free port, no session cap in
/// the way (on CPU 1 with `pin`).
fn start_bidi(endpoint: &str, pin: bool, extra: &[&str]) -> Result<Served, BoxError> {
    let mut bidi = measured(env!("CARGO_BIN_EXE_bidi-server"), pin);
    bidi.args([
        "--provider",
        "openai",
        "--endpoint",
        endpoint,
        "--listen",
        "127.0.0.1:0",
        "--max-sessions",
        "10000",
    ])
    .args(extra)
    .env("RUST_LOG", "warn");
    spawn(bidi)
}

/// `program` as a command; with `--pin`, run on CPU 1 alone, while this process (the
/// clients and the provider) keeps to CPU 0: the measured process then shares no core with
/// the load driving it, served path and library path alike. Needs `taskset` (util-linux).
fn measured(program: impl AsRef<std::ffi::OsStr>, pin: bool) -> Command {
    if pin {
        let mut c = Command::new("taskset");
        c.arg("-c").arg("1").arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// Keeps every thread of process `pid` to CPU `cpu`.
fn pin_to(cpu: &str, pid: u32) -> Result<(), BoxError> {
    let status = Command::new("taskset")
        .args(["-a", "-cp", cpu, &pid.to_string()])
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        return Err(format!("taskset could not pin process {pid} to CPU {cpu}").into());
    }
    Ok(())
}

/// (CPU seconds, RSS KiB) of `pid`.
fn usage(pid: u32) -> Result<(f64, u64), BoxError> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 (utime, stime) counted from the state at index 0 here: 11, 12.
    let ticks: f64 = fields.get(11).ok_or("stat")?.parse::<f64>()?
        + fields.get(12).ok_or("stat")?.parse::<f64>()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or("VmRSS")?;
    Ok((ticks / 100.0, rss))
}

/// CPU (% of a core) and RSS growth over `idle_rss` (MiB) per session of process `pid`,
/// over the window from `measure_from` to just before `stop`.
async fn usage_per_session(
    pid: u32,
    idle_rss: u64,
    measure_from: Instant,
    stop: Instant,
    sessions: usize,
) -> Result<(f64, f64), BoxError> {
    tokio::time::sleep_until(measure_from).await;
    let (cpu0, _) = usage(pid)?;
    let end = stop - Duration::from_millis(200);
    tokio::time::sleep_until(end).await;
    let (cpu1, rss) = usage(pid)?;
    let window = end.duration_since(measure_from).as_secs_f64();
    let n = sessions as f64;
    Ok((
        (cpu1 - cpu0) / window / n * 100.0,
        rss.saturating_sub(idle_rss) as f64 / 1024.0 / n,
    ))
}

#[derive(Default)]
struct Samples {
    first_audio_ms: Vec<f64>,
    delta_ms: Vec<f64>,
    errors: usize,
}

/// One client until `stop`: real-time silence, a question every few seconds.
async fn client(url: String, measure_from: Instant, stop: Instant, samples: Arc<Mutex<Samples>>) {
    let connected = tokio_tungstenite::connect_async(&url).await;
    let Ok((ws, _)) = connected.map_err(|e| eprintln!("connecting to {url}: {e}")) else {
        if let Ok(mut s) = samples.lock() {
            s.errors += 1;
        }
        return;
    };
    let (mut tx, mut rx) = ws.split();
    let frame = json!({"type": "bidi_audio_input", "audio": BASE64.encode([0u8; 960]),
        "format": "pcm", "sample_rate": 24000, "channels": 1})
    .to_string();
    let question = json!({"type": "bidi_text_input", "text": "hello", "role": "user"}).to_string();
    let asked: Arc<Mutex<Option<Instant>>> = Arc::default();
    let sender = {
        let asked = Arc::clone(&asked);
        async move {
            let start = Instant::now();
            let mut n: u32 = 0;
            let mut next_question = start + Duration::from_millis(500);
            while Instant::now() < stop {
                if Instant::now() >= next_question {
                    if let Ok(mut a) = asked.lock() {
                        *a = Some(Instant::now());
                    }
                    if tx.send(Message::text(question.clone())).await.is_err() {
                        return;
                    }
                    next_question += QUESTION_EVERY;
                }
                if tx.send(Message::text(frame.clone())).await.is_err() {
                    return;
                }
                n += 1;
                tokio::time::sleep_until(start + Duration::from_millis(20) * n).await;
            }
            let _ = tx.close().await;
        }
    };
    let receiver = async {
        while let Ok(Some(Ok(message))) = tokio::time::timeout_at(stop, rx.next()).await {
            let Message::Text(text) = message else {
                continue;
            };
            let Ok(event) = serde_json::from_str::<Value>(text.as_str()) else {
                continue;
            };
            if event["type"] != "bidi_audio_stream" {
                continue;
            }
            let now = Instant::now();
            let first = asked.lock().ok().and_then(|mut a| a.take());
            if now < measure_from {
                continue;
            }
            let Ok(mut s) = samples.lock() else { continue };
            if let Some(at) = first {
                s.first_audio_ms
                    .push(now.duration_since(at).as_secs_f64() * 1e3);
            }
            if let Some(ms) = event["audio"].as_str().and_then(stamp_age_ms) {
                s.delta_ms.push(ms);
            }
        }
    };
    tokio::join!(sender, receiver);
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * (values.len() - 1) as f64).round() as usize;
    values[rank.min(values.len() - 1)]
}

struct Row {
    server: &'static str,
    sessions: usize,
    first_p50: f64,
    first_p99: f64,
    delta_p50: f64,
    delta_p99: f64,
    cpu_per_session: f64,
    rss_per_session_mib: f64,
    failed: usize,
}

impl Row {
    /// The row of `server` at `sessions`: the samples' percentiles, and the (CPU, RSS) per
    /// session of [`usage_per_session`].
    fn new(
        server: &'static str,
        sessions: usize,
        s: &mut Samples,
        (cpu_per_session, rss_per_session_mib): (f64, f64),
    ) -> Self {
        Self {
            server,
            sessions,
            first_p50: percentile(&mut s.first_audio_ms, 50.0),
            first_p99: percentile(&mut s.first_audio_ms, 99.0),
            delta_p50: percentile(&mut s.delta_ms, 50.0),
            delta_p99: percentile(&mut s.delta_ms, 99.0),
            cpu_per_session,
            rss_per_session_mib,
            failed: s.errors,
        }
    }
}

async fn measure(
    server: &'static str,
    served: &Served,
    sessions: usize,
    seconds: u64,
) -> Result<Row, BoxError> {
    let pid = served.child.id();
    let (_, idle_rss) = usage(pid)?;
    let url = format!("ws://{}/ws", served.addr);
    let warmup = Duration::from_secs(2);
    let measure_from = Instant::now() + warmup;
    let stop = measure_from + Duration::from_secs(seconds);
    let samples: Arc<Mutex<Samples>> = Arc::default();
    let mut tasks = Vec::new();
    for _ in 0..sessions {
        tasks.push(tokio::spawn(client(
            url.clone(),
            measure_from,
            stop,
            Arc::clone(&samples),
        )));
    }
    let per_session = usage_per_session(pid, idle_rss, measure_from, stop, sessions).await?;
    for t in tasks {
        let _ = t.await;
    }
    // Let the server settle before the next run.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut s = samples.lock().map_err(|_| "poisoned")?;
    Ok(Row::new(server, sessions, &mut s, per_session))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(library::CHILD_FLAG) {
        return library::child(&args[1..]).await;
    }
    let options = options()?;
    if options.pin {
        pin_to("0", std::process::id())?;
    }
    let script = answering(Trigger::Text {
        contains: String::new(),
    });
    let sim = OpenAiSim::start_with(
        script,
        OpenAiSimOptions {
            realtime: true,
            stamp: true,
            skip_audio_recording: true,
            ..OpenAiSimOptions::default()
        },
    )
    .await?;
    let endpoint = sim.url();
    let script_path = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/strands_ws_server.py");
    let mut rows = Vec::new();
    // Rounds alternate the servers (and the library path) for each session count, so a
    // change in the machine's load reaches all of them alike.
    let rounds = (0..options.rounds).flat_map(|_| options.sessions.iter().copied());
    for sessions in rounds {
        let served = start_bidi(&endpoint, options.pin, &[])?;
        rows.push(measure("bidi-server", &served, sessions, options.seconds).await?);
        drop(served);
        let lib = library::measure_after_pause(
            &endpoint,
            sessions,
            options.seconds,
            options.pin,
            library::Audio::Pcm,
        )
        .await?;
        let mut s = lib.samples;
        let per_session = (lib.cpu_per_session, lib.rss_per_session_mib);
        rows.push(Row::new(library::ROW, sessions, &mut s, per_session));
        if let Some(python) = &options.python {
            let mut py = measured(python, options.pin);
            py.args([script_path, "--endpoint", &endpoint]);
            let served = spawn(py)?;
            rows.push(measure("python (FastAPI)", &served, sessions, options.seconds).await?);
        }
    }
    println!(
        "| server | sessions | first audio p50 / p99 (ms) | audio delta p50 / p99 (ms) | CPU per session (% of a core) | RSS per session (MiB) | failed |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for r in &rows {
        println!(
            "| {} | {} | {:.1} / {:.1} | {:.2} / {:.2} | {:.2} | {:.2} | {} |",
            r.server,
            r.sessions,
            r.first_p50,
            r.first_p99,
            r.delta_p50,
            r.delta_p99,
            r.cpu_per_session,
            r.rss_per_session_mib,
            r.failed
        );
    }
    println!();
    println!(
        "| sessions | CPU per session, served / library (medians of {} rounds) | RSS per session, served / library |",
        options.rounds
    );
    println!("| --- | --- | --- |");
    for &sessions in &options.sessions {
        let median_of = |server: &str, pick: fn(&Row) -> f64| {
            let mut v: Vec<f64> = rows
                .iter()
                .filter(|r| r.server == server && r.sessions == sessions)
                .map(pick)
                .collect();
            percentile(&mut v, 50.0)
        };
        let cpu = |server| median_of(server, |r| r.cpu_per_session);
        let rss = |server| median_of(server, |r| r.rss_per_session_mib);
        let (served, library) = ("bidi-server", library::ROW);
        println!(
            "| {sessions} | {:.3} / {:.3} = {:.2} | {:.2} / {:.2} = {:.2} |",
            cpu(served),
            cpu(library),
            cpu(served) / cpu(library),
            rss(served),
            rss(library),
            rss(served) / rss(library)
        );
    }
    if !options.calls.is_empty() {
        calls::compare(&options, &endpoint).await?;
    }
    sim.shutdown().await;
    Ok(())
}
