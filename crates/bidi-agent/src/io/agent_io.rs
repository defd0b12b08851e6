//! [`AgentIo`] and [`IntoAgentIo`]: the inputs and outputs given to
//! [`BidiAgent::run_io`](crate::BidiAgent::run_io).

use bidi_types::{BidiInput, BidiOutput};

use super::text::BidiTextIO;

/// Boxed inputs, then boxed outputs.
type Parts = (Vec<Box<dyn BidiInput>>, Vec<Box<dyn BidiOutput>>);

/// Inputs and outputs for one run, built one at a time (for mixed lists; one IO or a pair
/// need not be wrapped, see [`IntoAgentIo`]).
///
/// ```
/// use bidi_agent::io::{AgentIo, BidiTextIO, TextOutput};
///
/// let text = BidiTextIO::new();
/// let io = AgentIo::new()
///     .input(text.input())
///     .output(text.output())
///     .output(TextOutput::to_writer(tokio::io::sink()));
/// assert_eq!((io.inputs().len(), io.outputs().len()), (1, 2));
/// ```
#[derive(Default)]
pub struct AgentIo {
    inputs: Vec<Box<dyn BidiInput>>,
    outputs: Vec<Box<dyn BidiOutput>>,
}

impl std::fmt::Debug for AgentIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentIo")
            .field("inputs", &self.inputs.len())
            .field("outputs", &self.outputs.len())
            .finish()
    }
}

impl AgentIo {
    /// No inputs, no outputs.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an input (read concurrently with the others).
    pub fn input(mut self, input: impl BidiInput + 'static) -> Self {
        self.inputs.push(Box::new(input));
        self
    }

    /// Adds an output (every event is written to every output).
    pub fn output(mut self, output: impl BidiOutput + 'static) -> Self {
        self.outputs.push(Box::new(output));
        self
    }

    /// The inputs so far.
    pub fn inputs(&self) -> &[Box<dyn BidiInput>] {
        &self.inputs
    }

    /// The outputs so far.
    pub fn outputs(&self) -> &[Box<dyn BidiOutput>] {
        &self.outputs
    }

    /// The inputs and the outputs.
    pub fn into_parts(self) -> Parts {
        (self.inputs, self.outputs)
    }
}

/// What [`BidiAgent::run_io`](crate::BidiAgent::run_io) takes: an IO that is both sides
/// ([`BidiTextIO`]; `BidiAudioIO` with the `audio` feature), an `(input, output)` pair, or an
/// [`AgentIo`] (built one at a time, or from lists already boxed).
///
/// ```
/// use bidi_agent::io::{AgentIo, BidiTextIO, IntoAgentIo};
/// use bidi_agent::types::{BidiInput, BidiOutput};
///
/// let text = BidiTextIO::new();
/// assert_eq!(text.clone().into_agent_io().inputs().len(), 1);
/// assert_eq!((text.input(), text.output()).into_agent_io().outputs().len(), 1);
/// let inputs: Vec<Box<dyn BidiInput>> = vec![Box::new(text.input())];
/// let outputs: Vec<Box<dyn BidiOutput>> = vec![Box::new(text.output())];
/// assert_eq!(AgentIo::from((inputs, outputs)).into_agent_io().inputs().len(), 1);
/// ```
pub trait IntoAgentIo {
    /// The inputs and outputs.
    fn into_agent_io(self) -> AgentIo;
}

impl IntoAgentIo for AgentIo {
    fn into_agent_io(self) -> AgentIo {
        self
    }
}

impl<I: BidiInput + 'static, O: BidiOutput + 'static> IntoAgentIo for (I, O) {
    fn into_agent_io(self) -> AgentIo {
        AgentIo::new().input(self.0).output(self.1)
    }
}

/// Lists already boxed (`AgentIo::from((inputs, outputs))`).
impl From<Parts> for AgentIo {
    fn from((inputs, outputs): Parts) -> Self {
        Self { inputs, outputs }
    }
}

/// Stdin in, stdout out.
impl IntoAgentIo for BidiTextIO {
    fn into_agent_io(self) -> AgentIo {
        AgentIo::new().input(self.input()).output(self.output())
    }
}

/// The microphone in, the speaker out.
#[cfg(feature = "audio")]
impl IntoAgentIo for bidi_audio::BidiAudioIO {
    fn into_agent_io(self) -> AgentIo {
        AgentIo::new().input(self.input()).output(self.output())
    }
}
