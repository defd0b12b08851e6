//! ITU-T G.711 companding, the telephone audio the simulators can speak: μ-law (North
//! America, Japan, Twilio Media Streams, OpenAI's `audio/pcmu`) and A-law (Europe, many SIP
//! trunks, OpenAI's `audio/pcma`), one byte per sample, 8 kHz.
//!
//! A 16-bit sample is first cut to the standard's linear range by dropping its low bits
//! (14 bits for μ-law, 13 for A-law, rounding toward −∞ as an arithmetic shift does), then
//! coded by the standard's eight segments of sixteen steps: μ-law on the magnitude (a
//! negative value negated, as the Sun code does; ITU-T G.191's reference takes the one's
//! complement, a step quieter for a few samples) plus a bias of 0x84 (in 16-bit units)
//! clipped at 32635, its code complemented; A-law on the
//! magnitude (a negative value's one's complement), its code's even bits inverted (XOR
//! 0x55). Decoding returns the middle of the step. The results are those of the Sun
//! reference code and Python's `audioop`, for every sample and every code.
//!
//! ```
//! use bidi_sim::g711;
//!
//! assert_eq!(g711::mulaw_encode(0), 0xFF);
//! assert_eq!(g711::mulaw_decode(0x80), 32_124);
//! assert_eq!(g711::alaw_encode(0), 0xD5);
//! assert_eq!(g711::alaw_decode(0xD5), 8);
//! let pcm: Vec<u8> = [0i16, 1_000, -1_000].iter().flat_map(|s| s.to_le_bytes()).collect();
//! let codes = g711::pcm16_to_mulaw(&pcm);
//! assert_eq!(codes.len(), 3);
//! let back = g711::mulaw_to_pcm16(&codes);
//! assert_eq!(back, [0, 0, 220, 3, 36, 252]); // 0, 988, -988
//! ```

/// μ-law's bias, added to a 16-bit magnitude before it is coded.
const MULAW_BIAS: i32 = 0x84;
/// The largest 16-bit magnitude μ-law codes without saturating.
const MULAW_CLIP: i32 = 32_635;

/// The μ-law code of a 16-bit sample.
///
/// ```
/// assert_eq!(bidi_sim::g711::mulaw_encode(i16::MAX), 0x80);
/// assert_eq!(bidi_sim::g711::mulaw_encode(i16::MIN), 0x00);
/// ```
pub const fn mulaw_encode(sample: i16) -> u8 {
    // The 14-bit value (low two bits dropped), its magnitude back in 16-bit units.
    let value = (sample as i32) >> 2;
    let (sign, mut magnitude) = if value < 0 {
        (0x80, -value << 2)
    } else {
        (0, value << 2)
    };
    if magnitude > MULAW_CLIP {
        magnitude = MULAW_CLIP;
    }
    let biased = magnitude + MULAW_BIAS; // 0x84..=0x7FFF
    // The segment: how far the top bit is above bit 7 (the bias's): 0..=7.
    let segment = 24 - biased.leading_zeros() as i32;
    let step = (biased >> (segment + 3)) & 0x0F;
    !((sign | (segment << 4) | step) as u8)
}

/// The 16-bit sample of a μ-law code.
///
/// ```
/// assert_eq!(bidi_sim::g711::mulaw_decode(0xFF), 0);
/// assert_eq!(bidi_sim::g711::mulaw_decode(0x00), -32_124);
/// ```
pub const fn mulaw_decode(code: u8) -> i16 {
    let code = !code;
    let segment = (code >> 4) & 0x07;
    let step = (code & 0x0F) as i32;
    let magnitude = (((step << 3) | MULAW_BIAS) << segment) - MULAW_BIAS;
    (if code & 0x80 != 0 {
        -magnitude
    } else {
        magnitude
    }) as i16
}

/// The A-law code of a 16-bit sample.
///
/// ```
/// assert_eq!(bidi_sim::g711::alaw_encode(i16::MAX), 0xAA);
/// assert_eq!(bidi_sim::g711::alaw_encode(i16::MIN), 0x2A);
/// ```
pub const fn alaw_encode(sample: i16) -> u8 {
    // The 13-bit value (low three bits dropped); a negative one's magnitude is its one's
    // complement, so -1 and 0 are the two smallest steps either side of zero.
    let value = (sample as i32) >> 3;
    let (sign, magnitude) = if value >= 0 {
        (0x80, value)
    } else {
        (0, !value)
    }; // magnitude: 0..=0xFFF
    // Segments 0 and 1 both step by 2 (units of 13 bits); each next one doubles the step.
    let segment = if magnitude < 0x20 {
        0
    } else {
        27 - magnitude.leading_zeros() as i32
    };
    let step = (magnitude >> if segment == 0 { 1 } else { segment }) & 0x0F;
    ((sign | (segment << 4) | step) ^ 0x55) as u8
}

/// The 16-bit sample of an A-law code.
///
/// ```
/// assert_eq!(bidi_sim::g711::alaw_decode(0xAA), 32_256);
/// assert_eq!(bidi_sim::g711::alaw_decode(0x55), -8);
/// ```
pub const fn alaw_decode(code: u8) -> i16 {
    let code = code ^ 0x55;
    let segment = ((code >> 4) & 0x07) as i32;
    let step = (code & 0x0F) as i32;
    // The middle of the step, in 16-bit units: a step is 16 << (segment - 1), 16 in
    // segments 0 and 1; segments from 1 on start at 0x100 << (segment - 1).
    let magnitude = if segment == 0 {
        (step << 4) | 0x08
    } else {
        ((step << 4) | 0x108) << (segment - 1)
    };
    (if code & 0x80 != 0 {
        magnitude
    } else {
        -magnitude
    }) as i16
}

/// μ-law codes of little-endian 16-bit PCM (an odd last byte is ignored).
pub fn pcm16_to_mulaw(pcm: &[u8]) -> Vec<u8> {
    samples(pcm).map(mulaw_encode).collect()
}

/// Little-endian 16-bit PCM of μ-law codes, two bytes per code.
pub fn mulaw_to_pcm16(codes: &[u8]) -> Vec<u8> {
    codes
        .iter()
        .flat_map(|&c| mulaw_decode(c).to_le_bytes())
        .collect()
}

/// A-law codes of little-endian 16-bit PCM (an odd last byte is ignored).
pub fn pcm16_to_alaw(pcm: &[u8]) -> Vec<u8> {
    samples(pcm).map(alaw_encode).collect()
}

/// Little-endian 16-bit PCM of A-law codes, two bytes per code.
pub fn alaw_to_pcm16(codes: &[u8]) -> Vec<u8> {
    codes
        .iter()
        .flat_map(|&c| alaw_decode(c).to_le_bytes())
        .collect()
}

fn samples(pcm: &[u8]) -> impl Iterator<Item = i16> + '_ {
    pcm.chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bidi_audio::dsp::g711 as reference;

    #[test]
    fn every_sample_encodes_as_bidi_audio_does() {
        for sample in i16::MIN..=i16::MAX {
            assert_eq!(
                mulaw_encode(sample),
                reference::mulaw_encode(sample),
                "μ-law {sample}"
            );
            assert_eq!(
                alaw_encode(sample),
                reference::alaw_encode(sample),
                "A-law {sample}"
            );
        }
    }

    #[test]
    fn every_code_decodes_as_bidi_audio_does() {
        for code in 0..=u8::MAX {
            assert_eq!(
                mulaw_decode(code),
                reference::mulaw_decode(code),
                "μ-law {code:#04x}"
            );
            assert_eq!(
                alaw_decode(code),
                reference::alaw_decode(code),
                "A-law {code:#04x}"
            );
        }
    }

    #[test]
    fn a_decoded_code_encodes_to_itself() {
        for code in 0..=u8::MAX {
            // μ-law's two zeros (0x7F, 0xFF) both decode to 0, which encodes as 0xFF.
            let back = mulaw_encode(mulaw_decode(code));
            assert!(
                back == code || (code == 0x7F && back == 0xFF),
                "{code:#04x}"
            );
            assert_eq!(alaw_encode(alaw_decode(code)), code, "{code:#04x}");
        }
    }

    #[test]
    fn byte_helpers_take_little_endian_pairs() {
        let pcm = [0x00, 0x80, 0xFF, 0x7F, 0x01];
        assert_eq!(pcm16_to_mulaw(&pcm), [0x00, 0x80]);
        assert_eq!(pcm16_to_alaw(&pcm), [0x2A, 0xAA]);
        assert_eq!(mulaw_to_pcm16(&[0xFF]), [0, 0]);
        assert_eq!(alaw_to_pcm16(&[0xD5]), [8, 0]);
    }
}
