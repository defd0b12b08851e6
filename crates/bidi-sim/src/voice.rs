//! What the simulated model's speech sounds like: [`Voice::Tone`], the generated tone of
//! [`Action::Speak`](crate::Action::Speak), or [`Voice::Samples`], a recording's samples
//! from [`Action::SpeakWav`](crate::Action::SpeakWav), at the provider's output rate.

use std::path::Path;

use crate::tone;

/// The source of speech audio.
#[derive(Debug, Clone, PartialEq)]
pub enum Voice {
    /// A 440 Hz tone.
    Tone,
    /// Mono 16-bit samples at the rate they are played at.
    Samples(Vec<i16>),
}

impl Voice {
    /// `ms` milliseconds from sample `start` as mono 16-bit little-endian PCM at `rate_hz`;
    /// a recording is padded with silence past its end.
    ///
    /// ```
    /// use bidi_sim::voice::Voice;
    /// let voice = Voice::Samples(vec![1, -1]);
    /// assert_eq!(voice.pcm16(1000, 3, 1), [0xff, 0xff, 0, 0, 0, 0]);
    /// assert_eq!(Voice::Tone.pcm16(24_000, 10, 0).len(), 480);
    /// ```
    pub fn pcm16(&self, rate_hz: u32, ms: u64, start: u64) -> Vec<u8> {
        match self {
            Self::Tone => tone::pcm16(rate_hz, ms, 440.0, start),
            Self::Samples(samples) => {
                let count = u64::from(rate_hz) * ms / 1000;
                (start..start + count)
                    .flat_map(|n| {
                        let s = usize::try_from(n)
                            .ok()
                            .and_then(|n| samples.get(n))
                            .copied()
                            .unwrap_or(0);
                        s.to_le_bytes()
                    })
                    .collect()
            }
        }
    }

    /// The recording's duration at `rate_hz`, rounded up to a millisecond (`None` for the
    /// tone, which lasts as long as asked).
    pub fn duration_ms(&self, rate_hz: u32) -> Option<u64> {
        match self {
            Self::Tone => None,
            Self::Samples(s) => Some((s.len() as u64 * 1000).div_ceil(u64::from(rate_hz.max(1)))),
        }
    }

    /// The recording at `path` played at `rate_hz`, and its duration; the tone for `ms`
    /// instead when the file cannot be read (logged), so a bad file never ends a session.
    pub fn wav_or_tone(path: &str, rate_hz: u32, fallback_ms: u64) -> (Self, u64) {
        match load_wav(Path::new(path), rate_hz) {
            Ok(samples) => {
                let voice = Self::Samples(samples);
                let ms = voice.duration_ms(rate_hz).unwrap_or(fallback_ms);
                (voice, ms)
            }
            Err(e) => {
                tracing::warn!("path=<{path}>, error=<{e}> | speaking a tone instead");
                (Self::Tone, fallback_ms)
            }
        }
    }
}

/// Reads a WAV file (8–32-bit integer or float, any rate and channel count) as mono 16-bit
/// samples at `rate_hz` (channels averaged, linear interpolation).
pub fn load_wav(path: &Path, rate_hz: u32) -> Result<Vec<i16>, hound::Error> {
    let reader = hound::WavReader::open(path)?;
    let spec = reader.spec();
    let channels = usize::from(spec.channels.max(1));
    let interleaved: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader.into_samples::<f32>().collect::<Result<_, _>>()?,
        hound::SampleFormat::Int => {
            let scale =
                1.0 / f64::from(1u32 << spec.bits_per_sample.clamp(1, 32).saturating_sub(1));
            reader
                .into_samples::<i32>()
                .map(|s| s.map(|v| (f64::from(v) * scale) as f32))
                .collect::<Result<_, _>>()?
        }
    };
    let mono: Vec<f32> = interleaved
        .chunks(channels)
        .map(|frame| frame.iter().sum::<f32>() / frame.len() as f32)
        .collect();
    Ok(resample(&mono, spec.sample_rate, rate_hz)
        .into_iter()
        .map(|s| (s.clamp(-1.0, 1.0) * f32::from(i16::MAX)) as i16)
        .collect())
}

/// `input` at `from` Hz as `to` Hz, by linear interpolation.
fn resample(input: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to || input.is_empty() || from == 0 || to == 0 {
        return input.to_vec();
    }
    let out_len = (input.len() as u64 * u64::from(to) / u64::from(from)) as usize;
    let step = f64::from(from) / f64::from(to);
    (0..out_len)
        .map(|i| {
            let pos = i as f64 * step;
            let idx = pos as usize;
            let frac = (pos - idx as f64) as f32;
            let a = input.get(idx).copied().unwrap_or(0.0);
            let b = input.get(idx + 1).copied().unwrap_or(a);
            a + (b - a) * frac
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stereo_48k_recording_plays_as_mono_24k_of_the_same_length() {
        let dir = std::env::temp_dir().join(format!("bidi-sim-speech-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("stereo.wav");
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 48_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&path, spec).expect("create");
        for _ in 0..4800 {
            w.write_sample(8000i16).expect("l");
            w.write_sample(4000i16).expect("r");
        }
        w.finalize().expect("finalize");
        let samples = load_wav(&path, 24_000).expect("load");
        assert_eq!(samples.len(), 2400);
        assert!(
            samples.iter().all(|s| (5990..=6010).contains(s)),
            "{:?}",
            &samples[..4]
        );
        let (voice, ms) = Voice::wav_or_tone(path.to_str().expect("utf-8"), 24_000, 7);
        assert_eq!(ms, 100);
        assert_eq!(voice.pcm16(24_000, 100, 0).len(), 4800);
        assert_eq!(
            Voice::wav_or_tone("/nonexistent.wav", 24_000, 7),
            (Voice::Tone, 7)
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
