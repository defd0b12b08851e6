//! [`Core`]: the 16 kHz processing chain on 10 ms frames: high-pass filter, the far end's
//! alignment (from [`DelayEstimator`]), AEC3, noise suppressor. Everything is allocated in
//! [`Core::new`]; the frame methods only copy and compute.

use sonora_aec3::block::Block;
use sonora_aec3::block_processor::BlockProcessor;
use sonora_ns::config::NsConfig;
use sonora_ns::noise_suppressor::NoiseSuppressor;

use super::config::{EchoMode, aec3_config};
use super::delay::{DelayEstimator, JUMP, MAX_LAG};
use super::filter::Biquad;

/// The rate the chain runs at.
pub(crate) const CORE_RATE: u32 = 16_000;
/// Samples in one 10 ms frame at [`CORE_RATE`].
pub(crate) const FRAME: usize = 160;
/// AEC3's block: 4 ms at 16 kHz.
const BLOCK: usize = 64;
/// WebRTC's processing works on 16-bit scale floats.
const SCALE: f32 = 32_768.0;
/// A capture sample this close to full scale marks the frame as saturated (AEC3 then
/// distrusts its linear filter).
const SATURATION: f32 = 32_700.0;
/// Far-end history kept for alignment: the longest delay measured and a frame, at 16 kHz.
const HISTORY: usize = 4 * MAX_LAG + FRAME;

/// Collects samples into 64-sample AEC3 blocks.
#[derive(Debug)]
struct Blocker {
    pending: [f32; BLOCK],
    len: usize,
}

impl Blocker {
    fn new() -> Self {
        Self {
            pending: [0.0; BLOCK],
            len: 0,
        }
    }

    /// Adds samples from `input` until a block is full; returns how many it took.
    fn fill(&mut self, input: &[f32]) -> usize {
        let take = (BLOCK - self.len).min(input.len());
        self.pending[self.len..self.len + take].copy_from_slice(&input[..take]);
        self.len += take;
        take
    }

    /// Moves a full block into `block` (band 0, channel 0).
    fn take(&mut self, block: &mut Block) -> bool {
        if self.len < BLOCK {
            return false;
        }
        block.view_mut(0, 0).copy_from_slice(&self.pending);
        self.len = 0;
        true
    }
}

/// The echo canceller's state at 16 kHz.
#[derive(Debug)]
pub(crate) struct Core {
    high_pass: Biquad,
    aec: BlockProcessor,
    ns: Option<NoiseSuppressor>,
    far: Blocker,
    far_block: Block,
    near: Blocker,
    near_block: Block,
    /// Processed capture waiting to be returned: the first block starts 64 samples in, so
    /// the chain has a constant delay of one block.
    out: [f32; BLOCK + FRAME + BLOCK],
    out_len: usize,
    frame: [f32; FRAME],
    saturated: bool,
    /// Whether far-end audio has arrived. Until it does, AEC3 is given silence with each
    /// microphone block: it leaves capture untouched (and undelayed) while it has no render
    /// at all, so the chain's delay would change by a block when the far end starts.
    far_started: bool,
    silence: Block,
    delay: DelayEstimator,
    /// The far end as it came, newest at `history_next - 1`.
    history: Vec<f32>,
    history_next: usize,
    /// How many samples the far end is delayed before AEC3 sees it.
    align: usize,
    /// The measured delay `align` was last set for.
    reference: Option<usize>,
    aligned: [f32; FRAME],
    /// The alignment moved since the last AEC3 block.
    moved: bool,
}

impl Core {
    /// A chain for `mode` (which must cancel echo).
    pub(crate) fn new(mode: EchoMode) -> Self {
        let ns = mode
            .suppresses_noise()
            .then(|| NoiseSuppressor::new(NsConfig::default()));
        Self {
            high_pass: Biquad::high_pass(80.0, CORE_RATE as f32, std::f32::consts::FRAC_1_SQRT_2),
            aec: BlockProcessor::new(&aec3_config(), CORE_RATE as usize, 1, 1),
            ns,
            far: Blocker::new(),
            far_block: Block::new(1, 1),
            near: Blocker::new(),
            near_block: Block::new(1, 1),
            out: [0.0; BLOCK + FRAME + BLOCK],
            out_len: BLOCK,
            frame: [0.0; FRAME],
            saturated: false,
            far_started: false,
            silence: Block::new(1, 1),
            delay: DelayEstimator::new(),
            history: vec![0.0; HISTORY],
            history_next: 0,
            align: 0,
            reference: None,
            aligned: [0.0; FRAME],
            moved: false,
        }
    }

    /// The chain's delay from capture in to capture out, in samples at 16 kHz: one block
    /// of framing, one of AEC3's overlap-add suppression filter, and for noise suppression
    /// its own overlap (256-sample FFT over 160-sample frames). Measured in
    /// `tests/it/echo.rs`.
    pub(crate) fn latency(mode: EchoMode) -> usize {
        2 * BLOCK
            + if mode.suppresses_noise() {
                256 - FRAME
            } else {
                0
            }
    }

    /// Takes 10 ms of far-end (speaker) audio, in [-1, 1].
    pub(crate) fn render(&mut self, far: &[f32; FRAME]) {
        self.far_started = true;
        self.delay.far(far);
        for &s in far {
            self.history[self.history_next] = s;
            self.history_next = (self.history_next + 1) % HISTORY;
        }
        // The frame `align` samples before the newest one.
        let start = (self.history_next + 2 * HISTORY - self.align - FRAME) % HISTORY;
        for (i, a) in self.aligned.iter_mut().enumerate() {
            *a = self.history[(start + i) % HISTORY];
        }
        let mut rest = &self.aligned[..];
        while !rest.is_empty() {
            let took = self.far.fill(rest);
            rest = &rest[took..];
            if self.far.take(&mut self.far_block) {
                for s in self.far_block.view_mut(0, 0) {
                    *s *= SCALE;
                }
                self.aec.buffer_render(&self.far_block);
            }
        }
    }

    /// Follows the delay estimator. Its first estimate is where AEC3 is finding the delay
    /// itself (both converge on the first half second of the far end); when the estimate
    /// then jumps, the far end given to AEC3 moves by as much, so AEC3 keeps the delay it
    /// locked on (its own estimator takes 2.5-3 s to move), and AEC3 is told the echo path
    /// changed (its adaptive filter then re-adapts in about half a second instead of two).
    ///
    /// The far end is not aligned at the first estimate: moving it under an AEC3 that has
    /// locked on costs seconds of its vote, and restarting AEC3 there (a fresh one at the
    /// aligned delay) let echo through while the new one converged, enough for a model's
    /// voice activity detection to hear the agent's first answer and interrupt it
    /// (`bidi-sim`'s `echo_loopback` test). The cost: the far end cannot be moved before its
    /// newest sample, so a jump to less than the first delay is left to AEC3.
    fn follow_delay(&mut self) {
        let Some(d) = self.delay.estimate() else {
            return;
        };
        match self.reference {
            None => self.reference = Some(d),
            Some(r) if r.abs_diff(d) > JUMP => {
                self.align = (self.align + d).saturating_sub(r).min(HISTORY - FRAME);
                self.reference = Some(d);
                self.moved = true;
            }
            Some(_) => {}
        }
    }

    /// Processes 10 ms of microphone audio in place, in [-1, 1]. The output is
    /// [`latency`](Self::latency) samples late.
    pub(crate) fn capture(&mut self, near: &mut [f32; FRAME]) {
        if self.far_started {
            self.delay.near(near);
            self.follow_delay();
        }
        for (f, &s) in self.frame.iter_mut().zip(near.iter()) {
            *f = s * SCALE;
        }
        self.high_pass.process(&mut self.frame);
        let mut start = 0;
        while start < FRAME {
            let took = self.near.fill(&self.frame[start..]);
            if let Some(chunk) = self.frame.get(start..start + took) {
                self.saturated |= chunk.iter().any(|s| s.abs() >= SATURATION);
            }
            start += took;
            if self.near.take(&mut self.near_block) {
                if !self.far_started {
                    self.aec.buffer_render(&self.silence);
                }
                let moved = std::mem::take(&mut self.moved);
                self.aec
                    .process_capture(moved, self.saturated, None, &mut self.near_block);
                self.saturated = false;
                self.out[self.out_len..self.out_len + BLOCK]
                    .copy_from_slice(self.near_block.view(0, 0));
                self.out_len += BLOCK;
            }
        }
        self.frame.copy_from_slice(&self.out[..FRAME]);
        self.out.copy_within(FRAME..self.out_len, 0);
        self.out_len -= FRAME;
        if let Some(ns) = &mut self.ns {
            ns.analyze(&self.frame);
            ns.process(&mut self.frame);
        }
        for (n, &f) in near.iter_mut().zip(self.frame.iter()) {
            *n = (f / SCALE).clamp(-1.0, 1.0);
        }
    }

    /// AEC3's own estimates: echo return loss and its enhancement in dB, and the delay
    /// it found between far end and microphone, in ms.
    pub(crate) fn metrics(&self) -> (f64, f64, i32, i32) {
        let m = self.aec.get_metrics();
        let align_ms = (self.align * 1_000 / CORE_RATE as usize) as i32;
        (
            m.echo_return_loss,
            m.echo_return_loss_enhancement,
            m.delay_ms + align_ms,
            align_ms,
        )
    }
}
