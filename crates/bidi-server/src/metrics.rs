//! [`ServerMetrics`]: what a server counts, in its own registry (no global recorder, so
//! several servers in one process keep their own numbers), rendered as Prometheus text at
//! `/metrics`.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The buckets of `bidi_first_audio_seconds`, in seconds: fine below one second, where
/// voice latency matters.
const FIRST_AUDIO_BUCKETS: [f64; 14] = [
    0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.5, 2.0, 3.0, 5.0,
];

/// A server's counters, gauges and histograms. Cloning shares them.
///
/// ```
/// use bidi_server::ServerMetrics;
///
/// let metrics = ServerMetrics::new();
/// metrics.session_opened();
/// let text = metrics.render();
/// assert!(text.contains("bidi_sessions_active 1"));
/// assert!(text.contains("bidi_sessions_total 1"));
/// ```
#[derive(Clone)]
pub struct ServerMetrics {
    registry: std::sync::Arc<Registry>,
    sessions_active: Gauge,
    sessions_total: Counter,
    sessions_refused: Counter,
    messages_in: Counter,
    messages_out: Counter,
    audio_dropped: Counter,
    interruptions: Counter,
    first_audio: Histogram,
    tasks_alive: Gauge,
}

impl std::fmt::Debug for ServerMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerMetrics").finish_non_exhaustive()
    }
}

impl Default for ServerMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl ServerMetrics {
    /// A fresh registry with every metric at zero.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let sessions_active = Gauge::<i64, std::sync::atomic::AtomicI64>::default();
        let sessions_total = Counter::<u64, AtomicU64>::default();
        let sessions_refused = Counter::<u64, AtomicU64>::default();
        let messages_in = Counter::<u64, AtomicU64>::default();
        let messages_out = Counter::<u64, AtomicU64>::default();
        let audio_dropped = Counter::<u64, AtomicU64>::default();
        let interruptions = Counter::<u64, AtomicU64>::default();
        let first_audio = Histogram::new(FIRST_AUDIO_BUCKETS);
        let tasks_alive = Gauge::<i64, std::sync::atomic::AtomicI64>::default();
        registry.register(
            "bidi_tokio_tasks_alive",
            "Tasks alive on the serving tokio runtime, read at each scrape (a leak shows as growth)",
            tasks_alive.clone(),
        );
        registry.register(
            "bidi_sessions_active",
            "WebSocket sessions open now",
            sessions_active.clone(),
        );
        // Counters are registered without `_total`; the encoder adds it.
        registry.register(
            "bidi_sessions",
            "WebSocket sessions opened",
            sessions_total.clone(),
        );
        registry.register(
            "bidi_sessions_refused",
            "Upgrades refused: the session cap reached, or draining",
            sessions_refused.clone(),
        );
        registry.register(
            "bidi_ws_messages_in",
            "WebSocket messages received from clients",
            messages_in.clone(),
        );
        registry.register(
            "bidi_ws_messages_out",
            "WebSocket messages sent to clients",
            messages_out.clone(),
        );
        registry.register(
            "bidi_ws_audio_dropped",
            "Audio messages dropped for clients that did not keep up",
            audio_dropped.clone(),
        );
        registry.register(
            "bidi_interruptions",
            "Interruptions (barge-ins) sent to clients",
            interruptions.clone(),
        );
        registry.register(
            "bidi_first_audio_seconds",
            "From the end of the user's speech, or a text turn, to the first model audio sent to the client",
            first_audio.clone(),
        );
        Self {
            registry: std::sync::Arc::new(registry),
            sessions_active,
            sessions_total,
            sessions_refused,
            messages_in,
            messages_out,
            audio_dropped,
            interruptions,
            first_audio,
            tasks_alive,
        }
    }

    /// A session started.
    pub fn session_opened(&self) {
        self.sessions_active.inc();
        self.sessions_total.inc();
    }

    /// A session ended.
    pub fn session_closed(&self) {
        self.sessions_active.dec();
    }

    /// An upgrade was refused (cap or drain).
    pub fn session_refused(&self) {
        self.sessions_refused.inc();
    }

    /// A message came from a client.
    pub fn message_in(&self) {
        self.messages_in.inc();
    }

    /// A message went to a client.
    pub fn message_out(&self) {
        self.messages_out.inc();
    }

    /// An audio message was dropped for a slow client.
    pub fn audio_dropped(&self) {
        self.audio_dropped.inc();
    }

    /// An interruption was sent to a client.
    pub fn interruption(&self) {
        self.interruptions.inc();
    }

    /// A turn's first audio went out `latency` after the turn ended.
    pub fn first_audio(&self, latency: Duration) {
        self.first_audio.observe(latency.as_secs_f64());
    }

    /// Every metric in the Prometheus text format (OpenMetrics 1.0, which Prometheus reads).
    pub fn render(&self) -> String {
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let alive = runtime.metrics().num_alive_tasks();
            self.tasks_alive
                .set(i64::try_from(alive).unwrap_or(i64::MAX));
        }
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}
