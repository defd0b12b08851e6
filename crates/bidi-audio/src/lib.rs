//! Audio IO for bidi: `BidiAudioIO` captures the microphone and plays the model's speech
//! through cpal, moves samples between the real-time audio callbacks and tokio through
//! lock-free `ringbuf` SPSC buffers, resamples with `rubato` between the device's rate and
//! the model's, and flushes playback within one device period when the user interrupts.
//!
//! - [`dsp`]: PCM conversion, channel mixing, the streaming resampler and framing.
//! - [`rt`]: the bodies of the cpal callbacks and their lock-free hand-off.
//!
//! See `docs/audio.md` for devices, rates, buffers and barge-in.

mod device;
mod error;
mod input;
mod options;
mod output;
mod wav;

pub mod dsp;
pub mod rt;

pub use device::DeviceSelector;
pub use error::{AudioError, Direction};
pub use input::BidiAudioInput;
pub use options::{BidiAudioIO, InputOptions, OutputOptions};
pub use output::BidiAudioOutput;
pub use wav::{WavInput, WavOutput};
