//! [`probe`]: whether a device can really be opened, checked before anything depends on it.

use std::fmt;

use crate::device::open_device;
use crate::{AudioError, DeviceSelector, Direction, alsa_log};

/// A device that can be opened, and the stream config opening it would use.
///
/// ```
/// use bidi_audio::{DeviceInfo, Direction};
/// let info = DeviceInfo {
///     direction: Direction::Input,
///     name: "USB mic (alsa:hw:1)".into(),
///     sample_rate: 48_000,
///     channels: 2,
///     sample_format: "i16".into(),
/// };
/// assert_eq!(info.to_string(), "input USB mic (alsa:hw:1): 48000 Hz, 2 channels, i16");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Capture or playback.
    pub direction: Direction,
    /// The device's name, as `name (id)`.
    pub name: String,
    /// The device's own rate in Hz (audio IO resamples to and from the model's).
    pub sample_rate: u32,
    /// The device's channel count.
    pub channels: u16,
    /// The sample format the stream would use: `f32` or `i16`.
    pub sample_format: String,
}

impl fmt::Display for DeviceInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {} Hz, {} channels, {}",
            self.direction, self.name, self.sample_rate, self.channels, self.sample_format
        )
    }
}

/// Checks that `device` can be opened for `direction`: finds it and asks it for the stream
/// config a [`BidiAudioInput`](crate::BidiAudioInput) or
/// [`BidiAudioOutput`](crate::BidiAudioOutput) would open it with, then releases it.
///
/// A device that is not there, or that the host names but cannot open (ALSA's `default` on
/// a machine with no sound card), is [`AudioError::NoDevice`] naming the device tried. ALSA's
/// own messages are logged with `tracing` at debug, never printed.
///
/// ```no_run
/// use bidi_audio::{AudioError, DeviceSelector, Direction, probe};
/// match probe(Direction::Input, &DeviceSelector::Default) {
///     Ok(mic) => println!("{mic}"),
///     Err(AudioError::NoDevice { wanted, .. }) => println!("no microphone ({wanted})"),
///     Err(other) => println!("{other}"),
/// }
/// ```
pub fn probe(direction: Direction, device: &DeviceSelector) -> Result<DeviceInfo, AudioError> {
    alsa_log::on_thread(direction, || {
        let (_, chosen) = open_device(direction, device, None)?;
        Ok(DeviceInfo {
            direction,
            name: chosen.label,
            sample_rate: chosen.config.sample_rate,
            channels: chosen.config.channels,
            sample_format: chosen.format.to_string(),
        })
    })
}
