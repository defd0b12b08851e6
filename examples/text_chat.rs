//! Text chat: an agent that talks in text, against the offline simulator.
//!
//! ```text
//! cargo run --example text_chat                        # a short scripted chat
//! cargo run --example text_chat -- "hello" "a joke"    # your own lines
//! ```
//!
//! The model is OpenAI Realtime's real client, connected to `bidi-sim` on loopback, so it
//! needs no network and no credentials; swap in `BidiOpenAIRealtimeModel::new(
//! OpenAiRealtimeConfig::new())` (with `OPENAI_API_KEY`) to talk to the real service. For an
//! interactive chat on stdin, see the quickstart's `--text`.

use bidi_agent::BidiAgent;
use bidi_examples::offline::{BoxError, answers, ask, openai_model};
use bidi_sim::{Action, Script, Trigger};

fn script() -> Script {
    let say = |text: &str| {
        vec![
            Action::Say {
                text: text.into(),
                chunk: 0,
            },
            Action::EndTurn,
        ]
    };
    let text = |s: &str| Trigger::Text { contains: s.into() };
    Script::new()
        .always(text("hello"), say("Hello! I am a simulated model."))
        .always(
            text("joke"),
            say("Why do programmers confuse Halloween and Christmas? Because OCT 31 is DEC 25."),
        )
        .always(
            text(""),
            say("I only know how to greet and to tell one joke."),
        )
}

async fn chat(lines: &[String]) -> Result<Vec<String>, BoxError> {
    let (sim, model) = openai_model(script()).await?;
    let agent = BidiAgent::builder(model)
        .system_prompt("You are a friendly chat partner.")
        .build()?;
    agent.start(None).await?;
    let mut events = agent.receive();
    let mut replies = Vec::new();
    for line in lines {
        println!("user: {line}");
        for answer in answers(&ask(&agent, &mut events, line).await?) {
            println!("assistant: {answer}");
            replies.push(answer);
        }
    }
    agent.stop().await?;
    sim.shutdown().await;
    Ok(replies)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let mut lines: Vec<String> = std::env::args().skip(1).collect();
    if lines.is_empty() {
        lines = vec!["Hello there".into(), "Tell me a joke".into()];
    }
    chat(&lines).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_line_gets_its_answer_in_order() {
        let lines = [
            "hello".to_owned(),
            "a joke please".to_owned(),
            "bye".to_owned(),
        ];
        let replies = super::chat(&lines).await.expect("chat");
        assert_eq!(replies.len(), 3);
        assert!(replies[0].starts_with("Hello!"));
        assert!(replies[1].contains("DEC 25"));
        assert!(replies[2].starts_with("I only know"));
    }
}
