//! Amazon Nova Sonic over Bedrock's `InvokeModelWithBidirectionalStream`.
//!
//! [`BidiNovaSonicModel`] speaks the protocol as the Python original does, with bidi's
//! departures (see `docs/providers.md`):
//!
//! - the connection closes with `contentEnd` (audio), `promptEnd` and the documented
//!   `sessionEnd` (the original sends `connectionEnd`);
//! - the user audio content is opened with the session and kept alive with silence at
//!   real-time pace when no user audio flows (text mode included), as cross-modal text
//!   input needs an active audio stream;
//! - one `bidi_response_start` per response; barge-in from the `{ "interrupted" : true }`
//!   text and from `contentEnd.stopReason == "INTERRUPTED"`; a text `contentStart` without
//!   `additionalModelFields` is tolerated (taken as final);
//! - a provider exception ends `receive()` with the error (the agent yields it once as a
//!   `bidi_error` event), as in the reference; a malformed event or a failed input is a
//!   `bidi_error` event and the stream goes on;
//!   `ModelTimeoutException` and the silence `ValidationException` (`InternalErrorCode=531`)
//!   end it with the restartable [`ModelError::Timeout`](bidi_types::ModelError::Timeout);
//! - credentials Bedrock refuses (HTTP 403 `UnrecognizedClientException`, a bad signature, an
//!   expired token) end it with [`ModelError::Unauthorized`](bidi_types::ModelError::Unauthorized):
//!   `start` returns before Bedrock answers (the stream opens
//!   in the background, as Bedrock sends nothing before input), so the refusal is the
//!   stream's first error, not `start`'s;
//! - a proactive restart before the ~8-minute limit, at a turn boundary, replays the history
//!   (final transcripts: what was heard) into a new connection while user audio queues for it.
//!
//! The provider's modules, the layout every provider has:
//!
//! - `config`: [`NovaSonicConfig`] and its defaults;
//! - [`encode`] and [`decode`]: the pure codec, bidi events to Nova Sonic's input events and
//!   its output events back to bidi events ([`parse`], [`Decoder`]); no I/O, so the
//!   simulator and the tests drive it directly;
//! - `connection`: one Bedrock `InvokeModelWithBidirectionalStream` call (its HTTP client in
//!   `http`);
//! - `model`: [`BidiNovaSonicModel`], the [`BidiModel`](bidi_types::BidiModel);
//!
//! and what only Nova Sonic does: [`history`](mod@history) (what a new connection replays, within the
//! service's size caps) and `session`, the task that keeps the user audio content alive
//! with silence and hands the conversation over to a new connection before the service's
//! time limit.

mod config;
mod connection;
pub mod decode;
pub mod encode;
pub mod history;
mod http;
mod model;
mod session;

pub use config::{
    DEFAULT_MAX_TOKENS, DEFAULT_REGION, DEFAULT_TEMPERATURE, DEFAULT_TOP_P, DEFAULT_VOICE,
    InferenceConfig, NOVA_SONIC_V1_MODEL_ID, NOVA_SONIC_V2_MODEL_ID, NovaSonicConfig,
    TurnDetection,
};
pub use decode::{CodecError, Decoded, Decoder, INTERRUPTED_TEXT, NovaEvent, Stage, parse};
pub use encode::NovaRole;
pub use history::{MAX_MESSAGE_BYTES, MAX_TOTAL_BYTES, history};
pub use model::BidiNovaSonicModel;
