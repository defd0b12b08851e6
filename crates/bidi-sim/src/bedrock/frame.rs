//! The AWS event-stream framing of Bedrock's bidirectional stream: unwrapping the client's
//! signed input frames and writing output chunks and exceptions.

use aws_smithy_eventstream::frame::{read_message_from, write_message_to};
use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use serde_json::Value;

use super::SimError;

/// What one input frame held.
#[derive(Debug, PartialEq)]
pub enum Inbound {
    /// The JSON event of an input chunk.
    Event(Value),
    /// The empty signed frame that ends the input stream.
    End,
}

fn header<'a>(m: &'a Message, name: &str) -> Option<&'a HeaderValue> {
    m.headers()
        .iter()
        .find(|h| h.name().as_str() == name)
        .map(Header::value)
}

/// Decodes one input frame: unwraps the SigV4 envelope (`:chunk-signature`), then reads the
/// inner `chunk` message and its `{"bytes": <base64 JSON>}` payload.
pub fn decode_input(outer: &Message) -> Result<Inbound, SimError> {
    let inner = if header(outer, ":chunk-signature").is_some() {
        if outer.payload().is_empty() {
            return Ok(Inbound::End);
        }
        read_message_from(outer.payload().clone())
            .map_err(|e| SimError::Frame(format!("inner message: {e}")))?
    } else {
        outer.clone()
    };
    let payload: Value = serde_json::from_slice(inner.payload())
        .map_err(|e| SimError::Frame(format!("chunk payload is not JSON: {e}")))?;
    let b64 = payload
        .get("bytes")
        .and_then(Value::as_str)
        .ok_or_else(|| SimError::Frame("chunk payload has no `bytes`".into()))?;
    let json = B64
        .decode(b64)
        .map_err(|e| SimError::Frame(format!("chunk bytes are not base64: {e}")))?;
    let event = serde_json::from_slice(&json)
        .map_err(|e| SimError::Frame(format!("chunk bytes are not JSON: {e}")))?;
    Ok(Inbound::Event(event))
}

fn encode(message: &Message) -> Bytes {
    let mut out = Vec::new();
    // Writing to a Vec fails only for oversized headers, which we never build.
    if let Err(e) = write_message_to(message, &mut out) {
        tracing::error!("error=<{e}> | could not encode an event-stream frame");
    }
    Bytes::from(out)
}

/// An output `chunk` frame whose `bytes` are `raw` (normally a JSON event).
pub fn chunk(raw: &[u8]) -> Bytes {
    let payload = serde_json::json!({ "bytes": B64.encode(raw) }).to_string();
    encode(
        &Message::new(Bytes::from(payload))
            .add_header(Header::new(
                ":message-type",
                HeaderValue::String("event".into()),
            ))
            .add_header(Header::new(
                ":event-type",
                HeaderValue::String("chunk".into()),
            ))
            .add_header(Header::new(
                ":content-type",
                HeaderValue::String("application/json".into()),
            )),
    )
}

/// An exception frame: `exception_type` as Bedrock spells it in `:exception-type`
/// (`modelTimeoutException`, `validationException`, ...), with `{"message"}`.
pub fn exception(exception_type: &str, message: &str) -> Bytes {
    let payload = serde_json::json!({ "message": message }).to_string();
    encode(
        &Message::new(Bytes::from(payload))
            .add_header(Header::new(
                ":message-type",
                HeaderValue::String("exception".into()),
            ))
            .add_header(Header::new(
                ":exception-type",
                HeaderValue::String(exception_type.to_owned().into()),
            ))
            .add_header(Header::new(
                ":content-type",
                HeaderValue::String("application/json".into()),
            )),
    )
}

/// `ValidationException` → `validationException`: the header spelling of an exception name.
pub fn exception_type(code: &str) -> String {
    let mut chars = code.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => "internalServerException".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_eventstream::frame::{DecodedFrame, MessageFrameDecoder};

    #[test]
    fn unsigned_chunks_round_trip() {
        let frame = chunk(br#"{"event":{"sessionEnd":{}}}"#);
        let mut buf = bytes::BytesMut::from(&frame[..]);
        let mut dec = MessageFrameDecoder::new();
        let DecodedFrame::Complete(msg) = dec.decode_frame(&mut buf).expect("frame") else {
            panic!("incomplete frame");
        };
        assert_eq!(
            decode_input(&msg).expect("event"),
            Inbound::Event(serde_json::json!({"event": {"sessionEnd": {}}}))
        );
        assert_eq!(
            exception_type("ModelTimeoutException"),
            "modelTimeoutException"
        );
    }
}
