//! [`AudioChunkEvent`]: a chunk of base64 audio with its format, rate and channels — the one
//! type behind [`BidiAudioInputEvent`] (to the model) and [`BidiAudioStreamEvent`] (from the
//! model), which differ only in their `type` tag and in how strictly they parse.

use std::fmt;
use std::marker::PhantomData;

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use crate::fields::{self, Fields};
use crate::{AudioFormat, Channels, SampleRate, TypesError};

/// Which way an [`AudioChunkEvent`] goes: [`ToModel`] or [`FromModel`]. Sealed.
pub trait AudioDirection: sealed::Sealed + Send + Sync + 'static {
    /// The event's `type` tag.
    const TYPE: &'static str;
    /// The event's name (its alias), for `Debug`.
    const NAME: &'static str;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::ToModel {}
    impl Sealed for super::FromModel {}
}

/// Audio the user sends to the model: `bidi_audio_input`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToModel {}

/// Audio the model speaks: `bidi_audio_stream`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FromModel {}

impl AudioDirection for ToModel {
    const TYPE: &'static str = "bidi_audio_input";
    const NAME: &'static str = "BidiAudioInputEvent";
}

impl AudioDirection for FromModel {
    const TYPE: &'static str = "bidi_audio_stream";
    const NAME: &'static str = "BidiAudioStreamEvent";
}

/// Audio for the model: `{"type": "bidi_audio_input", "audio" (base64), "format",
/// "sample_rate", "channels"}`. Parsing it validates every key (it comes from outside the
/// process).
///
/// ```
/// use bidi_types::{AudioFormat, BidiAudioInputEvent, Channels, SampleRate};
///
/// let pcm = [1u8, 0, 255, 127];
/// let e = BidiAudioInputEvent::from_bytes(&pcm, AudioFormat::Pcm, SampleRate::Hz16000, Channels::Mono);
/// assert_eq!(e.audio(), "AQD/fw==");
/// assert_eq!(e.audio_bytes().unwrap(), pcm);
/// ```
pub type BidiAudioInputEvent = AudioChunkEvent<ToModel>;

/// A piece of the model's speech: `{"type": "bidi_audio_stream", "audio" (base64), "format",
/// "sample_rate", "channels"}`.
///
/// ```
/// use bidi_types::{AudioFormat, BidiAudioStreamEvent, Channels, SampleRate};
/// let e = BidiAudioStreamEvent::new("AQD/fw==", AudioFormat::Pcm, SampleRate::Hz24000, Channels::Mono).unwrap();
/// assert_eq!(e.audio_bytes().unwrap(), [1, 0, 255, 127]);
/// ```
pub type BidiAudioStreamEvent = AudioChunkEvent<FromModel>;

/// A chunk of audio, base64 in JSON, with its encoding, sample rate and channel count; `D`
/// says which way it goes and so its `type` tag. Use it through its aliases,
/// [`BidiAudioInputEvent`] and [`BidiAudioStreamEvent`].
///
/// ```
/// use bidi_types::{AudioFormat, BidiAudioInputEvent, BidiAudioStreamEvent, Channels, SampleRate};
///
/// let out = BidiAudioStreamEvent::from_bytes(&[1, 0], AudioFormat::Pcm, SampleRate::Hz24000, Channels::Mono);
/// assert_eq!(serde_json::to_value(&out).unwrap()["type"], "bidi_audio_stream");
/// assert_eq!(BidiAudioInputEvent::TYPE, "bidi_audio_input");
/// assert!(BidiAudioInputEvent::new("not base64!", AudioFormat::Pcm, SampleRate::Hz16000, Channels::Mono).is_err());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct AudioChunkEvent<D: AudioDirection> {
    audio: String,
    format: AudioFormat,
    sample_rate: SampleRate,
    channels: Channels,
    direction: PhantomData<D>,
}

impl<D: AudioDirection> AudioChunkEvent<D> {
    /// The `type` tag.
    pub const TYPE: &'static str = D::TYPE;

    /// An event from base64 text, which is checked (bad base64 becomes an error, not noise
    /// on the speaker).
    pub fn new(
        audio: impl Into<String>,
        format: AudioFormat,
        sample_rate: SampleRate,
        channels: Channels,
    ) -> Result<Self, TypesError> {
        let audio = audio.into();
        fields::check_base64("audio", &audio)?;
        Ok(Self::checked(audio, format, sample_rate, channels))
    }

    /// An event from base64 text, checked by decoding it into `bytes` (cleared first): for
    /// a reader that wants the bytes as well, which then decodes them once.
    ///
    /// ```
    /// use bidi_types::{AudioFormat, BidiAudioInputEvent, Channels, SampleRate};
    /// let mut pcm = Vec::new();
    /// let e = BidiAudioInputEvent::decoded("AQID", AudioFormat::Pcm, SampleRate::Hz16000, Channels::Mono, &mut pcm).unwrap();
    /// assert_eq!((e.audio(), pcm.as_slice()), ("AQID", &[1, 2, 3][..]));
    /// assert!(BidiAudioInputEvent::decoded("AQ!D", AudioFormat::Pcm, SampleRate::Hz16000, Channels::Mono, &mut pcm).is_err());
    /// ```
    pub fn decoded(
        audio: impl Into<String>,
        format: AudioFormat,
        sample_rate: SampleRate,
        channels: Channels,
        bytes: &mut Vec<u8>,
    ) -> Result<Self, TypesError> {
        let audio = audio.into();
        fields::decode_base64_into("audio", &audio, bytes)?;
        Ok(Self::checked(audio, format, sample_rate, channels))
    }

    /// An event from raw bytes, which are base64-encoded.
    pub fn from_bytes(
        bytes: &[u8],
        format: AudioFormat,
        sample_rate: SampleRate,
        channels: Channels,
    ) -> Self {
        Self::checked(fields::encode_base64(bytes), format, sample_rate, channels)
    }

    fn checked(
        audio: String,
        format: AudioFormat,
        sample_rate: SampleRate,
        channels: Channels,
    ) -> Self {
        Self {
            audio,
            format,
            sample_rate,
            channels,
            direction: PhantomData,
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

    /// The audio, decoded into `out` (cleared first): for a reader of every chunk, which
    /// keeps one buffer instead of allocating one per chunk.
    ///
    /// ```
    /// use bidi_types::{AudioFormat, BidiAudioInputEvent, Channels, SampleRate};
    /// let e = BidiAudioInputEvent::from_bytes(&[1, 2, 3, 4], AudioFormat::Pcm, SampleRate::Hz16000, Channels::Mono);
    /// let mut pcm = vec![9; 100];
    /// e.audio_bytes_into(&mut pcm).unwrap();
    /// assert_eq!(pcm, [1, 2, 3, 4]);
    /// ```
    pub fn audio_bytes_into(&self, out: &mut Vec<u8>) -> Result<(), TypesError> {
        fields::decode_base64_into("audio", &self.audio, out)
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

    /// How long the chunk plays, read from the base64 length (without decoding it) at the
    /// chunk's rate and channels: two bytes a sample for PCM, one for μ-law. Zero for the
    /// compressed formats.
    ///
    /// ```
    /// use bidi_types::{AudioFormat, BidiAudioInputEvent, Channels, SampleRate};
    /// let pcm = BidiAudioInputEvent::from_bytes(&[0; 960], AudioFormat::Pcm, SampleRate::Hz24000, Channels::Mono);
    /// assert_eq!(pcm.duration().as_millis(), 20);
    /// let phone = BidiAudioInputEvent::from_bytes(&[0xFF; 160], AudioFormat::Pcmu, SampleRate::Hz8000, Channels::Mono);
    /// assert_eq!(phone.duration().as_millis(), 20);
    /// ```
    pub fn duration(&self) -> std::time::Duration {
        let Some(width) = self.format.bytes_per_sample() else {
            return std::time::Duration::ZERO;
        };
        let text = self.audio.as_bytes();
        let pad = text.iter().rev().take_while(|&&b| b == b'=').count();
        let bytes = (text.len() / 4 * 3).saturating_sub(pad) as u64;
        let per_second =
            u64::from(self.sample_rate.hz()) * u64::from(width) * u64::from(self.channels.count());
        std::time::Duration::from_nanos(bytes.saturating_mul(1_000_000_000) / per_second.max(1))
    }

    /// The event from an input dict's keys, each validated.
    pub(crate) fn parse(f: &Fields<'_>) -> Result<Self, TypesError> {
        let audio = f.str("audio")?;
        let format = f.parsed("format", str::parse)?;
        let sample_rate = f.converted("sample_rate", SampleRate::try_from)?;
        let channels = f.converted("channels", Channels::try_from)?;
        Self::new(audio, format, sample_rate, channels)
    }
}

impl<D: AudioDirection> fmt::Debug for AudioChunkEvent<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(D::NAME)
            .field("audio", &self.audio)
            .field("format", &self.format)
            .field("sample_rate", &self.sample_rate)
            .field("channels", &self.channels)
            .finish()
    }
}

impl<D: AudioDirection> Serialize for AudioChunkEvent<D> {
    /// The `type` tag first, then `audio`, `format`, `sample_rate`, `channels`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct(D::TYPE, 5)?;
        st.serialize_field("type", D::TYPE)?;
        st.serialize_field("audio", &self.audio)?;
        st.serialize_field("format", &self.format)?;
        st.serialize_field("sample_rate", &self.sample_rate)?;
        st.serialize_field("channels", &self.channels)?;
        st.end()
    }
}
