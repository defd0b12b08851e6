//! examples's integration tests, one module per concern, in one test binary: one link
//! instead of one per file keeps CI's build small (see docs/testing.md, "Test layout").

mod support;

mod quickstart;
mod quickstart_credentials;
mod quickstart_demo;
mod quickstart_headless;
mod quickstart_spoken;
mod quickstart_tls;
