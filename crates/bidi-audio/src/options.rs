//! The options of each side of [`BidiAudioIO`](crate::BidiAudioIO): device, buffers, period.

use std::time::Duration;

use crate::DeviceSelector;

/// The reference's default device period, in frames.
const DEFAULT_FRAMES_PER_BUFFER: u32 = 512;

/// Options of the microphone side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputOptions {
    /// The device to capture from.
    pub device: DeviceSelector,
    /// Most audio kept queued when the agent reads slower than the device captures; past it
    /// the oldest is dropped. `None` (the default, as in the reference): bounded only by the
    /// ring's capacity of [`InputOptions::UNBOUNDED_RING`], past which the newest is dropped.
    pub buffer_size: Option<Duration>,
    /// The device period in frames (`None`: the device's default). Default 512.
    pub frames_per_buffer: Option<u32>,
    /// The duration of audio in each `bidi_audio_input` event. Default 20 ms.
    pub frame: Duration,
    /// Echo cancellation of what the speaker of the same
    /// [`BidiAudioIO`](crate::BidiAudioIO) plays (it runs once that speaker plays, and only
    /// for a mono model at 8/16/24/48 kHz). Default [`EchoMode::AecNs`](crate::aec::EchoMode).
    #[cfg(feature = "aec")]
    pub echo: crate::aec::EchoMode,
}

impl InputOptions {
    /// Ring capacity when [`buffer_size`](Self::buffer_size) is `None`.
    pub const UNBOUNDED_RING: Duration = Duration::from_secs(10);
}

impl Default for InputOptions {
    fn default() -> Self {
        Self {
            device: DeviceSelector::Default,
            buffer_size: None,
            frames_per_buffer: Some(DEFAULT_FRAMES_PER_BUFFER),
            frame: Duration::from_millis(20),
            #[cfg(feature = "aec")]
            echo: crate::aec::EchoMode::default(),
        }
    }
}

/// Options of the speaker side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputOptions {
    /// The device to play on.
    pub device: DeviceSelector,
    /// Most model audio kept queued; past it the oldest is dropped. `None` (the default, as in
    /// the reference): unbounded. Models send speech faster than real time, so a bound
    /// shorter than a response cuts it.
    pub buffer_size: Option<Duration>,
    /// The device period in frames (`None`: the device's default). Default 512. A barge-in
    /// silences the speaker within one period.
    pub frames_per_buffer: Option<u32>,
    /// Audio to gather before playback starts (or restarts after running dry), so speech
    /// that arrives at real-time pace does not click; waited for at most this long.
    /// Default 80 ms.
    pub prebuffer: Duration,
}

impl Default for OutputOptions {
    fn default() -> Self {
        Self {
            device: DeviceSelector::Default,
            buffer_size: None,
            frames_per_buffer: Some(DEFAULT_FRAMES_PER_BUFFER),
            prebuffer: Duration::from_millis(80),
        }
    }
}

/// `duration` at `rate` Hz, in whole frames.
pub(crate) fn frames_in(duration: Duration, rate: u32) -> usize {
    let frames = duration.as_nanos() * u128::from(rate) / 1_000_000_000;
    usize::try_from(frames).unwrap_or(usize::MAX)
}
