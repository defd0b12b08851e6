//! The token on every route but `/healthz`, as a header or a query parameter, checked
//! before any upgrade.

use crate::support::{Client, Server, Upgrade, http_get};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_but_healthz_needs_the_token() {
    let server = Server::start(&["--token", "s3cret"]);
    let addr = server.addr.as_str();
    assert_eq!(
        http_get(addr, "/healthz", None).await,
        (200, "ok\n".to_owned())
    );
    for target in ["/", "/metrics", "/?token=wrong", "/metrics?token=s3cre"] {
        let (status, body) = http_get(addr, target, None).await;
        assert_eq!(status, 401, "{target}");
        assert!(body.contains("token"), "{target}: {body}");
    }
    assert_eq!(http_get(addr, "/metrics", Some("wrong")).await.0, 401);
    assert_eq!(http_get(addr, "/metrics", Some("s3cret")).await.0, 200);
    let (status, page) = http_get(addr, "/?token=s3cret", None).await;
    assert_eq!(status, 200);
    assert!(page.contains("data-testid=\"start\""), "{page}");

    // The WebSocket: none and wrong are refused before the upgrade; header and query open.
    for (url, bearer) in [
        (server.ws("/ws"), None),
        (server.ws("/ws?token=nope"), None),
        (server.ws("/ws"), Some("nope")),
    ] {
        match Client::try_connect(&url, bearer).await {
            Upgrade::Refused(status) => assert_eq!(status, 401, "{url} {bearer:?}"),
            Upgrade::Open(_) => panic!("{url} {bearer:?} was let in"),
        }
    }
    for (url, bearer) in [
        (server.ws("/ws?token=s3cret"), None),
        (server.ws("/ws"), Some("s3cret")),
    ] {
        match Client::try_connect(&url, bearer).await {
            Upgrade::Open(mut client) => {
                let first = client.next().await.expect("an event");
                assert_eq!(first["type"], "bidi_connection_start", "{first}");
            }
            Upgrade::Refused(status) => panic!("{url} {bearer:?} refused with {status}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_can_come_from_the_environment() {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_bidi-server"));
    command
        .args(["--listen", "127.0.0.1:0"])
        .env("BIDI_SERVER_TOKEN", "from-env")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let mut child = command.spawn().expect("starts");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().expect("stdout")),
        &mut line,
    )
    .expect("a line");
    let addr = line
        .trim()
        .trim_start_matches("listening on http://")
        .to_owned();
    assert_eq!(http_get(&addr, "/metrics", None).await.0, 401);
    assert_eq!(
        http_get(&addr, "/metrics?token=from-env", None).await.0,
        200
    );
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_session_id_is_a_400_and_a_session_needs_a_directory() {
    let dir = tempfile::tempdir().expect("dir");
    let server = Server::start(&["--session-dir", dir.path().to_str().expect("utf-8")]);
    match Client::try_connect(&server.ws("/ws?session=..%2Fescape"), None).await {
        Upgrade::Refused(status) => assert_eq!(status, 400),
        Upgrade::Open(_) => panic!("a bad id was accepted"),
    }
    let plain = Server::start(&[]);
    match Client::try_connect(&plain.ws("/ws?session=s1"), None).await {
        Upgrade::Refused(status) => assert_eq!(status, 400),
        Upgrade::Open(_) => panic!("a session without --session-dir was accepted"),
    }
}
