//! Project chores: `cargo xtask ci` runs every check CI runs (the tests, then a 60 s soak
//! of bidi-server), in order, and stops at the first failure; `cargo xtask drift` checks that the docs name only what exists.

mod drift;

use std::process::{Command, ExitCode};
use std::time::Instant;

/// One step of a chore: a description and a cargo command line.
struct Step {
    name: &'static str,
    args: Vec<&'static str>,
    env: Vec<(&'static str, &'static str)>,
}

impl Step {
    fn new(name: &'static str, args: &[&'static str]) -> Self {
        Self {
            name,
            args: args.to_vec(),
            env: Vec::new(),
        }
    }

    fn env(mut self, key: &'static str, value: &'static str) -> Self {
        self.env.push((key, value));
        self
    }

    /// Runs the step, printing what it runs and how long it took.
    fn run(&self) -> Result<(), String> {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        println!("\n==> xtask: {} (cargo {})", self.name, self.args.join(" "));
        let started = Instant::now();
        let status = Command::new(&cargo)
            .args(&self.args)
            .envs(self.env.iter().copied())
            .status()
            .map_err(|e| format!("step=<{}> | could not run cargo: {e}", self.name))?;
        let secs = started.elapsed().as_secs_f32();
        if status.success() {
            println!("==> xtask: {} ok ({secs:.1}s)", self.name);
            Ok(())
        } else {
            Err(format!(
                "step=<{}>, status=<{status}> | failed after {secs:.1}s",
                self.name
            ))
        }
    }
}

/// Whether `cargo nextest` is installed.
fn has_nextest() -> bool {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    Command::new(cargo)
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The steps of `cargo xtask ci`.
fn ci_steps() -> Vec<Step> {
    let tests = if has_nextest() {
        Step::new(
            "tests (nextest)",
            &[
                "nextest",
                "run",
                "--workspace",
                "--all-features",
                "--no-fail-fast",
            ],
        )
    } else {
        Step::new(
            "tests",
            &[
                "test",
                "--workspace",
                "--all-features",
                "--lib",
                "--bins",
                "--tests",
                "--examples",
            ],
        )
    };
    vec![
        Step::new("format", &["fmt", "--all", "--check"]),
        Step::new(
            "clippy",
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--all-features",
                "--",
                "-D",
                "warnings",
            ],
        ),
        tests,
        // The tests built bidi-server's binary; 10 real-time sessions for a minute against
        // it (calls of 20 s, so sessions end and begin), failing on RSS growth after the
        // warm-up or leaked descriptors and tasks.
        Step::new(
            "soak (60 s)",
            &[
                "run",
                "--all-features",
                "-p",
                "bidi-bench",
                "--",
                "soak",
                "--minutes",
                "1",
                "--sessions",
                "10",
                "--sample-secs",
                "5",
                "--call-secs",
                "20",
                "--server",
                "target/debug/bidi-server",
            ],
        ),
        Step::new(
            "doc tests",
            &["test", "--workspace", "--all-features", "--doc"],
        ),
        Step::new(
            "docs",
            &["doc", "--workspace", "--no-deps", "--all-features"],
        )
        .env("RUSTDOCFLAGS", "-D warnings"),
    ]
}

/// The commands `cargo xtask` knows.
const COMMANDS: &[&str] = &["ci", "drift", "bench", "fuzz"];

fn usage() -> ExitCode {
    eprintln!(
        "usage: cargo xtask <command>\n\ncommands:\n  ci     drift, format, clippy, tests, doc tests and docs, stopping at the first failure\n  drift  the docs name only files, packages, examples, binaries, benches and tests that exist\n  bench  bidi vs the Python original (release build of bidi-bench; args passed on, e.g.\n         `cargo xtask bench compare --pin`; see docs/performance.md)\n  fuzz   every parser of outside bytes under random inputs (bidi-fuzz, profile `fuzz`:\n         release with overflow checks; `--seconds N` each, `--target NAME`, `--list`;\n         see docs/testing.md)"
    );
    ExitCode::from(2)
}

/// Runs the drift check on the workspace, printing each finding.
fn check_drift() -> Result<(), String> {
    println!("\n==> xtask: drift (the docs name only what exists)");
    let started = Instant::now();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("xtask has no parent folder")?;
    let findings = drift::run(root, COMMANDS)?;
    for finding in &findings {
        eprintln!("{finding}");
    }
    let secs = started.elapsed().as_secs_f32();
    if findings.is_empty() {
        println!("==> xtask: drift ok ({secs:.1}s)");
        Ok(())
    } else {
        Err(format!(
            "step=<drift> | {} stale reference(s) in the docs",
            findings.len()
        ))
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("ci") => {
            let started = Instant::now();
            if let Err(e) = check_drift() {
                eprintln!("\nxtask ci: FAILED | {e}");
                return ExitCode::FAILURE;
            }
            for step in ci_steps() {
                if let Err(e) = step.run() {
                    eprintln!("\nxtask ci: FAILED | {e}");
                    return ExitCode::FAILURE;
                }
            }
            println!(
                "\nxtask ci: all steps passed in {:.1}s",
                started.elapsed().as_secs_f32()
            );
            ExitCode::SUCCESS
        }
        Some("drift") => match check_drift() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("\nxtask drift: FAILED | {e}");
                ExitCode::FAILURE
            }
        },
        Some("bench") => {
            let mut args: Vec<&'static str> = vec!["run", "--release", "-p", "bidi-bench", "--"];
            let rest: Vec<&'static str> = args_tail(&args_owned(1));
            if rest.is_empty() {
                args.push("run");
            }
            args.extend(rest);
            match Step::new("bench", &args).run() {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("\nxtask bench: FAILED | {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Some("fuzz") => {
            let mut args: Vec<&'static str> =
                vec!["run", "--profile", "fuzz", "-p", "bidi-fuzz", "--"];
            args.extend(args_tail(&args_owned(1)));
            match Step::new("fuzz", &args).run() {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("\nxtask fuzz: FAILED | {e}");
                    ExitCode::FAILURE
                }
            }
        }
        _ => usage(),
    }
}

/// The command line after the first `skip` + 1 arguments.
fn args_owned(skip: usize) -> Vec<String> {
    std::env::args().skip(1 + skip).collect()
}

/// Leaks the arguments into `&'static str` (a short-lived chore process).
fn args_tail(args: &[String]) -> Vec<&'static str> {
    args.iter()
        .map(|a| &*Box::leak(a.clone().into_boxed_str()))
        .collect()
}
