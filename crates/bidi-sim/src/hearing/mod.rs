//! What the simulated model hears: turn detection on the user's audio and recognition of
//! the scenario's known [`Utterance`]s, without speech recognition.
//!
//! A scenario lists utterances, each a transcript and a reference recording. Every server
//! feeds the client's input audio to a [`Listener`], which finds where each utterance
//! starts and ends ([`vad::TurnDetector`], like a provider's server VAD) and which
//! reference it is ([`Recognizer`]: MFCC-like [`features`] compared by [`dtw`]). The server
//! then answers as the provider would: the user's transcript, then the rules that match it
//! as text ([`ScriptState::on_utterance`](crate::script::ScriptState::on_utterance)).
//!
//! Everything here is pure (samples in, decisions out), so tests and fuzzers use the same
//! code as the servers. `docs/testing.md` gives the thresholds and how they were chosen.

pub mod dtw;
pub mod features;
mod recognize;
pub mod vad;

use std::path::Path;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};

pub use features::Fingerprint;
pub use recognize::{Recognition, Recognizer};

/// How the simulator detects and recognizes utterances: a scenario's `"listening"` object
/// (every field optional).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Listening {
    /// A 10 ms frame at or above this RMS level (dB relative to full scale) is speech.
    /// Default -45 dBFS: over a quiet room's noise (about -60), under speech (-30 to -15).
    pub threshold_dbfs: f32,
    /// An utterance ends after this much quiet (default 500 ms, OpenAI's
    /// `silence_duration_ms`).
    pub silence_ms: u64,
    /// Audio kept from before the first loud frame (default 300 ms, OpenAI's
    /// `prefix_padding_ms`).
    pub prefix_ms: u64,
    /// An utterance with less loud audio than this is a click and is dropped (default 100 ms).
    pub min_speech_ms: u64,
    /// An utterance is cut at this length (default 30 s), bounding memory.
    pub max_utterance_ms: u64,
    /// The largest DTW distance at which an utterance is recognized as a reference
    /// (default [`Listening::DEFAULT_MAX_DISTANCE`]).
    pub max_distance: f32,
}

impl Listening {
    /// The default recognition limit. Measured on espeak-ng speech (`tests/it/hearing.rs`,
    /// `docs/testing.md`): a sentence against its own reference, resampled to 16 or 24 kHz,
    /// padded with silence or quieter, scores under 1.0, said slower under 2.0, in another
    /// espeak-ng English voice 3.1 to 5.3; against another sentence 8.7 or more, against
    /// noise 7.8 or more. 5.0 sits between the same words and the nearest wrong match.
    pub const DEFAULT_MAX_DISTANCE: f32 = 5.0;
}

impl Default for Listening {
    fn default() -> Self {
        Self {
            threshold_dbfs: -45.0,
            silence_ms: 500,
            prefix_ms: 300,
            min_speech_ms: 100,
            max_utterance_ms: 30_000,
            max_distance: Self::DEFAULT_MAX_DISTANCE,
        }
    }
}

/// A known utterance of a scenario: what the user says (`transcript`) and how it sounds (a
/// reference recording, from the WAV file `wav` or from samples).
///
/// In a scenario file: `{"transcript": "what time is it in Tokyo", "wav": "what-time.wav"}`,
/// the path relative to the scenario file ([`scenario::load`](crate::scenario::load) reads
/// it).
///
/// ```
/// use bidi_sim::hearing::Utterance;
/// let u = Utterance::from_samples("hello", vec![0; 1_600], 16_000);
/// assert_eq!(u.transcript, "hello");
/// assert!(u.fingerprint().is_some_and(|f| f.is_empty()));
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Utterance {
    /// What the user says.
    pub transcript: String,
    /// The reference recording's file, as written in the scenario.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wav: Option<String>,
    #[serde(skip)]
    recording: Option<Arc<Recording>>,
}

/// A reference's samples and, once computed, their fingerprint (shared by the clones of a
/// script, so each reference is analysed once per server).
#[derive(Debug)]
struct Recording {
    samples: Vec<i16>,
    rate_hz: u32,
    fingerprint: OnceLock<Fingerprint>,
    /// The fingerprint in a narrower band (for 8 kHz audio): its top and itself.
    narrow: OnceLock<(f32, Fingerprint)>,
}

impl PartialEq for Utterance {
    fn eq(&self, other: &Self) -> bool {
        let audio = |u: &Self| u.recording.as_ref().map(|r| (r.rate_hz, r.samples.clone()));
        self.transcript == other.transcript && self.wav == other.wav && audio(self) == audio(other)
    }
}

impl Utterance {
    /// An utterance whose reference is mono 16-bit `samples` at `rate_hz`.
    pub fn from_samples(transcript: impl Into<String>, samples: Vec<i16>, rate_hz: u32) -> Self {
        Self {
            transcript: transcript.into(),
            wav: None,
            recording: Some(Arc::new(Recording {
                samples,
                rate_hz,
                fingerprint: OnceLock::new(),
                narrow: OnceLock::new(),
            })),
        }
    }

    /// An utterance whose reference is the WAV file at `path` (any format [`hound`] reads;
    /// channels are averaged, the rate is kept).
    pub fn from_wav(transcript: impl Into<String>, path: &Path) -> Result<Self, hound::Error> {
        let rate_hz = hound::WavReader::open(path)?.spec().sample_rate;
        let samples = crate::voice::load_wav(path, rate_hz)?;
        let mut utterance = Self::from_samples(transcript, samples, rate_hz);
        utterance.wav = Some(path.to_string_lossy().into_owned());
        Ok(utterance)
    }

    /// The reference recording's mono 16-bit samples and rate, when it has one.
    pub fn samples(&self) -> Option<(&[i16], u32)> {
        self.recording
            .as_ref()
            .map(|r| (r.samples.as_slice(), r.rate_hz))
    }

    /// The reference's fingerprint (`None` when no recording was loaded).
    pub fn fingerprint(&self) -> Option<&Fingerprint> {
        let r = self.recording.as_ref()?;
        Some(
            r.fingerprint
                .get_or_init(|| Fingerprint::of(&r.samples, r.rate_hz)),
        )
    }

    /// The reference's fingerprint to compare with audio at `rate_hz`: analysed in that
    /// audio's band (a wide-band reference heard through a telephone's 8 kHz), which is the
    /// [`fingerprint`](Self::fingerprint) for any rate of 16 kHz and more.
    pub fn fingerprint_for(&self, rate_hz: u32) -> Option<&Fingerprint> {
        let r = self.recording.as_ref()?;
        let top = features::band_top_hz(rate_hz);
        if top >= features::band_top_hz(r.rate_hz) {
            return self.fingerprint();
        }
        let (at, narrow) = r
            .narrow
            .get_or_init(|| (top, Fingerprint::within(&r.samples, r.rate_hz, top)));
        // One narrow band is kept; another (a second narrow rate) is the full one's stand-in.
        (*at == top)
            .then_some(narrow)
            .or_else(|| self.fingerprint())
    }
}

/// What a [`Listener`] heard.
#[derive(Debug, Clone, PartialEq)]
pub enum Heard {
    /// The user started speaking, `at_ms` into the input audio.
    SpeechStarted {
        /// Where, on the input's audio timeline.
        at_ms: u64,
    },
    /// The user finished an utterance.
    Utterance {
        /// Where the speech started.
        start_ms: u64,
        /// Where it ended.
        end_ms: u64,
        /// How it was recognized.
        recognition: Recognition,
    },
}

/// One connection's ears: a [`vad::TurnDetector`] and a [`Recognizer`] over the input
/// audio. Servers create one per connection when the script has utterances.
#[derive(Debug, Clone)]
pub struct Listener {
    vad: vad::TurnDetector,
    recognizer: Recognizer,
    rate_hz: u32,
}

impl Listener {
    /// A listener of `utterances` for input at `rate_hz`.
    pub fn new(utterances: &[Utterance], listening: Listening, rate_hz: u32) -> Self {
        Self {
            vad: vad::TurnDetector::new(rate_hz, listening),
            recognizer: Recognizer::new(utterances, listening.max_distance),
            rate_hz,
        }
    }

    /// Feeds little-endian mono 16-bit PCM at the listener's rate.
    pub fn push_pcm16(&mut self, bytes: &[u8]) -> Vec<Heard> {
        let turns = self.vad.push_pcm16(bytes);
        self.hear(turns)
    }

    /// The client ended its audio: an utterance under way ends now.
    pub fn finish(&mut self) -> Vec<Heard> {
        let turns = self.vad.finish();
        self.hear(turns)
    }

    /// Forgets the audio heard so far (the client cleared its input).
    pub fn clear(&mut self) {
        self.vad.clear();
    }

    fn hear(&self, turns: Vec<vad::Turn>) -> Vec<Heard> {
        turns
            .into_iter()
            .map(|turn| match turn {
                vad::Turn::Started { at_ms } => Heard::SpeechStarted { at_ms },
                vad::Turn::Ended {
                    start_ms,
                    end_ms,
                    samples,
                } => {
                    let recognition = self.recognizer.recognize(&samples, self.rate_hz);
                    tracing::debug!(
                        "start_ms=<{start_ms}>, end_ms=<{end_ms}>, nearest=<{:?}>, distance=<{:.2}>, recognized=<{}> | utterance heard",
                        recognition.nearest,
                        recognition.distance,
                        recognition.transcript.is_some()
                    );
                    Heard::Utterance {
                        start_ms,
                        end_ms,
                        recognition,
                    }
                }
            })
            .collect()
    }
}
