//! The echo canceller inside audio IO, without devices: the real playback and capture
//! callback bodies and the capture reader (`bidi_audio::rt`), joined by an `EchoLink` as
//! `BidiAudioIO` joins them, at a 48 kHz stereo device and a 16 kHz model. What the
//! playback callback plays goes through a synthetic room into the capture callback.

use std::collections::VecDeque;
use std::sync::Arc;

use bidi_audio::aec::{EchoLink, EchoMode};
use bidi_audio::dsp::mix_channels;
use bidi_audio::rt::{CaptureSetup, PlaybackSetup, capture_channel, playback_channel};

use crate::common::from_pcm16;
use crate::common::room::{Noise, convolve, energy, espeak_or_skip, loudspeaker, rir, talker};

const DEVICE: u32 = 48_000;
const MODEL: u32 = 16_000;
const PERIOD: usize = 512;

/// The model's speech as the speaker plays it: `parts` responses (48 kHz mono), each
/// queued when the callback reaches its start period; `flush_at` periods barge in.
struct Script {
    responses: Vec<(usize, Vec<f32>)>,
    flush_at: Vec<usize>,
    periods: usize,
}

/// Runs the playback callback through the script; with `tap`, it feeds the link. Returns
/// what it played (mono) and calls `each` after every period with that period (stereo).
fn play(script: &Script, link: Option<&Arc<EchoLink>>, mut each: impl FnMut(&[f32])) -> Vec<f32> {
    let (mut queue, mut cb) = playback_channel(PlaybackSetup {
        channels: 2,
        rate: DEVICE,
        ring_frames: 12_000,
        prebuffer_frames: 0,
        limit_frames: None,
        tracker: None,
    });
    if let Some(tap) = link.and_then(|l| l.tap(DEVICE)) {
        cb.set_echo_tap(tap);
    }
    let mut played = Vec::new();
    let mut out = vec![0.0f32; PERIOD * 2];
    let mut stereo = Vec::new();
    for k in 0..script.periods {
        for (start, audio) in &script.responses {
            if *start == k {
                stereo.clear();
                mix_channels(audio, 1, 2, &mut stereo);
                queue.push(&stereo);
            }
        }
        if script.flush_at.contains(&k) {
            queue.flush();
        }
        queue.pump();
        cb.fill(&mut out);
        played.extend(out.chunks_exact(2).map(|f| f[0]));
        each(&out);
    }
    played
}

/// The microphone after the room: returns the model-rate frames the capture reader emits,
/// with the canceller in `mode` joined to the speaker.
fn capture(script: &Script, mic: &[f32], mode: EchoMode) -> Vec<f32> {
    let link = Arc::new(EchoLink::default());
    let (mut cb, mut reader) = capture_channel(CaptureSetup {
        device_channels: 2,
        device_rate: DEVICE,
        ring_frames: 96_000,
        limit_frames: None,
        model_channels: 1,
        model_rate: MODEL,
        frame_frames: 320,
    })
    .unwrap_or_else(|e| panic!("{e}"));
    if let Some(feed) = link.feed(mode, MODEL) {
        reader.set_echo(feed);
    }
    let mut frames = VecDeque::new();
    let mut k = 0;
    let mut stereo = Vec::new();
    play(script, Some(&link), |_| {
        let part = &mic[k * PERIOD..(k + 1) * PERIOD];
        stereo.clear();
        mix_channels(part, 1, 2, &mut stereo);
        cb.push(&stereo);
        while reader.poll(&mut frames).unwrap_or_else(|e| panic!("{e}")) > 0 {}
        k += 1;
    });
    assert_eq!(
        reader.echo().is_some_and(|f| f.active()),
        mode != EchoMode::Off
    );
    let bytes: Vec<u8> = frames.into_iter().flatten().collect();
    from_pcm16(&bytes).into_iter().map(|s| s as f32).collect()
}

fn secs(s: f32, rate: u32) -> usize {
    (s * rate as f32) as usize
}

#[test]
fn io_path_cancels_the_speaker_through_a_barge_in() {
    if !espeak_or_skip("echo_rt::io_path_cancels_the_speaker_through_a_barge_in") {
        return;
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let first = talker(
        dir.path(),
        "en-us",
        &[
            "Sure, I can help with that. The weather in Seattle today is cloudy with a chance of rain.",
        ],
        DEVICE,
        4.0,
    );
    let second = talker(
        dir.path(),
        "en-us",
        &[
            "Your next meeting starts at three in the afternoon, and it is about the quarterly budget.",
        ],
        DEVICE,
        4.5,
    );
    let per_sec = DEVICE as f32 / PERIOD as f32;
    let period = |s: f32| (s * per_sec) as usize;
    // The first response is cut at 3 s by a barge-in (its last second is flushed, never
    // played); the second starts at 4.5 s.
    let script = Script {
        responses: vec![(0, first), (period(4.5), second)],
        flush_at: vec![period(3.0)],
        periods: period(9.0),
    };
    let played = play(&script, None, |_| {});
    let mut n = Noise::new(21);
    let echo = convolve(&loudspeaker(&played), &rir(DEVICE, 60, 300, 0.5, 21));
    let mic: Vec<f32> = echo.iter().map(|e| e + 0.001 * n.next()).collect();

    let off = capture(&script, &mic, EchoMode::Off);
    let on = capture(&script, &mic, EchoMode::Aec);
    let erle = |range: std::ops::Range<usize>| {
        10.0 * (energy(&off, range.clone()) / energy(&on, range).max(1e-12)).log10()
    };
    let before = erle(secs(1.5, MODEL)..secs(3.0, MODEL));
    let after = erle(secs(5.5, MODEL)..secs(9.0, MODEL));
    eprintln!(
        "IO path: ERLE {before:.1} dB before the barge-in, {after:.1} dB in the next response"
    );
    assert!(before >= 15.0, "ERLE {before:.1} dB before the barge-in");
    assert!(after >= 20.0, "ERLE {after:.1} dB after the barge-in");
}
