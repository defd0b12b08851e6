//! SIGTERM drains: no new sessions (503, `/healthz` 503) while open ones go on, then each
//! is closed with 1001 and the process exits 0.

use std::time::{Duration, Instant};

use crate::support::{Client, Server, Upgrade, http_get};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_then_closes_with_1001_and_exits_0() {
    let mut server = Server::start(&["--drain-timeout", "3"]);
    let mut client = Client::connect(&server.ws("/ws")).await;
    assert_eq!(
        client.next().await.expect("event")["type"],
        "bidi_connection_start"
    );
    let signalled = Instant::now();
    server.terminate();
    let mut status = 0;
    for _ in 0..100 {
        status = http_get(&server.addr, "/healthz", None).await.0;
        if status == 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(status, 503, "/healthz while draining");
    match Client::try_connect(&server.ws("/ws"), None).await {
        Upgrade::Refused(s) => assert_eq!(s, 503),
        Upgrade::Open(_) => panic!("a new session while draining"),
    }
    // The open session goes on during the drain...
    client.say("What is 12 times 7?").await;
    // The answer's words stream with its 3 s of audio (their final transcript after it).
    client
        .until(|e| e["type"] == "bidi_transcript_stream" && e["role"] == "assistant")
        .await;
    // ...until the drain timeout closes it with 1001.
    assert_eq!(client.close_code().await, Some(1001));
    assert!(
        signalled.elapsed() >= Duration::from_secs(2),
        "closed before the drain timeout"
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    let exit = loop {
        if let Some(status) = server.child.try_wait().expect("waits") {
            break status;
        }
        assert!(Instant::now() < deadline, "the server did not exit");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "{exit:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_server_exits_at_once_on_sigterm() {
    let mut server = Server::start(&[]);
    server.terminate();
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(status) = server.child.try_wait().expect("waits") {
            break status;
        }
        assert!(Instant::now() < deadline, "the server did not exit");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(exit.success(), "{exit:?}");
}
