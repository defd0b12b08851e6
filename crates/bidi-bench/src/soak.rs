//! `bidi-bench soak`: N real-time sessions through a `bidi-server` process (its built-in
//! simulator as the provider) for M minutes, each asking a question that needs a tool every
//! cycle and barging into the answer with loud audio, and each a call of `--call-secs`
//! after which the client hangs up and calls again (so sessions end and begin all along, and
//! no conversation grows without end); the server's RSS, open file
//! descriptors, threads and live tokio tasks sampled every few seconds. It fails when RSS
//! after the warm-up grows more than the allowed share, or file descriptors or tasks leak:
//! more of them per open session than a session holds, or more once every session has
//! closed than before the first one opened.
//!
//! ```text
//! cargo run --release -p bidi-bench -- soak --minutes 60 --sessions 20 --server target/release/bidi-server
//! ```

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::procfs;

/// One frame of user audio.
const FRAME: Duration = Duration::from_millis(20);
/// One question-answer-barge-in cycle per session.
const CYCLE: Duration = Duration::from_secs(8);
/// When, in a cycle, the user talks over the answer, and for how long.
const BARGE_IN_AT: Duration = Duration::from_millis(2500);
const BARGE_IN_FOR: Duration = Duration::from_millis(400);

/// `bidi-bench soak`'s flags.
#[derive(Debug, clap::Args)]
pub struct SoakArgs {
    /// How long to run, in minutes (fractions allowed: 1 = CI's 60 s run).
    #[arg(long, default_value_t = 60.0)]
    pub minutes: f64,
    /// Concurrent sessions.
    #[arg(long, default_value_t = 20)]
    pub sessions: usize,
    /// The `bidi-server` binary (default: next to this one).
    #[arg(long)]
    pub server: Option<PathBuf>,
    /// Seconds between samples.
    #[arg(long, default_value_t = 10)]
    pub sample_secs: u64,
    /// Seconds of warm-up before the baseline sample (default: a third of the run, at
    /// most 5 minutes).
    #[arg(long)]
    pub warmup_secs: Option<u64>,
    /// The RSS growth allowed after the warm-up, in percent.
    #[arg(long, default_value_t = 10.0)]
    pub max_rss_growth: f64,
    /// How long each call lasts before the client hangs up and calls again, in seconds.
    #[arg(long, default_value_t = 120)]
    pub call_secs: u64,
}

/// Why a soak failed.
#[derive(Debug, thiserror::Error)]
pub enum SoakError {
    /// The server could not be started or did not announce its address.
    #[error("server=<{path}> | {detail}")]
    Server {
        /// The binary.
        path: String,
        /// What happened.
        detail: String,
    },
    /// A limit was broken.
    #[error("soak failed: {0}")]
    Leak(String),
}

/// What one sample saw of the server process.
#[derive(Debug, Clone, Copy, Default)]
struct Sample {
    at_s: f64,
    rss_kib: u64,
    fds: usize,
    threads: u64,
    tasks: u64,
    /// Sessions open at the time (`bidi_sessions_active`).
    active: u64,
}

/// The events the sessions saw, over all of them.
#[derive(Debug, Default)]
struct Counts {
    answers: AtomicU64,
    interruptions: AtomicU64,
    tool_results: AtomicU64,
    errors: AtomicU64,
    dropped_sessions: AtomicU64,
    calls: AtomicU64,
}

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

fn server_path(args: &SoakArgs) -> PathBuf {
    args.server.clone().unwrap_or_else(|| {
        std::env::current_exe()
            .map(|exe| exe.with_file_name("bidi-server"))
            .unwrap_or_else(|_| PathBuf::from("bidi-server"))
    })
}

fn start_server(path: &PathBuf, sessions: usize) -> Result<Served, SoakError> {
    let fail = |detail: String| SoakError::Server {
        path: path.display().to_string(),
        detail,
    };
    let mut child = Command::new(path)
        .args(["--listen", "127.0.0.1:0", "--max-sessions"])
        .arg((sessions + 8).to_string())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| fail(e.to_string()))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| fail("no stdout".into()))?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| fail(e.to_string()))?;
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .ok_or_else(|| fail(format!("first line {line:?}")))?
        .to_owned();
    Ok(Served { child, addr })
}

/// The process's VmRSS and Threads, its open descriptors.
fn process(pid: u32) -> (u64, u64, usize) {
    let pid = pid.to_string();
    (
        procfs::status_field(&pid, "VmRSS"),
        procfs::status_field(&pid, "Threads"),
        procfs::open_fds(&pid),
    )
}

/// A metric's value from the server's `/metrics` (0 when absent).
async fn metric(addr: &str, name: &str) -> u64 {
    let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await else {
        return 0;
    };
    let request = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).await.is_err() {
        return 0;
    }
    let mut body = String::new();
    let _ = stream.read_to_string(&mut body).await;
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or(0)
}

/// Calls of `call` each, one after the other, until `stop`.
async fn caller(url: String, stop: Instant, call: Duration, counts: Arc<Counts>) {
    while Instant::now() < stop {
        let hang_up = (Instant::now() + call).min(stop);
        counts.calls.fetch_add(1, Ordering::Relaxed);
        session(&url, hang_up, &counts).await;
    }
}

/// One session, at real time until `stop`: 20 ms of 24 kHz silence per frame, a question
/// needing the calculator at the start of each cycle, loud audio over the answer.
async fn session(url: &str, stop: Instant, counts: &Counts) {
    let Ok((ws, _)) = tokio_tungstenite::connect_async(url).await else {
        counts.dropped_sessions.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let (mut tx, mut rx) = ws.split();
    let frame = |pcm: &[u8]| {
        json!({"type": "bidi_audio_input", "audio": BASE64.encode(pcm), "format": "pcm",
            "sample_rate": 24000, "channels": 1})
        .to_string()
    };
    let silence = frame(&[0u8; 960]);
    let loud: Vec<u8> = (0..480)
        .flat_map(|i| if i / 12 % 2 == 0 { 12_000i16 } else { -12_000 }.to_le_bytes())
        .collect();
    let loud = frame(&loud);
    let question =
        json!({"type": "bidi_text_input", "text": "What is 12 times 7?", "role": "user"})
            .to_string();
    let cycle_frames = u32::try_from(CYCLE.as_millis() / FRAME.as_millis()).unwrap_or(1);
    let sender = async {
        let start = Instant::now();
        let mut n: u32 = 0;
        while Instant::now() < stop {
            let in_cycle = FRAME * (n % cycle_frames);
            if in_cycle.is_zero() && tx.send(Message::text(question.clone())).await.is_err() {
                return;
            }
            let barging = in_cycle >= BARGE_IN_AT && in_cycle < BARGE_IN_AT + BARGE_IN_FOR;
            let audio = if barging { &loud } else { &silence };
            if tx.send(Message::text(audio.clone())).await.is_err() {
                return;
            }
            n += 1;
            tokio::time::sleep_until(start + FRAME * n).await;
        }
        let _ = tx.close().await;
    };
    let receiver = async {
        while let Ok(Some(Ok(message))) = tokio::time::timeout_at(stop, rx.next()).await {
            let Message::Text(text) = message else {
                continue;
            };
            let Ok(event) = serde_json::from_str::<serde_json::Value>(text.as_str()) else {
                continue;
            };
            let counter = match event["type"].as_str() {
                Some("bidi_interruption") => &counts.interruptions,
                Some("tool_result") => &counts.tool_results,
                Some("bidi_error") => &counts.errors,
                Some("bidi_transcript_stream")
                    if event["role"] == "assistant" && event["is_final"] == true =>
                {
                    &counts.answers
                }
                _ => continue,
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }
    };
    tokio::join!(sender, receiver);
}

/// Runs the soak; `Err` when a limit is broken.
pub async fn soak(args: &SoakArgs) -> Result<(), SoakError> {
    let path = server_path(args);
    let served = start_server(&path, args.sessions)?;
    let pid = served.child.id();
    let total = Duration::from_secs_f64(args.minutes.max(0.1) * 60.0);
    let warmup = Duration::from_secs(
        args.warmup_secs
            .unwrap_or_else(|| (total.as_secs() / 3).min(300)),
    );
    let idle_before = idle_sample(pid, &served.addr).await;
    let start = Instant::now();
    let stop = start + total;
    let counts = Arc::new(Counts::default());
    let url = format!("ws://{}/ws", served.addr);
    let mut sessions = tokio::task::JoinSet::new();
    for i in 0..args.sessions {
        // Staggered over one cycle, so the sessions' turns do not line up.
        let offset = CYCLE * u32::try_from(i).unwrap_or(0)
            / u32::try_from(args.sessions.max(1)).unwrap_or(1);
        let (url, counts) = (url.clone(), Arc::clone(&counts));
        let call = Duration::from_secs(args.call_secs.max(1));
        sessions.spawn(async move {
            tokio::time::sleep(offset).await;
            caller(url, stop, call, counts).await;
        });
    }
    println!(
        "soak: {} sessions for {:.1} min against {} (pid {pid}), warm-up {} s, a sample every {} s",
        args.sessions,
        total.as_secs_f64() / 60.0,
        path.display(),
        warmup.as_secs(),
        args.sample_secs
    );
    println!("   t (s)   RSS (KiB)   fds   threads   tasks   open");
    let mut samples = Vec::new();
    let every = Duration::from_secs(args.sample_secs.max(1));
    let mut next = start + every;
    // Samples while every session runs (none at the very end, as they close).
    while next < stop {
        tokio::time::sleep_until(next).await;
        let (rss_kib, threads, fds) = process(pid);
        let tasks = metric(&served.addr, "bidi_tokio_tasks_alive").await;
        let active = metric(&served.addr, "bidi_sessions_active").await;
        let sample = Sample {
            at_s: start.elapsed().as_secs_f64(),
            rss_kib,
            fds,
            threads,
            tasks,
            active,
        };
        println!(
            "{:8.0} {:11} {:5} {:9} {:7} {:8}",
            sample.at_s, sample.rss_kib, sample.fds, sample.threads, sample.tasks, sample.active
        );
        samples.push(sample);
        next += every;
    }
    while sessions.join_next().await.is_some() {}
    let idle_after = settled_sample(pid, &served.addr, idle_before).await;
    println!(
        "soak: idle before {} fds, {} tasks; after every session closed {} fds, {} tasks",
        idle_before.fds, idle_before.tasks, idle_after.fds, idle_after.tasks
    );
    let verdict = judge(&samples, warmup, args.max_rss_growth, idle_before).and_then(|()| {
        if idle_after.fds > idle_before.fds || idle_after.tasks > idle_before.tasks {
            Err(SoakError::Leak(format!(
                "after every session closed: fds {} → {}, tasks {} → {}",
                idle_before.fds, idle_after.fds, idle_before.tasks, idle_after.tasks
            )))
        } else {
            Ok(())
        }
    });
    let c = &counts;
    println!(
        "soak: calls {}, answers {}, interruptions {}, tool results {}, errors {}, calls refused {}",
        c.calls.load(Ordering::Relaxed),
        c.answers.load(Ordering::Relaxed),
        c.interruptions.load(Ordering::Relaxed),
        c.tool_results.load(Ordering::Relaxed),
        c.errors.load(Ordering::Relaxed),
        c.dropped_sessions.load(Ordering::Relaxed),
    );
    if c.dropped_sessions.load(Ordering::Relaxed) > 0 {
        return Err(SoakError::Leak("sessions could not connect".into()));
    }
    if c.interruptions.load(Ordering::Relaxed) == 0 || c.tool_results.load(Ordering::Relaxed) == 0 {
        return Err(SoakError::Leak(
            "no interruption or no tool call: the soak did not exercise them".into(),
        ));
    }
    verdict
}

/// The server with no session open.
async fn idle_sample(pid: u32, addr: &str) -> Sample {
    let (rss_kib, threads, fds) = process(pid);
    Sample {
        at_s: 0.0,
        rss_kib,
        fds,
        threads,
        tasks: metric(addr, "bidi_tokio_tasks_alive").await,
        active: metric(addr, "bidi_sessions_active").await,
    }
}

/// The idle server once the closed sessions' tasks and sockets are gone: sampled until it
/// is back to `before`, for up to 10 s.
async fn settled_sample(pid: u32, addr: &str, before: Sample) -> Sample {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let sample = idle_sample(pid, addr).await;
        let settled = sample.fds <= before.fds && sample.tasks <= before.tasks;
        if settled || Instant::now() >= deadline {
            return sample;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A session's share of descriptors (its socket and the provider connection's two ends) and
/// of tasks, with room to spare: more per open session than this is a leak.
const FDS_PER_SESSION: u64 = 4;
const TASKS_PER_SESSION: u64 = 14;

/// Compares the last sample with the first one after the warm-up (RSS growth, percent and
/// KiB per minute), and every sample after the warm-up with what its open sessions hold
/// (descriptors and tasks above the idle server's).
fn judge(
    samples: &[Sample],
    warmup: Duration,
    max_growth: f64,
    idle: Sample,
) -> Result<(), SoakError> {
    let warm = warmup.as_secs_f64();
    let (Some(base), Some(last)) = (samples.iter().find(|s| s.at_s >= warm), samples.last()) else {
        return Err(SoakError::Leak("no sample after the warm-up".into()));
    };
    let growth = (last.rss_kib as f64 - base.rss_kib as f64) / (base.rss_kib.max(1) as f64) * 100.0;
    let minutes = ((last.at_s - base.at_s) / 60.0).max(1e-9);
    let slope = (last.rss_kib as f64 - base.rss_kib as f64) / minutes;
    println!(
        "soak: after warm-up ({:.0} s → {:.0} s): RSS {} → {} KiB ({growth:+.1} %, {slope:+.0} KiB/min), fds {} → {}, tasks {} → {}",
        base.at_s,
        last.at_s,
        base.rss_kib,
        last.rss_kib,
        base.fds,
        last.fds,
        base.tasks,
        last.tasks
    );
    let mut broken = Vec::new();
    if growth > max_growth {
        broken.push(format!("RSS grew {growth:.1} % (allowed {max_growth} %)"));
    }
    for s in samples.iter().filter(|s| s.at_s >= warm) {
        let fds = (s.fds as u64).saturating_sub(idle.fds as u64);
        if fds > FDS_PER_SESSION * s.active + 2 {
            broken.push(format!(
                "{:.0} s: {fds} descriptors above idle for {} open sessions",
                s.at_s, s.active
            ));
        }
        let tasks = s.tasks.saturating_sub(idle.tasks);
        if tasks > TASKS_PER_SESSION * s.active + 4 {
            broken.push(format!(
                "{:.0} s: {tasks} tasks above idle for {} open sessions",
                s.at_s, s.active
            ));
        }
    }
    if broken.is_empty() {
        println!("soak: ok");
        Ok(())
    } else {
        Err(SoakError::Leak(broken.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sample with 5 sessions open (idle: 10 descriptors, 3 tasks).
    fn at(at_s: f64, rss_kib: u64, fds: usize, tasks: u64) -> Sample {
        Sample {
            at_s,
            rss_kib,
            fds,
            threads: 4,
            tasks,
            active: 5,
        }
    }

    #[test]
    fn growth_and_leaks_after_the_warm_up_are_judged() {
        let warm = Duration::from_secs(20);
        let idle = Sample {
            fds: 10,
            tasks: 3,
            ..Sample::default()
        };
        let flat = [
            at(10.0, 5000, 25, 50),
            at(20.0, 9000, 25, 50),
            at(60.0, 9500, 26, 52),
        ];
        assert!(judge(&flat, warm, 10.0, idle).is_ok());
        let growing = [at(20.0, 9000, 25, 50), at(60.0, 10_000, 25, 50)];
        assert!(judge(&growing, warm, 10.0, idle).is_err());
        let fds = [at(20.0, 9000, 25, 50), at(60.0, 9000, 40, 50)];
        assert!(judge(&fds, warm, 10.0, idle).is_err());
        let tasks = [at(20.0, 9000, 25, 50), at(60.0, 9000, 25, 90)];
        assert!(judge(&tasks, warm, 10.0, idle).is_err());
        assert!(judge(&[at(10.0, 1, 1, 1)], warm, 10.0, idle).is_err());
    }
}
