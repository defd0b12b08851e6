//! MCP tools: a voice agent using an MCP server's tools mid-conversation, offline.
//!
//! ```text
//! cargo run --example mcp_tools
//! ```
//!
//! The agent talks to the OpenAI Realtime simulator (`bidi_sim`), scripted to call the MCP
//! tools when asked and to speak the answer. The MCP server is this same program started
//! with `--serve`: a small stdio server written with `rmcp` (the official Rust MCP SDK). The
//! agent spawns it at `start` through [`McpToolProvider`], lists its tools (prefixed
//! `demo_`), sends them to the model, and stops the server at `stop`. No network, no
//! credentials.

use std::time::Duration;

use bidi_agent::BidiAgent;
use bidi_agent::models::openai::{BidiOpenAIRealtimeModel, OpenAiRealtimeConfig};
use bidi_agent::types::{BidiAgentEvent, BidiOutputEvent};
use bidi_mcp::McpToolProvider;
use bidi_sim::openai::OpenAiSim;
use bidi_sim::{Action, Script, Trigger};
use futures_util::StreamExt;
use serde_json::json;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The MCP server half: `mcp_tools --serve` speaks MCP over stdin/stdout.
mod server {
    use rmcp::handler::server::router::tool::ToolRouter;
    use rmcp::handler::server::wrapper::Parameters;
    use rmcp::model::CallToolResult;
    use rmcp::{ServerHandler, ServiceExt, tool, tool_handler, tool_router};
    use serde::Deserialize;

    #[derive(Deserialize, schemars::JsonSchema)]
    struct City {
        /// The city.
        city: String,
    }

    #[derive(Deserialize, schemars::JsonSchema)]
    struct Numbers {
        /// The first number.
        a: i64,
        /// The second number.
        b: i64,
    }

    #[derive(Clone)]
    struct Demo {
        tool_router: ToolRouter<Self>,
    }

    #[tool_router]
    impl Demo {
        #[tool(description = "Today's forecast for a city.")]
        async fn forecast(&self, Parameters(args): Parameters<City>) -> CallToolResult {
            CallToolResult::structured(serde_json::json!({
                "city": args.city, "sky": "sunny", "celsius": 21
            }))
        }

        #[tool(description = "Adds two integers.")]
        async fn add(&self, Parameters(args): Parameters<Numbers>) -> String {
            (args.a + args.b).to_string()
        }
    }

    #[tool_handler(router = self.tool_router)]
    impl ServerHandler for Demo {}

    pub async fn serve() -> Result<(), super::BoxError> {
        let demo = Demo {
            tool_router: Demo::tool_router(),
        };
        demo.serve(rmcp::transport::stdio())
            .await?
            .waiting()
            .await?;
        Ok(())
    }
}

/// The model's script: ask for a tool when the user asks, then speak.
fn script() -> Script {
    let said = |text: &str| {
        vec![
            Action::Say {
                text: text.into(),
                chunk: 12,
            },
            Action::EndTurn,
        ]
    };
    Script::new()
        .on(
            Trigger::Text {
                contains: "weather".into(),
            },
            vec![Action::CallTool {
                id: "call_1".into(),
                name: "demo_forecast".into(),
                input: json!({"city": "Paris"}),
            }],
        )
        .on(
            Trigger::ToolResult {
                tool_use_id: Some("call_1".into()),
            },
            said("It is sunny in Paris, twenty-one degrees."),
        )
        .on(
            Trigger::Text {
                contains: "add".into(),
            },
            vec![Action::CallTool {
                id: "call_2".into(),
                name: "demo_add".into(),
                input: json!({"a": 19, "b": 23}),
            }],
        )
        .on(
            Trigger::ToolResult {
                tool_use_id: Some("call_2".into()),
            },
            said("Nineteen and twenty-three make forty-two."),
        )
}

async fn conversation() -> Result<(), BoxError> {
    let sim = OpenAiSim::start(script()).await?;
    let model = BidiOpenAIRealtimeModel::new(
        OpenAiRealtimeConfig::new()
            .endpoint(sim.url())
            .api_key("sk-simulated"),
    )?;
    let provider = std::sync::Arc::new(
        McpToolProvider::stdio(std::env::current_exe()?, ["--serve"])
            .name("demo")
            .prefix("demo")
            .call_timeout(Duration::from_secs(10)),
    );
    let agent = BidiAgent::builder(model)
        .system_prompt("You are a helpful voice assistant. Use your tools.")
        .tool_provider_arc(provider.clone())
        .build()?;

    agent.start(None).await?;
    println!("tools: {:?}", agent.tool_names());
    println!("mcp server pid: {:?}", provider.server_pid().await);

    let mut events = agent.receive();
    for input in ["What's the weather in Paris?", "Please add 19 and 23."] {
        println!("\n> {input}");
        agent.send(input).await?;
        while let Some(event) = tokio::time::timeout(Duration::from_secs(20), events.next())
            .await?
            .transpose()?
        {
            let done = matches!(
                &event,
                BidiAgentEvent::Output(BidiOutputEvent::ResponseComplete(_))
            ) && matches!(
                agent.messages().last().map(|m| m.role),
                Some(bidi_agent::types::Role::Assistant)
            );
            println!("  {}", event.to_json());
            if done {
                break;
            }
        }
    }
    drop(events);
    agent.stop().await?;
    println!(
        "\nstopped; mcp server running: {}",
        provider.is_running().await
    );
    sim.shutdown().await;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    if std::env::args().any(|a| a == "--serve") {
        server::serve().await
    } else {
        conversation().await
    }
}
