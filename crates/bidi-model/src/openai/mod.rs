//! OpenAI Realtime (GA protocol) over WebSocket: [`BidiOpenAIRealtimeModel`].
//!
//! - [`config`]: settings and defaults ([`OpenAiRealtimeConfig`]);
//! - [`encode`] and [`decode`]: the pure codec, our events to OpenAI's JSON and back
//!   ([`decode::Decoder`] assembles function calls and follows the streamed audio item);
//! - `connection`: the WebSocket (on [`crate::ws`]) and the task that decodes its frames;
//! - `model`: [`BidiOpenAIRealtimeModel`], the [`BidiModel`](bidi_types::BidiModel);
//!
//! and what only OpenAI does: [`truncate`], how much of an interrupted item was heard.
//!
//! # Where bidi departs from the original
//!
//! - On barge-in (`input_audio_buffer.speech_started`) the client sends `response.cancel`
//!   when a response is running and `conversation.item.truncate` with the audio the user
//!   heard (from the [`PlaybackTracker`](bidi_types::PlaybackTracker), else the time since
//!   the item's first audio), at least 1 ms and never beyond the audio received. The
//!   original sends neither.
//! - Server `error` events become `bidi_error` events (code `ModelProviderError`, the
//!   provider's code in `details.provider_code`) and the conversation goes on;
//!   `response_cancel_not_active` is ignored; `session_expired` ends `receive()` with
//!   [`ModelError::Timeout`](bidi_types::ModelError::Timeout) so the agent restarts.
//! - Function arguments come from `response.function_call_arguments.done` (the deltas are
//!   only a fallback), the name from `response.output_item.added` or the done event.
//!   Unparseable arguments become a `bidi_error` event instead of being dropped silently.
//! - Malformed frames become `bidi_error` events (`ModelProtocolError`), never a panic.
//! - The session config is built per model instance (the original mutates a shared
//!   default); the endpoint is configurable; audio must be mono PCM at 24 kHz (the only
//!   PCM rate of the GA service) and is checked at construction.
//! - JSON inside strings (`function_call.arguments`, `function_call_output.output`) is
//!   compact (`{"x":1}`), where Python's `json.dumps` writes `{"x": 1}`; the service parses
//!   both alike.
//! - A server close ends `receive()` with [`ModelError::Closed`](bidi_types::ModelError::Closed);
//!   the session timer ends it with `Timeout`.

pub mod config;
mod connection;
pub mod decode;
pub mod encode;
mod model;
pub mod tool_turns;
pub mod truncate;

pub use config::{InputTranscription, OpenAiRealtimeConfig, ReasoningEffort, TurnDetection};
pub use model::BidiOpenAIRealtimeModel;
