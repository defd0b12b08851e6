//! A minimal HTTP/1.1 GET for the fake server's `/stats` and `/reset` (loopback only).

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Why a GET failed.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The URL is not `http://127.0.0.1:<port>/...` or `http://localhost:<port>/...`.
    #[error("url=<{0}> | only http://127.0.0.1 or localhost URLs are supported")]
    Url(String),
    /// A socket error.
    #[error("url=<{url}> | {source}")]
    Io {
        /// The URL.
        url: String,
        /// The error.
        source: std::io::Error,
    },
    /// Not a 200 with a JSON body.
    #[error("url=<{url}> | bad response: {reason}")]
    Response {
        /// The URL.
        url: String,
        /// What was wrong.
        reason: String,
    },
}

/// GETs `url` and parses the body as JSON.
pub async fn get_json(url: &str) -> Result<Value, HttpError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| HttpError::Url(url.to_owned()))?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if !(authority.starts_with("127.0.0.1:") || authority.starts_with("localhost:")) {
        return Err(HttpError::Url(url.to_owned()));
    }
    let path = if path.is_empty() { "/" } else { path };
    let io = |source| HttpError::Io {
        url: url.to_owned(),
        source,
    };
    let mut stream = TcpStream::connect(authority).await.map_err(io)?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.map_err(io)?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.map_err(io)?;
    let bad = |reason: &str| HttpError::Response {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no header end"))?;
    let head = String::from_utf8_lossy(&response[..split]);
    if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
        return Err(bad(head.lines().next().unwrap_or_default()));
    }
    serde_json::from_slice(&response[split + 4..]).map_err(|e| bad(&e.to_string()))
}
