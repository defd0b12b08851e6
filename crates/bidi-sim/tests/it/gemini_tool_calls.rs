//! Gemini's non-blocking and cancelled function calls (issue 20), end to end: the real
//! Gemini Live client in a `BidiAgent` against the Gemini simulator.
//!
//! - `a_non_blocking_call_runs_while_the_model_talks`: the model calls a tool and goes on
//!   speaking; the tool is still running when the spoken preamble has arrived, its result is
//!   sent while the model is done talking, and the model answers with it.
//! - `a_cancelled_call_is_dropped_and_sends_nothing`: the user speaks over a running call and
//!   the server cancels it (`toolCallCancellation`): the tool's future is dropped, a task it
//!   handed work to sees the cancellation, the hooks see a cancelled call, `tool_cancel_event`
//!   and `bidi_tool_cancellation` reach the user, no `toolResponse` goes to the server, and the
//!   conversation goes on.

use crate::support;

use std::sync::{Arc, Mutex};

use bidi_agent::hooks::{BidiAfterToolCallEvent, HookProvider, HookResult};
use bidi_agent::tools::ToolContext;
use bidi_agent::{BidiAgent, tool};
use bidi_sim::gemini::GeminiSim;
use bidi_sim::{Action, Script, Trigger};
use serde_json::{Value, json};
use tokio::sync::Notify;

/// What the tools and the hook of one test saw.
#[derive(Default)]
struct Seen {
    started: Notify,
    release: Notify,
    dropped: Mutex<bool>,
    watcher_saw_cancel: Notify,
    after_hook: Mutex<Vec<(String, Option<String>)>>,
}

impl Seen {
    fn get(ctx: &ToolContext) -> Arc<Seen> {
        let state = ctx.invocation_state().extension::<Arc<Seen>>();
        Arc::clone(&*state.expect("the test's state"))
    }
}

/// Sets `dropped` when the tool's future is dropped.
struct DropFlag(Arc<Seen>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        *self.0.dropped.lock().expect("lock") = true;
    }
}

/// Books a table; answers once the test releases it.
#[tool(behavior = "non_blocking", scheduling = "when_idle")]
async fn book_table(ctx: &ToolContext, time: String) -> String {
    let seen = Seen::get(ctx);
    seen.started.notify_one();
    seen.release.notified().await;
    format!("booked for {time}")
}

/// Looks something up, slowly: it never answers on its own.
#[tool]
async fn slow_lookup(ctx: &ToolContext, topic: String) -> String {
    let seen = Seen::get(ctx);
    let _flag = DropFlag(Arc::clone(&seen));
    let watch = ctx.clone();
    let watcher = Arc::clone(&seen);
    tokio::spawn(async move {
        watch.cancelled().await;
        watcher.watcher_saw_cancel.notify_one();
    });
    seen.started.notify_one();
    std::future::pending::<()>().await;
    format!("nothing on {topic}")
}

/// Records what the after-tool-call hook is told.
struct AfterHook(Arc<Seen>);

#[bidi_agent::async_trait]
impl HookProvider for AfterHook {
    async fn after_tool_call(&self, e: &mut BidiAfterToolCallEvent) -> HookResult {
        self.0.after_hook.lock().expect("lock").push((
            e.tool_use().tool_use_id.clone(),
            e.cancel_message().map(str::to_owned),
        ));
        Ok(())
    }
}

fn say(text: &str) -> Action {
    Action::Say {
        text: text.into(),
        chunk: 0,
    }
}

async fn started_agent(sim: &bidi_sim::gemini::GeminiSimHandle, seen: &Arc<Seen>) -> BidiAgent {
    let agent = BidiAgent::builder(support::gemini_model(sim))
        .tool(book_table)
        .tool(slow_lookup)
        .hook(AfterHook(Arc::clone(seen)))
        .build()
        .expect("agent");
    let mut state = bidi_agent::InvocationState::new();
    state.insert_extension(Arc::clone(seen));
    agent.start(Some(state)).await.expect("start");
    agent
}

/// `fut`, or a panic after the answer limit (against hangs, not a timing check).
async fn within<T>(fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(support::ANSWER_LIMIT, fut)
        .await
        .expect("in time")
}

fn is_final_answer(text: &'static str) -> impl Fn(&Value) -> bool {
    move |e| {
        e["type"] == "bidi_transcript_stream"
            && e["role"] == "assistant"
            && e["is_final"] == true
            && e["text"] == text
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_blocking_call_runs_while_the_model_talks() {
    let script = Script::new()
        .on(
            Trigger::Text {
                contains: "book".into(),
            },
            vec![
                Action::CallTool {
                    id: "fc-book".into(),
                    name: "book_table".into(),
                    input: json!({"time": "eight"}),
                },
                // The model keeps talking while the call runs.
                say("Booking it now."),
                Action::Speak {
                    ms: 200,
                    frame_ms: 20,
                },
                Action::EndTurn,
            ],
        )
        .on(
            Trigger::ToolResult {
                tool_use_id: Some("fc-book".into()),
            },
            vec![say("Your table is booked for eight."), Action::EndTurn],
        );
    let sim = GeminiSim::start(script).await.expect("sim");
    let seen = Arc::new(Seen::default());
    let agent = started_agent(&sim, &seen).await;
    let mut events = agent.receive();
    agent.send("Please book a table").await.expect("send");
    // The preamble, spoken while the tool waits for the test's release.
    let preamble = support::until(&mut events, is_final_answer("Booking it now.")).await;
    assert!(
        preamble.iter().any(|e| e["type"] == "bidi_audio_stream"),
        "audio while the tool runs: {preamble:#?}"
    );
    assert!(
        !preamble.iter().any(|e| e["type"] == "tool_result"),
        "the tool has not answered yet: {preamble:#?}"
    );
    seen.release.notify_one();
    let answer = support::until(
        &mut events,
        is_final_answer("Your table is booked for eight."),
    )
    .await;
    assert!(
        answer.iter().any(|e| e["type"] == "tool_result"),
        "{answer:#?}"
    );
    agent.stop().await.expect("stop");
    let rec = &sim.recorded()[0];
    let decl = &rec.under("setup")[0]["tools"][0]["functionDeclarations"];
    let book = decl
        .as_array()
        .and_then(|d| d.iter().find(|d| d["name"] == "book_table"))
        .expect("declared");
    assert_eq!(book["behavior"], "NON_BLOCKING", "{decl}");
    let responses = rec.under("toolResponse");
    assert_eq!(responses.len(), 1, "{responses:?}");
    assert_eq!(
        responses[0]["functionResponses"][0],
        json!({"id": "fc-book", "name": "book_table", "response": {"output": "booked for eight"}, "scheduling": "WHEN_IDLE"})
    );
    assert_eq!(
        *seen.after_hook.lock().expect("lock"),
        [("fc-book".to_owned(), None)]
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_call_is_dropped_and_sends_nothing() {
    let script = Script::new()
        .on(
            Trigger::Text {
                contains: "news".into(),
            },
            vec![
                Action::CallTool {
                    id: "fc-slow".into(),
                    name: "slow_lookup".into(),
                    input: json!({"topic": "news"}),
                },
                say("Looking."),
                Action::EndTurn,
            ],
        )
        // The user talks over the call: the service drops it and answers the new question.
        .on(
            Trigger::Text {
                contains: "never mind".into(),
            },
            vec![
                Action::CancelTool {
                    ids: vec!["fc-slow".into()],
                },
                say("Alright, forget it."),
                Action::EndTurn,
            ],
        )
        .on(
            Trigger::Text {
                contains: "hello".into(),
            },
            vec![say("Hi there."), Action::EndTurn],
        );
    let sim = GeminiSim::start(script).await.expect("sim");
    let seen = Arc::new(Seen::default());
    let agent = started_agent(&sim, &seen).await;
    let mut events = agent.receive();
    agent.send("What is in the news?").await.expect("send");
    support::until(&mut events, is_final_answer("Looking.")).await;
    within(seen.started.notified()).await;
    agent.send("Oh, never mind").await.expect("send");
    let mut after = support::until(&mut events, is_final_answer("Alright, forget it.")).await;
    // The cancelled call's events may trail the answer: read on to its result message.
    if !after.iter().any(|e| e.get("message").is_some()) {
        after.extend(support::until(&mut events, |e| e.get("message").is_some()).await);
    }
    let cancellation = after
        .iter()
        .find(|e| e["type"] == "bidi_tool_cancellation")
        .unwrap_or_else(|| panic!("no bidi_tool_cancellation: {after:#?}"));
    assert_eq!(cancellation["tool_use_ids"], json!(["fc-slow"]));
    let cancel = after
        .iter()
        .find(|e| e.get("tool_cancel_event").is_some())
        .unwrap_or_else(|| panic!("no tool_cancel_event: {after:#?}"));
    assert_eq!(
        cancel["tool_cancel_event"]["message"],
        "tool call cancelled by the model"
    );
    assert_eq!(
        cancel["tool_cancel_event"]["tool_use"]["toolUseId"],
        "fc-slow"
    );
    within(seen.watcher_saw_cancel.notified()).await;
    assert!(
        *seen.dropped.lock().expect("lock"),
        "the tool's future is dropped"
    );
    assert_eq!(
        *seen.after_hook.lock().expect("lock"),
        [(
            "fc-slow".to_owned(),
            Some("tool call cancelled by the model".to_owned())
        )]
    );
    // The conversation goes on.
    agent.send("hello again").await.expect("send");
    support::until(&mut events, is_final_answer("Hi there.")).await;
    // The history keeps the call and its cancelled result, paired.
    let history = serde_json::to_value(agent.messages()).expect("json");
    let result = history
        .as_array()
        .and_then(|m| {
            m.iter()
                .flat_map(|m| m["content"].as_array().into_iter().flatten())
                .find_map(|c| c.get("toolResult"))
        })
        .unwrap_or_else(|| panic!("no tool result in {history:#}"));
    assert_eq!(result["status"], "error", "{result}");
    agent.stop().await.expect("stop");
    assert!(
        sim.recorded()[0].under("toolResponse").is_empty(),
        "nothing sent for a dropped call"
    );
    sim.shutdown().await;
}
