//! The vocabulary of the bidi voice-agent SDK: every event that flows between a user, the
//! agent and a speech-to-speech model, the conversation history, tool specs and results,
//! audio settings, and the traits at the crate boundaries.
//!
//! - Input events ([`BidiInputEvent`]): text, audio and images for the model.
//! - Output events ([`BidiOutputEvent`]): what a model emits: connection start and restart,
//!   response start and end, audio, transcripts, interruptions, usage, close, errors and tool
//!   uses. [`BidiAgentEvent`] adds the agent's own tool events; outputs receive those.
//! - History ([`Message`], [`ContentBlock`]) and tools ([`ToolSpec`], [`ToolUse`],
//!   [`ToolResult`]) in the Bedrock Converse shape.
//! - Audio settings ([`AudioConfig`], [`SampleRate`], [`Channels`], [`AudioFormat`]).
//! - Traits: [`BidiModel`] for providers, [`BidiInput`] and [`BidiOutput`] for IO, which see
//!   the agent through [`AgentView`].
//!
//! # JSON
//!
//! Every event serialises to the same JSON as the Python original's (`strands-agents` 1.40,
//! `strands.experimental.bidi`) dicts, key for key, so WebSocket clients can move between
//! the two:
//!
//! ```
//! use bidi_types::{BidiTranscriptStreamEvent, Role};
//!
//! let e = BidiTranscriptStreamEvent::new("Hel", Role::Assistant, false, Some("Hel".into()));
//! assert_eq!(
//!     serde_json::to_value(&e).unwrap(),
//!     serde_json::json!({
//!         "type": "bidi_transcript_stream",
//!         "delta": {"text": "Hel"},
//!         "text": "Hel",
//!         "role": "assistant",
//!         "is_final": false,
//!         "current_transcript": "Hel",
//!     })
//! );
//! ```
//!
//! # Where bidi departs from the original
//!
//! - Input events are validated (rates 8/16/24/48 kHz, 1 or 2 channels, formats
//!   pcm/wav/opus/mp3/pcmu, valid base64, no unknown keys) with a typed [`TypesError`]; the
//!   original checks nothing.
//! - Telephone audio: `"pcmu"` (G.711 μ-law) and 8 kHz are accepted besides the original's
//!   formats and rates, so a phone call's audio passes to a provider that speaks it (OpenAI
//!   Realtime's `audio/pcmu`) without resampling.
//! - `bidi_connection_restart` serialises: `timeout_error` is `{"message",
//!   "restart_config"}` ([`ModelTimeout`]) instead of an exception object.
//! - `bidi_error.code` names a [`ModelError`] kind (`ModelProtocolError`, ...) rather than a
//!   Python class name.

mod agent_event;
mod audio;
mod audio_chunk;
mod error;
mod fields;
mod input;
mod io;
mod media;
mod message;
mod model;
mod output;
mod playback;
mod timeout;
mod tool;

pub use agent_event::{
    BidiAgentEvent, ToolCancelData, ToolCancelEvent, ToolResultEvent, ToolResultMessageEvent,
    ToolStreamData, ToolStreamEvent,
};
pub use audio::{AudioConfig, AudioFormat, Channels, SampleRate};
pub use audio_chunk::{
    AudioChunkEvent, AudioDirection, BidiAudioInputEvent, BidiAudioStreamEvent, FromModel, ToModel,
};
pub use error::TypesError;
pub use input::{BidiImageInputEvent, BidiInputEvent, BidiPlaybackEvent, BidiTextInputEvent};
pub use io::{AgentView, BidiInput, BidiOutput, IoError};
pub use media::{BinarySource, DocumentBlock, ImageBlock};
pub use message::{ContentBlock, Message, Role};
pub use model::{
    BidiModel, BoxError, ModelConfig, ModelError, ModelEventStream, ModelInput, StartParams,
};
pub use output::{
    BidiConnectionCloseEvent, BidiConnectionRestartEvent, BidiConnectionStartEvent, BidiErrorEvent,
    BidiInterruptionEvent, BidiOutputEvent, BidiResponseCompleteEvent, BidiResponseStartEvent,
    BidiToolCancellationEvent, BidiTranscriptStreamEvent, BidiUsageEvent, CloseReason,
    InterruptionReason, Modality, ModalityUsage, StopReason, ToolUseDelta, ToolUseStreamDelta,
    ToolUseStreamEvent, TranscriptDelta,
};
pub use playback::PlaybackTracker;
pub use timeout::{ModelTimeout, RestartConfig};
pub use tool::{
    ToolBehavior, ToolInputSchema, ToolResult, ToolResultContent, ToolResultStatus, ToolScheduling,
    ToolSpec, ToolUse,
};

/// The `async_trait` attribute, re-exported so implementors of [`BidiModel`],
/// [`BidiInput`] and [`BidiOutput`] need no extra dependency.
pub use async_trait::async_trait;
