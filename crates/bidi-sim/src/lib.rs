//! Local simulators of the providers bidi talks to. Each server speaks its provider's real
//! wire protocol on loopback, so the real client code is tested end to end without a cloud:
//!
//! - Bedrock `InvokeModelWithBidirectionalStream` (Nova Sonic): HTTP/2 or HTTP/1.1, AWS event
//!   stream framing;
//! - OpenAI Realtime: WebSocket, JSON events;
//! - Gemini Live: WebSocket, `BidiGenerateContent` messages.
//!
//! Every server is driven by the same provider-agnostic [`Script`]: rules that match what
//! the client sent (text, audio, a tool result, the connection itself) and the [`Action`]s
//! to answer with, which each server renders in its own protocol. Every server records what
//! clients sent, as JSON, for tests to inspect.
//!
//! Every simulator takes any credentials unless told the one to accept ([`auth`]).
//!
//! With [`hearing`], a script's known utterances are recognized in the user's audio (turn
//! detection and acoustic matching against reference recordings), so spoken questions are
//! answered by the same `text` rules as typed ones.
//!
//! [`scenario`] reads scripts from JSON files; the `bidi-sim` binary serves all three
//! protocols from one (`cargo run -p bidi-sim -- --help`, and `docs/testing.md`).

pub mod auth;
pub mod bedrock;
pub mod faults;
pub mod g711;
pub mod gemini;
pub mod hearing;
pub mod openai;
pub mod places;
pub mod proxy;
pub mod recording;
pub mod scenario;
pub mod script;
pub mod tls;
pub mod tone;
pub mod voice;
pub mod ws;

pub use script::{Action, Rule, Script, Trigger};
