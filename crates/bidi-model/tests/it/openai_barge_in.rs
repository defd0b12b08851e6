//! Barge-in against the bidi-sim OpenAI server: the client cancels the response and
//! truncates the interrupted item to what the user heard (from a `PlaybackTracker` the test
//! drives, or the wall-clock estimate), and sends no truncate when nothing was played.
#![cfg(feature = "openai")]

use crate::support;

use std::time::Duration;

use bidi_sim::openai::OpenAiSim;
use bidi_sim::{Action, Script, Trigger};
use bidi_types::{
    AudioFormat, BidiAudioInputEvent, BidiModel, BidiOutputEvent, Channels, PlaybackTracker,
    SampleRate, StartParams, StopReason,
};
use support::{HANG, is_complete, model, next, until};

fn text(contains: &str) -> Trigger {
    Trigger::Text {
        contains: contains.into(),
    }
}

/// A script where "talk" streams `ms` of speech and leaves the response open, and the
/// next user audio barges in.
fn barge_in_script(ms: u64) -> Script {
    Script::new()
        .on(text("talk"), vec![Action::Speak { ms, frame_ms: 20 }])
        .on(Trigger::Audio { min_ms: 20 }, vec![Action::Interrupt])
}

/// Reads events until `ms` of model audio (24 kHz PCM16) arrived.
async fn receive_audio(events: &mut bidi_types::ModelEventStream, ms: usize) {
    let mut received = 0;
    while received < ms * 48 {
        if let Some(Ok(BidiOutputEvent::AudioStream(a))) = next(events).await {
            received += a.audio_bytes().expect("base64").len();
        }
    }
}

async fn send_user_audio(model: &dyn BidiModel) {
    let chunk = BidiAudioInputEvent::from_bytes(
        &[0; 960],
        AudioFormat::Pcm,
        SampleRate::Hz24000,
        Channels::Mono,
    );
    model.send(chunk.into()).await.expect("send audio");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn barge_in_cancels_and_truncates_to_what_was_played() {
    let sim = OpenAiSim::start(barge_in_script(1000)).await.expect("sim");
    let model = model(&sim.url());
    let tracker = PlaybackTracker::new();
    tracker.attach();
    // Audio an earlier connection emitted and the output played in full: 500 ms.
    tracker.add_consumed(12_000, 24_000);
    model
        .start(StartParams {
            playback: Some(tracker.clone()),
            ..Default::default()
        })
        .await
        .expect("start");
    let mut events = model.receive().expect("receive");
    model.send("talk to me".into()).await.expect("send");
    receive_audio(&mut events, 1000).await;
    // The output has played 640 ms of this item (24 kHz frames), the rest is queued.
    tracker.add_consumed(15_360, 24_000);
    send_user_audio(&model).await;
    let seen = until(&mut events, is_complete).await;
    assert!(
        seen.iter()
            .any(|e| matches!(e, BidiOutputEvent::Interruption(_))),
        "{seen:?}"
    );
    let BidiOutputEvent::ResponseComplete(done) = seen.last().expect("events") else {
        panic!("expected response complete");
    };
    assert_eq!(done.stop_reason(), StopReason::Interrupted);
    let truncate = sim
        .wait_for("conversation.item.truncate", |_| true, HANG)
        .await
        .expect("the client truncates");
    assert_eq!(truncate["audio_end_ms"], 640);
    assert_eq!(truncate["content_index"], 0);
    let conn = &sim.recorded()[0];
    let kinds: Vec<_> = conn
        .events
        .iter()
        .map(|e| e["type"].as_str().unwrap_or_default())
        .collect();
    let cancel = kinds
        .iter()
        .position(|k| *k == "response.cancel")
        .expect("a cancel");
    let cut = kinds
        .iter()
        .position(|k| *k == "conversation.item.truncate")
        .expect("a truncate");
    assert!(cancel < cut, "cancel first, then truncate: {kinds:?}");
    assert!(
        !seen.iter().any(|e| matches!(e, BidiOutputEvent::Error(_))),
        "the service accepted both: {seen:?}"
    );
    model.stop().await.expect("stop");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn barge_in_without_a_tracker_estimates_within_the_audio_received() {
    let sim = OpenAiSim::start(barge_in_script(400)).await.expect("sim");
    let model = model(&sim.url());
    model.start(StartParams::default()).await.expect("start");
    let mut events = model.receive().expect("receive");
    model.send("talk".into()).await.expect("send");
    receive_audio(&mut events, 400).await;
    // Wall-clock estimate: make sure at least a few ms have passed since the first audio.
    tokio::time::sleep(Duration::from_millis(20)).await;
    send_user_audio(&model).await;
    until(&mut events, is_complete).await;
    let truncate = sim
        .wait_for("conversation.item.truncate", |_| true, HANG)
        .await
        .expect("the client truncates");
    let ms = truncate["audio_end_ms"].as_u64().expect("a number");
    assert!((1..=400).contains(&ms), "audio_end_ms={ms}");
    model.stop().await.expect("stop");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn barge_in_before_any_audio_played_sends_no_truncate() {
    let sim = OpenAiSim::start(barge_in_script(300)).await.expect("sim");
    let model = model(&sim.url());
    let tracker = PlaybackTracker::new();
    tracker.attach(); // nothing consumed
    model
        .start(StartParams {
            playback: Some(tracker),
            ..Default::default()
        })
        .await
        .expect("start");
    let mut events = model.receive().expect("receive");
    model.send("talk".into()).await.expect("send");
    receive_audio(&mut events, 300).await;
    send_user_audio(&model).await;
    until(&mut events, is_complete).await;
    let conn = &sim.recorded()[0];
    assert_eq!(conn.of_type("response.cancel").len(), 1);
    assert!(conn.of_type("conversation.item.truncate").is_empty());
    model.stop().await.expect("stop");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn barge_in_on_a_finished_response_still_playing_truncates_without_cancel() {
    let script = Script::new()
        .on(
            text("talk"),
            vec![
                Action::Speak {
                    ms: 300,
                    frame_ms: 20,
                },
                Action::EndTurn,
            ],
        )
        .on(Trigger::Audio { min_ms: 20 }, vec![Action::Interrupt]);
    let sim = OpenAiSim::start(script).await.expect("sim");
    let model = model(&sim.url());
    let tracker = PlaybackTracker::new();
    tracker.attach();
    model
        .start(StartParams {
            playback: Some(tracker.clone()),
            ..Default::default()
        })
        .await
        .expect("start");
    let mut events = model.receive().expect("receive");
    model.send("talk".into()).await.expect("send");
    until(&mut events, is_complete).await;
    // The response is complete, but only 100 ms of its 300 ms were played.
    tracker.add_consumed(2_400, 24_000);
    send_user_audio(&model).await;
    until(&mut events, |e| {
        matches!(e, BidiOutputEvent::Interruption(_))
    })
    .await;
    let truncate = sim
        .wait_for("conversation.item.truncate", |_| true, HANG)
        .await
        .expect("the client truncates");
    assert_eq!(truncate["audio_end_ms"], 100);
    let conn = &sim.recorded()[0];
    assert!(
        conn.of_type("response.cancel").is_empty(),
        "nothing to cancel"
    );
    model.stop().await.expect("stop");
    sim.shutdown().await;
}
