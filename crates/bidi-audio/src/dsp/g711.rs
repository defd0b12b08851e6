//! ITU-T G.711: μ-law and A-law, 8-bit logarithmic companding of 16-bit linear PCM.
//!
//! Telephone networks carry voice as G.711 at 8 kHz: μ-law in North America and Japan (and
//! in Twilio Media Streams, `audio/x-mulaw`), A-law in Europe and on many SIP trunks. The
//! encoders take a 16-bit sample to its 8-bit code by the standard's segments (the same
//! results as the widely used Sun reference code and Python's `audioop`); the decoders are
//! 256-entry tables built at compile time.
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
    fn decoding_is_monotonic_along_the_codes_magnitude() {
        // Positive μ-law codes 0xFF down to 0x80 grow; A-law's sign-and-magnitude after
        // removing the 0x55 inversion grows with the magnitude bits.
        let ulaw: Vec<i16> = (0x80..=0xFFu8).rev().map(mulaw_decode).collect();
        assert!(ulaw.windows(2).all(|w| w[0] < w[1]), "{ulaw:?}");
        let alaw: Vec<i16> = (0..0x80u8)
            .map(|m| alaw_decode((m | 0x80) ^ 0x55))
            .collect();
        assert!(alaw.windows(2).all(|w| w[0] < w[1]), "{alaw:?}");
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
