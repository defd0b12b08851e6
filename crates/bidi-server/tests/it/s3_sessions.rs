//! Sessions in S3 (`--session-s3`, `--s3-endpoint`) against moto's S3 server: a conversation
//! on one replica, that replica killed, and the same `?session=ID` on another replica, which
//! reads the history from the bucket and replays it to the provider (checked on bidi-sim's
//! side) before any input; a replica drained by SIGTERM stores every completed turn before
//! it closes the socket with 1001; a store that cannot be read is a 503 before the upgrade.

use std::time::Duration;

use bidi_agent::session::aws_sdk_s3::Client;
use serde_json::Value;

use crate::support::{Client as WsClient, HANG, Server, Upgrade, final_of, realtime_sim};

#[path = "../../../bidi-agent/tests/it/support/moto.rs"]
#[allow(dead_code)]
pub(crate) mod moto;

pub(crate) const BUCKET: &str = "bidi-sessions";

/// The environment of a replica: static credentials for moto, no instance metadata.
pub(crate) const AWS_ENV: [(&str, &str); 4] = [
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
    ("AWS_REGION", "us-east-1"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
];

/// A replica answering from `sim_url` (bidi-sim's OpenAI server), its sessions in moto's
/// bucket (at `store_url`) under `replicas/`, with `extra` flags.
pub(crate) fn s3_replica(sim_url: &str, store_url: &str, extra: &[&str]) -> Server {
    let location = format!("s3://{BUCKET}/replicas");
    let mut args = vec![
        "--provider",
        "openai",
        "--endpoint",
        sim_url,
        "--session-s3",
        &location,
        "--s3-endpoint",
        store_url,
    ];
    args.extend_from_slice(extra);
    Server::start_with_env(&args, &AWS_ENV)
}

/// The stored messages of `session`'s served agent, in number order.
pub(crate) async fn stored(client: &Client, session: &str) -> Vec<Value> {
    let prefix = format!("replicas/session_{session}/agents/agent_default/messages/");
    let mut numbered = Vec::new();
    for key in moto::keys(client, BUCKET, &prefix).await {
        let n: u64 = key[prefix.len()..]
            .trim_start_matches("message_")
            .trim_end_matches(".json")
            .parse()
            .expect("a message number");
        numbered.push((n, moto::object(client, BUCKET, &key).await));
    }
    numbered.sort_by_key(|(n, _)| *n);
    numbered.into_iter().map(|(_, m)| m).collect()
}

/// Each stored message as `role: block, block`: a text as itself, a tool use as
/// `toolUse NAME`, a tool result as `toolResult TEXT`.
pub(crate) fn summary(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .map(|m| {
            let blocks: Vec<String> = m["message"]["content"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|b| {
                    if let Some(t) = b["text"].as_str() {
                        t.to_owned()
                    } else if let Some(name) = b["toolUse"]["name"].as_str() {
                        format!("toolUse {name}")
                    } else {
                        format!("toolResult {}", b["toolResult"]["content"][0]["text"])
                    }
                })
                .collect();
            format!(
                "{}: {}",
                m["message"]["role"].as_str().unwrap_or_default(),
                blocks.join(", ")
            )
        })
        .collect()
}

/// Waits (bounded by `HANG`) until `session` holds `n` messages.
pub(crate) async fn until_stored(client: &Client, session: &str, n: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + HANG;
    loop {
        let messages = stored(client, session).await;
        if messages.len() >= n {
            return messages;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of {n} messages stored: {messages:#?}",
            messages.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_resumes_on_another_replica_with_its_history_replayed() {
    let Some(python) = moto::python() else { return };
    let store = moto::Moto::start(&python);
    let s3 = moto::client(&store.url, 2);
    moto::create_bucket(&s3, BUCKET).await;
    let sim = realtime_sim().await;
    let replica = || s3_replica(&sim.url(), &store.url, &[]);

    // A turn on the first replica: the typed question when sent, the answer when its final
    // transcript arrives.
    let mut first = replica();
    let mut client = WsClient::connect(&first.ws("/ws?session=conv-1")).await;
    client.say("What is 12 times 7?").await;
    client.until(|e| final_of(e, "assistant")).await;
    let before = until_stored(&s3, "conv-1", 4).await;
    assert_eq!(
        summary(&before),
        [
            "user: What is 12 times 7?",
            "assistant: toolUse calculator",
            "user: toolResult \"84\"",
            "assistant: 12 times 7 is 84."
        ]
    );
    // The replica dies (SIGKILL); the client reconnects to another one.
    first.child.kill().expect("killed");
    let _ = first.child.wait();
    drop(client);
    let second = replica();
    let mut client = WsClient::connect(&second.ws("/ws?session=conv-1")).await;

    // The new provider connection got the history, as the original replays it on a
    // restart: one conversation.item.create per message, before anything else and with no
    // response.create.
    let replayed = sim
        .wait_for(
            "conversation.item.create",
            |e| e["item"]["role"] == "assistant",
            HANG,
        )
        .await
        .expect("the history replayed to the provider");
    assert_eq!(replayed["item"]["content"][0]["type"], "output_text");
    let connections = sim.recorded();
    assert_eq!(connections.len(), 2, "one provider connection per replica");
    let resumed = &connections[1];
    let items: Vec<&Value> = resumed.of_type("conversation.item.create");
    assert_eq!(items.len(), 4, "{items:#?}");
    assert_eq!(items[0]["item"]["type"], "message");
    assert_eq!(items[0]["item"]["role"], "user");
    assert_eq!(items[0]["item"]["content"][0]["type"], "input_text");
    assert_eq!(
        items[0]["item"]["content"][0]["text"],
        "What is 12 times 7?"
    );
    assert_eq!(items[1]["item"]["type"], "function_call");
    assert_eq!(items[1]["item"]["name"], "calculator");
    assert_eq!(items[2]["item"]["type"], "function_call_output");
    assert_eq!(items[2]["item"]["call_id"], items[1]["item"]["call_id"]);
    assert_eq!(items[3]["item"]["role"], "assistant");
    assert_eq!(items[3]["item"]["content"][0]["type"], "output_text");
    assert_eq!(items[3]["item"]["content"][0]["text"], "12 times 7 is 84.");
    assert!(resumed.of_type("response.create").is_empty());
    let kinds: Vec<&str> = resumed
        .events
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert_eq!(
        kinds,
        ["session.update"]
            .into_iter()
            .chain(["conversation.item.create"; 4])
            .collect::<Vec<_>>(),
        "the history before any client input"
    );

    // The conversation goes on; the replayed history is not stored again.
    client.say("What is 12 times 7?").await;
    client.until(|e| final_of(e, "assistant")).await;
    let after = until_stored(&s3, "conv-1", 8).await;
    assert_eq!(after.len(), 8, "{:#?}", summary(&after));
    assert_eq!(summary(&after[..4]), summary(&before));
    assert_eq!(
        summary(&after[4..]),
        summary(&before),
        "the new turn follows"
    );
    for (n, message) in after.iter().enumerate() {
        assert_eq!(message["message_id"], n);
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drained_replica_has_stored_every_completed_turn_when_it_closes_with_1001() {
    let Some(python) = moto::python() else { return };
    let store = moto::Moto::start(&python);
    let s3 = moto::client(&store.url, 2);
    moto::create_bucket(&s3, BUCKET).await;
    let sim = realtime_sim().await;
    let mut replica = s3_replica(&sim.url(), &store.url, &["--drain-timeout", "1"]);
    let mut client = WsClient::connect(&replica.ws("/ws?session=drained")).await;
    client.say("What is 12 times 7?").await;
    client.until(|e| final_of(e, "assistant")).await;
    // A rolling deploy: SIGTERM right after the answer.
    replica.terminate();
    assert_eq!(client.close_code().await, Some(1001));
    // Read once, no waiting: the turn was stored before the close.
    assert_eq!(
        summary(&stored(&s3, "drained").await),
        [
            "user: What is 12 times 7?",
            "assistant: toolUse calculator",
            "user: toolResult \"84\"",
            "assistant: 12 times 7 is 84."
        ]
    );
    let exit = tokio::time::timeout(HANG, async {
        loop {
            if let Some(status) = replica.child.try_wait().expect("waits") {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the replica exits after its drain");
    assert!(exit.success(), "{exit:?}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_cannot_be_read_is_a_503_and_the_flags_are_checked() {
    let Some(python) = moto::python() else { return };
    let store = moto::Moto::start(&python);
    let server = Server::start_with_env(
        &[
            "--provider",
            "sim",
            "--session-s3",
            "s3://no-such-bucket/p",
            "--s3-endpoint",
            &store.url,
        ],
        &AWS_ENV,
    );
    match WsClient::try_connect(&server.ws("/ws?session=s1"), None).await {
        Upgrade::Refused(status) => assert_eq!(status, 503),
        Upgrade::Open(_) => panic!("a session in a missing bucket was accepted"),
    }
    match WsClient::try_connect(&server.ws("/ws?session=..%2Fup"), None).await {
        Upgrade::Refused(status) => assert_eq!(status, 400),
        Upgrade::Open(_) => panic!("a bad id was accepted"),
    }
    // Without a session the server serves as usual.
    let mut client = WsClient::connect(&server.ws("/ws")).await;
    client.say("What is 12 times 7?").await;
    client.until(|e| final_of(e, "assistant")).await;

    for args in [
        &["--s3-endpoint", "http://127.0.0.1:1"][..],
        &["--session-s3", "s3://b-b-b", "--session-dir", "/tmp"][..],
        &["--session-s3", "https://bucket/p"][..],
    ] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_bidi-server"))
            .args(args)
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(!output.stderr.is_empty(), "{args:?}");
    }
}
