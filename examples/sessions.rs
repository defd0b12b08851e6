//! Hooks and session persistence: a conversation that survives a restart.
//!
//! ```text
//! cargo run --example sessions
//! ```
//!
//! A first agent, with a `FileSessionManager` in a temporary directory and a hook that logs
//! the lifecycle, tells the (simulated) model a fact and stops, as if the process ended. A
//! second agent, built with a new manager for the same session id, finds the history on disk
//! and resumes: its model connection starts with the earlier turns, and the model answers
//! from them. Offline, against the OpenAI Realtime simulator; no credentials.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bidi_agent::BidiAgent;
use bidi_agent::hooks::{
    BidiAfterInvocationEvent, BidiBeforeInvocationEvent, BidiMessageAddedEvent, HookProvider,
    HookResult,
};
use bidi_agent::session::FileSessionManager;
use bidi_examples::offline::{BoxError, answers, ask, openai_model};
use bidi_sim::{Action, Script, Trigger};

/// Logs the lifecycle and counts the messages added.
#[derive(Default)]
struct Lifecycle {
    messages: AtomicUsize,
}

#[bidi_agent::async_trait]
impl HookProvider for Lifecycle {
    async fn before_invocation(&self, event: &BidiBeforeInvocationEvent) -> HookResult {
        println!(
            "[hook] started with {} message(s) of history",
            event.agent.messages().len()
        );
        Ok(())
    }

    async fn message_added(&self, event: &BidiMessageAddedEvent) -> HookResult {
        self.messages.fetch_add(1, Ordering::Relaxed);
        if let Some(text) = event.message.joined_text() {
            println!("[hook] {} said: {text}", event.message.role);
        }
        Ok(())
    }

    async fn after_invocation(&self, event: &BidiAfterInvocationEvent) -> HookResult {
        println!(
            "[hook] stopped with {} message(s)",
            event.agent.messages().len()
        );
        Ok(())
    }
}

fn say(text: &str) -> Vec<Action> {
    vec![
        Action::Say {
            text: text.into(),
            chunk: 0,
        },
        Action::EndTurn,
    ]
}

/// What happened: the messages after each run, and the second run's answer.
#[derive(Debug)]
struct Outcome {
    first_run_messages: usize,
    restored_messages: usize,
    answer: Vec<String>,
    history_sent_on_resume: bool,
}

async fn run(storage: &Path) -> Result<Outcome, BoxError> {
    let script = Script::new()
        .on(
            Trigger::Text {
                contains: "favourite colour".into(),
            },
            say("Noted: your favourite colour is green."),
        )
        .on(
            Trigger::Text {
                contains: "remember".into(),
            },
            say("You told me your favourite colour is green."),
        );
    let (sim, model) = openai_model(script.clone()).await?;

    // First run.
    let hooks = Arc::new(Lifecycle::default());
    let agent = BidiAgent::builder(model)
        .session_manager(FileSessionManager::new("demo-session", storage)?)
        .hook_arc(hooks.clone())
        .build()?;
    agent.start(None).await?;
    let mut events = agent.receive();
    ask(&agent, &mut events, "My favourite colour is green.").await?;
    agent.stop().await?;
    let first_run_messages = agent.messages().len();
    drop(agent);
    println!("-- restart --");

    // Second run: a new agent (and model connection) for the same session.
    let (sim2, model) = openai_model(script).await?;
    let agent = BidiAgent::builder(model)
        .session_manager(FileSessionManager::new("demo-session", storage)?)
        .hook_arc(hooks)
        .build()?;
    let restored_messages = agent.messages().len();
    agent.start(None).await?;
    let mut events = agent.receive();
    let answer = answers(&ask(&agent, &mut events, "Do you remember my colour?").await?);
    for line in &answer {
        println!("assistant: {line}");
    }
    agent.stop().await?;
    // The resumed connection was given the earlier turns before the new question.
    let history_sent_on_resume = sim2.recorded().iter().any(|c| {
        c.of_type("conversation.item.create")
            .iter()
            .any(|e| e.to_string().contains("My favourite colour is green."))
    });
    sim.shutdown().await;
    sim2.shutdown().await;
    Ok(Outcome {
        first_run_messages,
        restored_messages,
        answer,
        history_sent_on_resume,
    })
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let dir = tempfile::tempdir()?;
    let outcome = run(dir.path()).await?;
    println!(
        "restored {} of {} message(s) from {}; history given to the new connection: {}; answers: {}",
        outcome.restored_messages,
        outcome.first_run_messages,
        dir.path().display(),
        outcome.history_sent_on_resume,
        outcome.answer.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_second_agent_resumes_the_first_ones_conversation() {
        let dir = tempfile::tempdir().expect("temp dir");
        let outcome = super::run(dir.path()).await.expect("run");
        assert_eq!(outcome.first_run_messages, 2, "{outcome:?}");
        assert_eq!(outcome.restored_messages, 2, "{outcome:?}");
        assert!(outcome.history_sent_on_resume, "{outcome:?}");
        assert_eq!(
            outcome.answer,
            ["You told me your favourite colour is green."]
        );
        assert!(dir.path().join("session_demo-session").is_dir());
    }
}
