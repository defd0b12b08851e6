//! Properties of the streaming resampler (issue 26), for random rates, channel counts,
//! lengths and ways of cutting the input into chunks:
//!
//! - the stream's length is the input's at the new rate, rounded: `round(n * to / from)`
//!   frames, however the input was chunked, and whole frames only;
//! - chunked and one-shot runs give the same samples;
//! - every sample is finite, whatever the input held (NaN, infinities, beyond full scale);
//! - a tone keeps its level (RMS within 10 % away from the ends);
//! - `reset` never reports more frames dropped than were put in.

use bidi_audio::dsp::StreamResampler;
use proptest::prelude::*;

const RATES: [u32; 6] = [8_000, 16_000, 22_050, 24_000, 44_100, 48_000];

fn rate() -> impl Strategy<Value = u32> {
    prop::sample::select(RATES.to_vec())
}

/// The whole stream through a resampler fed in chunks of the given frame counts (cycled).
fn run(from: u32, to: u32, ch: usize, input: &[f32], chunks: &[usize]) -> Vec<f32> {
    let mut r = StreamResampler::new(from, to, ch).expect("a supported pair");
    let mut out = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while at < input.len() {
        let frames = chunks[i % chunks.len()].max(1);
        let end = (at + frames * ch).min(input.len());
        r.process(&input[at..end], &mut out).expect("process");
        at = end;
        i += 1;
    }
    r.finish(&mut out).expect("finish");
    out
}

fn tone(rate: u32, ch: usize, frames: usize) -> Vec<f32> {
    (0..frames)
        .flat_map(|i| {
            let s = (2.0 * std::f32::consts::PI * 440.0 * i as f32 / rate as f32).sin() * 0.5;
            std::iter::repeat_n(s, ch)
        })
        .collect()
}

fn rms(x: &[f32]) -> f32 {
    (x.iter().map(|s| s * s).sum::<f32>() / x.len().max(1) as f32).sqrt()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn length_follows_the_rate_however_the_input_is_cut(
        from in rate(),
        to in rate(),
        ch in 1usize..=2,
        frames in 0usize..6_000,
        chunks in prop::collection::vec(1usize..1_500, 1..6),
    ) {
        let input = tone(from, ch, frames);
        let out = run(from, to, ch, &input, &chunks);
        let expected = (frames as u64 * u64::from(to) + u64::from(from) / 2) / u64::from(from);
        prop_assert_eq!(out.len() % ch, 0);
        prop_assert_eq!((out.len() / ch) as u64, expected);
        let whole = run(from, to, ch, &input, &[frames.max(1)]);
        prop_assert_eq!(out.len(), whole.len());
        for (a, b) in out.iter().zip(&whole) {
            prop_assert!((a - b).abs() < 1e-4, "chunked {a} vs one-shot {b}");
        }
    }

    #[test]
    fn every_sample_is_finite_whatever_came_in(
        from in rate(),
        to in rate(),
        input in prop::collection::vec(prop_oneof![
            Just(f32::NAN), Just(f32::INFINITY), Just(f32::NEG_INFINITY),
            -1e6f32..1e6f32, -1.0f32..1.0f32,
        ], 0..3_000),
    ) {
        let out = run(from, to, 1, &input, &[480]);
        prop_assert!(out.iter().all(|s| s.is_finite()));
    }

    #[test]
    fn a_tone_keeps_its_level(from in rate(), to in rate()) {
        let frames = from as usize / 2;
        let out = run(from, to, 1, &tone(from, 1, frames), &[441]);
        // Away from the ends, where the filter starts and stops.
        let edge = out.len() / 8;
        let level = rms(&out[edge..out.len() - edge]);
        let expected = 0.5 / 2f32.sqrt();
        prop_assert!((level / expected - 1.0).abs() < 0.1, "{from} -> {to}: rms {level}");
    }

    #[test]
    fn reset_reports_no_more_than_was_put_in(
        from in rate(),
        to in rate(),
        frames in 0usize..4_000,
    ) {
        let mut r = StreamResampler::new(from, to, 1).expect("a supported pair");
        let mut out = Vec::new();
        r.process(&tone(from, 1, frames), &mut out).expect("process");
        let dropped = r.reset();
        prop_assert!(dropped <= frames, "{dropped} > {frames}");
        prop_assert_eq!(r.pending_input_frames(), 0);
    }
}
