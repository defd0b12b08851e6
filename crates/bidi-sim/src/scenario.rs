//! Scenario files: a [`Script`] as JSON, what the `bidi-sim` server and tests load.
//!
//! A scenario is the JSON form of a [`Script`]: `{"rules": [...]}`, each rule `{"when":
//! <trigger>, "then": [<action>, ...], "repeat": false}`. Triggers are tagged by `"on"`
//! (`connect`, `text` with `contains`, `audio` with `min_ms`, `tool_result` with
//! `tool_use_id`), actions by `"do"` (`user_transcript`, `say`, `speak`, `call_tool`,
//! `speak_wav`, `interrupt`, `end_turn`, `usage`, `error`, `timeout`, `garbage`, `unknown_event`,
//! `sleep`, `close`). A `"description"` key is allowed and ignored. `"utterances"` lists
//! what the simulated model recognizes in the user's audio (`{"transcript": ..., "wav":
//! ...}`, see [`hearing`](crate::hearing)) and `"listening"` tunes how. `docs/testing.md`
//! describes every field.
//!
//! ```
//! use bidi_sim::scenario;
//! use bidi_sim::{Action, Trigger};
//!
//! let script = scenario::from_json_str(r#"{
//!   "description": "asks for the time, answers with the tool's result",
//!   "rules": [
//!     {"when": {"on": "text", "contains": "time"},
//!      "then": [{"do": "call_tool", "id": "t1", "name": "current_time", "input": {}}]},
//!     {"when": {"on": "tool_result", "tool_use_id": "t1"},
//!      "then": [{"do": "say", "text": "It is noon."}, {"do": "speak", "ms": 300}, {"do": "end_turn"}]}
//!   ]
//! }"#)?;
//! assert_eq!(script.rules.len(), 2);
//! assert_eq!(script.rules[1].then[2], Action::EndTurn);
//! assert!(matches!(&script.rules[0].when, Trigger::Text { contains } if contains == "time"));
//! # Ok::<(), bidi_sim::scenario::ScenarioError>(())
//! ```
//!
//! # Testing your own agent
//!
//! Start a simulator with a scenario, point the provider's real client at it, and assert on
//! what the agent yields and on what the simulator received:
//!
//! ```
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use bidi_agent::models::openai::{BidiOpenAIRealtimeModel, OpenAiRealtimeConfig};
//! use bidi_agent::{BidiAgent, tool};
//! use bidi_sim::{openai::OpenAiSim, scenario};
//! use futures_util::StreamExt;
//!
//! /// Tells the time.
//! #[tool]
//! fn current_time() -> String { "12:00".into() }
//!
//! let script = scenario::from_json_str(r#"{"rules": [
//!   {"when": {"on": "text", "contains": "time"},
//!    "then": [{"do": "call_tool", "id": "t1", "name": "current_time", "input": {}}]},
//!   {"when": {"on": "tool_result"}, "then": [{"do": "say", "text": "It is noon."}, {"do": "end_turn"}]}
//! ]}"#)?;
//! let sim = OpenAiSim::start(script).await?;
//! let model = BidiOpenAIRealtimeModel::new(
//!     OpenAiRealtimeConfig::new().endpoint(sim.url()).api_key("test"),
//! )?;
//! let agent = BidiAgent::builder(model).tool(current_time).build()?;
//! agent.start(None).await?;
//! agent.send("What time is it?").await?;
//! let mut events = agent.receive();
//! let mut answer = None;
//! while let Some(event) = events.next().await {
//!     let event = event?.to_json();
//!     if event["type"] == "bidi_transcript_stream" && event["is_final"] == true {
//!         answer = event["text"].as_str().map(str::to_owned);
//!         break;
//!     }
//! }
//! assert_eq!(answer.as_deref(), Some("It is noon."));
//! agent.stop().await?;
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::hearing::{Listening, Utterance};
use crate::{Action, Script};

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("path=<{path}> | could not read the scenario: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A `speak_wav` file is missing or not a WAV file.
    #[error("wav=<{path}> | the scenario's recording cannot be read: {source}")]
    Wav {
        /// The file, resolved against the scenario's folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: hound::Error,
    },
    /// An utterance names no `wav` recording.
    #[error("transcript=<{transcript}> | the utterance has no \"wav\" recording")]
    NoRecording {
        /// The utterance's transcript.
        transcript: String,
    },
    /// The text is not a scenario.
    #[error("path=<{path}> | not a scenario: {source}")]
    Parse {
        /// The file (`<text>` for a string).
        path: PathBuf,
        /// Where and why.
        #[source]
        source: serde_json::Error,
    },
}

/// The file form: a script and an optional description.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    #[serde(default)]
    rules: Vec<crate::Rule>,
    #[serde(default)]
    utterances: Vec<Utterance>,
    #[serde(default)]
    listening: Listening,
}

/// Parses a scenario from JSON text. Utterances' `wav` files are read relative to the
/// current folder.
pub fn from_json_str(text: &str) -> Result<Script, ScenarioError> {
    let mut script = parse(text, Path::new("<text>"))?;
    load_utterances(&mut script, Path::new("."))?;
    Ok(script)
}

/// Reads each utterance's `wav` recording, relative to `base`.
fn load_utterances(script: &mut Script, base: &Path) -> Result<(), ScenarioError> {
    for utterance in &mut script.utterances {
        let Some(wav) = &utterance.wav else {
            return Err(ScenarioError::NoRecording {
                transcript: utterance.transcript.clone(),
            });
        };
        let full = base.join(wav);
        *utterance = Utterance::from_wav(utterance.transcript.clone(), &full)
            .map_err(|source| ScenarioError::Wav { path: full, source })?;
    }
    Ok(())
}

/// Reads a scenario file (JSON). Each `speak_wav` path is resolved against the file's folder
/// and checked to be a readable WAV file; each utterance's `wav` recording is read from
/// there.
pub fn load(path: impl AsRef<Path>) -> Result<Script, ScenarioError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
        path: path.to_owned(),
        source,
    })?;
    let mut script = parse(&text, path)?;
    let base = path.parent().unwrap_or(Path::new("."));
    for action in script.rules.iter_mut().flat_map(|r| r.then.iter_mut()) {
        if let Action::SpeakWav { path: wav, .. } = action {
            let full = base.join(&*wav);
            hound::WavReader::open(&full).map_err(|source| ScenarioError::Wav {
                path: full.clone(),
                source,
            })?;
            *wav = full.to_string_lossy().into_owned();
        }
    }
    load_utterances(&mut script, base)?;
    Ok(script)
}

fn parse(text: &str, path: &Path) -> Result<Script, ScenarioError> {
    let file: File = serde_json::from_str(text).map_err(|source| ScenarioError::Parse {
        path: path.to_owned(),
        source,
    })?;
    Ok(Script {
        rules: file.rules,
        utterances: file.utterances,
        listening: file.listening,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_scenario_names_the_file_and_the_place() {
        let err = from_json_str(r#"{"rules": [{"when": {"on": "smell"}, "then": []}]}"#)
            .expect_err("unknown trigger");
        let text = err.to_string();
        assert!(text.contains("<text>") && text.contains("line 1"), "{text}");
        let err = from_json_str(r#"{"rule": []}"#).expect_err("unknown key");
        assert!(err.to_string().contains("rule"));
        let err = load("/nonexistent/scenario.json").expect_err("no file");
        assert!(err.to_string().contains("/nonexistent/scenario.json"));
    }

    #[test]
    fn an_utterance_needs_a_readable_recording() {
        let err = from_json_str(r#"{"utterances": [{"transcript": "hi"}]}"#).expect_err("no wav");
        assert!(matches!(&err, ScenarioError::NoRecording { transcript } if transcript == "hi"));
        let dir = std::env::temp_dir().join(format!("bidi-sim-scenario-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("s.json");
        std::fs::write(
            &file,
            r#"{"utterances": [{"transcript": "hi", "wav": "missing.wav"}]}"#,
        )
        .expect("write");
        let err = load(&file).expect_err("missing wav");
        assert!(err.to_string().contains("missing.wav"), "{err}");
        let err = from_json_str(r#"{"listening": {"silence": 3}}"#).expect_err("unknown field");
        assert!(err.to_string().contains("silence"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn an_empty_scenario_is_an_empty_script() {
        assert_eq!(from_json_str("{}").expect("empty"), Script::new());
    }
}
