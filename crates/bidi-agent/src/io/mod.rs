//! IO for [`BidiAgent::run_io`](crate::BidiAgent::run_io) and
//! [`BidiAgent::run`](crate::BidiAgent::run): what a run takes ([`IntoAgentIo`], [`AgentIo`])
//! and the IO that lives in this crate: text in a terminal ([`BidiTextIO`]). Audio IO is in
//! `bidi-audio`.

mod agent_io;
mod text;

pub use agent_io::{AgentIo, IntoAgentIo};
pub use text::{BidiTextIO, TextInput, TextOutput};
