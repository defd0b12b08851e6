//! Audio IO for bidi: `BidiAudioIO` captures the microphone and plays the model's speech
//! through cpal, moves samples between the real-time audio callbacks and tokio through
//! lock-free `ringbuf` SPSC buffers, resamples with `rubato` between the device's rate and
//! the model's, and flushes playback within one device period when the user interrupts.
//!
//! - [`BidiAudioIO`]: the options; [`BidiAudioIO::input`] gives a [`BidiAudioInput`]
//!   (microphone), [`BidiAudioIO::output`] a [`BidiAudioOutput`] (speaker). Both open their
//!   device at `start`, with the model's audio config from the agent.
//! - [`probe`] / [`BidiAudioIO::check`]: whether a device can really be opened, before a
//!   conversation depends on it ([`AudioError::NoDevice`] when not).
//! - [`WavInput`] / [`WavOutput`]: a WAV file in place of the microphone / the speaker.
//! - `aec` (feature `aec`, default): echo cancellation and noise suppression.
//! - [`dsp`]: PCM conversion, channel mixing, the streaming resampler and framing.
//! - [`rt`]: the bodies of the cpal callbacks and their lock-free hand-off.
//! - [`AudioError`]: what went wrong, with which device or file.
//!
//! alsa-lib's own `ALSA lib ...` messages are caught on the threads that call into ALSA and
//! logged with `tracing` at debug, never printed.
//!
//! See `docs/audio.md` for devices, rates, buffers and barge-in.
//!
//! ```
//! use std::sync::Arc;
//! use bidi_audio::WavOutput;
//! use bidi_types::{
//!     AgentView, AudioConfig, AudioFormat, BidiAgentEvent, BidiAudioStreamEvent, BidiOutput,
//!     Channels, ModelConfig, SampleRate,
//! };
//!
//! struct Agent;
//! impl AgentView for Agent {
//!     fn model_config(&self) -> ModelConfig {
//!         ModelConfig::new("m", AudioConfig::new(SampleRate::Hz16000, SampleRate::Hz24000))
//!     }
//!     fn agent_id(&self) -> &str { "a" }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), bidi_types::IoError> {
//! let path = std::env::temp_dir().join(format!("bidi-audio-doc-{}.wav", std::process::id()));
//! let mut speaker = WavOutput::new(&path);
//! speaker.start(Arc::new(Agent)).await?;
//! let chunk = BidiAudioStreamEvent::from_bytes(&[0u8; 960], AudioFormat::Pcm, SampleRate::Hz24000, Channels::Mono);
//! speaker.write(&BidiAgentEvent::from(chunk)).await?;
//! speaker.stop().await?;
//! assert_eq!(speaker.frames_written(), 480); // 20 ms at 24 kHz
//! # std::fs::remove_file(&path)?;
//! # Ok(())
//! # }
//! ```

mod alsa_log;
mod device;
mod error;
mod input;
mod io;
mod options;
mod output;
mod probe;
mod wav;

#[cfg(feature = "aec")]
pub mod aec;
pub mod dsp;
pub mod rt;

pub use device::{DeviceSelector, list_devices};
pub use error::{AudioError, Direction};
pub use input::BidiAudioInput;
pub use io::BidiAudioIO;
pub use options::{InputOptions, OutputOptions};
pub use output::BidiAudioOutput;
pub use probe::{DeviceInfo, probe};
pub use wav::{WavInput, WavOutput};
