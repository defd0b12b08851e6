//! [`StreamResampler`]: a streaming `f32` resampler over rubato's FFT resampler.
//!
//! The wrapper is concrete (`f32` only) and lives in this crate on purpose: rubato is
//! generic, and generics are compiled in the crate that instantiates them, so keeping the
//! instantiation here lets `[profile.dev.package.bidi-audio] opt-level = 3` make resampling
//! fast in debug builds too (see docs/audio.md).

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler, WindowFunction};

use crate::AudioError;

/// Resamples a continuous interleaved stream from one rate to another, chunk by chunk.
///
/// Input arrives in pieces of any size; the resampler works on fixed 20 ms chunks and keeps
/// the remainder for the next call. Its start-up delay is trimmed, so output sample `k`
/// lines up with input time `k / to`. [`finish`](Self::finish) flushes the tail at the end
/// of a stream (a model response), so `n` input frames give exactly
/// `round(n × to / from)` output frames. Equal rates pass samples through untouched.
///
/// ```
/// use bidi_audio::dsp::StreamResampler;
///
/// let mut r = StreamResampler::new(24_000, 48_000, 1).unwrap();
/// let mut out = Vec::new();
/// r.process(&vec![0.0; 1000], &mut out).unwrap();
/// r.finish(&mut out).unwrap();
/// assert_eq!(out.len(), 2000);
/// ```
pub struct StreamResampler {
    from: u32,
    to: u32,
    channels: usize,
    inner: Option<Fft<f32>>,
    staged: Vec<f32>,
    out_buf: Vec<f32>,
    delay_left: usize,
    delay: usize,
    frames_in: u64,
    frames_out: u64,
}

impl std::fmt::Debug for StreamResampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamResampler")
            .field("from", &self.from)
            .field("to", &self.to)
            .field("channels", &self.channels)
            .field("staged_frames", &self.pending_input_frames())
            .finish_non_exhaustive()
    }
}

impl StreamResampler {
    /// A resampler from `from` Hz to `to` Hz for `channels` interleaved channels.
    pub fn new(from: u32, to: u32, channels: usize) -> Result<Self, AudioError> {
        let err = |reason: String| AudioError::Resampler {
            from,
            to,
            channels,
            reason,
        };
        if from == 0 || to == 0 || channels == 0 {
            return Err(err("rates and channels must be positive".to_owned()));
        }
        let mut inner = if from == to {
            None
        } else {
            let (chunk, sub_chunks) = fft_sizes(from, to);
            let fft = Fft::<f32>::new_custom(
                from as usize,
                to as usize,
                chunk,
                sub_chunks,
                channels,
                WindowFunction::BlackmanHarris2,
                FixedSync::Input,
            )
            .map_err(|e| err(e.to_string()))?;
            Some(fft)
        };
        let out_frames = inner.as_ref().map_or(0, Resampler::output_frames_max);
        let staged_frames = inner.as_ref().map_or(0, Resampler::input_frames_max);
        let mut out_buf = vec![0.0; out_frames * channels];
        let delay_left = match inner.as_mut() {
            Some(fft) => measure_delay(fft, from, to, channels, &mut out_buf).map_err(err)?,
            None => 0,
        };
        Ok(Self {
            from,
            to,
            channels,
            inner,
            staged: Vec::with_capacity(2 * staged_frames * channels),
            out_buf,
            delay_left,
            delay: delay_left,
            frames_in: 0,
            frames_out: 0,
        })
    }

    /// The input rate in Hz.
    pub fn from_rate(&self) -> u32 {
        self.from
    }

    /// The output rate in Hz.
    pub fn to_rate(&self) -> u32 {
        self.to
    }

    /// The channel count.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Input frames waiting for a full chunk.
    pub fn pending_input_frames(&self) -> usize {
        self.staged.len() / self.channels
    }

    /// Resamples `input` (interleaved; a trailing partial frame is ignored; samples are
    /// clipped to full scale, NaN read as silence), appending what
    /// is ready to `out`.
    pub fn process(&mut self, input: &[f32], out: &mut Vec<f32>) -> Result<(), AudioError> {
        let ch = self.channels;
        let input = &input[..input.len() / ch * ch];
        self.frames_in += (input.len() / ch) as u64;
        let Some(inner) = self.inner.as_mut() else {
            out.extend(input.iter().copied().map(full_scale));
            self.frames_out += (input.len() / ch) as u64;
            return Ok(());
        };
        // Only finite samples within full scale reach the FFT: a NaN or an infinity (a float
        // WAV file can hold them) made rubato panic (found by bidi-fuzz, target `wav`).
        self.staged.extend(input.iter().copied().map(full_scale));
        let mut offset = 0;
        loop {
            let need = inner.input_frames_next();
            if self.staged.len() - offset < need * ch {
                break;
            }
            let produced = run_chunk(
                inner,
                &self.staged[offset..offset + need * ch],
                &mut self.out_buf,
                ch,
                None,
            )
            .map_err(|reason| resample_error(self.from, self.to, ch, reason))?;
            offset += need * ch;
            emit(
                &self.out_buf[..produced * ch],
                ch,
                &mut self.delay_left,
                &mut self.frames_out,
                u64::MAX,
                out,
            );
        }
        self.staged.drain(..offset);
        Ok(())
    }

    /// Ends the stream: resamples what is staged, drains the resampler's delay and appends the
    /// tail to `out`, then [`reset`](Self::reset)s for the next stream.
    pub fn finish(&mut self, out: &mut Vec<f32>) -> Result<(), AudioError> {
        let ch = self.channels;
        let expected =
            (self.frames_in * u64::from(self.to) + u64::from(self.from) / 2) / u64::from(self.from);
        if let Some(inner) = self.inner.as_mut() {
            // A few silent chunks always cover the delay; the bound guards against a
            // resampler that would never catch up.
            let mut rounds = 0;
            while self.frames_out < expected && rounds < 64 {
                rounds += 1;
                let partial = self.staged.len() / ch;
                let indexing = Indexing::new().partial_len(partial);
                let produced = run_chunk(
                    inner,
                    &self.staged[..partial * ch],
                    &mut self.out_buf,
                    ch,
                    Some(&indexing),
                )
                .map_err(|reason| resample_error(self.from, self.to, ch, reason))?;
                self.staged.clear();
                emit(
                    &self.out_buf[..produced * ch],
                    ch,
                    &mut self.delay_left,
                    &mut self.frames_out,
                    expected,
                    out,
                );
            }
        }
        self.reset();
        Ok(())
    }

    /// Drops staged input and the resampler's history, for a new stream (after a barge-in).
    /// Returns the input frames whose output was never emitted (staged, or inside the
    /// filter's delay), so a caller can account for audio that will not be played.
    pub fn reset(&mut self) -> usize {
        let emitted_in = (self.frames_out * u64::from(self.from)).div_ceil(u64::from(self.to));
        let dropped = usize::try_from(self.frames_in.saturating_sub(emitted_in)).unwrap_or(0);
        self.staged.clear();
        if let Some(inner) = self.inner.as_mut() {
            inner.reset();
            self.delay_left = self.delay;
        }
        self.frames_in = 0;
        self.frames_out = 0;
        dropped
    }
}

fn resample_error(from: u32, to: u32, channels: usize, reason: String) -> AudioError {
    AudioError::Resampler {
        from,
        to,
        channels,
        reason,
    }
}

/// The chunk size (input frames) and FFT sub-chunk count for a rate pair: sub-chunks of
/// about 256 input frames (rubato's default trade-off between delay and filter quality),
/// about 20 ms per chunk, FFT sizes with small prime factors only, and even FFT sizes on
/// both sides. The filter delay is half the FFT size, so even sizes make it a whole number
/// of frames that can be trimmed exactly (an odd one leaves a fractional offset: 48k→16k with rubato's defaults is a third of a frame
/// late, and 44.1k→16k with a 441-frame FFT a quarter of one, which costs a 440 Hz tone
/// 100 dB of SNR).
fn fft_sizes(from: u32, to: u32) -> (usize, usize) {
    let g = gcd(from, to);
    let (block_in, block_out) = ((from / g) as usize, (to / g) as usize);
    let mut k = 256usize.div_ceil(block_in).max(1);
    let needs_even = block_in % 2 == 1 || block_out % 2 == 1;
    // A unit with a large prime factor (86 = 2 × 43 for a 3:1 ratio) sends rustfft to
    // Rader's algorithm, several times slower than its small-radix butterflies.
    while (needs_even && k % 2 == 1) || !is_7_smooth(k) {
        k += 1;
    }
    let sub_in = k * block_in;
    let per_20ms = (from / 50) as usize;
    let sub_chunks = ((per_20ms + sub_in / 2) / sub_in).max(1);
    (sub_in * sub_chunks, sub_chunks)
}

/// Whether `n` has no prime factor above 7.
fn is_7_smooth(mut n: usize) -> bool {
    for p in [2, 3, 5, 7] {
        while n.is_multiple_of(p) {
            n /= p;
        }
    }
    n == 1
}

/// The resampler's start-up delay in output frames, measured with an impulse.
///
/// `output_delay()` of rubato's `Fft` in `FixedSync::Input` mode does not account for the
/// internal input buffering of a reset resampler, so the real delay differs by rate pair
/// (48k→16k reports 53 frames and has none after a reset); an impulse gives the exact
/// integer delay of this linear-phase filter. The resampler is left reset.
fn measure_delay(
    inner: &mut Fft<f32>,
    from: u32,
    to: u32,
    ch: usize,
    out_buf: &mut [f32],
) -> Result<usize, String> {
    // Measure from the state every stream starts in: a freshly built resampler buffers
    // differently from a reset one. The impulse sits mid-stream, at an input frame whose
    // output time is a whole frame, away from the first chunk's special buffering.
    inner.reset();
    let need = inner.input_frames_next();
    let g = gcd(from, to);
    let step = (from / g) as usize;
    let pos = (2 * need).div_ceil(step) * step;
    let expected = pos / step * (to / g) as usize;
    let total_in = pos + 2 * need + 2 * inner.output_delay() * from as usize / to as usize;
    let mut input = vec![0.0f32; total_in.div_ceil(need) * need * ch];
    input[pos * ch..(pos + 1) * ch].fill(1.0);
    let mut response = Vec::new();
    for chunk in input.chunks_exact(need * ch) {
        let produced = run_chunk(inner, chunk, out_buf, ch, None)?;
        response.extend(out_buf[..produced * ch].iter().step_by(ch).copied());
    }
    inner.reset();
    let peak = response
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
        .map_or(0, |(i, _)| i);
    Ok(peak.saturating_sub(expected))
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a.max(1) } else { gcd(b, a % b) }
}

/// `sample` clipped to full scale, `0.0` when it is not a number.
fn full_scale(sample: f32) -> f32 {
    if sample.is_nan() {
        0.0
    } else {
        sample.clamp(-1.0, 1.0)
    }
}

/// Runs one chunk through `inner`; returns the frames written to `out_buf`.
fn run_chunk(
    inner: &mut Fft<f32>,
    input: &[f32],
    out_buf: &mut [f32],
    ch: usize,
    indexing: Option<&Indexing>,
) -> Result<usize, String> {
    let frames_in = input.len() / ch;
    let frames_out = out_buf.len() / ch;
    let input = InterleavedSlice::new(input, ch, frames_in).map_err(|e| e.to_string())?;
    let mut output =
        InterleavedSlice::new_mut(out_buf, ch, frames_out).map_err(|e| e.to_string())?;
    let (_, produced) = inner
        .process_into_buffer(&input, &mut output, indexing)
        .map_err(|e| e.to_string())?;
    Ok(produced)
}

/// Appends `chunk` to `out`, first skipping what remains of the start-up delay and never
/// going past `limit` output frames in all.
fn emit(
    chunk: &[f32],
    ch: usize,
    delay_left: &mut usize,
    frames_out: &mut u64,
    limit: u64,
    out: &mut Vec<f32>,
) {
    let frames = chunk.len() / ch;
    let skip = (*delay_left).min(frames);
    *delay_left -= skip;
    let room = usize::try_from(limit.saturating_sub(*frames_out)).unwrap_or(usize::MAX);
    let take = (frames - skip).min(room);
    out.extend_from_slice(&chunk[skip * ch..(skip + take) * ch]);
    *frames_out += take as u64;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::TAU;

    #[test]
    fn non_finite_and_out_of_range_samples_become_finite_audio() {
        // bidi-fuzz's `wav` regression: a float WAV holding NaN and infinities panicked
        // inside rubato's FFT.
        for (from, to) in [(48_000, 16_000), (16_000, 24_000), (16_000, 16_000)] {
            let mut r = StreamResampler::new(from, to, 1).expect("valid rates");
            let mut input = sine(440.0, from, 0.1);
            for (i, s) in input.iter_mut().enumerate().step_by(7) {
                *s = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 3.0e38][i % 4];
            }
            let mut out = Vec::new();
            r.process(&input, &mut out).expect("process");
            r.finish(&mut out).expect("finish");
            assert!(!out.is_empty());
            assert!(
                out.iter().all(|s| s.is_finite()),
                "{from}->{to}: non-finite output"
            );
        }
    }

    /// A sine of `freq` Hz at `rate`, `secs` long, amplitude 0.5.
    fn sine(freq: f64, rate: u32, secs: f64) -> Vec<f32> {
        let n = (f64::from(rate) * secs) as usize;
        (0..n)
            .map(|i| (0.5 * (TAU * freq * i as f64 / f64::from(rate)).sin()) as f32)
            .collect()
    }

    /// SNR in dB of `got` against the ideal sine, skipping the edges (where the stream
    /// starts and ends, the filter sees the step into silence).
    fn snr_db(got: &[f32], want: &[f32], edge: usize) -> f64 {
        let n = got.len().min(want.len());
        let (mut sig, mut noise) = (0.0f64, 0.0f64);
        for i in edge..n - edge {
            let w = f64::from(want[i]);
            let e = f64::from(got[i]) - w;
            sig += w * w;
            noise += e * e;
        }
        10.0 * (sig / noise.max(1e-30)).log10()
    }

    /// Feeds `input` in uneven pieces (as events arrive) and finishes.
    fn stream(r: &mut StreamResampler, input: &[f32]) -> Vec<f32> {
        let mut out = Vec::new();
        let mut rest = input;
        let mut piece = 37;
        let ch = r.channels();
        while !rest.is_empty() {
            let n = (piece * ch).min(rest.len());
            r.process(&rest[..n], &mut out)
                .unwrap_or_else(|e| panic!("process: {e}"));
            rest = &rest[n..];
            piece = piece * 7 % 1999 + 1;
        }
        r.finish(&mut out).unwrap_or_else(|e| panic!("finish: {e}"));
        out
    }

    // Thresholds: 16-bit PCM, what every provider streams, has an SNR of about 98 dB for a
    // full-scale sine, so a resampler is transparent for this path once its error is well
    // below the quantisation noise of the model's audio. rubato's FFT resampler measured
    // 132 dB for a 48k→16k→48k round trip (rust-feasibility §5); we require 90 dB in the
    // passband (tones far from the band edge), which still leaves it below the 16-bit floor
    // of a half-scale sine (~92 dB) and catches any misconfiguration (wrong ratio, untrimmed
    // delay, dropped chunks) by tens of dB. The passband is the band up to ~70% of the lower
    // rate's Nyquist frequency (5.5 kHz at 16 kHz, which covers speech); measured: 132-136 dB
    // there, and 49 dB at 6 kHz where the anti-aliasing filter's transition band begins.
    const MIN_SNR_DB: f64 = 90.0;

    #[test]
    fn sine_48k_to_16k_is_clean_in_the_passband() {
        for freq in [300.0, 1000.0, 3000.0, 5500.0] {
            let input = sine(freq, 48_000, 1.0);
            let mut r = StreamResampler::new(48_000, 16_000, 1).unwrap_or_else(|e| panic!("{e}"));
            let out = stream(&mut r, &input);
            assert_eq!(out.len(), 16_000, "exact length at {freq} Hz");
            let want = sine(freq, 16_000, 1.0);
            let snr = snr_db(&out, &want, 800);
            assert!(snr > MIN_SNR_DB, "48k→16k at {freq} Hz: SNR {snr:.1} dB");
        }
    }

    #[test]
    fn sine_24k_to_48k_is_clean_in_the_passband() {
        for freq in [200.0, 1000.0, 5000.0, 9000.0] {
            let input = sine(freq, 24_000, 1.0);
            let mut r = StreamResampler::new(24_000, 48_000, 1).unwrap_or_else(|e| panic!("{e}"));
            let out = stream(&mut r, &input);
            assert_eq!(out.len(), 48_000, "exact length at {freq} Hz");
            let want = sine(freq, 48_000, 1.0);
            let snr = snr_db(&out, &want, 2400);
            assert!(snr > MIN_SNR_DB, "24k→48k at {freq} Hz: SNR {snr:.1} dB");
        }
    }

    #[test]
    fn every_device_and_model_rate_pair_is_aligned() {
        // Device rates met in practice against the model rates: a fractional delay left by
        // an odd FFT size would show here as a large SNR loss at lag 0.
        for from in [16_000, 22_050, 24_000, 44_100, 48_000] {
            for to in [16_000, 24_000, 44_100, 48_000] {
                if from == to {
                    continue;
                }
                let input = sine(440.0, from, 0.5);
                let mut r = StreamResampler::new(from, to, 1).unwrap_or_else(|e| panic!("{e}"));
                let out = stream(&mut r, &input);
                let want = sine(440.0, to, 0.5);
                assert_eq!(out.len(), want.len(), "{from}→{to} length");
                let snr = snr_db(&out, &want, (to / 20) as usize);
                assert!(snr > MIN_SNR_DB, "{from}→{to}: SNR {snr:.1} dB");
            }
        }
    }

    #[test]
    fn stereo_channels_stay_apart() {
        let left = sine(500.0, 24_000, 0.5);
        let right = sine(2000.0, 24_000, 0.5);
        let input: Vec<f32> = left
            .iter()
            .zip(&right)
            .flat_map(|(l, r)| [*l, *r])
            .collect();
        let mut r = StreamResampler::new(24_000, 16_000, 2).unwrap_or_else(|e| panic!("{e}"));
        let out = stream(&mut r, &input);
        assert_eq!(out.len(), 2 * 8_000);
        let got_l: Vec<f32> = out.iter().step_by(2).copied().collect();
        let got_r: Vec<f32> = out.iter().skip(1).step_by(2).copied().collect();
        assert!(snr_db(&got_l, &sine(500.0, 16_000, 0.5), 800) > MIN_SNR_DB);
        assert!(snr_db(&got_r, &sine(2000.0, 16_000, 0.5), 800) > MIN_SNR_DB);
    }

    #[test]
    fn equal_rates_pass_through_and_reset_drops_staged_input() {
        let mut same = StreamResampler::new(16_000, 16_000, 1).unwrap_or_else(|e| panic!("{e}"));
        let mut out = Vec::new();
        same.process(&[0.1, 0.2], &mut out).unwrap_or_default();
        assert_eq!(out, [0.1, 0.2]);

        let mut r = StreamResampler::new(24_000, 48_000, 1).unwrap_or_else(|e| panic!("{e}"));
        let mut out = Vec::new();
        r.process(&[0.3; 100], &mut out).unwrap_or_default();
        assert_eq!(r.pending_input_frames(), 100);
        assert_eq!(r.reset(), 100);
        r.finish(&mut out).unwrap_or_default();
        assert!(out.is_empty(), "nothing comes out of a reset resampler");
    }

    #[test]
    fn bad_parameters_are_typed_errors() {
        assert!(matches!(
            StreamResampler::new(0, 16_000, 1),
            Err(AudioError::Resampler { from: 0, .. })
        ));
        assert!(StreamResampler::new(16_000, 24_000, 0).is_err());
    }
}
