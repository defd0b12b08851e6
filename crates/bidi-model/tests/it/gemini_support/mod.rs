//! What the Gemini Live end-to-end tests share: a client pointed at a `GeminiSim`, and
//! helpers reading the event stream.
#![allow(dead_code)]

use std::time::Duration;

use bidi_model::gemini::{BidiGeminiLiveModel, GeminiLiveConfig};
use bidi_sim::gemini::GeminiSimHandle;
use bidi_types::*;
use futures_util::StreamExt;

pub const WAIT: Duration = Duration::from_secs(20);

pub fn model(sim: &GeminiSimHandle) -> BidiGeminiLiveModel {
    model_with(sim, GeminiLiveConfig::default())
}

pub fn model_with(sim: &GeminiSimHandle, cfg: GeminiLiveConfig) -> BidiGeminiLiveModel {
    BidiGeminiLiveModel::new(cfg.with_api_key("test-key").with_base_url(sim.base_url()))
        .expect("model")
}

/// Events until (and including) the first one `stop` accepts; panics on an error item.
pub async fn until(
    events: &mut ModelEventStream,
    stop: impl Fn(&BidiOutputEvent) -> bool,
) -> Vec<BidiOutputEvent> {
    let mut seen = Vec::new();
    let collect = async {
        while let Some(item) = events.next().await {
            let e = item.expect("no error item");
            let done = stop(&e);
            seen.push(e);
            if done {
                return;
            }
        }
    };
    tokio::time::timeout(WAIT, collect)
        .await
        .expect("events in time");
    seen
}

/// The first error item of the stream (events before it are skipped).
pub async fn first_error(events: &mut ModelEventStream) -> ModelError {
    let find = async {
        while let Some(item) = events.next().await {
            if let Err(e) = item {
                return Some(e);
            }
        }
        None
    };
    tokio::time::timeout(WAIT, find)
        .await
        .expect("in time")
        .expect("an error item")
}

pub fn types(evs: &[BidiOutputEvent]) -> Vec<&'static str> {
    evs.iter().map(BidiOutputEvent::event_type).collect()
}

pub fn is_complete(e: &BidiOutputEvent) -> bool {
    matches!(e, BidiOutputEvent::ResponseComplete(_))
}

pub fn finals(evs: &[BidiOutputEvent], role: Role) -> Vec<String> {
    evs.iter()
        .filter_map(|e| match e {
            BidiOutputEvent::TranscriptStream(t) if t.is_final() && t.role() == role => {
                Some(t.text().to_owned())
            }
            _ => None,
        })
        .collect()
}
