//! The two halves of one socket: the writer task sends queued frames and, first of all,
//! the close frame once one is asked for; the client's frames are read when the session's
//! input asks for one ([`ClientFrames`], no task or queue between), and after the session
//! until the client's close (or a grace period), so the client sees the close code rather
//! than a reset.
//!
//! When a drain's time is up, the agent is ended first (its last turn goes to the session
//! store as it stops), and the socket closes with 1001 once the agent is gone, or a close
//! grace later at the latest.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use bidi_agent::types::IoError;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use tokio::task::JoinHandle;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use crate::metrics::ServerMetrics;
use crate::state::AppState;

/// What every socket shares, browser or phone: how it is asked to close, the client's
/// frames (which end for the session when the drain's time is up), and the drain's watch.
pub(crate) struct Reading {
    pub(crate) closer: Closer,
    frames: Arc<tokio::sync::Mutex<ClientFrames>>,
    draining: JoinHandle<()>,
}

impl Reading {
    /// Starts watching the server's drain: once its time is up, the session ends and its
    /// socket closes with 1001 (see the module's note). The frames are read through
    /// [`frames`](Self::frames).
    pub(crate) fn start(stream: SplitStream<WebSocket>, state: &AppState) -> Self {
        let closer = Closer::new();
        let ended = CancellationToken::new();
        let frames = ClientFrames {
            stream,
            close: closer.subscribe(),
            closer: closer.clone(),
            ended: Box::pin(ended.clone().cancelled_owned()),
            ended_seen: false,
            max_bytes: state.config.max_frame_bytes,
            grace: state.config.close_grace,
            metrics: state.metrics.clone(),
            deadline: None,
            done: false,
        };
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
        Self {
            closer,
            frames: Arc::new(tokio::sync::Mutex::new(frames)),
            draining,
        }
    }

    /// The client's frames, for the session's input: held for as long as the input lives,
    /// then [`finish`](Self::finish) reads what follows.
    pub(crate) async fn frames(&self) -> Frames {
        Arc::clone(&self.frames).lock_owned().await
    }

    /// Ends the socket once the agent is gone: waits for `writer` to flush and send its
    /// close ([`Closer::at_end`]), then for the client's close.
    pub(crate) async fn finish(self, writer: JoinHandle<()>) {
        let _ = writer.await;
        let (code, reason) = self.closer.at_end();
        self.closer.close(code, reason);
        self.frames.lock().await.read_to_close().await;
        self.draining.abort();
    }
}

/// The client's frames, held by the session's input.
pub(crate) type Frames = tokio::sync::OwnedMutexGuard<ClientFrames>;

/// One socket's incoming frames, read when asked. A frame over the size limit asks for close
/// 1009 and a broken one 1002; once a close is asked for (or the drain's time is up) the
/// session gets no more frames, and [`Reading::finish`] reads on to the client's close.
pub(crate) struct ClientFrames {
    stream: SplitStream<WebSocket>,
    close: watch::Receiver<Option<(u16, &'static str)>>,
    closer: Closer,
    /// The session's end (one future for the socket's life, not one per frame).
    ended: Pin<Box<WaitForCancellationFutureOwned>>,
    /// `ended` has fired.
    ended_seen: bool,
    max_bytes: usize,
    grace: Duration,
    metrics: ServerMetrics,
    /// Set once a close was asked for: the client's close is awaited until then.
    deadline: Option<Instant>,
    /// The socket has ended (the client's close, or it failed).
    done: bool,
}

impl ClientFrames {
    /// The client's next frame; an error once the client left, a close was asked for, or
    /// the session ended.
    pub(crate) async fn next(&mut self) -> Result<Read, IoError> {
        loop {
            if self.done {
                return Err(IoError::Closed("the client left".into()));
            }
            if self.ended_seen {
                return Err(IoError::Closed("the session ended".into()));
            }
            if self.deadline.is_some() {
                return Err(IoError::Closed("the socket is closing".into()));
            }
            let next = tokio::select! {
                biased;
                () = &mut self.ended => {
                    self.ended_seen = true;
                    continue;
                }
                changed = self.close.changed() => {
                    if changed.is_err() || self.close.borrow_and_update().is_some() {
                        self.deadline = Some(Instant::now() + self.grace);
                    }
                    continue;
                }
                next = self.stream.next() => next,
            };
            let message = match next {
                None | Some(Ok(Message::Close(_))) => {
                    self.done = true;
                    continue;
                }
                Some(Err(e)) => {
                    let text = e.to_string();
                    tracing::debug!("error=<{text}> | reading the client's socket failed");
                    let code = if text.contains("limit") || text.contains("too long") {
                        1009
                    } else {
                        1002
                    };
                    self.closer.close(code, "bad frame");
                    self.deadline = Some(Instant::now() + self.grace);
                    continue;
                }
                Some(Ok(message)) => message,
            };
            let size = match &message {
                Message::Text(t) => t.len(),
                Message::Binary(b) => b.len(),
                _ => 0,
            };
            if size > self.max_bytes {
                let max = self.max_bytes;
                tracing::info!(
                    "bytes=<{size}>, limit=<{max}> | message too big; closing with 1009"
                );
                self.metrics.message_in();
                self.closer.close(1009, "message too big");
                self.deadline = Some(Instant::now() + self.grace);
                continue;
            }
            let read = match message {
                Message::Text(text) => Read::Text(text),
                Message::Binary(_) => Read::Binary,
                Message::Ping(_) | Message::Pong(_) | Message::Close(_) => continue,
            };
            self.metrics.message_in();
            return Ok(read);
        }
    }

    /// After the session: reads and drops frames until the client's close, or the grace
    /// after the close was asked for.
    async fn read_to_close(&mut self) {
        if self.done {
            return;
        }
        let deadline = *self
            .deadline
            .get_or_insert_with(|| Instant::now() + self.grace);
        // Closing: what is left of a refused frame may not parse; errors are read past.
        while let Ok(Some(next)) = tokio::time::timeout_at(deadline, self.stream.next()).await {
            if matches!(next, Ok(Message::Close(_))) {
                break;
            }
        }
        self.done = true;
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

/// A frame for the session.
pub(crate) enum Read {
    /// A text frame within the size limit.
    Text(Utf8Bytes),
    /// A binary frame (the protocol is JSON text; it is answered with an error).
    Binary,
}
