//! The faults providers really produce, injected by the simulators, against a `BidiAgent`
//! with the real provider clients (issue 26). Each ends as documented — the conversation goes
//! on, or a typed error event and a clean end of `receive` — never a hang (every wait is
//! bounded by the answer limit) and never a panic.
//!
//! - the connection dropped mid-answer, and Gemini's 1011 / 1007 closes: `bidi_error`, then
//!   `receive` ends with the model's error;
//! - a malformed frame mid-answer: `bidi_error`, and the answer goes on;
//! - a server that stalls mid-answer (reads and writes nothing for 1.5 s): the answer
//!   completes, and the user audio sent meanwhile arrives, all of it;
//! - a server that reads slowly: the agent's sends wait (backpressure), no audio is lost;
//! - a restart after the provider's time limit: user audio sent while it runs is delivered
//!   on the new connection; with the reconnect refused, `receive` ends with a typed error
//!   and later sends are refused one by one (each is reported).

use crate::support;

use bidi_agent::types::{AudioFormat, BidiAudioInputEvent, Channels, SampleRate};
use bidi_agent::{AgentError, AgentEventStream, BidiAgent};
use bidi_sim::faults::Faults;
use bidi_sim::gemini::GeminiSim;
use bidi_sim::openai::{OpenAiSim, OpenAiSimHandle, OpenAiSimOptions};
use bidi_sim::{Action, Script, Trigger};
use futures_util::StreamExt;
use serde_json::Value;

/// Every item of `events` until the stream ends: events as JSON, errors as their text.
async fn to_the_end(events: &mut AgentEventStream) -> Vec<Result<Value, String>> {
    let mut seen = Vec::new();
    let collect = async {
        while let Some(item) = events.next().await {
            seen.push(item.map(|e| e.to_json()).map_err(|e| e.to_string()));
        }
    };
    if tokio::time::timeout(support::ANSWER_LIMIT, collect)
        .await
        .is_err()
    {
        panic!("receive did not end; saw {seen:#?}");
    }
    seen
}

fn says(text: &str) -> Trigger {
    Trigger::Text {
        contains: text.into(),
    }
}

fn say(text: &str) -> Action {
    Action::Say {
        text: text.into(),
        chunk: 0,
    }
}

fn speak(ms: u64) -> Action {
    Action::Speak { ms, frame_ms: 20 }
}

/// 20 ms of 24 kHz user audio.
fn chunk() -> BidiAudioInputEvent {
    let pcm: Vec<u8> = (0..480)
        .flat_map(|i: i32| (((i % 48) - 24) * 300).to_le_bytes()[..2].to_vec())
        .collect();
    BidiAudioInputEvent::from_bytes(&pcm, AudioFormat::Pcm, SampleRate::Hz24000, Channels::Mono)
}

/// The audio bytes the OpenAI server received on connection `index`.
fn audio_received(sim: &OpenAiSimHandle, index: usize) -> usize {
    use base64::Engine as _;
    sim.recorded()
        .get(index)
        .map(|c| {
            c.of_type("input_audio_buffer.append")
                .iter()
                .filter_map(|e| e["audio"].as_str())
                .filter_map(|a| base64::engine::general_purpose::STANDARD.decode(a).ok())
                .map(|b| b.len())
                .sum()
        })
        .unwrap_or(0)
}

async fn openai_agent(sim: &OpenAiSimHandle) -> BidiAgent {
    let agent = BidiAgent::builder(support::openai_model(&sim.url()))
        .build()
        .expect("agent");
    agent.start(None).await.expect("start");
    agent
}

fn errors_then_ends(seen: &[Result<Value, String>]) {
    assert!(
        seen.iter()
            .any(|e| matches!(e, Ok(v) if v["type"] == "bidi_error")),
        "a bidi_error event: {seen:#?}"
    );
    assert!(
        matches!(seen.last(), Some(Err(_))),
        "receive ends with the model's error: {seen:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_dropped_mid_answer_is_an_error_then_the_end() {
    let script = Script::new().on(says("hi"), vec![say("Hello"), speak(200), Action::Close]);
    let sim = OpenAiSim::start(script).await.expect("sim");
    let agent = openai_agent(&sim).await;
    let mut events = agent.receive();
    agent.send("hi").await.expect("send");
    let seen = to_the_end(&mut events).await;
    errors_then_ends(&seen);
    assert!(
        seen.iter()
            .any(|e| matches!(e, Ok(v) if v["type"] == "bidi_audio_stream")),
        "the answer had begun: {seen:#?}"
    );
    // A send after the end is refused, not lost silently.
    assert!(agent.send(chunk()).await.is_err());
    let _ = agent.stop().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gemini_closes_1011_and_1007_are_errors_then_the_end() {
    for (code, reason) in [
        (1011, "Internal error encountered."),
        (1007, "Request contains an invalid argument."),
    ] {
        let script = Script::new().on(
            says("hi"),
            vec![
                say("Hel"),
                Action::CloseWith {
                    code,
                    reason: reason.into(),
                },
            ],
        );
        let sim = GeminiSim::start(script).await.expect("sim");
        let agent = BidiAgent::builder(support::gemini_model(&sim))
            .build()
            .expect("agent");
        agent.start(None).await.expect("start");
        let mut events = agent.receive();
        agent.send("hi").await.expect("send");
        let seen = to_the_end(&mut events).await;
        errors_then_ends(&seen);
        let error = seen
            .iter()
            .find_map(|e| e.as_ref().ok().filter(|v| v["type"] == "bidi_error"))
            .expect("an error event");
        assert!(
            error["message"]
                .as_str()
                .is_some_and(|m| m.contains(reason)),
            "{code}: {error}"
        );
        let _ = agent.stop().await;
        sim.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_frame_mid_answer_is_an_error_event_and_the_answer_goes_on() {
    let script = Script::new().on(
        says("hi"),
        vec![
            say("Hello"),
            Action::Garbage {
                text: "{\"type\": \"response.output_audio.delta\", \"delta\": ".into(),
            },
            speak(100),
            say("there."),
            Action::EndTurn,
        ],
    );
    let sim = OpenAiSim::start(script).await.expect("sim");
    let agent = openai_agent(&sim).await;
    let mut events = agent.receive();
    agent.send("hi").await.expect("send");
    let mut seen = Vec::new();
    while !seen.last().is_some_and(|e: &Value| e["text"] == "there.") {
        seen.extend(support::until_answer(&mut events).await);
    }
    assert!(seen.iter().any(|e| e["type"] == "bidi_error"), "{seen:#?}");
    agent.stop().await.expect("stop");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_server_resumes_and_loses_no_user_audio() {
    let script = Script::new().on(
        says("hi"),
        vec![
            say("One moment."),
            speak(100),
            Action::Stall { ms: 1500 },
            say("Done."),
            Action::EndTurn,
        ],
    );
    let sim = OpenAiSim::start(script).await.expect("sim");
    let agent = openai_agent(&sim).await;
    let mut events = agent.receive();
    agent.send("hi").await.expect("send");
    support::until_answer(&mut events).await;
    // The server is silent now: the user goes on talking.
    let sent = 50;
    for _ in 0..sent {
        agent.send(chunk()).await.expect("audio");
    }
    let seen = support::until_answer(&mut events).await;
    assert_eq!(seen.last().map(|e| e["text"].clone()), Some("Done.".into()));
    let expected = sent * 960;
    let arrived = tokio::time::timeout(support::ANSWER_LIMIT, async {
        while audio_received(&sim, 0) < expected {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(
        arrived.is_ok(),
        "{} of {expected} bytes",
        audio_received(&sim, 0)
    );
    agent.stop().await.expect("stop");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reading_server_backpressures_sends_and_loses_no_audio() {
    let script = Script::new().on(says("done"), vec![say("Got it."), Action::EndTurn]);
    let options = OpenAiSimOptions {
        // About a sixth of what the client sends: its sends must wait.
        faults: Faults::new().read_bytes_per_sec(48_000),
        ..OpenAiSimOptions::default()
    };
    let sim = OpenAiSim::start_with(script, options).await.expect("sim");
    let agent = openai_agent(&sim).await;
    let mut events = agent.receive();
    // 4 s of audio, as fast as the agent takes it (~256 KB of JSON on the wire).
    let sent = 200;
    for _ in 0..sent {
        agent.send(chunk()).await.expect("audio");
    }
    agent.send("done").await.expect("send");
    let seen = support::until_answer(&mut events).await;
    assert_eq!(
        seen.last().map(|e| e["text"].clone()),
        Some("Got it.".into())
    );
    assert_eq!(audio_received(&sim, 0), sent * 960, "every chunk, in full");
    agent.stop().await.expect("stop");
    sim.shutdown().await;
}

/// A restart after OpenAI's session limit, with the reconnect refused `refused` times.
fn timeout_script() -> Script {
    Script::new()
        .on(says("hi"), vec![say("Hello."), Action::EndTurn])
        .on(says("long"), vec![Action::Timeout])
        .on(says("again"), vec![say("Still here."), Action::EndTurn])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_audio_during_a_restart_is_delivered_on_the_new_connection() {
    let sim = OpenAiSim::start(timeout_script()).await.expect("sim");
    let agent = openai_agent(&sim).await;
    let mut events = agent.receive();
    agent.send("hi").await.expect("send");
    support::until_answer(&mut events).await;
    agent.send("a long call").await.expect("send");
    let restart = tokio::time::timeout(support::ANSWER_LIMIT, async {
        while let Some(e) = events.next().await {
            if e.expect("event").to_json()["type"] == "bidi_connection_restart" {
                return;
            }
        }
        panic!("receive ended without a restart");
    })
    .await;
    assert!(restart.is_ok(), "no restart in time");
    // Sent while the restart runs: held, then delivered on the new connection.
    let sent = 10;
    for _ in 0..sent {
        agent.send(chunk()).await.expect("audio held, then sent");
    }
    agent.send("again").await.expect("send");
    let seen = support::until_answer(&mut events).await;
    assert_eq!(
        seen.last().map(|e| e["text"].clone()),
        Some("Still here.".into())
    );
    assert_eq!(audio_received(&sim, 1), sent * 960);
    // The new connection got the history first.
    let second = &sim.recorded()[1];
    assert!(
        second
            .of_type("conversation.item.create")
            .iter()
            .any(|e| e["item"]["content"][0]["text"] == "Hello."),
        "the history replayed"
    );
    agent.stop().await.expect("stop");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_reconnect_ends_receive_with_a_typed_error_and_sends_are_refused() {
    let options = OpenAiSimOptions {
        faults: Faults::new().refuse_reconnects(3),
        ..OpenAiSimOptions::default()
    };
    let sim = OpenAiSim::start_with(timeout_script(), options)
        .await
        .expect("sim");
    let agent = openai_agent(&sim).await;
    let mut events = agent.receive();
    agent.send("hi").await.expect("send");
    support::until_answer(&mut events).await;
    agent.send("a long call").await.expect("send");
    let seen = to_the_end(&mut events).await;
    assert!(
        seen.iter()
            .any(|e| matches!(e, Ok(v) if v["type"] == "bidi_connection_restart")),
        "{seen:#?}"
    );
    errors_then_ends(&seen);
    // Audio sent after the failed restart is refused, each send reporting it.
    let mut refused = 0;
    for _ in 0..5 {
        if let Err(e) = agent.send(chunk()).await {
            assert!(!matches!(e, AgentError::Task { .. }), "{e}");
            refused += 1;
        }
    }
    assert_eq!(refused, 5, "every send after the end is reported");
    assert_eq!(sim.recorded().len(), 1, "the reconnect never got through");
    let _ = agent.stop().await;
    sim.shutdown().await;
}
