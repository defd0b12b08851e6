//! [`Inbound`]: a client's text frames as the agent's input events, with audio brought to
//! the model's rate and channels. Pure: frames in, events out.

use bidi_agent::audio::AudioError;
use bidi_agent::audio::dsp::g711::decode_mulaw;
use bidi_agent::audio::dsp::{
    StreamResampler, f32_to_pcm16_bytes, mix_channels, pcm16_bytes_to_f32,
};
use bidi_agent::types::{
    AudioConfig, AudioFormat, BidiAudioInputEvent, BidiErrorEvent, BidiInputEvent, Channels,
    TypesError,
};

/// Why a client frame was not an input event; sent back to that client as a `bidi_error`.
#[derive(Debug, thiserror::Error)]
pub enum InboundError {
    /// Not JSON, an unknown `type`, or a wrong or missing field.
    #[error(transparent)]
    Invalid(#[from] TypesError),
    /// A binary frame: the protocol is JSON text frames.
    #[error("binary frames are not accepted: send each event as a JSON text frame")]
    Binary,
    /// The audio could not be resampled to the model's rate.
    #[error("audio could not be converted to the model's rate: {0}")]
    Audio(#[from] AudioError),
}

impl InboundError {
    /// The `bidi_error` event telling the client.
    pub fn to_event(&self) -> BidiErrorEvent {
        BidiErrorEvent::new(self.to_string(), "InvalidInput")
    }
}

/// Turns one client's frames into input events. PCM audio at another rate or channel count
/// than the model takes is resampled (one stream per client, so chunk edges leave no
/// clicks); μ-law (`pcmu`) for a PCM model is decoded, then resampled as PCM; other formats
/// pass unchanged.
///
/// ```
/// use bidi_agent::types::{AudioConfig, BidiInputEvent, SampleRate};
/// use bidi_server::session::Inbound;
///
/// let mut inbound = Inbound::new(&AudioConfig::new(SampleRate::Hz24000, SampleRate::Hz24000));
/// // 20 ms at 16 kHz: 640 bytes of silence, base64.
/// let frame = format!(
///     r#"{{"type":"bidi_audio_input","audio":"{}","format":"pcm","sample_rate":16000,"channels":1}}"#,
///     "AAAA".repeat(160),
/// );
/// let Ok(BidiInputEvent::Audio(audio)) = inbound.read(&frame) else { panic!() };
/// assert_eq!(audio.sample_rate(), SampleRate::Hz24000);
/// assert!(inbound.read("{not json").is_err());
/// ```
#[derive(Debug)]
pub struct Inbound {
    target: AudioConfig,
    resampler: Option<StreamResampler>,
    /// The last audio frame's bytes as the client sent them, decoded once.
    received: Vec<u8>,
    /// Its rate, when it was mono PCM.
    received_mono_rate: Option<u32>,
    /// μ-law decoded, for a PCM model.
    pcm: Vec<i16>,
    samples: Vec<f32>,
    mixed: Vec<f32>,
    resampled: Vec<f32>,
}

impl Inbound {
    /// A converter for a model taking `target` audio.
    pub fn new(target: &AudioConfig) -> Self {
        Self {
            target: target.clone(),
            resampler: None,
            received: Vec::new(),
            received_mono_rate: None,
            pcm: Vec::new(),
            samples: Vec::new(),
            mixed: Vec::new(),
            resampled: Vec::new(),
        }
    }

    /// The input event in a text frame, its audio at the model's rate and channels.
    pub fn read(&mut self, text: &str) -> Result<BidiInputEvent, InboundError> {
        self.received_mono_rate = None;
        match BidiInputEvent::from_json_str_decoding(text, &mut self.received)? {
            BidiInputEvent::Audio(audio) => {
                let audio = self.decode_mulaw(audio);
                if audio.format() == AudioFormat::Pcm && audio.channels() == Channels::Mono {
                    self.received_mono_rate = Some(audio.sample_rate().hz());
                }
                Ok(BidiInputEvent::Audio(self.convert(audio)?))
            }
            other => Ok(other),
        }
    }

    /// The last frame [`read`](Self::read) when it was mono 16-bit PCM: its samples as the
    /// client sent them (before any conversion) and their rate. For a listener of the
    /// client's own audio, which so needs no second decoding.
    ///
    /// ```
    /// use bidi_agent::types::{AudioConfig, SampleRate};
    /// use bidi_server::session::Inbound;
    ///
    /// let mut inbound = Inbound::new(&AudioConfig::new(SampleRate::Hz24000, SampleRate::Hz24000));
    /// let frame = r#"{"type":"bidi_audio_input","audio":"AQID","format":"pcm","sample_rate":16000,"channels":1}"#;
    /// inbound.read(frame).unwrap();
    /// assert_eq!(inbound.received_mono_pcm(), Some((&[1u8, 2, 3][..], 16_000)));
    /// inbound.read(r#"{"type":"bidi_text_input","text":"hi","role":"user"}"#).unwrap();
    /// assert_eq!(inbound.received_mono_pcm(), None);
    /// ```
    pub fn received_mono_pcm(&self) -> Option<(&[u8], u32)> {
        self.received_mono_rate
            .map(|rate| (self.received.as_slice(), rate))
    }

    /// μ-law audio for a PCM model as PCM: [`received`](Self::received_mono_pcm) becomes its
    /// 16-bit samples. Anything else as it is.
    fn decode_mulaw(&mut self, audio: BidiAudioInputEvent) -> BidiAudioInputEvent {
        if audio.format() != AudioFormat::Pcmu || self.target.format != AudioFormat::Pcm {
            return audio;
        }
        self.pcm.clear();
        decode_mulaw(&self.received, &mut self.pcm);
        self.received.clear();
        self.received
            .extend(self.pcm.iter().flat_map(|s| s.to_le_bytes()));
        BidiAudioInputEvent::from_bytes(
            &self.received,
            AudioFormat::Pcm,
            audio.sample_rate(),
            audio.channels(),
        )
    }

    fn convert(&mut self, audio: BidiAudioInputEvent) -> Result<BidiAudioInputEvent, InboundError> {
        let from_rate = audio.sample_rate().hz();
        let from_channels = usize::from(audio.channels().count());
        let to_rate = self.target.input_rate.hz();
        let to_channels = usize::from(self.target.channels.count());
        if audio.format() != AudioFormat::Pcm
            || (from_rate == to_rate && from_channels == to_channels)
        {
            return Ok(audio);
        }
        let stale = self
            .resampler
            .as_ref()
            .is_none_or(|r| r.from_rate() != from_rate || r.channels() != to_channels);
        if stale {
            self.resampler = Some(StreamResampler::new(from_rate, to_rate, to_channels)?);
        }
        self.samples.clear();
        pcm16_bytes_to_f32(&self.received, &mut self.samples);
        let mono_or_same = if from_channels == to_channels {
            &self.samples
        } else {
            self.mixed.clear();
            mix_channels(&self.samples, from_channels, to_channels, &mut self.mixed);
            &self.mixed
        };
        self.resampled.clear();
        if let Some(r) = self.resampler.as_mut() {
            r.process(mono_or_same, &mut self.resampled)?;
        }
        let mut out = Vec::with_capacity(self.resampled.len() * 2);
        f32_to_pcm16_bytes(&self.resampled, &mut out);
        Ok(BidiAudioInputEvent::from_bytes(
            &out,
            AudioFormat::Pcm,
            self.target.input_rate,
            self.target.channels,
        ))
    }
}

#[cfg(test)]
mod tests {
    use bidi_agent::types::SampleRate;
    use serde_json::json;

    use super::*;

    fn frame(samples: &[i16], rate: u32, channels: u16) -> String {
        let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        let event = BidiAudioInputEvent::from_bytes(
            &bytes,
            AudioFormat::Pcm,
            SampleRate::try_from(u64::from(rate)).expect("rate"),
            if channels == 2 {
                Channels::Stereo
            } else {
                Channels::Mono
            },
        );
        BidiInputEvent::Audio(event).to_json().to_string()
    }

    #[test]
    fn a_second_of_16k_audio_becomes_a_second_at_the_models_24k() {
        let mut inbound = Inbound::new(&AudioConfig::new(SampleRate::Hz24000, SampleRate::Hz24000));
        let tone: Vec<i16> = (0..320).map(|n| ((n % 40) * 400 - 8_000) as i16).collect();
        let mut total = 0;
        for _ in 0..50 {
            let Ok(BidiInputEvent::Audio(a)) = inbound.read(&frame(&tone, 16_000, 1)) else {
                panic!("audio")
            };
            assert_eq!(a.sample_rate(), SampleRate::Hz24000);
            total += a.audio_bytes().expect("bytes").len() / 2;
        }
        // The resampler keeps at most one 20 ms chunk back.
        assert!((24_000 - 480..=24_000).contains(&total), "{total}");
    }

    #[test]
    fn stereo_is_mixed_to_the_models_mono() {
        let mut inbound = Inbound::new(&AudioConfig::new(SampleRate::Hz16000, SampleRate::Hz24000));
        let stereo: Vec<i16> = (0..640)
            .map(|n| if n % 2 == 0 { 1_000 } else { 3_000 })
            .collect();
        let Ok(BidiInputEvent::Audio(a)) = inbound.read(&frame(&stereo, 16_000, 2)) else {
            panic!("audio")
        };
        assert_eq!(a.channels(), Channels::Mono);
        let bytes = a.audio_bytes().expect("bytes");
        assert_eq!(bytes.len(), 640);
        assert_eq!(i16::from_le_bytes([bytes[100], bytes[101]]), 2_000);
    }

    #[test]
    fn audio_at_the_models_rate_and_other_events_pass_unchanged() {
        let mut inbound = Inbound::new(&AudioConfig::new(SampleRate::Hz16000, SampleRate::Hz24000));
        let text = frame(&[1, 2, 3], 16_000, 1);
        let Ok(event) = inbound.read(&text) else {
            panic!("audio")
        };
        assert_eq!(event.to_json().to_string(), text);
        let t = json!({"type": "bidi_text_input", "text": "hi", "role": "user"}).to_string();
        assert!(matches!(inbound.read(&t), Ok(BidiInputEvent::Text(_))));
    }

    #[test]
    fn mulaw_for_a_pcm_model_is_decoded_and_resampled() {
        use bidi_agent::audio::dsp::g711::encode_mulaw;

        let mut inbound = Inbound::new(&AudioConfig::new(SampleRate::Hz16000, SampleRate::Hz24000));
        let tone: Vec<i16> = (0..160)
            .map(|n| ((n % 16) * 1_000 - 8_000) as i16)
            .collect();
        let mut ulaw = Vec::new();
        encode_mulaw(&tone, &mut ulaw);
        let event = BidiAudioInputEvent::from_bytes(
            &ulaw,
            AudioFormat::Pcmu,
            SampleRate::Hz8000,
            Channels::Mono,
        );
        let text = BidiInputEvent::Audio(event).to_json().to_string();
        let mut total = 0;
        for _ in 0..50 {
            let Ok(BidiInputEvent::Audio(a)) = inbound.read(&text) else {
                panic!("audio")
            };
            assert_eq!(
                (a.format(), a.sample_rate()),
                (AudioFormat::Pcm, SampleRate::Hz16000)
            );
            total += a.audio_bytes().expect("bytes").len() / 2;
            // The turn clock hears the decoded samples, at the client's rate.
            let (pcm, rate) = inbound.received_mono_pcm().expect("mono PCM");
            assert_eq!((pcm.len(), rate), (320, 8_000));
        }
        assert!((16_000 - 640..=16_000).contains(&total), "{total}");
        // A μ-law model takes it as it is.
        let mut phone = Inbound::new(&AudioConfig::mulaw());
        let Ok(event) = phone.read(&text) else {
            panic!("audio")
        };
        assert_eq!(event.to_json().to_string(), text);
    }

    #[test]
    fn bad_frames_are_typed_errors() {
        let mut inbound = Inbound::new(&AudioConfig::new(SampleRate::Hz16000, SampleRate::Hz24000));
        for bad in [
            "not json",
            r#"{"type":"bidi_video_input"}"#,
            r#"{"type":"bidi_text_input"}"#,
            r#"{"type":"bidi_audio_input","audio":"!!","format":"pcm","sample_rate":16000,"channels":1}"#,
            r#"{"type":"bidi_audio_input","audio":"AAAA","format":"pcm","sample_rate":11025,"channels":1}"#,
            "[]",
        ] {
            let e = inbound.read(bad).expect_err(bad);
            assert_eq!(e.to_event().code(), "InvalidInput", "{bad}");
        }
    }
}
