//! The MCP provider against a server we did not write: the reference Python SDK (`mcp` on
//! PyPI), over stdio and streamable HTTP, in conversations with the OpenAI simulator.
//!
//! The Python comes from `BIDI_MCP_PYTHON` (a venv with `mcp` installed; `.ci/run` makes
//! one). Under `CI=true` these tests fail when it is missing; elsewhere they are skipped with
//! a message.

use crate::support;

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use bidi_agent::types::{ToolResultContent, ToolResultStatus};
use bidi_mcp::McpToolProvider;
use bidi_sim::{Script, Trigger};
use serde_json::json;
use support::*;

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/python/reference_server.py"
);

/// The venv's python, or `None` (skip) outside CI.
fn python() -> Option<PathBuf> {
    match std::env::var_os("BIDI_MCP_PYTHON") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("BIDI_MCP_PYTHON is not set: .ci/run must install the Python `mcp` package")
        }
        _ => {
            eprintln!(
                "skipped: set BIDI_MCP_PYTHON to a python with `mcp` installed to run the reference-server tests"
            );
            None
        }
    }
}

fn stdio_server(python: &PathBuf) -> McpToolProvider {
    McpToolProvider::stdio(python, [SCRIPT, "stdio"]).name("py")
}

fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_reference_server_tools_in_a_conversation() {
    let Some(python) = python() else { return };
    let script = Script::new()
        .on(
            text("multiply"),
            vec![call("m1", "py_multiply", json!({"a": 6, "b": 7}))],
        )
        .on(
            Trigger::ToolResult {
                tool_use_id: Some("m1".into()),
            },
            say("Six times seven is forty-two."),
        );
    let provider = Arc::new(stdio_server(&python).prefix("py").deny(["die"]));
    let (sim, agent) = agent_with(script, provider.clone()).await;
    agent.start(None).await.expect("start");
    assert_eq!(
        sorted(agent.tool_names()),
        ["py_forecast", "py_multiply", "py_nap", "py_refuse"]
    );
    assert_eq!(
        sorted(tools_sent_to_model(&sim).await),
        sorted(agent.tool_names())
    );
    let pid = provider.server_pid().await.expect("a child process");

    let mut events = agent.receive();
    agent.send("multiply six by seven").await.expect("send");
    let product = next_tool_result(&mut events).await;
    assert_eq!(product.tool_use_id, "m1");
    // MCPServer also sends a `str` result as structured content: a last JSON block.
    assert_eq!(
        product.content,
        vec![
            ToolResultContent::Text("42".into()),
            ToolResultContent::Json(json!({"result": "42"}))
        ]
    );
    assert_eq!(
        output_sent_to_model(&sim, "m1").await,
        r#"[{"text":"42"},{"json":{"result":"42"}}]"#
    );
    assert_eq!(
        next_final_transcript(&mut events).await,
        "Six times seven is forty-two."
    );

    // Structured content: the last block is the JSON.
    let forecast = agent
        .tool("py_forecast", json!({"city": "Oslo"}))
        .await
        .expect("call");
    assert!(forecast.is_success());
    assert_eq!(
        forecast.content.last(),
        Some(&ToolResultContent::Json(
            json!({"city": "Oslo", "sky": "clear", "celsius": 18})
        ))
    );
    // A tool that raises: an isError result with the server's message.
    let refused = agent
        .tool("py_refuse", json!({"reason": "no"}))
        .await
        .expect("call");
    assert_eq!(refused.status, ToolResultStatus::Error);
    assert!(result_text(&refused).contains("refused: no"), "{refused:?}");

    agent.stop().await.expect("stop");
    assert!(
        wait_gone(pid).await,
        "the python server {pid} outlived stop"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_reference_server_timeout_crash_and_restart() {
    let Some(python) = python() else { return };
    let provider = Arc::new(stdio_server(&python).call_timeout(Duration::from_secs(2)));
    let (sim, agent) = agent_with(Script::new(), provider.clone()).await;
    agent.start(None).await.expect("start");
    let first = provider.server_pid().await.expect("a child process");

    let napped = agent
        .tool("nap", json!({"seconds": 60}))
        .await
        .expect("call");
    assert_eq!(napped.status, ToolResultStatus::Error);
    assert!(
        result_text(&napped).contains("timed out after 2s"),
        "{napped:?}"
    );

    let died = agent.tool("die", json!({})).await.expect("call");
    assert_eq!(died.status, ToolResultStatus::Error);
    assert!(
        result_text(&died).contains("the connection to the MCP server is closed"),
        "{died:?}"
    );
    let after = agent
        .tool("multiply", json!({"a": 2, "b": 2}))
        .await
        .expect("call");
    assert_eq!(after.status, ToolResultStatus::Error);
    assert!(wait_gone(first).await);
    agent.stop().await.expect("stop");

    agent.start(None).await.expect("restart");
    let second = provider.server_pid().await.expect("a new child process");
    assert_ne!(first, second);
    let product = agent
        .tool("multiply", json!({"a": 3, "b": 3}))
        .await
        .expect("call");
    assert_eq!(result_text(&product), "9");
    agent.stop().await.expect("stop");
    assert!(wait_gone(second).await);
    sim.shutdown().await;
}

/// The reference server over streamable HTTP on a free loopback port.
struct HttpServer {
    child: tokio::process::Child,
    port: u16,
}

impl HttpServer {
    async fn start(python: &PathBuf, port: u16) -> Self {
        let child = tokio::process::Command::new(python)
            .args([SCRIPT, "http", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("python starts");
        let deadline = tokio::time::Instant::now() + HANG;
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the HTTP server did not listen"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self { child, port }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/mcp", self.port)
    }

    async fn kill(mut self) {
        self.child.kill().await.expect("kill");
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_reference_server_tools_crash_and_reconnect() {
    let Some(python) = python() else { return };
    let port = free_port();
    let server = HttpServer::start(&python, port).await;
    let script = Script::new()
        .on(
            text("multiply"),
            vec![call("h1", "web_multiply", json!({"a": 11, "b": 3}))],
        )
        .on(
            Trigger::ToolResult {
                tool_use_id: Some("h1".into()),
            },
            say("Thirty-three."),
        );
    let provider = Arc::new(
        McpToolProvider::http(server.url())
            .name("web")
            .prefix("web")
            .allow(["multiply", "forecast", "nap"])
            .bearer_token("not-checked-by-this-server")
            .call_timeout(Duration::from_secs(2)),
    );
    let (sim, agent) = agent_with(script, provider.clone()).await;
    agent.start(None).await.expect("start");
    assert_eq!(
        sorted(agent.tool_names()),
        ["web_forecast", "web_multiply", "web_nap"]
    );
    assert_eq!(provider.server_pid().await, None);

    let mut events = agent.receive();
    agent.send("multiply eleven by three").await.expect("send");
    let product = next_tool_result(&mut events).await;
    assert_eq!(
        product.content,
        vec![
            ToolResultContent::Text("33".into()),
            ToolResultContent::Json(json!({"result": "33"}))
        ]
    );
    assert_eq!(next_final_transcript(&mut events).await, "Thirty-three.");
    drop(events);

    let napped = agent
        .tool("web_nap", json!({"seconds": 60}))
        .await
        .expect("call");
    assert_eq!(napped.status, ToolResultStatus::Error);
    assert!(result_text(&napped).contains("timed out"), "{napped:?}");

    // The server goes away mid-conversation: calls are error results.
    server.kill().await;
    let gone = agent
        .tool("web_multiply", json!({"a": 1, "b": 1}))
        .await
        .expect("call");
    assert_eq!(gone.status, ToolResultStatus::Error);
    assert!(
        result_text(&gone).starts_with("Tool execution failed: server=<web>"),
        "{gone:?}"
    );
    agent.stop().await.expect("stop");

    // It comes back; the next start reconnects.
    let server = HttpServer::start(&python, port).await;
    agent.start(None).await.expect("restart");
    let forecast = agent
        .tool("web_forecast", json!({"city": "Rome"}))
        .await
        .expect("call");
    assert_eq!(
        forecast.content.last(),
        Some(&ToolResultContent::Json(
            json!({"city": "Rome", "sky": "clear", "celsius": 18})
        ))
    );
    agent.stop().await.expect("stop");
    server.kill().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_ends_the_processes_the_server_started_itself() {
    let Some(python) = python() else { return };
    let pidfile = std::env::temp_dir().join(format!(
        "bidi-mcp-grandchild-{}-{}.pid",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    ));
    let provider = Arc::new(stdio_server(&python).env("BIDI_TEST_GRANDCHILD_PIDFILE", &pidfile));
    let (sim, agent) = agent_with(Script::new(), provider.clone()).await;
    agent.start(None).await.expect("start");
    let grandchild: u32 = std::fs::read_to_string(&pidfile)
        .expect("the server wrote its child's pid before serving")
        .trim()
        .parse()
        .expect("a pid");
    assert!(process_running(grandchild), "the server's own child runs");
    agent.stop().await.expect("stop");
    assert!(
        wait_not_running(grandchild).await,
        "a process the server started outlived stop"
    );
    let _ = std::fs::remove_file(&pidfile);
    sim.shutdown().await;
}
