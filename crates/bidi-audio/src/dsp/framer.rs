//! [`Framer`]: cuts a stream of samples into fixed-size 16-bit PCM frames.

use std::collections::VecDeque;

use super::convert::sample_to_i16;

/// Cuts a continuous stream of `f32` samples into frames of exactly `frame_samples` samples
/// (interleaved, so frames × channels), each encoded as 16-bit little-endian PCM. Samples
/// left over wait for the next [`push`](Self::push).
///
/// ```
/// use std::collections::VecDeque;
/// use bidi_audio::dsp::Framer;
///
/// let mut framer = Framer::new(2);
/// let mut frames = VecDeque::new();
/// framer.push(&[0.5, 0.5, 0.5], &mut frames);
/// assert_eq!(frames.len(), 1); // two samples = one frame of 4 bytes; one sample waits
/// assert_eq!(frames[0], [0x00, 0x40, 0x00, 0x40]);
/// assert_eq!(framer.pending_samples(), 1);
/// ```
#[derive(Debug)]
pub struct Framer {
    frame_bytes: usize,
    current: Vec<u8>,
}

impl Framer {
    /// A framer emitting frames of `frame_samples` samples (at least 1).
    pub fn new(frame_samples: usize) -> Self {
        let frame_bytes = frame_samples.max(1) * 2;
        Self {
            frame_bytes,
            current: Vec::with_capacity(frame_bytes),
        }
    }

    /// The size of each frame in bytes.
    pub fn frame_bytes(&self) -> usize {
        self.frame_bytes
    }

    /// Samples waiting for a full frame.
    pub fn pending_samples(&self) -> usize {
        self.current.len() / 2
    }

    /// Adds samples, appending every completed frame to `out`.
    pub fn push(&mut self, samples: &[f32], out: &mut VecDeque<Vec<u8>>) {
        for &s in samples {
            self.current
                .extend_from_slice(&sample_to_i16(s).to_le_bytes());
            if self.current.len() == self.frame_bytes {
                let next = Vec::with_capacity(self.frame_bytes);
                out.push_back(std::mem::replace(&mut self.current, next));
            }
        }
    }

    /// Takes the incomplete frame, if any (for the end of a finite source).
    pub fn take_partial(&mut self) -> Option<Vec<u8>> {
        if self.current.is_empty() {
            None
        } else {
            Some(std::mem::replace(
                &mut self.current,
                Vec::with_capacity(self.frame_bytes),
            ))
        }
    }

    /// Drops the incomplete frame.
    pub fn clear(&mut self) {
        self.current.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_exact_and_leftovers_carry_over() {
        let mut framer = Framer::new(320); // 20 ms of 16 kHz mono
        let mut out = VecDeque::new();
        let samples = vec![0.25f32; 1000];
        framer.push(&samples, &mut out);
        assert_eq!(out.len(), 3);
        assert!(out.iter().all(|f| f.len() == 640));
        assert_eq!(framer.pending_samples(), 40);
        framer.push(&samples[..280], &mut out);
        assert_eq!(out.len(), 4);
        assert_eq!(framer.pending_samples(), 0);
        assert!(framer.take_partial().is_none());
    }

    #[test]
    fn sample_order_is_kept_across_frames() {
        let mut framer = Framer::new(3);
        let mut out = VecDeque::new();
        let samples: Vec<f32> = (0..7)
            .map(|i| f32::from(i16::try_from(i).unwrap_or(0)) / 32_768.0)
            .collect();
        framer.push(&samples, &mut out);
        let flat: Vec<i16> = out
            .iter()
            .flatten()
            .copied()
            .collect::<Vec<u8>>()
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect();
        assert_eq!(flat, [0, 1, 2, 3, 4, 5]);
        let partial = framer.take_partial().unwrap_or_default();
        assert_eq!(partial, 6i16.to_le_bytes());
        framer.push(&[0.1], &mut out);
        framer.clear();
        assert_eq!(framer.pending_samples(), 0);
    }
}
