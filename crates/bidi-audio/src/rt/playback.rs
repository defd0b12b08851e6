//! Playback: [`PlaybackQueue`] feeds the ring, [`PlaybackCallback`] drains it in the cpal
//! output callback.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bidi_types::PlaybackTracker;
use cpal::{FromSample, Sample};
use ringbuf::traits::{Consumer, Observer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};

use super::SCRATCH_SAMPLES;
use super::flush::{FlushLatch, FlushRecord};

/// How a playback pair is sized. All sizes are in frames at the device rate.
#[derive(Debug, Clone)]
pub struct PlaybackSetup {
    /// Device channels (interleaved).
    pub channels: usize,
    /// Device rate in Hz (for the playback tracker).
    pub rate: u32,
    /// Capacity of the lock-free ring between the device thread and the callback.
    pub ring_frames: usize,
    /// Audio that must be queued before playback starts (or waited for, at most this long in
    /// device time) after the queue ran dry.
    pub prebuffer_frames: usize,
    /// Most audio queued in all (ring and the device thread's queue); past it the oldest is
    /// dropped. `None`: unbounded, as in the reference.
    pub limit_frames: Option<usize>,
    /// Where to report audio played or discarded.
    pub tracker: Option<PlaybackTracker>,
}

/// Counters of a playback stream, read outside the callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PlaybackStats {
    /// Frames handed to the queue.
    pub received_frames: u64,
    /// Callbacks run.
    pub callbacks: u64,
    /// Frames of model audio handed to the device.
    pub played_frames: u64,
    /// Frames discarded by flushes (ring and queue).
    pub flushed_frames: u64,
    /// Frames dropped, oldest first, because the queue was over its limit.
    pub dropped_frames: u64,
    /// Times the queue ran dry while playing (the end of every response counts).
    pub underruns: u64,
    /// Flushes carried out by the callback.
    pub flushes: u64,
    /// The last flush, once there was one.
    pub last_flush: Option<FlushRecord>,
}

#[derive(Debug, Default)]
struct Shared {
    flush: FlushLatch,
    received: AtomicU64,
    callbacks: AtomicU64,
    played: AtomicU64,
    flushed: AtomicU64,
    dropped: AtomicU64,
    underruns: AtomicU64,
}

impl Shared {
    fn stats(&self) -> PlaybackStats {
        PlaybackStats {
            received_frames: self.received.load(Ordering::Relaxed),
            callbacks: self.callbacks.load(Ordering::Relaxed),
            played_frames: self.played.load(Ordering::Relaxed),
            flushed_frames: self.flushed.load(Ordering::Relaxed),
            dropped_frames: self.dropped.load(Ordering::Relaxed),
            underruns: self.underruns.load(Ordering::Relaxed),
            flushes: self.flush.count(),
            last_flush: self.flush.last(),
        }
    }
}

/// Makes a playback pair: the queue for the device thread, the callback for cpal.
///
/// ```
/// use bidi_audio::rt::{playback_channel, PlaybackSetup};
///
/// let (mut queue, mut callback) = playback_channel(PlaybackSetup {
///     channels: 1, rate: 48_000, ring_frames: 4_800, prebuffer_frames: 0,
///     limit_frames: None, tracker: None,
/// });
/// queue.push(&[0.5, 0.25]);
/// let mut out = [1.0f32; 4];
/// callback.fill(&mut out);
/// assert_eq!(out, [0.5, 0.25, 0.0, 0.0]); // silence on underrun
/// ```
pub fn playback_channel(setup: PlaybackSetup) -> (PlaybackQueue, PlaybackCallback) {
    let ch = setup.channels.max(1);
    let (prod, cons) = HeapRb::<f32>::new(setup.ring_frames.max(1) * ch).split();
    let shared = Arc::new(Shared::default());
    let queue = PlaybackQueue {
        prod,
        pending: VecDeque::new(),
        channels: ch,
        rate: setup.rate,
        limit: setup.limit_frames.map(|f| f * ch),
        shared: Arc::clone(&shared),
        tracker: setup.tracker.clone(),
    };
    let callback = PlaybackCallback {
        cons,
        channels: ch,
        rate: setup.rate,
        prebuffer: setup.prebuffer_frames * ch,
        waited: 0,
        playing: false,
        shared,
        tracker: setup.tracker,
        scratch: vec![0.0; SCRATCH_SAMPLES / ch * ch].into_boxed_slice(),
        #[cfg(feature = "aec")]
        echo: None,
    };
    (queue, callback)
}

/// The feeding half of playback, owned by the device thread (not real-time: it may
/// allocate). It holds the audio that does not fit the ring yet and tops the ring up.
pub struct PlaybackQueue {
    prod: HeapProd<f32>,
    pending: VecDeque<f32>,
    channels: usize,
    rate: u32,
    limit: Option<usize>,
    shared: Arc<Shared>,
    tracker: Option<PlaybackTracker>,
}

impl std::fmt::Debug for PlaybackQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlaybackQueue")
            .field("channels", &self.channels)
            .field("queued_frames", &self.queued_frames())
            .finish_non_exhaustive()
    }
}

impl PlaybackQueue {
    /// Queues interleaved device-rate samples (a trailing partial frame is ignored). Past
    /// the limit, the oldest queued audio is dropped and counted.
    pub fn push(&mut self, samples: &[f32]) {
        let ch = self.channels;
        let whole = samples.len() / ch * ch;
        self.pending.extend(&samples[..whole]);
        self.shared
            .received
            .fetch_add((whole / ch) as u64, Ordering::Relaxed);
        if let Some(limit) = self.limit {
            let queued = self.pending.len() + self.prod.occupied_len();
            if queued > limit {
                let excess = (queued - limit).div_ceil(ch) * ch;
                let excess = excess.min(self.pending.len());
                self.pending.drain(..excess);
                self.discard(excess / ch, &self.shared.dropped);
            }
        }
        self.pump();
    }

    /// Moves queued audio into the ring as far as it has room; returns the samples moved.
    /// Nothing moves while a flush is pending, so audio queued after a flush is never
    /// discarded by it.
    pub fn pump(&mut self) -> usize {
        if self.shared.flush.is_pending() {
            return 0;
        }
        let ch = self.channels;
        let n = (self.prod.vacant_len() / ch * ch).min(self.pending.len());
        if n == 0 {
            return 0;
        }
        let (a, b) = self.pending.as_slices();
        let from_a = n.min(a.len());
        let mut moved = self.prod.push_slice(&a[..from_a]);
        if from_a < n {
            moved += self.prod.push_slice(&b[..n - from_a]);
        }
        self.pending.drain(..moved);
        moved
    }

    /// Barge-in: discards the queued audio and asks the callback to discard the ring at its
    /// next period.
    pub fn flush(&mut self) {
        let n = self.pending.len();
        self.pending.clear();
        self.discard(n / self.channels, &self.shared.flushed);
        self.shared.flush.request(&self.shared.callbacks);
    }

    /// Whether a flush is requested and not yet carried out.
    pub fn is_flushing(&self) -> bool {
        self.shared.flush.is_pending()
    }

    /// Frames queued here and in the ring.
    pub fn queued_frames(&self) -> usize {
        (self.pending.len() + self.prod.occupied_len()) / self.channels
    }

    /// The counters so far.
    pub fn stats(&self) -> PlaybackStats {
        self.shared.stats()
    }

    /// A handle that reads the counters from anywhere.
    pub fn stats_handle(&self) -> PlaybackStatsHandle {
        PlaybackStatsHandle(Arc::clone(&self.shared))
    }

    fn discard(&self, frames: usize, counter: &AtomicU64) {
        if frames == 0 {
            return;
        }
        counter.fetch_add(frames as u64, Ordering::Relaxed);
        if let Some(t) = &self.tracker {
            t.add_consumed(frames as u64, self.rate);
        }
    }
}

/// Reads a playback stream's counters from any thread.
#[derive(Debug, Clone)]
pub struct PlaybackStatsHandle(Arc<Shared>);

impl PlaybackStatsHandle {
    /// The counters so far.
    pub fn get(&self) -> PlaybackStats {
        self.0.stats()
    }
}

/// The cpal output callback's state. [`fill`](Self::fill) is the whole callback body:
/// no lock, no allocation, no logging, no system call.
pub struct PlaybackCallback {
    cons: HeapCons<f32>,
    channels: usize,
    rate: u32,
    prebuffer: usize,
    waited: usize,
    playing: bool,
    shared: Arc<Shared>,
    tracker: Option<PlaybackTracker>,
    scratch: Box<[f32]>,
    #[cfg(feature = "aec")]
    echo: Option<crate::aec::EchoTap>,
}

impl std::fmt::Debug for PlaybackCallback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlaybackCallback")
            .field("channels", &self.channels)
            .field("playing", &self.playing)
            .finish_non_exhaustive()
    }
}

impl PlaybackCallback {
    /// Writes everything this callback plays (model audio, silence, nothing after a flush)
    /// to the echo canceller's far-end reference.
    #[cfg(feature = "aec")]
    pub fn set_echo_tap(&mut self, tap: crate::aec::EchoTap) {
        self.echo = Some(tap);
    }

    /// Fills one device period of `f32` samples.
    pub fn fill(&mut self, out: &mut [f32]) {
        self.begin();
        self.render(out);
    }

    /// Fills one device period of any cpal sample type, converting from `f32` through a
    /// preallocated scratch buffer.
    pub fn fill_as<T: Sample + FromSample<f32>>(&mut self, out: &mut [T]) {
        self.begin();
        let step = self.scratch.len();
        for chunk in out.chunks_mut(step) {
            let mut scratch = std::mem::take(&mut self.scratch);
            let buf = &mut scratch[..chunk.len()];
            self.render(buf);
            for (o, s) in chunk.iter_mut().zip(buf.iter()) {
                *o = T::from_sample(*s);
            }
            self.scratch = scratch;
        }
    }

    /// Counts the callback and carries out a pending flush.
    fn begin(&mut self) {
        let number = self.shared.callbacks.fetch_add(1, Ordering::AcqRel) + 1;
        if self.shared.flush.take() {
            let n = self.cons.occupied_len();
            let skipped = self.cons.skip(n);
            let frames = (skipped / self.channels) as u64;
            let s = &self.shared;
            s.flushed.fetch_add(frames, Ordering::Relaxed);
            s.flush
                .carried_out(number, s.played.load(Ordering::Relaxed), frames);
            self.consumed(frames);
            self.playing = false;
            self.waited = 0;
        }
    }

    /// Plays into `out` and hands exactly that to the echo reference.
    fn render(&mut self, out: &mut [f32]) {
        self.play(out);
        #[cfg(feature = "aec")]
        if let Some(tap) = self.echo.as_mut() {
            tap.push(out, self.channels);
        }
    }

    /// Plays what the ring holds into `out`, silence for the rest.
    fn play(&mut self, out: &mut [f32]) {
        let available = self.cons.occupied_len();
        if !self.playing {
            if available == 0 {
                self.waited = 0;
                out.fill(0.0);
                return;
            }
            if available < self.prebuffer && self.waited < self.prebuffer {
                self.waited += out.len();
                out.fill(0.0);
                return;
            }
            self.playing = true;
            self.waited = 0;
        }
        let n = self.cons.pop_slice(out);
        out[n..].fill(0.0);
        if n < out.len() {
            self.shared.underruns.fetch_add(1, Ordering::Relaxed);
            self.playing = false;
        }
        let frames = (n / self.channels) as u64;
        self.shared.played.fetch_add(frames, Ordering::Relaxed);
        self.consumed(frames);
    }

    fn consumed(&self, frames: u64) {
        if frames > 0
            && let Some(t) = &self.tracker
        {
            t.add_consumed(frames, self.rate);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn pair(limit: Option<usize>, prebuffer: usize) -> (PlaybackQueue, PlaybackCallback) {
        playback_channel(PlaybackSetup {
            channels: 2,
            rate: 1_000,
            ring_frames: 8,
            prebuffer_frames: prebuffer,
            limit_frames: limit,
            tracker: None,
        })
    }

    fn ramp(frames: usize, start: usize) -> Vec<f32> {
        (start..start + frames)
            .flat_map(|i| {
                let v = i as f32;
                [v, -v]
            })
            .collect()
    }

    #[test]
    fn plays_in_order_and_pads_silence_on_underrun() {
        let (mut q, mut cb) = pair(None, 0);
        q.push(&ramp(3, 1));
        assert_eq!(q.stats().received_frames, 3);
        let mut out = [9.0f32; 8];
        cb.fill(&mut out);
        assert_eq!(out, [1.0, -1.0, 2.0, -2.0, 3.0, -3.0, 0.0, 0.0]);
        let s = q.stats();
        assert_eq!((s.played_frames, s.underruns, s.callbacks), (3, 1, 1));
    }

    #[test]
    fn ring_is_topped_up_from_the_queue() {
        let (mut q, mut cb) = pair(None, 0);
        q.push(&ramp(20, 0)); // ring holds 8 frames, 12 wait
        assert_eq!(q.queued_frames(), 20);
        let mut got = Vec::new();
        for _ in 0..5 {
            let mut out = [0.0f32; 8];
            cb.fill(&mut out);
            got.extend_from_slice(&out);
            q.pump();
        }
        assert_eq!(got, ramp(20, 0));
    }

    #[test]
    fn overflow_drops_the_oldest_and_counts_it() {
        let tracker = PlaybackTracker::new();
        let (mut q, mut cb) = playback_channel(PlaybackSetup {
            channels: 2,
            rate: 1_000,
            ring_frames: 4,
            prebuffer_frames: 0,
            limit_frames: Some(6),
            tracker: Some(tracker.clone()),
        });
        q.push(&ramp(4, 0)); // all in the ring
        q.push(&ramp(4, 4)); // 8 queued > 6: frames 4 and 5 (oldest not yet in the ring) go
        assert_eq!(q.stats().dropped_frames, 2);
        assert_eq!(q.queued_frames(), 6);
        let mut got = Vec::new();
        for _ in 0..3 {
            let mut out = [0.0f32; 4];
            cb.fill(&mut out);
            got.extend_from_slice(&out);
            q.pump();
        }
        let want: Vec<f32> = [ramp(4, 0), ramp(2, 6)].concat();
        assert_eq!(got, want);
        // 2 dropped + 6 played, at 1 kHz.
        assert_eq!(tracker.consumed(), Duration::from_millis(8));
    }

    #[test]
    fn flush_discards_everything_queued_within_one_callback() {
        let tracker = PlaybackTracker::new();
        let (mut q, mut cb) = playback_channel(PlaybackSetup {
            channels: 2,
            rate: 1_000,
            ring_frames: 8,
            prebuffer_frames: 0,
            limit_frames: None,
            tracker: Some(tracker.clone()),
        });
        q.push(&ramp(20, 1));
        let mut out = [0.0f32; 4];
        cb.fill(&mut out); // plays frames 1, 2
        q.flush();
        assert!(q.is_flushing());
        // Audio after the flush point waits until the callback carried the flush out.
        q.push(&ramp(2, 100));
        assert_eq!(q.pump(), 0);
        cb.fill(&mut out);
        assert_eq!(out, [0.0; 4], "no stale audio after the flush");
        assert!(!q.is_flushing());
        let s = q.stats();
        let f = s.last_flush.unwrap_or_default();
        assert!(f.done_at_callback <= f.requested_at_callback + 1);
        assert_eq!(f.played_frames_before, 2);
        assert_eq!(s.flushed_frames, 18);
        q.pump();
        cb.fill(&mut out);
        assert_eq!(out, [100.0, -100.0, 101.0, -101.0]);
        assert_eq!(tracker.consumed(), Duration::from_millis(22));
    }

    #[test]
    fn prebuffer_waits_for_audio_but_not_forever() {
        let (mut q, mut cb) = pair(None, 4);
        q.push(&ramp(2, 1));
        let mut out = [0.0f32; 2];
        cb.fill(&mut out);
        assert_eq!(out, [0.0, 0.0], "2 of 4 prebuffer frames: wait");
        q.push(&ramp(2, 3));
        cb.fill(&mut out);
        assert_eq!(out, [1.0, -1.0], "4 queued: play");

        let (mut q, mut cb) = pair(None, 4);
        q.push(&ramp(1, 7));
        let mut waited = 0;
        loop {
            cb.fill(&mut out);
            if out[0] != 0.0 {
                break;
            }
            waited += 1;
            assert!(waited < 10, "the prebuffer wait is bounded");
        }
        assert_eq!(out[0], 7.0);
        assert_eq!(waited, 4, "waited one prebuffer of device time");
    }

    #[test]
    fn other_sample_types_are_converted() {
        let (mut q, mut cb) = pair(None, 0);
        q.push(&[0.5, -0.5]);
        let mut out = [7i16; 4];
        cb.fill_as(&mut out);
        assert_eq!(out, [16_384, -16_384, 0, 0]);
        assert_eq!(q.stats().callbacks, 1);
    }
}
