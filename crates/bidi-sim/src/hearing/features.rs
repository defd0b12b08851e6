//! [`Fingerprint`]: what an utterance sounds like, frame by frame, in a form that does not
//! depend on its sample rate, its loudness or the silence around it.
//!
//! Per 25 ms frame every 10 ms: pre-emphasis (0.97), a Hann window, the power spectrum
//! (a real FFT, `realfft`), 24 triangular mel bands from 100 Hz to 7 kHz, their log, and a
//! DCT keeping cepstra 1–12 (MFCC-like; cepstrum 0, the loudness, is dropped). The bands are
//! placed in hertz, so any rate of at least 16 kHz gives the same features without
//! resampling first (a rate under 16 kHz is analysed up to 45 % of its rate, its
//! [`band_top_hz`]; a reference compared with such audio is analysed in the same band, see
//! [`Fingerprint::within`]). Frames more
//! than 35 dB under the loudest one are trimmed from both ends, and the mean of each
//! cepstrum over the utterance is subtracted (cepstral mean normalisation: a constant
//! microphone or channel colouring cancels).

use std::f32::consts::PI;

use realfft::RealFftPlanner;

/// Analysis window.
pub const WINDOW_MS: u32 = 25;
/// Step between frames.
pub const HOP_MS: u32 = 10;
/// Mel bands.
pub const BANDS: usize = 24;
/// Cepstra kept per frame (1 to 12).
pub const CEPSTRA: usize = 12;
/// Lowest band edge.
pub const LOW_HZ: f32 = 100.0;
/// Highest band edge (under the 8 kHz Nyquist frequency of 16 kHz audio).
pub const HIGH_HZ: f32 = 7_000.0;
/// Frames this far under the loudest one are trimmed from the ends.
pub const TRIM_DB: f32 = 35.0;
/// Band energies are floored this far under the loudest band of the utterance.
const FLOOR_DB: f32 = 60.0;

/// The cepstra of an utterance, one vector per 10 ms frame.
///
/// ```
/// use bidi_sim::hearing::features::Fingerprint;
/// let chirp: Vec<i16> = (0..16_000u32)
///     .map(|n| { let t = n as f32 / 16_000.0; ((t * (300.0 + 900.0 * t)).fract() * 2.0 - 1.0) as f32 })
///     .map(|x| (x * 8_000.0) as i16)
///     .collect();
/// let fp = Fingerprint::of(&chirp, 16_000);
/// assert!((95..=100).contains(&fp.len()));
/// assert!(Fingerprint::of(&[0; 1_000], 16_000).is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Fingerprint {
    frames: Vec<[f32; CEPSTRA]>,
}

/// The top of the band analysed at `rate_hz`: [`HIGH_HZ`], or 45 % of a rate under 16 kHz
/// (3.6 kHz for telephone audio at 8 kHz).
///
/// ```
/// use bidi_sim::hearing::features::band_top_hz;
/// assert_eq!(band_top_hz(24_000), 7_000.0);
/// assert_eq!(band_top_hz(8_000), 3_600.0);
/// ```
pub fn band_top_hz(rate_hz: u32) -> f32 {
    HIGH_HZ.min(rate_hz.max(1_000) as f32 * 0.45)
}

impl Fingerprint {
    /// The fingerprint of mono 16-bit `samples` at `rate_hz`; empty for silence or for
    /// audio shorter than one frame.
    pub fn of(samples: &[i16], rate_hz: u32) -> Self {
        Self::within(samples, rate_hz, HIGH_HZ)
    }

    /// The fingerprint with the bands spread up to `top_hz` (at most the rate's
    /// [`band_top_hz`]) instead: a wide-band reference as narrow-band audio is heard, to
    /// compare the two.
    pub fn within(samples: &[i16], rate_hz: u32, top_hz: f32) -> Self {
        let rate = rate_hz.max(1_000);
        let window = (rate * WINDOW_MS / 1000) as usize;
        let hop = (rate * HOP_MS / 1000).max(1) as usize;
        if samples.len() < window {
            return Self::default();
        }
        let size = window.next_power_of_two();
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(size);
        let mut input = fft.make_input_vec();
        let mut spectrum = fft.make_output_vec();
        let hann: Vec<f32> = (0..window)
            .map(|n| 0.5 - 0.5 * (2.0 * PI * n as f32 / window as f32).cos())
            .collect();
        let bank = mel_bank(rate, size, top_hz);
        let emphasised: Vec<f32> = std::iter::once(f32::from(samples[0]))
            .chain(
                samples
                    .windows(2)
                    .map(|w| f32::from(w[1]) - 0.97 * f32::from(w[0])),
            )
            .map(|x| x / f32::from(i16::MAX))
            .collect();
        let mut energies: Vec<[f32; BANDS]> = Vec::new();
        for start in (0..=emphasised.len() - window).step_by(hop) {
            input.fill(0.0);
            for (i, (x, w)) in emphasised[start..start + window]
                .iter()
                .zip(&hann)
                .enumerate()
            {
                input[i] = x * w;
            }
            if fft.process(&mut input, &mut spectrum).is_err() {
                // Only a length mismatch fails, and the buffers come from the plan.
                return Self::default();
            }
            let power: Vec<f32> = spectrum.iter().map(|c| c.norm_sqr()).collect();
            let mut bands = [0.0f32; BANDS];
            for (band, weights) in bands.iter_mut().zip(&bank) {
                *band = weights.iter().map(|&(bin, w)| power[bin] * w).sum();
            }
            energies.push(bands);
        }
        Self {
            frames: cepstra(trim(energies)),
        }
    }

    /// The number of frames.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// Whether there is no frame (silence).
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// The frames' cepstra.
    pub fn frames(&self) -> &[[f32; CEPSTRA]] {
        &self.frames
    }
}

/// Drops the frames more than [`TRIM_DB`] under the loudest one from both ends.
fn trim(mut energies: Vec<[f32; BANDS]>) -> Vec<[f32; BANDS]> {
    let total = |f: &[f32; BANDS]| f.iter().sum::<f32>();
    let loudest = energies.iter().map(total).fold(0.0f32, f32::max);
    if loudest <= 0.0 {
        return Vec::new();
    }
    let floor = loudest * 10f32.powf(-TRIM_DB / 10.0);
    let first = energies.iter().position(|f| total(f) >= floor).unwrap_or(0);
    let last = energies
        .iter()
        .rposition(|f| total(f) >= floor)
        .unwrap_or(0);
    energies.truncate(last + 1);
    energies.drain(..first);
    energies
}

/// Log band energies (floored) through a DCT-II, cepstra 1..=12, mean-normalised.
fn cepstra(energies: Vec<[f32; BANDS]>) -> Vec<[f32; CEPSTRA]> {
    let loudest = energies
        .iter()
        .flat_map(|f| f.iter().copied())
        .fold(0.0f32, f32::max);
    if loudest <= 0.0 {
        return Vec::new();
    }
    let floor = loudest * 10f32.powf(-FLOOR_DB / 10.0);
    let mut frames: Vec<[f32; CEPSTRA]> = energies
        .iter()
        .map(|bands| {
            let logs: Vec<f32> = bands.iter().map(|e| e.max(floor).ln()).collect();
            let mut c = [0.0f32; CEPSTRA];
            for (k, ck) in c.iter_mut().enumerate() {
                let q = (k + 1) as f32;
                *ck = logs
                    .iter()
                    .enumerate()
                    .map(|(m, l)| l * (PI * q * (m as f32 + 0.5) / BANDS as f32).cos())
                    .sum::<f32>()
                    * (2.0 / BANDS as f32).sqrt();
            }
            c
        })
        .collect();
    let n = frames.len().max(1) as f32;
    for k in 0..CEPSTRA {
        let mean = frames.iter().map(|f| f[k]).sum::<f32>() / n;
        frames.iter_mut().for_each(|f| f[k] -= mean);
    }
    frames
}

fn hz_to_mel(hz: f32) -> f32 {
    2595.0 * (1.0 + hz / 700.0).log10()
}

fn mel_to_hz(mel: f32) -> f32 {
    700.0 * (10f32.powf(mel / 2595.0) - 1.0)
}

/// Each band's (FFT bin, weight) pairs: triangles evenly spaced in mel, with unit area in
/// hertz so that the band energies do not depend on the FFT's resolution.
fn mel_bank(rate: u32, size: usize, top_hz: f32) -> Vec<Vec<(usize, f32)>> {
    let high = band_top_hz(rate).min(top_hz);
    let (low_mel, high_mel) = (hz_to_mel(LOW_HZ), hz_to_mel(high));
    let edges: Vec<f32> = (0..BANDS + 2)
        .map(|i| mel_to_hz(low_mel + (high_mel - low_mel) * i as f32 / (BANDS + 1) as f32))
        .collect();
    let bin_hz = rate as f32 / size as f32;
    (0..BANDS)
        .map(|b| {
            let (lo, mid, hi) = (edges[b], edges[b + 1], edges[b + 2]);
            let mut weights: Vec<(usize, f32)> = (0..=size / 2)
                .filter_map(|bin| {
                    let f = bin as f32 * bin_hz;
                    let w = if f > lo && f <= mid {
                        (f - lo) / (mid - lo)
                    } else if f > mid && f < hi {
                        (hi - f) / (hi - mid)
                    } else {
                        0.0
                    };
                    (w > 0.0).then_some((bin, w))
                })
                .collect();
            // A band narrower than a bin still takes the nearest bin.
            if weights.is_empty() {
                weights.push((((mid / bin_hz).round() as usize).min(size / 2), 1.0));
            }
            let area: f32 = weights.iter().map(|(_, w)| w).sum::<f32>() * bin_hz;
            weights.iter_mut().for_each(|(_, w)| *w /= area);
            weights
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mel_bank_covers_each_band_at_every_rate() {
        for (rate, size) in [(16_000, 512), (22_050, 1024), (24_000, 1024), (8_000, 256)] {
            let bank = mel_bank(rate, size, HIGH_HZ);
            assert_eq!(bank.len(), BANDS);
            for weights in &bank {
                assert!(!weights.is_empty());
                assert!(weights.iter().all(|(bin, _)| *bin <= size / 2));
            }
        }
    }
}
