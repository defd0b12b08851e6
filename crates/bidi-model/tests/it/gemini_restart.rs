//! `goAway` restarts of the Gemini Live client against the `bidi-sim` Gemini server: with
//! session resumption (no history replayed), without it (history replayed), and during a tool
//! call (the restart waits for the response and a fresh handle).
#![cfg(feature = "gemini")]

use crate::gemini_support;

use bidi_model::gemini::GeminiLiveConfig;
use bidi_sim::gemini::GeminiSim;
use bidi_sim::{Action, Script, Trigger};
use bidi_types::*;
use gemini_support::*;
use serde_json::json;

#[tokio::test]
async fn go_away_restarts_with_the_latest_handle_and_no_history() {
    let script = Script::new()
        .on(
            Trigger::Text {
                contains: "hello".into(),
            },
            vec![
                Action::Say {
                    text: "Hi!".into(),
                    chunk: 0,
                },
                Action::EndTurn,
            ],
        )
        .on(
            Trigger::Text {
                contains: "more".into(),
            },
            vec![Action::Timeout],
        );
    let sim = GeminiSim::start(script).await.expect("sim");
    let m = model(&sim);
    m.start(StartParams::default()).await.expect("start");
    let mut events = m.receive().expect("events");
    m.send("hello".into()).await.expect("send");
    until(&mut events, is_complete).await;
    m.send("more".into()).await.expect("send");
    let err = first_error(&mut events).await;
    let ModelError::Timeout(timeout) = err else {
        panic!("expected a timeout, got {err}")
    };
    let handle = timeout.restart_config["live_session_handle"]
        .as_str()
        .expect("handle")
        .to_owned();
    assert_eq!(Some(handle.clone()), m.session_handle());
    assert!(timeout.message.contains("10s"));

    // The agent's restart: stop, then start with the history and the restart config.
    m.stop().await.expect("stop");
    m.start(StartParams {
        messages: vec![
            Message::text(Role::User, "hello"),
            Message::text(Role::Assistant, "Hi!"),
        ],
        restart_config: timeout.restart_config.clone(),
        ..StartParams::default()
    })
    .await
    .expect("restart");
    assert!(sim.wait_for_connections(2, WAIT).await);
    let second = sim.recorded()[1].clone();
    assert_eq!(
        second.under("setup")[0]["sessionResumption"],
        json!({"handle": handle})
    );
    assert!(
        second.under("clientContent").is_empty(),
        "a resumed session gets no history"
    );
    m.stop().await.expect("stop");
    sim.shutdown().await;
}

#[tokio::test]
async fn go_away_without_resumption_replays_history() {
    let script = Script::new().on(
        Trigger::Text {
            contains: "more".into(),
        },
        vec![Action::Timeout],
    );
    let sim = GeminiSim::start(script).await.expect("sim");
    let cfg = GeminiLiveConfig {
        session_resumption: false,
        ..GeminiLiveConfig::default()
    };
    let m = model_with(&sim, cfg);
    m.start(StartParams::default()).await.expect("start");
    let mut events = m.receive().expect("events");
    m.send("more".into()).await.expect("send");
    let ModelError::Timeout(timeout) = first_error(&mut events).await else {
        panic!("timeout")
    };
    assert!(timeout.restart_config.is_empty());
    m.stop().await.expect("stop");
    m.start(StartParams {
        messages: vec![Message::text(Role::User, "more")],
        restart_config: timeout.restart_config,
        ..StartParams::default()
    })
    .await
    .expect("restart");
    let history = sim
        .wait_for("clientContent", |v| v["turnComplete"] == false, WAIT)
        .await
        .expect("history replayed");
    assert_eq!(history["turns"][0]["parts"][0]["text"], "more");
    m.stop().await.expect("stop");
    sim.shutdown().await;
}

#[tokio::test]
async fn go_away_during_a_tool_call_waits_for_the_response_and_a_fresh_handle() {
    let script = Script::new().on(
        Trigger::Text {
            contains: "calc".into(),
        },
        vec![
            Action::CallTool {
                id: "fc-9".into(),
                name: "calc".into(),
                input: json!({}),
            },
            Action::Timeout,
        ],
    );
    let sim = GeminiSim::start(script).await.expect("sim");
    let m = model(&sim);
    m.start(StartParams::default()).await.expect("start");
    let mut events = m.receive().expect("events");
    m.send("calc please".into()).await.expect("send");
    until(&mut events, |e| {
        matches!(e, BidiOutputEvent::ToolUseStream(_))
    })
    .await;
    // The goAway has arrived or is arriving; the restart must wait for the response.
    sim.wait_for("realtimeInput", |_| true, WAIT)
        .await
        .expect("text recorded");
    let before = m.session_handle().expect("a handle from setup");
    m.send(ToolResult::text("fc-9", "42").into())
        .await
        .expect("result");
    let ModelError::Timeout(timeout) = first_error(&mut events).await else {
        panic!("timeout")
    };
    let after = timeout.restart_config["live_session_handle"]
        .as_str()
        .expect("handle");
    assert_ne!(after, before, "the handle must be newer than the tool call");
    let responses = sim.recorded()[0].under("toolResponse").len();
    assert_eq!(
        responses, 1,
        "the response reached the session that made the call"
    );
    m.stop().await.expect("stop");
    sim.shutdown().await;
}
