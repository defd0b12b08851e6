//! bidi-mcp's integration tests, one module per concern, in one test binary: one link
//! instead of one per file keeps CI's build small (see docs/testing.md, "Test layout").

mod support;

mod python_server;
mod rmcp_http;
// Needs the `bidi-mcp-test-server` binary, built with the `test-server` feature.
#[cfg(feature = "test-server")]
mod rmcp_server;
