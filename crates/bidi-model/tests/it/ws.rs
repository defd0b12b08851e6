//! The provider-independent WebSocket client against the bidi-sim WebSocket server
//! skeleton: frames both ways, the closing handshake, keep-alive, limits and bad settings.
#![cfg(feature = "ws")]

use std::time::Duration;

use bidi_model::ws::{CloseInfo, WsConfig, WsError, WsIncoming, connect};
use bidi_sim::ws::{ServerSocket, any_path, serve};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

const HANG: Duration = Duration::from_secs(20);

async fn recv(rx: &mut bidi_model::ws::WsReceiver) -> Option<Result<WsIncoming, WsError>> {
    tokio::time::timeout(HANG, rx.recv())
        .await
        .expect("in time")
}

/// Echoes every data frame; closes with 4000 "bye" on the text "close please".
async fn echo(mut ws: ServerSocket) {
    while let Some(Ok(message)) = ws.next().await {
        match message {
            Message::Text(t) if t.as_str() == "close please" => {
                let frame = CloseFrame {
                    code: 4000.into(),
                    reason: "bye".into(),
                };
                let _ = ws.close(Some(frame)).await;
            }
            m @ (Message::Text(_) | Message::Binary(_)) => {
                let sent = ws.send(m).await;
                if sent.is_err() {
                    return;
                }
            }
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_both_ways_headers_and_a_clean_close() {
    let server = serve(None, any_path, |ws, request| async move {
        assert_eq!(request.header("x-test"), Some("yes"));
        echo(ws).await;
    })
    .await
    .expect("server");
    let config = WsConfig::new(server.url("/echo")).header("X-Test", "yes");
    let (tx, mut rx) = connect(config).await.expect("connect");
    tx.send_text("hello").await.expect("send");
    tx.send_binary(vec![1, 2, 3]).await.expect("send");
    assert_eq!(
        recv(&mut rx).await.expect("frame").expect("ok"),
        WsIncoming::Text("hello".into())
    );
    assert_eq!(
        recv(&mut rx).await.expect("frame").expect("ok"),
        WsIncoming::Binary(vec![1, 2, 3])
    );
    tx.close(1000, "done").await.expect("close");
    match recv(&mut rx).await {
        Some(Ok(WsIncoming::Close(Some(CloseInfo { code: 1000, .. })))) => {}
        other => panic!("expected the close handshake, got {other:?}"),
    }
    assert!(recv(&mut rx).await.is_none(), "nothing after the close");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_close_code_and_reason_arrive() {
    let server = serve(None, any_path, |ws, _| echo(ws))
        .await
        .expect("server");
    let (tx, mut rx) = connect(WsConfig::new(server.url("/")))
        .await
        .expect("connect");
    tx.send_text("close please").await.expect("send");
    match recv(&mut rx).await {
        Some(Ok(WsIncoming::Close(Some(info)))) => {
            assert_eq!(
                info,
                CloseInfo {
                    code: 4000,
                    reason: "bye".into()
                }
            );
        }
        other => panic!("expected a close, got {other:?}"),
    }
    assert!(recv(&mut rx).await.is_none());
    // The writer is gone once the connection is closed.
    let mut closed = false;
    for _ in 0..100 {
        if tx.send_text("late").await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(closed, "sending on a closed connection fails");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_peer_is_declared_dead() {
    // Never reads, so never answers pings.
    let server = serve(None, any_path, |ws, _| async move {
        tokio::time::sleep(HANG * 2).await;
        drop(ws);
    })
    .await
    .expect("server");
    let config = WsConfig::new(server.url("/"))
        .ping_interval(Some(Duration::from_millis(50)))
        .ping_timeout(Duration::from_millis(50));
    let (_tx, mut rx) = connect(config).await.expect("connect");
    match recv(&mut rx).await {
        Some(Err(WsError::KeepaliveTimeout { .. })) => {}
        other => panic!("expected a keep-alive timeout, got {other:?}"),
    }
    assert!(recv(&mut rx).await.is_none(), "an error is final");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pongs_keep_a_quiet_connection_alive() {
    let server = serve(None, any_path, |ws, _| echo(ws))
        .await
        .expect("server");
    let config = WsConfig::new(server.url("/"))
        .ping_interval(Some(Duration::from_millis(20)))
        .ping_timeout(Duration::from_secs(10));
    let (tx, mut rx) = connect(config).await.expect("connect");
    // Several ping intervals pass with no data; the peer's pongs keep it alive.
    tokio::time::sleep(Duration::from_millis(200)).await;
    tx.send_text("still here").await.expect("send");
    assert_eq!(
        recv(&mut rx).await.expect("frame").expect("ok"),
        WsIncoming::Text("still here".into())
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_messages_are_refused() {
    let server = serve(None, any_path, |mut ws, _| async move {
        let _ = ws.send(Message::text("x".repeat(4096))).await;
        while ws.next().await.is_some() {}
    })
    .await
    .expect("server");
    let (_tx, mut rx) = connect(WsConfig::new(server.url("/")).max_message_size(1024))
        .await
        .expect("connect");
    match recv(&mut rx).await {
        Some(Err(WsError::Transport(_))) => {}
        other => panic!("expected a transport error, got {other:?}"),
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_settings_are_typed_errors_without_secrets() {
    let err = connect(WsConfig::new("http://127.0.0.1:1/x?key=secret"))
        .await
        .expect_err("not a ws url");
    assert!(matches!(err, WsError::InvalidUrl { .. }), "{err}");
    assert!(!err.to_string().contains("secret"), "{err}");
    let err =
        connect(WsConfig::new("ws://127.0.0.1:1/").header("Authorization", "Bearer sk\n-secret"))
            .await
            .expect_err("bad header value");
    assert!(
        matches!(err, WsError::InvalidHeader { ref name } if name == "Authorization"),
        "{err}"
    );
    assert!(!err.to_string().contains("secret"), "{err}");
}
