//! [`Faults`]: what a WebSocket simulator does wrong on purpose, below the script: refuse
//! the first connection attempts (as a service does while it is overloaded or restarting),
//! and read the client's bytes slowly (so the client's sends meet backpressure, as on a
//! congested link). A script's own fault actions (`close`, `stall`, `garbage`, `error`,
//! `timeout`) are [`Action`](crate::Action)s.
//!
//! ```
//! use bidi_sim::faults::Faults;
//!
//! // The first connection is served, the next two are refused, then all are served.
//! let faults = Faults::new().refuse_reconnects(2).read_bytes_per_sec(16_000);
//! assert!(!faults.take_refusal());
//! assert!(faults.take_refusal());
//! assert!(faults.take_refusal());
//! assert!(!faults.take_refusal());
//! ```

use std::future::Future as _;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// Faults a WebSocket simulator injects. Clones share the refusal count.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Upgrade attempts seen so far.
    attempts: Arc<AtomicU32>,
    /// Attempts `first..first + count` are refused.
    refused: Option<(u32, u32)>,
    read_bytes_per_sec: Option<u64>,
}

impl Faults {
    /// No faults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Refuse the first `n` upgrade requests with HTTP 503 (then accept).
    pub fn refuse_connections(mut self, n: u32) -> Self {
        self.refused = (n > 0).then_some((0, n));
        self
    }

    /// Accept the first upgrade request, refuse the `n` after it with HTTP 503 (a client's
    /// reconnects), then accept.
    pub fn refuse_reconnects(mut self, n: u32) -> Self {
        self.refused = (n > 0).then_some((1, n));
        self
    }

    /// Read each connection's incoming bytes at most this fast (0: no limit).
    pub fn read_bytes_per_sec(mut self, rate: u64) -> Self {
        self.read_bytes_per_sec = (rate > 0).then_some(rate);
        self
    }

    /// Whether this upgrade is to be refused (counting it).
    pub fn take_refusal(&self) -> bool {
        let attempt = self.attempts.fetch_add(1, Ordering::AcqRel);
        self.refused
            .is_some_and(|(first, count)| attempt >= first && attempt - first < count)
    }

    /// `io`, read no faster than the configured rate.
    pub(crate) fn throttle<T>(&self, io: T) -> Throttled<T> {
        Throttled {
            inner: io,
            rate: self.read_bytes_per_sec,
            pause: None,
        }
    }
}

/// A byte stream whose reads are paced: after each read of `n` bytes, the next waits
/// `n / rate` seconds. Writes pass through.
pub(crate) struct Throttled<T> {
    inner: T,
    rate: Option<u64>,
    pause: Option<Pin<Box<Sleep>>>,
}

impl<T: AsyncRead + Unpin> AsyncRead for Throttled<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let Some(rate) = self.rate else {
            return Pin::new(&mut self.inner).poll_read(cx, buf);
        };
        if let Some(pause) = self.pause.as_mut() {
            if pause.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.pause = None;
        }
        // At most 20 ms worth of bytes per read (and at least one).
        let chunk = usize::try_from((rate / 50).max(1)).unwrap_or(usize::MAX);
        let limit = chunk.min(buf.remaining());
        let mut limited = ReadBuf::new(buf.initialize_unfilled_to(limit));
        let polled = Pin::new(&mut self.inner).poll_read(cx, &mut limited);
        let n = limited.filled().len();
        if let Poll::Ready(Ok(())) = &polled {
            buf.advance(n);
            if n > 0 {
                let wait = Duration::from_secs_f64(n as f64 / rate as f64);
                self.pause = Some(Box::pin(tokio::time::sleep(wait)));
            }
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Throttled<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test(start_paused = true)]
    async fn reads_are_paced_at_the_rate() {
        let (mut client, server) = tokio::io::duplex(1 << 16);
        client.write_all(&[7u8; 4000]).await.expect("write");
        drop(client);
        let mut slow = Faults::new().read_bytes_per_sec(1000).throttle(server);
        let start = tokio::time::Instant::now();
        let mut all = Vec::new();
        slow.read_to_end(&mut all).await.expect("read");
        assert_eq!(all.len(), 4000);
        // 4000 bytes at 1000 B/s: the last read's pause is not waited for.
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(3900), "{took:?}");
    }

    #[test]
    fn refusals_count_across_clones() {
        let faults = Faults::new().refuse_connections(1);
        let other = faults.clone();
        assert!(other.take_refusal());
        assert!(!faults.take_refusal());
        let none = Faults::new();
        assert!((0..5).all(|_| !none.take_refusal()));
    }
}
