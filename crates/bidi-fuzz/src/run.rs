//! Driving a [`Target`] under a time budget, and keeping what breaks it.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::Target;

/// What one run of a target did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Inputs tried.
    pub inputs: u64,
    /// Wall time spent.
    pub elapsed: Duration,
}

/// Feeds `target` generated inputs for `budget`. Panics (with arbtest's seed printed, to
/// reproduce with `ARBTEST_SEED`) when an input panics the parser; with
/// [`save_crashes_in`], the input is written there first.
pub fn fuzz(target: &Target, budget: Duration) -> Report {
    let started = Instant::now();
    let mut inputs = 0u64;
    arbtest::arbtest(|u| {
        let input = target.generate(u)?;
        inputs += 1;
        check_keeping(target, &input);
        Ok(())
    })
    .budget(budget)
    .run();
    Report {
        inputs,
        elapsed: started.elapsed(),
    }
}

static CRASH_DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Where [`fuzz`] writes an input that panics a target: `DIR/<target>/crash-<hash>.bin`
/// (the `bidi-fuzz` binary uses `crates/bidi-fuzz/regressions`, which the tests replay).
/// Set once per process.
pub fn save_crashes_in(dir: impl Into<PathBuf>) {
    let _ = CRASH_DIR.set(dir.into());
}

fn check_keeping(target: &Target, input: &[u8]) {
    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| target.check(input))) {
        if let Some(dir) = CRASH_DIR.get() {
            match save(dir, target.name, input) {
                Ok(path) => eprintln!(
                    "bidi-fuzz: {} panicked; input saved to {}",
                    target.name,
                    path.display()
                ),
                Err(e) => eprintln!(
                    "bidi-fuzz: {} panicked; could not save the input: {e}",
                    target.name
                ),
            }
        }
        std::panic::resume_unwind(panic);
    }
}

/// FNV-1a: a stable name for an input.
fn hash(input: &[u8]) -> u64 {
    input.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn save(dir: &Path, target: &str, input: &[u8]) -> std::io::Result<PathBuf> {
    let folder = dir.join(target);
    std::fs::create_dir_all(&folder)?;
    let path = folder.join(format!("crash-{:016x}.bin", hash(input)));
    std::fs::write(&path, input)?;
    Ok(path)
}

/// The saved inputs of `target` under `dir` (`dir/<target>/*`), sorted by name.
pub fn saved_inputs(dir: &Path, target: &str) -> std::io::Result<Vec<(PathBuf, Vec<u8>)>> {
    let folder = dir.join(target);
    if !folder.exists() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(folder)? {
        let path = entry?.path();
        if path.is_file() {
            let bytes = std::fs::read(&path)?;
            out.push((path, bytes));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}
