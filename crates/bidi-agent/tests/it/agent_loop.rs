//! The agent loop: tools, restarts, stop flag, errors. Ports the reference's
//! `tests/strands/experimental/bidi/agent/test_loop.py`, case by case:
//!
//! - `test_bidi_agent_loop_receive_restart_connection` → `receive_restart_connection`
//! - `test_bidi_agent_loop_receive_tool_use` → `receive_tool_use`
//! - `test_bidi_agent_loop_request_state_initialized_for_tools` →
//!   `request_state_initialized_for_tools`
//! - `test_bidi_agent_loop_stop_event_loop_flag` → `stop_event_loop_flag`
//! - `test_bidi_agent_loop_stop_conversation_deprecated_but_works` →
//!   `stop_conversation_deprecated_but_works`
//! - `test_bidi_agent_loop_request_state_preserved_with_invocation_state` →
//!   `request_state_preserved_with_invocation_state`
//!
//! Beyond the reference: a restart replays the full history and holds `send`, a failed
//! restart ends `receive`, the model's stream ending ends `receive`. Tool runs are in
//! `tool_runs.rs`.
#![allow(clippy::unwrap_used)]

use crate::support;

use std::sync::Arc;

use bidi_agent::tools::{StopConversation, ToolContext};
use bidi_agent::types::*;
use bidi_agent::{AgentError, BidiAgent, InvocationState};
use serde_json::json;
use support::*;
use tokio::sync::Notify;

/// Tells the time.
#[bidi_agent::tool]
async fn time_tool() -> String {
    "12:00".into()
}

/// Ends the conversation.
#[bidi_agent::tool]
async fn stopper(ctx: &ToolContext) -> String {
    ctx.request_state().stop_event_loop();
    "stopping".into()
}

/// Reports what it sees in its invocation and request state.
#[bidi_agent::tool]
async fn inspect(ctx: &ToolContext) -> bidi_agent::tools::Json<serde_json::Value> {
    bidi_agent::tools::Json(json!({
        "custom": ctx.invocation_state().get("custom"),
        "request_state": ctx.request_state().snapshot(),
    }))
}

fn is(t: &'static str) -> impl FnMut(&BidiAgentEvent) -> bool {
    move |e| e.event_type() == t
}

#[tokio::test]
async fn receive_restart_connection() {
    let model = ScriptedModel::new(vec![
        vec![
            conn_start("c1"),
            transcript("before", Role::User, true),
            timeout("connection limit"),
        ],
        vec![conn_start("c2"), transcript("after", Role::Assistant, true)],
    ]);
    let agent = BidiAgent::builder(model.clone())
        .system_prompt("prompt")
        .tool(time_tool)
        .messages(vec![Message::text(Role::User, "history")])
        .build()
        .unwrap();
    agent.start(None).await.unwrap();
    let mut events = agent.receive();
    let got = collect_until(&mut events, |e| {
        matches!(e.as_output(), Some(BidiOutputEvent::TranscriptStream(t)) if t.text() == "after")
    })
    .await;
    assert_eq!(
        types(&got),
        [
            "bidi_connection_start",
            "bidi_transcript_stream",
            "bidi_connection_restart",
            "bidi_connection_start",
            "bidi_transcript_stream"
        ]
    );
    let Ok(BidiAgentEvent::Output(BidiOutputEvent::ConnectionRestart(r))) = &got[2] else {
        panic!()
    };
    assert_eq!(r.timeout_error().message, "connection limit");
    assert_eq!(model.stops(), 1, "the old connection was stopped once");
    let starts = model.starts();
    assert_eq!(starts.len(), 2);
    let restart = &starts[1];
    assert_eq!(restart.system_prompt.as_deref(), Some("prompt"));
    assert_eq!(
        restart
            .tools
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>(),
        ["time_tool"]
    );
    assert_eq!(
        restart.restart_config.get("test_restart_config"),
        Some(&json!(1))
    );
    // The restart replays the full history so far.
    assert_eq!(
        restart.messages,
        [
            Message::text(Role::User, "history"),
            Message::text(Role::User, "before")
        ]
    );
    assert!(starts[0].restart_config.is_empty());
    agent.stop().await.unwrap();
}

#[tokio::test]
async fn sends_wait_for_the_restart() {
    // A hook holds the restart open; a send made meanwhile must reach the new connection.
    struct Hold(Arc<Notify>, Arc<Notify>);
    #[bidi_agent::async_trait]
    impl bidi_agent::hooks::HookProvider for Hold {
        async fn before_connection_restart(
            &self,
            _e: &bidi_agent::hooks::BidiBeforeConnectionRestartEvent,
        ) -> bidi_agent::hooks::HookResult {
            self.0.notify_one();
            self.1.notified().await;
            Ok(())
        }
    }
    let (entered, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let model = ScriptedModel::new(vec![vec![timeout("limit")], vec![conn_start("c2")]]);
    let agent = BidiAgent::builder(model.clone())
        .hook(Hold(Arc::clone(&entered), Arc::clone(&release)))
        .build()
        .unwrap();
    agent.start(None).await.unwrap();
    let mut events = agent.receive();
    let got = collect_until(&mut events, is("bidi_connection_restart")).await;
    assert_eq!(types(&got), ["bidi_connection_restart"]);
    within(entered.notified()).await;
    let send = agent.send("during restart");
    let (sent, ()) = tokio::join!(within(send), async {
        tokio::task::yield_now().await;
        assert!(model.sent().is_empty(), "the send waits for the restart");
        release.notify_one();
    });
    sent.unwrap();
    assert_eq!(
        model.sent_on(),
        [2],
        "the held send went to the new connection"
    );
    let got = collect_until(&mut events, is("bidi_connection_start")).await;
    assert_eq!(types(&got), ["bidi_connection_start"]);
    agent.stop().await.unwrap();
}

#[tokio::test]
async fn failed_restart_ends_receive() {
    let model = ScriptedModel::new(vec![vec![timeout("limit")]]);
    model.fail_next_stop(ModelError::connection("stop broke"));
    let agent = BidiAgent::builder(model.clone()).build().unwrap();
    agent.start(None).await.unwrap();
    let mut events = agent.receive();
    let got = collect_all(&mut events).await;
    assert_eq!(
        types(&got),
        ["bidi_connection_restart", "bidi_error", "error"]
    );
    assert!(matches!(
        &got[2],
        Err(AgentError::Model(ModelError::Connection { .. }))
    ));
    agent.stop().await.unwrap();
}

#[tokio::test]
async fn receive_tool_use() {
    let model = ScriptedModel::new(vec![vec![tool_use("t1", "time_tool", json!({}))]]);
    let agent = BidiAgent::builder(model.clone())
        .tool(time_tool)
        .build()
        .unwrap();
    agent.start(None).await.unwrap();
    let mut events = agent.receive();
    let got = collect_until(&mut events, is("message")).await;
    assert_eq!(types(&got), ["tool_use_stream", "tool_result", "message"]);
    let expected = ToolResult::text("t1", "12:00");
    let Ok(BidiAgentEvent::ToolResult(r)) = &got[1] else {
        panic!()
    };
    assert_eq!(r.tool_result(), &expected);
    let Ok(BidiAgentEvent::ToolResultMessage(m)) = &got[2] else {
        panic!()
    };
    assert_eq!(m.message(), &Message::tool_result(expected.clone()));
    assert_eq!(
        agent.messages(),
        [
            Message::tool_use(ToolUse::new("t1", "time_tool", json!({}))),
            Message::tool_result(expected.clone())
        ]
    );
    within(async {
        while model.sent_tool_results().is_empty() {
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert_eq!(model.sent_tool_results(), [expected]);
    agent.stop().await.unwrap();
}

#[tokio::test]
async fn request_state_initialized_for_tools() {
    let model = ScriptedModel::new(vec![vec![tool_use("t1", "inspect", json!({}))]]);
    let agent = BidiAgent::builder(model).tool(inspect).build().unwrap();
    agent.start(None).await.unwrap();
    let mut events = agent.receive();
    let got = collect_until(&mut events, is("tool_result")).await;
    let Ok(BidiAgentEvent::ToolResult(r)) = got.last().unwrap() else {
        panic!()
    };
    assert_eq!(
        r.tool_result().content,
        [ToolResultContent::Json(
            json!({"custom": null, "request_state": {}})
        )]
    );
    agent.stop().await.unwrap();
}

#[tokio::test]
async fn stop_event_loop_flag() {
    let model = ScriptedModel::new(vec![vec![tool_use("t1", "stopper", json!({}))]]);
    let agent = BidiAgent::builder(model.clone())
        .tool(stopper)
        .build()
        .unwrap();
    agent.start(None).await.unwrap();
    let mut events = agent.receive();
    let got = collect_all(&mut events).await;
    assert_eq!(
        types(&got),
        [
            "tool_use_stream",
            "tool_result",
            "message",
            "bidi_connection_close"
        ]
    );
    let Ok(BidiAgentEvent::Output(BidiOutputEvent::ConnectionClose(c))) = &got[3] else {
        panic!()
    };
    assert_eq!(c.reason(), CloseReason::UserRequest);
    assert_eq!(c.connection_id(), "conn-1");
    assert!(
        model.sent().is_empty(),
        "the result is not sent to the model"
    );
    assert_eq!(agent.messages().len(), 2, "the pair is still recorded");
    agent.stop().await.unwrap();
}

#[tokio::test]
async fn stop_conversation_deprecated_but_works() {
    let model = ScriptedModel::new(vec![vec![tool_use("t1", "stop_conversation", json!({}))]]);
    let agent = BidiAgent::builder(model.clone())
        .tool(StopConversation)
        .build()
        .unwrap();
    agent.start(None).await.unwrap();
    let mut events = agent.receive();
    let got = collect_all(&mut events).await;
    assert_eq!(
        types(&got),
        [
            "tool_use_stream",
            "tool_result",
            "message",
            "bidi_connection_close"
        ]
    );
    let Ok(BidiAgentEvent::ToolResult(r)) = &got[1] else {
        panic!()
    };
    assert_eq!(
        r.tool_result().content,
        [ToolResultContent::Text("Ending conversation".into())]
    );
    assert!(model.sent().is_empty());
    agent.stop().await.unwrap();
}

#[tokio::test]
async fn request_state_preserved_with_invocation_state() {
    let script = || {
        vec![
            tool_use("t1", "inspect", json!({})),
            tool_use("t2", "stopper", json!({})),
            tool_use("t3", "inspect", json!({})),
        ]
    };
    let model = ScriptedModel::new(vec![script(), script()]);
    let agent = BidiAgent::builder(model.clone())
        .tool(inspect)
        .tool(stopper)
        .build()
        .unwrap();
    let caller = InvocationState::new().with("custom", json!("value"));
    for round in 0..2 {
        agent.start(Some(caller.clone())).await.unwrap();
        let mut events = agent.receive();
        let got = collect_until(
            &mut events,
            |e| matches!(e, BidiAgentEvent::ToolResult(r) if r.tool_result().tool_use_id == "t1"),
        )
        .await;
        let Ok(BidiAgentEvent::ToolResult(r)) = got.last().unwrap() else {
            panic!()
        };
        // A fresh request state at each start: the previous round's stop flag is gone.
        assert_eq!(
            r.tool_result().content,
            [ToolResultContent::Json(
                json!({"custom": "value", "request_state": {}})
            )],
            "round {round}"
        );
        let rest = collect_all(&mut events).await;
        assert_eq!(
            types(&rest).last(),
            Some(&"bidi_connection_close"),
            "round {round}"
        );
        agent.stop().await.unwrap();
    }
    assert_eq!(caller.get("custom"), Some(&json!("value")));
    assert_eq!(
        caller.values().len(),
        1,
        "the caller's state is never changed"
    );
}

#[tokio::test]
async fn model_stream_end_ends_receive() {
    let model = ScriptedModel::new(vec![vec![conn_start("c"), Step::End]]);
    let agent = BidiAgent::builder(model).build().unwrap();
    agent.start(None).await.unwrap();
    let mut events = agent.receive();
    assert_eq!(
        types(&collect_all(&mut events).await),
        ["bidi_connection_start"]
    );
    agent.stop().await.unwrap();
}

#[tokio::test]
async fn interruption_is_yielded() {
    let model = ScriptedModel::new(vec![vec![
        transcript("Hel", Role::Assistant, false),
        interruption(),
    ]]);
    let agent = BidiAgent::builder(model).build().unwrap();
    agent.start(None).await.unwrap();
    let mut events = agent.receive();
    let got = collect_until(&mut events, is("bidi_interruption")).await;
    assert_eq!(types(&got), ["bidi_transcript_stream", "bidi_interruption"]);
    assert!(
        agent.messages().is_empty(),
        "partial transcripts are never recorded"
    );
    agent.stop().await.unwrap();
}
