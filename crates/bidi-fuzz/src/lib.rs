//! Fuzzing on stable Rust for every bidi parser that reads bytes from outside the process:
//! the three providers' server messages, the AWS event-stream framing, the JSON events a
//! client (a browser, bidi-server's `/ws`) sends, WAV files, and the simulator's readers of
//! client frames.
//!
//! Each [`Target`] turns random bytes into an input shaped like what the parser meets on
//! the wire ([`mutate`]: real frames from [`seeds`], edited at the JSON level and at the byte
//! level, in sequences, so stateful decoders see whole conversations), and feeds it to the
//! real parser. A target passes when nothing panics; errors are the expected answer to
//! garbage. [`run`] drives the targets under a time budget with `arbtest`: `cargo xtask fuzz
//! [--seconds N] [--target NAME]` runs them all, and CI runs a short pass of each. An input
//! that panics is written to `crates/bidi-fuzz/regressions/<target>/` and replayed by the
//! tests from then on.
//!
//! ```
//! let target = bidi_fuzz::target("openai_server_events").expect("a known target");
//! target.check(br#"{"type":"response.created","response":{"id":"resp_1"}}"#);
//! let report = bidi_fuzz::run::fuzz(target, std::time::Duration::from_millis(50));
//! assert!(report.inputs > 0);
//! ```

pub mod mutate;
pub mod run;
pub mod seeds;
mod targets;

pub use targets::{TARGETS, Target, target};
