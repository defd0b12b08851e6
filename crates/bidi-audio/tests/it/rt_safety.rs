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

/// The echo canceller runs on the capture side for every 10 ms, on the capture reader's
/// thread (never in the cpal callback). bidi's part of it (framing, resampling, queues, the
/// high-pass filter) and the noise suppressor allocate nothing after a warm-up second; AEC3
/// as sonora-aec3 0.2 ports it allocates short-lived temporaries in every 4 ms block (~27
/// per 10 ms, all freed within the call), which this pins so a change shows (docs/audio.md,
/// "Echo cancellation").
#[cfg(feature = "aec")]
#[test]
fn echo_canceller_allocations_are_bounded() {
    use bidi_audio::aec::{EchoCanceller, EchoMode};
    for (mode, rate) in [
        (EchoMode::Off, 16_000),
        (EchoMode::Aec, 16_000),
        (EchoMode::AecNs, 16_000),
        (EchoMode::Aec, 24_000),
        (EchoMode::AecNs, 48_000),
        (EchoMode::Aec, 8_000),
    ] {
        let mut aec = EchoCanceller::new(mode, rate).unwrap_or_else(|e| panic!("{e}"));
        let n = aec.frame_len();
        let far: Vec<f32> = (0..n).map(|i| (i as f32 * 0.07).sin() * 0.3).collect();
        let mut near = vec![0.0f32; n];
        let mut step = |aec: &mut EchoCanceller| {
            near.copy_from_slice(&far);
            aec.render(&far).unwrap_or_else(|e| panic!("{e}"));
            aec.capture(&mut near).unwrap_or_else(|e| panic!("{e}"));
        };
        for _ in 0..100 {
            step(&mut aec);
        }
        let frames = 300;
        let region = Region::new(GLOBAL);
        for _ in 0..frames {
            step(&mut aec);
        }
        let change = region.change();
        eprintln!("{mode} at {rate} Hz: {change:?}");
        assert_eq!(aec.underruns(), 0, "{mode} at {rate} Hz");
        assert_eq!(change.reallocations, 0, "{mode} at {rate} Hz: {change:?}");
        let per_frame = change.allocations / frames;
        if mode == EchoMode::Off {
            assert_eq!(
                change.allocations, 0,
                "off touched the allocator: {change:?}"
            );
        } else {
            // Measured: 27.5 per frame at 16 kHz (AEC3), 27.6 at 8/24/48 kHz.
            assert!(
                per_frame <= 30,
                "{mode} at {rate} Hz: {per_frame} allocations per frame"
            );
        }
        assert!(
            change.bytes_allocated <= change.bytes_deallocated,
            "{mode} at {rate} Hz grew: {change:?}"
        );
    }
}

/// The canceller's delay estimator and the far end's alignment allocate nothing either: a
/// far end of noise heard 60 ms late, then (inside the measured region) 200 ms late, so
/// the estimator measures every 20 ms and the alignment follows the jump. The count stays
/// AEC3's (docs/audio.md, "Echo cancellation").
#[cfg(feature = "aec")]
#[test]
fn echo_delay_jump_allocates_nothing_more() {
    use bidi_audio::aec::{EchoCanceller, EchoMode};
    let rate = 16_000;
    let mut aec = EchoCanceller::new(EchoMode::Aec, rate).unwrap_or_else(|e| panic!("{e}"));
    let n = aec.frame_len();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let far: Vec<f32> = (0..rate as usize * 5)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            ((seed >> 40) as f32 / (1u64 << 23) as f32 - 1.0) * 0.3
        })
        .collect();
    let (early, late) = (60 * 16, 200 * 16);
    let mut near = vec![0.0f32; n];
    let mut step = |aec: &mut EchoCanceller, k: usize, delay: usize| {
        for (i, s) in near.iter_mut().enumerate() {
            *s = (k * n + i).checked_sub(delay).map_or(0.0, |j| 0.5 * far[j]);
        }
        aec.render(&far[k * n..(k + 1) * n])
            .unwrap_or_else(|e| panic!("{e}"));
        aec.capture(&mut near).unwrap_or_else(|e| panic!("{e}"));
    };
    // Warm-up: the delay estimator's first estimate (AEC3 finds that delay itself).
    for k in 0..200 {
        step(&mut aec, k, early);
    }
    let before = aec.metrics().aligned_ms;
    let frames = 250;
    let region = Region::new(GLOBAL);
    for k in 200..200 + frames {
        step(&mut aec, k, late);
    }
    let change = region.change();
    let after = aec.metrics().aligned_ms;
    eprintln!("aligned {before} -> {after} ms: {change:?}");
    assert!(
        after - before >= 120,
        "the alignment did not follow the jump: {before} -> {after} ms"
    );
    assert_eq!(change.reallocations, 0, "{change:?}");
    // Measured: 27.5 per frame, as without a jump (AEC3's temporaries).
    assert!(
        change.allocations / frames <= 30,
        "{} allocations per frame",
        change.allocations / frames
    );
    assert!(
        change.bytes_allocated <= change.bytes_deallocated,
        "grew: {change:?}"
    );
}

/// The playback callback with the echo canceller's tap attached still never allocates: the
/// tap is a preallocated lock-free ring.
#[cfg(feature = "aec")]
#[test]
fn playback_with_echo_tap_never_allocates() {
    use std::sync::Arc;

    use bidi_audio::aec::EchoLink;
    let link = Arc::new(EchoLink::default());
    let (mut queue, mut play) = playback_channel(PlaybackSetup {
        channels: 2,
        rate: 48_000,
        ring_frames: 4_800,
        prebuffer_frames: 0,
        limit_frames: None,
        tracker: None,
    });
    let tap = link.tap(48_000);
    assert!(tap.is_some(), "the link's tap is free");
    if let Some(tap) = tap {
        play.set_echo_tap(tap);
    }
    let audio = vec![0.25f32; 2 * 4_000];
    let mut out = vec![0.0f32; 1_024];
    queue.push(&audio);
    queue.pump();
    no_alloc(
        "playback with echo tap (play, flush, silence, full tap ring)",
        || {
            for _ in 0..300 {
                play.fill(&mut out);
            }
        },
    );
    assert!(link.tap(48_000).is_none(), "one tap at a time");
    drop(play);
    assert!(link.tap(48_000).is_some(), "the tap goes back to the link");
}
