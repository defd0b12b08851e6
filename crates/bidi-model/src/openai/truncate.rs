//! How much of an interrupted assistant item the user heard, for
//! `conversation.item.truncate`.

use std::time::Duration;

use bidi_types::PlaybackTracker;

use super::decode::AudioItem;

/// The `audio_end_ms` to truncate `item` to, or `None` when nothing of it was played (the
/// service rejects `0`).
///
/// With an attached `tracker` the heard part is what the output consumed of the item
/// ([`PlaybackTracker::heard_of_item`]); otherwise it is `since_first_audio`, the time since
/// the item's first audio arrived (audio plays about as fast as it arrives). Either way it
/// never exceeds the audio received for the item.
///
/// ```
/// use std::time::Duration;
/// use bidi_model::openai::decode::AudioItem;
/// use bidi_model::openai::truncate::audio_end_ms;
/// use bidi_types::PlaybackTracker;
///
/// let item = AudioItem { item_id: "i".into(), content_index: 0, received: Duration::from_millis(800) };
/// // No tracker: the wall clock since the first delta, capped at what arrived.
/// assert_eq!(audio_end_ms(&item, None, Duration::from_millis(800), Some(Duration::from_secs(3))), Some(800));
/// // A tracker that consumed 500 ms of 1000 ms emitted in all: 300 ms of this item heard.
/// let t = PlaybackTracker::new();
/// t.attach();
/// t.add_consumed(12_000, 24_000);
/// assert_eq!(audio_end_ms(&item, Some(&t), Duration::from_millis(1000), None), Some(300));
/// ```
pub fn audio_end_ms(
    item: &AudioItem,
    tracker: Option<&PlaybackTracker>,
    emitted_total: Duration,
    since_first_audio: Option<Duration>,
) -> Option<u64> {
    let heard = match tracker.filter(|t| t.is_attached()) {
        Some(t) => t.heard_of_item(item.received, emitted_total),
        None => since_first_audio.unwrap_or(Duration::ZERO),
    };
    let ms = u64::try_from(heard.min(item.received).as_millis()).unwrap_or(u64::MAX);
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
        }
    }

    #[test]
    fn nothing_played_means_no_truncate() {
        let t = PlaybackTracker::new();
        t.attach();
        // 2 s emitted, nothing consumed: the item (last 1 s) unheard.
        assert_eq!(
            audio_end_ms(&item(1000), Some(&t), Duration::from_secs(2), None),
            None
        );
        assert_eq!(audio_end_ms(&item(1000), None, Duration::ZERO, None), None);
        assert_eq!(
            audio_end_ms(
                &item(1000),
                None,
                Duration::ZERO,
                Some(Duration::from_micros(900))
            ),
            None
        );
    }

    #[test]
    fn detached_tracker_falls_back_to_the_clock() {
        let t = PlaybackTracker::new();
        t.add_consumed(24_000, 24_000);
        assert_eq!(
            audio_end_ms(
                &item(1000),
                Some(&t),
                Duration::from_secs(1),
                Some(Duration::from_millis(250))
            ),
            Some(250)
        );
    }

    #[test]
    fn never_beyond_the_audio_received() {
        let t = PlaybackTracker::new();
        t.attach();
        t.add_consumed(10 * 24_000, 24_000);
        assert_eq!(
            audio_end_ms(&item(640), Some(&t), Duration::from_secs(1), None),
            Some(640)
        );
    }
}
