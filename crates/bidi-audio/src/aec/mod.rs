//! Acoustic echo cancellation and noise suppression (feature `aec`, on by default).
//!
//! [`EchoCanceller`] is a pure state machine: 10 ms of far end (what the speaker played) in,
//! 10 ms of microphone in, 10 ms of clean microphone out. It measures the far end's delay
//! itself (following a jump within about a second), aligns the far end, and runs sonora's
//! Rust port of WebRTC's AEC3 (a delay estimator, a linear adaptive filter and a residual
//! echo suppressor tuned to keep the near-end talker during double talk) and, in
//! [`EchoMode::AecNs`], WebRTC's stationary noise suppressor, at 16 kHz. `BidiAudioIO` runs
//! it between the speaker and the microphone; `crates/bidi-audio/examples/echo_cancel.rs` runs it on files.
//! See docs/audio.md, "Echo cancellation".

mod canceller;
mod config;
mod core;
mod delay;
mod filter;
mod link;
mod offline;

pub use canceller::{EchoCanceller, EchoMetrics, SUPPORTED_RATES};
pub use config::EchoMode;
pub use link::{EchoFeed, EchoLink, EchoTap};
pub use offline::{FileReport, cancel, cancel_files};
