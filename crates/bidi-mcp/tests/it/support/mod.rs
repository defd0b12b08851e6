//! Helpers shared by the MCP integration tests: an agent on the OpenAI simulator, event
//! collection, and process checks.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use bidi_agent::BidiAgent;
use bidi_agent::models::openai::{BidiOpenAIRealtimeModel, OpenAiRealtimeConfig};
use bidi_agent::tools::ToolProvider;
use bidi_agent::types::{BidiAgentEvent, ToolResult, ToolResultContent};
use bidi_sim::openai::{OpenAiSim, OpenAiSimHandle};
use bidi_sim::{Action, Script, Trigger};
use futures_util::StreamExt;
use serde_json::Value;

/// Upper bound against hangs; never a timing assertion.
pub const HANG: Duration = Duration::from_secs(30);

/// A text trigger.
pub fn text(contains: &str) -> Trigger {
    Trigger::Text {
        contains: contains.into(),
    }
}

/// The model calls `name` with `input` under the call id `id`.
pub fn call(id: &str, name: &str, input: Value) -> Action {
    Action::CallTool {
        id: id.into(),
        name: name.into(),
        input,
    }
}

/// The model says `text`, then ends its turn.
pub fn say(text: &str) -> Vec<Action> {
    vec![
        Action::Say {
            text: text.into(),
            chunk: 0,
        },
        Action::EndTurn,
    ]
}

/// An OpenAI simulator playing `script`, and an agent on it using `provider`.
pub async fn agent_with(
    script: Script,
    provider: Arc<dyn ToolProvider>,
) -> (OpenAiSimHandle, BidiAgent) {
    let sim = OpenAiSim::start(script).await.expect("simulator starts");
    let model = BidiOpenAIRealtimeModel::new(
        OpenAiRealtimeConfig::new()
            .endpoint(sim.url())
            .api_key("sk-test-not-a-key"),
    )
    .expect("valid model config");
    let agent = BidiAgent::builder(model)
        .system_prompt("You use tools.")
        .tool_provider_arc(provider)
        .build()
        .expect("agent builds");
    (sim, agent)
}

/// Reads the agent's events until a `tool_result`, and returns that result.
pub async fn next_tool_result(events: &mut bidi_agent::AgentEventStream) -> ToolResult {
    loop {
        let event = tokio::time::timeout(HANG, events.next())
            .await
            .expect("no event before the hang guard")
            .expect("the stream ended before a tool result")
            .expect("agent error");
        if std::env::var_os("BIDI_MCP_TEST_DEBUG").is_some() {
            eprintln!("event: {}", event.to_json());
        }
        if let BidiAgentEvent::ToolResult(r) = event {
            return r.into_tool_result();
        }
    }
}

/// Reads the agent's events until a final assistant transcript, and returns its text.
pub async fn next_final_transcript(events: &mut bidi_agent::AgentEventStream) -> String {
    loop {
        let event = tokio::time::timeout(HANG, events.next())
            .await
            .expect("no event before the hang guard")
            .expect("the stream ended before a transcript")
            .expect("agent error");
        if let BidiAgentEvent::Output(bidi_agent::types::BidiOutputEvent::TranscriptStream(t)) =
            &event
            && t.is_final()
        {
            return t.text().to_owned();
        }
    }
}

/// The text of a result's text blocks, joined.
pub fn result_text(result: &ToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| match c {
            ToolResultContent::Text(t) => Some(t.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether a process with this pid exists (a zombie counts: it was not reaped).
pub fn process_exists(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Whether a process with this pid runs (exists and is not a zombie waiting for a reaper).
pub fn process_running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name: `pid (comm) S ...`.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next())
            .is_some_and(|state| state != 'Z' && state != 'X'),
        Err(_) => false,
    }
}

/// Waits (bounded) until the process no longer runs.
pub async fn wait_not_running(pid: u32) -> bool {
    let deadline = tokio::time::Instant::now() + HANG;
    while process_running(pid) {
        if tokio::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}

/// Waits (bounded) until the process is gone.
pub async fn wait_gone(pid: u32) -> bool {
    let deadline = tokio::time::Instant::now() + HANG;
    while process_exists(pid) {
        if tokio::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}

/// The names of the tools the agent configured the simulated model with (the first
/// `session.update` carrying tools).
pub async fn tools_sent_to_model(sim: &OpenAiSimHandle) -> Vec<String> {
    let update = sim
        .wait_for("session.update", |e| e["session"]["tools"].is_array(), HANG)
        .await
        .expect("the session was configured with tools");
    update["session"]["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["name"].as_str().map(str::to_owned))
        .collect()
}

/// The `output` of the `function_call_output` the agent sent for `call_id`.
pub async fn output_sent_to_model(sim: &OpenAiSimHandle, call_id: &str) -> String {
    let item = sim
        .wait_for(
            "conversation.item.create",
            |e| e["item"]["type"] == "function_call_output" && e["item"]["call_id"] == call_id,
            HANG,
        )
        .await
        .expect("the tool result reached the model");
    item["item"]["output"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}
