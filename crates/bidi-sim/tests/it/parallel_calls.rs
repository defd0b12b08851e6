//! One OpenAI response with a spoken preamble and two function calls (issue 20): the agent
//! runs both calls, sends both outputs, and asks for the answer once — the service would refuse a second
//! `response.create` while the first answer runs (`conversation_already_has_active_response`),
//! and the answer would cover only the first call.

use crate::support;

use std::time::Duration;

use bidi_agent::{BidiAgent, tool};
use bidi_sim::openai::OpenAiSim;
use bidi_sim::{Action, Script, Trigger};
use futures_util::StreamExt;
use serde_json::{Value, json};

/// The weather in a city.
#[tool]
async fn city_weather(city: String) -> String {
    // The second call finishes first: outputs arrive out of order.
    if city == "Paris" {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    format!("sunny in {city}")
}

fn script() -> Script {
    Script::new()
        .on(
            Trigger::Text {
                contains: "weather".into(),
            },
            vec![
                // A spoken preamble, then the two calls: one response, three output items.
                Action::Say {
                    text: "Let me check both.".into(),
                    chunk: 0,
                },
                Action::Speak {
                    ms: 200,
                    frame_ms: 20,
                },
                Action::CallTool {
                    id: "call_paris".into(),
                    name: "city_weather".into(),
                    input: json!({"city": "Paris"}),
                },
                Action::CallTool {
                    id: "call_rome".into(),
                    name: "city_weather".into(),
                    input: json!({"city": "Rome"}),
                },
            ],
        )
        .on(
            Trigger::ToolResult { tool_use_id: None },
            vec![
                Action::Say {
                    text: "Both are sunny.".into(),
                    chunk: 0,
                },
                Action::EndTurn,
            ],
        )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_calls_in_one_response_get_one_answer_and_no_error() {
    let sim = OpenAiSim::start(script()).await.expect("sim");
    let agent = BidiAgent::builder(support::openai_model(&sim.url()))
        .tool(city_weather)
        .build()
        .expect("agent");
    agent.start(None).await.expect("start");
    let mut events = agent.receive();
    agent
        .send("What is the weather in Paris and Rome?")
        .await
        .expect("send");
    let mut seen: Vec<Value> = Vec::new();
    let answered = tokio::time::timeout(support::ANSWER_LIMIT, async {
        while let Some(event) = events.next().await {
            let event = event.expect("event").to_json();
            let done = event["type"] == "bidi_transcript_stream"
                && event["role"] == "assistant"
                && event["is_final"] == true
                && event["text"] != "Let me check both.";
            seen.push(event);
            if done {
                return true;
            }
        }
        false
    })
    .await;
    assert!(matches!(answered, Ok(true)), "no answer: {seen:#?}");
    let results: Vec<&Value> = seen.iter().filter(|e| e["type"] == "tool_result").collect();
    assert_eq!(results.len(), 2, "both calls ran: {seen:#?}");
    assert!(
        !seen.iter().any(|e| e["type"] == "bidi_error"),
        "no refused response.create: {seen:#?}"
    );
    assert_eq!(
        seen.last().map(|e| e["text"].clone()),
        Some(Value::from("Both are sunny."))
    );
    agent.stop().await.expect("stop");
    let sent = &sim.recorded()[0].events;
    let creates_after_outputs = sent
        .iter()
        .skip_while(|e| e["item"]["type"] != "function_call_output")
        .filter(|e| e["type"] == "response.create")
        .count();
    assert_eq!(
        creates_after_outputs, 1,
        "one response.create for the two outputs"
    );
    let outputs = sent
        .iter()
        .filter(|e| e["item"]["type"] == "function_call_output")
        .count();
    assert_eq!(outputs, 2);
    sim.shutdown().await;
}
