//! The MCP provider against a real stdio MCP server written with rmcp
//! (`bidi-mcp-test-server`), in conversations with the OpenAI simulator.

use crate::support;

use std::sync::Arc;
use std::time::Duration;

use bidi_agent::types::{ToolResultContent, ToolResultStatus};
use bidi_mcp::McpToolProvider;
use bidi_sim::{Script, Trigger};
use serde_json::json;
use support::*;

fn server() -> McpToolProvider {
    McpToolProvider::stdio(env!("CARGO_BIN_EXE_bidi-mcp-test-server"), [] as [&str; 0])
        .name("test-server")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tools_load_at_start_are_called_mid_conversation_and_stop_kills_the_server() {
    let script = Script::new()
        .on(
            text("add"),
            vec![call("c1", "calc_add", json!({"a": 2, "b": 3}))],
        )
        .on(
            Trigger::ToolResult {
                tool_use_id: Some("c1".into()),
            },
            say("Two and three make five."),
        );
    let provider = Arc::new(server().prefix("calc").deny(["crash"]));
    let (sim, agent) = agent_with(script, provider.clone()).await;
    assert!(agent.tool_names().is_empty(), "no tools before start");

    agent.start(None).await.expect("start");
    let names = agent.tool_names();
    assert_eq!(
        names,
        [
            "calc_add",
            "calc_fail",
            "calc_pixel",
            "calc_slow",
            "calc_weather"
        ]
    );
    assert_eq!(tools_sent_to_model(&sim).await, names);
    let pid = provider.server_pid().await.expect("a child process");
    assert!(process_exists(pid));

    let mut events = agent.receive();
    agent.send("please add two and three").await.expect("send");
    let result = next_tool_result(&mut events).await;
    assert_eq!(result.tool_use_id, "c1");
    assert_eq!(result.status, ToolResultStatus::Success);
    assert_eq!(result.content, vec![ToolResultContent::Text("5".into())]);
    assert_eq!(output_sent_to_model(&sim, "c1").await, r#"[{"text":"5"}]"#);
    assert_eq!(
        next_final_transcript(&mut events).await,
        "Two and three make five."
    );

    agent.stop().await.expect("stop");
    assert!(
        wait_gone(pid).await,
        "the server process {pid} outlived stop"
    );
    assert!(!provider.is_running().await);
    assert!(agent.tool_names().is_empty(), "provider tools go at stop");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn structured_content_images_and_errors_map_to_tool_results() {
    let provider = Arc::new(server().allow(["weather", "pixel", "fail"]));
    let (sim, agent) = agent_with(Script::new(), provider).await;
    agent.start(None).await.expect("start");
    assert_eq!(agent.tool_names(), ["fail", "pixel", "weather"]);

    let weather = agent
        .tool("weather", json!({"city": "Lyon"}))
        .await
        .expect("call");
    assert!(weather.is_success());
    let expected = json!({"city": "Lyon", "forecast": "sunny", "celsius": 21});
    assert_eq!(
        weather.content.last(),
        Some(&ToolResultContent::Json(expected))
    );

    let pixel = agent.tool("pixel", json!({})).await.expect("call");
    assert_eq!(pixel.content.len(), 2);
    assert_eq!(
        pixel.content[0],
        ToolResultContent::Text("one pixel".into())
    );
    match &pixel.content[1] {
        ToolResultContent::Image(image) => {
            assert_eq!(image.format, "png");
            assert!(image.source.bytes.starts_with("iVBOR"));
        }
        other => panic!("expected an image, got {other:?}"),
    }

    let failed = agent.tool("fail", json!({})).await.expect("call");
    assert_eq!(failed.status, ToolResultStatus::Error);
    assert_eq!(result_text(&failed), "the city is unknown");
    agent.stop().await.expect("stop");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_past_its_timeout_is_an_error_result_and_the_conversation_goes_on() {
    let script = Script::new()
        .on(
            text("slow"),
            vec![call("s1", "slow", json!({"ms": 60_000}))],
        )
        .on(
            Trigger::ToolResult {
                tool_use_id: Some("s1".into()),
            },
            vec![call("a1", "add", json!({"a": 1, "b": 1}))],
        );
    let provider = Arc::new(server().call_timeout(Duration::from_secs(2)));
    let (sim, agent) = agent_with(script, provider).await;
    agent.start(None).await.expect("start");
    let mut events = agent.receive();
    agent.send("do the slow thing").await.expect("send");

    let timed_out = next_tool_result(&mut events).await;
    assert_eq!(timed_out.tool_use_id, "s1");
    assert_eq!(timed_out.status, ToolResultStatus::Error);
    let message = result_text(&timed_out);
    assert!(
        message.starts_with(
            "Tool execution failed: server=<test-server>, tool=<slow> | timed out after 2s"
        ),
        "{message}"
    );
    // The model got the error and asked for another tool, which works.
    let added = next_tool_result(&mut events).await;
    assert_eq!(added.tool_use_id, "a1");
    assert_eq!(result_text(&added), "2");
    agent.stop().await.expect("stop");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_server_gives_error_results_and_is_restarted_at_the_next_start() {
    let script = Script::new()
        .always(text("crash"), vec![call("x1", "crash", json!({}))])
        .on(
            Trigger::ToolResult {
                tool_use_id: Some("x1".into()),
            },
            vec![call("a1", "add", json!({"a": 4, "b": 4}))],
        );
    let provider = Arc::new(server());
    let (sim, agent) = agent_with(script, provider.clone()).await;
    agent.start(None).await.expect("start");
    let first_pid = provider.server_pid().await.expect("a child process");
    let mut events = agent.receive();
    agent.send("crash now").await.expect("send");

    let crashed = next_tool_result(&mut events).await;
    assert_eq!(crashed.tool_use_id, "x1");
    assert_eq!(crashed.status, ToolResultStatus::Error);
    assert!(
        result_text(&crashed).contains("the connection to the MCP server is closed"),
        "{}",
        result_text(&crashed)
    );
    // The conversation goes on: the next call of the dead server is an error result too.
    let after = next_tool_result(&mut events).await;
    assert_eq!(after.tool_use_id, "a1");
    assert_eq!(after.status, ToolResultStatus::Error);
    assert!(
        wait_gone(first_pid).await,
        "the crashed server was not reaped"
    );
    assert!(!provider.is_running().await);
    drop(events);
    agent.stop().await.expect("stop");

    agent.start(None).await.expect("restart");
    let second_pid = provider.server_pid().await.expect("a new child process");
    assert_ne!(first_pid, second_pid);
    // (A direct call: the restarted server answers.)
    let added = agent
        .tool("add", json!({"a": 5, "b": 5}))
        .await
        .expect("call");
    assert_eq!(result_text(&added), "10");
    agent.stop().await.expect("stop");
    assert!(wait_gone(second_pid).await);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_provider_serves_two_agents_and_stops_with_the_last() {
    let provider = Arc::new(server().allow(["add"]));
    let (sim_a, a) = agent_with(Script::new(), provider.clone()).await;
    let (sim_b, b) = agent_with(Script::new(), provider.clone()).await;
    a.start(None).await.expect("start a");
    b.start(None).await.expect("start b");
    let pid = provider.server_pid().await.expect("a child process");
    a.stop().await.expect("stop a");
    assert!(provider.is_running().await, "b still uses the server");
    let sum = b
        .tool("add", json!({"a": 20, "b": 22}))
        .await
        .expect("call");
    assert_eq!(result_text(&sum), "42");
    b.stop().await.expect("stop b");
    assert!(wait_gone(pid).await);
    sim_a.shutdown().await;
    sim_b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_cannot_start_fails_the_agent_start_with_its_name() {
    let provider = Arc::new(
        McpToolProvider::stdio("/nonexistent/bidi-mcp-server", [] as [&str; 0]).name("ghost"),
    );
    let (sim, agent) = agent_with(Script::new(), provider).await;
    let error = agent.start(None).await.expect_err("start fails");
    let text = error.to_string();
    assert!(text.starts_with("tool_provider=<ghost> | failed to load tools: server=<ghost>, command=</nonexistent/bidi-mcp-server> | could not spawn"), "{text}");
    assert!(!agent.is_started());
    sim.shutdown().await;
}
