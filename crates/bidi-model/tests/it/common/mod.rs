//! Helpers shared by the Nova Sonic tests against the Bedrock simulator.
#![allow(dead_code)]

use std::time::Duration;

use aws_sdk_bedrockruntime::Client;
use aws_sdk_bedrockruntime::config::{BehaviorVersion, Credentials, Region};
use bidi_model::nova_sonic::{BidiNovaSonicModel, NovaSonicConfig};
use bidi_sim::bedrock::{BedrockSim, event_name};
use bidi_sim::{Action, Trigger};
use bidi_types::{
    AudioFormat, BidiAudioInputEvent, BidiModel, BidiOutputEvent, Channels, ModelError,
    ModelEventStream, Role, SampleRate,
};
use futures_util::StreamExt;
use serde_json::Value;

/// Upper bound against hangs, never a timing assertion.
pub const HANG: Duration = Duration::from_secs(20);

pub fn credentials() -> Credentials {
    Credentials::new("AKIDTEST", "test-secret", None, None, "test")
}

pub fn client(endpoint: &str) -> Client {
    let config = aws_sdk_bedrockruntime::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(credentials())
        .endpoint_url(endpoint)
        .build();
    Client::from_conf(config)
}

pub fn model(
    sim: &BedrockSim,
    tune: impl FnOnce(NovaSonicConfig) -> NovaSonicConfig,
) -> BidiNovaSonicModel {
    let config = tune(NovaSonicConfig::default().with_client(client(&sim.endpoint())));
    BidiNovaSonicModel::new(config).expect("valid config")
}

pub fn text(s: &str) -> Trigger {
    Trigger::Text { contains: s.into() }
}

pub fn say(s: &str) -> Action {
    Action::Say {
        text: s.into(),
        chunk: 0,
    }
}

pub async fn next(events: &mut ModelEventStream) -> Option<Result<BidiOutputEvent, ModelError>> {
    tokio::time::timeout(HANG, events.next())
        .await
        .expect("the model stream hung")
}

/// Events up to and including the first that `stop` accepts; panics on an `Err` item.
pub async fn until(
    events: &mut ModelEventStream,
    stop: impl Fn(&BidiOutputEvent) -> bool,
) -> Vec<BidiOutputEvent> {
    let mut seen = Vec::new();
    loop {
        match next(events).await {
            Some(Ok(e)) => {
                let done = stop(&e);
                seen.push(e);
                if done {
                    return seen;
                }
            }
            other => panic!("stream ended with {other:?} after {seen:?}"),
        }
    }
}

pub fn is_complete(e: &BidiOutputEvent) -> bool {
    matches!(e, BidiOutputEvent::ResponseComplete(_))
}

pub fn finals(events: &[BidiOutputEvent], role: Role) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            BidiOutputEvent::TranscriptStream(t) if t.is_final() && t.role() == role => {
                Some(t.text().to_owned())
            }
            _ => None,
        })
        .collect()
}

pub fn named<'a>(events: &'a [Value], name: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| event_name(e) == Some(name))
        .collect()
}

/// The `textInput` contents of a connection with the role and interactivity of their
/// content, in order.
pub fn text_inputs(events: &[Value]) -> Vec<(String, bool, String)> {
    let mut out = Vec::new();
    for e in events {
        if let Some(t) = e.pointer("/event/textInput") {
            let name = t["contentName"].as_str().unwrap_or_default();
            let start = events
                .iter()
                .find_map(|s| {
                    s.pointer("/event/contentStart")
                        .filter(|c| c["contentName"] == name)
                })
                .cloned()
                .unwrap_or(Value::Null);
            out.push((
                start["role"].as_str().unwrap_or_default().to_owned(),
                start["interactive"].as_bool().unwrap_or(false),
                t["content"].as_str().unwrap_or_default().to_owned(),
            ));
        }
    }
    out
}

pub fn voiced_audio(events: &[Value]) -> usize {
    named(events, "audioInput")
        .iter()
        .filter(|e| {
            use base64::Engine;
            let b64 = e["event"]["audioInput"]["content"].as_str().unwrap_or("");
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap_or_default()
                .iter()
                .any(|b| *b != 0)
        })
        .count()
}

pub async fn send_tone(model: &BidiNovaSonicModel, ms: u64) {
    let mut pos = 0;
    for _ in 0..ms / 50 {
        let pcm = bidi_sim::tone::pcm16(16_000, 50, 300.0, pos);
        pos += 800;
        let e = BidiAudioInputEvent::from_bytes(
            &pcm,
            AudioFormat::Pcm,
            SampleRate::Hz16000,
            Channels::Mono,
        );
        model.send(e.into()).await.expect("audio sent");
    }
}
