//! What the listener heard (issue 19), through each provider's real client against its
//! simulator: a 5-second answer interrupted after 1 s of playback reported by a remote
//! player (`bidi_playback`) or by a device-like output (the tracker's consumed frames) is
//! truncated on the wire to what was played (OpenAI), and kept in the history and the
//! session file as the heard prefix with the `interrupted` mark; a restart replays that
//! prefix; an answer interrupted before any audio played leaves no truncate and no message.

use std::time::Duration;

use aws_sdk_bedrockruntime::config::Credentials;
use bidi_agent::models::gemini::{BidiGeminiLiveModel, GeminiLiveConfig};
use bidi_agent::models::nova_sonic::{BidiNovaSonicModel, NovaSonicConfig};
use bidi_agent::session::FileSessionManager;
use bidi_agent::types::{
    AudioFormat, BidiAudioInputEvent, BidiModel, Channels, Message, Role, SampleRate,
};
use bidi_agent::{AgentEventStream, BidiAgent};
use bidi_sim::bedrock::BedrockSim;
use bidi_sim::gemini::GeminiSim;
use bidi_sim::openai::OpenAiSim;
use bidi_sim::{Action, Script, Trigger};
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::support;

/// 200 characters: 40 per second of the 5-second answer.
const STORY: &str = "Once upon a time a small red fox lived at the edge of a quiet forest, \
where the river bends twice before it reaches the old mill, and every morning the fox \
walked down to the water to drink a little.";

fn story_script() -> Script {
    Script::new()
        .on(
            Trigger::Text {
                contains: "story".into(),
            },
            vec![
                Action::Say {
                    text: STORY.into(),
                    chunk: 25,
                },
                Action::Speak {
                    ms: 5_000,
                    frame_ms: 20,
                },
            ],
        )
        .on(
            Trigger::Text {
                contains: "again".into(),
            },
            vec![Action::Timeout],
        )
        .on(Trigger::Audio { min_ms: 20 }, vec![Action::Interrupt])
}

const LIMIT: Duration = Duration::from_secs(30);

/// Reads events until `pred` matches one; panics with what was seen after [`LIMIT`].
async fn until(
    what: &str,
    events: &mut AgentEventStream,
    mut pred: impl FnMut(&Value) -> bool,
) -> Vec<Value> {
    let mut seen = Vec::new();
    let found = tokio::time::timeout(LIMIT, async {
        while let Some(event) = events.next().await {
            let Ok(event) = event else { return false };
            let event = event.to_json();
            let hit = pred(&event);
            seen.push(event);
            if hit {
                return true;
            }
        }
        false
    })
    .await;
    assert!(matches!(found, Ok(true)), "{what} not seen; saw {seen:#?}");
    seen
}

/// Waits until `count` reaches `n` (what the simulator recorded; a restart reconnects after
/// its event is queued).
async fn connections(count: impl Fn() -> usize, n: usize) {
    let waited = tokio::time::timeout(LIMIT, async {
        while count() < n {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "{n} recorded expected");
}

/// Receives the answer's audio until `ms` of it arrived; returns the events seen.
async fn receive_audio(events: &mut AgentEventStream, ms: u64) -> Vec<Value> {
    let mut bytes = 0u64;
    let rate = std::cell::Cell::new(0u64);
    until("audio", events, |e| {
        if e["type"] == "bidi_audio_stream" {
            let b64 = e["audio"].as_str().unwrap_or_default();
            bytes += (b64.len() / 4 * 3) as u64;
            rate.set(e["sample_rate"].as_u64().unwrap_or(24_000));
        }
        rate.get() > 0 && bytes >= ms * rate.get() * 2 / 1000
    })
    .await
}

/// The assistant's text among `events` as the agent received it: its last final
/// transcript, else its partial deltas put together (a provider streaming the transcript
/// with the audio stops both where the response was cut).
fn received_text(events: &[Value]) -> String {
    let mut partial = String::new();
    let mut last_final = None;
    for e in events {
        if e["type"] != "bidi_transcript_stream" || e["role"] != "assistant" {
            continue;
        }
        let text = e["text"].as_str().unwrap_or_default();
        if e["is_final"] == true {
            last_final = Some(text.to_owned());
            partial.clear();
        } else if let Some(current) = e["current_transcript"].as_str() {
            current.clone_into(&mut partial);
        } else {
            partial.push_str(text);
        }
    }
    last_final.unwrap_or(partial)
}

/// How the listener's playback reaches the agent in a test.
#[derive(Clone, Copy, Debug)]
enum Player {
    /// A remote player: `bidi_playback` reports, as the browser page sends them.
    Remote,
    /// A device output: frames consumed by its callback, on the tracker.
    Device,
}

async fn played(agent: &BidiAgent, player: Player, ms: u64) {
    match player {
        Player::Remote => agent
            .send(json!({"type": "bidi_playback", "played_ms": ms}))
            .await
            .expect("bidi_playback accepted"),
        Player::Device => {
            let tracker = agent.playback();
            tracker.attach();
            tracker.add_consumed(ms * 24, 24_000);
        }
    }
}

/// 20 ms of the user's voice (a square wave: the simulators take digital silence for no
/// speech, as Nova Sonic's does).
async fn barge_in(agent: &BidiAgent, rate: SampleRate) {
    let samples = rate.hz() as usize / 50;
    let pcm: Vec<u8> = (0..samples)
        .flat_map(|i| if i / 20 % 2 == 0 { 8_000i16 } else { -8_000 }.to_le_bytes())
        .collect();
    let chunk = BidiAudioInputEvent::from_bytes(&pcm, AudioFormat::Pcm, rate, Channels::Mono);
    agent.send(chunk).await.expect("user audio");
}

fn assistant_messages(messages: &[Message]) -> Vec<&Message> {
    messages
        .iter()
        .filter(|m| m.role == Role::Assistant)
        .collect()
}

/// The heard prefix of `generated` (the text the provider finalised for the interrupted
/// turn) for `heard_ms` of the `audio_ms` received with it, back to a whole word.
fn prefix_for(generated: &str, heard_ms: u64, audio_ms: u64) -> String {
    let chars = generated.chars().count() as u64 * heard_ms / audio_ms.max(1);
    let head: String = generated.chars().take(chars as usize).collect();
    let next = generated.chars().nth(chars as usize);
    let cut = if next.is_none_or(char::is_whitespace) {
        head.as_str()
    } else {
        head.rfind(' ').map_or("", |i| &head[..i])
    };
    cut.trim_end().to_owned()
}

/// What Nova Sonic's simulator finalises when interrupted: the first half of the words.
fn first_half(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    words[..words.len().div_ceil(2)].join(" ")
}

/// The conversation every provider runs: ask for the story, hear 1 s of it (reported by
/// `player`), interrupt, then say "again" (which ends the connection, so the agent
/// restarts with its history). Returns the agent (stopped) and its session folder.
async fn interrupted_story(
    model: Box<dyn BidiModel>,
    rate: SampleRate,
    player: Player,
    heard_ms: u64,
    dir: &std::path::Path,
) -> (Vec<Message>, Vec<String>) {
    let agent = BidiAgent::builder_boxed(model)
        .session_manager(FileSessionManager::new("heard", dir).expect("session"))
        .build()
        .expect("agent");
    agent.start(None).await.expect("start");
    let mut events = agent.receive();
    agent.send("tell me a story").await.expect("send");
    let mut seen = until("bidi_response_start", &mut events, |e| {
        e["type"] == "bidi_response_start"
    })
    .await;
    if heard_ms > 0 {
        seen.extend(receive_audio(&mut events, heard_ms + 400).await);
    }
    played(&agent, player, heard_ms).await;
    barge_in(&agent, rate).await;
    seen.extend(
        until("bidi_interruption", &mut events, |e| {
            e["type"] == "bidi_interruption"
        })
        .await,
    );
    let interrupted_at = seen.len();
    agent.send("again").await.expect("send again");
    seen.extend(
        until("bidi_connection_restart", &mut events, |e| {
            e["type"] == "bidi_connection_restart"
        })
        .await,
    );
    // The new connection is up (its start event) before the agent stops.
    until("bidi_connection_start", &mut events, |e| {
        e["type"] == "bidi_connection_start"
    })
    .await;
    let messages = agent.messages();
    agent.stop().await.expect("stop");
    (messages, received_texts(&seen, interrupted_at))
}

/// The assistant's text as received by each event from `from` on: the agent settles the
/// interrupted turn with the text and the audio it had received by then, and transcript
/// deltas the simulator sent after the interruption may reach it before or after that.
fn received_texts(events: &[Value], from: usize) -> Vec<String> {
    let mut texts: Vec<String> = (from..=events.len())
        .map(|end| received_text(&events[..end]))
        .collect();
    texts.dedup();
    texts
}

fn check_history(messages: &[Message], generated: &[String], heard_ms: u64) {
    let assistant = assistant_messages(messages);
    if heard_ms == 0 {
        assert!(
            assistant.is_empty(),
            "nothing heard, nothing kept: {messages:#?}"
        );
        return;
    }
    let [turn] = assistant[..] else {
        panic!("one assistant turn: {messages:#?}");
    };
    let (heard, audio) = turn.interrupted().expect("the interrupted mark");
    assert!(heard.abs_diff(heard_ms) <= 20, "heard {heard} ms");
    assert!(audio > heard, "{audio} ms of audio received");
    let kept = turn.joined_text().unwrap_or_default();
    assert!(
        generated
            .iter()
            .any(|g| kept == prefix_for(g, heard, audio)),
        "kept {kept:?}: not the heard part ({heard} of {audio} ms) of any of {generated:?}"
    );
    // The order of the conversation is kept: the story's request, the heard part, "again".
    let texts: Vec<_> = messages.iter().filter_map(Message::joined_text).collect();
    assert_eq!(texts.first().map(String::as_str), Some("tell me a story"));
    assert_eq!(texts.last().map(String::as_str), Some("again"));
}

/// The history and the session file keep the heard prefix of `generated`, marked.
fn check_kept(messages: &[Message], dir: &std::path::Path, generated: &[String], heard_ms: u64) {
    check_history(messages, generated, heard_ms);
    check_session(dir, generated, heard_ms);
}

/// A restart's `replay` holds the kept text, and never `generated` whole (its unheard part).
fn check_replay(replay: &str, messages: &[Message], generated: &str) {
    assert!(!replay.contains(generated), "the unheard part was replayed");
    let kept = assistant_messages(messages)
        .first()
        .and_then(|m| m.joined_text());
    if let Some(kept) = kept {
        assert!(replay.contains(&kept), "{replay}");
    }
}

/// The session file holds the same heard message with its mark.
fn check_session(dir: &std::path::Path, generated: &[String], heard_ms: u64) {
    let mut found = Vec::new();
    for entry in walk(dir) {
        if entry
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("message_"))
        {
            let text = std::fs::read_to_string(&entry).expect("read message");
            let v: Value = serde_json::from_str(&text).expect("json");
            if v["message"]["role"] == "assistant" {
                found.push(v);
            }
        }
    }
    if heard_ms == 0 {
        assert!(found.is_empty(), "{found:#?}");
        return;
    }
    assert_eq!(found.len(), 1, "{found:#?}");
    let message = &found[0]["message"];
    let mark = &message["metadata"]["interrupted"];
    let (Some(heard), Some(audio)) = (mark["heard_ms"].as_u64(), mark["audio_ms"].as_u64()) else {
        panic!("the interrupted mark: {message}");
    };
    let kept = message["content"][0]["text"].as_str().unwrap_or_default();
    assert!(
        generated
            .iter()
            .any(|g| kept == prefix_for(g, heard, audio)),
        "kept {kept:?} in the session: not the heard part of any of {generated:?}"
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

async fn openai(player: Player, heard_ms: u64) {
    let sim = OpenAiSim::start(story_script()).await.expect("sim");
    let dir = tempfile::tempdir().expect("dir");
    let model = support::openai_model(&sim.url());
    // The simulator streams the transcript with the audio: the agent has the words of the
    // audio it received when the answer is cut.
    let (messages, received) = interrupted_story(
        Box::new(model),
        SampleRate::Hz24000,
        player,
        heard_ms,
        dir.path(),
    )
    .await;
    let truncates: Vec<Value> = sim.recorded()[0]
        .events
        .iter()
        .filter(|e| e["type"] == "conversation.item.truncate")
        .cloned()
        .collect();
    if heard_ms == 0 {
        assert!(
            truncates.is_empty(),
            "nothing heard, no truncate: {truncates:#?}"
        );
    } else {
        let [truncate] = &truncates[..] else {
            panic!("one truncate: {truncates:#?}");
        };
        let end = truncate["audio_end_ms"].as_u64().expect("audio_end_ms");
        assert!(
            end.abs_diff(heard_ms) <= 20,
            "truncated at {end} ms, heard {heard_ms}"
        );
    }
    if heard_ms > 0 {
        for text in &received {
            assert!(
                STORY.starts_with(text.as_str()) && text.len() < STORY.len(),
                "the words of the audio received, not the whole story: {text:?}"
            );
        }
    }
    check_kept(&messages, dir.path(), &received, heard_ms);
    // The new connection's session.update and the replayed items.
    connections(|| sim.recorded().get(1).map_or(0, |c| c.events.len()), 3).await;
    let replay = serde_json::to_string(&sim.recorded()[1].events).expect("json");
    check_replay(&replay, &messages, STORY);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_remote_player_truncates_and_keeps_what_was_heard() {
    openai(Player::Remote, 1_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_device_output_gives_the_same_result() {
    openai(Player::Device, 1_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_interrupted_before_any_audio_played_sends_no_truncate_and_keeps_nothing() {
    openai(Player::Remote, 0).await;
}

async fn gemini(player: Player, heard_ms: u64) {
    let sim = GeminiSim::start(story_script()).await.expect("sim");
    let dir = tempfile::tempdir().expect("dir");
    let model = BidiGeminiLiveModel::new(
        GeminiLiveConfig::default()
            .with_base_url(sim.base_url())
            .with_api_key("test"),
    )
    .expect("model");
    let (messages, _) = interrupted_story(
        Box::new(model),
        SampleRate::Hz16000,
        player,
        heard_ms,
        dir.path(),
    )
    .await;
    check_kept(&messages, dir.path(), &[STORY.to_owned()], heard_ms);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gemini_keeps_what_was_heard() {
    gemini(Player::Remote, 1_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gemini_device_output_gives_the_same_result() {
    gemini(Player::Device, 1_000).await;
}

async fn nova(player: Player, heard_ms: u64) {
    let sim = BedrockSim::start(story_script()).await.expect("sim");
    let dir = tempfile::tempdir().expect("dir");
    let model = BidiNovaSonicModel::new(
        NovaSonicConfig::default()
            .with_region("us-east-1")
            .with_endpoint_url(sim.endpoint())
            .with_credentials(Credentials::new("AKIDTEST", "secret", None, None, "test")),
    )
    .expect("model");
    let (messages, _) = interrupted_story(
        Box::new(model),
        SampleRate::Hz16000,
        player,
        heard_ms,
        dir.path(),
    )
    .await;
    let generated = first_half(STORY);
    check_kept(
        &messages,
        dir.path(),
        std::slice::from_ref(&generated),
        heard_ms,
    );
    // The restart (the simulator's time limit) replayed history.
    connections(|| sim.recorded().len(), 2).await;
    let replay = serde_json::to_string(&sim.recorded()[1]).expect("json");
    check_replay(&replay, &messages, &generated);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nova_sonic_keeps_what_was_heard() {
    nova(Player::Remote, 1_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nova_sonic_device_output_gives_the_same_result() {
    nova(Player::Device, 1_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nova_sonic_interrupted_before_any_audio_played_keeps_nothing() {
    nova(Player::Remote, 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gemini_interrupted_before_any_audio_played_keeps_nothing() {
    gemini(Player::Remote, 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_past_the_audio_sent_is_an_error_and_the_conversation_goes_on() {
    let sim = OpenAiSim::start(story_script()).await.expect("sim");
    let agent = BidiAgent::builder(support::openai_model(&sim.url()))
        .build()
        .expect("agent");
    agent.start(None).await.expect("start");
    let mut events = agent.receive();
    agent.send("tell me a story").await.expect("send");
    until("bidi_response_start", &mut events, |e| {
        e["type"] == "bidi_response_start"
    })
    .await;
    let err = agent
        .send(json!({"type": "bidi_playback", "played_ms": 3_600_000}))
        .await
        .expect_err("an hour of a 5-second answer");
    assert!(err.to_string().contains("played_ms"), "{err}");
    let err = agent
        .send(json!({"type": "bidi_playback", "played_ms": -1}))
        .await
        .expect_err("negative");
    assert!(err.to_string().contains("played_ms"), "{err}");
    // A report about another response is ignored.
    agent
        .send(json!({"type": "bidi_playback", "played_ms": 10, "response_id": "old"}))
        .await
        .expect("ignored");
    agent
        .send("tell me a story")
        .await
        .expect("the conversation goes on");
    agent.stop().await.expect("stop");
    sim.shutdown().await;
}
