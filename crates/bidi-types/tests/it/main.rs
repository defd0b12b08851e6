//! bidi-types's integration tests, one module per concern, in one test binary: one link
//! instead of one per file keeps CI's build small (see docs/testing.md, "Test layout").

mod input_validation;
mod no_panic;
mod output_events;
mod reference_events;
mod traits;
