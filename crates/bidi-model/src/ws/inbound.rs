//! [`Inbound`]: what the next item of a [`WsReceiver`](super::WsReceiver) means for a
//! provider's connection, the same for every WebSocket provider.

use bidi_types::ModelError;

use super::{WsError, WsIncoming};

/// The next item of a provider's socket, classified.
#[derive(Debug)]
pub enum Inbound {
    /// A message to decode (from a text frame, or a binary frame holding UTF-8 JSON).
    Text(String),
    /// A binary frame that is not UTF-8: reported as a `bidi_error` event, and the
    /// connection goes on.
    Malformed(ModelError),
    /// The connection is over: `None` when the client was stopping it (a clean end), else
    /// the error that ended it (a close frame, whatever its code, is an error, not a
    /// restartable timeout).
    End(Option<ModelError>),
}

impl Inbound {
    /// Classifies `frame` (what [`WsReceiver::recv`](super::WsReceiver::recv) returned) for
    /// the connection `connection_id`, which the client is `stopping` or not.
    pub fn classify(
        frame: Option<Result<WsIncoming, WsError>>,
        stopping: bool,
        connection_id: &str,
    ) -> Self {
        match frame {
            Some(Ok(WsIncoming::Text(text))) => Self::Text(text),
            Some(Ok(WsIncoming::Binary(bytes))) => match String::from_utf8(bytes) {
                Ok(text) => Self::Text(text),
                Err(e) => Self::Malformed(ModelError::Protocol(format!(
                    "binary frame is not UTF-8: {e}"
                ))),
            },
            Some(Ok(WsIncoming::Close(_))) | Some(Err(_)) | None if stopping => Self::End(None),
            Some(Ok(WsIncoming::Close(info))) => {
                let (code, reason) = info.map_or((1005, String::new()), |i| (i.code, i.reason));
                Self::End(Some(ModelError::Closed(format!(
                    "code=<{code}>, reason=<{reason}> | server closed the connection"
                ))))
            }
            Some(Err(e)) => Self::End(Some(ModelError::Connection {
                message: format!("connection_id=<{connection_id}> | connection broke: {e}"),
                source: Some(Box::new(e)),
            })),
            None => Self::End(Some(ModelError::Closed("connection ended".to_owned()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ws::CloseInfo;

    #[test]
    fn frames_are_classified() {
        let text = Inbound::classify(Some(Ok(WsIncoming::Text("{}".into()))), false, "c");
        assert!(matches!(text, Inbound::Text(t) if t == "{}"));
        let binary = Inbound::classify(Some(Ok(WsIncoming::Binary(b"{}".to_vec()))), false, "c");
        assert!(matches!(binary, Inbound::Text(t) if t == "{}"));
        let bad = Inbound::classify(Some(Ok(WsIncoming::Binary(vec![0xff, 0xfe]))), false, "c");
        assert!(matches!(bad, Inbound::Malformed(ModelError::Protocol(_))));
        let close = Some(Ok(WsIncoming::Close(Some(CloseInfo {
            code: 1011,
            reason: "Deadline expired".into(),
        }))));
        match Inbound::classify(close, false, "c") {
            Inbound::End(Some(e @ ModelError::Closed(_))) => {
                assert!(e.to_string().contains("code=<1011>"));
                assert!(!e.is_timeout());
            }
            other => panic!("{other:?}"),
        }
        let closing = Some(Ok(WsIncoming::Close(None)));
        assert!(matches!(
            Inbound::classify(closing, true, "c"),
            Inbound::End(None)
        ));
        assert!(matches!(
            Inbound::classify(None, true, "c"),
            Inbound::End(None)
        ));
        assert!(matches!(
            Inbound::classify(None, false, "c"),
            Inbound::End(Some(ModelError::Closed(_)))
        ));
    }
}
