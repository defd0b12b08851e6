//! The MCP provider over streamable HTTP against an rmcp server on loopback behind a bearer
//! check: the token is sent, a wrong one fails `start` with the server's name.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use bidi_mcp::McpToolProvider;
use bidi_sim::Script;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ServerHandler, tool, tool_handler, tool_router};
use serde_json::json;
use support::*;

const TOKEN: &str = "s3cret-token";

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Sum {
    a: i64,
    b: i64,
}

#[derive(Clone)]
struct SumServer {
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl SumServer {
    #[tool(description = "Sums two integers.")]
    async fn sum(&self, Parameters(Sum { a, b }): Parameters<Sum>) -> String {
        (a + b).to_string()
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for SumServer {}

/// Serves the sum server at `http://127.0.0.1:<port>/mcp`, refusing requests without the
/// bearer token; counts the authorised requests.
async fn serve() -> (String, Arc<AtomicUsize>, tokio::task::JoinHandle<()>) {
    let service: StreamableHttpService<SumServer, LocalSessionManager> = StreamableHttpService::new(
        || {
            Ok(SumServer {
                tool_router: SumServer::tool_router(),
            })
        },
        Default::default(),
        StreamableHttpServerConfig::default().with_sse_keep_alive(None),
    );
    let authorised = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&authorised);
    let check = move |request: Request, next: Next| {
        let seen = Arc::clone(&seen);
        async move {
            let ok = request
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                == Some(&format!("Bearer {TOKEN}"));
            if !ok {
                return Err(StatusCode::UNAUTHORIZED);
            }
            seen.fetch_add(1, Ordering::SeqCst);
            Ok::<Response, StatusCode>(next.run(request).await)
        }
    };
    let router = axum::Router::new()
        .nest_service("/mcp", service)
        .layer(axum::middleware::from_fn(check));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("address");
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (format!("http://{addr}/mcp"), authorised, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bearer_token_is_sent_and_tools_are_called_over_http() {
    let (url, authorised, server) = serve().await;
    let provider = Arc::new(McpToolProvider::http(url).name("sums").bearer_token(TOKEN));
    let (sim, agent) = agent_with(Script::new(), provider.clone()).await;
    agent.start(None).await.expect("start");
    assert_eq!(agent.tool_names(), ["sum"]);
    assert!(provider.is_running().await);
    let sum = agent
        .tool("sum", json!({"a": 40, "b": 2}))
        .await
        .expect("call");
    assert_eq!(result_text(&sum), "42");
    assert!(
        authorised.load(Ordering::SeqCst) >= 3,
        "initialize, list, call"
    );
    agent.stop().await.expect("stop");
    assert!(!provider.is_running().await);
    server.abort();
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_fails_start_with_the_server_name() {
    let (url, authorised, server) = serve().await;
    let provider = Arc::new(
        McpToolProvider::http(url)
            .name("sums")
            .bearer_token("wrong"),
    );
    let (sim, agent) = agent_with(Script::new(), provider).await;
    let error = agent.start(None).await.expect_err("start fails");
    let text = error.to_string();
    assert!(
        text.starts_with(
            "tool_provider=<sums> | failed to load tools: server=<sums> | MCP initialization failed"
        ),
        "{text}"
    );
    assert!(!text.contains("wrong"), "the token is never shown: {text}");
    assert_eq!(authorised.load(Ordering::SeqCst), 0);
    assert!(!agent.is_started());
    server.abort();
    sim.shutdown().await;
}
