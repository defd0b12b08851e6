//! Tools: the `#[tool]` attribute (specs from doc comments and argument types, sync and
//! async functions, the context argument, bad input), the registry through the builder, and
//! direct calls with their recorded messages (the reference's `tests_integ/bidi/test_direct.py`
//! behaviour, without a provider).
#![allow(clippy::unwrap_used)]

use crate::support;

use bidi_agent::tools::{AgentTool, ToolContext, ToolError};
use bidi_agent::types::*;
use bidi_agent::{AgentError, BidiAgent, DirectCallOptions};
use serde_json::json;
use support::*;

/// Get the weather for a city.
///
/// Uses a made-up forecast.
///
/// # Arguments
///
/// * `city` - The city to look up.
/// * `days` - How many days ahead.
#[bidi_agent::tool]
async fn get_weather(city: String, days: Option<u32>, units: Vec<String>) -> String {
    format!(
        "{city}: sunny for {} days ({})",
        days.unwrap_or(1),
        units.join(",")
    )
}

/// Adds two numbers (runs on a blocking thread).
#[bidi_agent::tool(name = "add-numbers")]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

/// Echoes its tool use id (sync, with the context by value).
#[bidi_agent::tool]
fn whoami(ctx: ToolContext) -> String {
    ctx.tool_use().tool_use_id.clone()
}

#[test]
fn spec_comes_from_docs_and_argument_types() {
    let spec = bidi_agent::tools::normalize_spec(get_weather.spec());
    assert_eq!(spec.name, "get_weather");
    assert_eq!(
        spec.description,
        "Get the weather for a city.\n\nUses a made-up forecast."
    );
    let schema = &spec.input_schema.json;
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["properties"]["city"]["type"], "string");
    assert_eq!(
        schema["properties"]["city"]["description"],
        "The city to look up."
    );
    assert_eq!(
        schema["properties"]["days"]["description"],
        "How many days ahead."
    );
    assert_eq!(
        schema["properties"]["units"]["description"],
        "Parameter units"
    );
    assert_eq!(schema["properties"]["units"]["type"], "array");
    assert_eq!(schema["required"], json!(["city", "units"]));
    assert!(schema.get("$schema").is_none() && schema.get("title").is_none());

    let spec = bidi_agent::tools::normalize_spec(add.spec());
    assert_eq!(spec.name, "add-numbers");
    assert_eq!(spec.input_schema.json["properties"]["a"]["type"], "integer");
    let spec = bidi_agent::tools::normalize_spec(whoami.spec());
    assert_eq!(
        spec.input_schema.json["properties"],
        json!({}),
        "the context is not an argument"
    );
}

#[test]
fn tool_functions_stay_callable() {
    assert_eq!(add::call(2, 3), 5);
}

#[tokio::test]
async fn registry_refuses_duplicates_through_the_builder() {
    let err = BidiAgent::builder(ScriptedModel::new(vec![]))
        .tool(add)
        .tool(add)
        .build()
        .unwrap_err();
    assert!(
        matches!(err, AgentError::Tool(ToolError::Duplicate(ref n)) if n == "add-numbers"),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "Tool name 'add-numbers' already exists. Cannot register tools with exact same name."
    );

    /// Clashes with add-numbers up to `-`/`_`.
    #[bidi_agent::tool]
    fn add_numbers() -> String {
        String::new()
    }
    let err = BidiAgent::builder(ScriptedModel::new(vec![]))
        .tool(add)
        .tool(add_numbers)
        .build()
        .unwrap_err();
    assert!(
        matches!(err, AgentError::Tool(ToolError::AmbiguousName { .. })),
        "{err}"
    );
}

#[tokio::test]
async fn direct_calls_record_four_messages() {
    let agent = BidiAgent::builder(ScriptedModel::new(vec![]))
        .tool(get_weather)
        .tool(add)
        .tool(whoami)
        .build()
        .unwrap();
    let result = agent
        .tool(
            "get_weather",
            json!({"city": "Paris", "units": ["C"], "ignored": 1}),
        )
        .await
        .unwrap();
    assert_eq!(
        result.content,
        [ToolResultContent::Text(
            "Paris: sunny for 1 days (C)".into()
        )]
    );
    let history = agent.messages();
    assert_eq!(history.len(), 4);
    assert_eq!(
        history[0],
        Message::text(
            Role::User,
            "agent.tool.get_weather direct tool call.\nInput parameters: {\"city\":\"Paris\",\"units\":[\"C\"]}\n"
        )
    );
    assert_eq!(
        history[1],
        Message::tool_use(ToolUse::new(
            result.tool_use_id.clone(),
            "get_weather",
            json!({"city": "Paris", "units": ["C"]})
        ))
    );
    assert_eq!(history[2], Message::tool_result(result.clone()));
    assert_eq!(
        history[3],
        Message::text(Role::Assistant, "agent.tool.get_weather was called.")
    );
    let suffix: u64 = result
        .tool_use_id
        .strip_prefix("tooluse_get_weather_")
        .unwrap()
        .parse()
        .unwrap();
    assert!((100_000_000..1_000_000_000).contains(&suffix));

    // `_` finds the tool named with `-`; the override leads the user message.
    let r = agent
        .tool_with(
            "add_numbers",
            json!({"a": 2, "b": 40}),
            DirectCallOptions::default().user_message_override("from UI"),
        )
        .await
        .unwrap();
    assert_eq!(r.content, [ToolResultContent::Text("42".into())]);
    let history = agent.messages();
    assert_eq!(history.len(), 8);
    assert!(
        history[4]
            .joined_text()
            .unwrap()
            .starts_with("from UI\nagent.tool.add-numbers direct tool call.")
    );

    // Not recorded when asked; the context sees the call's id.
    let r = agent
        .tool_with(
            "whoami",
            json!({}),
            DirectCallOptions::default().record(false),
        )
        .await
        .unwrap();
    assert_eq!(r.content, [ToolResultContent::Text(r.tool_use_id.clone())]);
    assert_eq!(agent.messages().len(), 8);

    let err = agent.tool("missing", json!({})).await.unwrap_err();
    assert_eq!(err.to_string(), "Unknown tool: missing");

    // Bad input is an error result, not an error.
    let r = agent
        .tool("add_numbers", json!({"a": "two"}))
        .await
        .unwrap();
    assert_eq!(r.status, ToolResultStatus::Error);
}

#[tokio::test]
async fn direct_calls_follow_record_direct_tool_call() {
    let agent = BidiAgent::builder(ScriptedModel::new(vec![]))
        .tool(add)
        .record_direct_tool_call(false)
        .build()
        .unwrap();
    agent
        .tool("add-numbers", json!({"a": 1, "b": 1}))
        .await
        .unwrap();
    assert!(agent.messages().is_empty());
    agent
        .tool_with(
            "add-numbers",
            json!({"a": 1, "b": 1}),
            DirectCallOptions::default().record(true),
        )
        .await
        .unwrap();
    assert_eq!(agent.messages().len(), 4);
}

/// Reports progress twice, then answers.
#[bidi_agent::tool]
async fn progress(ctx: &ToolContext) -> &'static str {
    ctx.stream(json!({"step": 1})).await;
    ctx.stream(json!({"step": 2})).await;
    "done"
}

#[tokio::test]
async fn tools_stream_progress_events() {
    let model = ScriptedModel::new(vec![vec![tool_use("t1", "progress", json!(null))]]);
    let agent = BidiAgent::builder(model).tool(progress).build().unwrap();
    agent.start(None).await.unwrap();
    let mut events = agent.receive();
    let got = collect_until(&mut events, |e| e.event_type() == "message").await;
    assert_eq!(
        types(&got),
        [
            "tool_use_stream",
            "tool_stream",
            "tool_stream",
            "tool_result",
            "message"
        ]
    );
    let Ok(BidiAgentEvent::ToolStream(s)) = &got[2] else {
        panic!()
    };
    assert_eq!(s.tool_stream_event().data, json!({"step": 2}));
    assert_eq!(s.tool_stream_event().tool_use.tool_use_id, "t1");
    agent.stop().await.unwrap();
}
