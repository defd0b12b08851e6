//! Dynamic time warping: how far apart two [`Fingerprint`]s are once their timing is
//! aligned, so the same words said faster or slower still come out close.

use super::features::{CEPSTRA, Fingerprint};

/// Fingerprints whose lengths differ by more than this factor are never compared (their
/// distance is infinite): the same sentence is not said twice or half as fast.
pub const MAX_LENGTH_RATIO: f32 = 2.0;

/// The DTW distance between `a` and `b`: the least total Euclidean distance between aligned
/// frames, along a path of steps (1,0), (0,1) and (1,1) (the diagonal step counts twice),
/// divided by the sum of both lengths, so it reads as the mean distance of a frame pair.
/// The path stays within a band around the diagonal (a quarter of the longer length beyond
/// the length difference). Infinite when either is empty or their lengths are too far
/// apart ([`MAX_LENGTH_RATIO`]).
///
/// ```
/// use bidi_sim::hearing::dtw::distance;
/// use bidi_sim::hearing::features::Fingerprint;
/// let noise: Vec<i16> = (0..16_000u32).map(|n| ((n * 7919 % 6007) as i16 - 3000) * 3).collect();
/// let fp = Fingerprint::of(&noise, 16_000);
/// assert_eq!(distance(&fp, &fp), 0.0);
/// assert!(distance(&fp, &Fingerprint::default()).is_infinite());
/// ```
pub fn distance(a: &Fingerprint, b: &Fingerprint) -> f32 {
    let (a, b) = (a.frames(), b.frames());
    let (n, m) = (a.len(), b.len());
    if n == 0 || m == 0 {
        return f32::INFINITY;
    }
    let (short, long) = (n.min(m) as f32, n.max(m) as f32);
    if long > short * MAX_LENGTH_RATIO {
        return f32::INFINITY;
    }
    let band = n.abs_diff(m) + n.max(m) / 4 + 1;
    // Two rows of the cost matrix: memory grows with one length only.
    let mut previous = vec![f32::INFINITY; m + 1];
    let mut current = vec![f32::INFINITY; m + 1];
    previous[0] = 0.0;
    for i in 1..=n {
        current.fill(f32::INFINITY);
        // Row i's band, scaled to the diagonal of an n×m matrix.
        let centre = i * m / n;
        let lo = centre.saturating_sub(band).max(1);
        let hi = (centre + band).min(m);
        for j in lo..=hi {
            let d = frame_distance(&a[i - 1], &b[j - 1]);
            let best = (previous[j] + d)
                .min(current[j - 1] + d)
                .min(previous[j - 1] + 2.0 * d);
            current[j] = best;
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[m] / (n + m) as f32
}

fn frame_distance(x: &[f32; CEPSTRA], y: &[f32; CEPSTRA]) -> f32 {
    x.iter()
        .zip(y)
        .map(|(p, q)| (p - q) * (p - q))
        .sum::<f32>()
        .sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sweep(ms: u32, from_hz: f32, to_hz: f32) -> Vec<i16> {
        let len = 16 * ms;
        let mut phase = 0.0f32;
        (0..len)
            .map(|n| {
                let f = from_hz + (to_hz - from_hz) * n as f32 / len as f32;
                phase += std::f32::consts::TAU * f / 16_000.0;
                (phase.sin() * 6_000.0) as i16
            })
            .collect()
    }

    #[test]
    fn the_same_sound_slower_is_closer_than_another_sound() {
        let a = Fingerprint::of(&sweep(800, 300.0, 3000.0), 16_000);
        let slower = Fingerprint::of(&sweep(1000, 300.0, 3000.0), 16_000);
        let other = Fingerprint::of(&sweep(800, 3000.0, 300.0), 16_000);
        let (same, different) = (distance(&a, &slower), distance(&a, &other));
        assert!(same * 3.0 < different, "same {same}, different {different}");
        assert!((distance(&a, &slower) - distance(&slower, &a)).abs() < 1e-3);
        let long = Fingerprint::of(&sweep(2000, 300.0, 3000.0), 16_000);
        assert!(distance(&a, &long).is_infinite());
    }
}
