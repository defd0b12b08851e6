//! Inputs that once panicked a parser (saved by `bidi-fuzz` under `regressions/<target>/`)
//! replay without a panic.

use std::path::Path;

use bidi_fuzz::{TARGETS, run};

fn dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/regressions"))
}

#[test]
fn every_saved_input_replays_without_a_panic() {
    let mut replayed = 0;
    for target in TARGETS {
        for (path, input) in run::saved_inputs(dir(), target.name).expect("read regressions") {
            let outcome = std::panic::catch_unwind(|| target.check(&input));
            assert!(outcome.is_ok(), "{} panics again", path.display());
            replayed += 1;
        }
    }
    assert!(
        replayed > 0,
        "the regression folder holds the wav crash found on 2026-12-03"
    );
}

#[test]
fn regression_folders_name_known_targets() {
    for entry in std::fs::read_dir(dir()).expect("regressions folder") {
        let entry = entry.expect("entry");
        if entry.path().is_dir() {
            let name = entry.file_name().to_string_lossy().into_owned();
            assert!(
                bidi_fuzz::target(&name).is_some(),
                "regressions/{name} is not a target"
            );
        }
    }
}

/// The first crash found: a float WAV whose samples include NaN and infinities reached
/// rubato's FFT, which panicked. Now the file loads as frames of finite audio.
#[test]
fn a_float_wav_with_nan_and_infinity_loads() {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut file = std::io::Cursor::new(Vec::new());
    let mut writer = hound::WavWriter::new(&mut file, spec).expect("writer");
    for i in 0..4_800 {
        let s = match i % 5 {
            0 => f32::NAN,
            1 => f32::INFINITY,
            2 => f32::NEG_INFINITY,
            _ => 0.25,
        };
        writer.write_sample(s).expect("sample");
    }
    writer.finalize().expect("finalize");
    let audio = bidi_types::AudioConfig::new(
        bidi_types::SampleRate::Hz16000,
        bidi_types::SampleRate::Hz24000,
    );
    let mut input = bidi_audio::WavInput::from_bytes(file.into_inner()).realtime(false);
    input.load(&audio).expect("a float WAV loads");
    // 100 ms at 16 kHz in 20 ms frames.
    assert_eq!(input.remaining_frames(), 5);
}

/// Found by the first short pass: token counts near `u64::MAX` in Gemini's `usageMetadata`
/// overflowed the sum (a panic in debug builds, a wrapped total in release). Counts now
/// saturate.
#[test]
fn gemini_usage_counts_at_the_top_of_u64_saturate() {
    let audio = bidi_types::AudioConfig::new(
        bidi_types::SampleRate::Hz16000,
        bidi_types::SampleRate::Hz24000,
    );
    let mut d = bidi_model::gemini::Decoder::new("regression", audio);
    let max = u64::MAX;
    let message = format!(
        r#"{{"usageMetadata":{{"promptTokenCount":{max},"responseTokenCount":5,
        "promptTokensDetails":[{{"modality":"AUDIO","tokenCount":{max}}},{{"modality":"AUDIO","tokenCount":{max}}}]}}}}"#
    );
    let signals = d.decode(&message).expect("a usage message decodes");
    assert_eq!(signals.len(), 1);
    let json = format!("{:?}", signals[0]);
    assert!(
        json.contains(&max.to_string()),
        "the total saturates at u64::MAX: {json}"
    );
}

/// The same sum in Nova Sonic's `usageEvent` without a total.
#[test]
fn nova_usage_counts_at_the_top_of_u64_saturate() {
    let audio = bidi_types::AudioConfig::new(
        bidi_types::SampleRate::Hz16000,
        bidi_types::SampleRate::Hz24000,
    );
    let mut d = bidi_model::nova_sonic::Decoder::new(audio);
    let max = u64::MAX;
    let event = format!(
        r#"{{"event":{{"usageEvent":{{"totalInputTokens":{max},"totalOutputTokens":7}}}}}}"#
    );
    let decoded = d
        .decode_bytes(event.as_bytes())
        .expect("a usage event decodes");
    let json = format!("{decoded:?}");
    assert!(
        json.contains(&max.to_string()),
        "the total saturates at u64::MAX: {json}"
    );
}
