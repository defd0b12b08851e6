//! What the model says: audio and transcripts.

use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize};

use crate::fields::{self, BASE64};
use crate::{AudioFormat, Channels, Role, SampleRate, TypesError};

/// A piece of the model's speech: `{"type": "bidi_audio_stream", "audio" (base64), "format",
/// "sample_rate", "channels"}`.
///
/// ```
/// use bidi_types::{AudioFormat, BidiAudioStreamEvent, Channels, SampleRate};
/// let e = BidiAudioStreamEvent::new("AQD/fw==", AudioFormat::Pcm, SampleRate::Hz24000, Channels::Mono).unwrap();
/// assert_eq!(e.audio_bytes().unwrap(), [1, 0, 255, 127]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename = "bidi_audio_stream")]
pub struct BidiAudioStreamEvent {
    audio: String,
    format: AudioFormat,
    sample_rate: SampleRate,
    channels: Channels,
}

impl BidiAudioStreamEvent {
    /// An event from base64 text, which is checked (a provider frame with bad base64 becomes
    /// an error, not noise on the speaker).
    pub fn new(
        audio: impl Into<String>,
        format: AudioFormat,
        sample_rate: SampleRate,
        channels: Channels,
    ) -> Result<Self, TypesError> {
        let audio = audio.into();
        fields::check_base64("audio", &audio)?;
        Ok(Self {
            audio,
            format,
            sample_rate,
            channels,
        })
    }

    /// An event from raw bytes, which are base64-encoded.
    pub fn from_bytes(
        bytes: &[u8],
        format: AudioFormat,
        sample_rate: SampleRate,
        channels: Channels,
    ) -> Self {
        Self {
            audio: BASE64.encode(bytes),
            format,
            sample_rate,
            channels,
        }
    }
    /// The audio, base64.
    pub fn audio(&self) -> &str {
        &self.audio
    }
    /// The audio, decoded.
    pub fn audio_bytes(&self) -> Result<Vec<u8>, TypesError> {
        fields::decode_base64("audio", &self.audio)
    }
    /// Its encoding.
    pub fn format(&self) -> AudioFormat {
        self.format
    }
    /// Its sample rate.
    pub fn sample_rate(&self) -> SampleRate {
        self.sample_rate
    }
    /// Its channel count.
    pub fn channels(&self) -> Channels {
        self.channels
    }
}

impl<'de> Deserialize<'de> for BidiAudioStreamEvent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(tag = "type", rename = "bidi_audio_stream")]
        struct Raw {
            audio: String,
            format: AudioFormat,
            sample_rate: SampleRate,
            channels: Channels,
        }
        let r = Raw::deserialize(d)?;
        Self::new(r.audio, r.format, r.sample_rate, r.channels).map_err(serde::de::Error::custom)
    }
}

/// The text part of a transcript update: `{"text": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptDelta {
    /// The new text.
    pub text: String,
}

/// Live transcript of the user's or the model's speech: `{"type": "bidi_transcript_stream",
/// "delta": {"text"}, "text", "role", "is_final", "current_transcript"}`.
///
/// `current_transcript` is always written, `null` when unknown.
///
/// ```
/// use bidi_types::{BidiTranscriptStreamEvent, Role};
/// let e = BidiTranscriptStreamEvent::new("Hel", Role::Assistant, false, Some("Hel".into()));
/// assert_eq!(e.delta().text, "Hel");
/// assert!(!e.is_final());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "bidi_transcript_stream")]
pub struct BidiTranscriptStreamEvent {
    delta: TranscriptDelta,
    text: String,
    role: Role,
    is_final: bool,
    #[serde(default)]
    current_transcript: Option<String>,
}

impl BidiTranscriptStreamEvent {
    /// A transcript update whose delta is `text`.
    pub fn new(
        text: impl Into<String>,
        role: Role,
        is_final: bool,
        current_transcript: Option<String>,
    ) -> Self {
        let text = text.into();
        Self {
            delta: TranscriptDelta { text: text.clone() },
            text,
            role,
            is_final,
            current_transcript,
        }
    }
    /// The change.
    pub fn delta(&self) -> &TranscriptDelta {
        &self.delta
    }
    /// The text of this update.
    pub fn text(&self) -> &str {
        &self.text
    }
    /// Whose speech it is.
    pub fn role(&self) -> Role {
        self.role
    }
    /// Whether the text is final (it then enters the history).
    pub fn is_final(&self) -> bool {
        self.is_final
    }
    /// The whole transcript so far, when the provider gives it.
    pub fn current_transcript(&self) -> Option<&str> {
        self.current_transcript.as_deref()
    }
}
