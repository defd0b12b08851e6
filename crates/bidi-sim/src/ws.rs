//! A WebSocket server skeleton for the simulators of WebSocket providers (OpenAI Realtime,
//! Gemini Live): listens on 127.0.0.1, optionally with TLS, upgrades each connection while
//! recording its request line and headers, and hands the socket to a per-connection
//! handler. An upgrade to a path the provider does not serve is refused with HTTP 404, as the
//! real services refuse it. [`Faults`] may refuse upgrades (HTTP 503) and slow the reading
//! of each connection. [`WsServerHandle::shutdown`] stops the listener and every
//! connection.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;

use crate::faults::Faults;

/// Any byte stream a WebSocket can run over (TCP or TLS over TCP).
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for T {}

/// An accepted server-side WebSocket.
pub type ServerSocket = WebSocketStream<Box<dyn Io>>;

/// The upgrade request a client sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestInfo {
    /// The path, e.g. `/v1/realtime`.
    pub path: String,
    /// The query string without `?`, if any.
    pub query: Option<String>,
    /// Every header, in order, names lower-cased.
    pub headers: Vec<(String, String)>,
}

impl RequestInfo {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A running server.
#[derive(Debug)]
pub struct WsServerHandle {
    addr: SocketAddr,
    tls: bool,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl WsServerHandle {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `ws://127.0.0.1:<port><path>` (`wss://localhost:<port><path>` with TLS, so that
    /// the name matches a `localhost` certificate).
    pub fn url(&self, path: &str) -> String {
        if self.tls {
            format!("wss://localhost:{}{path}", self.addr.port())
        } else {
            format!("ws://{}{path}", self.addr)
        }
    }

    /// Stops accepting and drops every open connection.
    pub async fn shutdown(mut self) {
        self.stop_now();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    fn stop_now(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for WsServerHandle {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// Which request paths a server upgrades; any other gets HTTP 404.
pub type PathFilter = fn(&str) -> bool;

/// Every path: for servers that serve any.
pub fn any_path(_: &str) -> bool {
    true
}

/// Listens on 127.0.0.1 (a free port) and runs `handler` for every upgraded connection to a
/// path `paths` accepts. With `tls`, connections are TLS first.
pub async fn serve<F, Fut>(
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    paths: PathFilter,
    handler: F,
) -> io::Result<WsServerHandle>
where
    F: Fn(ServerSocket, RequestInfo) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    serve_on(0, tls, paths, Faults::default(), handler).await
}

/// Like [`serve`], on 127.0.0.1:`port` (0: a free port), with `faults`.
pub async fn serve_on<F, Fut>(
    port: u16,
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    paths: PathFilter,
    faults: Faults,
    handler: F,
) -> io::Result<WsServerHandle>
where
    F: Fn(ServerSocket, RequestInfo) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let acceptor = tls.clone().map(tokio_rustls::TlsAcceptor::from);
    let handler = Arc::new(handler);
    let (stop_tx, mut stop_rx) = oneshot::channel();
    let task = tokio::spawn(async move {
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                _ = &mut stop_rx => break,
                accepted = listener.accept() => {
                    let Ok((tcp, peer)) = accepted else { continue };
                    let _ = tcp.set_nodelay(true);
                    let acceptor = acceptor.clone();
                    let handler = Arc::clone(&handler);
                    let faults = faults.clone();
                    connections.spawn(async move {
                        let tcp = faults.throttle(tcp);
                        let io: Box<dyn Io> = match acceptor {
                            Some(acceptor) => match acceptor.accept(tcp).await {
                                Ok(tls) => Box::new(tls),
                                Err(e) => {
                                    tracing::debug!("peer=<{peer}>, error=<{e}> | sim tls handshake failed");
                                    return;
                                }
                            },
                            None => Box::new(tcp),
                        };
                        let mut info = None;
                        // The error type is tungstenite's, not ours.
                        #[allow(clippy::result_large_err)]
                        let callback = |req: &Request, resp: Response| {
                            if !paths(req.uri().path()) {
                                tracing::debug!("path=<{}> | sim: no such service path, 404", req.uri().path());
                                let mut refusal = ErrorResponse::new(Some(format!(
                                    "no WebSocket service at {}\n",
                                    req.uri().path()
                                )));
                                *refusal.status_mut() = StatusCode::NOT_FOUND;
                                return Err(refusal);
                            }
                            if faults.take_refusal() {
                                tracing::debug!("sim: refusing this connection (fault), 503");
                                let mut refusal = ErrorResponse::new(Some("service unavailable\n".to_owned()));
                                *refusal.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
                                return Err(refusal);
                            }
                            info = Some(RequestInfo {
                                path: req.uri().path().to_owned(),
                                query: req.uri().query().map(str::to_owned),
                                headers: req
                                    .headers()
                                    .iter()
                                    .map(|(n, v)| {
                                        (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned())
                                    })
                                    .collect(),
                            });
                            Ok(resp)
                        };
                        match tokio_tungstenite::accept_hdr_async(io, callback).await {
                            Ok(ws) => {
                                if let Some(info) = info {
                                    handler(ws, info).await;
                                }
                            }
                            Err(e) => tracing::debug!("peer=<{peer}>, error=<{e}> | sim upgrade failed"),
                        }
                    });
                }
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
        connections.shutdown().await;
    });
    Ok(WsServerHandle {
        addr,
        tls: tls.is_some(),
        stop: Some(stop_tx),
        task: Some(task),
    })
}

/// What a simulated connection writes to its socket.
#[derive(Debug)]
pub enum Outgoing {
    /// A text frame.
    Text(String),
    /// A close frame with this code and reason, then the end of the connection (after
    /// waiting briefly for the client's reply).
    Close(u16, String),
    /// Drop the socket without a close frame.
    Drop,
    /// Neither read nor write for this long.
    Stall(std::time::Duration),
}

/// Serves `socket` until either side closes it: every text (or binary, read as text) frame
/// from the client goes to `on_client`, and every [`Outgoing`] queued on `outgoing` is
/// written in order.
pub async fn pump(
    socket: ServerSocket,
    mut outgoing: mpsc::UnboundedReceiver<Outgoing>,
    mut on_client: impl FnMut(&str),
) {
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::protocol::CloseFrame;

    let (mut sink, mut stream) = socket.split();
    loop {
        tokio::select! {
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Text(text))) => on_client(text.as_str()),
                Some(Ok(Message::Binary(bytes))) => on_client(&String::from_utf8_lossy(&bytes)),
                Some(Ok(Message::Close(_))) => {
                    // Flush tungstenite's close reply.
                    let _ = sink.flush().await;
                    break;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break,
            },
            out = outgoing.recv() => match out {
                Some(Outgoing::Text(text)) => {
                    if sink.send(Message::text(text)).await.is_err() {
                        break;
                    }
                }
                Some(Outgoing::Close(code, reason)) => {
                    let frame = CloseFrame { code: code.into(), reason: reason.into() };
                    let _ = sink.send(Message::Close(Some(frame))).await;
                    // Wait (briefly) for the client's reply to finish the handshake.
                    let reply = async {
                        while let Some(Ok(m)) = stream.next().await {
                            if m.is_close() {
                                break;
                            }
                        }
                    };
                    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), reply).await;
                    break;
                }
                Some(Outgoing::Stall(pause)) => tokio::time::sleep(pause).await,
                Some(Outgoing::Drop) | None => break,
            },
        }
    }
}
