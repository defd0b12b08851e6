//! Runs bidi's echo canceller on files, exactly as `BidiAudioIO` runs it on a microphone:
//!
//! ```text
//! cargo run --release --example echo_cancel -- --far FAR.wav --near MIC.wav --out CLEAN.wav [--mode off|aec|aec+ns]
//! ```
//!
//! FAR is what the speaker played, MIC what the microphone heard (mono 16-bit PCM, the same
//! rate: 8, 16, 24 or 48 kHz). CLEAN is the microphone without the echo, at MIC's rate and
//! length. `--mode` defaults to `aec+ns`.

use std::path::PathBuf;
use std::process::ExitCode;

use bidi_audio::aec::{EchoMode, cancel_files};

const USAGE: &str =
    "usage: echo_cancel --far FAR.wav --near MIC.wav --out CLEAN.wav [--mode off|aec|aec+ns]";

struct Args {
    far: PathBuf,
    near: PathBuf,
    out: PathBuf,
    mode: EchoMode,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let (mut far, mut near, mut out, mut mode) = (None, None, None, EchoMode::AecNs);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--far" => far = Some(PathBuf::from(value()?)),
            "--near" => near = Some(PathBuf::from(value()?)),
            "--out" => out = Some(PathBuf::from(value()?)),
            "--mode" => mode = value()?.parse().map_err(|e| format!("{e}"))?,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    match (far, near, out) {
        (Some(far), Some(near), Some(out)) => Ok(Args {
            far,
            near,
            out,
            mode,
        }),
        _ => Err("--far, --near and --out are required".to_owned()),
    }
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("echo_cancel: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match cancel_files(&args.far, &args.near, &args.out, args.mode) {
        Ok(report) => {
            println!(
                "wrote {}: {} samples at {} Hz, mode {}",
                args.out.display(),
                report.samples,
                report.rate,
                args.mode
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("echo_cancel: {e}");
            ExitCode::FAILURE
        }
    }
}
