//! bidi: real-time, bidirectional voice agents in Rust.
//!
//! This crate is the facade: it re-exports the vocabulary of [`bidi_types`] (events,
//! messages, audio settings and the [`BidiModel`](types::BidiModel),
//! [`BidiInput`](types::BidiInput) and [`BidiOutput`](types::BidiOutput) traits), and will
//! hold `BidiAgent`, its loop, tools, hooks and sessions as they land.
//!
//! ```
//! use bidi_agent::types::{BidiInputEvent, BidiOutputEvent};
//!
//! let input = BidiInputEvent::from("What's the weather?");
//! assert_eq!(input.event_type(), "bidi_text_input");
//! let out = BidiOutputEvent::from_json_str(r#"{"type":"bidi_interruption","reason":"user_speech"}"#).unwrap();
//! assert_eq!(out.event_type(), "bidi_interruption");
//! ```

/// Events, messages, audio settings and the boundary traits (the `bidi-types` crate).
pub use bidi_types as types;
