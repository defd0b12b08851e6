//! bidi-model's integration tests, one module per concern, in one test binary: one link
//! instead of one per file keeps CI's build small (see docs/testing.md, "Test layout").

#[cfg(feature = "nova-sonic")]
mod common;
#[cfg(feature = "gemini")]
mod gemini_support;
#[cfg(feature = "openai")]
mod support;

mod endpoint_forms;
mod gemini_codec_props;
mod gemini_live;
mod gemini_restart;
mod nova_sonic_codec;
mod nova_sonic_failures;
mod nova_sonic_restart;
mod nova_sonic_turns;
mod openai_barge_in;
mod openai_codec;
mod openai_codec_props;
mod openai_hot_path;
mod openai_peer;
mod openai_sim;
mod openai_tls;
mod rejected_credentials;
mod tls_trust;
mod ws;
