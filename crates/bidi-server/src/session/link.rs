//! The two halves of one socket: the writer task sends queued frames and, first of all,
//! the close frame once one is asked for; the reader task reads client frames, and after a
//! close keeps reading until the client's close (or a grace period), so the client sees
//! the close code rather than a reset.
//!
//! When a drain's time is up, the agent is ended first (its last turn goes to the session
//! store as it stops), and the socket closes with 1001 once the agent is gone, or a close
//! grace later at the latest.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::metrics::ServerMetrics;
use crate::state::AppState;

/// Client frames read ahead of the agent, per socket.
const READ_AHEAD: usize = 64;

/// What every socket shares, browser or phone: how it is asked to close, the signal that
/// it ended (the client left, or the drain's time is up), and the tasks reading it.
pub(crate) struct Reading {
    pub(crate) closer: Closer,
    /// Cancelled when the session must end.
    pub(crate) ended: CancellationToken,
    reader: JoinHandle<()>,
    draining: JoinHandle<()>,
}

impl Reading {
    /// Starts reading `stream` (frames go to the receiver returned), and watching the
    /// server's drain: once its time is up, the session ends and its socket closes with 1001
    /// (see the module's note).
    pub(crate) fn start(
        stream: SplitStream<WebSocket>,
        state: &AppState,
    ) -> (Self, mpsc::Receiver<Read>) {
        let closer = Closer::new();
        let ended = CancellationToken::new();
        let (frames_tx, frames_rx) = mpsc::channel(READ_AHEAD);
        let reader = tokio::spawn({
            let (closer, close, ended) = (closer.clone(), closer.subscribe(), ended.clone());
            let metrics = state.metrics.clone();
            let (max, grace) = (state.config.max_frame_bytes, state.config.close_grace);
            async move {
                read(stream, closer, close, max, grace, metrics, frames_tx).await;
                ended.cancel();
            }
        });
        let draining = tokio::spawn({
            let (closer, ended, closing) = (closer.clone(), ended.clone(), state.closing.clone());
            let grace = state.config.close_grace;
            async move {
                tokio::select! {
                    () = closing.cancelled() => {
                        closer.drained();
                        ended.cancel();
                        // An agent that does not end in time is closed on anyway.
                        tokio::time::sleep(grace).await;
                        closer.close(DRAINED.0, DRAINED.1);
                    }
                    () = ended.cancelled() => {}
                }
            }
        });
        let reading = Self {
            closer,
            ended,
            reader,
            draining,
        };
        (reading, frames_rx)
    }

    /// Ends the socket once the agent is gone: waits for `writer` to flush and send its
    /// close ([`Closer::at_end`]), then for the client's close.
    pub(crate) async fn finish(self, writer: JoinHandle<()>) {
        let _ = writer.await;
        let (code, reason) = self.closer.at_end();
        self.closer.close(code, reason);
        let _ = self.reader.await;
        self.draining.abort();
    }
}

/// The close of a session ended by the server's drain.
const DRAINED: (u16, &str) = (1001, "server shutting down");

/// Asks a socket to close, once: the first code asked for wins.
#[derive(Debug, Clone)]
pub(crate) struct Closer {
    asked: watch::Sender<Option<(u16, &'static str)>>,
    /// The server's drain ended the session.
    drained: Arc<AtomicBool>,
}

impl Closer {
    pub(crate) fn new() -> Self {
        Self {
            asked: watch::channel(None).0,
            drained: Arc::default(),
        }
    }

    /// For a writer: the close asked for, as it changes.
    pub(crate) fn subscribe(&self) -> watch::Receiver<Option<(u16, &'static str)>> {
        self.asked.subscribe()
    }

    /// Closes with `code` and `reason` unless a close was already asked for.
    pub(crate) fn close(&self, code: u16, reason: &'static str) {
        self.asked.send_if_modified(|slot| {
            if slot.is_some() {
                return false;
            }
            *slot = Some((code, reason));
            true
        });
    }

    /// The server's drain ends the session: once its agent is gone, it closes with 1001.
    fn drained(&self) {
        self.drained.store(true, Ordering::Release);
    }

    /// The close of a session whose agent is gone: the one asked for, else 1001 after a
    /// drain, else 1000.
    pub(crate) fn at_end(&self) -> (u16, &'static str) {
        match *self.asked.borrow() {
            Some(asked) => asked,
            None if self.drained.load(Ordering::Acquire) => DRAINED,
            None => (1000, ""),
        }
    }

    /// The code asked for, if any.
    pub(crate) fn code(&self) -> Option<u16> {
        self.asked.borrow().map(|(code, _)| code)
    }
}

/// Sends queued frames until the queue ends or a close is asked for; then the close frame
/// ([`Closer::at_end`] when the queue ended).
pub(crate) async fn write(
    mut sink: SplitSink<WebSocket, Message>,
    mut frames: mpsc::Receiver<String>,
    closer: Closer,
    metrics: ServerMetrics,
) {
    let mut close = closer.subscribe();
    loop {
        tokio::select! {
            biased;
            changed = close.changed() => {
                let asked = *close.borrow_and_update();
                if changed.is_err() || asked.is_some() {
                    if let Some((code, reason)) = asked {
                        let frame = CloseFrame { code, reason: reason.into() };
                        let _ = sink.send(Message::Close(Some(frame))).await;
                    }
                    break;
                }
            }
            frame = frames.recv() => match frame {
                Some(text) => {
                    let more = || frames.try_recv().ok();
                    let Ok(sent) = send_batch(&mut sink, text, more).await else {
                        break;
                    };
                    for _ in 0..sent {
                        metrics.message_out();
                    }
                }
                None => {
                    let (code, reason) = closer.at_end();
                    let frame = CloseFrame { code, reason: reason.into() };
                    let _ = sink.send(Message::Close(Some(frame))).await;
                    break;
                }
            },
        }
    }
}

/// The most queued frames written to the socket at once.
const BATCH: usize = 16;

/// Writes `first` and whatever `more` has ready (up to [`BATCH`] frames) in one flush, so
/// frames queued together (a chunk and its transcript, a call's media and its mark) cost
/// one write to the socket. How many frames went out.
pub(crate) async fn send_batch(
    sink: &mut SplitSink<WebSocket, Message>,
    first: String,
    mut more: impl FnMut() -> Option<String>,
) -> Result<usize, axum::Error> {
    sink.feed(Message::Text(first.into())).await?;
    let mut sent = 1;
    while sent < BATCH {
        let Some(next) = more() else { break };
        sink.feed(Message::Text(next.into())).await?;
        sent += 1;
    }
    sink.flush().await?;
    Ok(sent)
}

/// What the reader hands on.
pub(crate) enum Read {
    /// A text frame within the size limit.
    Text(String),
    /// A binary frame (the protocol is JSON text; it is answered with an error).
    Binary,
}

/// Reads the client's frames into `frames` until the client closes, the socket fails, or
/// (once a close was asked for) the client's close or `grace` passes. A frame over
/// `max_bytes` asks for close 1009.
pub(crate) async fn read(
    mut stream: SplitStream<WebSocket>,
    closer: Closer,
    mut close: watch::Receiver<Option<(u16, &'static str)>>,
    max_bytes: usize,
    grace: Duration,
    metrics: ServerMetrics,
    frames: mpsc::Sender<Read>,
) {
    let mut deadline: Option<Instant> = None;
    loop {
        let next = if let Some(deadline) = deadline {
            match tokio::time::timeout_at(deadline, stream.next()).await {
                Ok(next) => next,
                Err(_) => break,
            }
        } else {
            tokio::select! {
                biased;
                changed = close.changed() => {
                    if changed.is_err() || close.borrow_and_update().is_some() {
                        deadline = Some(Instant::now() + grace);
                    }
                    continue;
                }
                next = stream.next() => next,
            }
        };
        let message = match next {
            None | Some(Ok(Message::Close(_))) => break,
            Some(Err(e)) => {
                if deadline.is_some() {
                    // Closing: what is left of a refused frame may not parse; keep
                    // reading until the client's close or the grace ends.
                    continue;
                }
                let text = e.to_string();
                tracing::debug!("error=<{text}> | reading the client's socket failed");
                let code = if text.contains("limit") || text.contains("too long") {
                    1009
                } else {
                    1002
                };
                closer.close(code, "bad frame");
                deadline = Some(Instant::now() + grace);
                continue;
            }
            Some(Ok(message)) => message,
        };
        if deadline.is_some() {
            continue;
        }
        let size = match &message {
            Message::Text(t) => t.len(),
            Message::Binary(b) => b.len(),
            _ => 0,
        };
        if size > max_bytes {
            tracing::info!(
                "bytes=<{size}>, limit=<{max_bytes}> | message too big; closing with 1009"
            );
            metrics.message_in();
            closer.close(1009, "message too big");
            deadline = Some(Instant::now() + grace);
            continue;
        }
        let read = match message {
            Message::Text(text) => Read::Text(text.to_string()),
            Message::Binary(_) => Read::Binary,
            Message::Ping(_) | Message::Pong(_) | Message::Close(_) => continue,
        };
        metrics.message_in();
        // Once the agent is gone, frames are read and dropped until the close.
        let _ = frames.send(read).await;
    }
}
