//! Conversions between 16-bit little-endian PCM bytes (what providers stream) and `f32`
//! samples in `-1.0..1.0` (what the pipeline works in).

/// Appends the samples of `bytes` (signed 16-bit little-endian) to `out` as `f32`. A trailing
/// odd byte is ignored.
///
/// ```
/// let mut out = Vec::new();
/// bidi_audio::dsp::pcm16_bytes_to_f32(&[0x00, 0x40, 0x00, 0xC0], &mut out);
/// assert_eq!(out, [0.5, -0.5]);
/// ```
pub fn pcm16_bytes_to_f32(bytes: &[u8], out: &mut Vec<f32>) {
    out.reserve(bytes.len() / 2);
    out.extend(
        bytes
            .chunks_exact(2)
            .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32_768.0),
    );
}

/// Appends `samples` to `out` as signed 16-bit little-endian PCM, clamping to the 16-bit
/// range and rounding to nearest.
///
/// ```
/// let mut out = Vec::new();
/// bidi_audio::dsp::f32_to_pcm16_bytes(&[0.5, -1.0, 2.0], &mut out);
/// assert_eq!(out, [0x00, 0x40, 0x00, 0x80, 0xFF, 0x7F]);
/// ```
pub fn f32_to_pcm16_bytes(samples: &[f32], out: &mut Vec<u8>) {
    // Sized first and written in place, pair by pair: a loop the compiler vectorises (an
    // append per sample does not).
    let start = out.len();
    out.resize(start + samples.len() * 2, 0);
    for (pair, &s) in out[start..].chunks_exact_mut(2).zip(samples) {
        pair.copy_from_slice(&sample_to_i16(s).to_le_bytes());
    }
}

/// One `f32` sample as `i16`, clamped and rounded (NaN gives 0).
///
/// ```
/// assert_eq!(bidi_audio::dsp::sample_to_i16(0.5), 16_384);
/// ```
pub fn sample_to_i16(s: f32) -> i16 {
    // The clamp keeps the value inside i16, so the cast cannot wrap; NaN casts to 0.
    #[allow(clippy::cast_possible_truncation)]
    let v = (s * 32_768.0).round().clamp(-32_768.0, 32_767.0) as i16;
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_is_exact_for_every_i16() {
        let bytes: Vec<u8> = (i16::MIN..=i16::MAX).flat_map(i16::to_le_bytes).collect();
        let mut samples = Vec::new();
        pcm16_bytes_to_f32(&bytes, &mut samples);
        let mut back = Vec::new();
        f32_to_pcm16_bytes(&samples, &mut back);
        assert_eq!(back, bytes);
    }

    #[test]
    fn odd_trailing_byte_is_ignored_and_out_of_range_clamps() {
        let mut out = Vec::new();
        pcm16_bytes_to_f32(&[0xFF, 0x7F, 0x01], &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(sample_to_i16(-3.0), i16::MIN);
        assert_eq!(sample_to_i16(f32::NAN), 0);
    }
}
