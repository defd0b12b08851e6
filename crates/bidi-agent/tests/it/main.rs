//! bidi-agent's integration tests, one module per concern, in one test binary: one link
//! instead of one per file keeps CI's build small (see docs/testing.md, "Test layout").

mod support;

mod agent;
mod agent_loop;
mod default_model;
mod hooks;
mod run_io;
#[cfg(feature = "s3")]
mod s3_sessions;
mod sessions;
mod tool_providers;
mod tool_runs;
mod tools;
