//! `BidiAgent::run` and `BidiAgent::run_io`: the agent between inputs and outputs.

use std::sync::Arc;

use bidi_types::{AgentView, BidiAgentEvent, BidiErrorEvent, BidiInput, BidiOutput, ModelError};
use futures_util::StreamExt;
use futures_util::future::{join_all, try_join_all};

use super::inner::Inner;
use super::{BidiAgent, event_loop};
use crate::error::{AgentError, StopFailure};
use crate::invocation::InvocationState;
use crate::io::IntoAgentIo;

type Inputs = Vec<Box<dyn BidiInput>>;
type Outputs = Vec<Box<dyn BidiOutput>>;

impl BidiAgent {
    /// Runs the agent between the inputs and outputs of `io`, with no invocation state: an IO
    /// that is both sides (`BidiTextIO`, `BidiAudioIO`), an `(input, output)` pair, an
    /// [`AgentIo`](crate::io::AgentIo) built from several, or the two lists as a pair. Else
    /// as [`Self::run`].
    ///
    /// ```no_run
    /// # async fn demo(agent: bidi_agent::BidiAgent) -> Result<(), bidi_agent::AgentError> {
    /// use bidi_agent::io::{AgentIo, BidiTextIO};
    ///
    /// agent.run_io(BidiTextIO::new()).await?;
    ///
    /// let text = BidiTextIO::new();
    /// agent.run_io((text.input(), text.output())).await?;
    /// agent.run_io(AgentIo::new().input(text.input()).output(text.output()).output(BidiTextIO::new().output())).await
    /// # }
    /// ```
    pub async fn run_io(&self, io: impl IntoAgentIo) -> Result<(), AgentError> {
        let (inputs, outputs) = io.into_agent_io().into_parts();
        self.run(inputs, outputs, None).await
    }

    /// Runs the agent between `inputs` and `outputs` (for one IO or a pair,
    /// [`Self::run_io`] reads simpler; this form takes any number, and the invocation state
    /// every tool sees): starts the agent, then every input and
    /// output (with the agent as an [`AgentView`]); pumps every input into `send` and every
    /// event of `receive` into all outputs, concurrently; and on any exit (the stop tool, the
    /// model closing, an error, or this future being dropped) stops the inputs, the outputs
    /// and the agent. Every stop runs; the first error is returned, else the combined stop
    /// errors ([`AgentError::Stop`]).
    ///
    /// An input whose `read` returns `Ok(None)` is exhausted; the others go on. When a `send`
    /// finds the model's connection already ended ([`ModelError::Closed`]), the error
    /// returned is the one that ended the event stream (a refusal, a provider error), if it
    /// comes within 2 s, after its `bidi_error` reached the outputs.
    ///
    /// ```no_run
    /// # async fn demo(agent: bidi_agent::BidiAgent) -> Result<(), bidi_agent::AgentError> {
    /// use bidi_agent::io::BidiTextIO;
    ///
    /// let io = BidiTextIO::new();
    /// let state = bidi_agent::InvocationState::new();
    /// agent.run(vec![Box::new(io.input())], vec![Box::new(io.output())], Some(state)).await
    /// # }
    /// ```
    pub async fn run(
        &self,
        inputs: Inputs,
        outputs: Outputs,
        invocation_state: Option<InvocationState>,
    ) -> Result<(), AgentError> {
        self.start(invocation_state).await?;
        let mut guard = StopGuard {
            agent: Some(Arc::clone(&self.inner)),
            inputs,
            outputs,
        };
        let pumped = pump(self, &mut guard.inputs, &mut guard.outputs).await;
        let stopped = guard.stop_all().await;
        pumped?;
        stopped
    }
}

async fn pump(
    agent: &BidiAgent,
    inputs: &mut Inputs,
    outputs: &mut Outputs,
) -> Result<(), AgentError> {
    let view: Arc<dyn AgentView> = Arc::new(agent.handle());
    for (i, input) in inputs.iter_mut().enumerate() {
        input
            .start(Arc::clone(&view))
            .await
            .map_err(|source| AgentError::Io {
                name: format!("input[{i}].start"),
                source,
            })?;
    }
    for (i, output) in outputs.iter_mut().enumerate() {
        output
            .start(Arc::clone(&view))
            .await
            .map_err(|source| AgentError::Io {
                name: format!("output[{i}].start"),
                source,
            })?;
    }

    // An input's event the agent refuses (a player's report past the audio sent, say) is
    // answered on the outputs with a `bidi_error`, and the conversation goes on.
    // The queue carries the refusal's message (the event is made on the way out): a queue
    // allocates its first 32 slots up front, and this one is rarely used.
    let (refused_tx, refused_rx) = tokio::sync::mpsc::channel::<String>(8);
    let read_all = try_join_all(inputs.iter_mut().enumerate().map(|(i, input)| {
        let refused = refused_tx.clone();
        async move {
            while let Some(event) = input.read().await.map_err(|source| AgentError::Io {
                name: format!("input[{i}]"),
                source,
            })? {
                match agent.send(event).await {
                    Err(AgentError::InvalidInput(e)) => {
                        tracing::debug!("input=<{i}>, error=<{e}> | input event refused");
                        // Never blocks the input: a full queue drops the notice, not audio.
                        let _ = refused.try_send(e.to_string());
                    }
                    other => other?,
                }
            }
            tracing::debug!("input=<{i}> | input exhausted");
            Ok::<(), AgentError>(())
        }
    }));
    drop(refused_tx);
    let write_all = async {
        let mut events = agent.receive();
        let mut refused_rx = refused_rx;
        loop {
            let event = tokio::select! {
                biased;
                next = events.next() => match next {
                    Some(event) => event?,
                    None => break,
                },
                Some(message) = refused_rx.recv() => {
                    BidiErrorEvent::new(message, "InvalidInput").into()
                }
            };
            // One output (the usual case) is written to directly: joining allocates, and
            // this runs for every event.
            match outputs.as_mut_slice() {
                [output] => write(0, output, &event).await?,
                outputs => {
                    let writes = outputs.iter_mut().enumerate();
                    try_join_all(writes.map(|(i, o)| write(i, o, &event))).await?;
                }
            }
        }
        Ok::<(), AgentError>(())
    };
    tokio::pin!(read_all, write_all);
    tokio::select! {
        written = &mut write_all => written,
        read = &mut read_all => match read {
            // Every input is exhausted: the conversation goes on until the model ends it.
            Ok(_) => write_all.await,
            // A send found the model's connection already ended: the event stream carries
            // why (a refusal, a provider error), so let it reach the outputs and report that.
            Err(closed @ AgentError::Model(ModelError::Closed(_))) => {
                match tokio::time::timeout(CAUSE_GRACE, &mut write_all).await {
                    Ok(Err(cause)) => Err(cause),
                    _ => Err(closed),
                }
            }
            Err(e) => Err(e),
        },
    }
}

/// Writes `event` to output `i`.
async fn write(
    i: usize,
    output: &mut Box<dyn BidiOutput>,
    event: &BidiAgentEvent,
) -> Result<(), AgentError> {
    output.write(event).await.map_err(|source| AgentError::Io {
        name: format!("output[{i}]"),
        source,
    })
}

/// How long `run` waits for the event stream to say why the model's connection ended, when
/// an input's send finds it ended.
const CAUSE_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// Stops inputs, outputs and agent once, also when `run` is dropped midway.
struct StopGuard {
    agent: Option<Arc<Inner>>,
    inputs: Inputs,
    outputs: Outputs,
}

impl StopGuard {
    async fn stop_all(&mut self) -> Result<(), AgentError> {
        let Some(agent) = self.agent.take() else {
            return Ok(());
        };
        stop_parts(
            agent,
            std::mem::take(&mut self.inputs),
            std::mem::take(&mut self.outputs),
        )
        .await
    }
}

async fn stop_parts(
    agent: Arc<Inner>,
    mut inputs: Inputs,
    mut outputs: Outputs,
) -> Result<(), AgentError> {
    let mut failures = Vec::new();
    let input_stops = join_all(inputs.iter_mut().map(|i| i.stop())).await;
    for (i, r) in input_stops.into_iter().enumerate() {
        if let Err(e) = r {
            failures.push(StopFailure {
                name: format!("input[{i}].stop"),
                error: Box::new(e),
            });
        }
    }
    let output_stops = join_all(outputs.iter_mut().map(|o| o.stop())).await;
    for (i, r) in output_stops.into_iter().enumerate() {
        if let Err(e) = r {
            failures.push(StopFailure {
                name: format!("output[{i}].stop"),
                error: Box::new(e),
            });
        }
    }
    if let Err(e) = event_loop::stop(&agent).await {
        failures.push(StopFailure {
            name: "agent.stop".into(),
            error: Box::new(e),
        });
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(AgentError::Stop(failures))
    }
}

impl Drop for StopGuard {
    fn drop(&mut self) {
        let Some(agent) = self.agent.take() else {
            return;
        };
        let inputs = std::mem::take(&mut self.inputs);
        let outputs = std::mem::take(&mut self.outputs);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if let Err(e) = stop_parts(agent, inputs, outputs).await {
                    tracing::warn!("error=<{e}> | stopping after a cancelled run failed");
                }
            });
        }
    }
}
