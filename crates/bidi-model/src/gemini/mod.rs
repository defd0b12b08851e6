//! Google Gemini Live over WebSocket (`BidiGenerateContent`).
//!
//! - [`config`]: the provider's settings and defaults (16 kHz in, 24 kHz out, audio
//!   responses with transcription, session resumption on).
//! - [`encode`]: our start parameters and inputs as client messages.
//! - [`decode`]: server messages as our events, with the state of the current turn.
//! - `connection`: the WebSocket, the setup handshake and the task that decodes server
//!   messages (keep-alive is the shared [`crate::ws`] client's);
//! - `model`: [`BidiGeminiLiveModel`], the [`BidiModel`](bidi_types::BidiModel);
//!
//! and what only Gemini does: [`go_away`], the restart a `goAway` sets off, with session
//! resumption.
//!
//! Beyond the reference: a `goAway` restarts with the latest resumable handle (the resumed
//! session keeps its context, so no history is replayed) and never in the middle of a tool
//! call: while a call is open the restart waits for its response and a handle issued after
//! it, or, if the server's deadline comes first, restarts without a handle and replays
//! history. Mid-session text goes through `realtimeInput`. A bare close (1011 included) is
//! an error, not a timeout. Pings tolerate Gemini's slow pongs.

pub mod config;
mod connection;
pub mod decode;
pub mod encode;
pub mod go_away;
mod model;

pub use config::{GeminiLiveConfig, ResponseModality, TextInputMode};
pub use decode::{Decoder, ServerSignal};
pub use model::BidiGeminiLiveModel;

/// The restart setting under which a `goAway` passes the session handle to the next start,
/// as the reference names it.
pub const RESTART_HANDLE_KEY: &str = "live_session_handle";
