//! Sessions: `FileSessionManager`'s layout, resuming after a crash, the repair of dangling
//! tool uses, and corrupt files. The reference's session tests are for the plain agent; these
//! port its bidi behaviour (`initialize_bidi_agent`, `append_bidi_message`,
//! `sync_bidi_agent`) from the spec.
#![allow(clippy::unwrap_used)]

use crate::support;

use std::path::Path;

use bidi_agent::session::{FileSessionManager, SessionError};
use bidi_agent::types::*;
use bidi_agent::{AgentError, BidiAgent};
use serde_json::{Value, json};
use support::*;

/// Tells the time.
#[bidi_agent::tool]
async fn time_tool() -> String {
    "12:00".into()
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn agent_with(dir: &Path, model: ScriptedModel) -> Result<BidiAgent, AgentError> {
    BidiAgent::builder(model)
        .agent_id("a1")
        .tool(time_tool)
        .messages(vec![Message::text(Role::User, "constructor message")])
        .session_manager(FileSessionManager::new("s1", dir)?)
        .build()
}

#[tokio::test]
async fn new_session_uses_the_reference_layout() {
    let dir = tempfile::tempdir().unwrap();
    let model = ScriptedModel::new(vec![vec![transcript("hello", Role::Assistant, true)]]);
    let agent = agent_with(dir.path(), model).unwrap();
    let root = dir.path().join("session_s1");
    let session = read(&root.join("session.json"));
    assert_eq!(session["session_id"], "s1");
    assert_eq!(session["session_type"], "AGENT");
    assert!(root.join("multi_agents").is_dir());
    let agent_dir = root.join("agents/agent_a1");
    let stored = read(&agent_dir.join("agent.json"));
    assert_eq!(stored["agent_id"], "a1");
    assert_eq!(stored["_internal_state"], json!({}));
    let m0 = read(&agent_dir.join("messages/message_0.json"));
    assert_eq!(
        m0["message"],
        json!({"role": "user", "content": [{"text": "constructor message"}]})
    );
    assert_eq!(m0["message_id"], 0);
    assert_eq!(m0["redact_message"], Value::Null);

    agent.state().set("mood", json!("good")).unwrap();
    agent.start(None).await.unwrap();
    let mut events = agent.receive();
    collect_until(&mut events, |e| e.event_type() == "bidi_transcript_stream").await;
    within(async {
        while !agent_dir.join("messages/message_1.json").exists() {
            tokio::task::yield_now().await;
        }
    })
    .await;
    agent.stop().await.unwrap();
    let m1 = read(&agent_dir.join("messages/message_1.json"));
    assert_eq!(
        m1["message"],
        json!({"role": "assistant", "content": [{"text": "hello"}]})
    );
    let stored = read(&agent_dir.join("agent.json"));
    assert_eq!(
        stored["state"],
        json!({"mood": "good"}),
        "stop saves the state"
    );
    assert_eq!(
        stored["_internal_state"]["interrupt_state"]["activated"],
        false
    );
    // Atomic writes leave no temp file behind.
    let leftovers: Vec<_> = walk(&root)
        .into_iter()
        .filter(|p| p.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p.to_string_lossy().into_owned());
        }
    }
    out
}

#[tokio::test]
async fn resume_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    // A tool use whose tool never finishes: the crash leaves it dangling.
    let model = ScriptedModel::new(vec![vec![
        transcript("what time is it", Role::User, true),
        tool_use("t1", "time_tool", json!({})),
    ]]);
    {
        let agent = agent_with(dir.path(), model).unwrap();
        agent.state().set("visits", json!(1)).unwrap();
        agent.start(None).await.unwrap();
        let mut events = agent.receive();
        collect_until(&mut events, |e| e.event_type() == "message").await;
        let agent_dir = dir.path().join("session_s1/agents/agent_a1/messages");
        within(async {
            while !agent_dir.join("message_3.json").exists() {
                tokio::task::yield_now().await;
            }
        })
        .await;
        // Simulate a crash: the agent is dropped without stop.
    }
    // Simulate a write cut short after the tool use was saved but not its result.
    let messages = dir.path().join("session_s1/agents/agent_a1/messages");
    std::fs::remove_file(messages.join("message_3.json")).unwrap();

    let model = ScriptedModel::new(vec![vec![]]);
    let agent = agent_with(dir.path(), model.clone()).unwrap();
    let history = agent.messages();
    assert_eq!(
        history,
        [
            Message::text(Role::User, "constructor message"),
            Message::text(Role::User, "what time is it"),
            Message::tool_use(ToolUse::new("t1", "time_tool", json!({}))),
        ],
        "the constructor's messages are discarded and the stored ones resumed"
    );
    assert_eq!(
        agent.state().get("visits"),
        Some(json!(1)),
        "state saved with the last message"
    );

    // A dangling tool use before another message is repaired.
    let mut stored = read(&messages.join("message_2.json"));
    stored["message_id"] = json!(3);
    stored["message"] = json!({"role": "assistant", "content": [{"text": "let me check"}]});
    std::fs::write(messages.join("message_3.json"), stored.to_string()).unwrap();
    drop(agent);
    let agent = agent_with(dir.path(), model.clone()).unwrap();
    let history = agent.messages();
    assert_eq!(history.len(), 5);
    assert_eq!(
        history[3],
        Message::tool_result(ToolResult::error("t1", "Tool was interrupted."))
    );

    // New messages continue the numbering and reach the model on the next start.
    agent.start(None).await.unwrap();
    agent.send("still there?").await.unwrap();
    assert!(messages.join("message_4.json").exists());
    assert_eq!(model.starts()[0].messages, history);
    agent.stop().await.unwrap();
}

#[tokio::test]
async fn corrupt_files_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    drop(agent_with(dir.path(), ScriptedModel::new(vec![])).unwrap());
    let messages = dir.path().join("session_s1/agents/agent_a1/messages");
    std::fs::write(messages.join("message_0.json"), "{not json").unwrap();
    let err = agent_with(dir.path(), ScriptedModel::new(vec![])).unwrap_err();
    let AgentError::Hook { source, .. } = &err else {
        panic!("{err}")
    };
    let session = source.downcast_ref::<SessionError>().unwrap();
    assert!(
        matches!(session, SessionError::Corrupt { path, .. } if path.ends_with("message_0.json")),
        "{session}"
    );

    std::fs::write(
        messages.join("message_0.json"),
        r#"{"message": {"role": "robot", "content": []}}"#,
    )
    .unwrap();
    let err = agent_with(dir.path(), ScriptedModel::new(vec![])).unwrap_err();
    assert!(
        err.to_string().contains("corrupt session file") && err.to_string().contains("robot"),
        "{err}"
    );

    std::fs::write(dir.path().join("session_s1/session.json"), "[]").unwrap();
    let err = FileSessionManager::new("s1", dir.path()).unwrap_err();
    assert!(matches!(err, SessionError::Corrupt { .. }), "{err}");

    let err = FileSessionManager::new("a/b", dir.path()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "session_id=<a/b> | id cannot contain path separators"
    );
}

#[tokio::test]
async fn one_agent_id_per_manager() {
    let dir = tempfile::tempdir().unwrap();
    let manager = std::sync::Arc::new(FileSessionManager::new("s1", dir.path()).unwrap());
    struct SharedManager(std::sync::Arc<FileSessionManager>);
    #[bidi_agent::async_trait]
    impl bidi_agent::session::SessionManager for SharedManager {
        fn initialize_agent(
            &self,
            a: &mut bidi_agent::hooks::BidiAgentInitializedEvent,
        ) -> Result<(), SessionError> {
            self.0.initialize_agent(a)
        }
        async fn append_message(
            &self,
            a: &bidi_agent::AgentHandle,
            m: &Message,
        ) -> Result<(), SessionError> {
            self.0.append_message(a, m).await
        }
        async fn sync_agent(&self, a: &bidi_agent::AgentHandle) -> Result<(), SessionError> {
            self.0.sync_agent(a).await
        }
    }
    let build = || {
        BidiAgent::builder(ScriptedModel::new(vec![]))
            .session_manager(SharedManager(manager.clone()))
            .build()
    };
    let _first = build().unwrap();
    let err = build().unwrap_err();
    assert!(
        err.to_string().contains("must be unique in a session"),
        "{err}"
    );
}

/// Syncs of one agent issued at the same time (message hooks, after-invocation) write
/// `agent.json` one at a time: none fails on the other's temp file, and the file stays valid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_syncs_never_race_on_the_temp_file() {
    use bidi_agent::session::SessionManager;
    use std::sync::Arc;

    let dir = tempfile::tempdir().unwrap();
    // The agent's own manager lays the session out; a second one on the same directory
    // takes the concurrent syncs.
    let agent = agent_with(dir.path(), ScriptedModel::new(vec![vec![]])).unwrap();
    let manager = Arc::new(FileSessionManager::new("s1", dir.path()).unwrap());
    let handle = agent.handle();
    let syncs: Vec<_> = (0..64)
        .map(|i| {
            let (manager, handle) = (manager.clone(), handle.clone());
            tokio::spawn(async move {
                handle.state().set(format!("k{i}"), json!(i)).unwrap();
                manager.sync_agent(&handle).await
            })
        })
        .collect();
    for sync in syncs {
        sync.await.unwrap().expect("every sync succeeds");
    }
    let stored = read(&dir.path().join("session_s1/agents/agent_a1/agent.json"));
    assert_eq!(stored["state"].as_object().map(|m| m.len()), Some(64));
}
