//! [`connect`], and the two ends it returns: [`WsSender`] and [`WsReceiver`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use super::config::redact_url;
use super::{ProxySettings, WsConfig, WsError, default_tls_config, install_crypto_provider, proxy};
use crate::trust;

type Stream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Bytes read from the socket at a time. tungstenite's default (128 KiB) zero-fills that
/// much on every read and keeps it resident per connection; audio frames are ~1.5 KiB, and
/// a longer frame is still read whole (the buffer grows to the frame's length).
const READ_BUFFER_BYTES: usize = 4 * 1024;

/// How the peer closed the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseInfo {
    /// The close code (1000 is a normal closure).
    pub code: u16,
    /// The reason the peer gave.
    pub reason: String,
}

/// A frame from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsIncoming {
    /// A text frame.
    Text(String),
    /// A binary frame.
    Binary(Vec<u8>),
    /// The closing handshake; the last item. `None` when the close frame had no code.
    Close(Option<CloseInfo>),
}

enum Command {
    Send(Message),
    Close(CloseFrame),
}

/// Queues frames for the connection's writer task. Cheap to clone.
#[derive(Debug, Clone)]
pub struct WsSender {
    tx: mpsc::Sender<Command>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Send(_) => f.write_str("Send"),
            Self::Close(_) => f.write_str("Close"),
        }
    }
}

impl WsSender {
    /// Queues a text frame; waits while the queue is full. Fails once the connection is
    /// closed.
    pub async fn send_text(&self, text: impl Into<String>) -> Result<(), WsError> {
        self.command(Command::Send(Message::text(text.into())))
            .await
    }

    /// Queues a binary frame.
    pub async fn send_binary(&self, bytes: Vec<u8>) -> Result<(), WsError> {
        self.command(Command::Send(Message::binary(bytes))).await
    }

    /// Starts the closing handshake with `code` and `reason`; the receiver then yields the
    /// server's close frame and ends.
    pub async fn close(&self, code: u16, reason: &str) -> Result<(), WsError> {
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: reason.to_owned().into(),
        };
        self.command(Command::Close(frame)).await
    }

    /// Whether the writer task has ended.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    async fn command(&self, command: Command) -> Result<(), WsError> {
        self.tx.send(command).await.map_err(|_| WsError::Closed)
    }
}

/// The frames the server sends, in order. The last item is a [`WsIncoming::Close`] or an
/// error; then `recv` yields `None`. Dropping the receiver stops the connection's tasks.
#[derive(Debug)]
pub struct WsReceiver {
    rx: mpsc::Receiver<Result<WsIncoming, WsError>>,
    done: bool,
    tasks: [AbortHandle; 2],
}

impl WsReceiver {
    /// The next frame, `None` after the last.
    pub async fn recv(&mut self) -> Option<Result<WsIncoming, WsError>> {
        if self.done {
            return None;
        }
        let item = self.rx.recv().await;
        if matches!(item, None | Some(Err(_)) | Some(Ok(WsIncoming::Close(_)))) {
            self.done = true;
        }
        item
    }
}

impl Drop for WsReceiver {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The error for a failed TCP, TLS or WebSocket handshake.
fn handshake_failed(error: tungstenite::Error, shown_url: &str) -> WsError {
    match error {
        tungstenite::Error::Http(response) => WsError::Rejected {
            url: shown_url.to_owned(),
            status: response.status().as_u16(),
        },
        e if trust::is_untrusted(&e) => WsError::Untrusted {
            url: shown_url.to_owned(),
            source: Box::new(e),
        },
        e => WsError::Connect {
            url: shown_url.to_owned(),
            source: Box::new(e),
        },
    }
}

/// Opens a WebSocket connection as `config` says and starts its reader and writer tasks.
///
/// Must be called inside a tokio runtime.
pub async fn connect(config: WsConfig) -> Result<(WsSender, WsReceiver), WsError> {
    // Not needed by our own configs (explicit provider), but makes `ClientConfig::builder()`
    // elsewhere in the process work when several rustls providers are compiled in.
    install_crypto_provider();
    let shown_url = redact_url(&config.url);
    let request = build_request(&config, &shown_url)?;
    let secure = config.url.starts_with("wss://");
    let connector = if secure {
        let tls = match (&config.tls, &config.ca_file) {
            (Some(tls), _) => Arc::clone(tls),
            (None, Some(path)) => trust::client_config(Some(&trust::CaFile::load(path)?))?,
            (None, None) => default_tls_config()?,
        };
        Connector::Rustls(tls)
    } else {
        Connector::Plain
    };
    let proxies = match &config.proxy {
        Some(settings) => settings.clone(),
        None => ProxySettings::from_env()?,
    };
    let ws_config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        .max_message_size(Some(config.max_message_size))
        .max_frame_size(Some(config.max_message_size));
    let connecting = async {
        let uri = request.uri();
        let host = uri.host().unwrap_or_default().to_owned();
        let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
        match proxies.proxy_for(secure, &host, port) {
            Some(proxy) => {
                tracing::debug!("url=<{shown_url}>, proxy=<{proxy}> | connecting through proxy");
                let tunnel = proxy::tunnel(proxy, &host, port).await?;
                tokio_tungstenite::client_async_tls_with_config(
                    request,
                    tunnel,
                    Some(ws_config),
                    Some(connector),
                )
                .await
                .map_err(|e| handshake_failed(e, &shown_url))
            }
            None => tokio_tungstenite::connect_async_tls_with_config(
                request,
                Some(ws_config),
                true,
                Some(connector),
            )
            .await
            .map_err(|e| handshake_failed(e, &shown_url)),
        }
    };
    let (stream, _response) = match tokio::time::timeout(config.connect_timeout, connecting).await {
        Err(_) => {
            return Err(WsError::ConnectTimeout {
                url: shown_url,
                after: config.connect_timeout,
            });
        }
        Ok(result) => result?,
    };
    tracing::debug!("url=<{shown_url}> | websocket connected");

    let (sink, source) = stream.split();
    let (out_tx, out_rx) = mpsc::channel(config.capacity);
    let (in_tx, in_rx) = mpsc::channel(config.capacity);
    let epoch = Instant::now();
    let last_seen_ms = Arc::new(AtomicU64::new(0));
    let reader = tokio::spawn(read_loop(
        source,
        in_tx.clone(),
        epoch,
        Arc::clone(&last_seen_ms),
    ));
    let keepalive = Keepalive {
        interval: config.ping_interval,
        timeout: config.ping_timeout,
        epoch,
        last_seen_ms,
    };
    let writer = tokio::spawn(write_loop(sink, out_rx, in_tx, keepalive));
    Ok((
        WsSender { tx: out_tx },
        WsReceiver {
            rx: in_rx,
            done: false,
            tasks: [reader.abort_handle(), writer.abort_handle()],
        },
    ))
}

fn build_request(
    config: &WsConfig,
    shown_url: &str,
) -> Result<tungstenite::handshake::client::Request, WsError> {
    let invalid = |reason: String| WsError::InvalidUrl {
        url: shown_url.to_owned(),
        reason,
    };
    if !(config.url.starts_with("ws://") || config.url.starts_with("wss://")) {
        return Err(invalid("scheme must be ws:// or wss://".to_owned()));
    }
    let mut request = config
        .url
        .as_str()
        .into_client_request()
        .map_err(|e| invalid(e.to_string()))?;
    for (name, value) in &config.headers {
        let bad = || WsError::InvalidHeader { name: name.clone() };
        let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad())?;
        let mut value = HeaderValue::from_str(value).map_err(|_| bad())?;
        let lower = name.to_ascii_lowercase();
        if lower == "authorization" || lower.contains("key") {
            value.set_sensitive(true);
        }
        request.headers_mut().append(header, value);
    }
    Ok(request)
}

async fn read_loop(
    mut source: SplitStream<Stream>,
    tx: mpsc::Sender<Result<WsIncoming, WsError>>,
    epoch: Instant,
    last_seen_ms: Arc<AtomicU64>,
) {
    let seen = || {
        let ms = u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        last_seen_ms.store(ms, Ordering::Release);
    };
    loop {
        let item = match source.next().await {
            Some(Ok(Message::Text(text))) => Ok(WsIncoming::Text(text.as_str().to_owned())),
            Some(Ok(Message::Binary(bytes))) => Ok(WsIncoming::Binary(bytes.to_vec())),
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {
                seen();
                continue;
            }
            Some(Ok(Message::Close(frame))) => {
                let info = frame.map(|f| CloseInfo {
                    code: u16::from(f.code),
                    reason: f.reason.as_str().to_owned(),
                });
                tracing::debug!("close=<{info:?}> | websocket closed by peer or handshake done");
                // Reading on flushes our close reply; the stream then ends.
                let drain = async { while source.next().await.is_some() {} };
                let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
                let _ = tx.send(Ok(WsIncoming::Close(info))).await;
                return;
            }
            Some(Err(e)) => Err(WsError::Transport(Box::new(e))),
            None => Err(WsError::Transport(Box::new(
                tungstenite::Error::ConnectionClosed,
            ))),
        };
        seen();
        let last = item.is_err();
        if tx.send(item).await.is_err() || last {
            return;
        }
    }
}

struct Keepalive {
    interval: Option<Duration>,
    timeout: Duration,
    epoch: Instant,
    last_seen_ms: Arc<AtomicU64>,
}

impl Keepalive {
    /// How long the peer has been silent.
    fn silent_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_seen_ms.load(Ordering::Acquire));
        self.epoch.elapsed().saturating_sub(last)
    }
}

async fn write_loop(
    mut sink: SplitSink<Stream, Message>,
    mut rx: mpsc::Receiver<Command>,
    errors: mpsc::Sender<Result<WsIncoming, WsError>>,
    keepalive: Keepalive,
) {
    let period = keepalive.interval.unwrap_or(Duration::from_secs(3600));
    let mut ticker = tokio::time::interval_at(Instant::now() + period, period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let result = tokio::select! {
            command = rx.recv() => match command {
                Some(Command::Send(message)) => sink.send(message).await,
                Some(Command::Close(frame)) => {
                    let result = sink.send(Message::Close(Some(frame))).await;
                    if let Err(e) = result {
                        let _ = errors.try_send(Err(WsError::Transport(Box::new(e))));
                    }
                    return;
                }
                None => {
                    // Every sender is gone: close normally.
                    let _ = sink.send(Message::Close(None)).await;
                    return;
                }
            },
            _ = ticker.tick(), if keepalive.interval.is_some() => {
                let silent = keepalive.silent_for();
                if silent > period + keepalive.timeout {
                    tracing::warn!("silent_for=<{silent:?}> | websocket peer stopped answering pings");
                    let _ = errors.try_send(Err(WsError::KeepaliveTimeout { after: silent }));
                    return;
                }
                sink.send(Message::Ping(Vec::new().into())).await
            }
        };
        if let Err(e) = result {
            if !closing(&e) {
                let _ = errors.try_send(Err(WsError::Transport(Box::new(e))));
            }
            return;
        }
    }
}

/// Whether a write failed only because the connection is closing or closed: the reader then
/// reports the peer's close frame (its code and reason say why, as when a server refuses a key
/// right after the upgrade), which this error must not overtake.
fn closing(e: &tungstenite::Error) -> bool {
    matches!(
        e,
        tungstenite::Error::ConnectionClosed
            | tungstenite::Error::AlreadyClosed
            | tungstenite::Error::Protocol(tungstenite::error::ProtocolError::SendAfterClosing)
    )
}
