//! Sample processing off the real-time path: PCM conversion, channel mixing, resampling
//! and framing. These run on the tokio side (or the device thread), never in a cpal
//! callback, and reuse their buffers so a steady stream allocates nothing after warm-up.

mod convert;
mod framer;
pub mod g711;
mod mix;
mod resample;

pub use convert::{f32_to_pcm16_bytes, pcm16_bytes_to_f32, sample_to_i16};
pub use framer::Framer;
pub use mix::mix_channels;
pub use resample::StreamResampler;
