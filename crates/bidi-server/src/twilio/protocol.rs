//! Twilio Media Streams messages, as Twilio documents them: what Twilio sends ([`parse`])
//! and what the server sends back ([`media`], [`mark`], [`clear`]). Pure: text in, values
//! out.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// Why a Twilio message was skipped.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// Not JSON, or not the shape Twilio documents for its `event`.
    #[error("not a Twilio Media Streams message: {0}")]
    Malformed(#[from] serde_json::Error),
}

/// One message from Twilio.
#[derive(Debug, Clone, PartialEq)]
pub enum TwilioEvent {
    /// `connected`: the socket is up.
    Connected,
    /// `start`: the stream's metadata.
    Start(StreamStart),
    /// `media`: a chunk of the caller's audio.
    Media {
        /// `inbound` (the caller) or `outbound`.
        track: String,
        /// Base64 μ-law, 8 kHz mono.
        payload: String,
    },
    /// `mark`: the echo of a mark the server sent, once the audio before it has played (or
    /// at once, for every pending mark, after a `clear`).
    Mark {
        /// The mark's name.
        name: String,
    },
    /// `dtmf`: a key the caller pressed.
    Dtmf {
        /// The digit (`0`-`9`, `*`, `#`).
        digit: String,
    },
    /// `stop`: the call ended.
    Stop,
    /// An event this server does not use.
    Other(String),
}

/// The `start` message's metadata.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StreamStart {
    /// Identifies the stream in every message back.
    pub stream_sid: String,
    /// The call.
    pub call_sid: String,
    /// The account.
    pub account_sid: String,
    /// The `<Parameter>`s of the TwiML `<Stream>`.
    pub custom_parameters: Map<String, Value>,
    /// The audio's encoding (`audio/x-mulaw`).
    pub encoding: String,
    /// Its rate (8000).
    pub sample_rate: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartWire {
    #[serde(default)]
    stream_sid: String,
    start: StartBody,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct StartBody {
    stream_sid: String,
    call_sid: String,
    account_sid: String,
    custom_parameters: Map<String, Value>,
    media_format: MediaFormat,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct MediaFormat {
    encoding: String,
    sample_rate: u32,
}

#[derive(Deserialize)]
struct MediaWire {
    media: MediaBody,
}

#[derive(Deserialize)]
struct MediaBody {
    #[serde(default = "inbound")]
    track: String,
    payload: String,
}

fn inbound() -> String {
    "inbound".to_owned()
}

#[derive(Deserialize)]
struct MarkWire {
    mark: Named,
}

#[derive(Deserialize)]
struct Named {
    name: String,
}

#[derive(Deserialize)]
struct DtmfWire {
    dtmf: Digit,
}

#[derive(Deserialize)]
struct Digit {
    digit: String,
}

/// The `event` tag alone (the rest of the message is skipped, not built).
#[derive(Deserialize)]
struct Tagged<'a> {
    #[serde(borrow)]
    event: std::borrow::Cow<'a, str>,
}

/// Parses one text frame from Twilio.
///
/// ```
/// use bidi_server::twilio::protocol::{TwilioEvent, parse};
///
/// let e = parse(r#"{"event":"media","sequenceNumber":"3","media":{"track":"inbound","chunk":"2","timestamp":"40","payload":"//8="},"streamSid":"MZ1"}"#).unwrap();
/// assert_eq!(e, TwilioEvent::Media { track: "inbound".into(), payload: "//8=".into() });
/// assert!(parse("{").is_err());
/// ```
pub fn parse(text: &str) -> Result<TwilioEvent, ProtocolError> {
    // The tag first, then the message as its own type, both straight from the text: media
    // and marks come 50 times a second per call, so no JSON tree is built for them.
    let tag: Tagged<'_> = serde_json::from_str(text)?;
    Ok(match tag.event.as_ref() {
        "connected" => TwilioEvent::Connected,
        "start" => {
            let wire: StartWire = serde_json::from_str(text)?;
            let body = wire.start;
            TwilioEvent::Start(StreamStart {
                stream_sid: if body.stream_sid.is_empty() {
                    wire.stream_sid
                } else {
                    body.stream_sid
                },
                call_sid: body.call_sid,
                account_sid: body.account_sid,
                custom_parameters: body.custom_parameters,
                encoding: body.media_format.encoding,
                sample_rate: body.media_format.sample_rate,
            })
        }
        "media" => {
            let wire: MediaWire = serde_json::from_str(text)?;
            TwilioEvent::Media {
                track: wire.media.track,
                payload: wire.media.payload,
            }
        }
        "mark" => TwilioEvent::Mark {
            name: serde_json::from_str::<MarkWire>(text)?.mark.name,
        },
        "dtmf" => TwilioEvent::Dtmf {
            digit: serde_json::from_str::<DtmfWire>(text)?.dtmf.digit,
        },
        "stop" => TwilioEvent::Stop,
        other => TwilioEvent::Other(other.to_owned()),
    })
}

/// A message for Twilio: its `event`, the stream, and the one body it carries (keys in
/// Twilio's documented order).
#[derive(Serialize)]
struct Outgoing<'a, K: Serialize> {
    event: &'a str,
    #[serde(rename = "streamSid")]
    stream_sid: &'a str,
    #[serde(flatten)]
    body: K,
}

#[derive(Serialize)]
struct MediaOut<'a> {
    media: PayloadOut<'a>,
}

#[derive(Serialize)]
struct PayloadOut<'a> {
    payload: &'a str,
}

#[derive(Serialize)]
struct MarkOut<'a> {
    mark: NameOut<'a>,
}

#[derive(Serialize)]
struct NameOut<'a> {
    name: &'a str,
}

fn outgoing(event: &str, stream_sid: &str, body: impl Serialize) -> String {
    let message = Outgoing {
        event,
        stream_sid,
        body,
    };
    // Plain strings only: serialising cannot fail.
    serde_json::to_string(&message).unwrap_or_default()
}

/// A `media` message carrying base64 μ-law `payload` to the caller.
pub fn media(stream_sid: &str, payload: &str) -> String {
    let media = PayloadOut { payload };
    outgoing("media", stream_sid, MediaOut { media })
}

/// A `mark` message named `name`, echoed by Twilio once the audio before it has played.
pub fn mark(stream_sid: &str, name: &str) -> String {
    let mark = NameOut { name };
    outgoing("mark", stream_sid, MarkOut { mark })
}

/// A `clear` message: Twilio drops the audio it has not played yet.
pub fn clear(stream_sid: &str) -> String {
    json!({"event": "clear", "streamSid": stream_sid}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twilios_documented_messages_parse() {
        let start = r#"{"event":"start","sequenceNumber":"1","start":{"accountSid":"AC1","streamSid":"MZ1","callSid":"CA1","tracks":["inbound"],"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1},"customParameters":{"caller":"+1555"}},"streamSid":"MZ1"}"#;
        let TwilioEvent::Start(s) = parse(start).expect("start") else {
            panic!("start")
        };
        assert_eq!(
            (
                s.stream_sid.as_str(),
                s.call_sid.as_str(),
                s.account_sid.as_str()
            ),
            ("MZ1", "CA1", "AC1")
        );
        assert_eq!(s.custom_parameters["caller"], "+1555");
        assert_eq!(
            (s.encoding.as_str(), s.sample_rate),
            ("audio/x-mulaw", 8000)
        );
        assert_eq!(
            parse(r#"{"event":"connected","protocol":"Call","version":"1.0.0"}"#)
                .expect("connected"),
            TwilioEvent::Connected
        );
        assert_eq!(
            parse(
                r#"{"event":"mark","sequenceNumber":"4","streamSid":"MZ1","mark":{"name":"m1"}}"#
            )
            .expect("mark"),
            TwilioEvent::Mark { name: "m1".into() }
        );
        assert_eq!(
            parse(r#"{"event":"dtmf","streamSid":"MZ1","sequenceNumber":"5","dtmf":{"track":"inbound_track","digit":"7"}}"#).expect("dtmf"),
            TwilioEvent::Dtmf { digit: "7".into() }
        );
        assert_eq!(parse(r#"{"event":"stop","sequenceNumber":"6","streamSid":"MZ1","stop":{"accountSid":"AC1","callSid":"CA1"}}"#).expect("stop"), TwilioEvent::Stop);
        assert_eq!(
            parse(r#"{"event":"later"}"#).expect("other"),
            TwilioEvent::Other("later".into())
        );
    }

    #[test]
    fn malformed_messages_are_errors() {
        for bad in [
            "",
            "[]",
            r#"{"no":"event"}"#,
            r#"{"event":"media"}"#,
            r#"{"event":"mark","mark":{}}"#,
            r#"{"event":"start"}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn messages_out_have_twilios_shape() {
        let m: Value = serde_json::from_str(&media("MZ1", "//8=")).expect("json");
        assert_eq!(
            m,
            json!({"event": "media", "streamSid": "MZ1", "media": {"payload": "//8="}})
        );
        let k: Value = serde_json::from_str(&mark("MZ1", "3")).expect("json");
        assert_eq!(k["mark"]["name"], "3");
        assert_eq!(
            mark("MZ\"1", "3"),
            r#"{"event":"mark","streamSid":"MZ\"1","mark":{"name":"3"}}"#
        );
        let c: Value = serde_json::from_str(&clear("MZ1")).expect("json");
        assert_eq!(c, json!({"event": "clear", "streamSid": "MZ1"}));
    }
}
