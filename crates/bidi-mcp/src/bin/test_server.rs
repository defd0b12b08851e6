//! `bidi-mcp-test-server`: a small stdio MCP server written with rmcp, for the tests and to
//! try the provider (`cargo run -p bidi-mcp --features test-server --bin bidi-mcp-test-server`).
//!
//! Tools: `add` (text), `weather` (structured content), `pixel` (an image), `fail` (an
//! `isError` result), `slow` (sleeps), `crash` (the process exits mid-call).

use std::time::Duration;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock};
use rmcp::{ServerHandler, ServiceExt, tool, tool_handler, tool_router};
use serde::Deserialize;

/// A 1×1 transparent PNG.
const PIXEL_PNG: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";

#[derive(Deserialize, schemars::JsonSchema)]
struct AddArgs {
    /// The first number.
    a: i64,
    /// The second number.
    b: i64,
}

#[derive(Deserialize, schemars::JsonSchema)]
struct CityArgs {
    /// The city.
    city: String,
}

#[derive(Deserialize, schemars::JsonSchema)]
struct SlowArgs {
    /// How long to sleep, in milliseconds.
    ms: u64,
}

#[derive(Clone)]
struct TestServer {
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl TestServer {
    fn new() -> Self {
        Self {
            tool_router: Self::tool_router(),
        }
    }

    #[tool(description = "Adds two integers.")]
    async fn add(&self, Parameters(args): Parameters<AddArgs>) -> String {
        (args.a + args.b).to_string()
    }

    #[tool(description = "The weather in a city, as structured content.")]
    async fn weather(&self, Parameters(args): Parameters<CityArgs>) -> CallToolResult {
        CallToolResult::structured(serde_json::json!({
            "city": args.city,
            "forecast": "sunny",
            "celsius": 21
        }))
    }

    #[tool(description = "A tiny PNG image.")]
    async fn pixel(&self) -> CallToolResult {
        CallToolResult::success(vec![
            ContentBlock::text("one pixel"),
            ContentBlock::image(PIXEL_PNG, "image/png"),
        ])
    }

    #[tool(description = "Always fails.")]
    async fn fail(&self) -> CallToolResult {
        CallToolResult::error(vec![ContentBlock::text("the city is unknown")])
    }

    #[tool(description = "Sleeps, then answers.")]
    async fn slow(&self, Parameters(args): Parameters<SlowArgs>) -> String {
        tokio::time::sleep(Duration::from_millis(args.ms)).await;
        format!("slept {} ms", args.ms)
    }

    #[tool(description = "Exits the server process mid-call.")]
    async fn crash(&self) -> String {
        std::process::exit(3)
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for TestServer {}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let service = TestServer::new().serve(rmcp::transport::stdio()).await?;
    service.waiting().await?;
    Ok(())
}
