//! Helpers shared by the OpenAI integration tests.
#![allow(dead_code)]

use std::time::Duration;

use bidi_model::openai::{BidiOpenAIRealtimeModel, OpenAiRealtimeConfig};
use bidi_types::{BidiOutputEvent, ModelError, ModelEventStream};
use futures_util::StreamExt;

/// Upper bound against hangs; never a timing assertion.
pub const HANG: Duration = Duration::from_secs(20);

/// A model pointed at `url` with a test key.
pub fn model(url: &str) -> BidiOpenAIRealtimeModel {
    model_with(OpenAiRealtimeConfig::new().endpoint(url))
}

/// A model from `config` with a test key.
pub fn model_with(config: OpenAiRealtimeConfig) -> BidiOpenAIRealtimeModel {
    BidiOpenAIRealtimeModel::new(config.api_key("sk-test-not-a-key")).expect("valid config")
}

/// The next item of the stream.
pub async fn next(events: &mut ModelEventStream) -> Option<Result<BidiOutputEvent, ModelError>> {
    tokio::time::timeout(HANG, events.next())
        .await
        .expect("no event before the hang guard")
}

/// Events until one matches `stop` (included).
pub async fn until(
    events: &mut ModelEventStream,
    stop: impl Fn(&BidiOutputEvent) -> bool,
) -> Vec<BidiOutputEvent> {
    let mut seen = Vec::new();
    loop {
        match next(events).await {
            Some(Ok(event)) => {
                let done = stop(&event);
                seen.push(event);
                if done {
                    return seen;
                }
            }
            other => panic!("stream ended before the expected event: {other:?}; seen {seen:?}"),
        }
    }
}

/// The `type` of each event.
pub fn types(events: &[BidiOutputEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| e.to_json()["type"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Whether the event is the end of a response.
pub fn is_complete(e: &BidiOutputEvent) -> bool {
    matches!(e, BidiOutputEvent::ResponseComplete(_))
}
