//! Restarts: after a timeout (by the agent, with history) and proactive hand-offs: the real
//! Bedrock SDK client, through `BidiNovaSonicModel`, against the local Bedrock simulator
//! (`bidi_sim::bedrock`) speaking the real wire protocol.
#![cfg(feature = "nova-sonic")]

use crate::common;

use bidi_sim::bedrock::{BedrockSim, event_name};
use bidi_sim::{Action, Script, Trigger};
use bidi_types::{BidiModel, BidiOutputEvent, Message, Role, StartParams};
use common::*;
use std::time::Duration;

#[tokio::test]
async fn timeout_then_restart_replays_the_history() {
    let script = Script::new()
        .always(text("hello"), vec![say("Hi!"), Action::EndTurn])
        .on(text("later"), vec![Action::Timeout]);
    let sim = BedrockSim::start(script).await.expect("sim");
    let model = model(&sim, |c| c);
    model
        .start(StartParams {
            system_prompt: Some("Be brief.".into()),
            ..Default::default()
        })
        .await
        .expect("start");
    let mut events = model.receive().expect("receive");
    model.send("hello".into()).await.expect("send");
    until(&mut events, is_complete).await;
    model.send("see you later".into()).await.expect("send");
    let err = loop {
        match next(&mut events).await {
            Some(Ok(BidiOutputEvent::Error(e))) => panic!("no bidi_error for a timeout: {e:?}"),
            Some(Ok(_)) => {}
            Some(Err(e)) => break e,
            None => panic!("stream ended without the timeout"),
        }
    };
    assert!(err.is_timeout(), "{err}");
    assert!(err.to_string().contains("timed out"));
    assert!(
        next(&mut events).await.is_none(),
        "the stream ends after the error"
    );

    // What the agent does: stop, then start again with the history so far.
    model.stop().await.expect("stop");
    let history = vec![
        Message::text(Role::Assistant, "dropped: history starts with the user"),
        Message::text(Role::User, "hello"),
        Message::text(Role::Assistant, "Hi!"),
        Message::text(Role::User, "see you later"),
    ];
    model
        .start(StartParams {
            system_prompt: Some("Be brief.".into()),
            messages: history,
            ..Default::default()
        })
        .await
        .expect("restart");
    let mut events = model.receive().expect("receive");
    assert!(matches!(
        next(&mut events).await,
        Some(Ok(BidiOutputEvent::ConnectionStart(_)))
    ));
    model.send("hello again".into()).await.expect("send");
    let seen = until(&mut events, is_complete).await;
    assert_eq!(finals(&seen, Role::Assistant), ["Hi!"]);
    model.stop().await.expect("stop");

    let recorded = sim.recorded();
    assert_eq!(recorded.len(), 2);
    let texts = text_inputs(&recorded[1]);
    assert_eq!(
        texts,
        [
            ("SYSTEM".into(), false, "Be brief.".into()),
            ("USER".into(), false, "hello".into()),
            ("ASSISTANT".into(), false, "Hi!".into()),
            ("USER".into(), false, "see you later".into()),
            ("USER".into(), true, "hello again".into()),
        ]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn proactive_restart_hands_off_at_a_turn_boundary_without_losing_audio() {
    let script = Script::new()
        .on(text("hello"), vec![say("Hi!"), Action::EndTurn])
        .on(
            Trigger::Audio { min_ms: 200 },
            vec![
                Action::UserTranscript {
                    text: "second".into(),
                },
                say("Yes?"),
                Action::EndTurn,
            ],
        );
    let sim = BedrockSim::start(script).await.expect("sim");
    // Threshold zero: the first turn boundary hands off.
    let model = model(&sim, |c| c.with_restart_after(Some(Duration::ZERO)));
    model.start(StartParams::default()).await.expect("start");
    let connection_id = model.connection_id();
    let mut events = model.receive().expect("receive");
    model.send("hello".into()).await.expect("send");
    until(&mut events, is_complete).await;
    // The hand-off is under way: this audio must reach the next connection.
    send_tone(&model, 300).await;
    let seen = until(&mut events, is_complete).await;
    assert!(
        !seen.iter().any(|e| matches!(
            e,
            BidiOutputEvent::Error(_) | BidiOutputEvent::ConnectionStart(_)
        )),
        "the hand-off is invisible to the agent: {seen:?}"
    );
    assert_eq!(finals(&seen, Role::User), ["second"]);
    assert_eq!(finals(&seen, Role::Assistant), ["Yes?"]);
    assert_eq!(model.connection_id(), connection_id);

    let recorded = sim
        .wait_for(HANG, |r| {
            r.len() >= 2 && r[0].last().and_then(event_name) == Some("sessionEnd")
        })
        .await
        .expect("the first connection was closed");
    let first: Vec<&str> = recorded[0].iter().filter_map(event_name).collect();
    assert_eq!(
        &first[first.len() - 3..],
        ["contentEnd", "promptEnd", "sessionEnd"]
    );
    assert_eq!(voiced_audio(&recorded[0]), 0);
    let second = &recorded[1];
    assert_eq!(
        voiced_audio(second),
        6,
        "every user audio chunk reached the new connection"
    );
    assert_eq!(
        text_inputs(second),
        [
            ("SYSTEM".into(), false, String::new()),
            ("USER".into(), false, "hello".into()),
            ("ASSISTANT".into(), false, "Hi!".into()),
        ],
        "history replayed, nothing interactive (no greeting)"
    );
    model.stop().await.expect("stop");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_failed_proactive_hand_off_is_a_restartable_timeout() {
    let script = Script::new().on(text("hello"), vec![say("Hi!"), Action::EndTurn]);
    let sim = BedrockSim::start(script).await.expect("sim");
    let model = model(&sim, |c| c.with_restart_after(Some(Duration::ZERO)));
    model.start(StartParams::default()).await.expect("start");
    let mut events = model.receive().expect("receive");
    sim.wait_for(HANG, |r| !r.is_empty())
        .await
        .expect("first stream open");
    sim.refuse_new_streams(true);
    model.send("hello".into()).await.expect("send");
    until(&mut events, is_complete).await;
    let err = loop {
        match next(&mut events).await {
            Some(Ok(BidiOutputEvent::Error(e))) => panic!("restartable, no bidi_error: {e:?}"),
            Some(Ok(_)) => {}
            Some(Err(e)) => break e,
            None => panic!("the stream ended without an error"),
        }
    };
    assert!(err.is_timeout(), "{err}");
    assert!(err.to_string().contains("proactive restart"), "{err}");
    model.stop().await.expect("stop");
    sim.refuse_new_streams(false);
    // The agent's restart then opens a connection normally.
    model.start(StartParams::default()).await.expect("restart");
    let mut events = model.receive().expect("receive");
    model.send("hello".into()).await.expect("send");
    let seen = until(&mut events, is_complete).await;
    assert_eq!(finals(&seen, Role::Assistant), ["Hi!"]);
    model.stop().await.expect("stop");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_hand_off_replays_user_audio_not_yet_transcribed() {
    // The user starts speaking before the turn boundary: that audio reached only the old
    // connection, so the next one must hear it again.
    let script = Script::new()
        .on(text("hello"), vec![say("Hi!")])
        .on(Trigger::Audio { min_ms: 100 }, vec![Action::EndTurn]);
    let sim = BedrockSim::start(script).await.expect("sim");
    let model = model(&sim, |c| c.with_restart_after(Some(Duration::ZERO)));
    model.start(StartParams::default()).await.expect("start");
    let mut events = model.receive().expect("receive");
    model.send("hello".into()).await.expect("send");
    send_tone(&model, 200).await;
    until(&mut events, is_complete).await;
    let recorded = sim
        .wait_for(HANG, |r| r.len() >= 2 && voiced_audio(&r[1]) >= 4)
        .await
        .expect("the untranscribed audio reached the next connection");
    assert_eq!(voiced_audio(&recorded[0]), 4);
    assert_eq!(voiced_audio(&recorded[1]), 4);
    model.stop().await.expect("stop");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_hand_off_does_not_replay_audio_the_model_already_transcribed() {
    let script = Script::new().on(text("hello"), vec![say("Hi!")]).on(
        Trigger::Audio { min_ms: 100 },
        vec![
            Action::UserTranscript {
                text: "and you?".into(),
            },
            say("Fine."),
            Action::EndTurn,
        ],
    );
    let sim = BedrockSim::start(script).await.expect("sim");
    let model = model(&sim, |c| c.with_restart_after(Some(Duration::ZERO)));
    model.start(StartParams::default()).await.expect("start");
    let mut events = model.receive().expect("receive");
    model.send("hello".into()).await.expect("send");
    send_tone(&model, 100).await;
    let seen = until(&mut events, is_complete).await;
    assert_eq!(finals(&seen, Role::User), ["and you?"]);
    // The hand-off happened at that boundary. One more chunk: on the new connection it must
    // be the only user audio, since everything before it was transcribed.
    send_tone(&model, 50).await;
    let recorded = sim
        .wait_for(HANG, |r| r.len() >= 2 && voiced_audio(&r[1]) >= 1)
        .await
        .expect("the new chunk reached the next connection");
    assert_eq!(voiced_audio(&recorded[0]), 2);
    assert_eq!(
        voiced_audio(&recorded[1]),
        1,
        "transcribed audio is not replayed"
    );
    model.stop().await.expect("stop");
    sim.shutdown().await;
}
