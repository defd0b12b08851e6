//! [`BidiAudioOutput`]: the speaker as a [`BidiOutput`].

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use bidi_types::{
    AgentView, AudioFormat, BidiAgentEvent, BidiAudioStreamEvent, BidiOutput, BidiOutputEvent,
    IoError, PlaybackTracker,
};
use cpal::SampleFormat;
use cpal::traits::DeviceTrait;

use crate::device::{
    Command, DeviceThread, Faults, OPEN_TIMEOUT, StreamFault, error_callback, open_device,
    open_stream,
};
use crate::dsp::{StreamResampler, mix_channels, pcm16_bytes_to_f32};
use crate::options::{OutputOptions, frames_in};
use crate::rt::{PlaybackSetup, PlaybackStats, PlaybackStatsHandle, playback_channel};
use crate::{AudioError, Direction};

/// How often the device thread tops up the ring when no command arrives.
const FEED_TICK: Duration = Duration::from_millis(5);

/// Plays the model's speech: `bidi_audio_stream` chunks are decoded, resampled from the
/// model's rate to the device's, up-mixed to the device's channels and queued for the cpal
/// output callback through a lock-free ring. `bidi_interruption` flushes everything queued
/// within one device period; `bidi_response_complete` plays out the resampler's tail.
///
/// Made by [`BidiAudioIO::output`](crate::BidiAudioIO::output). Reports playback through the
/// agent's [`PlaybackTracker`], when it has one.
#[derive(Debug)]
pub struct BidiAudioOutput {
    options: OutputOptions,
    state: Option<Running>,
    #[cfg(feature = "aec")]
    echo: Option<Arc<crate::aec::EchoLink>>,
}

#[derive(Debug)]
struct Running {
    thread: DeviceThread,
    faults: Faults,
    stats: PlaybackStatsHandle,
    device: String,
    device_rate: u32,
    device_channels: usize,
    resampler: Option<StreamResampler>,
    decoded: Vec<f32>,
    resampled: Vec<f32>,
    tracker: Option<PlaybackTracker>,
    skipped_chunks: u64,
}

/// What the device thread hands back once the stream runs.
struct Opened {
    faults: mpsc::Receiver<StreamFault>,
    stats: PlaybackStatsHandle,
    device: String,
    describe: String,
    rate: u32,
    channels: usize,
}

impl BidiAudioOutput {
    /// An output with these options; the device opens at `start`.
    pub fn new(options: OutputOptions) -> Self {
        Self {
            options,
            state: None,
            #[cfg(feature = "aec")]
            echo: None,
        }
    }

    /// Hands what this speaker plays to the microphone on the other end of `link`, as the
    /// echo canceller's far-end reference.
    #[cfg(feature = "aec")]
    pub(crate) fn with_echo(mut self, link: Arc<crate::aec::EchoLink>) -> Self {
        self.echo = Some(link);
        self
    }

    /// The playback counters (frames played, flushed, dropped; underruns; the last flush),
    /// once started.
    pub fn stats(&self) -> Option<PlaybackStats> {
        self.state.as_ref().map(|s| s.stats.get())
    }

    /// The name of the open device, once started.
    pub fn device_name(&self) -> Option<&str> {
        self.state.as_ref().map(|s| s.device.as_str())
    }

    /// The device's rate and channel count, once started.
    pub fn device_format(&self) -> Option<(u32, usize)> {
        self.state
            .as_ref()
            .map(|s| (s.device_rate, s.device_channels))
    }

    async fn open(&mut self, agent: Arc<dyn AgentView>) -> Result<(), AudioError> {
        let audio = agent.model_config().audio;
        if audio.format != AudioFormat::Pcm {
            return Err(AudioError::UnsupportedModelFormat {
                format: audio.format,
            });
        }
        let tracker = agent.playback();
        let options = self.options.clone();
        let thread_tracker = tracker.clone();
        #[cfg(feature = "aec")]
        let echo = self.echo.clone();
        let (thread, opened) = DeviceThread::spawn(Direction::Output, move |ready, commands| {
            let (device, mut chosen) = match open_device(
                Direction::Output,
                &options.device,
                options.frames_per_buffer,
            ) {
                Ok(v) => v,
                Err(e) => {
                    let _ = ready.send(Err(e));
                    return;
                }
            };
            let rate = chosen.config.sample_rate;
            let channels = usize::from(chosen.config.channels);
            let period = match chosen.config.buffer_size {
                cpal::BufferSize::Fixed(n) => n as usize,
                cpal::BufferSize::Default => frames_in(Duration::from_millis(20), rate),
            };
            let prebuffer = frames_in(options.prebuffer, rate);
            let ring = (frames_in(Duration::from_millis(250), rate))
                .max(2 * prebuffer + frames_in(Duration::from_millis(100), rate))
                .max(4 * period);
            let setup = PlaybackSetup {
                channels,
                rate,
                ring_frames: ring,
                prebuffer_frames: prebuffer,
                limit_frames: options.buffer_size.map(|d| frames_in(d, rate)),
                tracker: thread_tracker,
            };
            let (fault_tx, faults) = mpsc::channel();
            let format = chosen.format;
            let mut queue = None;
            let stream = open_stream(&mut chosen, Direction::Output, |config| {
                // A fresh pair per attempt: a refused build consumes its callback.
                let (q, mut cb) = playback_channel(setup.clone());
                #[cfg(feature = "aec")]
                if let Some(tap) = echo.as_ref().and_then(|link| link.tap(rate)) {
                    cb.set_echo_tap(tap);
                }
                queue = Some(q);
                let errors = error_callback(fault_tx.clone());
                let timeout = Some(OPEN_TIMEOUT);
                // The device's output latency, as cpal reports it with each callback: audio
                // handed over now is heard that much later (one atomic store).
                let latency = setup.tracker.clone();
                let report = move |info: &cpal::OutputCallbackInfo| {
                    let t = info.timestamp();
                    if let Some(tracker) = &latency {
                        tracker.set_output_latency(t.playback.duration_since(t.callback));
                    }
                };
                match format {
                    SampleFormat::I16 => device.build_output_stream::<i16, _, _>(
                        *config,
                        move |data, info| {
                            cb.fill_as(data);
                            report(info);
                        },
                        errors,
                        timeout,
                    ),
                    _ => device.build_output_stream::<f32, _, _>(
                        *config,
                        move |data, info| {
                            cb.fill(data);
                            report(info);
                        },
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
            let Some(mut queue) = queue else {
                return;
            };
            let opened = Opened {
                faults,
                stats: queue.stats_handle(),
                device: chosen.label.clone(),
                describe: chosen.describe(),
                rate,
                channels,
            };
            if ready.send(Ok(opened)).is_err() {
                return;
            }
            feed(&mut queue, &commands, &chosen.label);
            drop(stream);
        })
        .await?;
        tracing::debug!(
            "device=<{}>, config=<{}>, model_rate=<{}> | audio output started",
            opened.device,
            opened.describe,
            audio.output_rate
        );
        if let Some(t) = &tracker {
            t.attach();
        }
        self.state = Some(Running {
            thread,
            faults: Faults::new(opened.faults, opened.device.clone(), Direction::Output),
            stats: opened.stats,
            device: opened.device,
            device_rate: opened.rate,
            device_channels: opened.channels,
            resampler: None,
            decoded: Vec::new(),
            resampled: Vec::new(),
            tracker,
            skipped_chunks: 0,
        });
        Ok(())
    }
}

/// The device thread's loop: queue audio, carry out flushes, keep the ring topped up, and log
/// the callback's counters when they move (logging never happens in the callback).
fn feed(queue: &mut crate::rt::PlaybackQueue, commands: &mpsc::Receiver<Command>, device: &str) {
    let mut reported = queue.stats();
    loop {
        match commands.recv_timeout(FEED_TICK) {
            Ok(Command::Audio(samples)) => queue.push(&samples),
            Ok(Command::Flush) => queue.flush(),
            Ok(Command::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        queue.pump();
        let now = queue.stats();
        if now.dropped_frames != reported.dropped_frames
            || now.underruns != reported.underruns
            || now.flushes != reported.flushes
        {
            tracing::debug!(
                "device=<{device}>, played_frames=<{}>, underruns=<{}>, dropped_frames=<{}>, flushed_frames=<{}>, flushes=<{}> | playback counters",
                now.played_frames,
                now.underruns,
                now.dropped_frames,
                now.flushed_frames,
                now.flushes
            );
            reported = now;
        }
    }
}

impl Running {
    fn check_faults(&mut self) -> Result<(), AudioError> {
        self.faults.check()
    }

    fn play(&mut self, chunk: &BidiAudioStreamEvent) -> Result<(), AudioError> {
        if chunk.format() != AudioFormat::Pcm {
            self.skip(&format!("format {} is not pcm", chunk.format()));
            return Ok(());
        }
        let bytes = match chunk.audio_bytes() {
            Ok(b) => b,
            Err(e) => {
                self.skip(&e.to_string());
                return Ok(());
            }
        };
        let rate = chunk.sample_rate().hz();
        let channels = usize::from(chunk.channels().count());
        let same = self
            .resampler
            .as_ref()
            .is_some_and(|r| r.from_rate() == rate && r.channels() == channels);
        if !same {
            self.finish()?;
            self.resampler = Some(StreamResampler::new(rate, self.device_rate, channels)?);
        }
        self.decoded.clear();
        pcm16_bytes_to_f32(&bytes, &mut self.decoded);
        self.resampled.clear();
        if let Some(r) = self.resampler.as_mut() {
            r.process(&self.decoded, &mut self.resampled)?;
        }
        self.send_resampled(channels)
    }

    /// Plays out the resampler's tail at the end of a response.
    fn finish(&mut self) -> Result<(), AudioError> {
        let Some(r) = self.resampler.as_mut() else {
            return Ok(());
        };
        let channels = r.channels();
        self.resampled.clear();
        r.finish(&mut self.resampled)?;
        self.send_resampled(channels)
    }

    fn send_resampled(&mut self, channels: usize) -> Result<(), AudioError> {
        if self.resampled.is_empty() {
            return Ok(());
        }
        let mut device = Vec::with_capacity(self.resampled.len() / channels * self.device_channels);
        mix_channels(&self.resampled, channels, self.device_channels, &mut device);
        self.thread.send(Command::Audio(device))
    }

    /// Barge-in: drops what the resampler holds and flushes the device queue.
    fn flush(&mut self) -> Result<(), AudioError> {
        if let Some(r) = self.resampler.as_mut() {
            let dropped = r.reset();
            if let Some(t) = &self.tracker {
                t.add_consumed(dropped as u64, r.from_rate());
            }
        }
        self.thread.send(Command::Flush)
    }

    fn skip(&mut self, why: &str) {
        self.skipped_chunks += 1;
        tracing::warn!(
            "device=<{}>, skipped_chunks=<{}>, reason=<{why}> | audio chunk not playable, skipped",
            self.device,
            self.skipped_chunks
        );
    }
}

#[bidi_types::async_trait]
impl BidiOutput for BidiAudioOutput {
    async fn start(&mut self, agent: Arc<dyn AgentView>) -> Result<(), IoError> {
        self.open(agent).await.map_err(IoError::from)
    }

    async fn write(&mut self, event: &BidiAgentEvent) -> Result<(), IoError> {
        let Some(s) = self.state.as_mut() else {
            return Err(IoError::NotStarted { action: "write" });
        };
        s.check_faults()?;
        match event.as_output() {
            Some(BidiOutputEvent::AudioStream(chunk)) => s.play(chunk)?,
            Some(BidiOutputEvent::Interruption(e)) => {
                tracing::debug!(
                    "device=<{}>, reason=<{:?}> | interruption: flushing playback",
                    s.device,
                    e.reason()
                );
                s.flush()?;
            }
            Some(BidiOutputEvent::ResponseComplete(_)) => s.finish()?,
            _ => {}
        }
        Ok(())
    }

    async fn stop(&mut self) -> Result<(), IoError> {
        if let Some(mut s) = self.state.take() {
            // Whatever the resampler still holds will never be played: count it as consumed.
            if let Some(r) = s.resampler.as_mut() {
                let dropped = r.reset();
                if let Some(t) = &s.tracker {
                    t.add_consumed(dropped as u64, r.from_rate());
                }
            }
            s.thread.stop().await;
            if let Some(t) = &s.tracker {
                t.detach();
            }
            let stats = s.stats.get();
            tracing::debug!(
                "device=<{}>, played_frames=<{}>, underruns=<{}>, dropped_frames=<{}>, flushes=<{}> | audio output stopped",
                s.device,
                stats.played_frames,
                stats.underruns,
                stats.dropped_frames,
                stats.flushes
            );
        }
        Ok(())
    }
}
