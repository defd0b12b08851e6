//! Barge-in on the audio side: the flush. When the user interrupts, the output's device
//! thread drops the audio it still queues and requests a flush ([`FlushLatch::request`], from
//! `PlaybackQueue::flush`); the cpal output callback carries it out at the start of its next
//! period ([`FlushLatch::take`]), discarding the ring, so the speaker falls silent within one
//! device period. Audio queued after the request waits until the flush is carried out, so a
//! flush never discards the next response. [`FlushRecord`] is what the last flush did.
//!
//! Real-time safe: the callback side is atomics only (no lock, no allocation).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The last flush the callback carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlushRecord {
    /// The callback counter read just after the flush was requested.
    pub requested_at_callback: u64,
    /// The number of the callback that discarded the queue. At most
    /// `requested_at_callback + 1`: a flush takes effect within one device period.
    pub done_at_callback: u64,
    /// Frames played before the flush point: everything the device got from us before it.
    pub played_frames_before: u64,
    /// Frames discarded from the ring by the callback.
    pub discarded_frames: u64,
}

/// The flush request between the device thread and the callback, and the record of the
/// flushes carried out.
#[derive(Debug, Default)]
pub(super) struct FlushLatch {
    request: AtomicBool,
    flushes: AtomicU64,
    requested_at: AtomicU64,
    done_at: AtomicU64,
    played_before: AtomicU64,
    discarded: AtomicU64,
}

impl FlushLatch {
    /// Requests a flush; `callbacks` is the callback counter, read after the request so the
    /// callback that carries it out has a number of at most that plus one.
    pub(super) fn request(&self, callbacks: &AtomicU64) {
        self.request.store(true, Ordering::Release);
        let at = callbacks.load(Ordering::Acquire);
        self.requested_at.store(at, Ordering::Relaxed);
    }

    /// Whether a flush is requested and not yet carried out.
    pub(super) fn is_pending(&self) -> bool {
        self.request.load(Ordering::Acquire)
    }

    /// In the callback: whether a flush is to be carried out now (clears the request).
    pub(super) fn take(&self) -> bool {
        self.request.swap(false, Ordering::AcqRel)
    }

    /// In the callback: the flush was carried out by callback `number`, after
    /// `played_before` frames played, discarding `discarded` frames of the ring.
    pub(super) fn carried_out(&self, number: u64, played_before: u64, discarded: u64) {
        self.played_before.store(played_before, Ordering::Relaxed);
        self.discarded.store(discarded, Ordering::Relaxed);
        self.done_at.store(number, Ordering::Relaxed);
        self.flushes.fetch_add(1, Ordering::Release);
    }

    /// Flushes carried out.
    pub(super) fn count(&self) -> u64 {
        self.flushes.load(Ordering::Acquire)
    }

    /// The last flush, once there was one.
    pub(super) fn last(&self) -> Option<FlushRecord> {
        (self.count() > 0).then(|| FlushRecord {
            requested_at_callback: self.requested_at.load(Ordering::Relaxed),
            done_at_callback: self.done_at.load(Ordering::Relaxed),
            played_frames_before: self.played_before.load(Ordering::Relaxed),
            discarded_frames: self.discarded.load(Ordering::Relaxed),
        })
    }
}
