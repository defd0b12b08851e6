//! [`EchoCanceller`]: the echo canceller's state machine at the caller's rate, fed 10 ms of
//! far end and 10 ms of microphone at a time. No IO: the device layer and the
//! `echo_cancel` example drive it the same way.

use std::collections::VecDeque;

use super::config::EchoMode;
use super::core::{CORE_RATE, Core, FRAME};
use crate::AudioError;
use crate::dsp::StreamResampler;

/// Rates the canceller accepts, in Hz. Other rates than 16 kHz are resampled to 16 kHz and
/// back, so the output is band-limited to 8 kHz.
pub const SUPPORTED_RATES: [u32; 4] = [8_000, 16_000, 24_000, 48_000];

/// What the canceller knows of the echo path: AEC3's estimates and the far end's alignment.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct EchoMetrics {
    /// Echo return loss (far end to microphone), dB, as AEC3 estimates it.
    pub erl_db: f64,
    /// Echo return loss enhancement of the linear filter, dB, as AEC3 estimates it.
    pub erle_db: f64,
    /// The delay found between the far end and the microphone, ms: the far end's
    /// alignment ([`aligned_ms`](Self::aligned_ms)) plus what AEC3 found after it.
    pub delay_ms: i32,
    /// How far the canceller delays the far end before AEC3, ms: it follows jumps of the
    /// echo path's delay that AEC3's own estimator would take seconds to follow.
    pub aligned_ms: i32,
}

/// An acoustic echo canceller (and noise suppressor) for one microphone and the speaker
/// audio it hears: WebRTC's AEC3 and noise suppressor, ported to Rust by `sonora`, run at
/// 16 kHz on 10 ms frames.
///
/// Feed every 10 ms of far-end audio (what the speaker played) with
/// [`render`](Self::render) and every 10 ms of microphone audio with
/// [`capture`](Self::capture), which cleans it in place, [`latency`](Self::latency) samples
/// late. The delay between the two streams (0-400 ms) is found by AEC3 and measured by the
/// canceller, which follows a jump of it to a longer delay within about a second; the
/// two calls need only come in roughly the same order as the audio happened. After
/// [`new`](Self::new), bidi's part of neither call allocates (AEC3 as sonora ports it
/// allocates short-lived temporaries: docs/audio.md).
///
/// ```
/// use bidi_audio::aec::{EchoCanceller, EchoMode};
///
/// let mut aec = EchoCanceller::new(EchoMode::AecNs, 16_000)?;
/// let far = vec![0.0f32; aec.frame_len()];
/// let mut mic = vec![0.0f32; aec.frame_len()];
/// aec.render(&far)?;
/// aec.capture(&mut mic)?;
/// assert_eq!(aec.latency(), 224); // 14 ms at 16 kHz
/// # Ok::<(), bidi_audio::AudioError>(())
/// ```
#[derive(Debug)]
pub struct EchoCanceller {
    rate: u32,
    frame_len: usize,
    mode: EchoMode,
    core: Option<Core>,
    convert: Option<Convert>,
    latency: usize,
    underruns: u64,
}

impl EchoCanceller {
    /// A canceller running `mode` on audio at `rate` Hz (one of [`SUPPORTED_RATES`]).
    pub fn new(mode: EchoMode, rate: u32) -> Result<Self, AudioError> {
        if !SUPPORTED_RATES.contains(&rate) {
            return Err(AudioError::InvalidOption {
                option: "echo_rate",
                value: rate.to_string(),
                reason: "the echo canceller runs at 8, 16, 24 or 48 kHz",
            });
        }
        let frame_len = rate as usize / 100;
        let (core, convert, latency) = if mode.cancels_echo() {
            let convert = (rate != CORE_RATE)
                .then(|| Convert::new(rate, frame_len))
                .transpose()?;
            let prefill = convert.as_ref().map_or(0, |c| c.out.len());
            let core_latency = Core::latency(mode) * rate as usize / CORE_RATE as usize;
            (Some(Core::new(mode)), convert, prefill + core_latency)
        } else {
            (None, None, 0)
        };
        Ok(Self {
            rate,
            frame_len,
            mode,
            core,
            convert,
            latency,
            underruns: 0,
        })
    }

    /// The sample rate, Hz.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// The mode.
    pub fn mode(&self) -> EchoMode {
        self.mode
    }

    /// Samples in one 10 ms frame: what [`render`](Self::render) and
    /// [`capture`](Self::capture) take.
    pub fn frame_len(&self) -> usize {
        self.frame_len
    }

    /// How many samples late [`capture`](Self::capture)'s output is: 8 ms (two AEC3 blocks)
    /// in [`EchoMode::Aec`], 14 ms in [`EchoMode::AecNs`] (the noise suppressor's overlap),
    /// plus the resamplers' buffering at rates other than 16 kHz; 0 when off.
    pub fn latency(&self) -> usize {
        self.latency
    }

    /// Frames of output that were not ready and went out as silence (0 unless the
    /// resamplers misbehave).
    pub fn underruns(&self) -> u64 {
        self.underruns
    }

    /// AEC3's estimates and the far end's alignment (all zero when off).
    pub fn metrics(&self) -> EchoMetrics {
        self.core.as_ref().map_or_else(EchoMetrics::default, |c| {
            let (erl_db, erle_db, delay_ms, aligned_ms) = c.metrics();
            EchoMetrics {
                erl_db,
                erle_db,
                delay_ms,
                aligned_ms,
            }
        })
    }

    /// Takes 10 ms ([`frame_len`](Self::frame_len) samples) of what the speaker played.
    pub fn render(&mut self, far: &[f32]) -> Result<(), AudioError> {
        self.check_len(far.len())?;
        let Some(core) = self.core.as_mut() else {
            return Ok(());
        };
        match self.convert.as_mut() {
            None => core.render(as_frame(far)?),
            Some(c) => c.render(core, far)?,
        }
        Ok(())
    }

    /// Cleans 10 ms ([`frame_len`](Self::frame_len) samples) of microphone audio in place.
    pub fn capture(&mut self, near: &mut [f32]) -> Result<(), AudioError> {
        self.check_len(near.len())?;
        let Some(core) = self.core.as_mut() else {
            return Ok(());
        };
        match self.convert.as_mut() {
            None => {
                let len = near.len();
                let frame: &mut [f32; FRAME] =
                    near.try_into().map_err(|_| frame_error(FRAME, len))?;
                core.capture(frame);
            }
            Some(c) => {
                if !c.capture(core, near)? {
                    self.underruns += 1;
                }
            }
        }
        Ok(())
    }

    fn check_len(&self, got: usize) -> Result<(), AudioError> {
        if got == self.frame_len {
            Ok(())
        } else {
            Err(frame_error(self.frame_len, got))
        }
    }
}

fn frame_error(expected: usize, got: usize) -> AudioError {
    AudioError::EchoFrame { expected, got }
}

fn as_frame(s: &[f32]) -> Result<&[f32; FRAME], AudioError> {
    s.try_into().map_err(|_| frame_error(FRAME, s.len()))
}

/// Resampling between the caller's rate and 16 kHz, with the queues between them.
#[derive(Debug)]
struct Convert {
    far_in: StreamResampler,
    near_in: StreamResampler,
    near_out: StreamResampler,
    far: VecDeque<f32>,
    near: VecDeque<f32>,
    /// Output at the caller's rate, starting with enough silence that a frame is always
    /// ready.
    out: VecDeque<f32>,
    scratch: Vec<f32>,
    frame: [f32; FRAME],
}

impl Convert {
    fn new(rate: u32, frame_len: usize) -> Result<Self, AudioError> {
        let mut c = Self::unfilled(rate)?;
        let prefill = c.startup_deficit(frame_len)?;
        let mut c2 = Self::unfilled(rate)?;
        c2.out.extend(std::iter::repeat_n(0.0, prefill));
        c.out.clear();
        Ok(c2)
    }

    fn unfilled(rate: u32) -> Result<Self, AudioError> {
        let cap = 8 * rate as usize / 100 + 4 * FRAME;
        Ok(Self {
            far_in: StreamResampler::new(rate, CORE_RATE, 1)?,
            near_in: StreamResampler::new(rate, CORE_RATE, 1)?,
            near_out: StreamResampler::new(CORE_RATE, rate, 1)?,
            far: VecDeque::with_capacity(cap),
            near: VecDeque::with_capacity(cap),
            out: VecDeque::with_capacity(cap),
            scratch: Vec::with_capacity(cap),
            frame: [0.0; FRAME],
        })
    }

    /// How far output falls behind requests when nothing is prefilled, over the first
    /// second: the silence to start with so that every later frame is ready. The chain is
    /// deterministic, so this holds for the whole stream.
    fn startup_deficit(&mut self, frame_len: usize) -> Result<usize, AudioError> {
        let (mut produced, mut deficit) = (0usize, 0usize);
        let silence = vec![0.0; frame_len];
        for n in 1..=100 {
            self.scratch.clear();
            self.near_in.process(&silence, &mut self.scratch)?;
            self.near.extend(self.scratch.drain(..));
            while self.near.len() >= FRAME {
                self.near.drain(..FRAME);
                self.near_out.process(&[0.0; FRAME], &mut self.scratch)?;
                produced += self.scratch.len();
                self.scratch.clear();
            }
            deficit = deficit.max((n * frame_len).saturating_sub(produced));
        }
        Ok(deficit)
    }

    fn render(&mut self, core: &mut Core, far: &[f32]) -> Result<(), AudioError> {
        self.scratch.clear();
        self.far_in.process(far, &mut self.scratch)?;
        self.far.extend(self.scratch.drain(..));
        while self.far.len() >= FRAME {
            for (f, s) in self.frame.iter_mut().zip(self.far.drain(..FRAME)) {
                *f = s;
            }
            core.render(&self.frame);
        }
        Ok(())
    }

    /// Returns false when the output was not ready (silence went out instead).
    fn capture(&mut self, core: &mut Core, near: &mut [f32]) -> Result<bool, AudioError> {
        self.scratch.clear();
        self.near_in.process(near, &mut self.scratch)?;
        self.near.extend(self.scratch.drain(..));
        while self.near.len() >= FRAME {
            for (f, s) in self.frame.iter_mut().zip(self.near.drain(..FRAME)) {
                *f = s;
            }
            core.capture(&mut self.frame);
            self.near_out.process(&self.frame, &mut self.scratch)?;
            self.out.extend(self.scratch.drain(..));
        }
        let ready = self.out.len() >= near.len();
        for s in near.iter_mut() {
            *s = self.out.pop_front().unwrap_or(0.0);
        }
        Ok(ready)
    }
}
