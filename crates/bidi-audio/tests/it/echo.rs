//! The echo canceller's quality on a synthetic room: espeak-ng talkers, noise impulse
//! responses with 200-400 ms tails at 40/120/240 ms, a soft-clipping loudspeaker. These are
//! quality measures (ERLE, near-end level), never timings, asserted with margin below what
//! was measured; `benches/echo.rs` reports the same numbers (docs/audio.md, "Echo
//! cancellation").

use bidi_audio::AudioError;
use bidi_audio::aec::{EchoCanceller, EchoMetrics, EchoMode, cancel, cancel_files};

use crate::common::room::{
    FAR, NEAR, Noise, active_frames, add, convolve, energy, erle_db, espeak_or_skip, hiss,
    loudspeaker, median_frame_gain_db, near_gain_db, rir, talker,
};
use crate::common::write_wav;

const RATE: u32 = 16_000;

fn secs(s: f32, rate: u32) -> usize {
    (s * rate as f32) as usize
}

/// The echo of `far` through the loudspeaker and the room `h`.
fn echo_of(far: &[f32], h: &[f32]) -> Vec<f32> {
    convolve(&loudspeaker(far), h)
}

fn run(far: &[f32], mic: &[f32], rate: u32, mode: EchoMode) -> Vec<f32> {
    cancel(far, mic, rate, mode).unwrap_or_else(|e| panic!("{e}"))
}

/// [`run`] at 16 kHz in [`EchoMode::Aec`] frame by frame, with the canceller's metrics at
/// the end (the output keeps the canceller's latency taken out).
fn run_with_metrics(far: &[f32], mic: &[f32]) -> (Vec<f32>, EchoMetrics) {
    let mut aec = EchoCanceller::new(EchoMode::Aec, RATE).unwrap_or_else(|e| panic!("{e}"));
    let n = aec.frame_len();
    let mut clean = Vec::with_capacity(mic.len() + n);
    let mut frame = vec![0.0f32; n];
    for (f, m) in far.chunks_exact(n).zip(mic.chunks_exact(n)) {
        frame.copy_from_slice(m);
        aec.render(f).unwrap_or_else(|e| panic!("{e}"));
        aec.capture(&mut frame).unwrap_or_else(|e| panic!("{e}"));
        clean.extend_from_slice(&frame);
    }
    clean.drain(..aec.latency());
    (clean, aec.metrics())
}

#[test]
fn erle_on_far_end_speech_at_several_delays() {
    if !espeak_or_skip("echo::erle_on_far_end_speech_at_several_delays") {
        return;
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let far = talker(dir.path(), "en-us", FAR, RATE, 8.0);
    for (delay, tail, seed) in [(0, 250, 4), (40, 200, 1), (120, 300, 2), (240, 400, 3)] {
        let echo = echo_of(&far, &rir(RATE, delay, tail, 0.5, seed));
        let mic = add(&echo, &hiss(echo.len(), seed));
        let after = secs(2.0, RATE)..far.len();
        let off = erle_db(&echo, &run(&far, &mic, RATE, EchoMode::Off), after.clone());
        let (clean, metrics) = run_with_metrics(&far, &mic);
        let erle = erle_db(&echo, &clean, after);
        eprintln!(
            "delay {delay} ms, tail {tail} ms: ERLE {erle:.1} dB (off {off:.1} dB); \
             delay found {} ms ({} ms aligned)",
            metrics.delay_ms, metrics.aligned_ms
        );
        // Measured 33.8 / 33.7 / 30.8 / 27.2 dB; the target is 25 dB.
        assert!(erle >= 20.0, "ERLE {erle:.1} dB at {delay} ms");
        assert!(off.abs() < 0.5, "off leaves the echo: {off:.1} dB");
        let found = f64::from(metrics.delay_ms);
        assert!(
            (found - f64::from(delay)).abs() <= 16.0,
            "delay found {found} ms, the room's is {delay} ms"
        );
    }
}

#[test]
fn reconverges_after_the_echo_path_changes() {
    if !espeak_or_skip("echo::reconverges_after_the_echo_path_changes") {
        return;
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let far = talker(dir.path(), "en-us", FAR, RATE, 12.0);
    let change = secs(6.0, RATE);
    // (delay ms, tail ms, gain, seed) before and after the change at 6 s.
    for (what, before, after) in [
        // The device moved: another room response, 5 ms longer, 3 dB louder.
        ("room change", (40, 250, 0.5, 11), (45, 350, 0.7, 12)),
        // The device's buffering changed too: AEC3 alone took 2.5 s; the canceller's own
        // delay estimator moves the far end within a second (upwards: see below).
        ("delay jump up", (40, 250, 0.5, 11), (180, 350, 0.7, 12)),
        ("delay jump down", (180, 350, 0.7, 12), (40, 250, 0.5, 11)),
    ] {
        let room = |(d, t, g, seed)| echo_of(&far, &rir(RATE, d, t, g, seed));
        let (a, b) = (room(before), room(after));
        let echo: Vec<f32> = a[..change].iter().chain(&b[change..]).copied().collect();
        let mic = add(&echo, &hiss(echo.len(), 5));
        let (clean, metrics) = run_with_metrics(&far, &mic);
        let late = erle_db(&echo, &clean, change + secs(1.5, RATE)..clean.len());
        let after_2s = erle_db(&echo, &clean, change + secs(2.0, RATE)..clean.len());
        eprintln!(
            "{what}: ERLE {late:.1} dB from 1.5 s after the change, {after_2s:.1} dB from 2 s; \
             delay {} ms ({} ms aligned)",
            metrics.delay_ms, metrics.aligned_ms
        );
        // The target is 20 dB within 2 s. Measured from 2 s on: 33.1, 34.4, 33.6 dB (a
        // delay jump up: 13.6 dB with AEC3's estimator alone); from 1.5 s on: 21.5, 34.4
        // and 15.4 dB. The jump down is left to AEC3: the far end cannot be moved earlier
        // than where it was first found (see `aec::core`).
        assert!(
            after_2s >= 20.0,
            "{what}: not re-converged 2 s after the change: {after_2s:.1} dB"
        );
        if what != "delay jump down" {
            assert!(
                late >= 20.0,
                "{what}: not re-converged 1.5 s after the change: {late:.1} dB"
            );
        }
        // The delay found: where the response starts, give or take a few ms.
        let found = f64::from(metrics.delay_ms);
        assert!(
            (found - f64::from(after.0)).abs() <= 16.0,
            "{what}: delay {found} ms, the room's is {} ms",
            after.0
        );
    }
}

#[test]
fn double_talk_keeps_the_near_end_level() {
    if !espeak_or_skip("echo::double_talk_keeps_the_near_end_level") {
        return;
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let far = talker(dir.path(), "en-us", FAR, RATE, 12.0);
    // The user barges in at 5 s, 4 dB below the echo's level at the microphone.
    let mut near = vec![0.0f32; far.len()];
    let talk = talker(dir.path(), "en+f3", NEAR, RATE, 6.0);
    let start = secs(5.0, RATE);
    for (n, t) in near[start..].iter_mut().zip(&talk) {
        *n = 0.6 * t;
    }
    let echo = echo_of(&far, &rir(RATE, 120, 300, 1.0, 7));
    let mic = add(&add(&echo, &near), &hiss(far.len(), 7));
    let (far_on, near_on) = (active_frames(&far, RATE), active_frames(&near, RATE));
    let both: Vec<bool> = far_on.iter().zip(&near_on).map(|(f, n)| *f && *n).collect();
    for mode in [EchoMode::Off, EchoMode::Aec, EchoMode::AecNs] {
        let clean = run(&far, &mic, RATE, mode);
        let gain = near_gain_db(&near, &clean, RATE, &both);
        let median = median_frame_gain_db(&near, &clean, RATE, &both);
        let residual = erle_db(&echo, &clean, secs(2.0, RATE)..start);
        eprintln!(
            "{mode}: near end in double talk {gain:.1} dB (median 10 ms frame {median:.1} dB); \
             ERLE before the barge-in {residual:.1} dB"
        );
        match mode {
            EchoMode::Off => assert!(gain.abs() < 0.1, "off changed the near end"),
            // Measured -2.7 dB (median frame -2.5) for aec and aec+ns (-4.1 for the
            // median frame while the noise suppressor analysed the microphone before the
            // canceller); AEC3's default suppressor: -7.5 (-15.1).
            _ => {
                assert!(gain >= -4.0, "{mode} ducks the near end by {gain:.1} dB");
                assert!(
                    median >= -4.0,
                    "{mode} ducks a median frame by {median:.1} dB"
                );
                assert!(residual >= 20.0, "{mode}: ERLE {residual:.1} dB");
            }
        }
    }
}

#[test]
fn noise_suppression_on_stationary_noise() {
    if !espeak_or_skip("echo::noise_suppression_on_stationary_noise") {
        return;
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let len = secs(8.0, RATE);
    let mut near = vec![0.0f32; len];
    let talk = talker(dir.path(), "en+f3", NEAR, RATE, 3.0);
    near[secs(4.0, RATE)..secs(4.0, RATE) + talk.len()].copy_from_slice(&talk);
    let mut n = Noise::new(3);
    let noise: Vec<f32> = (0..len).map(|_| 0.02 * n.next()).collect(); // -40 dBFS
    let mic = add(&near, &noise);
    let far = vec![0.0f32; len];
    let quiet = secs(2.0, RATE)..secs(4.0, RATE);
    let aec = run(&far, &mic, RATE, EchoMode::Aec);
    let ns = run(&far, &mic, RATE, EchoMode::AecNs);
    let reduction = 10.0 * (energy(&aec, quiet.clone()) / energy(&ns, quiet).max(1e-12)).log10();
    let speech = active_frames(&near, RATE);
    let kept = near_gain_db(&near, &ns, RATE, &speech);
    eprintln!("noise suppression: {reduction:.1} dB less noise, speech {kept:.1} dB");
    // Measured: see the benchmark; WebRTC's moderate level aims at ~12 dB.
    assert!(reduction >= 6.0, "noise reduced by {reduction:.1} dB only");
    assert!(kept >= -3.0, "speech lost {kept:.1} dB");
}

#[test]
fn other_rates_keep_alignment_and_cancel() {
    if !espeak_or_skip("echo::other_rates_keep_alignment_and_cancel") {
        return;
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for rate in [8_000, 24_000, 48_000] {
        let far = talker(dir.path(), "en-us", FAR, rate, 6.0);
        let near = talker(dir.path(), "en+f3", NEAR, rate, 6.0);
        // Near end alone: the output lines up with the input (the latency is taken out).
        let silence = vec![0.0f32; near.len()];
        let alone = run(&silence, &near, rate, EchoMode::AecNs);
        let gain = near_gain_db(&near, &alone, rate, &active_frames(&near, rate));
        let echo = echo_of(&far, &rir(rate, 120, 300, 0.5, 9));
        let erle = erle_db(
            &echo,
            &run(&far, &echo, rate, EchoMode::Aec),
            secs(2.0, rate)..far.len(),
        );
        eprintln!("{rate} Hz: near end alone {gain:.1} dB, ERLE {erle:.1} dB");
        // Below 16 kHz nothing is lost to the band limit; above it, what speech has over
        // 8 kHz is.
        assert!(
            gain >= -3.0,
            "{rate} Hz: near end alone {gain:.1} dB (misaligned?)"
        );
        assert!(erle >= 20.0, "{rate} Hz: ERLE {erle:.1} dB");
    }
}

#[test]
fn latency_holds_when_the_far_end_starts_late() {
    if !espeak_or_skip("echo::latency_holds_when_the_far_end_starts_late") {
        return;
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let near = talker(dir.path(), "en+f3", NEAR, RATE, 4.0);
    let mut aec = EchoCanceller::new(EchoMode::Aec, RATE).unwrap_or_else(|e| panic!("{e}"));
    let n = aec.frame_len();
    let silence = vec![0.0f32; n];
    let mut out = Vec::new();
    for (k, chunk) in near.chunks_exact(n).enumerate() {
        // The speaker starts after 2 s (the microphone opened first).
        if k >= 200 {
            aec.render(&silence).unwrap_or_else(|e| panic!("{e}"));
        }
        let mut frame = chunk.to_vec();
        aec.capture(&mut frame).unwrap_or_else(|e| panic!("{e}"));
        out.extend(frame);
    }
    let late = aec.latency();
    let aligned: Vec<f32> = out[late..].to_vec();
    for (half, range) in [
        ("before", 0..secs(2.0, RATE)),
        ("after", secs(2.0, RATE)..secs(3.9, RATE)),
    ] {
        let mask: Vec<bool> = active_frames(&near, RATE)
            .iter()
            .enumerate()
            .map(|(i, on)| *on && range.contains(&(i * n)))
            .collect();
        let gain = near_gain_db(&near, &aligned, RATE, &mask);
        assert!(
            gain > -1.5,
            "{half} the far end starts: {gain:.1} dB at the stated latency"
        );
    }
}

#[test]
fn frames_must_be_10_ms_and_modes_parse() {
    let mut aec = EchoCanceller::new(EchoMode::Aec, 24_000).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(aec.frame_len(), 240);
    let err = aec.render(&[0.0; 160]);
    assert!(
        matches!(
            err,
            Err(AudioError::EchoFrame {
                expected: 240,
                got: 160
            })
        ),
        "{err:?}"
    );
    let err = aec.capture(&mut [0.0; 241]);
    assert!(matches!(err, Err(AudioError::EchoFrame { .. })), "{err:?}");
    assert!(matches!(
        EchoCanceller::new(EchoMode::Aec, 44_100),
        Err(AudioError::InvalidOption {
            option: "echo_rate",
            ..
        })
    ));
    for (s, m) in [
        ("off", EchoMode::Off),
        ("aec", EchoMode::Aec),
        ("AEC+NS", EchoMode::AecNs),
    ] {
        assert_eq!(s.parse::<EchoMode>().ok(), Some(m));
    }
    assert!("ns".parse::<EchoMode>().is_err());
    assert_eq!(EchoMode::default(), EchoMode::AecNs);
    for rate in [8_000, 16_000, 24_000, 48_000] {
        for mode in [EchoMode::Aec, EchoMode::AecNs] {
            let aec = EchoCanceller::new(mode, rate).unwrap_or_else(|e| panic!("{e}"));
            let ms = aec.latency() as f64 * 1000.0 / f64::from(rate);
            eprintln!("{mode} at {rate} Hz: latency {ms:.1} ms");
            // Measured: 8 / 14 ms at 16 kHz, 60 / 66 ms at 24 and 48 kHz, 78 / 84 ms at 8 kHz.
            assert!(ms < 90.0, "{mode} at {rate} Hz: latency {ms:.1} ms");
        }
    }
}

#[test]
fn files_in_and_out_with_typed_errors() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let p = |n: &str| dir.path().join(n);
    let mut noise = Noise::new(4);
    let far: Vec<f64> = (0..16_000)
        .map(|_| f64::from(noise.next()) * 0.25)
        .collect();
    let near: Vec<f64> = far[..12_345].iter().map(|s| s / 2.0).collect();
    write_wav(&p("far.wav"), 16_000, 1, &far);
    write_wav(&p("near.wav"), 16_000, 1, &near);
    write_wav(&p("far24.wav"), 24_000, 1, &far);
    write_wav(&p("stereo.wav"), 16_000, 2, &far);
    std::fs::write(p("junk.wav"), b"RIFF not really").unwrap_or_else(|e| panic!("{e}"));

    let report = cancel_files(
        &p("far.wav"),
        &p("near.wav"),
        &p("clean.wav"),
        EchoMode::AecNs,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((report.rate, report.samples), (16_000, 12_345));
    let out = hound::WavReader::open(p("clean.wav")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (out.spec().sample_rate, out.spec().channels, out.len()),
        (16_000, 1, 12_345)
    );

    let err =
        |far: &str, near: &str| match cancel_files(&p(far), &p(near), &p("x.wav"), EchoMode::Aec) {
            Ok(r) => panic!("{far} + {near} accepted: {r:?}"),
            Err(e) => e,
        };
    let e = err("far24.wav", "near.wav");
    assert!(
        matches!(&e, AudioError::EchoWav { reason, .. } if reason.contains("differs")),
        "{e}"
    );
    let e = err("stereo.wav", "near.wav");
    assert!(
        matches!(&e, AudioError::EchoWav { reason, .. } if reason.contains("mono")),
        "{e}"
    );
    assert!(matches!(
        err("junk.wav", "near.wav"),
        AudioError::Wav { .. }
    ));
    assert!(matches!(
        err("far.wav", "missing.wav"),
        AudioError::Wav { .. }
    ));
}
