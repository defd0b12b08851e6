//! [`ConnectProxy`]: a small HTTP `CONNECT` proxy on 127.0.0.1, as a corporate proxy is seen
//! by clients: it records each tunnel asked for, then relays bytes both ways (or refuses
//! every tunnel with a status, to test the client's error).

use std::io;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The longest request head read, in bytes.
const MAX_HEAD: usize = 8 * 1024;

/// A `CONNECT` request the proxy received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectRequest {
    /// The `host:port` asked for.
    pub target: String,
    /// The `Proxy-Authorization` header's value, if any.
    pub authorization: Option<String>,
}

/// A running proxy; stopped when dropped.
#[derive(Debug)]
pub struct ConnectProxy {
    port: u16,
    requests: Arc<Mutex<Vec<ConnectRequest>>>,
    task: JoinHandle<()>,
}

impl ConnectProxy {
    /// Starts a proxy that opens every tunnel asked for.
    pub async fn start() -> io::Result<Self> {
        Self::launch(None).await
    }

    /// Starts a proxy that answers every `CONNECT` with `status` (e.g. 403) and closes.
    pub async fn refusing(status: u16) -> io::Result<Self> {
        Self::launch(Some(status)).await
    }

    async fn launch(refuse: Option<u16>) -> io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let port = listener.local_addr()?.port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let seen = Arc::clone(&seen);
                tokio::spawn(async move {
                    if let Err(e) = serve(client, &seen, refuse).await {
                        tracing::debug!("error=<{e}> | proxy connection ended");
                    }
                });
            }
        });
        Ok(Self {
            port,
            requests,
            task,
        })
    }

    /// `http://127.0.0.1:<port>`, for `HTTPS_PROXY`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The `CONNECT` requests received so far, in order.
    pub fn requests(&self) -> Vec<ConnectRequest> {
        self.requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    mut client: TcpStream,
    seen: &Mutex<Vec<ConnectRequest>>,
    refuse: Option<u16>,
) -> io::Result<()> {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_HEAD {
            return Err(io::Error::other("request head too long"));
        }
        head.push(client.read_u8().await?);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (Some("CONNECT"), Some(target)) = (parts.next(), parts.next()) else {
        client
            .write_all(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n")
            .await?;
        return Ok(());
    };
    let authorization = lines.find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("proxy-authorization")
            .then(|| value.trim().to_owned())
    });
    seen.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(ConnectRequest {
            target: target.to_owned(),
            authorization,
        });
    if let Some(status) = refuse {
        let answer = format!("HTTP/1.1 {status} Refused\r\ncontent-length: 0\r\n\r\n");
        client.write_all(answer.as_bytes()).await?;
        return Ok(());
    }
    let mut upstream = match TcpStream::connect(target).await {
        Ok(s) => s,
        Err(e) => {
            client
                .write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
                .await?;
            return Err(e);
        }
    };
    client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .await?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}
