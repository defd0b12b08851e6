//! Channel mixing between the model's channel count and the device's.

/// Appends `input` (interleaved, `from` channels) to `out` as `to` channels:
/// - same count: copied;
/// - to mono: the average of all channels (down-mix);
/// - from mono: the sample copied to every channel (up-mix);
/// - otherwise: output channel `c` takes input channel `c`, or `c % from` past the input's
///   channels (e.g. stereo to 4 channels repeats left/right).
///
/// A trailing partial frame of `input` is ignored. `from` or `to` of 0 appends nothing.
///
/// ```
/// let mut out = Vec::new();
/// bidi_audio::dsp::mix_channels(&[0.2, 0.4, -1.0, 1.0], 2, 1, &mut out);
/// assert_eq!(out, [0.3, 0.0]);
/// out.clear();
/// bidi_audio::dsp::mix_channels(&[0.5], 1, 2, &mut out);
/// assert_eq!(out, [0.5, 0.5]);
/// ```
pub fn mix_channels(input: &[f32], from: usize, to: usize, out: &mut Vec<f32>) {
    if from == 0 || to == 0 {
        return;
    }
    let frames = input.len() / from;
    let input = &input[..frames * from];
    out.reserve(frames * to);
    if from == to {
        out.extend_from_slice(input);
    } else if to == 1 {
        // Exact for the channel counts in use (1..=8 fit an f32 without loss).
        #[allow(clippy::cast_precision_loss)]
        let scale = 1.0 / from as f32;
        out.extend(
            input
                .chunks_exact(from)
                .map(|f| f.iter().sum::<f32>() * scale),
        );
    } else if from == 1 {
        for &s in input {
            out.extend(std::iter::repeat_n(s, to));
        }
    } else {
        for frame in input.chunks_exact(from) {
            out.extend((0..to).map(|c| frame[c % from]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mixed(input: &[f32], from: usize, to: usize) -> Vec<f32> {
        let mut out = Vec::new();
        mix_channels(input, from, to, &mut out);
        out
    }

    #[test]
    fn same_count_copies() {
        assert_eq!(mixed(&[0.1, 0.2, 0.3, 0.4], 2, 2), [0.1, 0.2, 0.3, 0.4]);
    }

    #[test]
    fn down_mix_averages_and_up_mix_duplicates() {
        assert_eq!(mixed(&[1.0, 0.0, 0.5, 0.5], 2, 1), [0.5, 0.5]);
        assert_eq!(mixed(&[0.25, -0.5], 1, 2), [0.25, 0.25, -0.5, -0.5]);
        assert_eq!(mixed(&[0.3, 0.6, 0.9], 3, 1).len(), 1);
    }

    #[test]
    fn other_counts_map_channels_modulo() {
        assert_eq!(mixed(&[1.0, 2.0], 2, 4), [1.0, 2.0, 1.0, 2.0]);
        assert_eq!(mixed(&[1.0, 2.0, 3.0, 4.0], 4, 2), [1.0, 2.0]);
    }

    #[test]
    fn partial_frames_and_zero_channels_append_nothing_extra() {
        assert_eq!(mixed(&[1.0, 2.0, 3.0], 2, 1), [1.5]);
        assert!(mixed(&[1.0], 0, 2).is_empty());
        assert!(mixed(&[1.0], 1, 0).is_empty());
    }
}
