//! WAV file IO: [`WavInput`] plays a file to the model as if spoken into a microphone,
//! [`WavOutput`] records the model's speech. Useful for scripted runs and tests (the
//! quickstart's `--input-wav` / `--output-wav`).

use std::collections::VecDeque;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bidi_types::{
    AgentView, AudioConfig, AudioFormat, BidiAgentEvent, BidiAudioInputEvent, BidiInput,
    BidiInputEvent, BidiOutput, BidiOutputEvent, Channels, IoError, SampleRate,
};

use crate::AudioError;
use crate::dsp::{Framer, StreamResampler, mix_channels, pcm16_bytes_to_f32};
use crate::options::frames_in;

fn wav_error(path: &Path, source: hound::Error) -> AudioError {
    AudioError::Wav {
        path: path.to_owned(),
        source,
    }
}

/// Where a [`WavInput`] reads its WAV data.
#[derive(Debug, Clone)]
enum Source {
    File(PathBuf),
    Bytes(Arc<[u8]>),
}

impl Source {
    /// How logs and errors name the source.
    fn path(&self) -> &Path {
        match self {
            Self::File(path) => path,
            Self::Bytes(_) => Path::new("<memory>"),
        }
    }
}

/// Reads a whole WAV file as interleaved `f32`; returns `(samples, rate, channels)`.
fn read_wav(source: &Source) -> Result<(Vec<f32>, u32, usize), AudioError> {
    let read = match source {
        Source::File(file) => hound::WavReader::open(file).and_then(samples_of),
        Source::Bytes(bytes) => {
            hound::WavReader::new(std::io::Cursor::new(&bytes[..])).and_then(samples_of)
        }
    };
    read.map_err(|e| wav_error(source.path(), e))
}

fn samples_of<R: std::io::Read>(
    reader: hound::WavReader<R>,
) -> Result<(Vec<f32>, u32, usize), hound::Error> {
    let spec = reader.spec();
    let samples: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader.into_samples::<f32>().collect::<Result<_, _>>()?,
        hound::SampleFormat::Int => {
            let scale =
                1.0 / f64::from(1u32 << spec.bits_per_sample.clamp(1, 32).saturating_sub(1));
            reader
                .into_samples::<i32>()
                .map(|s| s.map(|v| (f64::from(v) * scale) as f32))
                .collect::<Result<_, _>>()?
        }
    };
    Ok((samples, spec.sample_rate, usize::from(spec.channels)))
}

/// A [`BidiInput`] that reads a WAV file (any rate, 8–32-bit integer or float, any channel
/// count), converts it to the model's input rate and channels, and emits it as
/// `bidi_audio_input` frames, paced at real time (the default) or as fast as the agent reads;
/// then ends (`read` gives `None`).
///
/// The file is read whole at `start`.
#[derive(Debug)]
pub struct WavInput {
    source: Source,
    realtime: bool,
    frame: Duration,
    frames: VecDeque<Vec<u8>>,
    rate: SampleRate,
    channels: Channels,
    clock: Option<(tokio::time::Instant, u32)>,
}

impl WavInput {
    /// An input reading `path`, paced at real time, in 20 ms frames.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self::from_source(Source::File(path.into()))
    }

    /// An input reading WAV data held in memory (the whole file, header included), paced at
    /// real time, in 20 ms frames.
    ///
    /// ```
    /// use bidi_audio::WavInput;
    /// let input = WavInput::from_bytes(std::fs::read("question.wav").unwrap_or_default());
    /// assert_eq!(input.remaining_frames(), 0); // read and converted at `start`
    /// ```
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Self {
        Self::from_source(Source::Bytes(bytes.into().into()))
    }

    fn from_source(source: Source) -> Self {
        Self {
            source,
            realtime: true,
            frame: Duration::from_millis(20),
            frames: VecDeque::new(),
            rate: SampleRate::Hz16000,
            channels: Channels::Mono,
            clock: None,
        }
    }

    /// Pace frames at real time (`true`, the default) or hand them out as fast as they are
    /// read (`false`).
    pub fn realtime(mut self, realtime: bool) -> Self {
        self.realtime = realtime;
        self
    }

    /// The duration of each frame (default 20 ms).
    pub fn frame(mut self, frame: Duration) -> Self {
        self.frame = frame;
        self
    }

    /// Frames left to emit.
    pub fn remaining_frames(&self) -> usize {
        self.frames.len()
    }

    /// Reads the WAV data and converts it to `audio`'s input rate and channels, in frames
    /// ready to emit; [`start`](BidiInput::start) calls it with the agent's model settings.
    /// Any bytes give a typed error or frames, never a panic (fuzzed by `bidi-fuzz`).
    pub fn load(&mut self, audio: &AudioConfig) -> Result<(), AudioError> {
        if audio.format != AudioFormat::Pcm {
            return Err(AudioError::UnsupportedModelFormat {
                format: audio.format,
            });
        }
        if self.frame.is_zero() {
            return Err(AudioError::InvalidOption {
                option: "frame",
                value: format!("{:?}", self.frame),
                reason: "must be longer than zero",
            });
        }
        let (samples, rate, channels) = read_wav(&self.source)?;
        let model_channels = usize::from(audio.channels.count());
        let model_rate = audio.input_rate.hz();
        let mut mixed = Vec::new();
        mix_channels(&samples, channels, model_channels, &mut mixed);
        let mut resampled = Vec::new();
        let mut resampler = StreamResampler::new(rate, model_rate, model_channels)?;
        resampler.process(&mixed, &mut resampled)?;
        resampler.finish(&mut resampled)?;
        let mut framer = Framer::new(frames_in(self.frame, model_rate).max(1) * model_channels);
        let mut frames = VecDeque::new();
        framer.push(&resampled, &mut frames);
        frames.extend(framer.take_partial());
        tracing::debug!(
            "path=<{}>, rate=<{rate}>, channels=<{channels}>, frames=<{}> | wav input loaded",
            self.source.path().display(),
            frames.len()
        );
        self.frames = frames;
        self.rate = audio.input_rate;
        self.channels = audio.channels;
        self.clock = None;
        Ok(())
    }
}

#[bidi_types::async_trait]
impl BidiInput for WavInput {
    async fn start(&mut self, agent: Arc<dyn AgentView>) -> Result<(), IoError> {
        self.load(&agent.model_config().audio)
            .map_err(IoError::from)
    }

    async fn read(&mut self) -> Result<Option<BidiInputEvent>, IoError> {
        let Some(frame) = self.frames.pop_front() else {
            return Ok(None);
        };
        if self.realtime {
            let (start, sent) = *self
                .clock
                .get_or_insert_with(|| (tokio::time::Instant::now(), 0));
            tokio::time::sleep_until(start + self.frame * sent).await;
            self.clock = Some((start, sent.saturating_add(1)));
        }
        let event =
            BidiAudioInputEvent::from_bytes(&frame, AudioFormat::Pcm, self.rate, self.channels);
        Ok(Some(event.into()))
    }

    async fn stop(&mut self) -> Result<(), IoError> {
        self.frames.clear();
        Ok(())
    }
}

/// A [`BidiOutput`] that writes the model's speech to a 16-bit PCM WAV file at the model's
/// output rate and channels (chunks at another rate are resampled). Everything that arrives
/// is written: a barge-in has nothing queued to flush in a file. The file is complete after
/// `stop`.
pub struct WavOutput {
    path: PathBuf,
    writer: Option<hound::WavWriter<BufWriter<File>>>,
    rate: u32,
    channels: usize,
    resampler: Option<StreamResampler>,
    decoded: Vec<f32>,
    mixed: Vec<f32>,
    resampled: Vec<f32>,
    frames_written: u64,
}

impl std::fmt::Debug for WavOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavOutput")
            .field("path", &self.path)
            .field("open", &self.writer.is_some())
            .field("frames_written", &self.frames_written)
            .finish_non_exhaustive()
    }
}

impl WavOutput {
    /// An output writing `path` (created or truncated at `start`).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            writer: None,
            rate: 0,
            channels: 1,
            resampler: None,
            decoded: Vec::new(),
            mixed: Vec::new(),
            resampled: Vec::new(),
            frames_written: 0,
        }
    }

    /// Frames written so far.
    pub fn frames_written(&self) -> u64 {
        self.frames_written
    }

    fn write_samples(&mut self, samples: &[f32]) -> Result<(), AudioError> {
        let Some(writer) = self.writer.as_mut() else {
            return Ok(());
        };
        for &s in samples {
            writer
                .write_sample(crate::dsp::sample_to_i16(s))
                .map_err(|e| wav_error(&self.path, e))?;
        }
        self.frames_written += (samples.len() / self.channels) as u64;
        Ok(())
    }

    fn write_chunk(&mut self, chunk: &bidi_types::BidiAudioStreamEvent) -> Result<(), AudioError> {
        if chunk.format() != AudioFormat::Pcm {
            tracing::warn!(
                "path=<{}>, format=<{}> | audio chunk not pcm, skipped",
                self.path.display(),
                chunk.format()
            );
            return Ok(());
        }
        let Ok(bytes) = chunk.audio_bytes() else {
            tracing::warn!(
                "path=<{}> | audio chunk with bad base64, skipped",
                self.path.display()
            );
            return Ok(());
        };
        self.decoded.clear();
        pcm16_bytes_to_f32(&bytes, &mut self.decoded);
        self.mixed.clear();
        mix_channels(
            &self.decoded,
            usize::from(chunk.channels().count()),
            self.channels,
            &mut self.mixed,
        );
        let rate = chunk.sample_rate().hz();
        if rate == self.rate {
            let mixed = std::mem::take(&mut self.mixed);
            let result = self.write_samples(&mixed);
            self.mixed = mixed;
            return result;
        }
        if self
            .resampler
            .as_ref()
            .is_none_or(|r| r.from_rate() != rate)
        {
            self.flush_resampler()?;
            self.resampler = Some(StreamResampler::new(rate, self.rate, self.channels)?);
        }
        self.resampled.clear();
        if let Some(r) = self.resampler.as_mut() {
            r.process(&self.mixed, &mut self.resampled)?;
        }
        let resampled = std::mem::take(&mut self.resampled);
        let result = self.write_samples(&resampled);
        self.resampled = resampled;
        result
    }

    fn flush_resampler(&mut self) -> Result<(), AudioError> {
        let Some(r) = self.resampler.as_mut() else {
            return Ok(());
        };
        self.resampled.clear();
        r.finish(&mut self.resampled)?;
        let resampled = std::mem::take(&mut self.resampled);
        let result = self.write_samples(&resampled);
        self.resampled = resampled;
        result
    }
}

#[bidi_types::async_trait]
impl BidiOutput for WavOutput {
    async fn start(&mut self, agent: Arc<dyn AgentView>) -> Result<(), IoError> {
        let audio = agent.model_config().audio;
        let spec = hound::WavSpec {
            channels: audio.channels.count(),
            sample_rate: audio.output_rate.hz(),
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let writer = hound::WavWriter::create(&self.path, spec)
            .map_err(|e| IoError::from(wav_error(&self.path, e)))?;
        self.writer = Some(writer);
        self.rate = spec.sample_rate;
        self.channels = usize::from(spec.channels);
        self.frames_written = 0;
        Ok(())
    }

    async fn write(&mut self, event: &BidiAgentEvent) -> Result<(), IoError> {
        if self.writer.is_none() {
            return Err(IoError::NotStarted { action: "write" });
        }
        match event.as_output() {
            Some(BidiOutputEvent::AudioStream(chunk)) => self.write_chunk(chunk)?,
            Some(BidiOutputEvent::ResponseComplete(_)) => self.flush_resampler()?,
            _ => {}
        }
        Ok(())
    }

    async fn stop(&mut self) -> Result<(), IoError> {
        self.flush_resampler()?;
        if let Some(writer) = self.writer.take() {
            writer
                .finalize()
                .map_err(|e| IoError::from(wav_error(&self.path, e)))?;
            tracing::debug!(
                "path=<{}>, frames=<{}> | wav output written",
                self.path.display(),
                self.frames_written
            );
        }
        Ok(())
    }
}
