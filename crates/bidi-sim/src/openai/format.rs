//! A session's audio formats (`session.audio.input.format`, `session.audio.output.format`):
//! how the audio of `input_audio_buffer.append` and `response.output_audio.delta` is
//! carried, as the service takes them.

use std::borrow::Cow;

use serde_json::Value;

use crate::g711;

/// The one PCM rate the service takes: 24 kHz, 24 samples per millisecond.
pub(super) const PCM_RATE_HZ: u32 = 24_000;
/// G.711's rate: 8 kHz, 8 samples (bytes) per millisecond.
const G711_RATE_HZ: u32 = 8_000;

/// One direction's audio format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum Format {
    /// `{"type": "audio/pcm", "rate": 24000}`: 16-bit little-endian mono PCM at 24 kHz.
    #[default]
    Pcm,
    /// `{"type": "audio/pcmu"}`: G.711 μ-law, 8 kHz mono, a byte per sample.
    Pcmu,
    /// `{"type": "audio/pcma"}`: G.711 A-law, 8 kHz mono, a byte per sample.
    Pcma,
}

impl Format {
    /// The format a session's `format` object names, or the service's message for one it
    /// refuses (an unknown `type`, a PCM `rate` other than 24000, no `type`).
    pub(super) fn parse(format: Option<&Value>) -> Result<Self, String> {
        match format.and_then(|f| f.get("type")).and_then(Value::as_str) {
            Some("audio/pcm") => match format.and_then(|f| f.get("rate")) {
                None => Ok(Self::Pcm),
                Some(rate) if rate.as_u64() == Some(u64::from(PCM_RATE_HZ)) => Ok(Self::Pcm),
                Some(rate) => Err(format!(
                    "Invalid value: '{rate}'. Supported values are: '{PCM_RATE_HZ}'."
                )),
            },
            Some("audio/pcmu") => Ok(Self::Pcmu),
            Some("audio/pcma") => Ok(Self::Pcma),
            Some(other) => Err(format!(
                "Invalid value: '{other}'. Supported values are: 'audio/pcm', 'audio/pcmu', and 'audio/pcma'."
            )),
            None => Err("Missing required parameter: 'type'.".to_owned()),
        }
    }

    /// The `type` the service names this format by.
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Pcm => "audio/pcm",
            Self::Pcmu => "audio/pcmu",
            Self::Pcma => "audio/pcma",
        }
    }

    /// Samples per second.
    pub(super) fn rate_hz(self) -> u32 {
        match self {
            Self::Pcm => PCM_RATE_HZ,
            Self::Pcmu | Self::Pcma => G711_RATE_HZ,
        }
    }

    /// Bytes per sample on the wire.
    pub(super) fn bytes_per_sample(self) -> usize {
        match self {
            Self::Pcm => 2,
            Self::Pcmu | Self::Pcma => 1,
        }
    }

    /// Wire audio in this format as 16-bit little-endian PCM at [`rate_hz`](Self::rate_hz).
    pub(super) fn decode(self, wire: &[u8]) -> Cow<'_, [u8]> {
        match self {
            Self::Pcm => Cow::Borrowed(wire),
            Self::Pcmu => Cow::Owned(g711::mulaw_to_pcm16(wire)),
            Self::Pcma => Cow::Owned(g711::alaw_to_pcm16(wire)),
        }
    }

    /// 16-bit little-endian PCM at [`rate_hz`](Self::rate_hz) in this format.
    pub(super) fn encode(self, pcm: Vec<u8>) -> Vec<u8> {
        match self {
            Self::Pcm => pcm,
            Self::Pcmu => g711::pcm16_to_mulaw(&pcm),
            Self::Pcma => g711::pcm16_to_alaw(&pcm),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_the_formats_the_service_takes_and_refuses_others() {
        let parse = |v: Value| Format::parse(Some(&v));
        assert_eq!(
            parse(json!({"type": "audio/pcm", "rate": 24000})),
            Ok(Format::Pcm)
        );
        assert_eq!(parse(json!({"type": "audio/pcm"})), Ok(Format::Pcm));
        assert_eq!(parse(json!({"type": "audio/pcmu"})), Ok(Format::Pcmu));
        assert_eq!(parse(json!({"type": "audio/pcma"})), Ok(Format::Pcma));
        for bad in [
            json!({"type": "audio/pcm", "rate": 16000}),
            json!({"type": "g711_ulaw"}),
            json!({"rate": 24000}),
            json!("audio/pcmu"),
            Value::Null,
        ] {
            assert!(parse(bad.clone()).is_err(), "{bad}");
        }
        assert!(Format::parse(None).is_err());
    }

    #[test]
    fn g711_is_a_byte_a_sample_at_8_khz() {
        for format in [Format::Pcmu, Format::Pcma] {
            assert_eq!((format.rate_hz(), format.bytes_per_sample()), (8_000, 1));
            let pcm: Vec<u8> = [0i16, 1_000, -1_000, 30_000]
                .iter()
                .flat_map(|s| s.to_le_bytes())
                .collect();
            let wire = format.encode(pcm);
            assert_eq!(wire.len(), 4);
            assert_eq!(format.decode(&wire).len(), 8);
        }
        assert_eq!(Format::Pcm.encode(vec![1, 2]), [1, 2]);
        assert_eq!(Format::Pcm.rate_hz(), 24_000);
    }
}
