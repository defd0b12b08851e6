//! Custom tools with `#[tool]`: a sync tool with a struct argument, an async tool that reads
//! the invocation state and shares request state, and a tool whose error becomes an error
//! result; run against the offline simulator, which calls each one.
//!
//! ```text
//! cargo run --example custom_tools
//! ```
//!
//! It prints each tool's spec (the JSON Schema the model sees, built from the arguments'
//! types and the doc comment's `# Arguments`) and then each call's result. No network, no
//! credentials.

use bidi_agent::tools::{AgentTool, ToolContext};
use bidi_agent::types::{BidiAgentEvent, ToolResult};
use bidi_agent::{BidiAgent, InvocationState, tool};
use bidi_examples::offline::{BoxError, answers, ask, openai_model};
use bidi_sim::{Action, Script, Trigger};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

/// A line of an order.
#[derive(Debug, Deserialize, JsonSchema)]
struct Line {
    /// The product.
    product: String,
    /// How many.
    quantity: u32,
    /// The unit price in cents.
    unit_cents: u64,
}

/// Total an order.
///
/// # Arguments
/// * `lines` - The order's lines.
/// * `discount_percent` - A discount on the total.
#[tool]
fn order_total(lines: Vec<Line>, discount_percent: Option<u8>) -> String {
    let total: u64 = lines
        .iter()
        .map(|l| u64::from(l.quantity) * l.unit_cents)
        .sum();
    let discounted = total * u64::from(100 - discount_percent.unwrap_or(0).min(100)) / 100;
    let names: Vec<&str> = lines.iter().map(|l| l.product.as_str()).collect();
    format!("{} for {}", cents(discounted), names.join(", "))
}

fn cents(c: u64) -> String {
    format!("${}.{:02}", c / 100, c % 100)
}

/// Greet the signed-in user by name.
#[tool]
async fn greet_user(ctx: &ToolContext) -> Result<String, String> {
    let user = ctx
        .invocation_state()
        .get("user")
        .and_then(|v| v.as_str())
        .map(str::to_owned)
        .ok_or("no user is signed in")?;
    let greetings = ctx
        .request_state()
        .get("greetings")
        .and_then(|v| v.as_u64())
        .unwrap_or(0)
        + 1;
    ctx.request_state().set("greetings", json!(greetings));
    Ok(format!("Hello {user} (greeting #{greetings})"))
}

/// Look up a stock price.
///
/// # Arguments
/// * `symbol` - The ticker.
#[tool]
async fn stock_price(symbol: String) -> Result<String, String> {
    Err(format!("market closed: no price for {symbol}"))
}

fn script() -> Script {
    let call = |id: &str, name: &str, input| Action::CallTool {
        id: id.into(),
        name: name.into(),
        input,
    };
    let done = |text: &str| {
        vec![
            Action::Say {
                text: text.into(),
                chunk: 0,
            },
            Action::EndTurn,
        ]
    };
    let order = json!({"lines": [
        {"product": "tea", "quantity": 2, "unit_cents": 350},
        {"product": "cake", "quantity": 1, "unit_cents": 420}
    ], "discount_percent": 10});
    Script::new()
        .on(
            Trigger::Text {
                contains: "order".into(),
            },
            vec![call("c1", "order_total", order)],
        )
        .on(
            Trigger::ToolResult {
                tool_use_id: Some("c1".into()),
            },
            done("Your order is totalled."),
        )
        .on(
            Trigger::Text {
                contains: "greet".into(),
            },
            vec![call("c2", "greet_user", json!({}))],
        )
        .on(
            Trigger::ToolResult {
                tool_use_id: Some("c2".into()),
            },
            done("Greeted."),
        )
        .on(
            Trigger::Text {
                contains: "stock".into(),
            },
            vec![call("c3", "stock_price", json!({"symbol": "ACME"}))],
        )
        .on(
            Trigger::ToolResult {
                tool_use_id: Some("c3".into()),
            },
            done("The market is closed."),
        )
}

/// Runs the three requests and returns each tool's result.
async fn run() -> Result<Vec<ToolResult>, BoxError> {
    for spec in [order_total.spec(), greet_user.spec(), stock_price.spec()] {
        println!("tool {}: {}", spec.name, spec.input_schema.json);
    }
    let (sim, model) = openai_model(script()).await?;
    let agent = BidiAgent::builder(model)
        .tool(order_total)
        .tool(greet_user)
        .tool(stock_price)
        .build()?;
    let state = InvocationState::new().with("user", json!("Ada"));
    agent.start(Some(state)).await?;
    let mut events = agent.receive();
    let mut results = Vec::new();
    for request in [
        "Total my order",
        "Please greet me",
        "What is the stock price of ACME?",
    ] {
        println!("user: {request}");
        let seen = ask(&agent, &mut events, request).await?;
        for event in &seen {
            if let BidiAgentEvent::ToolResult(r) = event {
                let r = r.tool_result();
                println!("  tool result: {}", serde_json::to_string(r)?);
                results.push(r.clone());
            }
        }
        for answer in answers(&seen) {
            println!("assistant: {answer}");
        }
    }
    agent.stop().await?;
    sim.shutdown().await;
    Ok(results)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_tool_runs_and_the_failure_is_an_error_result() {
        let results = super::run().await.expect("run");
        let texts: Vec<String> = results
            .iter()
            .map(|r| serde_json::to_string(&r.content).expect("json"))
            .collect();
        assert_eq!(results.len(), 3, "{texts:?}");
        assert!(texts[0].contains("$10.08 for tea, cake"), "{texts:?}");
        assert!(texts[1].contains("Hello Ada (greeting #1)"), "{texts:?}");
        assert!(!results[2].is_success());
        assert!(texts[2].contains("market closed"), "{texts:?}");
    }
}
