//! The library path: the sessions the server is measured with, run by `BidiAgent::run` in a
//! process of their own, with in-process IO instead of a browser's WebSocket. The agents
//! are the server's own (`QuickstartAgents`, the same tools, prompt and provider), the
//! input the same real-time silence with a question every 3 s, the output reads the same
//! stamp from each audio chunk. What the served path costs on top of this one is what
//! bidi-server adds: the client's socket, its JSON both ways, auth, limits and metrics.
//!
//! The parent re-runs this bench binary with [`CHILD_FLAG`]; the child measures its own CPU
//! and RSS over the window and prints one JSON line.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use bidi_agent::types::{
    AudioFormat, BidiAgentEvent, BidiAudioInputEvent, BidiInput, BidiInputEvent, BidiOutput,
    BidiOutputEvent, BidiTextInputEvent, Channels, IoError, SampleRate,
};
use bidi_examples::assistant::cli::ProviderName;
use bidi_server::assistant::{ProviderChoice, QuickstartAgents};
use bidi_server::{AgentFactory, SessionStart};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::{BoxError, QUESTION_EVERY, Samples, measured, stamp_age_ms, usage, usage_per_session};

/// The flag that makes the bench binary a library-path child: `--library-child ENDPOINT
/// SESSIONS SECONDS AUDIO` (`pcm`: 24 kHz PCM, the default; `mulaw`: the audio of a phone
/// call, G.711 μ-law at 8 kHz both ways).
pub const CHILD_FLAG: &str = "--library-child";

/// The library path's name in the tables.
pub const ROW: &str = "bidi library (in-process IO)";

/// What a child measured: CPU per session (% of a core), RSS growth per session (MiB), and
/// the latency samples.
pub struct Measured {
    pub cpu_per_session: f64,
    pub rss_per_session_mib: f64,
    pub samples: Samples,
}

/// The audio a library session streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audio {
    /// 24 kHz PCM both ways (what the served bench's browser client sends).
    Pcm,
    /// G.711 μ-law at 8 kHz both ways (`SessionStart::call()`: a phone call's audio).
    Mulaw,
}

impl Audio {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pcm => "pcm",
            Self::Mulaw => "mulaw",
        }
    }
}

/// Runs the child for `sessions` sessions (on CPU 1 with `pin`) and reads what it measured.
pub fn measure(
    endpoint: &str,
    sessions: usize,
    seconds: u64,
    pin: bool,
    audio: Audio,
) -> Result<Measured, BoxError> {
    let exe = std::env::current_exe()?;
    let out = measured(exe, pin)
        .args([
            CHILD_FLAG,
            endpoint,
            &sessions.to_string(),
            &seconds.to_string(),
            audio.as_str(),
        ])
        .env("RUST_LOG", "warn")
        .stderr(std::process::Stdio::null())
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .last()
        .ok_or("the library child printed nothing")?;
    let v: Value = serde_json::from_str(line)?;
    let list = |k: &str| -> Vec<f64> {
        v[k].as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_f64)
            .collect()
    };
    Ok(Measured {
        cpu_per_session: v["cpu_per_session"].as_f64().ok_or("cpu_per_session")?,
        rss_per_session_mib: v["rss_per_session_mib"]
            .as_f64()
            .ok_or("rss_per_session_mib")?,
        samples: Samples {
            first_audio_ms: list("first_audio_ms"),
            delta_ms: list("delta_ms"),
            errors: usize::try_from(v["errors"].as_u64().unwrap_or(0)).unwrap_or(usize::MAX),
        },
    })
}

/// [`measure`] off the runtime, a second after the last server went (its sockets closing).
pub async fn measure_after_pause(
    endpoint: &str,
    sessions: usize,
    seconds: u64,
    pin: bool,
    audio: Audio,
) -> Result<Measured, BoxError> {
    tokio::time::sleep(Duration::from_secs(1)).await;
    let endpoint = endpoint.to_owned();
    tokio::task::spawn_blocking(move || measure(&endpoint, sessions, seconds, pin, audio)).await?
}

/// The child: `args` are what follows [`CHILD_FLAG`].
pub async fn child(args: &[String]) -> Result<(), BoxError> {
    let [endpoint, sessions, seconds, audio] = args else {
        return Err(format!("usage: {CHILD_FLAG} ENDPOINT SESSIONS SECONDS pcm|mulaw").into());
    };
    let sessions: usize = sessions.parse()?;
    let seconds: u64 = seconds.parse()?;
    let mulaw = audio == Audio::Mulaw.as_str();
    let choice = ProviderChoice {
        provider: Some(ProviderName::Openai),
        endpoint: Some(endpoint.clone()),
        ..ProviderChoice::default()
    };
    let factory = QuickstartAgents::start(choice, |k| std::env::var(k).ok()).await?;
    let me = std::process::id();
    let (_, idle_rss) = usage(me)?;
    let measure_from = Instant::now() + Duration::from_secs(2);
    let stop = measure_from + Duration::from_secs(seconds);
    let samples: Arc<Mutex<Samples>> = Arc::default();
    for _ in 0..sessions {
        let start = match mulaw {
            true => SessionStart::call(),
            false => SessionStart::default(),
        };
        let agent = factory.create(start).await?;
        let asked: Arc<Mutex<Option<Instant>>> = Arc::default();
        let input = Silence::new(Arc::clone(&asked), mulaw);
        let output = Stamps {
            measure_from,
            asked,
            samples: Arc::clone(&samples),
        };
        let samples = Arc::clone(&samples);
        tokio::spawn(async move {
            if agent
                .run(vec![Box::new(input)], vec![Box::new(output)], None)
                .await
                .is_err()
            {
                samples
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .errors += 1;
            }
        });
    }
    let (cpu, rss) = usage_per_session(me, idle_rss, measure_from, stop, sessions).await?;
    let s = samples.lock().unwrap_or_else(PoisonError::into_inner);
    let line = json!({
        "cpu_per_session": cpu,
        "rss_per_session_mib": rss,
        "first_audio_ms": s.first_audio_ms,
        "delta_ms": s.delta_ms,
        "errors": s.errors,
    });
    println!("{line}");
    // The sessions are not stopped: the process ends with them.
    std::process::exit(0);
}

/// 20 ms frames of silence at real time (an absolute schedule; 24 kHz PCM, or μ-law at
/// 8 kHz) and a question every [`QUESTION_EVERY`], the first after 500 ms: what the served
/// bench's client sends.
struct Silence {
    frame: BidiAudioInputEvent,
    start: Instant,
    sent: u32,
    next_question: Instant,
    asked: Arc<Mutex<Option<Instant>>>,
}

impl Silence {
    fn new(asked: Arc<Mutex<Option<Instant>>>, mulaw: bool) -> Self {
        let start = Instant::now();
        let frame = match mulaw {
            true => (&[0xFFu8; 160][..], AudioFormat::Pcmu, SampleRate::Hz8000),
            false => (&[0u8; 960][..], AudioFormat::Pcm, SampleRate::Hz24000),
        };
        Self {
            frame: BidiAudioInputEvent::from_bytes(frame.0, frame.1, frame.2, Channels::Mono),
            start,
            sent: 0,
            next_question: start + Duration::from_millis(500),
            asked,
        }
    }
}

#[async_trait]
impl BidiInput for Silence {
    async fn read(&mut self) -> Result<Option<BidiInputEvent>, IoError> {
        let now = Instant::now();
        if now >= self.next_question {
            *self.asked.lock().unwrap_or_else(PoisonError::into_inner) = Some(now);
            self.next_question += QUESTION_EVERY;
            return Ok(Some(BidiTextInputEvent::new("hello").into()));
        }
        tokio::time::sleep_until(self.start + Duration::from_millis(20) * self.sent).await;
        self.sent += 1;
        Ok(Some(self.frame.clone().into()))
    }
}

/// Reads each audio chunk's send stamp, and the first chunk after each question.
struct Stamps {
    measure_from: Instant,
    asked: Arc<Mutex<Option<Instant>>>,
    samples: Arc<Mutex<Samples>>,
}

#[async_trait]
impl BidiOutput for Stamps {
    async fn write(&mut self, event: &BidiAgentEvent) -> Result<(), IoError> {
        let Some(BidiOutputEvent::AudioStream(audio)) = event.as_output() else {
            return Ok(());
        };
        let now = Instant::now();
        let first = self
            .asked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if now < self.measure_from {
            return Ok(());
        }
        let mut s = self.samples.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(at) = first {
            s.first_audio_ms
                .push(now.duration_since(at).as_secs_f64() * 1e3);
        }
        if let Some(ms) = stamp_age_ms(audio.audio()) {
            s.delta_ms.push(ms);
        }
        Ok(())
    }
}
