//! What the model says: audio (parsing [`BidiAudioStreamEvent`], an
//! [`AudioChunkEvent`](crate::AudioChunkEvent)) and transcripts.

use serde::{Deserialize, Deserializer, Serialize};

use crate::audio_chunk::BidiAudioStreamEvent;
use crate::{AudioFormat, Channels, Role, SampleRate};

/// Parsed leniently, as the other output events: unknown keys are ignored; the base64 is
/// checked.
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
