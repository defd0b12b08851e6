//! Capture: [`CaptureCallback`] fills the ring in the cpal input callback,
//! [`CaptureReader`] turns it into model-rate PCM frames on the tokio side.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cpal::{FromSample, Sample};
use ringbuf::traits::{Consumer, Observer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};

use super::SCRATCH_SAMPLES;
use crate::AudioError;
use crate::dsp::{Framer, StreamResampler, mix_channels};

/// How a capture pair is sized and what it produces.
#[derive(Debug, Clone)]
pub struct CaptureSetup {
    /// Device channels (interleaved).
    pub device_channels: usize,
    /// Device rate in Hz.
    pub device_rate: u32,
    /// Capacity of the ring in device frames. When it is full the callback drops the newest
    /// audio (it cannot touch the reader's end) and counts it.
    pub ring_frames: usize,
    /// Most device frames kept queued: past it the reader drops the oldest. `None`: only the
    /// ring's capacity bounds the queue.
    pub limit_frames: Option<usize>,
    /// Channels the model takes.
    pub model_channels: usize,
    /// Rate the model takes, in Hz.
    pub model_rate: u32,
    /// Model frames per emitted PCM frame (20 ms at 16 kHz: 320).
    pub frame_frames: usize,
}

/// Counters of a capture stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CaptureStats {
    /// Callbacks run.
    pub callbacks: u64,
    /// Device frames written to the ring.
    pub captured_frames: u64,
    /// Device frames the callback dropped because the ring was full.
    pub overrun_frames: u64,
    /// Device frames the reader dropped, oldest first, to keep under the limit.
    pub dropped_frames: u64,
}

#[derive(Debug, Default)]
struct Shared {
    callbacks: AtomicU64,
    captured: AtomicU64,
    overrun: AtomicU64,
}

/// Makes a capture pair: the callback for cpal, the reader for the tokio side.
///
/// ```
/// use std::collections::VecDeque;
/// use bidi_audio::rt::{capture_channel, CaptureSetup};
///
/// let (mut callback, mut reader) = capture_channel(CaptureSetup {
///     device_channels: 2, device_rate: 16_000, ring_frames: 16_000, limit_frames: None,
///     model_channels: 1, model_rate: 16_000, frame_frames: 2,
/// }).unwrap();
/// callback.push(&[0.5, 0.5, 0.25, 0.25, 1.0, 0.0]);
/// let mut frames = VecDeque::new();
/// reader.poll(&mut frames).unwrap();
/// assert_eq!(frames.len(), 1); // two mono samples (0.5, 0.25) in one frame; 0.5 waits
/// ```
pub fn capture_channel(
    setup: CaptureSetup,
) -> Result<(CaptureCallback, CaptureReader), AudioError> {
    let dch = setup.device_channels.max(1);
    let mch = setup.model_channels.max(1);
    let (prod, cons) = HeapRb::<f32>::new(setup.ring_frames.max(1) * dch).split();
    let shared = Arc::new(Shared::default());
    let resampler = StreamResampler::new(setup.device_rate, setup.model_rate, mch)?;
    let chunk = (usize::try_from(setup.device_rate / 20).unwrap_or(2_400)).max(64) * dch;
    let callback = CaptureCallback {
        prod,
        channels: dch,
        shared: Arc::clone(&shared),
        scratch: vec![0.0; SCRATCH_SAMPLES / dch * dch].into_boxed_slice(),
    };
    let reader = CaptureReader {
        cons,
        device_channels: dch,
        model_channels: mch,
        limit: setup.limit_frames.map(|f| f * dch),
        shared,
        dropped: 0,
        raw: vec![0.0; chunk],
        mixed: Vec::with_capacity(chunk),
        resampled: Vec::with_capacity(chunk * 2),
        resampler,
        framer: Framer::new(setup.frame_frames.max(1) * mch),
        #[cfg(feature = "aec")]
        echo: None,
    };
    Ok((callback, reader))
}

/// The cpal input callback's state. [`push`](Self::push) is the whole callback body: no
/// lock, no allocation, no logging, no system call.
pub struct CaptureCallback {
    prod: HeapProd<f32>,
    channels: usize,
    shared: Arc<Shared>,
    scratch: Box<[f32]>,
}

impl std::fmt::Debug for CaptureCallback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureCallback")
            .field("channels", &self.channels)
            .finish_non_exhaustive()
    }
}

impl CaptureCallback {
    /// Takes one period of interleaved `f32` samples.
    pub fn push(&mut self, data: &[f32]) {
        self.shared.callbacks.fetch_add(1, Ordering::Relaxed);
        self.write(data);
    }

    /// Takes one period of any cpal sample type, converting to `f32` through a preallocated
    /// scratch buffer.
    pub fn push_as<T: Sample>(&mut self, data: &[T])
    where
        f32: FromSample<T>,
    {
        self.shared.callbacks.fetch_add(1, Ordering::Relaxed);
        let step = self.scratch.len();
        for chunk in data.chunks(step) {
            let mut scratch = std::mem::take(&mut self.scratch);
            let buf = &mut scratch[..chunk.len()];
            for (b, s) in buf.iter_mut().zip(chunk) {
                *b = f32::from_sample(*s);
            }
            self.write(buf);
            self.scratch = scratch;
        }
    }

    fn write(&mut self, data: &[f32]) {
        let ch = self.channels;
        let whole = data.len() / ch * ch;
        let n = (self.prod.vacant_len() / ch * ch).min(whole);
        let pushed = self.prod.push_slice(&data[..n]);
        self.shared
            .captured
            .fetch_add((pushed / ch) as u64, Ordering::Relaxed);
        if pushed < whole {
            self.shared
                .overrun
                .fetch_add(((whole - pushed) / ch) as u64, Ordering::Relaxed);
        }
    }
}

/// The tokio side of capture: drains the ring, down-mixes to the model's channels,
/// resamples to the model's rate and cuts fixed PCM frames.
pub struct CaptureReader {
    cons: HeapCons<f32>,
    device_channels: usize,
    model_channels: usize,
    limit: Option<usize>,
    shared: Arc<Shared>,
    dropped: u64,
    raw: Vec<f32>,
    mixed: Vec<f32>,
    resampled: Vec<f32>,
    resampler: StreamResampler,
    framer: Framer,
    #[cfg(feature = "aec")]
    echo: Option<(crate::aec::EchoFeed, Vec<f32>)>,
}

impl std::fmt::Debug for CaptureReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureReader")
            .field("device_channels", &self.device_channels)
            .field("model_channels", &self.model_channels)
            .field("resampler", &self.resampler)
            .finish_non_exhaustive()
    }
}

impl CaptureReader {
    /// Processes up to one chunk (50 ms of device audio) from the ring, appending completed
    /// frames to `frames`. Returns the device frames processed (0: the ring was empty).
    pub fn poll(&mut self, frames: &mut VecDeque<Vec<u8>>) -> Result<usize, AudioError> {
        let dch = self.device_channels;
        if let Some(limit) = self.limit {
            let queued = self.cons.occupied_len();
            if queued > limit {
                let skipped = self.cons.skip((queued - limit) / dch * dch);
                self.dropped += (skipped / dch) as u64;
            }
        }
        let n = self.cons.pop_slice(&mut self.raw);
        if n == 0 {
            return Ok(0);
        }
        self.mixed.clear();
        mix_channels(&self.raw[..n], dch, self.model_channels, &mut self.mixed);
        self.resampled.clear();
        self.resampler.process(&self.mixed, &mut self.resampled)?;
        #[cfg(feature = "aec")]
        if let Some((feed, clean)) = self.echo.as_mut() {
            clean.clear();
            feed.process(&self.resampled, clean)?;
            self.framer.push(clean, frames);
            return Ok(n / dch);
        }
        self.framer.push(&self.resampled, frames);
        Ok(n / dch)
    }

    /// Runs the echo canceller on the model-rate audio before it is framed (the model must
    /// take mono).
    #[cfg(feature = "aec")]
    pub fn set_echo(&mut self, feed: crate::aec::EchoFeed) {
        let cap = self.resampled.capacity() + 2 * feed_frame_cap(&feed);
        self.echo = Some((feed, Vec::with_capacity(cap)));
    }

    /// The echo canceller's feed, when one is set.
    #[cfg(feature = "aec")]
    pub fn echo(&self) -> Option<&crate::aec::EchoFeed> {
        self.echo.as_ref().map(|(feed, _)| feed)
    }

    /// The counters so far.
    pub fn stats(&self) -> CaptureStats {
        CaptureStats {
            callbacks: self.shared.callbacks.load(Ordering::Relaxed),
            captured_frames: self.shared.captured.load(Ordering::Relaxed),
            overrun_frames: self.shared.overrun.load(Ordering::Relaxed),
            dropped_frames: self.dropped,
        }
    }
}

/// Room for a frame of the feed's output beyond its input.
#[cfg(feature = "aec")]
fn feed_frame_cap(feed: &crate::aec::EchoFeed) -> usize {
    feed.frame_len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(limit: Option<usize>) -> CaptureSetup {
        CaptureSetup {
            device_channels: 2,
            device_rate: 16_000,
            ring_frames: 8,
            limit_frames: limit,
            model_channels: 1,
            model_rate: 16_000,
            frame_frames: 2,
        }
    }

    fn decode(frames: &VecDeque<Vec<u8>>) -> Vec<i16> {
        frames
            .iter()
            .flatten()
            .copied()
            .collect::<Vec<u8>>()
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect()
    }

    #[test]
    fn full_ring_drops_the_newest_and_counts_it() {
        let (mut cb, mut reader) = capture_channel(setup(None)).unwrap_or_else(|e| panic!("{e}"));
        let data: Vec<f32> = (0..12).flat_map(|i| [i as f32 / 64.0; 2]).collect();
        cb.push(&data);
        let mut frames = VecDeque::new();
        while reader.poll(&mut frames).unwrap_or(0) > 0 {}
        let s = reader.stats();
        assert_eq!((s.captured_frames, s.overrun_frames), (8, 4));
        let want: Vec<i16> = (0..8).map(|i| i * 512).collect();
        assert_eq!(decode(&frames), want);
    }

    #[test]
    fn over_the_limit_the_reader_drops_the_oldest() {
        let (mut cb, mut reader) =
            capture_channel(setup(Some(4))).unwrap_or_else(|e| panic!("{e}"));
        let data: Vec<f32> = (0..6).flat_map(|i| [i as f32 / 64.0; 2]).collect();
        cb.push(&data);
        let mut frames = VecDeque::new();
        while reader.poll(&mut frames).unwrap_or(0) > 0 {}
        assert_eq!(reader.stats().dropped_frames, 2);
        assert_eq!(decode(&frames), [1024, 1536, 2048, 2560]);
    }

    #[test]
    fn integer_devices_are_converted_and_down_mixed() {
        let (mut cb, mut reader) = capture_channel(setup(None)).unwrap_or_else(|e| panic!("{e}"));
        cb.push_as(&[16_384i16, 0, -16_384, -16_384]);
        let mut frames = VecDeque::new();
        reader.poll(&mut frames).unwrap_or(0);
        assert_eq!(decode(&frames), [8_192, -16_384]);
        assert_eq!(reader.stats().callbacks, 1);
    }
}
