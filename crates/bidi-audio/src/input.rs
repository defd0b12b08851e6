//! [`BidiAudioInput`]: the microphone as a [`BidiInput`].

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use bidi_types::{
    AgentView, AudioFormat, BidiAudioInputEvent, BidiInput, BidiInputEvent, Channels, IoError,
    SampleRate,
};
use cpal::SampleFormat;
use cpal::traits::DeviceTrait;

use crate::device::{
    Command, DeviceThread, Faults, OPEN_TIMEOUT, StreamFault, error_callback, open_device,
    open_stream,
};
use crate::options::{InputOptions, frames_in};
use crate::rt::{CaptureReader, CaptureSetup, CaptureStats, capture_channel};
use crate::{AudioError, Direction};

/// Captures the microphone: a cpal input stream at the device's own rate and format, a
/// lock-free ring to the tokio side, then down-mix, resampling to the model's input rate and
/// fixed frames, each a `bidi_audio_input` event (16-bit PCM, base64).
///
/// Made by [`BidiAudioIO::input`](crate::BidiAudioIO::input).
#[derive(Debug)]
pub struct BidiAudioInput {
    options: InputOptions,
    state: Option<Running>,
    stopped: bool,
    #[cfg(feature = "aec")]
    echo: Option<Arc<crate::aec::EchoLink>>,
}

#[derive(Debug)]
struct Running {
    thread: DeviceThread,
    reader: CaptureReader,
    faults: Faults,
    ready: VecDeque<Vec<u8>>,
    device: String,
    rate: SampleRate,
    channels: Channels,
    poll: Duration,
    reported: CaptureStats,
}

/// What the device thread hands back once the stream runs.
struct Opened {
    reader: CaptureReader,
    faults: mpsc::Receiver<StreamFault>,
    device: String,
    describe: String,
}

impl BidiAudioInput {
    /// An input with these options; the device opens at `start`.
    pub fn new(options: InputOptions) -> Self {
        Self {
            options,
            state: None,
            stopped: false,
            #[cfg(feature = "aec")]
            echo: None,
        }
    }

    /// Cancels the echo of the speaker on the other end of `link` (see
    /// [`BidiAudioIO::echo_mode`](crate::BidiAudioIO::echo_mode)).
    #[cfg(feature = "aec")]
    pub(crate) fn with_echo(mut self, link: Arc<crate::aec::EchoLink>) -> Self {
        self.echo = Some(link);
        self
    }

    /// The capture counters (callbacks, frames captured, overruns, drops), once started.
    pub fn stats(&self) -> Option<CaptureStats> {
        self.state.as_ref().map(|s| s.reader.stats())
    }

    /// Whether the echo canceller is running on this microphone: it is attached (same
    /// `BidiAudioIO` as a speaker, echo mode not off, a mono model) and that speaker has
    /// played.
    #[cfg(feature = "aec")]
    pub fn echo_cancelling(&self) -> bool {
        self.state
            .as_ref()
            .and_then(|s| s.reader.echo())
            .is_some_and(crate::aec::EchoFeed::active)
    }

    /// The name of the open device, once started.
    pub fn device_name(&self) -> Option<&str> {
        self.state.as_ref().map(|s| s.device.as_str())
    }

    async fn open(&mut self, agent: Arc<dyn AgentView>) -> Result<(), AudioError> {
        let audio = agent.model_config().audio;
        if audio.format != AudioFormat::Pcm {
            return Err(AudioError::UnsupportedModelFormat {
                format: audio.format,
            });
        }
        if self.options.frame.is_zero() {
            return Err(AudioError::InvalidOption {
                option: "input_frame",
                value: format!("{:?}", self.options.frame),
                reason: "must be longer than zero",
            });
        }
        let options = self.options.clone();
        let model_rate = audio.input_rate.hz();
        let model_channels = usize::from(audio.channels.count());
        let (thread, opened) = DeviceThread::spawn(Direction::Input, move |ready, commands| {
            let (device, mut chosen) =
                match open_device(Direction::Input, &options.device, options.frames_per_buffer) {
                    Ok(v) => v,
                    Err(e) => {
                        let _ = ready.send(Err(e));
                        return;
                    }
                };
            let rate = chosen.config.sample_rate;
            let ring = options.buffer_size.unwrap_or(InputOptions::UNBOUNDED_RING)
                + if options.buffer_size.is_some() {
                    Duration::from_secs(1)
                } else {
                    Duration::ZERO
                };
            let setup = CaptureSetup {
                device_channels: usize::from(chosen.config.channels),
                device_rate: rate,
                ring_frames: frames_in(ring, rate),
                limit_frames: options.buffer_size.map(|d| frames_in(d, rate)),
                model_channels,
                model_rate,
                frame_frames: frames_in(options.frame, model_rate).max(1),
            };
            let (fault_tx, faults) = mpsc::channel();
            let format = chosen.format;
            let mut reader = None;
            let stream = open_stream(&mut chosen, Direction::Input, |config| {
                // A fresh pair per attempt: a refused build consumes its callback.
                let (mut cb, r) = capture_channel(setup.clone()).map_err(|e| {
                    cpal::Error::with_message(cpal::ErrorKind::Other, e.to_string())
                })?;
                reader = Some(r);
                let errors = error_callback(fault_tx.clone());
                let timeout = Some(OPEN_TIMEOUT);
                match format {
                    SampleFormat::I16 => device.build_input_stream::<i16, _, _>(
                        *config,
                        move |data, _| cb.push_as(data),
                        errors,
                        timeout,
                    ),
                    _ => device.build_input_stream::<f32, _, _>(
                        *config,
                        move |data, _| cb.push(data),
                        errors,
                        timeout,
                    ),
                }
            });
            let stream = match stream {
                Ok(s) => s,
                Err(e) => {
                    let _ = ready.send(Err(e));
                    return;
                }
            };
            let Some(reader) = reader else {
                return;
            };
            let opened = Opened {
                reader,
                faults,
                device: chosen.label.clone(),
                describe: chosen.describe(),
            };
            if ready.send(Ok(opened)).is_err() {
                return;
            }
            // Serve until told to stop; dropping the stream releases the device.
            while let Ok(command) = commands.recv() {
                if matches!(command, Command::Stop) {
                    break;
                }
            }
            drop(stream);
        })
        .await?;
        tracing::debug!(
            "device=<{}>, config=<{}>, model_rate=<{model_rate}>, model_channels=<{model_channels}> | audio input started",
            opened.device,
            opened.describe
        );
        #[cfg(feature = "aec")]
        let opened = {
            let mut opened = opened;
            let feed = self
                .echo
                .as_ref()
                .filter(|_| model_channels == 1)
                .and_then(|link| link.feed(self.options.echo, model_rate));
            if let Some(feed) = feed {
                tracing::debug!("mode=<{}> | echo canceller attached", self.options.echo);
                opened.reader.set_echo(feed);
            }
            opened
        };
        let frame_ms = self.options.frame.as_millis();
        let poll =
            (self.options.frame / 4).clamp(Duration::from_millis(1), Duration::from_millis(10));
        tracing::trace!("frame_ms=<{frame_ms}> | capture polling every {poll:?}");
        self.state = Some(Running {
            thread,
            reader: opened.reader,
            faults: Faults::new(opened.faults, opened.device.clone(), Direction::Input),
            ready: VecDeque::new(),
            device: opened.device,
            rate: audio.input_rate,
            channels: audio.channels,
            poll,
            reported: CaptureStats::default(),
        });
        Ok(())
    }
}

impl Running {
    fn check_faults(&mut self) -> Result<(), AudioError> {
        self.faults.check()
    }

    /// Logs the counters when overruns or drops grew (outside the callback).
    fn report(&mut self) {
        let now = self.reader.stats();
        if now.overrun_frames != self.reported.overrun_frames
            || now.dropped_frames != self.reported.dropped_frames
        {
            tracing::debug!(
                "device=<{}>, overrun_frames=<{}>, dropped_frames=<{}> | capture fell behind",
                self.device,
                now.overrun_frames,
                now.dropped_frames
            );
        }
        self.reported = now;
    }
}

#[bidi_types::async_trait]
impl BidiInput for BidiAudioInput {
    async fn start(&mut self, agent: Arc<dyn AgentView>) -> Result<(), IoError> {
        self.stopped = false;
        self.open(agent).await.map_err(IoError::from)
    }

    async fn read(&mut self) -> Result<Option<BidiInputEvent>, IoError> {
        let Some(s) = self.state.as_mut() else {
            return if self.stopped {
                Ok(None)
            } else {
                Err(IoError::NotStarted { action: "read" })
            };
        };
        loop {
            if let Some(frame) = s.ready.pop_front() {
                let event =
                    BidiAudioInputEvent::from_bytes(&frame, AudioFormat::Pcm, s.rate, s.channels);
                return Ok(Some(event.into()));
            }
            s.check_faults()?;
            if s.reader.poll(&mut s.ready).map_err(IoError::from)? == 0 {
                s.report();
                tokio::time::sleep(s.poll).await;
            }
        }
    }

    async fn stop(&mut self) -> Result<(), IoError> {
        if let Some(mut s) = self.state.take() {
            s.report();
            s.thread.stop().await;
            tracing::debug!("device=<{}> | audio input stopped", s.device);
        }
        self.stopped = true;
        Ok(())
    }
}
