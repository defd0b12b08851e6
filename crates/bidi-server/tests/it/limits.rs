//! The session cap (503), the message size limit (close 1009 while another session goes
//! on), and a client that reads nothing while audio streams (bounded memory, audio dropped
//! for it alone).

use serde_json::json;

use crate::support::{Client, Server, Upgrade, final_of};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_beyond_the_cap_is_a_503() {
    let server = Server::start(&["--max-sessions", "1"]);
    let mut first = Client::connect(&server.ws("/ws")).await;
    assert_eq!(
        first.next().await.expect("event")["type"],
        "bidi_connection_start"
    );
    match Client::try_connect(&server.ws("/ws"), None).await {
        Upgrade::Refused(status) => assert_eq!(status, 503),
        Upgrade::Open(_) => panic!("a second session beyond the cap of 1"),
    }
    // The first goes on; once it leaves, its place is free again.
    first.say("What is 12 times 7?").await;
    first.until(|e| final_of(e, "assistant")).await;
    first.ws.close(None).await.expect("closes");
    let mut opened = false;
    for _ in 0..100 {
        if let Upgrade::Open(_) = Client::try_connect(&server.ws("/ws"), None).await {
            opened = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(opened, "the slot was not given back");
    assert!(server.metric("bidi_sessions_refused_total", None).await >= 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_over_the_limit_closes_that_socket_with_1009_and_no_other() {
    let server = Server::start(&["--max-frame-bytes", "4096"]);
    let mut big = Client::connect(&server.ws("/ws")).await;
    let mut other = Client::connect(&server.ws("/ws")).await;
    other.say("What is 6 times 9?").await;
    let text = "x".repeat(5_000);
    big.send(&json!({"type": "bidi_text_input", "text": text, "role": "user"}))
        .await;
    assert_eq!(big.close_code().await, Some(1009));
    // Far over the limit too (beyond what the codec buffers): still 1009, not a reset.
    let mut huge = Client::connect(&server.ws("/ws")).await;
    huge.send(&json!({"type": "bidi_text_input", "text": "y".repeat(100_000), "role": "user"}))
        .await;
    assert_eq!(huge.close_code().await, Some(1009));
    let answer = other.until(|e| final_of(e, "assistant")).await;
    let last = answer.last().expect("an answer");
    assert_eq!(last["text"], "6 times 9 is 54.", "{last}");
}
