//! ITU-T G.711: μ-law and A-law, 8-bit logarithmic companding of 16-bit linear PCM.
//!
//! Telephone networks carry voice as G.711 at 8 kHz: μ-law in North America and Japan (and
//! in Twilio Media Streams, `audio/x-mulaw`), A-law in Europe and on many SIP trunks. The
//! encoders take a 16-bit sample to its 8-bit code by the standard's segments (the same
//! results as the widely used Sun reference code and Python's `audioop`, for every sample);
//! the decoders are 256-entry tables built at compile time.
//!
//! The decoders and the A-law encoder agree with the ITU-T G.191 reference software
//! (`g711.c`) for every input. Its μ-law encoder takes a negative sample's magnitude by
//! one's complement where the Sun code (and so this one) negates it, so 508 negative samples
//! (4 at each of the 127 negative decision values) get the code one step louder here: −1 to
//! −4 become 0x7E (−8), not 0x7F (0). Both decode the same, and the difference is below
//! the step of the segment the sample is in.
//!
//! ```
//! use bidi_audio::dsp::g711::{decode_mulaw, encode_mulaw, mulaw_decode, mulaw_encode};
//!
//! assert_eq!(mulaw_encode(0), 0xFF);
//! assert_eq!(mulaw_decode(0x80), 32_124);
//! let mut codes = Vec::new();
//! encode_mulaw(&[0, 1_000, -1_000], &mut codes);
//! let mut pcm = Vec::new();
//! decode_mulaw(&codes, &mut pcm);
//! assert_eq!(pcm, [0, 988, -988]);
//! ```

/// μ-law's bias, on 14-bit magnitudes.
const ULAW_BIAS: i32 = 0x21;
/// The largest 14-bit magnitude μ-law encodes before saturating.
const ULAW_CLIP: i32 = 8_159;
/// The top of each μ-law segment (14-bit magnitude plus bias).
const ULAW_SEGMENT_END: [i32; 8] = [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF];
/// The top of each A-law segment (13-bit magnitude).
const ALAW_SEGMENT_END: [i32; 8] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];

/// The segment of `value`: the first whose end it does not exceed (8: beyond the last).
const fn segment(value: i32, ends: &[i32; 8]) -> i32 {
    let mut seg = 0;
    while seg < 8 {
        if value <= ends[seg] {
            return seg as i32;
        }
        seg += 1;
    }
    8
}

/// The μ-law code of a 16-bit sample.
///
/// ```
/// assert_eq!(bidi_audio::dsp::g711::mulaw_encode(i16::MAX), 0x80);
/// assert_eq!(bidi_audio::dsp::g711::mulaw_encode(i16::MIN), 0x00);
/// ```
pub const fn mulaw_encode(sample: i16) -> u8 {
    let mut pcm = (sample as i32) >> 2;
    let mask = if pcm < 0 {
        pcm = -pcm;
        0x7F
    } else {
        0xFF
    };
    if pcm > ULAW_CLIP {
        pcm = ULAW_CLIP;
    }
    pcm += ULAW_BIAS;
    let seg = segment(pcm, &ULAW_SEGMENT_END);
    let code = if seg >= 8 {
        0x7F
    } else {
        (seg << 4) | ((pcm >> (seg + 1)) & 0xF)
    };
    (code ^ mask) as u8
}

/// The 16-bit sample of a μ-law code, computed (the table [`mulaw_decode`] reads is built
/// with it).
const fn mulaw_expand(code: u8) -> i16 {
    let u = !code as i32;
    let mut t = ((u & 0x0F) << 3) + 0x84;
    t <<= (u & 0x70) >> 4;
    (if u & 0x80 != 0 { 0x84 - t } else { t - 0x84 }) as i16
}

/// The 16-bit sample of an A-law code, computed.
const fn alaw_expand(code: u8) -> i16 {
    let a = (code ^ 0x55) as i32;
    let mut t = (a & 0x0F) << 4;
    let seg = (a & 0x70) >> 4;
    match seg {
        0 => t += 8,
        1 => t += 0x108,
        _ => {
            t += 0x108;
            t <<= seg - 1;
        }
    }
    (if a & 0x80 != 0 { t } else { -t }) as i16
}

/// Every code's sample: A-law when `alaw`, else μ-law.
const fn table(alaw: bool) -> [i16; 256] {
    let mut out = [0; 256];
    let mut code = 0;
    while code < 256 {
        out[code] = if alaw {
            alaw_expand(code as u8)
        } else {
            mulaw_expand(code as u8)
        };
        code += 1;
    }
    out
}

const MULAW_TABLE: [i16; 256] = table(false);
const ALAW_TABLE: [i16; 256] = table(true);

/// The 16-bit sample of a μ-law code.
pub const fn mulaw_decode(code: u8) -> i16 {
    MULAW_TABLE[code as usize]
}

/// The A-law code of a 16-bit sample.
///
/// ```
/// assert_eq!(bidi_audio::dsp::g711::alaw_encode(0), 0xD5);
/// assert_eq!(bidi_audio::dsp::g711::alaw_decode(0xD5), 8);
/// ```
pub const fn alaw_encode(sample: i16) -> u8 {
    let mut pcm = (sample as i32) >> 3;
    let mask = if pcm >= 0 {
        0xD5
    } else {
        pcm = -pcm - 1;
        0x55
    };
    let seg = segment(pcm, &ALAW_SEGMENT_END);
    let code = if seg >= 8 {
        0x7F
    } else if seg < 2 {
        (seg << 4) | ((pcm >> 1) & 0xF)
    } else {
        (seg << 4) | ((pcm >> seg) & 0xF)
    };
    (code ^ mask) as u8
}

/// The 16-bit sample of an A-law code.
pub const fn alaw_decode(code: u8) -> i16 {
    ALAW_TABLE[code as usize]
}

/// Appends the μ-law codes of `samples` to `out`.
pub fn encode_mulaw(samples: &[i16], out: &mut Vec<u8>) {
    out.extend(samples.iter().map(|&s| mulaw_encode(s)));
}

/// Appends the samples of the μ-law `codes` to `out`.
pub fn decode_mulaw(codes: &[u8], out: &mut Vec<i16>) {
    out.extend(codes.iter().map(|&c| mulaw_decode(c)));
}

/// Appends the A-law codes of `samples` to `out`.
pub fn encode_alaw(samples: &[i16], out: &mut Vec<u8>) {
    out.extend(samples.iter().map(|&s| alaw_encode(s)));
}

/// Appends the samples of the A-law `codes` to `out`.
pub fn decode_alaw(codes: &[u8], out: &mut Vec<i16>) {
    out.extend(codes.iter().map(|&c| alaw_decode(c)));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (sample, μ-law, A-law) from CPython 3.11's `audioop.lin2ulaw` / `lin2alaw`.
    const ENCODED: [(i16, u8, u8); 33] = [
        (-32768, 0, 42),
        (-32767, 0, 42),
        (-30000, 2, 40),
        (-20000, 12, 38),
        (-8159, 31, 10),
        (-4096, 47, 26),
        (-1000, 78, 122),
        (-257, 103, 69),
        (-132, 111, 93),
        (-100, 114, 83),
        (-33, 122, 87),
        (-32, 123, 84),
        (-4, 126, 85),
        (-1, 126, 85),
        (0, 255, 213),
        (1, 255, 213),
        (2, 255, 213),
        (3, 255, 213),
        (4, 254, 213),
        (31, 251, 212),
        (32, 251, 215),
        (33, 251, 215),
        (100, 242, 211),
        (132, 239, 221),
        (133, 239, 221),
        (256, 231, 197),
        (1000, 206, 250),
        (4095, 175, 154),
        (8158, 159, 138),
        (8159, 159, 138),
        (20000, 140, 166),
        (32124, 128, 170),
        (32767, 128, 170),
    ];

    #[test]
    fn encoding_matches_the_reference() {
        for (sample, ulaw, alaw) in ENCODED {
            assert_eq!(mulaw_encode(sample), ulaw, "μ-law of {sample}");
            assert_eq!(alaw_encode(sample), alaw, "A-law of {sample}");
        }
    }

    /// Where each μ-law code's run of samples starts, from CPython 3.11's `audioop.lin2ulaw`
    /// over every `i16`: runs in the codes' order of loudness, 0x00 (most negative) to 0x7E,
    /// then 0xFF (zero) down to 0x80 (0x7F, negative zero, is never an encoder's output).
    const MULAW_RUN_STARTS: [i16; 255] = [
        -32768, -31608, -30584, -29560, -28536, -27512, -26488, -25464, -24440, -23416, -22392,
        -21368, -20344, -19320, -18296, -17272, -16248, -15736, -15224, -14712, -14200, -13688,
        -13176, -12664, -12152, -11640, -11128, -10616, -10104, -9592, -9080, -8568, -8056, -7800,
        -7544, -7288, -7032, -6776, -6520, -6264, -6008, -5752, -5496, -5240, -4984, -4728, -4472,
        -4216, -3960, -3832, -3704, -3576, -3448, -3320, -3192, -3064, -2936, -2808, -2680, -2552,
        -2424, -2296, -2168, -2040, -1912, -1848, -1784, -1720, -1656, -1592, -1528, -1464, -1400,
        -1336, -1272, -1208, -1144, -1080, -1016, -952, -888, -856, -824, -792, -760, -728, -696,
        -664, -632, -600, -568, -536, -504, -472, -440, -408, -376, -360, -344, -328, -312, -296,
        -280, -264, -248, -232, -216, -200, -184, -168, -152, -136, -120, -112, -104, -96, -88,
        -80, -72, -64, -56, -48, -40, -32, -24, -16, -8, 0, 4, 12, 20, 28, 36, 44, 52, 60, 68, 76,
        84, 92, 100, 108, 116, 124, 140, 156, 172, 188, 204, 220, 236, 252, 268, 284, 300, 316,
        332, 348, 364, 380, 412, 444, 476, 508, 540, 572, 604, 636, 668, 700, 732, 764, 796, 828,
        860, 892, 956, 1020, 1084, 1148, 1212, 1276, 1340, 1404, 1468, 1532, 1596, 1660, 1724,
        1788, 1852, 1916, 2044, 2172, 2300, 2428, 2556, 2684, 2812, 2940, 3068, 3196, 3324, 3452,
        3580, 3708, 3836, 3964, 4220, 4476, 4732, 4988, 5244, 5500, 5756, 6012, 6268, 6524, 6780,
        7036, 7292, 7548, 7804, 8060, 8572, 9084, 9596, 10108, 10620, 11132, 11644, 12156, 12668,
        13180, 13692, 14204, 14716, 15228, 15740, 16252, 17276, 18300, 19324, 20348, 21372, 22396,
        23420, 24444, 25468, 26492, 27516, 28540, 29564, 30588, 31612,
    ];

    /// Where each A-law code's run of samples starts, from CPython 3.11's `audioop.lin2alaw`
    /// over every `i16`: runs in the codes' order of loudness, magnitudes 0x7F down to 0 with
    /// the sign bit clear, then 0 up to 0x7F with it set, each code XOR 0x55.
    const ALAW_RUN_STARTS: [i16; 256] = [
        -32768, -31744, -30720, -29696, -28672, -27648, -26624, -25600, -24576, -23552, -22528,
        -21504, -20480, -19456, -18432, -17408, -16384, -15872, -15360, -14848, -14336, -13824,
        -13312, -12800, -12288, -11776, -11264, -10752, -10240, -9728, -9216, -8704, -8192, -7936,
        -7680, -7424, -7168, -6912, -6656, -6400, -6144, -5888, -5632, -5376, -5120, -4864, -4608,
        -4352, -4096, -3968, -3840, -3712, -3584, -3456, -3328, -3200, -3072, -2944, -2816, -2688,
        -2560, -2432, -2304, -2176, -2048, -1984, -1920, -1856, -1792, -1728, -1664, -1600, -1536,
        -1472, -1408, -1344, -1280, -1216, -1152, -1088, -1024, -992, -960, -928, -896, -864, -832,
        -800, -768, -736, -704, -672, -640, -608, -576, -544, -512, -496, -480, -464, -448, -432,
        -416, -400, -384, -368, -352, -336, -320, -304, -288, -272, -256, -240, -224, -208, -192,
        -176, -160, -144, -128, -112, -96, -80, -64, -48, -32, -16, 0, 16, 32, 48, 64, 80, 96, 112,
        128, 144, 160, 176, 192, 208, 224, 240, 256, 272, 288, 304, 320, 336, 352, 368, 384, 400,
        416, 432, 448, 464, 480, 496, 512, 544, 576, 608, 640, 672, 704, 736, 768, 800, 832, 864,
        896, 928, 960, 992, 1024, 1088, 1152, 1216, 1280, 1344, 1408, 1472, 1536, 1600, 1664, 1728,
        1792, 1856, 1920, 1984, 2048, 2176, 2304, 2432, 2560, 2688, 2816, 2944, 3072, 3200, 3328,
        3456, 3584, 3712, 3840, 3968, 4096, 4352, 4608, 4864, 5120, 5376, 5632, 5888, 6144, 6400,
        6656, 6912, 7168, 7424, 7680, 7936, 8192, 8704, 9216, 9728, 10240, 10752, 11264, 11776,
        12288, 12800, 13312, 13824, 14336, 14848, 15360, 15872, 16384, 17408, 18432, 19456, 20480,
        21504, 22528, 23552, 24576, 25600, 26624, 27648, 28672, 29696, 30720, 31744,
    ];

    /// The μ-law codes from the most negative to the most positive (no negative zero).
    fn mulaw_codes_by_loudness() -> impl Iterator<Item = u8> {
        (0x00..=0x7Eu8).chain((0x80..=0xFFu8).rev())
    }

    /// The A-law codes from the most negative to the most positive.
    fn alaw_codes_by_loudness() -> impl Iterator<Item = u8> {
        (0..0x80u8)
            .rev()
            .chain((0..0x80u8).map(|m| m | 0x80))
            .map(|c| c ^ 0x55)
    }

    /// Checks `encode` on every `i16` against runs starting at `starts`, coded `codes`.
    fn check_runs(name: &str, encode: fn(i16) -> u8, starts: &[i16], codes: &[u8]) {
        assert_eq!(starts.len(), codes.len(), "{name}");
        assert_eq!(starts[0], i16::MIN, "{name}");
        for (run, (&start, &code)) in starts.iter().zip(codes).enumerate() {
            let end = starts.get(run + 1).map_or(i16::MAX, |&next| next - 1);
            for sample in start..=end {
                assert_eq!(encode(sample), code, "{name} of {sample}");
            }
        }
    }

    #[test]
    fn every_sample_encodes_as_audioop_does() {
        let codes: Vec<u8> = mulaw_codes_by_loudness().collect();
        check_runs("μ-law", mulaw_encode, &MULAW_RUN_STARTS, &codes);
        let codes: Vec<u8> = alaw_codes_by_loudness().collect();
        check_runs("A-law", alaw_encode, &ALAW_RUN_STARTS, &codes);
    }

    #[test]
    fn decoding_matches_the_standards_values() {
        // μ-law: 0x00/0x80 the extremes, 0x7F/0xFF the two zeros.
        for (code, sample) in [
            (0x00, -32_124),
            (0x7F, 0),
            (0x80, 32_124),
            (0xFF, 0),
            (0x0F, -16_764),
            (0x70, -120),
        ] {
            assert_eq!(mulaw_decode(code), sample, "μ-law {code:#04x}");
        }
        // A-law: 0xD5/0x55 the smallest magnitudes, 0xAA/0x2A the largest.
        for (code, sample) in [
            (0xD5, 8),
            (0x55, -8),
            (0xAA, 32_256),
            (0x2A, -32_256),
            (0x00, -5_504),
            (0x80, 5_504),
        ] {
            assert_eq!(alaw_decode(code), sample, "A-law {code:#04x}");
        }
    }

    #[test]
    fn every_code_survives_a_round_trip() {
        for code in 0..=255u8 {
            let back = mulaw_encode(mulaw_decode(code));
            // 0x7F (negative zero) decodes to 0, which encodes as 0xFF.
            assert!(
                back == code || (code == 0x7F && back == 0xFF),
                "μ-law {code:#04x} → {back:#04x}"
            );
            assert_eq!(alaw_encode(alaw_decode(code)), code, "A-law {code:#04x}");
        }
    }

    #[test]
    fn decoding_rises_with_the_codes_loudness() {
        let ulaw: Vec<i16> = mulaw_codes_by_loudness().map(mulaw_decode).collect();
        assert!(ulaw.windows(2).all(|w| w[0] < w[1]), "{ulaw:?}");
        // Negative zero sits between 0x7E and 0xFF.
        assert!(
            mulaw_decode(0x7E) < mulaw_decode(0x7F) && mulaw_decode(0x7F) == mulaw_decode(0xFF)
        );
        let alaw: Vec<i16> = alaw_codes_by_loudness().map(alaw_decode).collect();
        assert!(alaw.windows(2).all(|w| w[0] < w[1]), "{alaw:?}");
        // The levels are symmetric about zero.
        for code in 0..0x80u8 {
            assert_eq!(
                mulaw_decode(code),
                -mulaw_decode(code | 0x80),
                "μ-law {code:#04x}"
            );
            assert_eq!(
                alaw_decode(code),
                -alaw_decode(code | 0x80),
                "A-law {code:#04x}"
            );
        }
    }

    fn snr_db(codec: impl Fn(i16) -> i16) -> f64 {
        let (mut signal, mut noise) = (0.0f64, 0.0f64);
        for n in 0..8_000 {
            // 1 kHz at -10 dBFS, 8 kHz.
            let x = 0.316
                * 32_767.0
                * (2.0 * std::f64::consts::PI * 1_000.0 * f64::from(n) / 8_000.0 + 0.3).sin();
            let s = x.round() as i16;
            let e = f64::from(codec(s)) - f64::from(s);
            signal += f64::from(s) * f64::from(s);
            noise += e * e;
        }
        10.0 * (signal / noise).log10()
    }

    #[test]
    fn a_tone_keeps_telephone_quality() {
        let ulaw = snr_db(|s| mulaw_decode(mulaw_encode(s)));
        let alaw = snr_db(|s| alaw_decode(alaw_encode(s)));
        assert!(ulaw > 35.0, "μ-law SNR {ulaw:.1} dB");
        assert!(alaw > 35.0, "A-law SNR {alaw:.1} dB");
    }

    #[test]
    fn the_slice_helpers_append() {
        let mut codes = vec![1];
        encode_alaw(&[0, -1], &mut codes);
        assert_eq!(codes, [1, 0xD5, 0x55]);
        let mut pcm = vec![7];
        decode_alaw(&[0xD5], &mut pcm);
        assert_eq!(pcm, [7, 8]);
    }
}
