//! Devices: finding one ([`DeviceSelector`]), choosing its stream config, and the thread
//! that owns its cpal stream (cpal streams are not `Send`, so each lives on a thread of
//! ours and is driven through a channel).

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{BufferSize, ErrorKind, SampleFormat, StreamConfig, SupportedBufferSize};

use crate::{AudioError, Direction, alsa_log};

/// Which device to open.
///
/// ```
/// use bidi_audio::DeviceSelector;
/// assert_eq!(DeviceSelector::default(), DeviceSelector::Default);
/// assert_eq!(DeviceSelector::Name("usb".into()).to_string(), "name=<usb>");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DeviceSelector {
    /// The host's default device for the direction.
    #[default]
    Default,
    /// The `n`th device (from 0) the host lists for the direction.
    Index(usize),
    /// The device whose id (`alsa:hw:0`), ALSA name (`hw:0`) or description name is exactly
    /// this; failing that, the first whose description name contains it (ignoring case).
    Name(String),
}

impl std::fmt::Display for DeviceSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Default => f.write_str("default"),
            Self::Index(i) => write!(f, "index=<{i}>"),
            Self::Name(n) => write!(f, "name=<{n}>"),
        }
    }
}

/// The names a device answers to: description name, driver (ALSA PCM name) and id.
fn device_names(d: &cpal::Device) -> (String, String, String) {
    let (name, driver) = d.description().map_or_else(
        |_| (String::new(), String::new()),
        |desc| {
            (
                desc.name().to_owned(),
                desc.driver().unwrap_or_default().to_owned(),
            )
        },
    );
    let id = d.id().map(|id| id.to_string()).unwrap_or_default();
    (name, driver, id)
}

/// How a device is named in logs and errors: `name (id)`.
pub(crate) fn device_label(d: &cpal::Device) -> String {
    let (name, _, id) = device_names(d);
    if id.is_empty() || name == id {
        name
    } else {
        format!("{name} ({id})")
    }
}

/// The devices the default host lists for `direction`, as `name (id)`, in the order
/// [`DeviceSelector::Index`] counts them.
///
/// ```no_run
/// use bidi_audio::{list_devices, Direction};
/// for (i, name) in list_devices(Direction::Output)?.iter().enumerate() {
///     println!("{i}: {name}");
/// }
/// # Ok::<(), bidi_audio::AudioError>(())
/// ```
///
/// ALSA's own messages are logged with `tracing` at debug, never printed.
pub fn list_devices(direction: Direction) -> Result<Vec<String>, AudioError> {
    alsa_log::on_thread(direction, || {
        let host = cpal::default_host();
        let devices: Vec<cpal::Device> = match direction {
            Direction::Input => host.input_devices().map(Iterator::collect),
            Direction::Output => host.output_devices().map(Iterator::collect),
        }
        .map_err(|source| AudioError::Host { direction, source })?;
        Ok(devices.iter().map(device_label).collect())
    })
}

/// `selector` found nothing among `devices`.
fn no_device(
    direction: Direction,
    selector: &DeviceSelector,
    devices: &[cpal::Device],
) -> AudioError {
    AudioError::NoDevice {
        direction,
        wanted: selector.to_string(),
        available: devices
            .iter()
            .map(device_label)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// Whether `e`, from asking a device for its configs (which opens it), says the device is
/// not there for this direction: no such PCM, no such card, or not a capture (playback) PCM.
fn is_absent(e: &cpal::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::DeviceNotAvailable | ErrorKind::UnsupportedOperation
    )
}

/// Finds the device `selector` names.
pub(crate) fn find_device(
    host: &cpal::Host,
    direction: Direction,
    selector: &DeviceSelector,
) -> Result<cpal::Device, AudioError> {
    let list = || -> Result<Vec<cpal::Device>, AudioError> {
        let devices = match direction {
            Direction::Input => host.input_devices().map(Iterator::collect),
            Direction::Output => host.output_devices().map(Iterator::collect),
        };
        devices.map_err(|source| AudioError::Host { direction, source })
    };
    let not_found = |devices: &[cpal::Device]| no_device(direction, selector, devices);
    match selector {
        DeviceSelector::Default => {
            let device = match direction {
                Direction::Input => host.default_input_device(),
                Direction::Output => host.default_output_device(),
            };
            match device {
                Some(d) => Ok(d),
                None => Err(not_found(&list().unwrap_or_default())),
            }
        }
        DeviceSelector::Index(i) => {
            let devices = list()?;
            devices.get(*i).cloned().ok_or_else(|| not_found(&devices))
        }
        DeviceSelector::Name(wanted) => {
            let devices = list()?;
            let exact = devices.iter().find(|d| {
                let (name, driver, id) = device_names(d);
                [name, driver, id].iter().any(|n| n == wanted)
            });
            let lower = wanted.to_lowercase();
            let partial = || {
                devices
                    .iter()
                    .find(|d| device_names(d).0.to_lowercase().contains(&lower))
            };
            exact
                .or_else(partial)
                .cloned()
                .ok_or_else(|| not_found(&devices))
        }
    }
}

/// The stream config chosen for a device: its own rate and channels, an `f32` or `i16`
/// sample format, and the period asked for.
#[derive(Debug, Clone)]
pub(crate) struct ChosenConfig {
    pub(crate) label: String,
    pub(crate) config: StreamConfig,
    pub(crate) format: SampleFormat,
}

impl ChosenConfig {
    pub(crate) fn describe(&self) -> String {
        let period = match self.config.buffer_size {
            BufferSize::Default => "default".to_owned(),
            BufferSize::Fixed(n) => n.to_string(),
        };
        format!(
            "rate={} channels={} format={} period={period}",
            self.config.sample_rate, self.config.channels, self.format
        )
    }
}

/// Picks the device's default config (`default`, as the device gave it), moved to `f32` or
/// `i16` if its default format is another, with a fixed period of `frames_per_buffer`
/// (clamped to what the device allows).
pub(crate) fn choose_config(
    device: &cpal::Device,
    direction: Direction,
    default: cpal::SupportedStreamConfig,
    frames_per_buffer: Option<u32>,
) -> Result<ChosenConfig, AudioError> {
    let label = device_label(device);
    let unsupported = |reason: String| AudioError::UnsupportedConfig {
        device: label.clone(),
        direction,
        reason,
    };
    let rate = default.sample_rate();
    let supported = if matches!(
        default.sample_format(),
        SampleFormat::F32 | SampleFormat::I16
    ) {
        default
    } else {
        let ranges: Vec<_> = match direction {
            Direction::Input => device.supported_input_configs().map(Iterator::collect),
            Direction::Output => device.supported_output_configs().map(Iterator::collect),
        }
        .map_err(|e| unsupported(format!("cannot list configs: {e}")))?;
        [SampleFormat::F32, SampleFormat::I16]
            .into_iter()
            .find_map(|format| {
                ranges
                    .iter()
                    .filter(|r| r.sample_format() == format && r.channels() == default.channels())
                    .find_map(|r| (*r).try_with_sample_rate(rate))
            })
            .ok_or_else(|| {
                unsupported(format!(
                    "default format {} at {rate} Hz, and no f32 or i16 config at that rate",
                    default.sample_format()
                ))
            })?
    };
    let buffer_size = match (frames_per_buffer, supported.buffer_size()) {
        (None, _) => BufferSize::Default,
        (Some(n), SupportedBufferSize::Range { min, max }) => {
            BufferSize::Fixed(n.clamp(*min, *max))
        }
        (Some(n), SupportedBufferSize::Unknown) => BufferSize::Fixed(n),
    };
    let format = supported.sample_format();
    let mut config = supported.config();
    config.buffer_size = buffer_size;
    Ok(ChosenConfig {
        label,
        config,
        format,
    })
}

/// How long cpal may take to open a stream.
pub(crate) const OPEN_TIMEOUT: Duration = Duration::from_secs(10);

/// What a stream's error callback reports: fatal (the device is gone) or not (an xrun).
#[derive(Debug, Clone)]
pub(crate) struct StreamFault {
    pub(crate) fatal: bool,
    pub(crate) message: String,
}

/// The error callback: forwards faults over a channel (this is not the data callback, and
/// runs only when something went wrong).
pub(crate) fn error_callback(tx: mpsc::Sender<StreamFault>) -> impl FnMut(cpal::Error) + Send {
    move |e: cpal::Error| {
        let fatal = !matches!(
            e.kind(),
            ErrorKind::Xrun | ErrorKind::DeviceChanged | ErrorKind::DeviceBusy
        );
        let _ = tx.send(StreamFault {
            fatal,
            message: format!("{}: {e}", e.kind()),
        });
    }
}

/// The tokio side's view of a stream's error callback.
#[derive(Debug)]
pub(crate) struct Faults {
    rx: mpsc::Receiver<StreamFault>,
    device: String,
    direction: Direction,
}

impl Faults {
    pub(crate) fn new(
        rx: mpsc::Receiver<StreamFault>,
        device: String,
        direction: Direction,
    ) -> Self {
        Self {
            rx,
            device,
            direction,
        }
    }

    /// `Err(DeviceLost)` once the stream reported a fatal error or ended; glitches are logged.
    pub(crate) fn check(&self) -> Result<(), AudioError> {
        loop {
            match self.rx.try_recv() {
                Ok(fault) if fault.fatal => {
                    return Err(AudioError::DeviceLost {
                        device: self.device.clone(),
                        direction: self.direction,
                        reason: fault.message,
                    });
                }
                Ok(fault) => {
                    tracing::debug!(
                        "device=<{}>, direction=<{}>, fault=<{}> | stream glitch",
                        self.device,
                        self.direction,
                        fault.message
                    );
                }
                Err(mpsc::TryRecvError::Empty) => return Ok(()),
                Err(mpsc::TryRecvError::Disconnected) => {
                    return Err(AudioError::DeviceLost {
                        device: self.device.clone(),
                        direction: self.direction,
                        reason: "the stream ended".to_owned(),
                    });
                }
            }
        }
    }
}

/// Builds a stream with `build`, retrying with the device's default period when the fixed
/// one is refused, then starts it.
pub(crate) fn open_stream<F>(
    chosen: &mut ChosenConfig,
    direction: Direction,
    mut build: F,
) -> Result<cpal::Stream, AudioError>
where
    F: FnMut(&StreamConfig) -> Result<cpal::Stream, cpal::Error>,
{
    let stream = match build(&chosen.config) {
        Ok(s) => s,
        Err(first) if chosen.config.buffer_size != BufferSize::Default => {
            tracing::debug!(
                "device=<{}>, config=<{}>, error=<{first}> | fixed period refused, retrying with the default",
                chosen.label,
                chosen.describe()
            );
            chosen.config.buffer_size = BufferSize::Default;
            build(&chosen.config).map_err(|source| AudioError::OpenStream {
                device: chosen.label.clone(),
                direction,
                config: chosen.describe(),
                source,
            })?
        }
        Err(source) => {
            return Err(AudioError::OpenStream {
                device: chosen.label.clone(),
                direction,
                config: chosen.describe(),
                source,
            });
        }
    };
    let started = stream.play().map_err(|source| AudioError::StartStream {
        device: chosen.label.clone(),
        direction,
        source,
    });
    alsa_log::drain();
    started.map(|()| stream)
}

/// Opens `selector`'s device: finds it, asks it for its configs (which opens it, so a
/// device the host names but cannot open, such as ALSA's `default` with no sound card, is
/// [`AudioError::NoDevice`]) and chooses one.
pub(crate) fn open_device(
    direction: Direction,
    selector: &DeviceSelector,
    frames_per_buffer: Option<u32>,
) -> Result<(cpal::Device, ChosenConfig), AudioError> {
    let opened = (|| {
        let host = cpal::default_host();
        let device = find_device(&host, direction, selector)?;
        let default = match direction {
            Direction::Input => device.default_input_config(),
            Direction::Output => device.default_output_config(),
        };
        let default = match default {
            Ok(config) => config,
            Err(e) if is_absent(&e) => {
                tracing::debug!(
                    "device=<{}>, direction=<{direction}>, error=<{e}> | cannot be opened",
                    device_label(&device)
                );
                let listed = match direction {
                    Direction::Input => host.input_devices().map(Iterator::collect),
                    Direction::Output => host.output_devices().map(Iterator::collect),
                };
                let others: Vec<cpal::Device> = listed
                    .unwrap_or_else(|_| Vec::new())
                    .into_iter()
                    .filter(|d| d != &device)
                    .collect();
                return Err(no_device(direction, selector, &others));
            }
            Err(e) => {
                return Err(AudioError::UnsupportedConfig {
                    device: device_label(&device),
                    direction,
                    reason: format!("no default config: {e}"),
                });
            }
        };
        let chosen = choose_config(&device, direction, default, frames_per_buffer)?;
        Ok((device, chosen))
    })();
    alsa_log::drain();
    opened
}

/// A command to a device thread.
#[derive(Debug)]
pub(crate) enum Command {
    /// Device-rate, device-channel samples to play.
    Audio(Vec<f32>),
    /// Barge-in: discard everything queued.
    Flush,
    /// Release the device and end the thread.
    Stop,
}

/// A thread that owns a cpal stream.
#[derive(Debug)]
pub(crate) struct DeviceThread {
    direction: Direction,
    commands: mpsc::Sender<Command>,
    join: Option<JoinHandle<()>>,
    done: Option<tokio::sync::oneshot::Receiver<()>>,
}

impl DeviceThread {
    /// Spawns `body`, which opens the device, reports through `ready`, serves commands and
    /// returns when told to stop. Returns once `ready` has been answered.
    pub(crate) async fn spawn<R, F>(direction: Direction, body: F) -> Result<(Self, R), AudioError>
    where
        R: Send + 'static,
        F: FnOnce(tokio::sync::oneshot::Sender<Result<R, AudioError>>, mpsc::Receiver<Command>)
            + Send
            + 'static,
    {
        let (commands, rx) = mpsc::channel();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let join = std::thread::Builder::new()
            .name(format!("bidi-audio-{direction}"))
            .spawn(move || {
                let _catch = alsa_log::Catch::install();
                body(ready_tx, rx);
                let _ = done_tx.send(());
            })
            .map_err(|e| AudioError::DeviceThread {
                direction,
                reason: format!("could not spawn: {e}"),
            })?;
        let mut thread = Self {
            direction,
            commands,
            join: Some(join),
            done: Some(done_rx),
        };
        match ready_rx.await {
            Ok(Ok(ready)) => Ok((thread, ready)),
            Ok(Err(e)) => {
                thread.stop().await;
                Err(e)
            }
            Err(_) => {
                thread.stop().await;
                Err(AudioError::DeviceThread {
                    direction,
                    reason: "ended before the device opened".to_owned(),
                })
            }
        }
    }

    /// Sends a command; fails if the thread is gone.
    pub(crate) fn send(&self, command: Command) -> Result<(), AudioError> {
        self.commands
            .send(command)
            .map_err(|_| AudioError::DeviceThread {
                direction: self.direction,
                reason: "not running".to_owned(),
            })
    }

    /// Tells the thread to release the device and waits for it to end.
    pub(crate) async fn stop(&mut self) {
        let _ = self.commands.send(Command::Stop);
        if let Some(done) = self.done.take() {
            let _ = done.await;
        }
        if let Some(join) = self.join.take() {
            // The thread has signalled done: joining returns at once.
            let _ = join.join();
        }
    }
}

impl Drop for DeviceThread {
    fn drop(&mut self) {
        // Dropped without `stop`: ask the thread to end, without waiting.
        let _ = self.commands.send(Command::Stop);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bidi_types::IoError;

    fn faults() -> (impl FnMut(cpal::Error) + Send, Faults) {
        let (tx, rx) = mpsc::channel();
        (
            error_callback(tx),
            Faults::new(rx, "usb mic (alsa:hw:1)".to_owned(), Direction::Input),
        )
    }

    #[test]
    fn glitches_are_not_fatal_but_a_lost_device_is() {
        let (mut report, faults) = faults();
        report(cpal::Error::new(ErrorKind::Xrun));
        report(cpal::Error::new(ErrorKind::DeviceChanged));
        assert!(faults.check().is_ok());
        report(cpal::Error::with_message(
            ErrorKind::DeviceNotAvailable,
            "unplugged",
        ));
        let err = faults
            .check()
            .err()
            .unwrap_or_else(|| panic!("loss not reported"));
        assert!(
            matches!(&err, AudioError::DeviceLost { device, .. } if device.contains("alsa:hw:1"))
        );
        assert!(err.to_string().contains("unplugged"), "{err}");
        assert!(matches!(IoError::from(err), IoError::Closed(_)));
    }

    #[test]
    fn a_stream_that_ended_is_a_lost_device() {
        let (report, faults) = faults();
        drop(report); // the stream, and its error callback, are gone
        assert!(matches!(faults.check(), Err(AudioError::DeviceLost { .. })));
    }

    #[test]
    fn selectors_print_what_was_asked() {
        assert_eq!(DeviceSelector::Index(3).to_string(), "index=<3>");
        assert_eq!(DeviceSelector::Default.to_string(), "default");
    }
}
