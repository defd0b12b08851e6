//! `bidi-fuzz [--seconds N] [--target NAME] [--list]`: fuzzes every parser of outside bytes
//! (or one) for N seconds each (default 10), saving any input that panics one under
//! `crates/bidi-fuzz/regressions/<target>/`. `cargo xtask fuzz` runs it in release mode.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::ExitCode;
use std::time::Duration;

use bidi_fuzz::{TARGETS, Target, run};

fn usage() -> &'static str {
    "usage: bidi-fuzz [--seconds N] [--target NAME] [--list]"
}

fn main() -> ExitCode {
    let mut seconds = 10u64;
    let mut only: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => match args.next().and_then(|s| s.parse().ok()) {
                Some(n) => seconds = n,
                None => {
                    eprintln!("--seconds needs a whole number\n{}", usage());
                    return ExitCode::from(2);
                }
            },
            "--target" => only = args.next(),
            "--list" => {
                for t in TARGETS {
                    println!("{:<24} {}", t.name, t.about);
                }
                return ExitCode::SUCCESS;
            }
            "-h" | "--help" => {
                println!("{}", usage());
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("unknown argument {other:?}\n{}", usage());
                return ExitCode::from(2);
            }
        }
    }
    let targets: Vec<&Target> = match &only {
        Some(name) => match bidi_fuzz::target(name) {
            Some(t) => vec![t],
            None => {
                eprintln!("no target {name:?} (see --list)");
                return ExitCode::from(2);
            }
        },
        None => TARGETS.iter().collect(),
    };
    run::save_crashes_in(concat!(env!("CARGO_MANIFEST_DIR"), "/regressions"));
    let mut failed = Vec::new();
    for target in targets {
        let budget = Duration::from_secs(seconds);
        match catch_unwind(AssertUnwindSafe(|| run::fuzz(target, budget))) {
            Ok(report) => println!(
                "{:<24} ok: {} inputs in {:.1}s ({:.0}/s)",
                target.name,
                report.inputs,
                report.elapsed.as_secs_f64(),
                report.inputs as f64 / report.elapsed.as_secs_f64().max(1e-9)
            ),
            Err(_) => {
                println!("{:<24} FAILED (input saved; see above)", target.name);
                failed.push(target.name);
            }
        }
    }
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "bidi-fuzz: {} target(s) failed: {}",
            failed.len(),
            failed.join(", ")
        );
        ExitCode::FAILURE
    }
}
