//! Whole signals and WAV files through an [`EchoCanceller`]: the `echo_cancel` example and
//! the quality tests run exactly the processing `BidiAudioIO` does, 10 ms at a time.

use std::path::{Path, PathBuf};

use super::canceller::{EchoCanceller, SUPPORTED_RATES};
use super::config::EchoMode;
use crate::AudioError;
use crate::dsp::sample_to_i16;

/// Runs `near` (the microphone) through a canceller in `mode` that hears `far` (the speaker)
/// at the same time, both at `rate` Hz. Returns the clean microphone: `near.len()` samples,
/// aligned with `near` (the canceller's latency is taken out). A `far` shorter than `near`
/// is padded with silence.
///
/// ```
/// use bidi_audio::aec::{EchoMode, cancel};
/// let near = vec![0.1f32; 1000];
/// let clean = cancel(&[], &near, 16_000, EchoMode::Off)?;
/// assert_eq!(clean, near);
/// # Ok::<(), bidi_audio::AudioError>(())
/// ```
pub fn cancel(
    far: &[f32],
    near: &[f32],
    rate: u32,
    mode: EchoMode,
) -> Result<Vec<f32>, AudioError> {
    let mut aec = EchoCanceller::new(mode, rate)?;
    let n = aec.frame_len();
    let total = near.len() + aec.latency();
    let mut out = Vec::with_capacity(total.div_ceil(n) * n);
    let (mut far_frame, mut near_frame) = (vec![0.0; n], vec![0.0; n]);
    let mut start = 0;
    while out.len() < total {
        fill(&mut far_frame, far, start);
        fill(&mut near_frame, near, start);
        aec.render(&far_frame)?;
        aec.capture(&mut near_frame)?;
        out.extend_from_slice(&near_frame);
        start += n;
    }
    out.drain(..aec.latency());
    out.truncate(near.len());
    Ok(out)
}

/// Copies `signal[start..]` into `frame`, silence past its end.
fn fill(frame: &mut [f32], signal: &[f32], start: usize) {
    for (i, s) in frame.iter_mut().enumerate() {
        *s = signal.get(start + i).copied().unwrap_or(0.0);
    }
}

/// What [`cancel_files`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct FileReport {
    /// The files' rate, Hz.
    pub rate: u32,
    /// Samples written (the microphone file's length).
    pub samples: usize,
}

/// Reads the mono 16-bit PCM WAV files `far` (what the speaker played) and `near` (what
/// the microphone heard), at the same rate (8, 16, 24 or 48 kHz), cancels the echo in
/// `mode` and writes `out`: mono 16-bit PCM at that rate, as long as `near`.
pub fn cancel_files(
    far: &Path,
    near: &Path,
    out: &Path,
    mode: EchoMode,
) -> Result<FileReport, AudioError> {
    let (far_samples, far_rate) = read_mono16(far)?;
    let (near_samples, rate) = read_mono16(near)?;
    if far_rate != rate {
        return Err(AudioError::EchoWav {
            path: far.to_owned(),
            reason: format!("rate {far_rate} Hz differs from the microphone file's {rate} Hz"),
        });
    }
    if !SUPPORTED_RATES.contains(&rate) {
        return Err(AudioError::EchoWav {
            path: near.to_owned(),
            reason: format!("rate {rate} Hz: expected 8000, 16000, 24000 or 48000"),
        });
    }
    let clean = cancel(&far_samples, &near_samples, rate, mode)?;
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let wav_err = |source| AudioError::Wav {
        path: out.to_owned(),
        source,
    };
    let mut writer = hound::WavWriter::create(out, spec).map_err(wav_err)?;
    for &s in &clean {
        writer.write_sample(sample_to_i16(s)).map_err(wav_err)?;
    }
    writer.finalize().map_err(wav_err)?;
    Ok(FileReport {
        rate,
        samples: clean.len(),
    })
}

/// Reads a mono 16-bit PCM WAV file as `f32` in [-1, 1], with its rate.
fn read_mono16(path: &Path) -> Result<(Vec<f32>, u32), AudioError> {
    let wav_err = |source| AudioError::Wav {
        path: PathBuf::from(path),
        source,
    };
    let reader = hound::WavReader::open(path).map_err(wav_err)?;
    let spec = reader.spec();
    if spec.channels != 1
        || spec.bits_per_sample != 16
        || spec.sample_format != hound::SampleFormat::Int
    {
        return Err(AudioError::EchoWav {
            path: path.to_owned(),
            reason: format!(
                "{} channel(s), {}-bit {:?}: expected mono 16-bit PCM",
                spec.channels, spec.bits_per_sample, spec.sample_format
            ),
        });
    }
    let samples = reader
        .into_samples::<i16>()
        .map(|s| s.map(|v| f32::from(v) / 32_768.0))
        .collect::<Result<Vec<_>, _>>()
        .map_err(wav_err)?;
    Ok((samples, spec.sample_rate))
}
