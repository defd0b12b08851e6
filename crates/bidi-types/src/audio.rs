//! Audio settings: [`AudioFormat`], [`SampleRate`], [`Channels`] and the [`AudioConfig`] a
//! model reports.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::TypesError;

/// How audio bytes are encoded. JSON: `"pcm"`, `"wav"`, `"opus"`, `"mp3"` or `"pcmu"`.
///
/// `"pcmu"` (G.711 μ-law, 8 kHz telephone audio) is bidi's addition to the original's four:
/// OpenAI Realtime speaks it, so a phone call's audio can pass through without resampling.
///
/// ```
/// use bidi_types::AudioFormat;
/// assert_eq!("pcm".parse::<AudioFormat>().unwrap(), AudioFormat::Pcm);
/// assert!("flac".parse::<AudioFormat>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "&'static str")]
pub enum AudioFormat {
    /// Raw signed 16-bit little-endian PCM, the format every provider streams.
    #[default]
    Pcm,
    /// RIFF WAVE.
    Wav,
    /// Opus.
    Opus,
    /// MPEG layer III.
    Mp3,
    /// G.711 μ-law, one byte per sample (telephone audio, at 8 kHz).
    Pcmu,
}

impl AudioFormat {
    /// The JSON spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pcm => "pcm",
            Self::Wav => "wav",
            Self::Opus => "opus",
            Self::Mp3 => "mp3",
            Self::Pcmu => "pcmu",
        }
    }

    /// Bytes per sample per channel, for the formats whose length tells their duration:
    /// 2 for PCM, 1 for μ-law; `None` for the compressed and container formats.
    ///
    /// ```
    /// use bidi_types::AudioFormat;
    /// assert_eq!(AudioFormat::Pcm.bytes_per_sample(), Some(2));
    /// assert_eq!(AudioFormat::Pcmu.bytes_per_sample(), Some(1));
    /// assert_eq!(AudioFormat::Opus.bytes_per_sample(), None);
    /// ```
    pub const fn bytes_per_sample(self) -> Option<u32> {
        match self {
            Self::Pcm => Some(2),
            Self::Pcmu => Some(1),
            Self::Wav | Self::Opus | Self::Mp3 => None,
        }
    }
}

impl fmt::Display for AudioFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AudioFormat {
    type Err = TypesError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pcm" => Ok(Self::Pcm),
            "wav" => Ok(Self::Wav),
            "opus" => Ok(Self::Opus),
            "mp3" => Ok(Self::Mp3),
            "pcmu" => Ok(Self::Pcmu),
            other => Err(TypesError::UnsupportedFormat {
                field: "format",
                value: other.to_owned(),
            }),
        }
    }
}

impl TryFrom<String> for AudioFormat {
    type Error = TypesError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<AudioFormat> for &'static str {
    fn from(f: AudioFormat) -> Self {
        f.as_str()
    }
}

/// A sample rate the events accept: 8, 16, 24 or 48 kHz. JSON: the number of Hz.
///
/// 8 kHz (telephone audio) is bidi's addition to the original's three.
///
/// ```
/// use bidi_types::SampleRate;
/// assert_eq!(SampleRate::try_from(24_000u32).unwrap().hz(), 24_000);
/// assert!(SampleRate::try_from(44_100u32).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u32")]
pub enum SampleRate {
    /// 8 000 Hz (telephone audio: G.711 μ-law).
    Hz8000,
    /// 16 000 Hz (Nova Sonic, Gemini input).
    Hz16000,
    /// 24 000 Hz (OpenAI, Gemini output).
    Hz24000,
    /// 48 000 Hz.
    Hz48000,
}

impl SampleRate {
    /// The rate in Hz.
    pub const fn hz(self) -> u32 {
        match self {
            Self::Hz8000 => 8_000,
            Self::Hz16000 => 16_000,
            Self::Hz24000 => 24_000,
            Self::Hz48000 => 48_000,
        }
    }
}

impl fmt::Display for SampleRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.hz())
    }
}

impl TryFrom<u64> for SampleRate {
    type Error = TypesError;
    fn try_from(hz: u64) -> Result<Self, Self::Error> {
        match hz {
            8_000 => Ok(Self::Hz8000),
            16_000 => Ok(Self::Hz16000),
            24_000 => Ok(Self::Hz24000),
            48_000 => Ok(Self::Hz48000),
            value => Err(TypesError::UnsupportedSampleRate {
                field: "sample_rate",
                value,
            }),
        }
    }
}

impl TryFrom<u32> for SampleRate {
    type Error = TypesError;
    fn try_from(hz: u32) -> Result<Self, Self::Error> {
        Self::try_from(u64::from(hz))
    }
}

impl From<SampleRate> for u32 {
    fn from(r: SampleRate) -> Self {
        r.hz()
    }
}

/// Mono or stereo. JSON: `1` or `2`.
///
/// ```
/// use bidi_types::Channels;
/// assert_eq!(Channels::try_from(2u32).unwrap(), Channels::Stereo);
/// assert!(Channels::try_from(6u32).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u16")]
pub enum Channels {
    /// One channel.
    #[default]
    Mono,
    /// Two interleaved channels.
    Stereo,
}

impl Channels {
    /// The number of channels.
    pub const fn count(self) -> u16 {
        match self {
            Self::Mono => 1,
            Self::Stereo => 2,
        }
    }
}

impl fmt::Display for Channels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.count())
    }
}

impl TryFrom<u64> for Channels {
    type Error = TypesError;
    fn try_from(n: u64) -> Result<Self, Self::Error> {
        match n {
            1 => Ok(Self::Mono),
            2 => Ok(Self::Stereo),
            value => Err(TypesError::UnsupportedChannels {
                field: "channels",
                value,
            }),
        }
    }
}

impl TryFrom<u32> for Channels {
    type Error = TypesError;
    fn try_from(n: u32) -> Result<Self, Self::Error> {
        Self::try_from(u64::from(n))
    }
}

impl From<Channels> for u16 {
    fn from(c: Channels) -> Self {
        c.count()
    }
}

/// The audio a model takes in and gives out, as the provider reports it after merging the
/// user's settings with its defaults. Audio IO reads it at start to open devices and to
/// resample between the device and the model.
///
/// JSON keys as the reference's `config["audio"]`: `input_rate`, `output_rate`, `channels`,
/// `format`, `voice` (omitted when unset).
///
/// ```
/// use bidi_types::{AudioConfig, SampleRate};
///
/// let cfg = AudioConfig::new(SampleRate::Hz16000, SampleRate::Hz24000).with_voice("matthew");
/// assert_eq!(cfg.output_rate.hz(), 24_000);
/// let json = serde_json::to_value(&cfg).unwrap();
/// assert_eq!(json["voice"], "matthew");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AudioConfig {
    /// Rate of the audio the model expects from the user.
    pub input_rate: SampleRate,
    /// Rate of the audio the model speaks.
    pub output_rate: SampleRate,
    /// Channels, in and out.
    pub channels: Channels,
    /// Encoding, in and out.
    pub format: AudioFormat,
    /// The provider's voice name, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice: Option<String>,
}

impl AudioConfig {
    /// Mono PCM at the given rates, no voice.
    pub const fn new(input_rate: SampleRate, output_rate: SampleRate) -> Self {
        Self {
            input_rate,
            output_rate,
            channels: Channels::Mono,
            format: AudioFormat::Pcm,
            voice: None,
        }
    }

    /// G.711 μ-law at 8 kHz, mono, both ways: telephone audio, as a phone call carries it.
    ///
    /// ```
    /// use bidi_types::{AudioConfig, AudioFormat, SampleRate};
    /// let phone = AudioConfig::mulaw();
    /// assert_eq!((phone.format, phone.input_rate), (AudioFormat::Pcmu, SampleRate::Hz8000));
    /// ```
    pub const fn mulaw() -> Self {
        Self {
            input_rate: SampleRate::Hz8000,
            output_rate: SampleRate::Hz8000,
            channels: Channels::Mono,
            format: AudioFormat::Pcmu,
            voice: None,
        }
    }

    /// The same config with a voice.
    pub fn with_voice(mut self, voice: impl Into<String>) -> Self {
        self.voice = Some(voice.into());
        self
    }

    /// The same config with a channel count.
    pub const fn with_channels(mut self, channels: Channels) -> Self {
        self.channels = channels;
        self
    }
}
