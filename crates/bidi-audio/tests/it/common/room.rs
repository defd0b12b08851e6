//! A synthetic room for the echo canceller: espeak-ng talkers, exponentially decaying
//! noise impulse responses, a soft-clipping loudspeaker, and the measures (ERLE, near-end
//! gain). Shared by `tests/it/echo.rs`, `benches/echo.rs` and (by path) bidi-sim's
//! `tests/it/echo_loopback.rs`.

#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use bidi_audio::dsp::StreamResampler;

/// The far-end talker's lines (the agent's answers).
pub const FAR: &[&str] = &[
    "Sure, I can help with that. The weather in Seattle today is cloudy with a chance of rain.",
    "Your next meeting starts at three in the afternoon, and it is about the quarterly budget.",
];
/// The near-end talker's lines (the user barging in).
pub const NEAR: &[&str] = &[
    "Wait, stop, I meant the weather in Portland, not Seattle.",
    "Can you tell me about tomorrow instead?",
];

/// `a + b`, sample by sample (as long as the shorter).
pub fn add(a: &[f32], b: &[f32]) -> Vec<f32> {
    a.iter().zip(b).map(|(x, y)| x + y).collect()
}

/// Low background noise (-60 dBFS), as every microphone has.
pub fn hiss(len: usize, seed: u64) -> Vec<f32> {
    let mut n = Noise::new(seed);
    (0..len).map(|_| 0.001 * n.next()).collect()
}

/// Whether espeak-ng runs. When it does not: under `CI=true` a test fails, elsewhere it is
/// skipped with this reason printed.
pub fn espeak_or_skip(test: &str) -> bool {
    let ok = Command::new("espeak-ng")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{test} needs espeak-ng (apt-get install espeak-ng)"
        );
        eprintln!("{test}: skipped, espeak-ng is not installed (apt-get install espeak-ng)");
    }
    ok
}

/// `text` spoken by espeak-ng in `voice` (such as `en-us` or `en+f3`), at `rate` Hz, peak
/// normalised to `peak`. The WAV goes through `dir`.
pub fn speech(dir: &Path, voice: &str, text: &str, rate: u32, peak: f32) -> Vec<f32> {
    let wav = dir.join(format!("speech-{voice}-{}.wav", text.len()));
    let out = Command::new("espeak-ng")
        .args(["-v", voice, "-s", "165", "-w"])
        .arg(&wav)
        .arg(text)
        .output()
        .unwrap_or_else(|e| panic!("espeak-ng: {e}"));
    assert!(
        out.status.success(),
        "espeak-ng: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reader = hound::WavReader::open(&wav).unwrap_or_else(|e| panic!("{e}"));
    let from = reader.spec().sample_rate;
    let raw: Vec<f32> = reader
        .into_samples::<i16>()
        .map(|s| f32::from(s.unwrap_or(0)) / 32_768.0)
        .collect();
    let mut r = StreamResampler::new(from, rate, 1).unwrap_or_else(|e| panic!("{e}"));
    let mut out = Vec::new();
    r.process(&raw, &mut out).unwrap_or_else(|e| panic!("{e}"));
    r.finish(&mut out).unwrap_or_else(|e| panic!("{e}"));
    let max = out.iter().fold(0.0f32, |m, s| m.max(s.abs())).max(1e-9);
    out.iter_mut().for_each(|s| *s *= peak / max);
    out
}

/// Several sentences in a row, at least `secs` long (repeating them if needed).
pub fn talker(dir: &Path, voice: &str, sentences: &[&str], rate: u32, secs: f32) -> Vec<f32> {
    let mut out = Vec::new();
    let want = (secs * rate as f32) as usize;
    while out.len() < want {
        for s in sentences {
            out.extend(speech(dir, voice, s, rate, 0.5));
        }
    }
    out.truncate(want);
    out
}

/// A deterministic noise source (xorshift), uniform in [-1, 1).
pub struct Noise(u64);

impl Noise {
    /// Noise from `seed` (any value).
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next sample.
    pub fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 40) as f32 / (1u64 << 23) as f32) - 1.0
    }
}

/// A room impulse response at `rate` Hz: silence for `delay_ms`, then exponentially
/// decaying noise falling 60 dB over `tail_ms`, scaled so the echo is `gain` (amplitude)
/// of the loudspeaker signal in energy.
pub fn rir(rate: u32, delay_ms: u32, tail_ms: u32, gain: f32, seed: u64) -> Vec<f32> {
    let delay = (delay_ms * rate / 1000) as usize;
    let tail = (tail_ms * rate / 1000) as usize;
    let mut noise = Noise::new(seed);
    let mut h = vec![0.0f32; delay + tail];
    let decay = 6.9 / tail as f32; // e^-6.9 = -60 dB
    for (i, x) in h[delay..].iter_mut().enumerate() {
        *x = noise.next() * (-decay * i as f32).exp();
    }
    let energy: f32 = h.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-9);
    h.iter_mut().for_each(|x| *x *= gain / energy);
    h
}

/// The loudspeaker's mild nonlinearity: a tanh soft clip that is nearly linear at low levels
/// and compresses peaks (0.5 comes out as 0.46).
pub fn loudspeaker(x: &[f32]) -> Vec<f32> {
    x.iter().map(|&s| (1.2 * s).tanh() / 1.2).collect()
}

/// `x` convolved with `h`, cut to `x.len()` (FFT convolution).
pub fn convolve(x: &[f32], h: &[f32]) -> Vec<f32> {
    let n = (x.len() + h.len()).next_power_of_two();
    let mut planner = realfft::RealFftPlanner::<f32>::new();
    let fwd = planner.plan_fft_forward(n);
    let inv = planner.plan_fft_inverse(n);
    let spectrum = |s: &[f32]| {
        let mut buf = vec![0.0f32; n];
        buf[..s.len()].copy_from_slice(s);
        let mut out = fwd.make_output_vec();
        fwd.process(&mut buf, &mut out)
            .unwrap_or_else(|e| panic!("{e}"));
        out
    };
    let (a, b) = (spectrum(x), spectrum(h));
    let mut prod: Vec<_> = a.iter().zip(&b).map(|(p, q)| p * q).collect();
    let mut out = inv.make_output_vec();
    inv.process(&mut prod, &mut out)
        .unwrap_or_else(|e| panic!("{e}"));
    out.truncate(x.len());
    out.iter_mut().for_each(|s| *s /= n as f32);
    out
}

/// Energy of `x[range]`.
pub fn energy(x: &[f32], range: std::ops::Range<usize>) -> f64 {
    x[range.start.min(x.len())..range.end.min(x.len())]
        .iter()
        .map(|&s| f64::from(s) * f64::from(s))
        .sum()
}

/// Echo return loss enhancement in dB over `range`: how much weaker the output is than the
/// echo that went in.
pub fn erle_db(echo: &[f32], out: &[f32], range: std::ops::Range<usize>) -> f64 {
    10.0 * (energy(echo, range.clone()) / energy(out, range).max(1e-12)).log10()
}

/// The 10 ms frames of `x` (at `rate`) where it is active: energy above -40 dB of its
/// loudest frame.
pub fn active_frames(x: &[f32], rate: u32) -> Vec<bool> {
    let n = rate as usize / 100;
    let e: Vec<f64> = x.chunks(n).map(|c| energy(c, 0..c.len())).collect();
    let max = e.iter().copied().fold(0.0, f64::max);
    e.iter().map(|&v| v > max * 1e-4).collect()
}

/// The level of `out` relative to `near` in dB, over the 10 ms frames `mask` selects: the
/// least-squares gain of `near` in `out` (`<out, near> / <near, near>`), in dB. 0 dB is a
/// canceller that leaves the near-end talker untouched; -15 dB one that ducks it.
pub fn near_gain_db(near: &[f32], out: &[f32], rate: u32, mask: &[bool]) -> f64 {
    let n = rate as usize / 100;
    let (mut cross, mut auto) = (0.0f64, 0.0f64);
    for (i, &on) in mask.iter().enumerate() {
        if !on {
            continue;
        }
        for k in i * n..((i + 1) * n).min(near.len()).min(out.len()) {
            cross += f64::from(out[k]) * f64::from(near[k]);
            auto += f64::from(near[k]) * f64::from(near[k]);
        }
    }
    20.0 * (cross / auto.max(1e-12)).abs().max(1e-9).log10()
}

/// The median over the 10 ms frames `mask` selects of each frame's least-squares gain of
/// `near` in `out`, in dB: how much a typical frame of the near-end talker is ducked
/// (a global gain is dominated by the loudest syllables).
pub fn median_frame_gain_db(near: &[f32], out: &[f32], rate: u32, mask: &[bool]) -> f64 {
    let n = rate as usize / 100;
    let mut gains: Vec<f64> = Vec::new();
    for (i, &on) in mask.iter().enumerate() {
        let end = ((i + 1) * n).min(near.len()).min(out.len());
        if !on || i * n >= end {
            continue;
        }
        let (mut cross, mut auto) = (0.0f64, 0.0f64);
        for k in i * n..end {
            cross += f64::from(out[k]) * f64::from(near[k]);
            auto += f64::from(near[k]) * f64::from(near[k]);
        }
        gains.push(20.0 * (cross / auto.max(1e-12)).abs().max(1e-6).log10());
    }
    gains.sort_by(f64::total_cmp);
    gains
        .get(gains.len() / 2)
        .copied()
        .unwrap_or(f64::NEG_INFINITY)
}
