//! Speech-to-speech model providers for bidi, each behind its own cargo feature and each an
//! implementation of [`bidi_types::BidiModel`]:
//!
//! | feature | provider | transport |
//! | --- | --- | --- |
//! | `nova-sonic` | Amazon Nova Sonic | Bedrock `InvokeModelWithBidirectionalStream` (HTTP/2, AWS event stream) |
//! | `openai` | OpenAI Realtime | WebSocket, JSON events |
//! | `gemini` | Google Gemini Live | WebSocket, `BidiGenerateContent` |
//!
//! The `ws` feature (enabled by the WebSocket providers) is their shared client, module `ws`.
//! Module `trust` (feature `trust`, on with any provider) holds the certificate authorities every provider's
//! TLS trusts: the bundled roots, the system's store and an explicit `ca_file`.
//!
//! Inside each provider module a pure codec (our events to and from the provider's JSON) is
//! kept apart from the connection (tasks, keep-alive, limits), so tests and the simulator can
//! drive the codec directly.
//!
//! Module [`endpoint`] turns the URLs users write (a base URL or the full URL a provider's
//! docs show) into the one each client connects to.

#[cfg(any(feature = "nova-sonic", feature = "ws"))]
pub mod endpoint;

#[cfg(any(feature = "nova-sonic", feature = "openai", feature = "gemini"))]
pub mod lifecycle;

#[cfg(feature = "nova-sonic")]
pub mod nova_sonic;

#[cfg(feature = "trust")]
pub mod trust;

#[cfg(feature = "ws")]
pub mod ws;

#[cfg(feature = "openai")]
pub mod openai;

#[cfg(feature = "gemini")]
pub mod gemini;
