//! CPU cost of the audio paths, per second of audio, and of a barge-in flush.
//!
//! `cargo bench -p bidi-audio --bench audio`. Each iteration of `capture_*` / `playback_*`
//! processes one second of audio, so its time is the CPU one core spends per second of
//! audio. Results and the machine they came from: docs/performance.md.

use std::collections::VecDeque;

use bidi_audio::dsp::{StreamResampler, mix_channels, pcm16_bytes_to_f32};
use bidi_audio::rt::{CaptureSetup, PlaybackSetup, capture_channel, playback_channel};
use bidi_types::{AudioFormat, BidiAudioInputEvent, BidiAudioStreamEvent, Channels, SampleRate};

fn main() {
    divan::main();
}

/// One device period, as cpal gives it by default here.
const PERIOD: usize = 512;

fn tone(rate: u32, frames: usize, channels: usize) -> Vec<f32> {
    (0..frames)
        .flat_map(|i| {
            let s =
                (0.4 * (std::f64::consts::TAU * 440.0 * i as f64 / f64::from(rate)).sin()) as f32;
            std::iter::repeat_n(s, channels)
        })
        .collect()
}

/// Capture, 1 s: a 48 kHz stereo f32 device (the ALSA default) in 512-frame callbacks →
/// ring → down-mix → 16 kHz → 20 ms PCM16 frames → base64 `bidi_audio_input` events.
#[divan::bench(args = [16_000, 24_000])]
fn capture_1s_48k_stereo_to(bencher: divan::Bencher, model_rate: u32) {
    let device = tone(48_000, 48_000, 2);
    let rate = SampleRate::try_from(model_rate).unwrap_or(SampleRate::Hz16000);
    bencher
        .with_inputs(|| {
            capture_channel(CaptureSetup {
                device_channels: 2,
                device_rate: 48_000,
                ring_frames: 96_000,
                limit_frames: None,
                model_channels: 1,
                model_rate,
                frame_frames: model_rate as usize / 50,
            })
            .unwrap_or_else(|e| panic!("{e}"))
        })
        .bench_local_values(|(mut callback, mut reader)| {
            let mut frames = VecDeque::new();
            let mut events = 0;
            for period in device.chunks(PERIOD * 2) {
                callback.push(period);
                while reader.poll(&mut frames).unwrap_or(0) > 0 {}
                for frame in frames.drain(..) {
                    let e = BidiAudioInputEvent::from_bytes(
                        &frame,
                        AudioFormat::Pcm,
                        rate,
                        Channels::Mono,
                    );
                    events += e.audio().len();
                }
            }
            divan::black_box(events)
        });
}

/// Playback, 1 s: 50 base64 `bidi_audio_stream` chunks of 20 ms at 24 kHz mono → decode →
/// 48 kHz → up-mix to stereo → queue → 512-frame output callbacks.
#[divan::bench]
fn playback_1s_24k_to_48k_stereo(bencher: divan::Bencher) {
    let model: Vec<u8> = tone(24_000, 24_000, 1)
        .iter()
        .flat_map(|s| ((s * 32_767.0) as i16).to_le_bytes())
        .collect();
    let chunks: Vec<BidiAudioStreamEvent> = model
        .chunks(960)
        .map(|c| {
            BidiAudioStreamEvent::from_bytes(
                c,
                AudioFormat::Pcm,
                SampleRate::Hz24000,
                Channels::Mono,
            )
        })
        .collect();
    bencher
        .with_inputs(|| {
            let (queue, callback) = playback_channel(PlaybackSetup {
                channels: 2,
                rate: 48_000,
                ring_frames: 96_000,
                prebuffer_frames: 0,
                limit_frames: None,
                tracker: None,
            });
            let resampler =
                StreamResampler::new(24_000, 48_000, 1).unwrap_or_else(|e| panic!("{e}"));
            (queue, callback, resampler, vec![0.0f32; PERIOD * 2])
        })
        .bench_local_values(|(mut queue, mut callback, mut resampler, mut out)| {
            let (mut decoded, mut resampled, mut stereo) = (Vec::new(), Vec::new(), Vec::new());
            for chunk in &chunks {
                let bytes = chunk.audio_bytes().unwrap_or_default();
                decoded.clear();
                pcm16_bytes_to_f32(&bytes, &mut decoded);
                resampled.clear();
                resampler
                    .process(&decoded, &mut resampled)
                    .unwrap_or_default();
                stereo.clear();
                mix_channels(&resampled, 1, 2, &mut stereo);
                queue.push(&stereo);
                // Real time: about two 512-frame periods per 20 ms chunk at 48 kHz.
                callback.fill(&mut out);
                callback.fill(&mut out);
            }
            while queue.queued_frames() > 0 {
                queue.pump();
                callback.fill(&mut out);
            }
            divan::black_box(queue.stats().played_frames)
        });
}

/// Barge-in with 10 s of audio queued (ring and queue): the queue side's flush plus the
/// callback that carries it out and plays the period's silence.
#[divan::bench]
fn flush_10s_queued(bencher: divan::Bencher) {
    let audio = tone(48_000, 480_000, 2);
    bencher
        .with_inputs(|| {
            let (mut queue, callback) = playback_channel(PlaybackSetup {
                channels: 2,
                rate: 48_000,
                ring_frames: 24_000,
                prebuffer_frames: 0,
                limit_frames: None,
                tracker: None,
            });
            queue.push(&audio);
            (queue, callback, vec![0.0f32; PERIOD * 2])
        })
        .bench_local_values(|(mut queue, mut callback, mut out)| {
            queue.flush();
            callback.fill(&mut out);
            divan::black_box((queue, out))
        });
}

/// Resampling alone, 1 s of mono audio in 20 ms pieces, for the rate pairs a phone call
/// (8 kHz) and the echo canceller's core (16 kHz) need.
#[divan::bench(args = [(24_000, 8_000), (8_000, 24_000), (48_000, 16_000), (16_000, 48_000)])]
fn resample_1s(bencher: divan::Bencher, (from, to): (u32, u32)) {
    let input = tone(from, from as usize, 1);
    let piece = (from / 50) as usize;
    bencher
        .with_inputs(|| {
            let resampler = StreamResampler::new(from, to, 1).unwrap_or_else(|e| panic!("{e}"));
            (resampler, Vec::with_capacity(to as usize))
        })
        .bench_local_values(|(mut resampler, mut out)| {
            for chunk in input.chunks(piece) {
                resampler.process(chunk, &mut out).unwrap_or_default();
            }
            divan::black_box(out.len())
        });
}
