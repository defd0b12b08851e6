//! Real cpal streams on virtual ALSA devices (see `common::in_alsa_sandbox`): capture a known
//! signal, play model audio into a file, barge in mid-playback, and the typed errors.

use crate::common;

use std::io::Read;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bidi_audio::{AudioError, BidiAudioIO, Direction, list_devices};
use bidi_types::{
    AudioFormat, BidiAgentEvent, BidiAudioStreamEvent, BidiInput, BidiInputEvent,
    BidiInterruptionEvent, BidiOutput, BidiResponseCompleteEvent, Channels, InterruptionReason,
    IoError, PlaybackTracker, SampleRate, StopReason,
};
use common::*;

const LIMIT: Duration = Duration::from_secs(30);

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"))
        .block_on(f)
}

/// Captures from `vcap` (fed by `in.raw`) at 16 kHz mono until `seconds` of audio arrived;
/// checks every event's shape and returns the decoded samples.
fn capture(dir: &Path, seconds: f64) -> Vec<f64> {
    let _ = dir;
    block_on(async {
        let io = BidiAudioIO::new().input_device_name("vcap");
        let mut input = io.input();
        let agent = Arc::new(Agent::new(SampleRate::Hz16000, SampleRate::Hz24000));
        input
            .start(agent)
            .await
            .unwrap_or_else(|e| panic!("start: {e}"));
        assert!(input.device_name().is_some_and(|n| n.contains("vcap")));
        let want = (16_000.0 * seconds) as usize;
        let mut samples = Vec::new();
        let read = async {
            while samples.len() < want {
                let event = input.read().await.unwrap_or_else(|e| panic!("read: {e}"));
                let Some(BidiInputEvent::Audio(a)) = event else {
                    panic!("expected audio, got {event:?}");
                };
                assert_eq!(a.sample_rate(), SampleRate::Hz16000);
                assert_eq!(a.channels(), Channels::Mono);
                assert_eq!(a.format(), AudioFormat::Pcm);
                let bytes = a.audio_bytes().unwrap_or_else(|e| panic!("base64: {e}"));
                assert_eq!(bytes.len(), 640, "20 ms frames of 16 kHz mono PCM16");
                samples.extend(from_pcm16(&bytes));
            }
        };
        tokio::time::timeout(LIMIT, read)
            .await
            .unwrap_or_else(|_| panic!("capture timed out"));
        let stats = input.stats().unwrap_or_default();
        assert!(stats.callbacks > 0 && stats.captured_frames > 0);
        input.stop().await.unwrap_or_else(|e| panic!("stop: {e}"));
        assert!(matches!(input.read().await, Ok(None)), "stopped input ends");
        samples
    })
}

#[test]
fn capture_tone_decodes_to_the_signal() {
    in_alsa_sandbox("alsa::capture_tone_decodes_to_the_signal", |dir| {
        // 2 s of a 440 Hz tone at the device's 48 kHz, the same on both channels, in the
        // device's f32 (alsa-lib's `file` plugin loses frames when `plug` converts a capture
        // `infile` from s16: the device must not convert).
        let tone = sine(440.0, 48_000, 96_000, 0.4);
        let stereo = tone.iter().flat_map(|s| [*s, *s]);
        std::fs::write(file(dir, "in.raw"), to_f32le(stereo)).unwrap_or_else(|e| panic!("{e}"));

        let got = capture(dir, 2.3);
        let want = sine(440.0, 16_000, 32_000, 0.4);
        // 16-bit quantisation of the input and the output bounds the SNR near 90 dB; the
        // resampler adds less (see dsp::resample). 60 dB leaves room and still fails on
        // any misalignment, dropped or repeated frame (a one-sample slip costs ~25 dB).
        let (lag, snr) = best_snr(&got, &want, 1_600..30_400, 200);
        assert!(snr > 60.0, "captured tone SNR {snr:.1} dB at lag {lag}");
    });
}

/// Speaks a sentence with espeak-ng into `vcap`'s input (48 kHz stereo f32); returns sox's
/// own 16 kHz mono version of it, the reference.
fn speech_into_vcap(dir: &Path) -> Vec<f64> {
    assert!(
        have("espeak-ng") && have("sox"),
        "this test needs espeak-ng and sox (apt-get install espeak-ng sox)"
    );
    let wav = file(dir, "speech.wav");
    run(Command::new("espeak-ng")
        .args(["-w"])
        .arg(&wav)
        .arg("The quick brown fox jumps over the lazy dog."));
    // The device's input: 48 kHz stereo. The reference: sox's own 16 kHz mono version.
    run(Command::new("sox")
        .arg(&wav)
        .args([
            "-r",
            "48000",
            "-c",
            "2",
            "-b",
            "32",
            "-e",
            "floating-point",
            "-t",
            "raw",
        ])
        .arg(file(dir, "in.raw")));
    let reference = file(dir, "ref16k.raw");
    run(Command::new("sox")
        .arg(&wav)
        .args([
            "-r", "16000", "-c", "1", "-b", "16", "-e", "signed", "-t", "raw",
        ])
        .arg(&reference));
    let want = from_pcm16(&std::fs::read(&reference).unwrap_or_else(|e| panic!("{e}")));
    assert!(
        want.len() > 16_000,
        "espeak-ng made at least a second of speech"
    );
    want
}

#[test]
fn capture_speech_matches_the_source() {
    in_alsa_sandbox("alsa::capture_speech_matches_the_source", |dir| {
        let want = speech_into_vcap(dir);
        let got = capture(dir, want.len() as f64 / 16_000.0 + 0.2);
        // Two different good resamplers (sox's and ours) agree closely on speech; the
        // differences sit in the anti-aliasing transition band near 8 kHz, where speech has
        // little energy. Measured: correlation 0.9999, SNR ~37 dB; a frame lost, repeated
        // or misordered drops the SNR under 10 dB.
        let (lag, corr) = best_correlation(&got, &want, 400);
        let (_, snr) = best_snr(&got, &want, 800..want.len() - 800, 400);
        assert!(corr > 0.99, "speech correlation {corr:.4} at lag {lag}");
        assert!(snr > 25.0, "speech SNR {snr:.1} dB at lag {lag}");
    });
}

/// A microphone and a speaker from one `BidiAudioIO` on real cpal streams: the speaker's
/// callback feeds the echo canceller's reference, the canceller starts, and the speech the
/// microphone hears while the speaker plays silence reaches the model intact, 8 ms later. (These virtual
/// devices have no clock and no acoustic path: that the echo itself is removed is
/// `echo_rt.rs`'s and `echo.rs`'s to show.)
#[cfg(feature = "aec")]
#[test]
fn capture_with_the_speaker_playing_keeps_the_speech() {
    in_alsa_sandbox(
        "alsa::capture_with_the_speaker_playing_keeps_the_speech",
        |dir| {
            let want = speech_into_vcap(dir);
            let tone = sine(300.0, 24_000, 72_000, 0.3);
            let got = block_on(async {
                let io = BidiAudioIO::new()
                    .input_device_name("vcap")
                    .output_device_name("vplay")
                    .echo_mode(bidi_audio::aec::EchoMode::Aec);
                let agent = Arc::new(Agent::new(SampleRate::Hz16000, SampleRate::Hz24000));
                let mut output = io.output();
                output
                    .start(agent.clone())
                    .await
                    .unwrap_or_else(|e| panic!("start output: {e}"));
                send_audio(&mut output, &tone, 480).await;
                complete(&mut output).await;
                // The clockless device plays it at once; then the speaker plays silence.
                // (Speech over the speaker's first seconds is double talk before AEC3 has
                // converged, partly suppressed: echo.rs measures double talk.)
                let limit = tokio::time::Instant::now() + LIMIT;
                while output.stats().unwrap_or_default().played_frames < 144_000 {
                    assert!(tokio::time::Instant::now() < limit, "playing timed out");
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                let mut input = io.input();
                input
                    .start(agent)
                    .await
                    .unwrap_or_else(|e| panic!("start input: {e}"));
                let mut samples = Vec::new();
                let read = async {
                    while samples.len() < want.len() + 3_200 {
                        let event = input.read().await.unwrap_or_else(|e| panic!("read: {e}"));
                        let Some(BidiInputEvent::Audio(a)) = event else {
                            panic!("expected audio, got {event:?}");
                        };
                        let bytes = a.audio_bytes().unwrap_or_else(|e| panic!("base64: {e}"));
                        samples.extend(from_pcm16(&bytes));
                    }
                };
                tokio::time::timeout(LIMIT, read)
                    .await
                    .unwrap_or_else(|_| panic!("capture timed out"));
                assert!(
                    input.echo_cancelling(),
                    "the canceller runs on the microphone"
                );
                input.stop().await.unwrap_or_else(|e| panic!("stop: {e}"));
                output.stop().await.unwrap_or_else(|e| panic!("stop: {e}"));
                samples
            });
            let (lag, corr) = best_correlation(&got, &want, 2_000);
            eprintln!("speech through the canceller: correlation {corr:.4} at lag {lag}");
            // Measured 0.957 at a lag of 128 samples (the canceller's 8 ms) in every run.
            assert!(corr > 0.9, "speech correlation {corr:.4} at lag {lag}");
            assert_eq!(lag, 128, "the canceller's latency at 16 kHz");
        },
    );
}

/// Writes `samples` (24 kHz mono) to `output` as `bidi_audio_stream` chunks of `chunk`
/// frames.
async fn send_audio(output: &mut bidi_audio::BidiAudioOutput, samples: &[f64], chunk: usize) {
    for piece in samples.chunks(chunk) {
        let event = BidiAudioStreamEvent::from_bytes(
            &to_pcm16(piece.iter().copied()),
            AudioFormat::Pcm,
            SampleRate::Hz24000,
            Channels::Mono,
        );
        output
            .write(&BidiAgentEvent::from(event))
            .await
            .unwrap_or_else(|e| panic!("write: {e}"));
    }
}

async fn complete(output: &mut bidi_audio::BidiAudioOutput) {
    let done = BidiResponseCompleteEvent::new("r1", StopReason::Complete);
    output
        .write(&BidiAgentEvent::from(done))
        .await
        .unwrap_or_else(|e| panic!("write: {e}"));
}

/// Reads 48 kHz stereo s16le; checks both channels are equal; returns the left channel.
fn stereo_file_to_mono(bytes: &[u8]) -> Vec<f64> {
    let samples = from_pcm16(bytes);
    let frames: Vec<(f64, f64)> = samples.chunks_exact(2).map(|f| (f[0], f[1])).collect();
    assert!(
        frames.iter().all(|(l, r)| l == r),
        "mono model audio is up-mixed to both channels"
    );
    frames.into_iter().map(|(l, _)| l).collect()
}

#[test]
fn playback_writes_the_model_audio() {
    in_alsa_sandbox("alsa::playback_writes_the_model_audio", |dir| {
        let tracker = PlaybackTracker::new();
        // 997 Hz: no sample falls on an exact zero crossing, so dropping zeros (below) drops only
        // padding.
        let tone = sine(997.0, 24_000, 24_000, 0.5);
        block_on(async {
            let mut output = BidiAudioIO::new().output_device_name("vplay").output();
            let mut agent = Agent::new(SampleRate::Hz16000, SampleRate::Hz24000);
            agent.tracker = Some(tracker.clone());
            output
                .start(Arc::new(agent))
                .await
                .unwrap_or_else(|e| panic!("start: {e}"));
            assert!(tracker.is_attached());
            assert_eq!(output.device_format(), Some((48_000, 2)));
            send_audio(&mut output, &tone, 480).await; // 20 ms chunks, as providers send
            complete(&mut output).await;
            let played =
                |o: &bidi_audio::BidiAudioOutput| o.stats().unwrap_or_default().played_frames;
            let limit = tokio::time::Instant::now() + LIMIT;
            while played(&output) < 48_000 {
                assert!(tokio::time::Instant::now() < limit, "playback timed out");
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            assert_eq!(
                played(&output),
                48_000,
                "1 s at 24 kHz is exactly 1 s at 48 kHz"
            );
            output.stop().await.unwrap_or_else(|e| panic!("stop: {e}"));
            assert!(!tracker.is_attached());
        });
        let all = stereo_file_to_mono(
            &std::fs::read(file(dir, "out.raw")).unwrap_or_else(|e| panic!("{e}")),
        );
        // The null device runs far faster than real time, so the callback outruns the feeder
        // and pads silence between chunks: compare the audio with the silence taken out.
        let audio: Vec<f64> = all.into_iter().filter(|s| *s != 0.0).collect();
        let want = sine(997.0, 48_000, 48_000, 0.5);
        assert!(
            (47_990..=48_000).contains(&audio.len()),
            "{} frames of audio",
            audio.len()
        );
        let (lag, snr) = best_snr(&audio, &want, 2_400..45_600, 50);
        assert!(snr > 60.0, "played tone SNR {snr:.1} dB at lag {lag}");
        let consumed = tracker.consumed();
        assert!(
            consumed.abs_diff(Duration::from_secs(1)) < Duration::from_micros(100),
            "tracker {consumed:?}"
        );
    });
}

/// Reads a FIFO on a thread, only as far as `credit` bytes allow: the device blocks when the
/// pipe is full, so the test decides how far playback gets.
struct PacedReader {
    credit: Arc<AtomicU64>,
    read: Arc<AtomicU64>,
    quit: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Vec<u8>>,
}

impl PacedReader {
    fn start(path: &Path) -> Self {
        let credit = Arc::new(AtomicU64::new(0));
        let read = Arc::new(AtomicU64::new(0));
        let quit = Arc::new(AtomicBool::new(false));
        let (c, r, q, p) = (credit.clone(), read.clone(), quit.clone(), path.to_owned());
        let thread = std::thread::spawn(move || {
            let mut data = Vec::new();
            let mut buf = vec![0u8; 16_384];
            loop {
                // Blocks until the device opens the FIFO for writing.
                let mut fifo = std::fs::File::open(&p).unwrap_or_else(|e| panic!("fifo: {e}"));
                loop {
                    let allowed = c.load(Ordering::Acquire).saturating_sub(data.len() as u64);
                    if allowed == 0 {
                        std::thread::sleep(Duration::from_millis(1));
                        continue;
                    }
                    let n = buf
                        .len()
                        .min(usize::try_from(allowed).unwrap_or(usize::MAX));
                    let got = fifo.read(&mut buf[..n]).unwrap_or(0);
                    if got == 0 {
                        break; // every writer closed
                    }
                    data.extend_from_slice(&buf[..got]);
                    r.store(data.len() as u64, Ordering::Release);
                }
                if q.load(Ordering::Acquire) {
                    return data;
                }
            }
        });
        Self {
            credit,
            read,
            quit,
            thread,
        }
    }
}

#[test]
fn barge_in_discards_everything_after_the_flush_point() {
    in_alsa_sandbox(
        "alsa::barge_in_discards_everything_after_the_flush_point",
        |dir| {
            let reader = PacedReader::start(&file(dir, "out.fifo"));
            let tracker = PlaybackTracker::new();
            let a = sine(440.0, 24_000, 240_000, 0.5); // 10 s of the first response
            let b = sine(1_000.0, 24_000, 12_000, 0.5); // 0.5 s of the next one
            let stats = block_on(async {
                // A prebuffer of 5 s makes the ring (twice that) hold all of A, so the
                // clockless device never runs dry inside it.
                let mut output = BidiAudioIO::new()
                    .output_device_name("vfifo")
                    .output_prebuffer(Duration::from_secs(5))
                    .output();
                let mut agent = Agent::new(SampleRate::Hz16000, SampleRate::Hz24000);
                agent.tracker = Some(tracker.clone());
                output
                    .start(Arc::new(agent))
                    .await
                    .unwrap_or_else(|e| panic!("start: {e}"));
                send_audio(&mut output, &a, 24_000).await;
                // All of A (but what the resampler still holds) is queued before the device
                // may go on, so it plays A at once (more than the 5 s prebuffer is queued).
                let limit = tokio::time::Instant::now() + LIMIT;
                while output.stats().unwrap_or_default().received_frames < 470_000 {
                    assert!(tokio::time::Instant::now() < limit, "queueing A timed out");
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                // Let 1.5 s of bytes through: the device plays part of A, then blocks again on
                // the full pipe, A still queued.
                reader.credit.store(288_000, Ordering::Release);
                while reader.read.load(Ordering::Acquire) < 288_000 {
                    assert!(tokio::time::Instant::now() < limit, "paced read timed out");
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                let interrupt = BidiInterruptionEvent::new(InterruptionReason::UserSpeech);
                output
                    .write(&BidiAgentEvent::from(interrupt))
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                reader.credit.store(u64::MAX, Ordering::Release);
                while output.stats().unwrap_or_default().flushes == 0 {
                    assert!(tokio::time::Instant::now() < limit, "flush timed out");
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                let before = output.stats().unwrap_or_default().played_frames;
                send_audio(&mut output, &b, 480).await;
                complete(&mut output).await;
                while output.stats().unwrap_or_default().played_frames < before + 24_000 {
                    assert!(tokio::time::Instant::now() < limit, "B timed out");
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                let stats = output.stats().unwrap_or_default();
                reader.quit.store(true, Ordering::Release);
                output.stop().await.unwrap_or_else(|e| panic!("stop: {e}"));
                stats
            });
            let bytes = reader
                .thread
                .join()
                .unwrap_or_else(|_| panic!("reader panicked"));
            let all = stereo_file_to_mono(&bytes);
            let flush = stats
                .last_flush
                .unwrap_or_else(|| panic!("no flush recorded"));
            println!("stats {stats:?}");

            // Segments of audio between runs of silence: A (up to the flush), then B.
            let mut segments: Vec<(usize, usize)> = Vec::new();
            let mut i = 0;
            while i < all.len() {
                if all[i] == 0.0 {
                    i += 1;
                    continue;
                }
                let start = i;
                let mut zeros = 0;
                while i < all.len() && zeros < 64 {
                    zeros = if all[i] == 0.0 { zeros + 1 } else { 0 };
                    i += 1;
                }
                segments.push((start, i - zeros));
            }
            assert_eq!(segments.len(), 2, "A then B, silence between: {segments:?}");
            let a_len = (segments[0].1 - segments[0].0) as u64;
            let b_len = (segments[1].1 - segments[1].0) as u64;

            // The flush happened mid-playback...
            assert!(flush.played_frames_before > 0 && flush.played_frames_before < 480_000);
            // ...in the first callback after it was asked for: within one device period...
            assert!(
                flush.done_at_callback <= flush.requested_at_callback + 1,
                "flush took more than one period: {flush:?}"
            );
            // ...and nothing of A after the flush point reached the device, while everything
            // before it did (a couple of frames of slack for A's first samples, which round to 0).
            assert!(
                a_len.abs_diff(flush.played_frames_before) <= 2,
                "A in the file: {a_len} frames; played before the flush: {}",
                flush.played_frames_before
            );
            // A's last few ms were still inside the resampler at the barge-in: they were never
            // played, and the tracker counts them as consumed (checked below).
            let a_device = stats.flushed_frames + flush.played_frames_before;
            assert!(
                (470_000..=480_000).contains(&a_device),
                "A played or flushed: {a_device}"
            );
            assert!(
                b_len.abs_diff(24_000) <= 2,
                "B plays in full after the barge-in: {b_len}"
            );
            let want_b = sine(1_000.0, 48_000, 24_000, 0.5);
            let got_b = &all[segments[1].0..segments[1].1];
            let (_, snr) = best_snr(got_b, &want_b, 2_400..21_600, 8);
            assert!(snr > 60.0, "B SNR {snr:.1} dB");
            let consumed = tracker.consumed();
            assert!(
                consumed.abs_diff(Duration::from_millis(10_500)) < Duration::from_micros(100),
                "tracker: {consumed:?} (A played + flushed, and B)"
            );
        },
    );
}

fn audio_error(e: IoError) -> AudioError {
    match e {
        IoError::Other(inner) => match inner.downcast::<AudioError>() {
            Ok(a) => *a,
            Err(other) => panic!("not an AudioError: {other}"),
        },
        other => panic!("not IoError::Other: {other}"),
    }
}

#[test]
fn missing_devices_and_formats_are_typed_errors() {
    in_alsa_sandbox(
        "alsa::missing_devices_and_formats_are_typed_errors",
        |_dir| {
            block_on(async {
                let agent = Arc::new(Agent::new(SampleRate::Hz16000, SampleRate::Hz24000));
                let mut input = BidiAudioIO::new().input_device_name("no-such-mic").input();
                let e = audio_error(
                    input
                        .start(agent.clone())
                        .await
                        .err()
                        .unwrap_or_else(|| panic!("opened a missing device")),
                );
                let AudioError::NoDevice {
                    wanted, available, ..
                } = &e
                else {
                    panic!("expected NoDevice, got {e}");
                };
                assert_eq!(wanted, "name=<no-such-mic>");
                assert!(available.contains("vcap"), "lists what exists: {available}");
                assert!(matches!(
                    input.read().await,
                    Err(IoError::NotStarted { .. })
                ));

                let mut output = BidiAudioIO::new().output_device_index(999).output();
                let e = audio_error(
                    output
                        .start(agent.clone())
                        .await
                        .err()
                        .unwrap_or_else(|| panic!("opened device 999")),
                );
                assert!(matches!(e, AudioError::NoDevice { .. }), "{e}");

                let mut opus = Agent::new(SampleRate::Hz16000, SampleRate::Hz24000);
                opus.config.audio.format = AudioFormat::Opus;
                let mut output = BidiAudioIO::new().output_device_name("vplay").output();
                let e = audio_error(
                    output
                        .start(Arc::new(opus))
                        .await
                        .err()
                        .unwrap_or_else(|| panic!("accepted opus")),
                );
                assert!(
                    matches!(
                        e,
                        AudioError::UnsupportedModelFormat {
                            format: AudioFormat::Opus
                        }
                    ),
                    "{e}"
                );
            });
        },
    );
}

#[test]
fn devices_are_found_by_index_as_listed() {
    in_alsa_sandbox("alsa::devices_are_found_by_index_as_listed", |_dir| {
        let outputs = list_devices(Direction::Output).unwrap_or_else(|e| panic!("{e}"));
        let index = outputs
            .iter()
            .position(|n| n.contains("alsa:vplay"))
            .unwrap_or_else(|| panic!("vplay not listed: {outputs:?}"));
        let inputs = list_devices(Direction::Input).unwrap_or_else(|e| panic!("{e}"));
        assert!(inputs.iter().any(|n| n.contains("alsa:vcap")), "{inputs:?}");
        block_on(async {
            let mut output = BidiAudioIO::new().output_device_index(index).output();
            let agent = Arc::new(Agent::new(SampleRate::Hz16000, SampleRate::Hz24000));
            output
                .start(agent)
                .await
                .unwrap_or_else(|e| panic!("start: {e}"));
            assert_eq!(output.device_name(), Some(outputs[index].as_str()));
            output.stop().await.unwrap_or_else(|e| panic!("stop: {e}"));
            // Stopped: the device is released and can be opened again.
            let agent = Arc::new(Agent::new(SampleRate::Hz16000, SampleRate::Hz24000));
            output
                .start(agent)
                .await
                .unwrap_or_else(|e| panic!("restart: {e}"));
            output.stop().await.unwrap_or_else(|e| panic!("stop: {e}"));
        });
    });
}
