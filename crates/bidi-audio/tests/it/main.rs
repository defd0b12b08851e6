//! bidi-audio's integration tests, one module per concern, in one test binary: one link
//! instead of one per file keeps CI's build small (see docs/testing.md, "Test layout").

mod common;

mod alsa;
#[cfg(feature = "aec")]
mod echo;
#[cfg(feature = "aec")]
mod echo_rt;
mod probe;
mod resample_props;
mod rt_safety;
mod wav;
