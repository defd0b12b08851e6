//! [`PlaybackTracker`]: how much of the model's audio the listener has heard, so a provider
//! can cut an interrupted turn, and the history keep it, as the user heard it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

#[derive(Debug, Default)]
struct Inner {
    attached: AtomicBool,
    consumed_ns: AtomicU64,
    emitted_ns: AtomicU64,
    response_start_ns: AtomicU64,
    latency_ns: AtomicU64,
}

/// A played position beyond this much past the audio sent for the response is refused as
/// absurd; less is clamped to what was sent (the report and the audio cross on the wire).
const REPORT_SLACK: Duration = Duration::from_secs(1);

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
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
/// **One heard position, whatever plays the audio.** The agent counts the model audio it
/// receives ([`add_emitted`](Self::add_emitted)) and marks each response's start
/// ([`start_response`](Self::start_response)); each kind of output reports in its own unit
/// and this type turns all of them into one position:
/// - a device output (`bidi-audio`) adds the frames its callback consumed, and the output
///   latency cpal reports ([`set_output_latency`](Self::set_output_latency)) is subtracted:
///   audio handed to the device is heard that much later;
/// - a remote player (a browser page, through the `bidi_playback` input event) reports the
///   milliseconds of the current response it played ([`report_played`](Self::report_played));
/// - a telephony leg reports the position of the last mark the carrier echoed, the same way;
/// - with no output reporting, everything received counts as heard ([`heard`](Self::heard)).
///
/// ```
/// use std::time::Duration;
/// use bidi_types::PlaybackTracker;
///
/// let t = PlaybackTracker::new();
/// t.add_emitted(Duration::from_secs(3)); // an earlier response
/// t.start_response();
/// t.add_emitted(Duration::from_secs(5)); // this response: 5 s received
/// assert_eq!(t.heard_in_response(), Duration::from_secs(5)); // nobody reports: all heard
/// t.report_played(Duration::from_millis(1200)).unwrap(); // the browser played 1.2 s of it
/// assert_eq!(t.heard_in_response(), Duration::from_millis(1200));
/// assert!(t.report_played(Duration::from_secs(60)).is_err()); // more than was sent
/// ```
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
    /// (`item_emitted`) and how much audio it emitted in all (`total_emitted`). Audio still
    /// in the device (its output latency) is not heard yet.
    pub fn heard_of_item(&self, item_emitted: Duration, total_emitted: Duration) -> Duration {
        let heard = self.consumed().saturating_sub(self.output_latency());
        let pending = total_emitted.saturating_sub(heard);
        item_emitted.saturating_sub(pending).min(item_emitted)
    }

    /// Counts `audio` of model speech as received by the agent (on its way to the outputs).
    pub fn add_emitted(&self, audio: Duration) {
        self.0.emitted_ns.fetch_add(nanos(audio), Ordering::AcqRel);
    }

    /// All model audio the agent received since the tracker was made.
    pub fn emitted(&self) -> Duration {
        Duration::from_nanos(self.0.emitted_ns.load(Ordering::Acquire))
    }

    /// Marks the start of a response (`bidi_response_start`): positions reported with
    /// [`report_played`](Self::report_played) count from here.
    pub fn start_response(&self) {
        let emitted = self.0.emitted_ns.load(Ordering::Acquire);
        self.0.response_start_ns.store(emitted, Ordering::Release);
    }

    /// A remote player's report: `played` of the current response's audio was heard since
    /// its start. Attaches the tracker. A position past the audio received for the response
    /// is clamped to it, or refused when it is more than a second past (`Err` holds the
    /// audio received for the response).
    pub fn report_played(&self, played: Duration) -> Result<(), Duration> {
        let start = self.0.response_start_ns.load(Ordering::Acquire);
        let emitted = self.0.emitted_ns.load(Ordering::Acquire);
        let sent = Duration::from_nanos(emitted.saturating_sub(start));
        if played > sent + REPORT_SLACK {
            return Err(sent);
        }
        let position = start.saturating_add(nanos(played)).min(emitted);
        self.attach();
        self.0.consumed_ns.fetch_max(position, Ordering::AcqRel);
        Ok(())
    }

    /// The output's latency (audio handed to the device that has not reached the listener
    /// yet), as the audio API reports it. Real-time safe: one atomic store.
    pub fn set_output_latency(&self, latency: Duration) {
        self.0.latency_ns.store(nanos(latency), Ordering::Release);
    }

    /// The output latency last reported.
    pub fn output_latency(&self) -> Duration {
        Duration::from_nanos(self.0.latency_ns.load(Ordering::Acquire))
    }

    /// The heard position in all the audio received: what the attached output reports
    /// (consumed minus its latency), or everything received when no output reports.
    pub fn heard(&self) -> Duration {
        let emitted = self.emitted();
        if self.is_attached() {
            self.consumed()
                .saturating_sub(self.output_latency())
                .min(emitted)
        } else {
            emitted
        }
    }

    /// How much of the current response's audio was heard.
    pub fn heard_in_response(&self) -> Duration {
        let start = Duration::from_nanos(self.0.response_start_ns.load(Ordering::Acquire));
        self.heard().saturating_sub(start)
    }

    /// How much audio the agent received for the current response.
    pub fn emitted_in_response(&self) -> Duration {
        let start = Duration::from_nanos(self.0.response_start_ns.load(Ordering::Acquire));
        self.emitted().saturating_sub(start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn the_device_latency_is_not_heard_yet() {
        let t = PlaybackTracker::new();
        t.attach();
        t.add_emitted(ms(2000));
        t.add_consumed(24_000, 24_000); // the callback took 1 s
        assert_eq!(t.heard(), ms(1000));
        t.set_output_latency(ms(40));
        assert_eq!(t.heard(), ms(960));
        // The OpenAI truncation's view agrees: 2 s emitted, the whole item.
        assert_eq!(t.heard_of_item(ms(2000), ms(2000)), ms(960));
    }

    #[test]
    fn reports_count_from_the_current_response_and_only_grow() {
        let t = PlaybackTracker::new();
        t.add_emitted(ms(700));
        t.start_response();
        t.add_emitted(ms(500));
        assert_eq!(t.report_played(ms(300)), Ok(()));
        assert_eq!(t.heard_in_response(), ms(300));
        assert_eq!(t.report_played(ms(100)), Ok(()), "an older report");
        assert_eq!(
            t.heard_in_response(),
            ms(300),
            "the position never goes back"
        );
        assert_eq!(
            t.report_played(ms(900)),
            Ok(()),
            "within the slack: clamped"
        );
        assert_eq!(t.heard_in_response(), ms(500));
        assert_eq!(t.report_played(ms(1600)), Err(ms(500)));
        assert_eq!(t.emitted_in_response(), ms(500));
    }
}
