//! Tool runs in the loop, beyond the reference's tests: two slow tools run concurrently
//! and their messages stay paired, the sequential executor, failing, panicking (async and
//! blocking) and unknown tools become error results, and a tool result the model refuses
//! ends `receive`.
#![allow(clippy::unwrap_used)]

use crate::support;

use std::sync::Arc;

use bidi_agent::tools::{SequentialToolExecutor, ToolContext};
use bidi_agent::types::*;
use bidi_agent::{AgentError, BidiAgent, InvocationState};
use serde_json::json;
use support::*;
use tokio::sync::{Barrier, Notify};

/// Waits at a barrier with another call, then answers after the `gate` opens.
#[bidi_agent::tool]
async fn slow(ctx: &ToolContext, name: String) -> String {
    let sync = ctx.invocation_state().extension::<Rendezvous>().unwrap();
    sync.barrier.wait().await;
    if name == "first" {
        // The first tool finishes last.
        sync.second_done.notified().await;
    } else {
        sync.second_done.notify_one();
    }
    format!("{name} done")
}

struct Rendezvous {
    barrier: Barrier,
    second_done: Notify,
}

#[tokio::test]
async fn two_slow_tools_run_concurrently_and_messages_stay_paired() {
    let model = ScriptedModel::new(vec![vec![
        tool_use("t1", "slow", json!({"name": "first"})),
        tool_use("t2", "slow", json!({"name": "second"})),
    ]]);
    let agent = BidiAgent::builder(model.clone())
        .tool(slow)
        .build()
        .unwrap();
    let state = InvocationState::new().with_extension(Rendezvous {
        barrier: Barrier::new(2),
        second_done: Notify::new(),
    });
    agent.start(Some(state)).await.unwrap();
    let mut events = agent.receive();
    let mut seen = 0;
    let got = collect_until(&mut events, |e| {
        seen += usize::from(e.event_type() == "message");
        seen == 2
    })
    .await;
    assert_eq!(
        types(&got).iter().filter(|t| **t == "tool_result").count(),
        2
    );
    // Both tools passed a 2-party barrier: they ran at the same time. Pairs land in
    // completion order, each use right before its result.
    let history = agent.messages();
    let ids: Vec<(&str, String)> = history
        .iter()
        .map(|m| match &m.content[0] {
            ContentBlock::ToolUse(u) => ("use", u.tool_use_id.clone()),
            ContentBlock::ToolResult(r) => ("result", r.tool_use_id.clone()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        ids,
        [
            ("use", "t2".into()),
            ("result", "t2".into()),
            ("use", "t1".into()),
            ("result", "t1".into())
        ]
    );
    agent.stop().await.unwrap();
}

/// Counts how many calls run at once.
#[bidi_agent::tool]
async fn counted(ctx: &ToolContext) -> String {
    let c = ctx.invocation_state().extension::<Arc<Counter>>().unwrap();
    let now = c.running.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
    c.max.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    c.running.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    "ok".into()
}

#[derive(Default)]
struct Counter {
    running: std::sync::atomic::AtomicUsize,
    max: std::sync::atomic::AtomicUsize,
}

#[tokio::test]
async fn sequential_executor_runs_one_call_at_a_time() {
    let model = ScriptedModel::new(vec![
        (1..=3)
            .map(|i| tool_use(&format!("t{i}"), "counted", json!({})))
            .collect(),
    ]);
    let agent = BidiAgent::builder(model)
        .tool(counted)
        .tool_executor(SequentialToolExecutor::new())
        .build()
        .unwrap();
    let counter = Arc::new(Counter::default());
    agent
        .start(Some(
            InvocationState::new().with_extension(Arc::clone(&counter)),
        ))
        .await
        .unwrap();
    let handle = agent.handle();
    let mut events = agent.receive();
    let mut n = 0;
    collect_until(&mut events, |e| {
        n += usize::from(e.event_type() == "message");
        n == 3
    })
    .await;
    assert_eq!(handle.messages().len(), 6);
    assert_eq!(
        counter.max.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "never two at once"
    );
    agent.stop().await.unwrap();
}

/// Fails, panics or succeeds on request.
#[bidi_agent::tool]
async fn fragile(mode: String) -> Result<String, String> {
    match mode.as_str() {
        "fail" => Err("it broke".into()),
        "panic" => panic!("boom"),
        _ => Ok("fine".into()),
    }
}

/// Panics in a blocking thread.
#[bidi_agent::tool]
fn blocking_panic() -> String {
    panic!("sync boom")
}

#[tokio::test]
async fn failing_panicking_and_unknown_tools_become_error_results() {
    let model = ScriptedModel::new(vec![vec![
        tool_use("t1", "fragile", json!({"mode": "fail"})),
        Step::WaitSent(1),
        tool_use("t2", "fragile", json!({"mode": "panic"})),
        Step::WaitSent(2),
        tool_use("t3", "blocking_panic", json!({})),
        Step::WaitSent(3),
        tool_use("t4", "nope", json!({})),
        Step::WaitSent(4),
        tool_use("t5", "fragile", json!({"mode": 5})),
        Step::WaitSent(5),
        tool_use("t6", "fragile", json!({"mode": "ok"})),
    ]]);
    let agent = BidiAgent::builder(model.clone())
        .tool(fragile)
        .tool(blocking_panic)
        .build()
        .unwrap();
    agent.start(None).await.unwrap();
    let mut events = agent.receive();
    let got = collect_until(
        &mut events,
        |e| matches!(e, BidiAgentEvent::ToolResult(r) if r.tool_result().tool_use_id == "t6"),
    )
    .await;
    let results: Vec<ToolResult> = got
        .into_iter()
        .filter_map(|e| match e.unwrap() {
            BidiAgentEvent::ToolResult(r) => Some(r.into_tool_result()),
            _ => None,
        })
        .collect();
    let text = |r: &ToolResult| match &r.content[0] {
        ToolResultContent::Text(t) => t.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(results.len(), 6);
    assert_eq!(text(&results[0]), "Error: it broke");
    assert_eq!(
        text(&results[1]),
        "Error: tool=<fragile> | tool panicked: boom"
    );
    assert_eq!(
        text(&results[2]),
        "Error: tool=<blocking_panic> | tool panicked: sync boom"
    );
    assert_eq!(text(&results[3]), "Unknown tool: nope");
    assert!(
        text(&results[4])
            .starts_with("Error: tool=<fragile> | invalid input: invalid type: integer `5`"),
        "{}",
        text(&results[4])
    );
    for r in &results[..5] {
        assert_eq!(r.status, ToolResultStatus::Error);
    }
    assert_eq!(results[5], ToolResult::text("t6", "fine"));
    agent.stop().await.unwrap();
}

/// Returns a document, which the scripted model refuses.
#[bidi_agent::tool]
async fn document() -> Vec<ToolResultContent> {
    vec![ToolResultContent::Document(DocumentBlock {
        format: "txt".into(),
        name: "d".into(),
        source: BinarySource {
            bytes: "AA==".into(),
        },
    })]
}

#[tokio::test]
async fn a_refused_tool_result_ends_receive() {
    let model = ScriptedModel::new(vec![vec![tool_use("t1", "document", json!({}))]]);
    let agent = BidiAgent::builder(model).tool(document).build().unwrap();
    agent.start(None).await.unwrap();
    let mut events = agent.receive();
    let got = collect_all(&mut events).await;
    assert_eq!(
        types(&got),
        ["tool_use_stream", "tool_result", "message", "error"]
    );
    assert!(matches!(
        got.last().unwrap(),
        Err(AgentError::Model(ModelError::Unsupported { .. }))
    ));
    agent.stop().await.unwrap();
}
