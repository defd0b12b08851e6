//! [`Recorder`]: what every client connection to a simulator sent, for tests to inspect and
//! wait on; [`serve_recorded`] runs a [`ws`] server that records each connection.

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::Notify;

use crate::faults::Faults;
use crate::ws::{self, PathFilter, RequestInfo, ServerSocket, WsServerHandle};

/// What one client connection sent.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedConnection {
    /// The upgrade request (path, query, headers).
    pub request: RequestInfo,
    /// Every client message, in order, as JSON (a frame that is not JSON is recorded as
    /// `{"invalid_json": <text>}`).
    pub events: Vec<Value>,
}

impl RecordedConnection {
    /// The events whose `type` is `kind` (OpenAI-style events).
    pub fn of_type(&self, kind: &str) -> Vec<&Value> {
        self.events
            .iter()
            .filter(|e| e.get("type").and_then(Value::as_str) == Some(kind))
            .collect()
    }

    /// The values under the top-level key `key` (Gemini-style messages: `setup`,
    /// `realtimeInput`, ...).
    pub fn under(&self, key: &str) -> Vec<&Value> {
        self.events.iter().filter_map(|e| e.get(key)).collect()
    }
}

/// Records every connection's messages and wakes waiters on each change.
#[derive(Debug, Default)]
pub struct Recorder {
    connections: Mutex<Connections>,
    changed: Notify,
}

/// The recorded connections by index, and the next index.
#[derive(Debug, Default)]
struct Connections {
    next: usize,
    kept: BTreeMap<usize, RecordedConnection>,
}

impl Recorder {
    fn lock(&self) -> MutexGuard<'_, Connections> {
        self.connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts recording a new connection; returns its index.
    pub fn open(&self, request: RequestInfo) -> usize {
        let mut c = self.lock();
        let index = c.next;
        c.next += 1;
        c.kept.insert(
            index,
            RecordedConnection {
                request,
                events: Vec::new(),
            },
        );
        drop(c);
        self.changed.notify_waiters();
        index
    }

    /// Records one message of connection `connection`.
    pub fn record(&self, connection: usize, event: Value) {
        let mut c = self.lock();
        if let Some(conn) = c.kept.get_mut(&connection) {
            conn.events.push(event);
        }
        drop(c);
        self.changed.notify_waiters();
    }

    /// Drops connection `connection`'s recording (a server that runs indefinitely and is
    /// not inspected forgets each connection as it ends, so its memory stays flat). The
    /// other connections keep their indices; a [`snapshot`](Self::snapshot) no longer
    /// lists this one.
    pub fn forget(&self, connection: usize) {
        self.lock().kept.remove(&connection);
    }

    /// The upgrade request of connection `connection`.
    pub fn request(&self, connection: usize) -> Option<RequestInfo> {
        self.lock().kept.get(&connection).map(|c| c.request.clone())
    }

    /// Everything recorded so far, connections in the order they opened.
    pub fn snapshot(&self) -> Vec<RecordedConnection> {
        self.lock().kept.values().cloned().collect()
    }

    /// Waits until `find` returns something from the recording; `None` after `timeout`.
    pub async fn wait_until<T>(
        &self,
        find: impl Fn(&[RecordedConnection]) -> Option<T>,
        timeout: Duration,
    ) -> Option<T> {
        let wait = async {
            loop {
                let changed = self.changed.notified();
                tokio::pin!(changed);
                changed.as_mut().enable();
                if let Some(found) = find(&self.snapshot()) {
                    return found;
                }
                changed.await;
            }
        };
        tokio::time::timeout(timeout, wait).await.ok()
    }
}

/// Like [`ws::serve`], recording every connection's upgrade request in a new [`Recorder`]: the
/// handler gets the socket, the recorder and the connection's index in it.
pub async fn serve_recorded<F, Fut>(
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    paths: PathFilter,
    handler: F,
) -> io::Result<(WsServerHandle, Arc<Recorder>)>
where
    F: Fn(ServerSocket, Arc<Recorder>, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    serve_recorded_on(0, tls, paths, Faults::default(), handler).await
}

/// Like [`serve_recorded`], on 127.0.0.1:`port` (0: a free port), with `faults`.
pub async fn serve_recorded_on<F, Fut>(
    port: u16,
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    paths: PathFilter,
    faults: Faults,
    handler: F,
) -> io::Result<(WsServerHandle, Arc<Recorder>)>
where
    F: Fn(ServerSocket, Arc<Recorder>, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let recorder = Arc::new(Recorder::default());
    let rec = Arc::clone(&recorder);
    let server = ws::serve_on(port, tls, paths, faults, move |socket, request| {
        let index = rec.open(request);
        handler(socket, Arc::clone(&rec), index)
    })
    .await?;
    Ok((server, recorder))
}
