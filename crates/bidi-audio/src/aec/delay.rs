//! [`DelayEstimator`]: how far the microphone lags the far end, measured fast enough that a
//! jump of the echo path's delay (a device's buffering changing) is followed within a
//! second.
//!
//! AEC3 finds the delay itself, but moves its estimate only once a new lag wins a majority
//! of its last second of matched-filter votes: after a jump, 2.5-3 s. This estimator
//! measures where the room's impulse response starts over the last half second; the
//! canceller (`core`) shifts the far end it gives AEC3 by each jump, so AEC3 keeps seeing
//! the delay it locked on.
//!
//! Method: both signals are low-passed and decimated to 4 kHz. Every 20 ms while the far end
//! talks, the cross spectrum of the last 512 ms of microphone and the last 912 ms of far end
//! (unwindowed, so every lag of 0-400 ms is a full-overlap correlation) and both power
//! spectra are smoothed over time; the cross spectrum over the geometric mean of the powers
//! (SCOT weighting, 150-1800 Hz), transformed back, is a whitened impulse response. With
//! the far end's power alone (Roth weighting), a user talking over the far end made stray
//! peaks that moved the alignment three times in the double-talk test; SCOT weighs down the
//! bands the near-end talker fills. The response is where the 10 ms of lags with the most
//! energy are; it starts at the first 10 ms, up to 40 ms earlier, holding half as much.
//! A measure counts when that energy per lag stands 9 dB over the mean across all lags;
//! three agreeing measures (within 4 ms) give the estimate, and a jump of more than 20 ms
//! needs eight, with the old delay's energy down to under 30 % of the new one's.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use super::filter::Biquad;

/// Decimation from the 16 kHz chain.
const DECIMATION: usize = 4;
/// The decimated rate, Hz.
const RATE: f32 = 4_000.0;
/// The longest delay measured: 400 ms at 4 kHz.
pub(crate) const MAX_LAG: usize = 1_600;
/// Microphone samples per measure: 512 ms at 4 kHz.
const WINDOW: usize = 2_048;
/// Far-end samples per measure: the window and every lag before it.
const FAR_LEN: usize = WINDOW + MAX_LAG;
/// FFT length: no circular wrap for lags 0..=MAX_LAG.
const FFT: usize = 4_096;
/// A measure every 20 ms (at 4 kHz).
const HOP: usize = 80;
/// Smoothing of the spectra between measures (time constant ~130 ms).
const SMOOTH: f32 = 0.85;
/// The band used, in FFT bins: 150-1800 Hz.
const BAND: std::ops::Range<usize> = (150 * FFT / 4_000)..(1_800 * FFT / 4_000);
/// Energy per lag of the strongest 10 ms over the mean across lags, for a measure to
/// count (9 dB).
const CONFIDENCE: f32 = 8.0;
/// The span of lags whose energy marks where the response is (10 ms at 4 kHz).
const SPAN: usize = 40;
/// How far before the strongest span the response's start is looked for (40 ms at 4 kHz).
const ONSET_SEARCH: usize = 160;
/// Measures in a row that must agree within [`AGREE_LAGS`].
const AGREE: usize = 3;
/// 4 ms at 4 kHz.
const AGREE_LAGS: usize = 16;
/// Measures in a row that must agree on a new delay more than [`JUMP`] from the last.
const AGREE_JUMP: usize = 8;
/// A measured delay this far (20 ms at 16 kHz) from the last is a jump.
pub(crate) const JUMP: usize = 320;
/// A jump is taken only once the response where it was holds less than this share of the
/// new one's energy.
const GONE: f32 = 0.3;
/// Measures before the first estimate (0.5 s of far-end speech).
const WARM_UP: usize = 25;
/// The far end talks when its last 512 ms hold this share of its recent peak power.
const FAR_ACTIVE: f32 = 0.03;
/// How fast the far end's peak power is forgotten, per measure (about 1 dB/s).
const PEAK_DECAY: f32 = 0.995;
/// Mean power (in [-1, 1] units) below which a window is silent and not measured.
const SILENT: f32 = 1e-7;

/// A ring of the newest samples.
#[derive(Debug)]
struct History {
    samples: Vec<f32>,
    next: usize,
}

impl History {
    fn new(len: usize) -> Self {
        Self {
            samples: vec![0.0; len],
            next: 0,
        }
    }

    fn push(&mut self, s: f32) {
        self.samples[self.next] = s;
        self.next = (self.next + 1) % self.samples.len();
    }

    /// Copies the samples, oldest first, into the start of `out`.
    fn copy_to(&self, out: &mut [f32]) {
        let (old, new) = self.samples.split_at(self.next);
        out[..new.len()].copy_from_slice(new);
        out[new.len()..new.len() + old.len()].copy_from_slice(old);
    }

    fn power(&self) -> f32 {
        self.samples.iter().map(|s| s * s).sum::<f32>() / self.samples.len() as f32
    }
}

/// Low-pass (4th-order Butterworth at 1.8 kHz) and keep every 4th sample.
#[derive(Debug)]
struct Decimator {
    sections: [Biquad; 2],
    phase: usize,
}

impl Decimator {
    fn new() -> Self {
        let rate = RATE * DECIMATION as f32;
        Self {
            sections: [
                Biquad::low_pass(1_800.0, rate, 0.541_196_1),
                Biquad::low_pass(1_800.0, rate, 1.306_563),
            ],
            phase: 0,
        }
    }

    fn push(&mut self, input: &[f32], out: &mut History) -> usize {
        let mut pushed = 0;
        for &x in input {
            // A non-finite sample would stay in the filters' state for good.
            let x = if x.is_finite() { x } else { 0.0 };
            let first = self.sections[0].step(x);
            let y = self.sections[1].step(first);
            self.phase += 1;
            if self.phase == DECIMATION {
                self.phase = 0;
                out.push(y);
                pushed += 1;
            }
        }
        pushed
    }
}

/// Measures the far-end-to-microphone delay; see the module documentation.
pub(crate) struct DelayEstimator {
    far_lp: Decimator,
    near_lp: Decimator,
    far: History,
    near: History,
    since: usize,
    far_peak: f32,
    updates: usize,
    fwd: Arc<dyn RealToComplex<f32>>,
    inv: Arc<dyn ComplexToReal<f32>>,
    time: Vec<f32>,
    far_spec: Vec<Complex<f32>>,
    near_spec: Vec<Complex<f32>>,
    cross: Vec<Complex<f32>>,
    auto: Vec<f32>,
    near_auto: Vec<f32>,
    scratch: Vec<Complex<f32>>,
    /// The response's energy over [`SPAN`] lags from each lag.
    envelope: Vec<f32>,
    candidate: Option<usize>,
    agreeing: usize,
    estimate: Option<usize>,
}

impl std::fmt::Debug for DelayEstimator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DelayEstimator")
            .field("estimate", &self.estimate)
            .finish_non_exhaustive()
    }
}

impl DelayEstimator {
    pub(crate) fn new() -> Self {
        let mut planner = RealFftPlanner::<f32>::new();
        let fwd = planner.plan_fft_forward(FFT);
        let inv = planner.plan_fft_inverse(FFT);
        let scratch_len = fwd.get_scratch_len().max(inv.get_scratch_len());
        let bins = FFT / 2 + 1;
        Self {
            far_lp: Decimator::new(),
            near_lp: Decimator::new(),
            far: History::new(FAR_LEN),
            near: History::new(WINDOW),
            since: 0,
            far_peak: 0.0,
            updates: 0,
            time: vec![0.0; FFT],
            far_spec: fwd.make_output_vec(),
            near_spec: fwd.make_output_vec(),
            cross: vec![Complex::new(0.0, 0.0); bins],
            auto: vec![0.0; bins],
            near_auto: vec![0.0; bins],
            scratch: vec![Complex::new(0.0, 0.0); scratch_len],
            envelope: vec![0.0; MAX_LAG + 2 - SPAN],
            fwd,
            inv,
            candidate: None,
            agreeing: 0,
            estimate: None,
        }
    }

    /// Takes far-end audio at 16 kHz.
    pub(crate) fn far(&mut self, far: &[f32]) {
        self.far_lp.push(far, &mut self.far);
    }

    /// Takes microphone audio at 16 kHz, measuring every 20 ms.
    pub(crate) fn near(&mut self, near: &[f32]) {
        self.since += self.near_lp.push(near, &mut self.near);
        if self.since >= HOP {
            self.since = 0;
            self.measure();
        }
    }

    /// The latest agreed delay, in samples at 16 kHz: where the room's response starts.
    pub(crate) fn estimate(&self) -> Option<usize> {
        self.estimate
    }

    fn measure(&mut self) {
        if self.far.power() < SILENT || self.near.power() < SILENT {
            return;
        }
        self.far.copy_to(&mut self.time);
        self.time[FAR_LEN..].fill(0.0);
        // Measure only while the far end talks: the microphone alone (the user, the room)
        // correlates with nothing and would blur the spectra.
        let recent = self.time[FAR_LEN - WINDOW..FAR_LEN]
            .iter()
            .map(|s| s * s)
            .sum::<f32>()
            / WINDOW as f32;
        self.far_peak = recent.max(self.far_peak * PEAK_DECAY);
        if recent < FAR_ACTIVE * self.far_peak {
            return;
        }
        self.updates += 1;
        if self
            .fwd
            .process_with_scratch(&mut self.time, &mut self.far_spec, &mut self.scratch)
            .is_err()
        {
            return;
        }
        self.near.copy_to(&mut self.time);
        self.time[WINDOW..].fill(0.0);
        if self
            .fwd
            .process_with_scratch(&mut self.time, &mut self.near_spec, &mut self.scratch)
            .is_err()
        {
            return;
        }
        let mut mean_auto = 0.0;
        for k in BAND {
            let (f, n) = (self.far_spec[k], self.near_spec[k]);
            self.cross[k] = self.cross[k] * SMOOTH + f * n.conj() * (1.0 - SMOOTH);
            self.auto[k] = self.auto[k] * SMOOTH + f.norm_sqr() * (1.0 - SMOOTH);
            self.near_auto[k] = self.near_auto[k] * SMOOTH + n.norm_sqr() * (1.0 - SMOOTH);
            mean_auto += (self.auto[k] * self.near_auto[k]).sqrt();
        }
        let floor = 1e-3 * mean_auto / BAND.len() as f32 + f32::MIN_POSITIVE;
        for (k, out) in self.far_spec.iter_mut().enumerate() {
            *out = if BAND.contains(&k) {
                self.cross[k] / ((self.auto[k] * self.near_auto[k]).sqrt() + floor)
            } else {
                Complex::new(0.0, 0.0)
            };
        }
        if self
            .inv
            .process_with_scratch(&mut self.far_spec, &mut self.time, &mut self.scratch)
            .is_err()
        {
            return;
        }
        // time[k] correlates the microphone with the far end `MAX_LAG - k` samples earlier.
        let power = |lag: usize| {
            let v = self.time[MAX_LAG - lag];
            v * v
        };
        // The 10 ms of lags holding the most of the response's energy: a single tap of a
        // diffuse response is a noisy marker, its early energy is not.
        let mut total = 0.0f32;
        for lag in 0..=MAX_LAG {
            total += power(lag);
        }
        let mut window: f32 = (0..SPAN).map(power).sum();
        let (mut peak, mut best) = (0, window);
        self.envelope[0] = window;
        for lag in 1..=MAX_LAG + 1 - SPAN {
            window += power(lag + SPAN - 1) - power(lag - 1);
            self.envelope[lag] = window;
            if window > best {
                (peak, best) = (lag, window);
            }
        }
        // Where the response starts: the first span, up to 40 ms before the strongest,
        // holding half as much.
        let onset = (peak.saturating_sub(ONSET_SEARCH)..=peak)
            .find(|&lag| self.envelope[lag] >= 0.5 * best)
            .unwrap_or(peak);
        let ratio = best / SPAN as f32 / (total / (MAX_LAG + 1) as f32).max(f32::MIN_POSITIVE);
        if !ratio.is_finite() {
            // A non-finite sample got into the spectra: forget them rather than carry it.
            self.cross.fill(Complex::new(0.0, 0.0));
            self.auto.fill(0.0);
            self.near_auto.fill(0.0);
            self.agreeing = 0;
            return;
        }
        if ratio < CONFIDENCE {
            self.agreeing = 0;
            return;
        }
        match self.candidate {
            Some(c) if c.abs_diff(onset) <= AGREE_LAGS => self.agreeing += 1,
            _ => {
                self.candidate = Some(onset);
                self.agreeing = 1;
            }
        }
        if self.updates < WARM_UP {
            return;
        }
        let accept = match self.estimate.map(|e| e / DECIMATION) {
            // A jump: the new start must hold for longer, and the response must be gone
            // from where it was (the user talking over the far end makes stray peaks, but
            // leaves the echo where it is).
            Some(e) if e.abs_diff(onset) > JUMP / DECIMATION => {
                let old = e.min(self.envelope.len() - 1);
                let end = (old + SPAN).min(self.envelope.len());
                let left = self.envelope[old..end].iter().copied().fold(0.0, f32::max);
                self.agreeing >= AGREE_JUMP && left < GONE * best
            }
            _ => self.agreeing >= AGREE,
        };
        if accept {
            self.estimate = Some(onset * DECIMATION);
        }
    }
}
