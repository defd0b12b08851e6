//! The virtual ALSA sandbox: a test re-runs itself as a child process whose ALSA
//! configuration names virtual devices on files and FIFOs in a temporary directory.
//! Self-contained (std and tempfile only), so other crates' tests share it by path
//! (`bidi-sim`'s `tests/it/echo_loopback.rs`).

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// The environment variable that tells a re-executed test it runs inside the sandbox.
const SANDBOX_ENV: &str = "BIDI_AUDIO_SANDBOX";

/// The virtual ALSA devices, with their files in `dir`:
/// - `vplay`: playback into `out.raw` (48 kHz, stereo, s16le);
/// - `vfifo`: playback into the FIFO `out.fifo`, so the test paces the device by reading;
/// - `vcap`: capture from `in.raw` (48 kHz, stereo, s16le; silence past its end);
/// - `vbroken`: listed, but its slave does not exist: opening it fails, and alsa-lib prints;
/// - `default`: `vplay` + `vcap`.
///
/// The `null` slave has no clock, so these run as fast as the callbacks allow.
fn asoundrc(dir: &Path) -> String {
    let d = dir.display();
    format!(
        r#"
pcm.vplay_file {{ type file slave.pcm "null" file "{d}/out.raw" format "raw" }}
pcm.vplay {{ type plug slave {{ pcm "vplay_file" format S16_LE rate 48000 channels 2 }}
  hint {{ show on description "bidi virtual playback" }} }}
pcm.vfifo_file {{ type file slave.pcm "null" file "{d}/out.fifo" format "raw" }}
pcm.vfifo {{ type plug slave {{ pcm "vfifo_file" format S16_LE rate 48000 channels 2 }}
  hint {{ show on description "bidi paced playback" }} }}
pcm.vcap_file {{ type file slave.pcm "null" file "/dev/null" infile "{d}/in.raw" format "raw" }}
pcm.vcap {{ type plug slave {{ pcm "vcap_file" format FLOAT_LE rate 48000 channels 2 }}
  hint {{ show on description "bidi virtual capture" }} }}
pcm.vbroken {{ type plug slave.pcm "bidi_no_such_pcm"
  hint {{ show on description "bidi broken device" }} }}
pcm.!default {{ type asym playback.pcm "vplay" capture.pcm "vcap" }}
"#
    )
}

/// The loopback pair of [`Alsa::Loopback`], with their FIFOs in `dir`:
/// - `vloop_play`: playback into the FIFO `loop_out.fifo` (48 kHz, stereo, s16le);
/// - `vloop_cap`: capture from the FIFO `loop_in.fifo` (48 kHz, stereo, f32le).
///
/// The test's "room" reads one FIFO and writes the other at real-time pace, which clocks
/// both devices. alsa-lib's `file` plugin opens a capture `infile` when the device opens,
/// with a blocking `open`: the room must hold `loop_in.fifo` open (read-write) before.
fn loopback_asoundrc(dir: &Path) -> String {
    let d = dir.display();
    format!(
        r#"
pcm.vloop_play_file {{ type file slave.pcm "null" file "{d}/loop_out.fifo" format "raw" }}
pcm.vloop_play {{ type plug slave {{ pcm "vloop_play_file" format S16_LE rate 48000 channels 2 }}
  hint {{ show on description "bidi loopback speaker" }} }}
pcm.vloop_cap_file {{ type file slave.pcm "null" file "/dev/null" infile "{d}/loop_in.fifo" format "raw" }}
pcm.vloop_cap {{ type plug slave {{ pcm "vloop_cap_file" format FLOAT_LE rate 48000 channels 2 }}
  hint {{ show on description "bidi loopback microphone" }} }}
"#
    )
}

/// The ALSA configuration a sandboxed run sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alsa {
    /// The system's configuration plus the virtual devices of [`asoundrc`].
    Virtual,
    /// [`Alsa::Virtual`] plus a speaker and a microphone joined by FIFOs
    /// ([`loopback_asoundrc`]): only for a test that runs the room between them, since
    /// opening `vloop_cap` blocks until someone writes its FIFO.
    Loopback,
    /// An empty configuration: no device at all, as on a machine with no sound card.
    Empty,
}

/// Runs `body` with the virtual ALSA devices: ALSA's configuration comes from the
/// environment, which is process-wide, so the test re-runs itself as a child process with
/// `ALSA_CONFIG_PATH` pointing at a config in a fresh temporary directory, and `body` runs
/// there. `test` is the test's path in the test binary as libtest knows it (`alsa::NAME`).
pub fn in_alsa_sandbox(test: &str, body: impl FnOnce(&Path)) {
    if let Some(out) = sandboxed(test, Alsa::Virtual, body) {
        assert_sandbox_passed(test, &out);
    }
}

fn mkfifo(path: &Path) {
    let made = Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap_or_else(|e| panic!("mkfifo: {e}"));
    assert!(made.success(), "mkfifo {} failed", path.display());
}

/// Runs `body` in a child process with the ALSA configuration `alsa` (see
/// [`in_alsa_sandbox`]). In the parent, returns the child's output; in the child, runs
/// `body` and returns `None`.
pub fn sandboxed(test: &str, alsa: Alsa, body: impl FnOnce(&Path)) -> Option<Output> {
    if let Ok(dir) = std::env::var(SANDBOX_ENV) {
        body(Path::new(&dir));
        return None;
    }
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let dir = tmp.path();
    let rc = dir.join("asoundrc");
    let config = match alsa {
        Alsa::Virtual => asoundrc(dir),
        Alsa::Loopback => asoundrc(dir) + &loopback_asoundrc(dir),
        Alsa::Empty => String::new(),
    };
    std::fs::write(&rc, config).unwrap_or_else(|e| panic!("asoundrc: {e}"));
    let config_path = match alsa {
        Alsa::Virtual | Alsa::Loopback => {
            format!("/usr/share/alsa/alsa.conf:{}", rc.display())
        }
        Alsa::Empty => rc.display().to_string(),
    };
    std::fs::write(dir.join("in.raw"), []).unwrap_or_else(|e| panic!("in.raw: {e}"));
    mkfifo(&dir.join("out.fifo"));
    if alsa == Alsa::Loopback {
        mkfifo(&dir.join("loop_out.fifo"));
        mkfifo(&dir.join("loop_in.fifo"));
    }
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current_exe: {e}"));
    let out = Command::new(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env("ALSA_CONFIG_PATH", config_path)
        .env(SANDBOX_ENV, dir)
        .env_remove("RUST_LOG")
        .output()
        .unwrap_or_else(|e| panic!("re-running the test: {e}"));
    println!(
        "--- sandboxed run of {test} ---\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(out)
}

/// The sandboxed run of `test` passed (and did run: the name was right).
pub fn assert_sandbox_passed(test: &str, out: &Output) {
    assert!(out.status.success(), "{test} failed in the ALSA sandbox");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("1 passed"),
        "{test} did not run in the sandbox (wrong test name?)"
    );
}
