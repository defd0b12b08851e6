//! The agent the `bidi-server` binary serves: the quickstart's (its tools `current_time`
//! and `calculator`, its system prompt, its choice of provider), and, with no provider, the
//! offline simulator listening as a provider's server VAD does.

use std::io::Cursor;

use bidi_agent::BidiAgent;
use bidi_agent::audio::dsp::{StreamResampler, sample_to_i16};
use bidi_examples::assistant::cli::{Args, ProviderName, SimProtocol};
use bidi_examples::assistant::provider::{self, Provider};
use bidi_examples::assistant::{DEFAULT_SYSTEM_PROMPT, QuickstartError, demo, tools};
use bidi_sim::hearing::Utterance;
use bidi_sim::openai::{OpenAiSim, OpenAiSimHandle, OpenAiSimOptions};
use bidi_sim::{Action, Script, Trigger};

use crate::factory::{AgentFactory, BoxError, SessionStart};
use crate::twilio::call::TWILIO_RATE;

/// How long the simulator's spoken answers are: long enough to interrupt.
pub const SIM_ANSWER_MS: u64 = 3_000;

/// The questions the simulator recognizes in speech, with their reference recordings
/// (espeak-ng, 16 kHz), embedded in the binary.
const UTTERANCES: [(&str, &[u8]); 2] = [
    (
        "What time is it in Tokyo?",
        include_bytes!("../assets/what-time.wav"),
    ),
    (
        "What is twelve times seven?",
        include_bytes!("../assets/twelve-times-seven.wav"),
    ),
];

/// Where the served model is and how to reach it.
#[derive(Debug, Clone, Default)]
pub struct ProviderChoice {
    /// The provider (`None`: from the environment's credentials, else the simulator).
    pub provider: Option<ProviderName>,
    /// Another endpoint for the provider's client.
    pub endpoint: Option<String>,
    /// A CA file to trust besides the system's.
    pub ca_file: Option<std::path::PathBuf>,
    /// The model id.
    pub model: Option<String>,
    /// The voice.
    pub voice: Option<String>,
    /// The system prompt (default: the quickstart's).
    pub system_prompt: Option<String>,
    /// The audio a phone call's model gets.
    pub call_audio: CallAudio,
}

/// The audio a phone call's model gets (`--call-audio`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CallAudio {
    /// The call's own G.711 μ-law at 8 kHz, passed through, where the provider takes it
    /// (OpenAI Realtime); PCM, resampled, for the others.
    #[default]
    Mulaw,
    /// PCM at the model's own rate for every provider: the call's audio resampled and
    /// transcoded both ways.
    Pcm,
}

/// The quickstart's agent, one per session, on the chosen provider; with no provider, on
/// the simulator this value started (stopped when it is dropped).
#[derive(Debug)]
pub struct QuickstartAgents {
    provider: Provider,
    args: Args,
    endpoint: Option<String>,
    system_prompt: String,
    call_audio: CallAudio,
    sim: Option<OpenAiSimHandle>,
}

impl QuickstartAgents {
    /// Chooses the provider as the quickstart does (`env` gives environment variables) and,
    /// for the simulator, starts it.
    pub async fn start(
        choice: ProviderChoice,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, QuickstartError> {
        let args = Args {
            provider: choice.provider,
            endpoint: choice.endpoint,
            model: choice.model,
            voice: choice.voice,
            system_prompt: None,
            text: false,
            json: false,
            input_wav: None,
            output_wav: None,
            ca_file: choice.ca_file,
            sim_protocol: SimProtocol::Openai,
        };
        let provider = provider::choose(&args, &env)?;
        let (sim, endpoint) = match provider {
            Provider::Sim(_) => {
                let sim = OpenAiSim::start_with(
                    served_script(),
                    OpenAiSimOptions {
                        realtime: true,
                        // Served indefinitely and never inspected: memory stays flat.
                        skip_recording: true,
                        ..OpenAiSimOptions::default()
                    },
                )
                .await
                .map_err(|e| QuickstartError::Sim(e.to_string()))?;
                let url = sim.url();
                (Some(sim), Some(url))
            }
            _ => (None, args.endpoint.clone()),
        };
        // Built once now, so a bad setting is an error at start, not per session.
        provider::model(provider, endpoint.as_deref(), &args, &env)?;
        Ok(Self {
            provider,
            args,
            endpoint,
            system_prompt: choice
                .system_prompt
                .unwrap_or_else(|| DEFAULT_SYSTEM_PROMPT.to_owned()),
            call_audio: choice.call_audio,
            sim,
        })
    }

    /// What is served, for the start-up line: `openai`, `sim (openai protocol) at URL`, ...
    pub fn describe(&self) -> String {
        match (self.provider, &self.sim) {
            (Provider::Sim(_), Some(sim)) => {
                format!(
                    "the offline simulator (OpenAI Realtime protocol) at {}",
                    sim.url()
                )
            }
            (Provider::NovaSonic, _) => "nova-sonic".to_owned(),
            (Provider::OpenAi, _) => "openai".to_owned(),
            (Provider::Gemini, _) => "gemini".to_owned(),
            (Provider::Sim(p), None) => format!("sim/{p}"),
        }
    }
}

#[async_trait::async_trait]
impl AgentFactory for QuickstartAgents {
    async fn create(&self, start: SessionStart) -> Result<BidiAgent, BoxError> {
        let env = |k: &str| std::env::var(k).ok();
        let endpoint = self.endpoint.as_deref();
        let model = match (start.phone_call, self.call_audio) {
            (true, CallAudio::Mulaw) => {
                provider::phone_model(self.provider, endpoint, &self.args, env)?
            }
            _ => provider::model(self.provider, endpoint, &self.args, env)?,
        };
        let mut builder = BidiAgent::builder_boxed(model)
            .tool(tools::current_time)
            .tool(tools::calculator)
            .system_prompt(self.system_prompt.clone());
        if let Some(session) = start.session {
            builder = builder.session_manager(session);
        }
        Ok(builder.build()?)
    }
}

/// The simulator's scenario behind the server: the quickstart's demo, heard in speech.
/// Each utterance is answered with the user's transcript and [`SIM_ANSWER_MS`] of audio:
/// the embedded questions by their answers (a tool call first), any other speech of 1.5 s
/// or more the first time as the time question for Tokyo, and after that with a short
/// "only a few questions" answer. Speech that starts during an answer is a barge-in
/// (`input_audio_buffer.speech_started`).
pub fn served_script() -> Script {
    let mut script = demo::script_speaking(SIM_ANSWER_MS).always(
        Trigger::Audio { min_ms: 200 },
        vec![
            Action::Say {
                text: "This offline simulator knows only a few questions: ask me what time it is in Tokyo, or what twelve times seven is.".into(),
                chunk: 0,
            },
            Action::Speak {
                ms: SIM_ANSWER_MS,
                frame_ms: 0,
            },
            Action::EndTurn,
        ],
    );
    for (transcript, wav) in UTTERANCES {
        if let Some(utterance) = embedded(transcript, wav) {
            // A phone call carries only up to 4 kHz: the same question heard through the
            // telephone band is its own reference (it is too far from the full-band one).
            if let Some(phone) = telephone_band(&utterance) {
                script = script.hears(phone);
            }
            script = script.hears(utterance);
        }
    }
    script
}

/// `utterance`'s reference as a phone line carries it: through 8 kHz and back.
fn telephone_band(utterance: &Utterance) -> Option<Utterance> {
    let (samples, rate) = utterance.samples()?;
    let through = |x: &[f32], from: u32, to: u32| -> Option<Vec<f32>> {
        let mut resampler = StreamResampler::new(from, to, 1).ok()?;
        let mut out = Vec::with_capacity(x.len() * to as usize / from as usize + 1);
        resampler.process(x, &mut out).ok()?;
        resampler.finish(&mut out).ok()?;
        Some(out)
    };
    let floats: Vec<f32> = samples.iter().map(|&s| f32::from(s) / 32_768.0).collect();
    let narrow = through(&through(&floats, rate, TWILIO_RATE)?, TWILIO_RATE, rate)?;
    let samples = narrow.iter().map(|&s| sample_to_i16(s)).collect();
    Some(Utterance::from_samples(
        utterance.transcript.clone(),
        samples,
        rate,
    ))
}

/// An embedded reference recording (mono 16-bit WAV) as an utterance.
fn embedded(transcript: &str, wav: &[u8]) -> Option<Utterance> {
    let reader = hound::WavReader::new(Cursor::new(wav)).ok()?;
    let rate = reader.spec().sample_rate;
    let samples: Result<Vec<i16>, _> = reader.into_samples::<i16>().collect();
    Some(Utterance::from_samples(transcript, samples.ok()?, rate))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_references_load() {
        for (transcript, wav) in UTTERANCES {
            let u = embedded(transcript, wav).expect("a valid WAV");
            assert!(
                u.fingerprint().is_some_and(|f| f.len() > 100),
                "{transcript}"
            );
        }
        assert_eq!(served_script().utterances.len(), 4);
    }

    #[test]
    fn a_question_over_the_phone_is_recognized() {
        use bidi_agent::audio::dsp::g711::{mulaw_decode, mulaw_encode};
        use bidi_sim::hearing::Recognizer;

        let script = served_script();
        let recognizer = Recognizer::new(
            &script.utterances,
            bidi_sim::hearing::Listening::DEFAULT_MAX_DISTANCE,
        );
        for (transcript, wav) in UTTERANCES {
            let u = embedded(transcript, wav).expect("reference");
            let phone = telephone_band(&u).expect("phone band");
            // As a call delivers it: μ-law at 8 kHz, resampled to the model's 24 kHz.
            let (samples, _) = phone.samples().expect("samples");
            let mut down = StreamResampler::new(16_000, 8_000, 1).expect("resampler");
            let floats: Vec<f32> = samples.iter().map(|&s| f32::from(s) / 32_768.0).collect();
            let mut at8 = Vec::new();
            down.process(&floats, &mut at8).expect("resampled");
            let line: Vec<f32> = at8
                .iter()
                .map(|&s| f32::from(mulaw_decode(mulaw_encode(sample_to_i16(s)))) / 32_768.0)
                .collect();
            let mut up = StreamResampler::new(8_000, 24_000, 1).expect("resampler");
            let mut at24 = Vec::new();
            up.process(&line, &mut at24).expect("resampled");
            let heard: Vec<i16> = at24.iter().map(|&s| sample_to_i16(s)).collect();
            let recognition = recognizer.recognize(&heard, 24_000);
            assert_eq!(recognition.transcript.as_deref(), Some(transcript));
        }
    }
}
