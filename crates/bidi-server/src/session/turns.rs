//! [`TurnClock`]: when the user's turn ended, and how long the model took to answer it with
//! audio. Pure: instants in, latencies out.

use std::time::{Duration, Instant};

use bidi_sim::hearing::Listening;
use bidi_sim::hearing::vad::{Turn, TurnDetector};

/// Measures `bidi_first_audio_seconds` for one session: from the end of the user's speech
/// (found in the input audio by an energy VAD, the simulator's, dated on the audio's own
/// timeline) or from a text turn, to the first model audio sent after it. Each turn is
/// measured once.
///
/// ```
/// use std::time::{Duration, Instant};
/// use bidi_server::session::TurnClock;
///
/// let mut clock = TurnClock::new();
/// let t0 = Instant::now();
/// clock.text_turn(t0);
/// assert_eq!(clock.audio_sent(t0 + Duration::from_millis(300)), Some(Duration::from_millis(300)));
/// assert_eq!(clock.audio_sent(t0 + Duration::from_millis(400)), None);
/// ```
#[derive(Debug, Default)]
pub struct TurnClock {
    vad: Option<(u32, TurnDetector)>,
    /// Milliseconds of input audio fed to the VAD.
    heard_ms: u64,
    ended_at: Option<Instant>,
}

impl TurnClock {
    /// A clock with no turn pending.
    pub fn new() -> Self {
        Self::default()
    }

    /// The user sent a text turn at `now`.
    pub fn text_turn(&mut self, now: Instant) {
        self.ended_at = Some(now);
    }

    /// Mono 16-bit PCM `bytes` at `rate_hz` arrived at `now`. An utterance that ends in it
    /// starts the wait, dated where the speech ended in the audio.
    pub fn audio(&mut self, bytes: &[u8], rate_hz: u32, now: Instant) {
        let turns = self.vad(rate_hz).push_pcm16(bytes);
        self.heard(bytes.len() / 2, rate_hz, turns, now);
    }

    /// Mono `samples` at `rate_hz` arrived at `now`: as [`audio`](Self::audio), for audio
    /// already decoded.
    pub fn samples(&mut self, samples: &[i16], rate_hz: u32, now: Instant) {
        let turns = self.vad(rate_hz).push(samples);
        self.heard(samples.len(), rate_hz, turns, now);
    }

    /// The detector for `rate_hz` (a fresh one when the rate changed).
    fn vad(&mut self, rate_hz: u32) -> &mut TurnDetector {
        if self.vad.as_ref().is_none_or(|(rate, _)| *rate != rate_hz) {
            self.vad = None;
            self.heard_ms = 0;
        }
        // Only where speech ends is wanted here, not the utterance's audio.
        let (_, vad) = self.vad.get_or_insert_with(|| {
            (
                rate_hz,
                TurnDetector::timing_only(rate_hz, Listening::default()),
            )
        });
        vad
    }

    /// `count` samples were heard, ending `turns`.
    fn heard(&mut self, count: usize, rate_hz: u32, turns: Vec<Turn>, now: Instant) {
        self.heard_ms += count as u64 * 1_000 / u64::from(rate_hz.max(1));
        for turn in turns {
            if let Turn::Ended { end_ms, .. } = turn {
                let ago = Duration::from_millis(self.heard_ms.saturating_sub(end_ms));
                self.ended_at = Some(now.checked_sub(ago).unwrap_or(now));
            }
        }
    }

    /// Model audio went to the client at `now`: the latency of the turn it answers, the
    /// first time only.
    pub fn audio_sent(&mut self, now: Instant) -> Option<Duration> {
        self.ended_at
            .take()
            .map(|ended| now.saturating_duration_since(ended))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pcm(ms: u64, amplitude: i16) -> Vec<u8> {
        (0..ms * 16)
            .flat_map(|n| if n % 2 == 0 { amplitude } else { -amplitude }.to_le_bytes())
            .collect()
    }

    #[test]
    fn a_spoken_turn_is_dated_at_the_end_of_its_speech() {
        let mut clock = TurnClock::new();
        let t0 = Instant::now();
        clock.audio(&pcm(1_000, 8_000), 16_000, t0);
        assert_eq!(clock.audio_sent(t0), None, "no turn while speaking");
        // 600 ms of quiet: the VAD ends the utterance 500 ms after the speech, at 1 s.
        clock.audio(&pcm(600, 0), 16_000, t0 + Duration::from_millis(1_600));
        let latency = clock.audio_sent(t0 + Duration::from_millis(1_800));
        assert_eq!(latency, Some(Duration::from_millis(800)));
        assert_eq!(clock.audio_sent(t0 + Duration::from_millis(1_900)), None);
    }

    #[test]
    fn quiet_audio_is_no_turn() {
        let mut clock = TurnClock::new();
        let t0 = Instant::now();
        clock.audio(&pcm(3_000, 10), 16_000, t0);
        assert_eq!(clock.audio_sent(t0), None);
    }
}
