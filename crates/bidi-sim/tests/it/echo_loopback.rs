//! Echo cancellation end to end (issue 24): a `BidiAgent` with the real OpenAI Realtime
//! client, talking to the OpenAI simulator (server VAD on), hears through a microphone and
//! speaks through a speaker of one `BidiAudioIO` on virtual ALSA devices joined by a "room":
//! a thread that reads what the speaker plays from a FIFO and writes it, delayed, attenuated
//! and with a few reflections, into the microphone's FIFO, at real-time pace. The answer's
//! own echo interrupts it (`bidi_interruption`) with echo cancellation off, and does not
//! with it on: the answer plays to its end and nothing is heard after it either.
//!
//! The devices come from bidi-audio's ALSA sandbox (`tests/it/common/sandbox.rs`, shared by
//! path): the test re-runs itself in a child process whose ALSA configuration has them.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bidi_agent::BidiAgent;
use bidi_agent::audio::BidiAudioIO;
use bidi_agent::audio::aec::EchoMode;
use bidi_agent::tools::StopConversation;
use bidi_agent::types::{
    AgentView, BidiAgentEvent, BidiInput, BidiInputEvent, BidiOutput, BidiTextInputEvent, IoError,
    PlaybackTracker,
};
use bidi_sim::hearing::Utterance;
use bidi_sim::openai::{OpenAiSim, OpenAiSimHandle};
use bidi_sim::{Action, Script, Trigger};
use tokio::sync::mpsc;

use crate::alsa_sandbox::{Alsa, assert_sandbox_passed, sandboxed};
use crate::echo_room::espeak_or_skip;
use crate::support;
use crate::support::loopback::{Echo, Room, RoomStats};

/// The answer the simulated model speaks (espeak-ng, about 7 s).
const ANSWER: &str = "Sure, I can help with that. The weather in Seattle today is cloudy \
with a chance of rain, and tomorrow the sun comes back in the afternoon.";

/// The simulator's voice activity threshold (its default): a 10 ms frame at or above it is
/// speech, and the first one starts `speech_started`, which the client turns into a
/// `bidi_interruption`.
const VAD_DBFS: f64 = -45.0;

/// The model's audio the speaker may still hold when it has played "all" of it: rounding,
/// and the output resampler's last chunk.
const SLACK: Duration = Duration::from_millis(5);

/// Guard against hangs, never a timing assertion.
const LIMIT: Duration = Duration::from_secs(90);

/// The user's typed lines, as the agent's second input.
struct Prompts(mpsc::UnboundedReceiver<String>);

#[bidi_agent::async_trait]
impl BidiInput for Prompts {
    async fn read(&mut self) -> Result<Option<BidiInputEvent>, IoError> {
        Ok(self
            .0
            .recv()
            .await
            .map(|t| BidiTextInputEvent::new(t).into()))
    }
}

/// What the test watches: each event's type and how much of the answer had been played
/// when it came (listed first among the outputs, so it sees an interruption before the
/// speaker flushes).
struct Observer {
    seen: mpsc::UnboundedSender<(&'static str, Duration)>,
    tracker: Option<PlaybackTracker>,
}

#[bidi_agent::async_trait]
impl BidiOutput for Observer {
    async fn start(&mut self, agent: Arc<dyn AgentView>) -> Result<(), IoError> {
        self.tracker = agent.playback();
        Ok(())
    }

    async fn write(&mut self, event: &BidiAgentEvent) -> Result<(), IoError> {
        let played = self
            .tracker
            .as_ref()
            .map(PlaybackTracker::consumed)
            .unwrap_or_default();
        let _ = self.seen.send((event.event_type(), played));
        Ok(())
    }
}

/// How the conversation went.
#[derive(Debug)]
struct Outcome {
    /// The answer's audio played (or discarded) when the first interruption came, if one did.
    interrupted_at: Option<Duration>,
    /// The model's audio played (or discarded) in all.
    played: Duration,
    /// The model's audio the agent emitted in all.
    emitted: Duration,
    /// The answer's length (the WAV file the simulator speaks).
    answer: Duration,
    /// The loudest 10 ms of what the simulator heard, in dBFS.
    loudest_heard_dbfs: f64,
    /// Every event type seen, in order (but audio chunks and transcripts).
    events: Vec<&'static str>,
}

/// The events the test watched, as they came.
#[derive(Debug, Default)]
struct Log {
    /// Every event type, in order (but audio chunks and transcripts).
    events: Vec<&'static str>,
    /// The answer's audio played (or discarded) at the first interruption, if one came.
    interrupted_at: Option<Duration>,
}

impl Log {
    fn note(&mut self, kind: &'static str, played: Duration) {
        if !matches!(kind, "bidi_audio_stream" | "bidi_transcript_stream") {
            self.events.push(kind);
        }
        if kind == "bidi_interruption" && self.interrupted_at.is_none() {
            self.interrupted_at = Some(played);
        }
    }
}

/// The simulator: the answer to "story" is [`ANSWER`] spoken from `wav`, to "bye" a
/// goodbye and a call of `stop_conversation`; its server VAD is on (it listens for an utterance, which the echo is not).
async fn simulator(wav: &Path) -> OpenAiSimHandle {
    let script = Script::new()
        .hears(Utterance::from_samples(
            "never said",
            vec![0; 2_400],
            24_000,
        ))
        .on(
            Trigger::Text {
                contains: "story".into(),
            },
            vec![
                Action::Say {
                    text: ANSWER.into(),
                    chunk: 0,
                },
                Action::SpeakWav {
                    path: wav.display().to_string(),
                    frame_ms: 20,
                },
                Action::EndTurn,
            ],
        )
        .on(
            Trigger::Text {
                contains: "bye".into(),
            },
            vec![
                Action::Say {
                    text: "Goodbye.".into(),
                    chunk: 0,
                },
                Action::CallTool {
                    id: "stop-1".into(),
                    name: "stop_conversation".into(),
                    input: serde_json::json!({}),
                },
            ],
        );
    assert!((script.listening.threshold_dbfs - VAD_DBFS as f32).abs() < 0.01);
    OpenAiSim::start(script).await.expect("simulator")
}

/// The audio the simulator has received, in ms (20 ms per `input_audio_buffer.append`:
/// the microphone's frames).
fn heard_ms(sim: &OpenAiSimHandle) -> u64 {
    sim.recorded()
        .first()
        .map(|c| c.of_type("input_audio_buffer.append").len() as u64 * 20)
        .unwrap_or(0)
}

/// The loudest 10 ms frame of the microphone audio the simulator received, in dBFS (what
/// its VAD compares with [`VAD_DBFS`]).
fn loudest_heard_dbfs(sim: &OpenAiSimHandle) -> f64 {
    use base64::Engine as _;
    let mut pcm = Vec::new();
    for conn in sim.recorded() {
        for event in conn.of_type("input_audio_buffer.append") {
            if let Some(audio) = event["audio"].as_str()
                && let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(audio)
            {
                pcm.extend(
                    bytes
                        .chunks_exact(2)
                        .map(|b| f64::from(i16::from_le_bytes([b[0], b[1]])) / 32_768.0),
                );
            }
        }
    }
    pcm.chunks(240)
        .map(|f| {
            10.0 * (f.iter().map(|s| s * s).sum::<f64>() / f.len() as f64)
                .max(1e-12)
                .log10()
        })
        .fold(f64::NEG_INFINITY, f64::max)
}

/// One conversation on the loopback devices with `mode`: asks for the answer, then waits
/// for an interruption or for the answer to play to its end; after an answer that played to
/// its end, waits until the simulator has heard 2 s more of the microphone (the echo's tail
/// included) and says "bye", whose answer comes after anything the simulator heard before
/// it.
fn converse(dir: &Path, mode: EchoMode, echo: Echo) -> (Outcome, Arc<RoomStats>) {
    let wav = support::speak(dir, "answer.wav", ANSWER, &[]);
    let (samples, rate) = support::read(&wav);
    let answer = Duration::from_secs_f64(samples.len() as f64 / f64::from(rate));
    let room = Room::start(dir, echo, VAD_DBFS + 10.0).unwrap_or_else(|e| panic!("room: {e}"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let outcome = runtime.block_on(async {
        let sim = simulator(&wav).await;
        let agent = BidiAgent::builder(support::openai_model(&sim.url()))
            .tool(StopConversation)
            .build()
            .expect("agent");
        let audio = BidiAudioIO::new()
            .input_device_name("vloop_cap")
            .output_device_name("vloop_play")
            .echo_mode(mode);
        let (prompt, prompts) = mpsc::unbounded_channel();
        let (seen_tx, mut seen) = mpsc::unbounded_channel();
        let inputs: Vec<Box<dyn BidiInput>> =
            vec![Box::new(audio.input()), Box::new(Prompts(prompts))];
        let outputs: Vec<Box<dyn BidiOutput>> = vec![
            Box::new(Observer {
                seen: seen_tx,
                tracker: None,
            }),
            Box::new(audio.output()),
        ];
        let tracker = agent.playback();
        let watch = async {
            let mut log = Log::default();
            let _ = prompt.send("Tell me a story".to_owned());
            // The answer plays to its end (the model sent all of it, and all the audio the
            // agent emitted was consumed by the speaker), or is interrupted.
            let mut complete = false;
            let mut ended = false;
            loop {
                tokio::select! {
                    next = seen.recv() => {
                        let Some((kind, played)) = next else {
                            ended = true;
                            break;
                        };
                        log.note(kind, played);
                        if kind == "bidi_interruption" {
                            break;
                        }
                        complete |= kind == "bidi_response_complete";
                    }
                    () = tokio::time::sleep(Duration::from_millis(20)) => {
                        let emitted = tracker.emitted();
                        if complete
                            && emitted > Duration::ZERO
                            && tracker.consumed() + SLACK >= emitted
                        {
                            break;
                        }
                    }
                }
            }
            if !ended {
                // After an answer that played to its end, the echo's tail reaches the
                // simulator too; then "bye", answered after anything heard before it, and
                // the model's `stop_conversation` ends the run.
                let from = heard_ms(&sim);
                while !complete || heard_ms(&sim) < from + 2_000 {
                    if log.interrupted_at.is_some() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                let _ = prompt.send("bye".to_owned());
                while let Some((kind, played)) = seen.recv().await {
                    log.note(kind, played);
                }
            }
            log
        };
        let run = agent.run(inputs, outputs, None);
        let (ran, watched) = tokio::time::timeout(LIMIT, async { tokio::join!(run, watch) })
            .await
            .unwrap_or_else(|_| panic!("the conversation took longer than {LIMIT:?}"));
        ran.unwrap_or_else(|e| panic!("the run failed: {e}"));
        let Log {
            interrupted_at,
            events,
        } = watched;
        let outcome = Outcome {
            interrupted_at,
            played: tracker.consumed(),
            emitted: tracker.emitted(),
            answer,
            loudest_heard_dbfs: loudest_heard_dbfs(&sim),
            events,
        };
        sim.shutdown().await;
        outcome
    });
    drop(runtime);
    let stats = room.stop();
    eprintln!(
        "mode {mode:?}: {outcome:?}; room: {} steps, {} dropped, {} with the speaker, {} with a loud echo",
        stats.steps.load(Ordering::Relaxed),
        stats.dropped.load(Ordering::Relaxed),
        stats.speaker_steps.load(Ordering::Relaxed),
        stats.loud_echo_steps.load(Ordering::Relaxed),
    );
    (outcome, stats)
}

/// The room of these tests: the echo 80 ms late, 6 dB under what the speaker played.
const ROOM: Echo = Echo {
    delay_ms: 80,
    gain: 0.5,
};

fn in_loopback(test: &str, body: impl FnOnce(&Path)) {
    if !espeak_or_skip(test) {
        return;
    }
    if let Some(out) = sandboxed(test, Alsa::Loopback, body) {
        assert_sandbox_passed(test, &out);
    }
}

#[test]
fn without_aec_the_answer_interrupts_itself() {
    in_loopback(
        "echo_loopback::without_aec_the_answer_interrupts_itself",
        |dir| {
            let (outcome, stats) = converse(dir, EchoMode::Off, ROOM);
            let at = outcome
                .interrupted_at
                .unwrap_or_else(|| panic!("no self-interruption without AEC: {outcome:?}"));
            assert!(
                at > Duration::ZERO && at < outcome.answer,
                "interrupted while the answer played: {outcome:?}"
            );
            assert!(
                stats.loud_echo_steps.load(Ordering::Relaxed) > 0,
                "the room echoed the answer"
            );
            // The echo reached the simulator over its VAD's threshold (measured -32 to -44
            // dBFS in fifteen runs).
            assert!(
                outcome.loudest_heard_dbfs >= VAD_DBFS,
                "the simulator heard the echo: {outcome:?}"
            );
        },
    );
}

fn no_self_interruption(test: &str, mode: EchoMode) {
    in_loopback(test, |dir| {
        let (outcome, stats) = converse(dir, mode, ROOM);
        assert_eq!(
            outcome.interrupted_at, None,
            "self-interruption with {mode:?}: {outcome:?}"
        );
        assert!(
            outcome.events.contains(&"bidi_response_complete")
                && outcome.events.last() == Some(&"bidi_connection_close"),
            "the answer, then the goodbye's stop_conversation: {outcome:?}"
        );
        // All of the answer was played (the simulator resamples it: 1 % of slack).
        assert!(
            outcome.emitted >= outcome.answer.mul_f64(0.99)
                && outcome.played + SLACK >= outcome.emitted,
            "the answer played in full: {outcome:?}"
        );
        // What the simulator heard stayed under its VAD's threshold (measured -51 to -60
        // dBFS with aec, -55 to -66 with aec+ns, in fifteen runs: 6 dB of margin at worst).
        assert!(
            outcome.loudest_heard_dbfs < VAD_DBFS,
            "the residual echo reached the VAD's threshold: {outcome:?}"
        );
        // The echo was there to cancel: over a second of it at least 10 dB over the VAD's
        // threshold (what interrupts the answer without AEC).
        let loud = stats.loud_echo_steps.load(Ordering::Relaxed);
        assert!(loud > 100, "{loud} steps of loud echo");
    });
}

#[test]
fn with_aec_the_answer_plays_to_its_end() {
    no_self_interruption(
        "echo_loopback::with_aec_the_answer_plays_to_its_end",
        EchoMode::Aec,
    );
}

#[test]
fn with_aec_and_ns_the_answer_plays_to_its_end() {
    no_self_interruption(
        "echo_loopback::with_aec_and_ns_the_answer_plays_to_its_end",
        EchoMode::AecNs,
    );
}
