//! [`Biquad`]: second-order IIR filters (RBJ cookbook, transposed direct form II) for the
//! canceller's high-pass and the delay estimator's anti-alias low-pass.

/// A second-order IIR filter section.
#[derive(Debug, Clone)]
pub(crate) struct Biquad {
    b: [f32; 3],
    a: [f32; 2],
    z: [f32; 2],
}

impl Biquad {
    /// A high-pass at `cutoff` Hz for `rate` Hz with quality `q` (1/√2: Butterworth).
    pub(crate) fn high_pass(cutoff: f32, rate: f32, q: f32) -> Self {
        let (cos, alpha) = Self::angle(cutoff, rate, q);
        let a0 = 1.0 + alpha;
        let b0 = (1.0 + cos) / 2.0 / a0;
        Self {
            b: [b0, -2.0 * b0, b0],
            a: [-2.0 * cos / a0, (1.0 - alpha) / a0],
            z: [0.0; 2],
        }
    }

    /// A low-pass at `cutoff` Hz for `rate` Hz with quality `q`.
    pub(crate) fn low_pass(cutoff: f32, rate: f32, q: f32) -> Self {
        let (cos, alpha) = Self::angle(cutoff, rate, q);
        let a0 = 1.0 + alpha;
        let b0 = (1.0 - cos) / 2.0 / a0;
        Self {
            b: [b0, 2.0 * b0, b0],
            a: [-2.0 * cos / a0, (1.0 - alpha) / a0],
            z: [0.0; 2],
        }
    }

    fn angle(cutoff: f32, rate: f32, q: f32) -> (f32, f32) {
        let w = std::f32::consts::TAU * cutoff / rate;
        (w.cos(), w.sin() / (2.0 * q))
    }

    /// Filters one sample.
    pub(crate) fn step(&mut self, x: f32) -> f32 {
        let y = self.b[0] * x + self.z[0];
        self.z[0] = self.b[1] * x - self.a[0] * y + self.z[1];
        self.z[1] = self.b[2] * x - self.a[1] * y;
        y
    }

    /// Filters `samples` in place.
    pub(crate) fn process(&mut self, samples: &mut [f32]) {
        for x in samples {
            *x = self.step(*x);
        }
    }
}
