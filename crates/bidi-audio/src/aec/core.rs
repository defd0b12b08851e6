//! [`Core`]: the 16 kHz processing chain on 10 ms frames: high-pass filter, AEC3, noise
//! suppressor. Everything is allocated in [`Core::new`]; the frame methods only copy.

use sonora_aec3::block::Block;
use sonora_aec3::block_processor::BlockProcessor;
use sonora_ns::config::NsConfig;
use sonora_ns::noise_suppressor::NoiseSuppressor;

use super::config::{EchoMode, aec3_config};

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

/// A second-order Butterworth high-pass filter (transposed direct form II).
#[derive(Debug, Clone)]
struct HighPass {
    b: [f32; 3],
    a: [f32; 2],
    z: [f32; 2],
}

impl HighPass {
    /// A high-pass at `cutoff` Hz for `rate` Hz (RBJ cookbook, Q = 1/√2).
    fn new(cutoff: f32, rate: f32) -> Self {
        let w = std::f32::consts::TAU * cutoff / rate;
        let alpha = w.sin() / std::f32::consts::SQRT_2;
        let cos = w.cos();
        let a0 = 1.0 + alpha;
        let b0 = (1.0 + cos) / 2.0 / a0;
        Self {
            b: [b0, -2.0 * b0, b0],
            a: [-2.0 * cos / a0, (1.0 - alpha) / a0],
            z: [0.0; 2],
        }
    }

    fn process(&mut self, samples: &mut [f32]) {
        for x in samples {
            let y = self.b[0] * *x + self.z[0];
            self.z[0] = self.b[1] * *x - self.a[0] * y + self.z[1];
            self.z[1] = self.b[2] * *x - self.a[1] * y;
            *x = y;
        }
    }
}

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
    high_pass: HighPass,
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
}

impl Core {
    /// A chain for `mode` (which must cancel echo).
    pub(crate) fn new(mode: EchoMode) -> Self {
        let ns = mode
            .suppresses_noise()
            .then(|| NoiseSuppressor::new(NsConfig::default()));
        Self {
            high_pass: HighPass::new(80.0, CORE_RATE as f32),
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
        let mut rest = &far[..];
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

    /// Processes 10 ms of microphone audio in place, in [-1, 1]. The output is
    /// [`latency`](Self::latency) samples late.
    pub(crate) fn capture(&mut self, near: &mut [f32; FRAME]) {
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
                self.aec
                    .process_capture(false, self.saturated, None, &mut self.near_block);
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
    pub(crate) fn metrics(&self) -> (f64, f64, i32) {
        let m = self.aec.get_metrics();
        (
            m.echo_return_loss,
            m.echo_return_loss_enhancement,
            m.delay_ms,
        )
    }
}
