//! The cpal callback bodies never allocate: they run here, on preallocated state, under a
//! counting global allocator, through every path (play, convert, underrun, prebuffer wait,
//! flush, overflow; capture, convert, full ring).
//!
//! This binary holds a single test so that no other test thread allocates while a region is
//! measured. Locks and system calls are excluded by construction: the callback state is a
//! `ringbuf` SPSC ring (atomics only), atomics and a scratch slice; see docs/audio.md.

use std::alloc::System;

use bidi_audio::rt::{CaptureSetup, PlaybackSetup, capture_channel, playback_channel};
use bidi_types::PlaybackTracker;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Runs `f` and asserts it neither allocated, reallocated nor freed.
fn no_alloc(what: &str, f: impl FnOnce()) {
    let region = Region::new(GLOBAL);
    f();
    let change = region.change();
    assert_eq!(
        (
            change.allocations,
            change.reallocations,
            change.deallocations
        ),
        (0, 0, 0),
        "{what} touched the allocator: {change:?}"
    );
}

#[test]
fn callbacks_never_allocate() {
    let tracker = PlaybackTracker::new();
    tracker.attach();
    let (mut queue, mut play) = playback_channel(PlaybackSetup {
        channels: 2,
        rate: 48_000,
        ring_frames: 4_800,
        prebuffer_frames: 960,
        limit_frames: Some(9_600),
        tracker: Some(tracker.clone()),
    });
    let mut out_f32 = vec![0.0f32; 1_024];
    let mut out_i16 = vec![0i16; 10_000]; // larger than the scratch: converted in steps
    let audio = vec![0.25f32; 2 * 20_000];

    // Prebuffer wait, then playing, in both sample types.
    queue.push(&audio[..2 * 100]);
    no_alloc("prebuffer wait", || play.fill(&mut out_f32));
    queue.push(&audio);
    no_alloc("play f32", || {
        for _ in 0..4 {
            play.fill(&mut out_f32);
        }
    });
    queue.pump();
    no_alloc("play i16", || play.fill_as(&mut out_i16));
    // Flush requested by the queue side, carried out in the callback.
    queue.flush();
    no_alloc("flush", || play.fill(&mut out_f32));
    // Underrun: silence.
    no_alloc("underrun", || play.fill(&mut out_f32));
    assert!(out_f32.iter().all(|s| *s == 0.0));
    let stats = queue.stats();
    assert!(stats.played_frames > 0 && stats.flushes == 1 && stats.underruns > 0);
    assert!(
        stats.dropped_frames > 0,
        "the push over the limit dropped the oldest"
    );

    let (mut capture, reader) = capture_channel(CaptureSetup {
        device_channels: 2,
        device_rate: 48_000,
        ring_frames: 2_048,
        limit_frames: None,
        model_channels: 1,
        model_rate: 16_000,
        frame_frames: 320,
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let input_f32 = vec![0.1f32; 1_024];
    let input_i16 = vec![1_000i16; 9_000];
    no_alloc("capture f32", || capture.push(&input_f32));
    no_alloc("capture i16 and full ring", || {
        capture.push_as(&input_i16);
        capture.push(&input_f32);
    });
    let stats = reader.stats();
    assert_eq!(stats.captured_frames, 2_048);
    assert!(stats.overrun_frames > 0);
}
