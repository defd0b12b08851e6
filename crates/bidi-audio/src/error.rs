//! [`AudioError`]: everything that can go wrong with devices, streams, resamplers and WAV
//! files, each variant naming the device (or file) and what was asked of it.

use std::fmt;
use std::path::PathBuf;

use bidi_types::{AudioFormat, IoError};

/// Which way audio flows through a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Capture (microphone).
    Input,
    /// Playback (speaker).
    Output,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Input => "input",
            Self::Output => "output",
        })
    }
}

/// Why audio IO failed.
///
/// At the [`BidiInput`](bidi_types::BidiInput) / [`BidiOutput`](bidi_types::BidiOutput)
/// boundary it becomes an [`IoError`]: a lost device is [`IoError::Closed`], anything else
/// [`IoError::Other`] wrapping this error.
///
/// ```
/// use bidi_audio::{AudioError, Direction};
/// let e = AudioError::NoDevice {
///     direction: Direction::Output,
///     wanted: "name=<usb>".into(),
///     available: "default, null".into(),
/// };
/// assert_eq!(e.to_string(), "direction=<output>, wanted=<name=<usb>> | no such device (available: default, null)");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AudioError {
    /// No device matches the selector, or the one it names cannot be opened at all for this
    /// direction (such as ALSA's `default` on a machine with no sound card).
    #[error(
        "direction=<{direction}>, wanted=<{wanted}> | no such device (available: {})",
        if available.is_empty() { "none" } else { available }
    )]
    NoDevice {
        /// Capture or playback.
        direction: Direction,
        /// The device tried, as its selector: `default`, `index=<n>` or `name=<text>`.
        wanted: String,
        /// The other devices the host lists for that direction, comma-separated (empty when
        /// it lists none).
        available: String,
    },
    /// The audio host could not list its devices.
    #[error("direction=<{direction}> | could not list devices: {source}")]
    Host {
        /// Capture or playback.
        direction: Direction,
        /// The host's error.
        source: cpal::Error,
    },
    /// The device reports no stream configuration bidi can use.
    #[error("device=<{device}>, direction=<{direction}> | no usable stream config: {reason}")]
    UnsupportedConfig {
        /// The device's name.
        device: String,
        /// Capture or playback.
        direction: Direction,
        /// What was asked and what the device said.
        reason: String,
    },
    /// The device could not open a stream with the chosen config.
    #[error(
        "device=<{device}>, direction=<{direction}>, config=<{config}> | could not open stream: {source}"
    )]
    OpenStream {
        /// The device's name.
        device: String,
        /// Capture or playback.
        direction: Direction,
        /// The config asked for (rate, channels, format, period).
        config: String,
        /// The host's error.
        source: cpal::Error,
    },
    /// The stream opened but would not start.
    #[error("device=<{device}>, direction=<{direction}> | could not start stream: {source}")]
    StartStream {
        /// The device's name.
        device: String,
        /// Capture or playback.
        direction: Direction,
        /// The host's error.
        source: cpal::Error,
    },
    /// The device failed while streaming (unplugged, server gone, ...).
    #[error("device=<{device}>, direction=<{direction}> | device lost mid-stream: {reason}")]
    DeviceLost {
        /// The device's name.
        device: String,
        /// Capture or playback.
        direction: Direction,
        /// What the host reported.
        reason: String,
    },
    /// The thread that owns the device stopped without being asked.
    #[error("direction=<{direction}> | device thread ended: {reason}")]
    DeviceThread {
        /// Capture or playback.
        direction: Direction,
        /// What happened.
        reason: String,
    },
    /// A resampler could not be built for these rates.
    #[error("from=<{from}>, to=<{to}>, channels=<{channels}> | resampler: {reason}")]
    Resampler {
        /// Input rate in Hz.
        from: u32,
        /// Output rate in Hz.
        to: u32,
        /// Channel count.
        channels: usize,
        /// rubato's message.
        reason: String,
    },
    /// The model's audio format is not raw PCM, which is all audio IO speaks.
    #[error("format=<{format}> | audio IO reads and writes 16-bit pcm only")]
    UnsupportedModelFormat {
        /// The model's format.
        format: AudioFormat,
    },
    /// An option has a value audio IO cannot use.
    #[error("option=<{option}>, value=<{value}> | {reason}")]
    InvalidOption {
        /// The option's name.
        option: &'static str,
        /// Its value.
        value: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The echo canceller was given a frame of the wrong length (it takes 10 ms).
    #[error("expected=<{expected}>, got=<{got}> | echo canceller frames are 10 ms")]
    EchoFrame {
        /// Samples in 10 ms at the canceller's rate.
        expected: usize,
        /// Samples given.
        got: usize,
    },
    /// A WAV file given to the echo canceller is not one it takes (not mono 16-bit PCM, an
    /// unsupported rate, or a rate that differs from the other file's).
    #[error("path=<{}> | echo canceller input: {reason}", path.display())]
    EchoWav {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A WAV file could not be read or written.
    #[error("path=<{}> | wav: {source}", path.display())]
    Wav {
        /// The file.
        path: PathBuf,
        /// hound's error.
        source: hound::Error,
    },
}

impl From<AudioError> for IoError {
    fn from(e: AudioError) -> Self {
        match e {
            AudioError::DeviceLost { .. } => IoError::Closed(e.to_string()),
            other => IoError::Other(Box::new(other)),
        }
    }
}
