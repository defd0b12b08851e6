//! [`Recognizer`]: which of a scenario's known utterances a detected one is, by acoustic
//! matching (a [`Fingerprint`] each, compared by [`dtw::distance`]). No speech
//! recognition: it can only tell apart the recordings it was given.

use super::Utterance;
use super::dtw;
use super::features::Fingerprint;

/// The outcome of [`Recognizer::recognize`].
#[derive(Debug, Clone, PartialEq)]
pub struct Recognition {
    /// The transcript of the nearest reference, when it is within the distance limit.
    pub transcript: Option<String>,
    /// The nearest reference's transcript, recognized or not (`None`: no reference).
    pub nearest: Option<String>,
    /// Its distance (infinite when there is no reference or nothing to compare).
    pub distance: f32,
}

/// Matches utterances against references. Pure: samples in, a [`Recognition`] out.
///
/// ```
/// use bidi_sim::hearing::{Recognizer, Utterance};
///
/// let sweep = |from: f32, to: f32| -> Vec<i16> {
///     let mut phase = 0.0f32;
///     (0..12_000).map(|n| {
///         phase += std::f32::consts::TAU * (from + (to - from) * n as f32 / 12_000.0) / 16_000.0;
///         (phase.sin() * 6_000.0) as i16
///     }).collect()
/// };
/// let recognizer = Recognizer::new(
///     &[Utterance::from_samples("up", sweep(300.0, 3_000.0), 16_000),
///       Utterance::from_samples("down", sweep(3_000.0, 300.0), 16_000)],
///     2.0,
/// );
/// let heard = recognizer.recognize(&sweep(3_000.0, 300.0), 16_000);
/// assert_eq!(heard.transcript.as_deref(), Some("down"));
/// assert_eq!(heard.distance, 0.0);
/// ```
#[derive(Debug, Clone)]
pub struct Recognizer {
    references: Vec<Utterance>,
    max_distance: f32,
}

impl Recognizer {
    /// A recognizer of `utterances` (those without a recording are skipped) that accepts a
    /// match at most `max_distance` away.
    pub fn new(utterances: &[Utterance], max_distance: f32) -> Self {
        let references = utterances
            .iter()
            .filter(|u| {
                let loaded = u.fingerprint().is_some();
                if !loaded {
                    tracing::warn!(
                        "transcript=<{}> | utterance without a recording, never recognized",
                        u.transcript
                    );
                }
                loaded
            })
            .cloned()
            .collect();
        Self {
            references,
            max_distance,
        }
    }

    /// The distance limit.
    pub fn max_distance(&self) -> f32 {
        self.max_distance
    }

    /// The distances from mono 16-bit `samples` at `rate_hz` to each reference, in order.
    pub fn distances(&self, samples: &[i16], rate_hz: u32) -> Vec<(String, f32)> {
        let heard = Fingerprint::of(samples, rate_hz);
        self.references
            .iter()
            .filter_map(|u| {
                let reference = u.fingerprint_for(rate_hz)?;
                Some((u.transcript.clone(), dtw::distance(&heard, reference)))
            })
            .collect()
    }

    /// Which reference `samples` at `rate_hz` are: the nearest one, if within the limit.
    pub fn recognize(&self, samples: &[i16], rate_hz: u32) -> Recognition {
        let nearest = self
            .distances(samples, rate_hz)
            .into_iter()
            .filter(|(_, d)| d.is_finite())
            .min_by(|a, b| a.1.total_cmp(&b.1));
        match nearest {
            Some((transcript, distance)) => Recognition {
                transcript: (distance <= self.max_distance).then(|| transcript.clone()),
                nearest: Some(transcript),
                distance,
            },
            None => Recognition {
                transcript: None,
                nearest: None,
                distance: f32::INFINITY,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tone sweep from `from` to `to` Hz over 0.75 s at `rate` (a phrase's stand-in).
    fn sweep(from: f32, to: f32, rate: u32) -> Vec<i16> {
        let len = rate as usize * 3 / 4;
        let mut phase = 0.0f32;
        (0..len)
            .map(|n| {
                let f = from + (to - from) * n as f32 / len as f32;
                phase += std::f32::consts::TAU * f / rate as f32;
                (phase.sin() * 6_000.0) as i16
            })
            .collect()
    }

    #[test]
    fn telephone_audio_is_matched_in_its_own_band() {
        let references = [
            Utterance::from_samples("up", sweep(300.0, 3_000.0, 16_000), 16_000),
            Utterance::from_samples("down", sweep(3_000.0, 300.0, 16_000), 16_000),
        ];
        let recognizer = Recognizer::new(&references, 2.0);
        let phone = sweep(3_000.0, 300.0, 8_000);
        let heard = recognizer.recognize(&phone, 8_000);
        assert_eq!(heard.transcript.as_deref(), Some("down"), "{heard:?}");
        // Against the wide-band analysis the same audio is far off: the bands differ.
        let wide = references[1].fingerprint().expect("reference");
        let narrow = references[1].fingerprint_for(8_000).expect("reference");
        let as_heard = Fingerprint::of(&phone, 8_000);
        assert!(
            dtw::distance(&as_heard, narrow) < dtw::distance(&as_heard, wide),
            "the narrow-band reference is the nearer"
        );
        // 16 kHz and up: the reference's own fingerprint.
        assert!(std::ptr::eq(
            references[1].fingerprint_for(24_000).expect("reference"),
            wide
        ));
    }
}
