//! The far-end reference between a speaker and a microphone: [`EchoLink`] is shared by the
//! two sides of a `BidiAudioIO`; the playback callback writes what it plays through an
//! [`EchoTap`] (lock-free ring, mono, device rate), and the capture reader runs an
//! [`EchoFeed`], which reads it, brings it to the model's rate and runs the
//! [`EchoCanceller`] on the microphone in 10 ms frames.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use ringbuf::traits::{Consumer, Observer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};

use super::canceller::EchoCanceller;
use super::config::EchoMode;
use crate::AudioError;
use crate::dsp::StreamResampler;

/// Capacity of the far-end ring: 2 s of mono audio at 48 kHz.
const RING: usize = 96_000;
/// Far-end audio read per step: 100 ms at 48 kHz.
const STEP: usize = 4_800;

/// The far-end reference shared by a speaker and a microphone. Each side takes its end of
/// the ring when its device starts and gives it back when the device is released.
pub struct EchoLink {
    prod: Mutex<Option<HeapProd<f32>>>,
    cons: Mutex<Option<HeapCons<f32>>>,
    /// The speaker's device rate while a tap is attached, else 0.
    far_rate: AtomicU32,
}

impl std::fmt::Debug for EchoLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EchoLink")
            .field("far_rate", &self.far_rate.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for EchoTap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EchoTap").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for EchoFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EchoFeed")
            .field("mode", &self.mode)
            .field("rate", &self.rate)
            .field("active", &self.aec.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for EchoLink {
    fn default() -> Self {
        let (prod, cons) = HeapRb::<f32>::new(RING).split();
        Self {
            prod: Mutex::new(Some(prod)),
            cons: Mutex::new(Some(cons)),
            far_rate: AtomicU32::new(0),
        }
    }
}

impl EchoLink {
    /// The playback side's end, for a device at `rate` Hz; `None` when another speaker
    /// holds it.
    pub fn tap(self: &Arc<Self>, rate: u32) -> Option<EchoTap> {
        let prod = self.prod.lock().ok()?.take()?;
        self.far_rate.store(rate, Ordering::Release);
        Some(EchoTap {
            prod: Some(prod),
            link: Arc::clone(self),
        })
    }

    /// The capture side's end: a feed running `mode` at the model's `rate` (mono); `None`
    /// when another microphone holds it, the mode is off or the rate is not one the
    /// canceller takes.
    pub fn feed(self: &Arc<Self>, mode: EchoMode, rate: u32) -> Option<EchoFeed> {
        if !mode.cancels_echo() || !super::SUPPORTED_RATES.contains(&rate) {
            return None;
        }
        let mut cons = self.cons.lock().ok()?.take()?;
        // What the speaker played before this microphone opened is no reference for it.
        let stale = cons.occupied_len();
        cons.skip(stale);
        let frame = rate as usize / 100;
        Some(EchoFeed {
            cons: Some(cons),
            link: Arc::clone(self),
            mode,
            rate,
            aec: None,
            resampler: None,
            raw: vec![0.0; STEP],
            far_resampled: Vec::with_capacity(2 * STEP),
            far: VecDeque::with_capacity(rate as usize),
            near: VecDeque::with_capacity(rate as usize / 5),
            far_frame: vec![0.0; frame],
            near_frame: vec![0.0; frame],
        })
    }
}

/// The playback callback's end of the far-end reference. [`push`](Self::push) runs in the
/// cpal callback: no lock, no allocation (the ring is preallocated; when it is full, the
/// newest samples are dropped).
pub struct EchoTap {
    prod: Option<HeapProd<f32>>,
    link: Arc<EchoLink>,
}

impl EchoTap {
    /// Takes one period exactly as the device plays it (interleaved, `channels`), as mono.
    pub fn push(&mut self, played: &[f32], channels: usize) {
        let Some(prod) = self.prod.as_mut() else {
            return;
        };
        let ch = channels.max(1);
        let scale = 1.0 / ch as f32;
        for frame in played.chunks_exact(ch) {
            if prod.try_push(frame.iter().sum::<f32>() * scale).is_err() {
                break;
            }
        }
    }
}

impl Drop for EchoTap {
    fn drop(&mut self) {
        self.link.far_rate.store(0, Ordering::Release);
        if let (Some(prod), Ok(mut slot)) = (self.prod.take(), self.link.prod.lock()) {
            *slot = Some(prod);
        }
    }
}

/// The capture side's end: reads the far end, resamples it to the model's rate and cleans
/// the microphone in 10 ms frames. Until a speaker is attached, the microphone passes
/// through untouched; the canceller starts with the first far-end audio.
pub struct EchoFeed {
    cons: Option<HeapCons<f32>>,
    link: Arc<EchoLink>,
    mode: EchoMode,
    rate: u32,
    aec: Option<EchoCanceller>,
    resampler: Option<StreamResampler>,
    raw: Vec<f32>,
    far_resampled: Vec<f32>,
    far: VecDeque<f32>,
    near: VecDeque<f32>,
    far_frame: Vec<f32>,
    near_frame: Vec<f32>,
}

impl EchoFeed {
    /// Samples in one 10 ms frame at the model's rate.
    pub fn frame_len(&self) -> usize {
        self.near_frame.len()
    }

    /// Whether the canceller is running (a speaker has played into the link).
    pub fn active(&self) -> bool {
        self.aec.is_some()
    }

    /// The canceller, once running.
    pub fn canceller(&self) -> Option<&EchoCanceller> {
        self.aec.as_ref()
    }

    /// Cleans `near` (mono microphone audio at the model's rate), appending the result to
    /// `out`: everything, once the canceller runs, [`EchoCanceller::latency`] plus up to
    /// 10 ms later.
    pub fn process(&mut self, near: &[f32], out: &mut Vec<f32>) -> Result<(), AudioError> {
        self.read_far()?;
        let Some(aec) = self.aec.as_mut() else {
            out.extend_from_slice(near);
            return Ok(());
        };
        self.near.extend(near.iter().copied());
        let n = self.near_frame.len();
        // Keep at most 1 s of far end queued (the microphone stalled).
        let excess = self.far.len().saturating_sub(self.rate as usize);
        self.far.drain(..excess);
        while self.near.len() >= n {
            // One far frame per microphone frame, two to catch up when the speaker's clock
            // runs ahead; none when it has not played yet.
            let renders = if self.far.len() >= 4 * n { 2 } else { 1 };
            for _ in 0..renders {
                if self.far.len() < n {
                    break;
                }
                for (f, s) in self.far_frame.iter_mut().zip(self.far.drain(..n)) {
                    *f = s;
                }
                aec.render(&self.far_frame)?;
            }
            for (f, s) in self.near_frame.iter_mut().zip(self.near.drain(..n)) {
                *f = s;
            }
            aec.capture(&mut self.near_frame)?;
            out.extend_from_slice(&self.near_frame);
        }
        Ok(())
    }

    /// Moves what the speaker played from the ring to the far-end queue, at the model's
    /// rate; starts the canceller with the first of it.
    fn read_far(&mut self) -> Result<(), AudioError> {
        let far_rate = self.link.far_rate.load(Ordering::Acquire);
        let Some(cons) = self.cons.as_mut() else {
            return Ok(());
        };
        if far_rate == 0 {
            return Ok(());
        }
        if self
            .resampler
            .as_ref()
            .is_none_or(|r| r.from_rate() != far_rate)
        {
            self.resampler = Some(StreamResampler::new(far_rate, self.rate, 1)?);
        }
        if self.aec.is_none() {
            self.aec = Some(EchoCanceller::new(self.mode, self.rate)?);
        }
        let Some(resampler) = self.resampler.as_mut() else {
            return Ok(());
        };
        // At most one ring's worth per call, so a speaker running faster than real time (a
        // device without a clock) cannot keep the reader here.
        let mut left = RING;
        while left > 0 {
            let want = left.min(self.raw.len());
            let got = cons.pop_slice(&mut self.raw[..want]);
            if got == 0 {
                return Ok(());
            }
            left -= got;
            self.far_resampled.clear();
            resampler.process(&self.raw[..got], &mut self.far_resampled)?;
            self.far.extend(self.far_resampled.iter().copied());
        }
        Ok(())
    }
}

impl Drop for EchoFeed {
    fn drop(&mut self) {
        if let (Some(cons), Ok(mut slot)) = (self.cons.take(), self.link.cons.lock()) {
            *slot = Some(cons);
        }
    }
}
