//! [`BidiAudioIO`]: the microphone and the speaker together, each side with its options.

use std::time::Duration;

use crate::options::{InputOptions, OutputOptions};
use crate::{
    AudioError, BidiAudioInput, BidiAudioOutput, DeviceInfo, DeviceSelector, Direction, probe,
};

/// Microphone and speaker for a bidi agent: the Rust `BidiAudioIO`.
///
/// [`input`](Self::input) and [`output`](Self::output) each build a new
/// [`BidiInput`](bidi_types::BidiInput) / [`BidiOutput`](bidi_types::BidiOutput), which open
/// their device at `start` with the model's audio config from the agent.
///
/// ```
/// use std::time::Duration;
/// use bidi_audio::{BidiAudioIO, DeviceSelector};
///
/// let io = BidiAudioIO::new()
///     .input_device_name("USB")
///     .output_device_index(1)
///     .output_buffer_size(Duration::from_secs(30))
///     .output_frames_per_buffer(256);
/// assert_eq!(io.input_options().device, DeviceSelector::Name("USB".into()));
/// let (_mic, _speaker) = (io.input(), io.output());
/// ```
///
/// With the `aec` feature (default), the microphone cancels the echo of the speaker built
/// by the same `BidiAudioIO` (or a clone of it): see `echo_mode`.
#[derive(Debug, Clone, Default)]
pub struct BidiAudioIO {
    input: InputOptions,
    output: OutputOptions,
    #[cfg(feature = "aec")]
    echo: std::sync::Arc<crate::aec::EchoLink>,
}

impl BidiAudioIO {
    /// Default devices and options.
    pub fn new() -> Self {
        Self::default()
    }

    /// From explicit options.
    pub fn with_options(input: InputOptions, output: OutputOptions) -> Self {
        Self {
            input,
            output,
            #[cfg(feature = "aec")]
            echo: std::sync::Arc::default(),
        }
    }

    /// Echo cancellation between this speaker and this microphone (default
    /// [`EchoMode::AecNs`](crate::aec::EchoMode::AecNs)): the far-end reference is what the
    /// speaker's callback plays, the canceller runs on the microphone at the model's rate in
    /// 10 ms frames. It starts once the speaker plays; with the microphone alone, nothing
    /// changes.
    ///
    /// ```
    /// use bidi_audio::{BidiAudioIO, aec::EchoMode};
    /// let io = BidiAudioIO::new().echo_mode(EchoMode::Off);
    /// assert_eq!(io.input_options().echo, EchoMode::Off);
    /// ```
    #[cfg(feature = "aec")]
    pub fn echo_mode(mut self, mode: crate::aec::EchoMode) -> Self {
        self.input.echo = mode;
        self
    }

    /// The microphone options.
    pub fn input_options(&self) -> &InputOptions {
        &self.input
    }

    /// The speaker options.
    pub fn output_options(&self) -> &OutputOptions {
        &self.output
    }

    /// Most captured audio kept queued (the reference's `input_buffer_size`, as a duration).
    pub fn input_buffer_size(mut self, size: Duration) -> Self {
        self.input.buffer_size = Some(size);
        self
    }

    /// Most model audio kept queued (the reference's `output_buffer_size`, as a duration).
    pub fn output_buffer_size(mut self, size: Duration) -> Self {
        self.output.buffer_size = Some(size);
        self
    }

    /// Captures from the `index`th input device (the reference's `input_device_index`).
    pub fn input_device_index(mut self, index: usize) -> Self {
        self.input.device = DeviceSelector::Index(index);
        self
    }

    /// Plays on the `index`th output device (the reference's `output_device_index`).
    pub fn output_device_index(mut self, index: usize) -> Self {
        self.output.device = DeviceSelector::Index(index);
        self
    }

    /// Captures from the device with this name (see [`DeviceSelector::Name`]).
    pub fn input_device_name(mut self, name: impl Into<String>) -> Self {
        self.input.device = DeviceSelector::Name(name.into());
        self
    }

    /// Plays on the device with this name (see [`DeviceSelector::Name`]).
    pub fn output_device_name(mut self, name: impl Into<String>) -> Self {
        self.output.device = DeviceSelector::Name(name.into());
        self
    }

    /// The capture period in frames (the reference's `input_frames_per_buffer`).
    pub fn input_frames_per_buffer(mut self, frames: u32) -> Self {
        self.input.frames_per_buffer = Some(frames);
        self
    }

    /// The playback period in frames (the reference's `output_frames_per_buffer`).
    pub fn output_frames_per_buffer(mut self, frames: u32) -> Self {
        self.output.frames_per_buffer = Some(frames);
        self
    }

    /// The duration of each `bidi_audio_input` event (default 20 ms).
    pub fn input_frame(mut self, frame: Duration) -> Self {
        self.input.frame = frame;
        self
    }

    /// The playback prebuffer (default 80 ms).
    pub fn output_prebuffer(mut self, prebuffer: Duration) -> Self {
        self.output.prebuffer = prebuffer;
        self
    }

    /// Checks that both devices can be opened (see [`probe`](crate::probe)): the microphone,
    /// then the speaker. The first that cannot is the error, typically
    /// [`AudioError::NoDevice`] naming it.
    ///
    /// ```no_run
    /// use bidi_audio::BidiAudioIO;
    /// let io = BidiAudioIO::new();
    /// match io.check() {
    ///     Ok((mic, speaker)) => println!("{mic}; {speaker}"),
    ///     Err(e) => println!("no audio: {e}"),
    /// }
    /// ```
    pub fn check(&self) -> Result<(DeviceInfo, DeviceInfo), AudioError> {
        let input = probe(Direction::Input, &self.input.device)?;
        let output = probe(Direction::Output, &self.output.device)?;
        Ok((input, output))
    }

    /// A new microphone input.
    pub fn input(&self) -> BidiAudioInput {
        let input = BidiAudioInput::new(self.input.clone());
        #[cfg(feature = "aec")]
        let input = input.with_echo(std::sync::Arc::clone(&self.echo));
        input
    }

    /// A new speaker output.
    pub fn output(&self) -> BidiAudioOutput {
        let output = BidiAudioOutput::new(self.output.clone());
        #[cfg(feature = "aec")]
        let output = output.with_echo(std::sync::Arc::clone(&self.echo));
        output
    }
}
