//! [`TurnDetector`]: where the user's utterances start and end in a stream of input audio,
//! as a provider's server VAD finds them, by frame energy and a stretch of silence.

use std::collections::VecDeque;

use super::Listening;

/// The analysis frame of the detector: 10 ms.
pub const FRAME_MS: u64 = 10;

/// What the detector found in the audio it was fed.
#[derive(Debug, Clone, PartialEq)]
pub enum Turn {
    /// Speech started `at_ms` milliseconds into the stream.
    Started {
        /// Where, on the stream's audio timeline (ms since the first sample).
        at_ms: u64,
    },
    /// An utterance ended: its samples, from up to `prefix_ms` before the speech started to
    /// its last loud frame.
    Ended {
        /// Where it started (the speech, not the prefix), on the stream's audio timeline.
        start_ms: u64,
        /// Where its last loud frame ended.
        end_ms: u64,
        /// Mono 16-bit samples at the detector's rate.
        samples: Vec<i16>,
    },
}

/// An energy-based voice activity detector on mono 16-bit PCM, fed in pieces of any size.
///
/// Every 10 ms frame whose RMS level reaches [`Listening::threshold_dbfs`] is loud. An
/// utterance starts at the first loud frame and ends once [`Listening::silence_ms`] of
/// quiet frames followed its last loud one, or when the client ends its audio
/// ([`finish`](Self::finish)), or when it reaches [`Listening::max_utterance_ms`]. An
/// utterance with less than [`Listening::min_speech_ms`] of loud frames (a click) is
/// dropped silently. The timeline is the audio's own (samples received), not the wall
/// clock, so how fast a client streams does not matter.
///
/// ```
/// use bidi_sim::hearing::Listening;
/// use bidi_sim::hearing::vad::{Turn, TurnDetector};
///
/// let mut vad = TurnDetector::new(16_000, Listening::default());
/// let loud: Vec<u8> = (0..8_000).flat_map(|n| if n % 2 == 0 { 8_000i16 } else { -8_000 }.to_le_bytes()).collect();
/// let quiet = vec![0u8; 32 * 600]; // 600 ms of silence
/// let mut turns = vad.push_pcm16(&loud);
/// turns.extend(vad.push_pcm16(&quiet));
/// assert_eq!(turns[0], Turn::Started { at_ms: 0 });
/// assert!(matches!(&turns[1], Turn::Ended { start_ms: 0, end_ms: 500, samples } if samples.len() == 8_000));
/// ```
#[derive(Debug, Clone)]
pub struct TurnDetector {
    config: Listening,
    frame_len: usize,
    /// Whether utterances carry their samples ([`new`](Self::new)) or only their bounds
    /// ([`timing_only`](Self::timing_only)).
    keep_samples: bool,
    /// Bytes of an incomplete sample or frame carried to the next push.
    pending: Vec<i16>,
    odd_byte: Option<u8>,
    /// Frames seen so far.
    frames: u64,
    /// The last `prefix_ms` of quiet frames, kept to start the next utterance with.
    prefix: VecDeque<Vec<i16>>,
    speech: Option<Speech>,
}

#[derive(Debug, Clone)]
struct Speech {
    start_frame: u64,
    samples: Vec<i16>,
    /// Samples up to the end of the last loud frame.
    loud_end: usize,
    last_loud_frame: u64,
    loud_frames: u64,
}

impl TurnDetector {
    /// A detector for audio at `rate_hz` with `config`'s thresholds.
    pub fn new(rate_hz: u32, config: Listening) -> Self {
        let frame_len = (u64::from(rate_hz.max(100)) * FRAME_MS / 1000) as usize;
        Self {
            config,
            frame_len,
            keep_samples: true,
            pending: Vec::with_capacity(frame_len),
            odd_byte: None,
            frames: 0,
            prefix: VecDeque::new(),
            speech: None,
        }
    }

    /// A detector that finds where utterances start and end but keeps none of their audio:
    /// every [`Turn::Ended`] has empty `samples`, and its memory stays one 10 ms frame
    /// whatever the utterance's length. For measuring turns, not recognizing them.
    ///
    /// ```
    /// use bidi_sim::hearing::Listening;
    /// use bidi_sim::hearing::vad::{Turn, TurnDetector};
    ///
    /// let mut vad = TurnDetector::timing_only(16_000, Listening::default());
    /// let loud: Vec<u8> = (0..8_000).flat_map(|n| if n % 2 == 0 { 8_000i16 } else { -8_000 }.to_le_bytes()).collect();
    /// let mut turns = vad.push_pcm16(&loud);
    /// turns.extend(vad.push_pcm16(&vec![0u8; 32 * 600]));
    /// assert_eq!(turns[1], Turn::Ended { start_ms: 0, end_ms: 500, samples: Vec::new() });
    /// ```
    pub fn timing_only(rate_hz: u32, config: Listening) -> Self {
        Self {
            keep_samples: false,
            ..Self::new(rate_hz, config)
        }
    }

    /// Whether an utterance is under way.
    pub fn in_speech(&self) -> bool {
        self.speech.is_some()
    }

    /// Feeds little-endian 16-bit PCM (any length; an odd byte waits for the next piece).
    pub fn push_pcm16(&mut self, bytes: &[u8]) -> Vec<Turn> {
        let mut turns = Vec::new();
        let mut rest = bytes;
        if let Some(low) = self.odd_byte.take() {
            if let Some((&high, tail)) = rest.split_first() {
                self.sample(i16::from_le_bytes([low, high]), &mut turns);
                rest = tail;
            } else {
                self.odd_byte = Some(low);
            }
        }
        // Whole frames' worth at a time: a frame's samples are appended in one run (this
        // runs for every chunk a client sends).
        while rest.len() >= 2 {
            let need = (self.frame_len - self.pending.len()).min(rest.len() / 2);
            let (run, tail) = rest.split_at(need * 2);
            self.pending.extend(
                run.chunks_exact(2)
                    .map(|pair| i16::from_le_bytes([pair[0], pair[1]])),
            );
            rest = tail;
            if self.pending.len() == self.frame_len {
                self.frame(&mut turns);
            }
        }
        if let [last] = rest {
            self.odd_byte = Some(*last);
        }
        turns
    }

    /// Feeds samples.
    pub fn push(&mut self, samples: &[i16]) -> Vec<Turn> {
        let mut turns = Vec::new();
        let mut rest = samples;
        while !rest.is_empty() {
            let need = (self.frame_len - self.pending.len()).min(rest.len());
            let (run, tail) = rest.split_at(need);
            self.pending.extend_from_slice(run);
            rest = tail;
            if self.pending.len() == self.frame_len {
                self.frame(&mut turns);
            }
        }
        turns
    }

    fn sample(&mut self, sample: i16, turns: &mut Vec<Turn>) {
        self.pending.push(sample);
        if self.pending.len() == self.frame_len {
            self.frame(turns);
        }
    }

    /// The client ended its audio: the utterance under way (if any) ends now.
    pub fn finish(&mut self) -> Vec<Turn> {
        let mut turns = Vec::new();
        if !self.pending.is_empty() {
            self.frame(&mut turns);
        }
        self.odd_byte = None;
        if let Some(speech) = self.speech.take() {
            turns.extend(self.end(speech));
        }
        turns
    }

    /// Forgets everything heard so far (the client cleared its input buffer); the timeline
    /// goes on.
    pub fn clear(&mut self) {
        self.pending.clear();
        self.odd_byte = None;
        self.prefix.clear();
        self.speech = None;
    }

    fn frame_ms(&self, frame: u64) -> u64 {
        frame * FRAME_MS
    }

    /// Ends the frame in `pending` (a whole one, or the last piece at the end).
    fn frame(&mut self, turns: &mut Vec<Turn>) {
        let index = self.frames;
        self.frames += 1;
        let loud = level_dbfs(&self.pending) >= self.config.threshold_dbfs;
        let keep = self.keep_samples;
        match self.speech.as_mut() {
            None if loud => {
                let mut samples = Vec::new();
                if keep {
                    samples.extend(self.prefix.drain(..).flatten());
                    samples.extend_from_slice(&self.pending);
                }
                self.speech = Some(Speech {
                    start_frame: index,
                    loud_end: samples.len(),
                    samples,
                    last_loud_frame: index,
                    loud_frames: 1,
                });
                turns.push(Turn::Started {
                    at_ms: self.frame_ms(index),
                });
            }
            None => {
                let limit = (self.config.prefix_ms / FRAME_MS) as usize;
                if keep && limit > 0 {
                    let reuse = if self.prefix.len() >= limit {
                        self.prefix.pop_front()
                    } else {
                        None
                    };
                    let mut frame = reuse.unwrap_or_default();
                    frame.clear();
                    frame.extend_from_slice(&self.pending);
                    self.prefix.push_back(frame);
                }
            }
            Some(speech) => {
                if keep {
                    speech.samples.extend_from_slice(&self.pending);
                }
                if loud {
                    speech.loud_end = speech.samples.len();
                    speech.last_loud_frame = index;
                    speech.loud_frames += 1;
                }
                let quiet_ms = (index - speech.last_loud_frame) * FRAME_MS;
                let long_ms = (index + 1 - speech.start_frame) * FRAME_MS;
                if (quiet_ms >= self.config.silence_ms.max(FRAME_MS)
                    || long_ms >= self.config.max_utterance_ms)
                    && let Some(speech) = self.speech.take()
                {
                    turns.extend(self.end(speech));
                }
            }
        }
        self.pending.clear();
    }

    fn end(&mut self, mut speech: Speech) -> Option<Turn> {
        if speech.loud_frames * FRAME_MS < self.config.min_speech_ms {
            tracing::debug!(
                "loud_ms=<{}> | too short for an utterance, dropped",
                speech.loud_frames * FRAME_MS
            );
            return None;
        }
        speech.samples.truncate(speech.loud_end);
        Some(Turn::Ended {
            start_ms: self.frame_ms(speech.start_frame),
            end_ms: self.frame_ms(speech.last_loud_frame + 1),
            samples: speech.samples,
        })
    }
}

/// The RMS level of `samples` in dB relative to full scale (`-inf` for digital silence).
///
/// ```
/// use bidi_sim::hearing::vad::level_dbfs;
/// assert!((level_dbfs(&[i16::MAX, -i16::MAX]) - 0.0).abs() < 0.01);
/// assert!(level_dbfs(&[0; 160]).is_infinite());
/// ```
pub fn level_dbfs(samples: &[i16]) -> f32 {
    if samples.is_empty() {
        return f32::NEG_INFINITY;
    }
    // Exact in integers (each square is below 2^31), so the order of the sum is free.
    let energy: i64 = samples.iter().map(|&s| i64::from(s) * i64::from(s)).sum();
    let rms = (energy as f64 / samples.len() as f64).sqrt() / f64::from(i16::MAX);
    (20.0 * rms.log10()) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(ms: u64, amplitude: f64) -> Vec<i16> {
        (0..16 * ms)
            .map(|n| ((n as f64 * 0.2).sin() * amplitude) as i16)
            .collect()
    }

    fn config() -> Listening {
        Listening::default()
    }

    #[test]
    fn pauses_shorter_than_the_silence_stay_inside_one_utterance() {
        let mut vad = TurnDetector::new(16_000, config());
        let mut audio = vec![0; 16 * 200];
        audio.extend(tone(300, 6000.0));
        audio.extend(vec![0; 16 * 300]);
        audio.extend(tone(300, 6000.0));
        audio.extend(vec![0; 16 * 700]);
        let turns = vad.push(&audio);
        assert_eq!(turns.len(), 2, "{turns:?}");
        assert_eq!(turns[0], Turn::Started { at_ms: 200 });
        let Turn::Ended {
            start_ms,
            end_ms,
            samples,
        } = &turns[1]
        else {
            panic!("{turns:?}")
        };
        assert_eq!((*start_ms, *end_ms), (200, 1100));
        // 200 ms of the quiet before (the prefix, capped at 300 ms) and the speech.
        assert_eq!(samples.len(), 16 * (200 + 900));
        assert!(!vad.in_speech());
    }

    #[test]
    fn quiet_noise_clicks_and_a_finish_mid_speech() {
        let mut vad = TurnDetector::new(16_000, config());
        // Under the threshold (-45 dBFS is about 184 RMS): nothing.
        assert!(vad.push(&tone(1000, 100.0)).is_empty());
        // A 20 ms click: started, then dropped as too short.
        let mut click = tone(20, 9000.0);
        click.extend(vec![0; 16 * 600]);
        let turns = vad.push(&click);
        assert_eq!(turns, [Turn::Started { at_ms: 1000 }]);
        // Speech cut by the client's end of audio.
        let turns = vad.push(&tone(400, 9000.0));
        assert_eq!(turns.len(), 1);
        let turns = vad.finish();
        assert!(
            matches!(
                &turns[..],
                [Turn::Ended {
                    start_ms: 1620,
                    end_ms: 2020,
                    ..
                }]
            ),
            "{turns:?}"
        );
    }

    #[test]
    fn bytes_split_anywhere_give_the_same_turns() {
        let mut audio = tone(300, 6000.0);
        audio.extend(vec![0; 16 * 600]);
        let bytes: Vec<u8> = audio.iter().flat_map(|s| s.to_le_bytes()).collect();
        let whole = TurnDetector::new(16_000, config()).push_pcm16(&bytes);
        let mut vad = TurnDetector::new(16_000, config());
        let pieces: Vec<Turn> = bytes.chunks(333).flat_map(|c| vad.push_pcm16(c)).collect();
        assert_eq!(whole, pieces);
        assert_eq!(whole.len(), 2);
    }

    #[test]
    fn a_long_monologue_is_cut_at_the_maximum() {
        let mut cfg = config();
        cfg.max_utterance_ms = 1000;
        let mut vad = TurnDetector::new(16_000, cfg);
        let turns = vad.push(&tone(2500, 6000.0));
        let ended = turns
            .iter()
            .filter(|t| matches!(t, Turn::Ended { .. }))
            .count();
        assert_eq!(ended, 2, "{turns:?}");
    }
}
