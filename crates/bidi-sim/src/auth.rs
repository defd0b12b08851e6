//! Opt-in credential checks. Off by default (every simulator takes any credentials); given
//! the one credential to accept, a simulator turns every other away the way its provider
//! does, so a real client sees what production would show it:
//!
//! - **OpenAI Realtime** (`Authorization: Bearer <key>`): the upgrade completes, then one
//!   `error` event (`type: invalid_request_error`, `code: invalid_api_key`, the message
//!   naming the key masked) and a close with code [`OPENAI_CLOSE_CODE`] (3000), reason
//!   `invalid_request_error.invalid_api_key`. Without the header the code is `null` and the
//!   message says the bearer is missing.
//! - **Gemini Live** (the `key` query parameter or the `x-goog-api-key` header): the upgrade
//!   completes, then a close with code 1007 and [`GEMINI_INVALID_KEY`].
//! - **Bedrock** (the SigV4 `Authorization` header's `Credential=<access key id>/...`): HTTP
//!   403, `x-amzn-errortype: UnrecognizedClientException`, body
//!   `{"message":"The security token included in the request is invalid."}`. Only the access
//!   key id is compared: the signature is not verified.
//!
//! The rejections never echo a whole key.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use bidi_sim::Script;
//! use bidi_sim::bedrock::BedrockSim;
//! use bidi_sim::gemini::{GeminiSim, GeminiSimOptions};
//! use bidi_sim::openai::{OpenAiSim, OpenAiSimOptions};
//!
//! let openai = OpenAiSim::start_with(Script::new(), OpenAiSimOptions {
//!     require_key: Some("sk-test-right".into()),
//!     ..OpenAiSimOptions::default()
//! }).await?;
//! let gemini = GeminiSim::start_with(Script::new(), GeminiSimOptions {
//!     require_key: Some("test-right".into()),
//!     ..GeminiSimOptions::default()
//! }).await?;
//! let bedrock = BedrockSim::start(Script::new()).await?;
//! bedrock.require_access_key_id(Some("AKIDTESTRIGHT".into()));
//! # openai.shutdown().await; gemini.shutdown().await; bedrock.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! The helpers that find each credential in a request:
//!
//! ```
//! use bidi_sim::auth::{aws_access_key_id, mask_key};
//!
//! let auth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/us-east-1/bedrock/aws4_request, \
//!             SignedHeaders=host, Signature=abc";
//! assert_eq!(aws_access_key_id(auth), Some("AKIDEXAMPLE"));
//! assert_eq!(mask_key("sk-test-0123456789abcdef"), "sk-***cdef");
//! ```

use std::sync::Arc;

use serde_json::json;
use tokio::sync::mpsc;

use crate::recording::Recorder;
use crate::ws::{self, Outgoing, RequestInfo, ServerSocket};

/// The close code OpenAI Realtime ends a session with after an authentication error.
pub const OPENAI_CLOSE_CODE: u16 = 3000;

/// The close code Gemini Live rejects an API key with (1007, invalid payload data).
pub const GEMINI_CLOSE_CODE: u16 = 1007;

/// Gemini Live's close reason for an API key it does not accept.
pub const GEMINI_INVALID_KEY: &str = "API key not valid. Please pass a valid API key.";

/// Bedrock's error type for an access key id it does not know.
pub const AWS_UNRECOGNIZED_CLIENT: &str = "UnrecognizedClientException";

/// Bedrock's message for an access key id it does not know.
pub const AWS_INVALID_TOKEN: &str = "The security token included in the request is invalid.";

/// `key` with all but its first three and last four characters hidden (all of it when it
/// is short), as OpenAI shows keys in its errors.
pub fn mask_key(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() < 12 {
        return "***".to_owned();
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}***{tail}")
}

/// The bearer token of an OpenAI upgrade request, if any.
pub fn openai_bearer(request: &RequestInfo) -> Option<&str> {
    let value = request.header("authorization")?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The API key of a Gemini upgrade request: the `key` query parameter (percent-decoded), else
/// the `x-goog-api-key` header.
pub fn gemini_key(request: &RequestInfo) -> Option<String> {
    let from_query = request.query.as_deref().and_then(|q| {
        q.split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(name, _)| *name == "key")
            .map(|(_, value)| percent_decode(value))
    });
    from_query.or_else(|| request.header("x-goog-api-key").map(str::to_owned))
}

/// The access key id in a SigV4 `Authorization` header (`... Credential=<id>/<scope>, ...`).
pub fn aws_access_key_id(authorization: &str) -> Option<&str> {
    let (_, rest) = authorization.split_once("Credential=")?;
    let id = rest.split(['/', ',', ' ']).next()?;
    (!id.is_empty()).then_some(id)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether `presented` is the `required` credential (always, when nothing is required).
pub(crate) fn accepts(required: Option<&str>, presented: Option<&str>) -> bool {
    required.is_none_or(|r| presented == Some(r))
}

/// Serves a rejected connection: queues `out`, records what the client sends meanwhile.
async fn serve_rejection(
    socket: ServerSocket,
    out: Vec<Outgoing>,
    recorder: Arc<Recorder>,
    index: usize,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    for item in out {
        let _ = tx.send(item);
    }
    ws::pump(socket, rx, |text| {
        let event = serde_json::from_str(text).unwrap_or_else(|_| json!({"invalid_json": text}));
        recorder.record(index, event);
    })
    .await;
}

/// Turns an OpenAI Realtime connection away: an `error` event, then close 3000.
pub(crate) async fn reject_openai(
    socket: ServerSocket,
    presented: Option<String>,
    recorder: Arc<Recorder>,
    index: usize,
) {
    tracing::debug!("connection=<{index}> | sim openai: credentials rejected");
    let (code, message, reason) = match presented {
        Some(key) => (
            json!("invalid_api_key"),
            format!(
                "Incorrect API key provided: {}. You can find your API key at https://platform.openai.com/account/api-keys.",
                mask_key(&key)
            ),
            "invalid_request_error.invalid_api_key",
        ),
        None => (
            serde_json::Value::Null,
            "Missing bearer or basic authentication in header".to_owned(),
            "invalid_request_error",
        ),
    };
    let event = json!({
        "type": "error",
        "event_id": format!("event_auth{index}"),
        "error": {
            "type": "invalid_request_error",
            "code": code,
            "message": message,
            "param": null,
            "event_id": null,
        },
    });
    let out = vec![
        Outgoing::Text(event.to_string()),
        Outgoing::Close(OPENAI_CLOSE_CODE, reason.to_owned()),
    ];
    serve_rejection(socket, out, recorder, index).await;
}

/// Turns a Gemini Live connection away: close 1007, "API key not valid".
pub(crate) async fn reject_gemini(socket: ServerSocket, recorder: Arc<Recorder>, index: usize) {
    tracing::debug!("connection=<{index}> | sim gemini: credentials rejected");
    let out = vec![Outgoing::Close(
        GEMINI_CLOSE_CODE,
        GEMINI_INVALID_KEY.to_owned(),
    )];
    serve_rejection(socket, out, recorder, index).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(query: Option<&str>, headers: &[(&str, &str)]) -> RequestInfo {
        RequestInfo {
            path: "/ws".into(),
            query: query.map(str::to_owned),
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn keys_are_found_where_each_provider_reads_them() {
        let r = request(None, &[("authorization", "Bearer sk-abc")]);
        assert_eq!(openai_bearer(&r), Some("sk-abc"));
        assert_eq!(
            openai_bearer(&request(None, &[("authorization", "Basic x")])),
            None
        );
        assert_eq!(openai_bearer(&request(None, &[])), None);

        let q = request(Some("alt=x&key=AIza%2Dk%2By"), &[]);
        assert_eq!(gemini_key(&q).as_deref(), Some("AIza-k+y"));
        let h = request(None, &[("x-goog-api-key", "AIza-h")]);
        assert_eq!(gemini_key(&h).as_deref(), Some("AIza-h"));
        assert_eq!(gemini_key(&request(Some("alt=x"), &[])), None);

        assert_eq!(aws_access_key_id("AWS4-HMAC-SHA256 Signature=x"), None);
        assert_eq!(aws_access_key_id("AWS4-HMAC-SHA256 Credential=/2025"), None);
    }

    #[test]
    fn a_masked_key_hides_all_but_its_ends() {
        let key = "sk-wrong-secret-0123456789";
        let masked = mask_key(key);
        assert_eq!(masked, "sk-***6789");
        assert!(!masked.contains("secret"));
        assert_eq!(mask_key("short"), "***");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }

    #[test]
    fn nothing_required_accepts_anything() {
        assert!(accepts(None, None));
        assert!(accepts(None, Some("x")));
        assert!(accepts(Some("k"), Some("k")));
        assert!(!accepts(Some("k"), Some("j")));
        assert!(!accepts(Some("k"), None));
    }
}
