//! bidi-fuzz's tests: every saved crash replays without a panic, every seed is a frame its
//! parser accepts, and a short fuzzing pass of each target (CI's share of `cargo xtask fuzz`).

mod regressions;
mod seeds;
mod short_pass;
