//! `S3SessionManager` against a real S3-compatible server (moto's server mode, a process on a
//! free port): the reference's object layout and JSON keys, a round trip with
//! `FileSessionManager`'s layout both ways, two managers appending to one agent at once,
//! a missing bucket and refused credentials as typed errors, and a store that dies in the
//! middle of a write (a typed error; nothing half-written is ever read back).
#![allow(clippy::unwrap_used)]

use crate::support;

use std::collections::BTreeSet;
use std::path::Path;

use bidi_agent::session::aws_sdk_s3::Client;
use bidi_agent::session::aws_sdk_s3::primitives::ByteStream;
use bidi_agent::session::{FileSessionManager, S3Location, S3SessionManager, SessionError};
use bidi_agent::types::*;
use bidi_agent::{AgentError, BidiAgent};
use serde_json::{Value, json};
use support::moto::{self, Moto};
use support::relay::Relay;
use support::*;

const BUCKET: &str = "bidi-sessions";

/// moto with the test bucket, and a client of it; `None`: skipped (no `BIDI_MOTO_PYTHON`).
async fn store() -> Option<(Moto, Client)> {
    let python = moto::python()?;
    let server = Moto::start(&python);
    let client = moto::client(&server.url, 2);
    moto::create_bucket(&client, BUCKET).await;
    Some((server, client))
}

fn at(prefix: &str) -> S3Location {
    format!("s3://{BUCKET}/{prefix}").parse().unwrap()
}

fn agent_of(manager: S3SessionManager, model: ScriptedModel) -> BidiAgent {
    BidiAgent::builder(model)
        .session_manager(manager)
        .build()
        .unwrap()
}

fn key_set(value: &Value) -> BTreeSet<&str> {
    value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

fn session_error(err: &AgentError) -> &SessionError {
    match err {
        AgentError::Hook { source, .. } => source.downcast_ref::<SessionError>().unwrap(),
        AgentError::Session(e) => e,
        other => panic!("not a session error: {other}"),
    }
}

/// A conversation with a tool call, as messages.
fn conversation() -> Vec<Message> {
    vec![
        Message::text(Role::User, "What time is it in Tokyo?"),
        Message::tool_use(ToolUse::new(
            "t1",
            "current_time",
            json!({"timezone": "Asia/Tokyo"}),
        )),
        Message::tool_result(ToolResult::text("t1", "12:00")),
        Message::text(Role::Assistant, "It is noon in Tokyo."),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_use_the_reference_layout_and_keys() {
    let Some((_server, client)) = store().await else {
        return;
    };
    let manager = S3SessionManager::open("s1", at("/voice/prod/"), client.clone())
        .await
        .unwrap();
    assert_eq!(manager.session_prefix(), "voice/prod/session_s1/");
    let agent = agent_of(manager, ScriptedModel::new(vec![vec![]]));
    agent.state().set("mood", json!("good")).unwrap();
    agent.start(None).await.unwrap();
    agent.send("hello").await.unwrap();
    let root = "voice/prod/session_s1/";
    let agent_key = format!("{root}agents/agent_default/agent.json");
    let first_created = moto::object(&client, BUCKET, &agent_key).await["created_at"].clone();
    agent.send("still there?").await.unwrap();
    agent.stop().await.unwrap();

    assert_eq!(
        moto::keys(&client, BUCKET, "").await,
        [
            agent_key.clone(),
            format!("{root}agents/agent_default/messages/message_0.json"),
            format!("{root}agents/agent_default/messages/message_1.json"),
            format!("{root}session.json"),
        ]
    );
    let session = moto::object(&client, BUCKET, &format!("{root}session.json")).await;
    assert_eq!(
        key_set(&session),
        BTreeSet::from(["session_id", "session_type", "created_at", "updated_at"])
    );
    assert_eq!(
        (&session["session_id"], &session["session_type"]),
        (&json!("s1"), &json!("AGENT"))
    );
    let stored = moto::object(&client, BUCKET, &agent_key).await;
    assert_eq!(
        key_set(&stored),
        BTreeSet::from([
            "agent_id",
            "state",
            "conversation_manager_state",
            "_internal_state",
            "created_at",
            "updated_at"
        ])
    );
    assert_eq!(stored["agent_id"], "default");
    assert_eq!(stored["state"], json!({"mood": "good"}));
    assert_eq!(stored["conversation_manager_state"], json!({}));
    assert_eq!(
        stored["created_at"], first_created,
        "syncs keep the first created_at"
    );
    assert!(stored["updated_at"].as_str() >= stored["created_at"].as_str());
    for (n, text) in ["hello", "still there?"].iter().enumerate() {
        let key = format!("{root}agents/agent_default/messages/message_{n}.json");
        let message = moto::object(&client, BUCKET, &key).await;
        assert_eq!(
            key_set(&message),
            BTreeSet::from([
                "message",
                "message_id",
                "redact_message",
                "created_at",
                "updated_at"
            ])
        );
        assert_eq!(message["message_id"], n);
        assert_eq!(message["redact_message"], Value::Null);
        assert_eq!(
            message["message"],
            json!({"role": "user", "content": [{"text": text}]})
        );
        let head = client
            .head_object()
            .bucket(BUCKET)
            .key(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(head.content_type(), Some("application/json"));
    }

    // Reopened: the history and the state come back, and reach the model at start.
    let model = ScriptedModel::new(vec![vec![]]);
    let manager = S3SessionManager::open("s1", at("voice/prod"), client.clone())
        .await
        .unwrap();
    let resumed = agent_of(manager, model.clone());
    assert_eq!(
        resumed.messages(),
        [
            Message::text(Role::User, "hello"),
            Message::text(Role::User, "still there?")
        ]
    );
    assert_eq!(resumed.state().get("mood"), Some(json!("good")));
    resumed.start(None).await.unwrap();
    assert_eq!(model.starts()[0].messages, resumed.messages());
    resumed.send("and now?").await.unwrap();
    resumed.stop().await.unwrap();
    let message = moto::object(
        &client,
        BUCKET,
        &format!("{root}agents/agent_default/messages/message_2.json"),
    )
    .await;
    assert_eq!(message["message_id"], 2, "the numbering goes on");
}

/// Every file under `dir`, as (path relative to `dir`, bytes).
fn files(dir: &Path, under: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path, under));
        } else {
            let relative = path.strip_prefix(under).unwrap().to_string_lossy();
            out.push((relative.into_owned(), std::fs::read(&path).unwrap()));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_round_trips_between_the_file_and_s3_layouts() {
    let Some((_server, client)) = store().await else {
        return;
    };
    // Written by FileSessionManager, read by S3SessionManager.
    let dir = tempfile::tempdir().unwrap();
    let written = BidiAgent::builder(ScriptedModel::new(vec![vec![]]))
        .messages(conversation())
        .session_manager(FileSessionManager::new("from-file", dir.path()).unwrap())
        .build()
        .unwrap();
    written.state().set("city", json!("Tokyo")).unwrap();
    written.start(None).await.unwrap();
    written.send("thanks").await.unwrap();
    written.stop().await.unwrap();
    let uploaded = files(dir.path(), dir.path());
    assert_eq!(uploaded.len(), 7, "session, agent and five messages");
    for (relative, bytes) in uploaded {
        client
            .put_object()
            .bucket(BUCKET)
            .key(format!("copied/{relative}"))
            .body(ByteStream::from(bytes))
            .send()
            .await
            .unwrap();
    }
    let manager = S3SessionManager::open("from-file", at("copied"), client.clone())
        .await
        .unwrap();
    let read = agent_of(manager, ScriptedModel::new(vec![]));
    assert_eq!(read.messages(), written.messages());
    assert_eq!(read.messages().len(), 5);
    assert_eq!(read.state().get("city"), Some(json!("Tokyo")));

    // Written by S3SessionManager, read by FileSessionManager.
    let manager = S3SessionManager::open("from-s3", at("live"), client.clone())
        .await
        .unwrap();
    let written = BidiAgent::builder(ScriptedModel::new(vec![vec![]]))
        .messages(conversation())
        .session_manager(manager)
        .build()
        .unwrap();
    written.state().set("city", json!("Lima")).unwrap();
    written.start(None).await.unwrap();
    written.send("thanks").await.unwrap();
    written.stop().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let keys = moto::keys(&client, BUCKET, "live/").await;
    assert_eq!(keys.len(), 7, "{keys:?}");
    for key in &keys {
        let body = client
            .get_object()
            .bucket(BUCKET)
            .key(key)
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes();
        let path = dir.path().join(key.strip_prefix("live/").unwrap());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }
    let read = BidiAgent::builder(ScriptedModel::new(vec![]))
        .session_manager(FileSessionManager::new("from-s3", dir.path()).unwrap())
        .build()
        .unwrap();
    assert_eq!(read.messages(), written.messages());
    assert_eq!(read.state().get("city"), Some(json!("Lima")));

    // The same message is the same JSON in both layouts (timestamps aside).
    let from_file: Value = serde_json::from_slice(
        &std::fs::read(
            dir.path()
                .join("session_from-s3/agents/agent_default/messages/message_1.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let from_s3 = moto::object(
        &client,
        BUCKET,
        "copied/session_from-file/agents/agent_default/messages/message_1.json",
    )
    .await;
    assert_eq!(key_set(&from_file), key_set(&from_s3));
    assert_eq!(from_file["message"], from_s3["message"]);
    assert_eq!(
        from_s3["message"]["content"][0]["toolUse"]["name"],
        "current_time"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_managers_appending_at_once_lose_nothing() {
    let Some((_server, client)) = store().await else {
        return;
    };
    // The server honours If-None-Match: * (else this test would prove nothing).
    for expect_ok in [true, false] {
        let put = client
            .put_object()
            .bucket(BUCKET)
            .key("probe.json")
            .if_none_match("*")
            .body(ByteStream::from_static(b"{}"))
            .send()
            .await;
        assert_eq!(put.is_ok(), expect_ok, "{put:?}");
        if let Err(e) = put {
            assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(412));
        }
    }
    // Both open the session before either wrote: both start at message 0.
    let first = S3SessionManager::open("shared", at("p"), client.clone())
        .await
        .unwrap();
    let second = S3SessionManager::open("shared", at("p"), client.clone())
        .await
        .unwrap();
    let agents = [
        std::sync::Arc::new(agent_of(first, ScriptedModel::new(vec![vec![]]))),
        std::sync::Arc::new(agent_of(second, ScriptedModel::new(vec![vec![]]))),
    ];
    for a in &agents {
        a.start(None).await.unwrap();
    }
    const EACH: usize = 20;
    let writers: Vec<_> = agents
        .iter()
        .zip(["a", "b"])
        .map(|(a, name)| {
            let handle = a.clone();
            tokio::spawn(async move {
                for i in 0..EACH {
                    handle.send(format!("{name}{i}")).await.unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    let prefix = "p/session_shared/agents/agent_default/messages/";
    let keys = moto::keys(&client, BUCKET, prefix).await;
    assert_eq!(keys.len(), 2 * EACH, "{keys:?}");
    let mut texts = Vec::new();
    for n in 0..2 * EACH {
        let message = moto::object(&client, BUCKET, &format!("{prefix}message_{n}.json")).await;
        assert_eq!(message["message_id"], n, "the id follows the number taken");
        texts.push(
            message["message"]["content"][0]["text"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    for name in ["a", "b"] {
        let own: Vec<&String> = texts.iter().filter(|t| t.starts_with(name)).collect();
        let expected: Vec<String> = (0..EACH).map(|i| format!("{name}{i}")).collect();
        assert_eq!(
            own,
            expected.iter().collect::<Vec<_>>(),
            "in order, once each"
        );
    }
    for a in &agents {
        a.stop().await.unwrap();
    }
    let reopened = S3SessionManager::open("shared", at("p"), client.clone())
        .await
        .unwrap();
    assert_eq!(
        agent_of(reopened, ScriptedModel::new(vec![]))
            .messages()
            .len(),
        2 * EACH
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_bucket_and_refused_credentials_are_typed_errors() {
    let Some((server, client)) = store().await else {
        return;
    };
    let missing: S3Location = "s3://no-such-bucket/p".parse().unwrap();
    let err = S3SessionManager::open("s1", missing, client.clone())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SessionError::NoSuchBucket { bucket } if bucket == "no-such-bucket"),
        "{err}"
    );
    assert!(matches!(
        "http://x/y".parse::<S3Location>(),
        Err(SessionError::InvalidLocation(_))
    ));
    let err = S3SessionManager::open("../up", at("p"), client)
        .await
        .unwrap_err();
    assert!(matches!(err, SessionError::InvalidSessionId(_)), "{err}");
    drop(server);

    // moto checking credentials: an unknown access key is refused.
    let python = moto::python().unwrap();
    let strict = Moto::start_with_env(&python, &[("INITIAL_NO_AUTH_ACTION_COUNT", "0")]);
    let stranger = moto::client_as(&strict.url, 1, "AKIANOBODY");
    let err = S3SessionManager::open("s1", at("p"), stranger)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SessionError::AccessDenied { bucket, key, .. }
            if bucket == BUCKET && key == "p/session_s1/session.json"),
        "{err}"
    );
    assert!(err.to_string().contains("InvalidAccessKeyId"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_dying_mid_write_is_a_typed_error_and_leaves_no_half_message() {
    let Some((mut server, client)) = store().await else {
        return;
    };
    // The manager talks to moto through a relay that cuts the upload of message 3 after
    // its headers and 10 bytes of its body, then refuses every connection.
    let relay = Relay::start(server.url.trim_start_matches("http://")).await;
    let through = moto::client(&relay.url, 2);
    let manager = S3SessionManager::open("s1", at("p"), through)
        .await
        .unwrap();
    let cut = agent_of(manager, ScriptedModel::new(vec![vec![]]));
    cut.start(None).await.unwrap();
    for text in ["m0", "m1", "m2"] {
        cut.send(text).await.unwrap();
    }
    relay.cut_on("message_3.json");
    let err = cut.send("m3").await.unwrap_err();
    assert!(relay.has_cut());
    let session = session_error(&err);
    assert!(
        matches!(session, SessionError::Network { bucket, key, .. }
            if bucket == BUCKET && key.ends_with("messages/message_3.json")),
        "{session}"
    );
    drop(cut);

    // The store kept whole objects only: message 3 is absent, the rest reads back.
    let prefix = "p/session_s1/agents/agent_default/messages/";
    assert_eq!(
        moto::keys(&client, BUCKET, prefix).await,
        (0..3)
            .map(|n| format!("{prefix}message_{n}.json"))
            .collect::<Vec<_>>()
    );
    let manager = S3SessionManager::open("s1", at("p"), client.clone())
        .await
        .unwrap();
    let resumed = agent_of(manager, ScriptedModel::new(vec![vec![]]));
    assert_eq!(
        resumed.messages(),
        ["m0", "m1", "m2"].map(|t| Message::text(Role::User, t))
    );

    // The server killed (SIGKILL) under a live session: its next write is a typed error.
    resumed.start(None).await.unwrap();
    server.kill();
    let err = resumed.send("anyone?").await.unwrap_err();
    assert!(
        matches!(session_error(&err), SessionError::Network { .. }),
        "{err}"
    );
    let err = S3SessionManager::open("s2", at("p"), client)
        .await
        .unwrap_err();
    assert!(matches!(err, SessionError::Network { .. }), "{err}");
}
