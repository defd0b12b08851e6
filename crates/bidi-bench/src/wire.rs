//! The wire floor (`--client wire`): the same WebSocket traffic as a bidi session, with
//! nothing else.
//!
//! One task per session, on the same runtime and the same tokio-tungstenite stack as
//! `BidiOpenAIRealtimeModel`, sends exactly the frames a bidi session sends for the same
//! [`BenchInput`] (pre-templated JSON, no `serde_json` tree, no validation) and reads the
//! server's frames with a substring search instead of a parser: no agent, no event types,
//! no channels, no hooks. What this client costs per chunk at real-time pace is what any
//! client of this protocol pays on this machine for the socket traffic and the wake-ups:
//! the floor under bidi's own figure, measured the same way in the same kind of child.

use std::sync::Arc;
use std::time::Instant;

use bidi_types::{BidiInput, BidiInputEvent};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use crate::session::{BenchInput, SessionState, lock, now_ns, stamp_latency_ns};

/// Why a wire session ended early.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The WebSocket handshake or a frame failed.
    #[error("websocket: {0}")]
    Ws(#[from] tokio_tungstenite::tungstenite::Error),
    /// The bench input failed.
    #[error("input: {0}")]
    Input(String),
}

/// The frames a bidi session sends for one input event (see `bidi_model::openai::encode`).
fn frames(event: &BidiInputEvent) -> Vec<String> {
    match event {
        BidiInputEvent::Audio(a) => vec![format!(
            r#"{{"type":"input_audio_buffer.append","audio":"{}"}}"#,
            a.audio()
        )],
        BidiInputEvent::Text(t) => vec![
            serde_json::json!({"type": "conversation.item.create", "item": {
                "type": "message", "role": "user",
                "content": [{"type": "input_text", "text": t.text()}]}})
            .to_string(),
            r#"{"type":"response.create"}"#.to_owned(),
        ],
        _ => Vec::new(),
    }
}

/// The `delta` string of a `response.output_audio.delta` frame, found without parsing.
fn audio_delta(frame: &str) -> Option<&str> {
    if !frame.contains(r#""response.output_audio.delta""#) {
        return None;
    }
    let start = frame.find(r#""delta":""#)? + 9;
    let len = frame.get(start..)?.find('"')?;
    frame.get(start..start + len)
}

/// Records one server frame as `BenchOutput` records the matching agent event.
fn record(frame: &str, state: &SessionState) {
    let now = now_ns();
    if let Some(delta) = audio_delta(frame) {
        let lat = stamp_latency_ns(delta, now);
        let m = Instant::now();
        let mut o = lock(&state.output);
        if let Some(lat) = lat {
            o.lat_ns.push(lat);
        }
        o.audio_first.get_or_insert(m);
        o.audio_last = Some(m);
        o.audio_chunks += 1;
    } else if frame.contains(r#""type":"response.done""#) {
        let mut o = lock(&state.output);
        o.complete.push((now as f64, "Complete".to_owned()));
        let n = o.complete.len();
        drop(o);
        state.completes.send_replace(n);
    }
}

/// Runs one wire session: connect (`?model=<model_id>`, bearer key), send the same
/// `session.update` shape as bidi, then pump the input and the server's frames in one task.
pub async fn session(
    url: &str,
    model_id: &str,
    mut input: BenchInput,
    state: Arc<SessionState>,
) -> Result<(), WireError> {
    let sep = if url.contains('?') { '&' } else { '?' };
    let mut request = format!("{url}{sep}model={model_id}").into_client_request()?;
    request
        .headers_mut()
        .insert("Authorization", HeaderValue::from_static("Bearer fake-key"));
    let (ws, _) = tokio_tungstenite::connect_async_with_config(request, None, true).await?;
    let (mut sink, mut stream) = ws.split();
    let rate = input.rate_hz();
    let update = serde_json::json!({"type": "session.update", "session": {
        "type": "realtime", "instructions": "benchmark", "output_modalities": ["audio"],
        "audio": {
            "input": {"format": {"type": "audio/pcm", "rate": rate}},
            "output": {"format": {"type": "audio/pcm", "rate": 24000}}}}});
    sink.send(Message::text(update.to_string())).await?;
    state.connected.send_replace(true);
    loop {
        tokio::select! {
            event = input.read() => {
                match event.map_err(|e| WireError::Input(e.to_string()))? {
                    Some(event) => {
                        for f in frames(&event) {
                            sink.send(Message::Text(Utf8Bytes::from(f))).await?;
                        }
                    }
                    None => return Ok(()),
                }
            }
            frame = stream.next() => match frame {
                Some(Ok(Message::Text(text))) => record(text.as_str(), &state),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
                None => return Ok(()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delta_is_found_without_a_parser() {
        let f = r#"{"type":"response.output_audio.delta","response_id":"r","delta":"QUJD","item_id":"i"}"#;
        assert_eq!(audio_delta(f), Some("QUJD"));
        assert_eq!(audio_delta(r#"{"type":"response.done","delta":"x"}"#), None);
        assert_eq!(
            audio_delta(r#"{"type":"response.output_audio.delta","delta":"QU"#),
            None
        );
    }

    #[test]
    fn text_becomes_an_item_and_a_response() {
        let f = frames(&BidiInputEvent::from("audio 1 realtime"));
        assert_eq!(f.len(), 2);
        let item: serde_json::Value = serde_json::from_str(&f[0]).unwrap_or_default();
        assert_eq!(item["item"]["content"][0]["text"], "audio 1 realtime");
        assert_eq!(f[1], r#"{"type":"response.create"}"#);
    }
}
