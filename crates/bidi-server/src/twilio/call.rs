//! What a phone call's audio needs, as pure state: [`CallerAudio`] turns Twilio's μ-law at
//! 8 kHz into the model's input; [`Playout`] turns the model's audio into μ-law `media`
//! with a mark after each chunk, and turns Twilio's mark echoes into what the caller heard.
//!
//! A model that takes and speaks μ-law at 8 kHz itself ([`AudioConfig::mulaw`], OpenAI
//! Realtime's `audio/pcmu`) gets the caller's payload as it came and its own goes to the
//! caller as it is: no resampling, no transcoding. Any other model's PCM is resampled to and
//! from 8 kHz and coded.

use std::collections::VecDeque;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bidi_agent::audio::AudioError;
use bidi_agent::audio::dsp::g711::{decode_mulaw, encode_mulaw};
use bidi_agent::audio::dsp::{StreamResampler, f32_to_pcm16_bytes, pcm16_bytes_to_f32};
use bidi_agent::types::{
    AudioConfig, AudioFormat, BidiAudioInputEvent, BidiAudioStreamEvent, BidiPlaybackEvent,
    Channels, SampleRate, TypesError,
};

/// Twilio's audio rate.
pub const TWILIO_RATE: u32 = 8_000;

/// Why a chunk of audio was skipped.
#[derive(Debug, thiserror::Error)]
pub enum CallAudioError {
    /// The payload was not base64.
    #[error("bad base64 in a media payload: {0}")]
    Base64(#[from] base64::DecodeError),
    /// The model's audio event was not valid.
    #[error(transparent)]
    Event(#[from] TypesError),
    /// Resampling failed.
    #[error(transparent)]
    Audio(#[from] AudioError),
    /// Audio a call cannot carry: neither PCM nor μ-law at 8 kHz, or μ-law in stereo.
    #[error(
        "format=<{format}>, sample_rate=<{rate}> | a call carries PCM (resampled) or mono μ-law at 8000 Hz"
    )]
    Format {
        /// The audio's format.
        format: AudioFormat,
        /// Its rate.
        rate: SampleRate,
    },
}

/// Whether audio in `format` at `rate` with `channels` is a call's own (mono μ-law at
/// 8 kHz), so it passes as it is; PCM is resampled; anything else is refused.
fn passes_through(
    format: AudioFormat,
    rate: SampleRate,
    channels: Channels,
) -> Result<bool, CallAudioError> {
    match format {
        AudioFormat::Pcm => Ok(false),
        AudioFormat::Pcmu if rate.hz() == TWILIO_RATE && channels == Channels::Mono => Ok(true),
        _ => Err(CallAudioError::Format { format, rate }),
    }
}

/// The caller's audio, μ-law 8 kHz in, the model's PCM rate out (or the same μ-law, for a
/// model that takes it).
#[derive(Debug)]
pub struct CallerAudio {
    target: AudioConfig,
    /// `None`: the model takes μ-law at 8 kHz, the payload passes as it is.
    resampler: Option<StreamResampler>,
    ulaw: Vec<u8>,
    pcm: Vec<i16>,
    samples: Vec<f32>,
    resampled: Vec<f32>,
    bytes: Vec<u8>,
}

impl CallerAudio {
    /// For a model taking `target` (mono) audio: PCM at any rate, or μ-law at 8 kHz.
    pub fn new(target: &AudioConfig) -> Result<Self, CallAudioError> {
        let through = passes_through(target.format, target.input_rate, target.channels)?;
        let resampler = match through {
            true => None,
            false => Some(StreamResampler::new(
                TWILIO_RATE,
                target.input_rate.hz(),
                1,
            )?),
        };
        Ok(Self {
            target: target.clone(),
            resampler,
            ulaw: Vec::new(),
            pcm: Vec::new(),
            samples: Vec::new(),
            resampled: Vec::new(),
            bytes: Vec::new(),
        })
    }

    /// One `media` payload (base64 μ-law) as the model's input event, and its 8 kHz PCM (for
    /// turn timing).
    pub fn decode(
        &mut self,
        payload: &str,
    ) -> Result<(BidiAudioInputEvent, &[i16]), CallAudioError> {
        // Every buffer is kept from frame to frame: this runs 50 times a second per call.
        let Some(resampler) = self.resampler.as_mut() else {
            // The model takes the payload as it is; its PCM is for the turn clock only.
            let event = BidiAudioInputEvent::decoded(
                payload,
                AudioFormat::Pcmu,
                SampleRate::Hz8000,
                Channels::Mono,
                &mut self.ulaw,
            )?;
            self.pcm.clear();
            decode_mulaw(&self.ulaw, &mut self.pcm);
            return Ok((event, &self.pcm));
        };
        self.ulaw.clear();
        BASE64.decode_vec(payload, &mut self.ulaw)?;
        self.pcm.clear();
        decode_mulaw(&self.ulaw, &mut self.pcm);
        self.samples.clear();
        self.samples
            .extend(self.pcm.iter().map(|&s| f32::from(s) / 32_768.0));
        self.resampled.clear();
        resampler.process(&self.samples, &mut self.resampled)?;
        self.bytes.clear();
        f32_to_pcm16_bytes(&self.resampled, &mut self.bytes);
        let event = BidiAudioInputEvent::from_bytes(
            &self.bytes,
            AudioFormat::Pcm,
            self.target.input_rate,
            self.target.channels,
        );
        Ok((event, &self.pcm))
    }
}

/// A chunk for the caller: the `media` payload, and the mark that follows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// Base64 μ-law at 8 kHz.
    pub payload: String,
    /// The name of the mark to send after it.
    pub mark: String,
}

/// The model's audio on its way to the caller, and what the caller heard of it.
///
/// Each chunk of the current response goes out as μ-law with a mark after it, named by a
/// counter, remembering how much of the response's audio had been sent by then. Twilio
/// echoes a mark when the audio before it has played, so an echo is a
/// [`BidiPlaybackEvent`]: that much of the response was heard. On an interruption the server
/// sends `clear`; Twilio then echoes every pending mark at once, which is not heard audio,
/// so the pending marks are forgotten first and their echoes ignored. Audio of the
/// interrupted response arriving later is dropped until the next response starts.
///
/// ```
/// use bidi_agent::types::{AudioFormat, BidiAudioStreamEvent, Channels, SampleRate};
/// use bidi_server::twilio::call::Playout;
///
/// let mut playout = Playout::new();
/// playout.response_started(Some("r1".into()));
/// let chunk = BidiAudioStreamEvent::from_bytes(&[0; 4_800], AudioFormat::Pcm, SampleRate::Hz24000, Channels::Mono);
/// let out = playout.audio(&chunk).unwrap().expect("a chunk");
/// let heard = playout.echoed(&out.mark).expect("heard");
/// // Most of the 100 ms: the resampler keeps up to one of its blocks (22.5 ms) back for
/// // the next chunk.
/// assert!((77..=100).contains(&heard.played_ms()), "{}", heard.played_ms());
/// // All of it was heard, so a barge-in now needs no `clear`; the rest of the response is dropped.
/// assert!(!playout.interrupted());
/// assert!(playout.audio(&chunk).unwrap().is_none());
/// ```
#[derive(Debug, Default)]
pub struct Playout {
    response: Option<String>,
    muted: bool,
    /// Milliseconds of the current response's audio sent, at 8 kHz.
    sent_samples: u64,
    resampler: Option<StreamResampler>,
    pending: VecDeque<(String, u64, Option<String>)>,
    next_mark: u64,
    samples: Vec<f32>,
    resampled: Vec<f32>,
    pcm: Vec<i16>,
    ulaw: Vec<u8>,
    bytes: Vec<u8>,
}

impl Playout {
    /// Nothing sent yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A response started: its audio is sent, counted from zero.
    pub fn response_started(&mut self, id: Option<String>) {
        self.response = id;
        self.muted = false;
        self.sent_samples = 0;
        self.resampler = None;
    }

    /// The model's audio chunk as μ-law for the caller, or `None` when it belongs to an
    /// interrupted response (or is empty).
    pub fn audio(
        &mut self,
        event: &BidiAudioStreamEvent,
    ) -> Result<Option<Outgoing>, CallAudioError> {
        if self.muted {
            return Ok(None);
        }
        if passes_through(event.format(), event.sample_rate(), event.channels())? {
            // μ-law at 8 kHz already: the payload goes to the caller as it came.
            let nanos = u64::try_from(event.duration().as_nanos()).unwrap_or(u64::MAX);
            let samples = nanos / (1_000_000_000 / u64::from(TWILIO_RATE));
            if samples == 0 {
                return Ok(None);
            }
            return Ok(Some(self.sent(samples, event.audio().to_owned())));
        }
        let from = event.sample_rate().hz();
        let channels = usize::from(event.channels().count());
        if self
            .resampler
            .as_ref()
            .is_none_or(|r| r.from_rate() != from || r.channels() != 1)
        {
            self.resampler = Some(StreamResampler::new(from, TWILIO_RATE, 1)?);
        }
        event.audio_bytes_into(&mut self.bytes)?;
        self.samples.clear();
        pcm16_bytes_to_f32(&self.bytes, &mut self.samples);
        if channels > 1 {
            let mixed: Vec<f32> = self
                .samples
                .chunks(channels)
                .map(|frame| frame.iter().sum::<f32>() / frame.len() as f32)
                .collect();
            self.samples = mixed;
        }
        self.resampled.clear();
        if let Some(r) = self.resampler.as_mut() {
            r.process(&self.samples, &mut self.resampled)?;
        }
        if self.resampled.is_empty() {
            return Ok(None);
        }
        self.pcm.clear();
        self.pcm.extend(
            self.resampled
                .iter()
                .map(|&s| bidi_agent::audio::dsp::sample_to_i16(s)),
        );
        self.ulaw.clear();
        encode_mulaw(&self.pcm, &mut self.ulaw);
        let payload = BASE64.encode(&self.ulaw);
        Ok(Some(self.sent(self.pcm.len() as u64, payload)))
    }

    /// `samples` more of the response sent as `payload`: the chunk, with its mark
    /// remembered at the response's position after it.
    fn sent(&mut self, samples: u64, payload: String) -> Outgoing {
        self.sent_samples += samples;
        let mark = self.next_mark.to_string();
        self.next_mark += 1;
        self.pending.push_back((
            mark.clone(),
            self.sent_samples * 1_000 / u64::from(TWILIO_RATE),
            self.response.clone(),
        ));
        Outgoing { payload, mark }
    }

    /// Twilio echoed the mark `name`: what the caller has heard of the response, or `None`
    /// for an echo that is not heard audio (after a `clear`, or unknown).
    pub fn echoed(&mut self, name: &str) -> Option<BidiPlaybackEvent> {
        let at = self.pending.iter().position(|(n, _, _)| n == name)?;
        let (_, ms, response) = self.pending.drain(..=at).next_back()?;
        let report = BidiPlaybackEvent::new(ms);
        Some(match response {
            Some(id) => report.for_response(id),
            None => report,
        })
    }

    /// The model was interrupted: forget the pending marks, drop the rest of this
    /// response. Returns whether a `clear` should go out (something was sent and may still
    /// be playing).
    pub fn interrupted(&mut self) -> bool {
        self.muted = true;
        let playing = !self.pending.is_empty();
        self.pending.clear();
        playing
    }
}

#[cfg(test)]
mod tests {
    use bidi_agent::types::{Channels, SampleRate};

    use super::*;

    fn chunk(ms: usize) -> BidiAudioStreamEvent {
        let samples: Vec<u8> = (0..ms * 24)
            .flat_map(|n| (((n % 48) as i16 - 24) * 600).to_le_bytes())
            .collect();
        BidiAudioStreamEvent::from_bytes(
            &samples,
            AudioFormat::Pcm,
            SampleRate::Hz24000,
            Channels::Mono,
        )
    }

    #[test]
    fn each_chunk_is_mulaw_at_8k_with_a_mark_counting_the_response() {
        let mut p = Playout::new();
        p.response_started(Some("r1".into()));
        let mut bytes = 0;
        let mut marks = Vec::new();
        for _ in 0..10 {
            if let Some(out) = p.audio(&chunk(100)).expect("audio") {
                bytes += BASE64.decode(&out.payload).expect("b64").len();
                marks.push(out.mark);
            }
        }
        // One second at 8 kHz, less what the resampler still holds (at most 20 ms).
        assert!((8_000 - 160..=8_000).contains(&bytes), "{bytes}");
        let heard = p.echoed(&marks[4]).expect("heard");
        assert_eq!(heard.response_id(), Some("r1"));
        assert!(
            (480..=500).contains(&heard.played_ms()),
            "{}",
            heard.played_ms()
        );
        // Earlier marks are gone with it; a later one still counts.
        assert!(p.echoed(&marks[2]).is_none());
        assert!(p.echoed(&marks[9]).expect("heard").played_ms() > heard.played_ms());
    }

    #[test]
    fn echoes_after_a_clear_are_not_heard_and_late_audio_is_dropped() {
        let mut p = Playout::new();
        p.response_started(Some("r1".into()));
        let a = p.audio(&chunk(100)).expect("audio").expect("chunk");
        let b = p.audio(&chunk(100)).expect("audio").expect("chunk");
        assert!(p.echoed(&a.mark).is_some());
        assert!(p.interrupted(), "b was still pending");
        assert!(p.echoed(&b.mark).is_none());
        assert!(p.audio(&chunk(100)).expect("audio").is_none());
        assert!(!p.interrupted(), "nothing pending");
        p.response_started(Some("r2".into()));
        let c = p.audio(&chunk(100)).expect("audio").expect("chunk");
        assert_eq!(p.echoed(&c.mark).expect("heard").response_id(), Some("r2"));
    }

    #[test]
    fn caller_audio_reaches_the_models_rate() {
        let mut caller =
            CallerAudio::new(&AudioConfig::new(SampleRate::Hz24000, SampleRate::Hz24000))
                .expect("caller");
        let ulaw = BASE64.encode([0xFFu8; 160]);
        let mut total = 0;
        for _ in 0..50 {
            let (event, pcm) = caller.decode(&ulaw).expect("decoded");
            assert_eq!(pcm.len(), 160);
            assert_eq!(event.sample_rate(), SampleRate::Hz24000);
            total += event.audio_bytes().expect("bytes").len() / 2;
        }
        // The resampler holds back at most one of its chunks (40 ms at 8 kHz in).
        assert!((24_000 - 960..=24_000).contains(&total), "{total}");
        assert!(caller.decode("%%%").is_err());
    }

    #[test]
    fn a_mulaw_model_gets_and_gives_the_calls_audio_as_it_is() {
        let mut caller = CallerAudio::new(&AudioConfig::mulaw()).expect("caller");
        let ulaw: Vec<u8> = (0..160u8).map(|n| n.wrapping_mul(7)).collect();
        let payload = BASE64.encode(&ulaw);
        let (event, pcm) = caller.decode(&payload).expect("decoded");
        let mut expected = Vec::new();
        decode_mulaw(&ulaw, &mut expected);
        assert_eq!(pcm, expected.as_slice(), "the turn clock hears the audio");
        assert_eq!(event.audio(), payload);
        assert_eq!(
            (event.format(), event.sample_rate()),
            (AudioFormat::Pcmu, SampleRate::Hz8000)
        );
        assert!(caller.decode("%%%").is_err());

        let mut p = Playout::new();
        p.response_started(Some("r1".into()));
        let answer = BidiAudioStreamEvent::new(
            BASE64.encode([0x55u8; 800]),
            AudioFormat::Pcmu,
            SampleRate::Hz8000,
            Channels::Mono,
        )
        .expect("event");
        let first = p.audio(&answer).expect("audio").expect("chunk");
        assert_eq!(first.payload, answer.audio(), "passed through");
        let second = p.audio(&answer).expect("audio").expect("chunk");
        // 800 bytes of μ-law at 8 kHz: 100 ms each.
        assert_eq!(p.echoed(&second.mark).expect("heard").played_ms(), 200);
    }

    #[test]
    fn audio_a_call_cannot_carry_is_refused() {
        let stereo = AudioConfig::mulaw().with_channels(Channels::Stereo);
        assert!(matches!(
            CallerAudio::new(&stereo),
            Err(CallAudioError::Format { .. })
        ));
        let mut opus = AudioConfig::new(SampleRate::Hz24000, SampleRate::Hz24000);
        opus.format = AudioFormat::Opus;
        assert!(CallerAudio::new(&opus).is_err());
        let mut p = Playout::new();
        p.response_started(None);
        let wide = BidiAudioStreamEvent::new(
            "AAAA",
            AudioFormat::Pcmu,
            SampleRate::Hz16000,
            Channels::Mono,
        )
        .expect("event");
        let err = p.audio(&wide).expect_err("μ-law at 16 kHz");
        assert!(err.to_string().contains("sample_rate=<16000>"), "{err}");
    }
}
