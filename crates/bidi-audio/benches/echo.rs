//! The echo canceller's quality and cost on a synthetic room (espeak-ng talkers, noise
//! impulse responses, a soft-clipping loudspeaker): ERLE at 0/40/120/240 ms, re-convergence
//! after the echo path changes (a room change, delay jumps), the near-end level during
//! double talk, noise reduction on stationary noise, and CPU as a share of one core at
//! 16 kHz.
//!
//! `cargo bench -p bidi-audio --bench echo`. Results: docs/audio.md, "Echo cancellation".
//! `ECHO_TRACE=1` also prints ERLE every 250 ms after each change and the canceller's delay
//! estimate (total and aligned, ms) every 250 ms from 5 s; `ECHO_PATHS_ONLY=1` runs only the
//! path changes, `ECHO_CASE=TEXT` only those whose name contains TEXT.

use std::time::Instant;

use bidi_audio::aec::{EchoCanceller, EchoMode, cancel};

#[path = "../tests/it/common/room.rs"]
mod room;

use room::{
    FAR, NEAR, Noise, active_frames, add, convolve, energy, erle_db, espeak_or_skip, hiss,
    loudspeaker, median_frame_gain_db, near_gain_db, rir, talker,
};

const RATE: u32 = 16_000;

fn secs(s: f32) -> usize {
    (s * RATE as f32) as usize
}

fn run(far: &[f32], mic: &[f32], mode: EchoMode) -> Vec<f32> {
    cancel(far, mic, RATE, mode).unwrap_or_else(|e| panic!("{e}"))
}

/// [`run`], with the canceller's delay estimate (total and aligned, ms) every 250 ms.
fn run_traced(far: &[f32], mic: &[f32], mode: EchoMode) -> (Vec<f32>, Vec<String>) {
    let mut aec = EchoCanceller::new(mode, RATE).unwrap_or_else(|e| panic!("{e}"));
    let n = aec.frame_len();
    let latency = aec.latency();
    let (mut out, mut trace) = (Vec::with_capacity(mic.len() + n), Vec::new());
    let mut frame = vec![0.0f32; n];
    for (k, (f, m)) in far.chunks_exact(n).zip(mic.chunks_exact(n)).enumerate() {
        frame.copy_from_slice(m);
        aec.render(f).unwrap_or_else(|e| panic!("{e}"));
        aec.capture(&mut frame).unwrap_or_else(|e| panic!("{e}"));
        out.extend_from_slice(&frame);
        if k % 25 == 24 {
            let m = aec.metrics();
            trace.push(format!("{}({})", m.delay_ms, m.aligned_ms));
        }
    }
    out.drain(..latency);
    out.resize(mic.len(), 0.0);
    (out, trace)
}

fn main() {
    if !espeak_or_skip("bench echo") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path();
    let far = talker(dir, "en-us", FAR, RATE, 12.0);

    let only_paths = std::env::var_os("ECHO_PATHS_ONLY").is_some();
    println!("ERLE on far-end-only speech, from 2 s on (dB):");
    println!("| delay | tail | aec | aec+ns |");
    for (delay, tail, seed) in [(0, 250, 4), (40, 200, 1), (120, 300, 2), (240, 400, 3)] {
        if only_paths {
            break;
        }
        let echo = convolve(&loudspeaker(&far), &rir(RATE, delay, tail, 0.5, seed));
        let mic = add(&echo, &hiss(echo.len(), seed));
        let erle = |m| erle_db(&echo, &run(&far, &mic, m), secs(2.0)..far.len());
        println!(
            "| {delay} ms | {tail} ms | {:.1} | {:.1} |",
            erle(EchoMode::Aec),
            erle(EchoMode::AecNs)
        );
    }

    println!("\nRe-convergence after the echo path changes at 6 s (aec):");
    for (what, before, after) in [
        (
            "room change, 40 -> 45 ms",
            (40, 250, 0.5, 11),
            (45, 350, 0.7, 12),
        ),
        (
            "delay jump, 40 -> 180 ms",
            (40, 250, 0.5, 11),
            (180, 350, 0.7, 12),
        ),
        (
            "delay jump, same room, 40 -> 180 ms",
            (40, 250, 0.5, 11),
            (180, 250, 0.5, 11),
        ),
        (
            "delay jump, 180 -> 40 ms",
            (180, 350, 0.7, 12),
            (40, 250, 0.5, 11),
        ),
        (
            "delay jump, 120 -> 0 ms",
            (120, 300, 0.5, 2),
            (0, 250, 0.5, 4),
        ),
    ] {
        if std::env::var("ECHO_CASE").is_ok_and(|c| !what.contains(&c)) {
            continue;
        }
        let change = secs(6.0);
        let room = |(d, t, g, seed)| convolve(&loudspeaker(&far), &rir(RATE, d, t, g, seed));
        let (a, b) = (room(before), room(after));
        let echo: Vec<f32> = a[..change].iter().chain(&b[change..]).copied().collect();
        let (clean, delays) = run_traced(&far, &add(&echo, &hiss(echo.len(), 5)), EchoMode::Aec);
        // The first time t after the change from which every following 1 s window has
        // ERLE >= 20 dB.
        let ok_from = |t: f32| {
            (0..)
                .map(|k| t + 0.25 * k as f32)
                .take_while(|s| change + secs(s + 1.0) <= far.len())
                .all(|s| erle_db(&echo, &clean, change + secs(s)..change + secs(s + 1.0)) >= 20.0)
        };
        let t = (0..20).map(|k| 0.25 * k as f32).find(|&t| ok_from(t));
        let after = erle_db(&echo, &clean, change + secs(2.0)..far.len());
        match t {
            Some(t) => {
                println!("- {what}: ERLE >= 20 dB from {t:.2} s after; {after:.1} dB from 2 s on")
            }
            None => println!("- {what}: not re-converged to 20 dB; {after:.1} dB from 2 s on"),
        }
        if std::env::var_os("ECHO_TRACE").is_some() {
            let windows: Vec<String> = (0..20)
                .map(|k| {
                    let s = change + secs(0.25 * k as f32);
                    format!("{:.0}", erle_db(&echo, &clean, s..s + secs(0.25)))
                })
                .collect();
            println!("  ERLE per 250 ms after: {}", windows.join(" "));
            println!(
                "  delay (aligned) every 250 ms from 5 s: {}",
                delays[20..].join(" ")
            );
        }
    }

    if only_paths {
        return;
    }
    println!("\nDouble talk (user barges in at 5 s, 4 dB below the echo), near end vs alone:");
    let mut near = vec![0.0f32; far.len()];
    let talk = talker(dir, "en+f3", NEAR, RATE, 6.0);
    for (n, t) in near[secs(5.0)..].iter_mut().zip(&talk) {
        *n = 0.6 * t;
    }
    let echo = convolve(&loudspeaker(&far), &rir(RATE, 120, 300, 1.0, 7));
    let mic = add(&add(&echo, &near), &hiss(far.len(), 7));
    let (far_on, near_on) = (active_frames(&far, RATE), active_frames(&near, RATE));
    let both: Vec<bool> = far_on.iter().zip(&near_on).map(|(f, n)| *f && *n).collect();
    for mode in [EchoMode::Aec, EchoMode::AecNs] {
        let clean = run(&far, &mic, mode);
        println!(
            "- {mode}: {:.1} dB (least-squares gain), median 10 ms frame {:.1} dB",
            near_gain_db(&near, &clean, RATE, &both),
            median_frame_gain_db(&near, &clean, RATE, &both)
        );
    }

    println!("\nStationary noise (white, -40 dBFS), aec+ns vs aec:");
    let mut n = Noise::new(3);
    let noise: Vec<f32> = (0..far.len()).map(|_| 0.02 * n.next()).collect();
    let mut speech = vec![0.0f32; far.len()];
    for (s, t) in speech[secs(4.0)..].iter_mut().zip(&talk) {
        *s = *t;
    }
    let silent = vec![0.0f32; far.len()];
    let mic = add(&speech, &noise);
    let (aec, ns) = (
        run(&silent, &mic, EchoMode::Aec),
        run(&silent, &mic, EchoMode::AecNs),
    );
    let quiet = secs(2.0)..secs(4.0);
    println!(
        "- noise {:.1} dB lower; speech {:.1} dB",
        10.0 * (energy(&aec, quiet.clone()) / energy(&ns, quiet)).log10(),
        near_gain_db(&speech, &ns, RATE, &active_frames(&speech, RATE))
    );

    println!("\nCPU at 16 kHz, one thread, 60 s of far end + microphone in 10 ms frames:");
    let long: Vec<f32> = far.iter().cycle().take(secs(60.0)).copied().collect();
    let echo = convolve(&loudspeaker(&long), &rir(RATE, 120, 300, 0.5, 2));
    for mode in [EchoMode::Aec, EchoMode::AecNs] {
        let mut aec = EchoCanceller::new(mode, RATE).unwrap_or_else(|e| panic!("{e}"));
        let n = aec.frame_len();
        let mut frame = vec![0.0f32; n];
        let start = Instant::now();
        for (f, m) in long.chunks_exact(n).zip(echo.chunks_exact(n)) {
            frame.copy_from_slice(m);
            aec.render(f).unwrap_or_else(|e| panic!("{e}"));
            aec.capture(&mut frame).unwrap_or_else(|e| panic!("{e}"));
        }
        let spent = start.elapsed().as_secs_f64();
        println!(
            "- {mode}: {:.2} % of one core ({spent:.2} s for 60 s)",
            spent / 60.0 * 100.0
        );
    }
}
