//! [`PlaybackTracker`]: how much of the model's audio the output has finished with, so a
//! provider can cut an interrupted turn to what the user actually heard.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

#[derive(Debug, Default)]
struct Inner {
    attached: AtomicBool,
    consumed_ns: AtomicU64,
}

/// A shared, lock-free counter of the model audio an output has *consumed*: played to the
/// speaker, or discarded (flushed on barge-in, dropped on overflow).
///
/// The channel from output to agent to model:
/// 1. the agent creates one tracker and hands it to the model in
///    [`StartParams::playback`](crate::StartParams::playback) and to every IO through
///    [`AgentView::playback`](crate::AgentView::playback);
/// 2. an output that plays audio calls [`attach`](Self::attach) at start and
///    [`add_consumed`](Self::add_consumed) from its audio callback (one atomic add: no lock,
///    no allocation);
/// 3. on barge-in the model computes what was heard of the interrupted item. Audio is played
///    in the order the model emitted it, so everything emitted but not yet consumed is the
///    tail of the latest item:
///    `heard = item_emitted - (total_emitted - consumed)`, clamped to `0..=item_emitted`
///    ([`heard_of_item`](Self::heard_of_item)).
///
/// With no attached output (text mode) [`is_attached`](Self::is_attached) is false and the
/// model falls back to its own estimate (e.g. the time since the item's first audio).
///
/// ```
/// use std::time::Duration;
/// use bidi_types::PlaybackTracker;
///
/// let tracker = PlaybackTracker::new();
/// tracker.attach();
/// tracker.add_consumed(24_000, 48_000); // the callback played 0.5 s at 48 kHz
/// assert_eq!(tracker.consumed(), Duration::from_millis(500));
/// // The model emitted 2 s in all, of which the current item is the last 1.2 s:
/// let heard = tracker.heard_of_item(Duration::from_millis(1200), Duration::from_secs(2));
/// assert_eq!(heard, Duration::ZERO); // 1.5 s still queued: nothing of the item heard yet
/// tracker.add_consumed(48_000, 48_000); // one more second played
/// let heard = tracker.heard_of_item(Duration::from_millis(1200), Duration::from_secs(2));
/// assert_eq!(heard, Duration::from_millis(700));
/// ```
#[derive(Debug, Clone, Default)]
pub struct PlaybackTracker(Arc<Inner>);

impl PlaybackTracker {
    /// A tracker with nothing consumed and no output attached.
    pub fn new() -> Self {
        Self::default()
    }

    /// Marks that an output plays audio and reports through this tracker.
    pub fn attach(&self) {
        self.0.attached.store(true, Ordering::Release);
    }

    /// Marks that the output stopped reporting.
    pub fn detach(&self) {
        self.0.attached.store(false, Ordering::Release);
    }

    /// Whether an output reports through this tracker.
    pub fn is_attached(&self) -> bool {
        self.0.attached.load(Ordering::Acquire)
    }

    /// Records `frames` frames at `rate_hz` as consumed (played or discarded). Real-time
    /// safe: a single atomic add.
    pub fn add_consumed(&self, frames: u64, rate_hz: u32) {
        if rate_hz == 0 {
            return;
        }
        let ns = frames.saturating_mul(1_000_000_000) / u64::from(rate_hz);
        self.0.consumed_ns.fetch_add(ns, Ordering::AcqRel);
    }

    /// Total model audio consumed since the tracker was made.
    pub fn consumed(&self) -> Duration {
        Duration::from_nanos(self.0.consumed_ns.load(Ordering::Acquire))
    }

    /// How much of the latest item was heard, given how much of it the model emitted
    /// (`item_emitted`) and how much audio it emitted in all (`total_emitted`).
    pub fn heard_of_item(&self, item_emitted: Duration, total_emitted: Duration) -> Duration {
        let pending = total_emitted.saturating_sub(self.consumed());
        item_emitted.saturating_sub(pending).min(item_emitted)
    }
}
