//! Hooks: firing order and what callbacks may change. Ports the reference's
//! `tests/strands/hooks/test_bidi_hook_events.py` (the Python checks of writable attributes
//! become the type system: read-only fields have getters only), case by case:
//!
//! - `test_event_should_reverse_callbacks` → `after_events_run_in_reverse_order`
//! - `test_interruption_event_with_response_id` → `interruption_hook_fires_with_reason`
//! - `test_message_added_event_cannot_write_properties` → compile-time (the event is given
//!   by shared reference)
//! - `test_before_tool_call_event_can_write_properties` → `before_tool_call_can_cancel`,
//!   `before_tool_call_can_replace_the_tool_and_the_tool_use`
//! - `test_before_tool_call_event_cannot_write_properties` → compile-time (no setter for
//!   `agent` or `invocation_state`)
//! - `test_after_tool_call_event_can_write_properties` → `after_tool_call_can_rewrite_the_result`
//! - `test_after_tool_call_event_cannot_write_properties` → compile-time
//!
//! Plus the integration hook tests of `tests_integ/bidi` that need no provider: restart
//! hooks, initialization, hook errors.
#![allow(clippy::unwrap_used)]

use crate::support;

use std::sync::{Arc, Mutex};

use bidi_agent::hooks::*;
use bidi_agent::types::*;
use bidi_agent::{AgentError, BidiAgent};
use serde_json::json;
use support::*;

/// Tells the time.
#[bidi_agent::tool]
async fn time_tool() -> String {
    "12:00".into()
}

/// Tells the date.
#[bidi_agent::tool]
async fn date_tool() -> String {
    "2025-01-01".into()
}

type Log = Arc<Mutex<Vec<String>>>;

/// Logs every event it sees, prefixed with its name.
struct Recorder(&'static str, Log);

impl Recorder {
    fn log(&self, what: impl Into<String>) {
        self.1
            .lock()
            .unwrap()
            .push(format!("{}:{}", self.0, what.into()));
    }
}

#[bidi_agent::async_trait]
impl HookProvider for Recorder {
    fn agent_initialized(&self, e: &mut BidiAgentInitializedEvent) -> HookResult {
        self.log(format!("initialized({})", e.agent_id));
        Ok(())
    }
    async fn before_invocation(&self, _e: &BidiBeforeInvocationEvent) -> HookResult {
        self.log("before_invocation");
        Ok(())
    }
    async fn after_invocation(&self, _e: &BidiAfterInvocationEvent) -> HookResult {
        self.log("after_invocation");
        Ok(())
    }
    async fn message_added(&self, e: &BidiMessageAddedEvent) -> HookResult {
        self.log(format!("message_added({})", e.message.role));
        Ok(())
    }
    async fn before_tool_call(&self, e: &mut BidiBeforeToolCallEvent) -> HookResult {
        self.log(format!("before_tool_call({})", e.tool_use().name));
        Ok(())
    }
    async fn after_tool_call(&self, e: &mut BidiAfterToolCallEvent) -> HookResult {
        self.log(format!("after_tool_call({})", e.tool_use().name));
        Ok(())
    }
    async fn interruption(&self, e: &BidiInterruptionHookEvent) -> HookResult {
        self.log(format!(
            "interruption({:?},{:?})",
            e.reason, e.interrupted_response_id
        ));
        Ok(())
    }
    async fn before_connection_restart(&self, e: &BidiBeforeConnectionRestartEvent) -> HookResult {
        self.log(format!("before_restart({})", e.timeout_error.message));
        Ok(())
    }
    async fn after_connection_restart(&self, e: &BidiAfterConnectionRestartEvent) -> HookResult {
        self.log(format!("after_restart({})", e.exception.is_some()));
        Ok(())
    }
}

fn take(log: &Log) -> Vec<String> {
    std::mem::take(&mut *log.lock().unwrap())
}

#[tokio::test]
async fn after_events_run_in_reverse_order() {
    let log = Log::default();
    let model = ScriptedModel::new(vec![vec![tool_use("t1", "time_tool", json!({}))]]);
    let agent = BidiAgent::builder(model)
        .tool(time_tool)
        .hook(Recorder("a", log.clone()))
        .hook(Recorder("b", log.clone()))
        .build()
        .unwrap();
    assert_eq!(
        take(&log),
        ["a:initialized(default)", "b:initialized(default)"]
    );
    agent.start(None).await.unwrap();
    let mut events = agent.receive();
    collect_until(&mut events, |e| e.event_type() == "message").await;
    agent.stop().await.unwrap();
    agent.stop().await.unwrap();
    assert_eq!(
        take(&log),
        [
            "a:before_invocation",
            "b:before_invocation",
            "a:before_tool_call(time_tool)",
            "b:before_tool_call(time_tool)",
            "b:after_tool_call(time_tool)",
            "a:after_tool_call(time_tool)",
            "a:message_added(assistant)",
            "b:message_added(assistant)",
            "a:message_added(user)",
            "b:message_added(user)",
            "b:after_invocation",
            "a:after_invocation",
        ],
        "after-invocation fires once, even for two stops"
    );
}

#[tokio::test]
async fn interruption_hook_fires_with_reason() {
    let log = Log::default();
    let model = ScriptedModel::new(vec![vec![interruption()]]);
    let agent = BidiAgent::builder(model)
        .hook(Recorder("a", log.clone()))
        .build()
        .unwrap();
    agent.start(None).await.unwrap();
    let mut events = agent.receive();
    collect_until(&mut events, |e| e.event_type() == "bidi_interruption").await;
    within(async {
        while !log
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("interruption"))
        {
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(take(&log).contains(&"a:interruption(UserSpeech,None)".to_owned()));
    agent.stop().await.unwrap();
}

#[tokio::test]
async fn restart_hooks_fire_around_the_restart() {
    let log = Log::default();
    let model = ScriptedModel::new(vec![vec![timeout("limit")], vec![conn_start("c2")]]);
    let agent = BidiAgent::builder(model)
        .hook(Recorder("a", log.clone()))
        .build()
        .unwrap();
    agent.start(None).await.unwrap();
    let mut events = agent.receive();
    collect_until(&mut events, |e| e.event_type() == "bidi_connection_start").await;
    agent.stop().await.unwrap();
    assert_eq!(
        take(&log)[2..],
        [
            "a:before_restart(limit)",
            "a:after_restart(false)",
            "a:after_invocation"
        ]
    );

    // A failed restart: the after hook sees the error.
    let model = ScriptedModel::new(vec![vec![timeout("limit")]]);
    model.fail_next_stop(ModelError::connection("broken"));
    let agent = BidiAgent::builder(model)
        .hook(Recorder("a", log.clone()))
        .build()
        .unwrap();
    agent.start(None).await.unwrap();
    let mut events = agent.receive();
    collect_all(&mut events).await;
    assert!(take(&log).contains(&"a:after_restart(true)".to_owned()));
    agent.stop().await.unwrap();
}

/// Cancels, replaces or rewrites calls.
struct Meddler;

#[bidi_agent::async_trait]
impl HookProvider for Meddler {
    async fn before_tool_call(&self, e: &mut BidiBeforeToolCallEvent) -> HookResult {
        match e.tool_use().tool_use_id.as_str() {
            "cancel-default" => e.cancel(),
            "cancel-custom" => e.cancel_with("not now"),
            "drop-tool" => e.set_selected_tool(None),
            "swap" => {
                e.set_selected_tool(Some(Arc::new(date_tool)));
                let mut u = e.tool_use().clone();
                u.input = json!({"swapped": true});
                e.set_tool_use(u);
            }
            _ => {}
        }
        Ok(())
    }
    async fn after_tool_call(&self, e: &mut BidiAfterToolCallEvent) -> HookResult {
        if e.tool_use().tool_use_id == "rewrite" {
            assert!(e.selected_tool().is_some() && e.exception().is_none());
            let id = e.result().tool_use_id.clone();
            e.set_result(ToolResult::text(id, "rewritten"));
        }
        if e.tool_use().tool_use_id.starts_with("cancel") {
            assert!(e.selected_tool().is_none() && e.cancel_message().is_some());
        }
        if e.tool_use().tool_use_id == "drop-tool" {
            assert_eq!(
                e.exception().unwrap().to_string(),
                "Unknown tool: time_tool"
            );
        }
        Ok(())
    }
}

async fn run_one(id: &str) -> (Vec<BidiAgentEvent>, BidiAgent, ScriptedModel) {
    let model = ScriptedModel::new(vec![vec![tool_use(id, "time_tool", json!({}))]]);
    let agent = BidiAgent::builder(model.clone())
        .tool(time_tool)
        .hook(Meddler)
        .build()
        .unwrap();
    agent.start(None).await.unwrap();
    let mut events = agent.receive();
    let got = collect_until(&mut events, |e| e.event_type() == "message").await;
    within(async {
        while model.sent_tool_results().is_empty() {
            tokio::task::yield_now().await;
        }
    })
    .await;
    (got.into_iter().map(Result::unwrap).collect(), agent, model)
}

fn result_of(events: &[BidiAgentEvent]) -> ToolResult {
    events
        .iter()
        .find_map(|e| match e {
            BidiAgentEvent::ToolResult(r) => Some(r.tool_result().clone()),
            _ => None,
        })
        .unwrap()
}

#[tokio::test]
async fn before_tool_call_can_cancel() {
    for (id, message) in [
        ("cancel-default", "tool cancelled by user"),
        ("cancel-custom", "not now"),
    ] {
        let (events, agent, model) = run_one(id).await;
        let types: Vec<_> = events.iter().map(BidiAgentEvent::event_type).collect();
        assert_eq!(
            types,
            [
                "tool_use_stream",
                "tool_cancel_event",
                "tool_result",
                "message"
            ]
        );
        let BidiAgentEvent::ToolCancel(c) = &events[1] else {
            panic!()
        };
        assert_eq!(c.tool_cancel_event().message, message);
        let expected = ToolResult::error(id, message);
        assert_eq!(result_of(&events), expected);
        assert_eq!(model.sent_tool_results(), [expected]);
        agent.stop().await.unwrap();
    }
}

#[tokio::test]
async fn before_tool_call_can_replace_the_tool_and_the_tool_use() {
    let (events, agent, _) = run_one("drop-tool").await;
    assert_eq!(
        result_of(&events),
        ToolResult::error("drop-tool", "Unknown tool: time_tool")
    );
    agent.stop().await.unwrap();

    let (events, agent, _) = run_one("swap").await;
    assert_eq!(result_of(&events), ToolResult::text("swap", "2025-01-01"));
    // The history records the model's original tool use.
    assert_eq!(
        agent.messages()[0],
        Message::tool_use(ToolUse::new("swap", "time_tool", json!({})))
    );
    agent.stop().await.unwrap();
}

#[tokio::test]
async fn after_tool_call_can_rewrite_the_result() {
    let (events, agent, model) = run_one("rewrite").await;
    let expected = ToolResult::text("rewrite", "rewritten");
    assert_eq!(result_of(&events), expected, "yielded");
    assert_eq!(
        agent.messages()[1],
        Message::tool_result(expected.clone()),
        "recorded"
    );
    assert_eq!(model.sent_tool_results(), [expected], "sent");
    agent.stop().await.unwrap();
}

/// Replaces the initial history and fails where told.
struct Custom {
    fail_before_invocation: bool,
}

#[bidi_agent::async_trait]
impl HookProvider for Custom {
    fn agent_initialized(&self, e: &mut BidiAgentInitializedEvent) -> HookResult {
        e.messages = vec![Message::text(Role::User, "restored")];
        e.state.set("restored", json!(true))?;
        Ok(())
    }
    async fn before_invocation(&self, _e: &BidiBeforeInvocationEvent) -> HookResult {
        if self.fail_before_invocation {
            return Err("not allowed".into());
        }
        Ok(())
    }
}

#[tokio::test]
async fn initialized_hook_may_replace_messages_and_state_and_hook_errors_propagate() {
    let model = ScriptedModel::new(vec![vec![]]);
    let agent = BidiAgent::builder(model.clone())
        .messages(vec![Message::text(Role::User, "given")])
        .hook(Custom {
            fail_before_invocation: true,
        })
        .build()
        .unwrap();
    assert_eq!(agent.messages(), [Message::text(Role::User, "restored")]);
    assert_eq!(agent.state().get("restored"), Some(json!(true)));
    let err = agent.start(None).await.unwrap_err();
    assert!(
        matches!(
            &err,
            AgentError::Hook {
                hook: "BidiBeforeInvocationEvent",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("not allowed"));
    assert!(!agent.is_started());
    assert!(model.starts().is_empty(), "the model is not started");
}

/// Fails on every appended message.
struct FailingAppend;

#[bidi_agent::async_trait]
impl HookProvider for FailingAppend {
    async fn message_added(&self, _e: &BidiMessageAddedEvent) -> HookResult {
        Err("disk full".into())
    }
}

#[tokio::test]
async fn a_hook_error_in_the_loop_ends_receive() {
    let model = ScriptedModel::new(vec![vec![transcript("hello", Role::Assistant, true)]]);
    let agent = BidiAgent::builder(model)
        .hook(FailingAppend)
        .build()
        .unwrap();
    agent.start(None).await.unwrap();
    let mut events = agent.receive();
    let got = collect_all(&mut events).await;
    assert_eq!(types(&got), ["bidi_transcript_stream", "error"]);
    let Err(err) = &got[1] else { panic!() };
    assert!(
        matches!(
            err,
            AgentError::Hook {
                hook: "BidiMessageAddedEvent",
                ..
            }
        ),
        "{err}"
    );
    // A send that appends fails the same way.
    let err = agent.send("hi").await.unwrap_err();
    assert!(err.to_string().contains("disk full"), "{err}");
    agent.stop().await.unwrap();
}
