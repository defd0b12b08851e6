//! Generated speech stand-ins: a tone as 16-bit little-endian PCM, what [`Action::Speak`]
//! sends when a scenario gives no recording.
//!
//! [`Action::Speak`]: crate::Action::Speak

/// `ms` milliseconds of a sine at `freq_hz`, amplitude about a quarter of full scale, as
/// mono 16-bit little-endian PCM at `rate_hz`. The phase continues from sample `start` so
/// consecutive frames join without clicks.
///
/// ```
/// let pcm = bidi_sim::tone::pcm16(24_000, 20, 440.0, 0);
/// assert_eq!(pcm.len(), 24_000 / 1000 * 20 * 2);
/// ```
pub fn pcm16(rate_hz: u32, ms: u64, freq_hz: f32, start: u64) -> Vec<u8> {
    let frames = u64::from(rate_hz) * ms / 1000;
    let step = std::f64::consts::TAU * f64::from(freq_hz) / f64::from(rate_hz.max(1));
    (start..start + frames)
        .flat_map(|n| {
            let s = ((n as f64 * step).sin() * 8000.0) as i16;
            s.to_le_bytes()
        })
        .collect()
}

/// Splits `text` into pieces of at most `chunk` characters (all of it when `chunk` is 0),
/// on character boundaries, as [`Action::Say`](crate::Action::Say) streams partial text.
///
/// ```
/// assert_eq!(bidi_sim::tone::pieces("héllo", 2), ["hé", "ll", "o"]);
/// assert_eq!(bidi_sim::tone::pieces("hello", 0), ["hello"]);
/// ```
pub fn pieces(text: &str, chunk: usize) -> Vec<String> {
    if chunk == 0 || text.is_empty() {
        return vec![text.to_owned()];
    }
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(chunk).map(|c| c.iter().collect()).collect()
}
