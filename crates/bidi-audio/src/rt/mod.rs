//! The real-time half of audio IO: the bodies of the cpal callbacks and the lock-free
//! hand-off to the rest of the program.
//!
//! Each direction is a pair made once, before the stream starts:
//! - playback: [`PlaybackQueue`] (device thread: takes resampled model audio, drops the
//!   oldest on overflow, requests flushes) and [`PlaybackCallback`] (the cpal output
//!   callback: plays, pads silence, honours flushes);
//! - capture: [`CaptureCallback`] (the cpal input callback) and [`CaptureReader`] (tokio
//!   side: down-mixes, resamples and frames);
//! - barge-in: the flush, requested by the queue and carried out by the callback within one
//!   period (module `flush`, [`FlushRecord`]);
//! - echo cancellation (feature `aec`): `PlaybackCallback::set_echo_tap` copies what the
//!   callback plays into the far-end ring, `CaptureReader::set_echo` runs the canceller on
//!   the model-rate audio (see `crate::aec`).
//!
//! The callback halves are plain structs over preallocated state: a `ringbuf` SPSC ring,
//! a scratch buffer and atomics. Their methods take no lock, allocate nothing, log nothing
//! and make no system call; `tests/it/rt_safety.rs` drives them under a counting allocator to
//! hold that line. Counters are atomics, read and logged outside the callback.

mod capture;
mod flush;
mod playback;

pub use capture::{CaptureCallback, CaptureReader, CaptureSetup, CaptureStats, capture_channel};
pub use flush::FlushRecord;
pub use playback::{
    PlaybackCallback, PlaybackQueue, PlaybackSetup, PlaybackStats, PlaybackStatsHandle,
    playback_channel,
};

/// Samples converted per step when a device's sample type is not `f32`.
const SCRATCH_SAMPLES: usize = 4096;
