//! How much of an interrupted assistant item the user heard, for
//! `conversation.item.truncate`.

use std::time::Duration;

use bidi_types::PlaybackTracker;

use super::decode::AudioItem;

/// The `audio_end_ms` to truncate `item` to, or `None` when there is nothing to send: less
/// than 1 ms was played (the service rejects `0`), or the item is complete (`generating`
/// false) and was heard in full.
///
/// With an attached `tracker` the heard part is what the output consumed of the item
/// ([`PlaybackTracker::heard_of_item`]); otherwise it is `since_first_audio`, the time since
/// the item's first audio arrived (audio plays about as fast as it arrives). Either way it
/// never exceeds the audio received for the item. While the item's response is still
/// `generating`, the service may hold more audio than the client received, so even a fully
/// heard item is cut to what arrived.
///
/// ```
/// use std::time::Duration;
/// use bidi_model::openai::decode::AudioItem;
/// use bidi_model::openai::truncate::audio_end_ms;
/// use bidi_types::PlaybackTracker;
///
/// let item = AudioItem {
///     item_id: "i".into(),
///     content_index: 0,
///     received: Duration::from_millis(800),
///     response_id: Some("r".into()),
/// };
/// // No tracker: the wall clock since the first delta, capped at what arrived.
/// let late = Some(Duration::from_secs(3));
/// assert_eq!(audio_end_ms(&item, None, Duration::from_millis(800), late, true), Some(800));
/// // ... and nothing to cut when the item is complete and was heard in full.
/// assert_eq!(audio_end_ms(&item, None, Duration::from_millis(800), late, false), None);
/// // A tracker that consumed 500 ms of 1000 ms emitted in all: 300 ms of this item heard.
/// let t = PlaybackTracker::new();
/// t.attach();
/// t.add_consumed(12_000, 24_000);
/// assert_eq!(audio_end_ms(&item, Some(&t), Duration::from_millis(1000), None, false), Some(300));
/// ```
pub fn audio_end_ms(
    item: &AudioItem,
    tracker: Option<&PlaybackTracker>,
    emitted_total: Duration,
    since_first_audio: Option<Duration>,
    generating: bool,
) -> Option<u64> {
    let heard = match tracker.filter(|t| t.is_attached()) {
        Some(t) => t.heard_of_item(item.received, emitted_total),
        None => since_first_audio.unwrap_or(Duration::ZERO),
    }
    .min(item.received);
    if heard >= item.received && !generating {
        return None;
    }
    let ms = u64::try_from(heard.as_millis()).unwrap_or(u64::MAX);
    (ms >= 1).then_some(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(ms: u64) -> AudioItem {
        AudioItem {
            item_id: "i".into(),
            content_index: 0,
            received: Duration::from_millis(ms),
            response_id: None,
        }
    }

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn nothing_played_means_no_truncate() {
        let t = PlaybackTracker::new();
        t.attach();
        // 2 s emitted, nothing consumed: the item (last 1 s) unheard.
        let i = item(1000);
        assert_eq!(audio_end_ms(&i, Some(&t), 2 * SECOND, None, true), None);
        assert_eq!(audio_end_ms(&i, None, Duration::ZERO, None, true), None);
        let tiny = Some(Duration::from_micros(900));
        assert_eq!(audio_end_ms(&i, None, Duration::ZERO, tiny, true), None);
    }

    #[test]
    fn detached_tracker_falls_back_to_the_clock() {
        let t = PlaybackTracker::new();
        t.add_consumed(24_000, 24_000);
        let since = Some(Duration::from_millis(250));
        assert_eq!(
            audio_end_ms(&item(1000), Some(&t), SECOND, since, false),
            Some(250)
        );
    }

    #[test]
    fn never_beyond_the_audio_received() {
        let t = PlaybackTracker::new();
        t.attach();
        t.add_consumed(10 * 24_000, 24_000);
        // Still generating: cut to what arrived.
        assert_eq!(
            audio_end_ms(&item(640), Some(&t), SECOND, None, true),
            Some(640)
        );
        // Complete and heard in full: nothing to cut.
        assert_eq!(
            audio_end_ms(&item(640), Some(&t), SECOND, None, false),
            None
        );
    }
}
