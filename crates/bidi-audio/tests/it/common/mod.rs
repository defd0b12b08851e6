//! Shared test helpers: the virtual ALSA sandbox, an agent view, signals and measures.

#![allow(dead_code)]

mod sandbox;
pub use sandbox::*;

use std::f64::consts::TAU;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use bidi_types::{AgentView, AudioConfig, ModelConfig, PlaybackTracker, SampleRate};

/// A view of an agent whose model has the given rates.
pub struct Agent {
    pub config: ModelConfig,
    pub tracker: Option<PlaybackTracker>,
}

impl Agent {
    pub fn new(input: SampleRate, output: SampleRate) -> Self {
        Self {
            config: ModelConfig::new("test-model", AudioConfig::new(input, output)),
            tracker: None,
        }
    }
}

impl AgentView for Agent {
    fn model_config(&self) -> ModelConfig {
        self.config.clone()
    }
    fn agent_id(&self) -> &str {
        "test-agent"
    }
    fn playback(&self) -> Option<PlaybackTracker> {
        self.tracker.clone()
    }
}

/// A sine of `freq` Hz at `rate` Hz, `frames` long, with amplitude `amp`.
pub fn sine(freq: f64, rate: u32, frames: usize, amp: f64) -> Vec<f64> {
    (0..frames)
        .map(|i| amp * (TAU * freq * i as f64 / f64::from(rate)).sin())
        .collect()
}

/// Samples as 32-bit float little-endian (the capture device's format).
pub fn to_f32le(samples: impl IntoIterator<Item = f64>) -> Vec<u8> {
    samples
        .into_iter()
        .flat_map(|s| (s as f32).to_le_bytes())
        .collect()
}

/// Samples as 16-bit little-endian PCM.
pub fn to_pcm16(samples: impl IntoIterator<Item = f64>) -> Vec<u8> {
    samples
        .into_iter()
        .flat_map(|s| {
            let v = (s * 32_768.0).round().clamp(-32_768.0, 32_767.0) as i16;
            v.to_le_bytes()
        })
        .collect()
}

/// 16-bit little-endian PCM as samples in -1..1.
pub fn from_pcm16(bytes: &[u8]) -> Vec<f64> {
    bytes
        .chunks_exact(2)
        .map(|b| f64::from(i16::from_le_bytes([b[0], b[1]])) / 32_768.0)
        .collect()
}

/// The best alignment of `got` against `want` within `±max_lag` samples: `(lag, snr_db)`
/// where `got[i + lag]` matches `want[i]`, measured over `want[range]`.
pub fn best_snr(
    got: &[f64],
    want: &[f64],
    range: std::ops::Range<usize>,
    max_lag: i64,
) -> (i64, f64) {
    let mut best = (0, f64::NEG_INFINITY);
    for lag in -max_lag..=max_lag {
        let (mut sig, mut noise) = (0.0, 0.0);
        let mut ok = true;
        for i in range.clone() {
            let j = i as i64 + lag;
            if j < 0 || j as usize >= got.len() {
                ok = false;
                break;
            }
            let e = got[j as usize] - want[i];
            sig += want[i] * want[i];
            noise += e * e;
        }
        if ok {
            let snr = 10.0 * (sig / noise.max(1e-30)).log10();
            if snr > best.1 {
                best = (lag, snr);
            }
        }
    }
    best
}

/// The peak normalised cross-correlation of `got` against `want` within `±max_lag`.
pub fn best_correlation(got: &[f64], want: &[f64], max_lag: i64) -> (i64, f64) {
    let mut best = (0, f64::NEG_INFINITY);
    for lag in -max_lag..=max_lag {
        let (mut xy, mut xx, mut yy) = (0.0, 0.0, 0.0);
        for (i, w) in want.iter().enumerate() {
            let j = i as i64 + lag;
            if j < 0 || j as usize >= got.len() {
                continue;
            }
            let g = got[j as usize];
            xy += g * w;
            xx += g * g;
            yy += w * w;
        }
        let c = xy / (xx * yy).sqrt().max(1e-30);
        if c > best.1 {
            best = (lag, c);
        }
    }
    best
}

/// Polls `cond` until it holds; panics after `limit` (a bound against hangs, not a timing
/// assertion).
pub fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Whether a program runs (`prog --version`).
pub fn have(prog: &str) -> bool {
    Command::new(prog)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs a command, panicking with its stderr on failure.
pub fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A path in `dir`.
pub fn file(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

/// Writes `samples` (in [-1, 1], interleaved) as a 16-bit PCM WAV file.
pub fn write_wav(path: &std::path::Path, rate: u32, channels: u16, samples: &[f64]) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap_or_else(|e| panic!("{e}"));
    for s in samples {
        let v = (s * 32_768.0).round().clamp(-32_768.0, 32_767.0) as i16;
        w.write_sample(v).unwrap_or_else(|e| panic!("{e}"));
    }
    w.finalize().unwrap_or_else(|e| panic!("{e}"));
}

pub mod room;
