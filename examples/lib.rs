//! Runnable examples of bidi. Each file in this folder is an example, run from the
//! repository root with `cargo run --example NAME`; its header says what it shows.
//!
//! The library holds what examples share: [`assistant`], the program behind
//! `cargo run --example quickstart`.

pub mod assistant;
