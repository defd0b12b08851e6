//! bidi-sim's integration tests, one module per concern, in one test binary: one link
//! instead of one per file keeps CI's build small (see docs/testing.md, "Test layout").

mod support;
// bidi-audio's virtual ALSA devices and echo room helpers, shared by path (the echo
// loopback test's devices, its espeak-ng check and its noise).
#[path = "../../../bidi-audio/tests/it/common/sandbox.rs"]
mod alsa_sandbox;
#[path = "../../../bidi-audio/tests/it/common/room.rs"]
mod echo_room;

mod auth;
mod echo_loopback;
mod end_of_audio;
mod faults;
mod gemini_key_forms;
mod gemini_tool_calls;
mod heard;
mod hearing;
mod openai_g711;
mod openai_protocol;
mod parallel_calls;
mod real_clients;
mod server_binary;
mod speak_wav;
mod spoken;
