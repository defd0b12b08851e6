//! Tool providers: loaded at every start (their tools beside the agent's own, in the model's
//! start parameters, callable by the model), released at stop, and a failing provider fails
//! `start` after releasing the ones already loaded.
#![allow(clippy::unwrap_used)]

use crate::support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bidi_agent::tools::{AgentTool, ConsumerId, ToolProvider};
use bidi_agent::types::*;
use bidi_agent::{AgentError, BidiAgent};
use serde_json::json;
use support::*;

/// Says hello.
#[bidi_agent::tool]
fn hello() -> String {
    "hello from the provider".into()
}

/// Tells the time.
#[bidi_agent::tool]
fn time_now() -> String {
    "12:00".into()
}

/// A provider lending `hello` (or failing), counting its calls.
#[derive(Default)]
struct Lender {
    fail: bool,
    clash: bool,
    loads: AtomicUsize,
    removes: AtomicUsize,
}

#[bidi_agent::async_trait]
impl ToolProvider for Lender {
    fn name(&self) -> &str {
        if self.fail { "broken" } else { "lender" }
    }
    async fn load_tools(&self, _consumer: ConsumerId) -> Result<Vec<Arc<dyn AgentTool>>, BoxError> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        if self.fail {
            return Err("no server".into());
        }
        if self.clash {
            return Ok(vec![Arc::new(time_now)]);
        }
        Ok(vec![Arc::new(hello)])
    }
    async fn remove_consumer(&self, _consumer: ConsumerId) -> Result<(), BoxError> {
        self.removes.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test]
async fn provider_tools_load_at_start_reach_the_model_and_go_at_stop() {
    let model = ScriptedModel::new(vec![
        vec![conn_start("c1"), tool_use("t1", "hello", json!({}))],
        vec![conn_start("c2")],
    ]);
    let lender = Arc::new(Lender::default());
    let agent = BidiAgent::builder(model.clone())
        .tool(time_now)
        .tool_provider_arc(lender.clone())
        .build()
        .unwrap();
    assert_eq!(agent.tool_names(), ["time_now"]);

    agent.start(None).await.unwrap();
    assert_eq!(agent.tool_names(), ["time_now", "hello"]);
    let sent: Vec<String> = model.starts()[0]
        .tools
        .iter()
        .map(|s| s.name.clone())
        .collect();
    assert_eq!(sent, ["time_now", "hello"]);

    let mut events = agent.receive();
    let seen = collect_until(&mut events, |e| e.event_type() == "tool_result").await;
    let Some(Ok(BidiAgentEvent::ToolResult(result))) = seen.last() else {
        panic!("no tool result: {seen:?}");
    };
    assert_eq!(
        result.tool_result().content,
        vec![ToolResultContent::Text("hello from the provider".into())]
    );
    drop(events);

    agent.stop().await.unwrap();
    assert_eq!(lender.removes.load(Ordering::SeqCst), 1);
    assert_eq!(agent.tool_names(), ["time_now"]);
    assert!(matches!(
        agent.tool("hello", json!({})).await,
        Err(AgentError::Tool(bidi_agent::tools::ToolError::Unknown(_)))
    ));

    agent.start(None).await.unwrap();
    assert_eq!(lender.loads.load(Ordering::SeqCst), 2);
    assert_eq!(agent.tool_names(), ["time_now", "hello"]);
    agent.stop().await.unwrap();
    agent.stop().await.unwrap();
    assert_eq!(
        lender.removes.load(Ordering::SeqCst),
        2,
        "stop is idempotent"
    );
}

#[tokio::test]
async fn a_failing_provider_fails_start_and_releases_the_loaded_ones() {
    let model = ScriptedModel::new(vec![vec![conn_start("c1")]]);
    let first = Arc::new(Lender::default());
    let broken = Arc::new(Lender {
        fail: true,
        ..Lender::default()
    });
    let agent = BidiAgent::builder(model.clone())
        .tool_provider_arc(first.clone())
        .tool_provider_arc(broken.clone())
        .build()
        .unwrap();
    let error = agent.start(None).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "tool_provider=<broken> | failed to load tools: no server"
    );
    assert!(!agent.is_started());
    assert!(model.starts().is_empty(), "the model is not started");
    assert_eq!(first.removes.load(Ordering::SeqCst), 1);
    assert_eq!(broken.removes.load(Ordering::SeqCst), 1);
    assert!(agent.tool_names().is_empty());
}

#[tokio::test]
async fn a_provider_tool_clashing_with_an_own_tool_fails_start() {
    let model = ScriptedModel::new(vec![vec![conn_start("c1")]]);
    let clashing = Arc::new(Lender {
        clash: true,
        ..Lender::default()
    });
    let agent = BidiAgent::builder(model)
        .tool(time_now)
        .tool_provider_arc(clashing.clone())
        .build()
        .unwrap();
    assert!(matches!(
        agent.start(None).await,
        Err(AgentError::Tool(bidi_agent::tools::ToolError::Duplicate(n))) if n == "time_now"
    ));
    assert_eq!(clashing.removes.load(Ordering::SeqCst), 1);
    assert_eq!(agent.tool_names(), ["time_now"]);
}

#[tokio::test]
async fn a_failing_model_start_releases_the_providers() {
    let model = ScriptedModel::new(vec![]);
    model.fail_next_start(ModelError::NotStarted { action: "test" });
    let lender = Arc::new(Lender::default());
    let agent = BidiAgent::builder(model)
        .tool_provider_arc(lender.clone())
        .build()
        .unwrap();
    assert!(agent.start(None).await.is_err());
    assert_eq!(lender.loads.load(Ordering::SeqCst), 1);
    assert_eq!(lender.removes.load(Ordering::SeqCst), 1);
    assert!(agent.tool_names().is_empty());
}
