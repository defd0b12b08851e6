//! Google Gemini Live over WebSocket (`BidiGenerateContent`).
//!
//! - [`config`]: the provider's settings and defaults (16 kHz in, 24 kHz out, audio
//!   responses with transcription, session resumption on).
//! - [`encode`]: our start parameters and inputs as client messages.
//! - [`decode`]: server messages as our events, with the state of the current turn.

pub mod config;
pub mod decode;
pub mod encode;

pub use config::{GeminiLiveConfig, ResponseModality, TextInputMode};
pub use decode::{Decoder, ServerSignal};

/// The restart setting under which a `goAway` passes the session handle to the next start,
/// as the reference names it.
pub const RESTART_HANDLE_KEY: &str = "live_session_handle";
