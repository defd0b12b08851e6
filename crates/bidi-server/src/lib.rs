//! `bidi-server`: serve bidi voice agents to browsers over WebSocket.
//!
//! Each WebSocket at `/ws` is one conversation with its own agent, made by your
//! [`AgentFactory`]. Frames are JSON text, one event each, exactly as the Python original's
//! WebSocket IO speaks them: the client sends `bidi_text_input`, `bidi_audio_input`,
//! `bidi_image_input` and bidi's `bidi_playback`; the server sends every output event. A
//! bad frame is answered with a `bidi_error` and the conversation goes on.
//!
//! Around that, what serving needs: a token on every route but `/healthz`
//! ([`auth`]), a session cap and a message size limit ([`ServerConfig`]), bounded per-client
//! queues, a drain on shutdown ([`BidiServer::serve`]), Prometheus metrics at `/metrics`
//! ([`ServerMetrics`]) and a voice page at `/` ([`page`]). The `bidi-server` binary serves
//! the quickstart's agent ([`assistant`]); docs/server.md has every flag and route.

pub mod assistant;
pub mod auth;
pub mod config;
pub mod factory;
pub mod metrics;
pub mod page;
mod routes;
mod server;
pub mod session;
mod state;
pub mod store;
pub mod twilio;

pub use config::ServerConfig;
pub use factory::{AgentFactory, BoxError, SessionStart};
pub use metrics::ServerMetrics;
pub use server::BidiServer;
pub use store::SessionStore;

/// The code in docs/server.md, compiled as doc tests so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/server.md")]
pub struct ServerMdDocTests;
