//! WAV file IO: a file in, model-rate frames out; model audio in, a file out.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use bidi_audio::{WavInput, WavOutput};
use bidi_types::{
    AudioFormat, BidiAgentEvent, BidiAudioStreamEvent, BidiInput, BidiInputEvent,
    BidiInterruptionEvent, BidiOutput, BidiResponseCompleteEvent, Channels, InterruptionReason,
    IoError, SampleRate, StopReason,
};
use common::*;

async fn read_all(input: &mut WavInput) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    while let Some(event) = input.read().await.unwrap_or_else(|e| panic!("read: {e}")) {
        let BidiInputEvent::Audio(a) = event else {
            panic!("expected audio");
        };
        assert_eq!(
            (a.sample_rate(), a.channels()),
            (SampleRate::Hz16000, Channels::Mono)
        );
        frames.push(a.audio_bytes().unwrap_or_else(|e| panic!("{e}")));
    }
    frames
}

#[tokio::test]
async fn wav_input_resamples_and_frames_a_file() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("in.wav");
    // 1 s of 440 Hz at 44.1 kHz stereo.
    let tone = sine(440.0, 44_100, 44_100, 0.4);
    let stereo: Vec<f64> = tone.iter().flat_map(|s| [*s, *s]).collect();
    write_wav(&path, 44_100, 2, &stereo);

    let mut input = WavInput::new(&path).realtime(false);
    let agent = Arc::new(Agent::new(SampleRate::Hz16000, SampleRate::Hz24000));
    input
        .start(agent)
        .await
        .unwrap_or_else(|e| panic!("start: {e}"));
    assert_eq!(input.remaining_frames(), 50);
    let frames = read_all(&mut input).await;
    assert_eq!(frames.len(), 50, "1 s in 20 ms frames");
    assert!(frames.iter().all(|f| f.len() == 640));
    let got = from_pcm16(&frames.concat());
    let want = sine(440.0, 16_000, 16_000, 0.4);
    let (lag, snr) = best_snr(&got, &want, 800..15_200, 20);
    assert!(snr > 60.0, "SNR {snr:.1} dB at lag {lag}");
    assert_eq!(lag, 0, "the resampler's delay is trimmed");
    assert!(
        input
            .read()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_none(),
        "ends"
    );
}

#[tokio::test(start_paused = true)]
async fn wav_input_paces_frames_at_real_time() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("in.wav");
    write_wav(&path, 16_000, 1, &sine(300.0, 16_000, 3_200, 0.3)); // 200 ms
    let mut input = WavInput::new(&path);
    let agent = Arc::new(Agent::new(SampleRate::Hz16000, SampleRate::Hz24000));
    input
        .start(agent)
        .await
        .unwrap_or_else(|e| panic!("start: {e}"));
    // The clock is tokio's paused test clock: it moves only as far as sleeps ask, so this
    // checks the schedule, not the machine's speed.
    let start = tokio::time::Instant::now();
    let frames = read_all(&mut input).await;
    assert_eq!(frames.len(), 10);
    assert_eq!(
        start.elapsed(),
        Duration::from_millis(180),
        "frame n goes out at n × 20 ms"
    );
}

#[tokio::test]
async fn wav_input_errors_name_the_file() {
    let agent = Arc::new(Agent::new(SampleRate::Hz16000, SampleRate::Hz24000));
    let mut input = WavInput::new("/nonexistent/in.wav");
    let err = input
        .start(agent)
        .await
        .err()
        .unwrap_or_else(|| panic!("opened a missing file"));
    assert!(matches!(err, IoError::Other(_)));
    assert!(err.to_string().contains("/nonexistent/in.wav"), "{err}");
}

fn chunk(samples: &[f64], rate: SampleRate) -> BidiAgentEvent {
    BidiAudioStreamEvent::from_bytes(
        &to_pcm16(samples.iter().copied()),
        AudioFormat::Pcm,
        rate,
        Channels::Mono,
    )
    .into()
}

#[tokio::test]
async fn wav_output_writes_what_arrives() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("out.wav");
    let mut output = WavOutput::new(&path);
    let agent = Arc::new(Agent::new(SampleRate::Hz16000, SampleRate::Hz24000));
    assert!(matches!(
        output.write(&chunk(&[0.1], SampleRate::Hz24000)).await,
        Err(IoError::NotStarted { .. })
    ));
    output
        .start(agent)
        .await
        .unwrap_or_else(|e| panic!("start: {e}"));

    let first = sine(500.0, 24_000, 4_800, 0.5);
    for piece in first.chunks(480) {
        output
            .write(&chunk(piece, SampleRate::Hz24000))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    // An interruption changes nothing in a file.
    output
        .write(&BidiInterruptionEvent::new(InterruptionReason::UserSpeech).into())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // A chunk at another rate is resampled to the file's.
    let other = sine(500.0, 16_000, 1_600, 0.5);
    output
        .write(&chunk(&other, SampleRate::Hz16000))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    output
        .write(&BidiResponseCompleteEvent::new("r", StopReason::Complete).into())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    output.stop().await.unwrap_or_else(|e| panic!("stop: {e}"));
    assert_eq!(output.frames_written(), 4_800 + 2_400);

    let mut reader = hound::WavReader::open(&path).unwrap_or_else(|e| panic!("{e}"));
    let spec = reader.spec();
    assert_eq!(
        (spec.sample_rate, spec.channels, spec.bits_per_sample),
        (24_000, 1, 16)
    );
    let written: Vec<i16> = reader
        .samples::<i16>()
        .map(|s| s.unwrap_or_else(|e| panic!("{e}")))
        .collect();
    assert_eq!(written.len(), 7_200);
    let sent: Vec<i16> = from_pcm16(&to_pcm16(first.iter().copied()))
        .iter()
        .map(|s| (s * 32_768.0) as i16)
        .collect();
    assert_eq!(
        &written[..4_800],
        &sent[..],
        "same-rate audio is written bit for bit"
    );
    let tail: Vec<f64> = written[4_800..]
        .iter()
        .map(|s| f64::from(*s) / 32_768.0)
        .collect();
    let (_, snr) = best_snr(&tail, &sine(500.0, 24_000, 2_400, 0.5), 240..2_160, 4);
    assert!(snr > 60.0, "resampled chunk SNR {snr:.1} dB");
}
