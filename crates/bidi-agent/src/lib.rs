//! bidi: real-time, bidirectional voice agents in Rust — the Rust port of the Python
//! `strands.experimental.bidi` (Strands Agents 1.40).
//!
//! This crate holds the agent and is the facade: it re-exports the vocabulary of
//! [`bidi_types`] as [`types`].
//!
//! - [`BidiAgent`]: `start`, `send`, `receive`, `stop`, `run_io` (and `run`), `scoped`, direct
//!   tool calls.
//! - [`tools`]: the [`AgentTool`](tools::AgentTool) trait, the [`#[tool]`](tool) attribute,
//!   the registry, the executors and [`ToolProvider`](tools::ToolProvider)s (MCP servers
//!   through the `bidi-mcp` crate).
//! - [`hooks`]: lifecycle events for [`HookProvider`](hooks::HookProvider)s.
//! - [`AgentState`], [`InvocationState`], [`RequestState`].
//! - [`session`]: sessions, such as [`FileSessionManager`](session::FileSessionManager).
//! - [`io`]: what `run_io` takes ([`IntoAgentIo`](io::IntoAgentIo), [`AgentIo`](io::AgentIo)),
//!   and text IO, [`BidiTextIO`](io::BidiTextIO).
//!
//! With the `nova-sonic` feature, `BidiAgent::builder_default()` talks to the reference's
//! default model (Nova Sonic); otherwise give a model to [`BidiAgent::builder`].
//!
//! # Example
//!
//! A tiny scripted model that says hello, asks for a tool, and gets the result back:
//!
//! ```
//! use std::sync::Mutex;
//! use bidi_agent::types::*;
//! use bidi_agent::{BidiAgent, tool};
//! use futures_util::StreamExt;
//! use serde_json::json;
//!
//! /// Tells the time.
//! #[tool]
//! fn time_now() -> String {
//!     "12:00".into()
//! }
//!
//! #[derive(Default)]
//! struct Scripted {
//!     sent: Mutex<Vec<ModelInput>>,
//!     live: Mutex<bool>,
//! }
//!
//! #[bidi_agent::async_trait]
//! impl BidiModel for Scripted {
//!     fn config(&self) -> ModelConfig {
//!         ModelConfig::new("scripted", AudioConfig::new(SampleRate::Hz16000, SampleRate::Hz16000))
//!     }
//!     fn connection_id(&self) -> Option<String> {
//!         self.live.lock().unwrap().then(|| "c1".to_owned())
//!     }
//!     async fn start(&self, _params: StartParams) -> Result<(), ModelError> {
//!         *self.live.lock().unwrap() = true;
//!         Ok(())
//!     }
//!     async fn send(&self, input: ModelInput) -> Result<(), ModelError> {
//!         self.sent.lock().unwrap().push(input);
//!         Ok(())
//!     }
//!     fn receive(&self) -> Result<ModelEventStream, ModelError> {
//!         let events: Vec<Result<BidiOutputEvent, ModelError>> = vec![
//!             Ok(BidiConnectionStartEvent::new("c1", "scripted").into()),
//!             Ok(BidiTranscriptStreamEvent::new("Hello", Role::Assistant, true, None).into()),
//!             Ok(ToolUseStreamEvent::complete(ToolUse::new("t1", "time_now", json!({}))).into()),
//!         ];
//!         Ok(Box::pin(futures_util::stream::iter(events).chain(futures_util::stream::pending())))
//!     }
//!     async fn stop(&self) -> Result<(), ModelError> {
//!         *self.live.lock().unwrap() = false;
//!         Ok(())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), bidi_agent::AgentError> {
//! let agent = BidiAgent::builder(Scripted::default())
//!     .tool(time_now)
//!     .system_prompt("You tell the time.")
//!     .build()?;
//! agent.start(None).await?;
//! let mut events = agent.receive();
//! let mut seen = Vec::new();
//! while let Some(event) = events.next().await {
//!     let event = event?;
//!     seen.push(event.event_type());
//!     if event.event_type() == "message" {
//!         break; // the tool-result message: the tool has run
//!     }
//! }
//! assert_eq!(
//!     seen,
//!     ["bidi_connection_start", "bidi_transcript_stream", "tool_use_stream", "tool_result", "message"]
//! );
//! // The history: the final transcript, then the tool use and its result, adjacent.
//! assert_eq!(agent.messages().len(), 3);
//! agent.stop().await?;
//! # Ok(()) }
//! ```
//!
//! # Where bidi departs from the original
//!
//! - `stop` is idempotent: the after-invocation hook fires once per start, never without
//!   one, and a pending `receive` ends.
//! - The caller's invocation state is never changed: the `request_state` shared by tools
//!   lives in the agent, fresh at each start ([`RequestState`]).
//! - A model error is yielded as a `bidi_error` event, then ends `receive` with the error. A
//!   failed restart ends `receive` with its error instead of leaving it waiting forever.
//! - The restart is eager: the model task restarts as soon as it sees the timeout (after
//!   queueing `bidi_connection_restart`), and sends wait until it is done.
//! - When the model's stream ends, `receive` ends once the running tools are done (the
//!   reference waits forever).
//! - Text input is recorded with the event's role (the reference always writes `user`; the
//!   role is `user` unless set).
//! - A `BidiMessageAddedEvent` callback may read the history (the reference holds its lock).
//! - [`BidiTextIO`](io::BidiTextIO)'s input skips empty lines and reads stdin on a thread of
//!   its own; its output labels roles, updates partial transcripts in place, and also shows
//!   tool calls, tool results and errors.
//! - A tool whose spec has no name or description, or whose name clashes, fails `build`
//!   ([`tools::ToolError`]) instead of being skipped with a warning.
//! - Hook events expose read-only fields through getters and writable ones through setters:
//!   writing a read-only field does not compile (the reference raises `AttributeError`).
//! - Tool providers load at every `start` (the reference loads them when the agent is built)
//!   and are released at `stop` (the reference's bidi agent never releases them); their tools
//!   are listed by `tool_names()` only while the agent is started.
//! - [`InvocationState`] holds JSON values and typed extensions (a database pool, a client)
//!   instead of a dict of arbitrary objects; direct tool calls are `async`.

pub mod agent;
mod error;
pub mod hooks;
mod invocation;
pub mod io;
pub mod session;
mod state;
pub mod tools;

pub use agent::{
    AgentEventStream, AgentHandle, BidiAgent, BidiAgentBuilder, DirectCallOptions, IntoAgentInput,
};
pub use error::{AgentError, StopFailure};
pub use invocation::{InvocationState, RequestState};
pub use state::{AgentState, StateError};

/// Events, messages, audio settings and the boundary traits (the `bidi-types` crate).
pub use bidi_types as types;

/// The providers (the `bidi-model` crate), with the `nova-sonic`, `openai` and `gemini`
/// features.
#[cfg(any(feature = "nova-sonic", feature = "openai", feature = "gemini"))]
pub use bidi_model as models;

/// Microphone and speaker IO (the `bidi-audio` crate), with the `audio` feature.
#[cfg(feature = "audio")]
pub use bidi_audio as audio;

/// The `async_trait` attribute, for implementing [`tools::AgentTool`],
/// [`hooks::HookProvider`], [`session::SessionManager`] and the `bidi-types` traits.
pub use async_trait::async_trait;

/// Turns a sync or async function into a tool.
///
/// The function becomes a unit struct of the same name implementing
/// [`AgentTool`](tools::AgentTool) (register it with `.tool(name)`); the function itself stays
/// callable as `name::call(...)`.
///
/// - The tool's name is the function's (or `#[tool(name = "...")]`); its description is the
///   doc comment before an `# Arguments` section (or `#[tool(description = "...")]`).
/// - Each argument's description comes from the `# Arguments` list (`` * `city` - The
///   city``); an undocumented argument is described as `Parameter <name>`.
/// - The input JSON Schema comes from the argument types (`serde::Deserialize` +
///   `schemars::JsonSchema`, which every std type has); `Option` arguments are optional.
/// - The model's input is deserialised into the arguments; bad JSON becomes an error result
///   naming the argument (`Error: tool=<name> | invalid input: ...`).
/// - An async function runs on the agent's task; a sync one on `spawn_blocking`. A panic
///   becomes an error result.
/// - One argument may be the [`ToolContext`](tools::ToolContext) (by reference for async
///   functions, by value or reference for sync ones): the tool use, the invocation state, the
///   request state and the agent.
/// - The return value is anything [`IntoToolResult`](tools::IntoToolResult): text, JSON,
///   [`tools::Json`], a `ToolResult`, or a `Result` of those (an `Err` is an error result).
/// - `behavior = "blocking" | "non_blocking"` and `scheduling = "interrupt" | "when_idle" |
///   "silent"` set the spec's [`ToolBehavior`](types::ToolBehavior) and
///   [`ToolScheduling`](types::ToolScheduling) (Gemini Live: whether the model waits for the
///   result, and how it takes it); unset, the provider's defaults. Any other value is a
///   compile error.
///
/// ```
/// use bidi_agent::tool;
/// use bidi_agent::tools::{AgentTool, ToolContext};
///
/// /// Get the weather for a city.
/// ///
/// /// # Arguments
/// /// * `city` - The city to look up.
/// /// * `days` - How many days ahead.
/// #[tool]
/// async fn get_weather(city: String, days: Option<u32>, ctx: &ToolContext) -> Result<String, String> {
///     if city.is_empty() {
///         return Err("no city".into());
///     }
///     Ok(format!("{city}: sunny for {} day(s) (asked by {})", days.unwrap_or(1), ctx.agent().agent_id()))
/// }
///
/// /// Adds two numbers.
/// #[tool(name = "add-numbers")]
/// fn add(a: i64, b: i64) -> i64 {
///     a + b
/// }
///
/// let spec = get_weather.spec();
/// assert_eq!(spec.name, "get_weather");
/// assert_eq!(spec.description, "Get the weather for a city.");
/// let schema = &spec.input_schema.json;
/// assert_eq!(schema["properties"]["city"]["description"], "The city to look up.");
/// assert_eq!(schema["required"], serde_json::json!(["city"]));
/// assert_eq!(add.spec().name, "add-numbers");
/// assert_eq!(add::call(2, 2), 4);
///
/// /// Books a table; the model keeps talking meanwhile and speaks the result when done.
/// #[tool(behavior = "non_blocking", scheduling = "when_idle")]
/// async fn book_table(time: String) -> String {
///     format!("booked for {time}")
/// }
/// use bidi_agent::types::{ToolBehavior, ToolScheduling};
/// assert_eq!(book_table.spec().behavior, Some(ToolBehavior::NonBlocking));
/// assert_eq!(book_table.spec().scheduling, Some(ToolScheduling::WhenIdle));
/// assert_eq!(add.spec().behavior, None);
/// ```
///
/// A value the service does not know does not compile:
///
/// ```compile_fail
/// use bidi_agent::tool;
///
/// #[tool(scheduling = "later")]
/// fn f() -> String {
///     String::new()
/// }
/// ```
pub use bidi_macros::tool;

/// What the code generated by [`#[tool]`](tool) uses. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use schemars;
    pub use serde;
    pub use serde_json;
    pub use tokio;

    use crate::tools::ToolError;

    /// The JSON Schema of a tool's arguments, subschemas inlined.
    pub fn schema_of<T: schemars::JsonSchema>() -> serde_json::Value {
        let generator = schemars::generate::SchemaSettings::draft2020_12()
            .with(|s| s.inline_subschemas = true)
            .into_generator();
        serde_json::to_value(generator.into_root_schema_for::<T>()).unwrap_or_default()
    }

    /// The arguments, from the model's input (`null` read as `{}`).
    pub fn parse_args<T: serde::de::DeserializeOwned>(
        tool: &str,
        input: &serde_json::Value,
    ) -> Result<T, ToolError> {
        let parsed = match input {
            serde_json::Value::Null => serde_json::from_value(serde_json::json!({})),
            other => T::deserialize(other),
        };
        parsed.map_err(|e| ToolError::InvalidInput {
            tool: tool.to_owned(),
            reason: e.to_string(),
        })
    }

    /// A blocking tool's join error as a tool error.
    pub fn join_error(tool: &str, e: tokio::task::JoinError) -> ToolError {
        match e.try_into_panic() {
            Ok(panic) => ToolError::Panicked {
                tool: tool.to_owned(),
                message: crate::agent::panic_message(panic.as_ref()),
            },
            Err(e) => ToolError::Failed(format!("tool=<{tool}> | blocking task failed: {e}")),
        }
    }
}
