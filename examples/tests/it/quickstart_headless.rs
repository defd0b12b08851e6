//! The quickstart at a terminal with no sound card (a cloud VM over SSH, a container): run
//! under a pseudo-terminal with ALSA pointed at a configuration without a usable device, it
//! says so in one line, never lets ALSA print, and holds the text conversation with the
//! line typed at the terminal.

use crate::support;

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Instant;

use bidi_examples::assistant::NO_AUDIO_DEVICES;
use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
use support::HANG;

/// A pseudo-terminal: the side the test reads and types on, and the terminal's path.
fn pty() -> (OwnedFd, String) {
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)
        .unwrap_or_else(|e| panic!("openpt: {e}"));
    grantpt(&master).unwrap_or_else(|e| panic!("grantpt: {e}"));
    unlockpt(&master).unwrap_or_else(|e| panic!("unlockpt: {e}"));
    let name = ptsname(&master, Vec::new()).unwrap_or_else(|e| panic!("ptsname: {e}"));
    (master, name.to_string_lossy().into_owned())
}

/// What the quickstart printed on its terminal, read as it comes.
struct Screen {
    chunks: mpsc::Receiver<Vec<u8>>,
    seen: Vec<u8>,
}

impl Screen {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.seen).into_owned()
    }

    /// Reads until `want` is on the screen; panics (showing the screen) past [`HANG`].
    fn wait_for(&mut self, want: &str) {
        let limit = Instant::now() + HANG;
        while !self.text().contains(want) {
            let left = limit.saturating_duration_since(Instant::now());
            match self.chunks.recv_timeout(left) {
                Ok(chunk) => self.seen.extend(chunk),
                Err(_) => panic!("{want:?} never appeared; the screen:\n{}", self.text()),
            }
        }
    }

    /// Reads until the terminal closes (every process holding it ended).
    fn read_to_end(&mut self) {
        let limit = Instant::now() + HANG;
        loop {
            let left = limit.saturating_duration_since(Instant::now());
            match self.chunks.recv_timeout(left) {
                Ok(chunk) => self.seen.extend(chunk),
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!("the terminal stayed open; the screen:\n{}", self.text())
                }
            }
        }
    }
}

/// Runs the quickstart at a pseudo-terminal with `ALSA_CONFIG_PATH=alsa_config`, no
/// provider credentials (so the offline simulator answers) and no `RUST_LOG`; types "What
/// is 12 times 7?", waits for the answer, then Ctrl-D. Returns the screen and the exit code.
fn quickstart_at_a_terminal(alsa_config: &Path) -> (String, Option<i32>) {
    let (master, tty_path) = pty();
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&tty_path)
        .unwrap_or_else(|e| panic!("{tty_path}: {e}"));
    let stdio = || Stdio::from(tty.try_clone().unwrap_or_else(|e| panic!("dup: {e}")));
    let mut child = Command::new(env!("CARGO_BIN_EXE_bidi-quickstart"))
        .env("ALSA_CONFIG_PATH", alsa_config)
        .env_remove("RUST_LOG")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env_remove("OPENAI_API_KEY")
        .env_remove("GEMINI_API_KEY")
        .env_remove("GOOGLE_API_KEY")
        .stdin(stdio())
        .stdout(stdio())
        .stderr(stdio())
        .spawn()
        .unwrap_or_else(|e| panic!("the quickstart binary starts: {e}"));
    // Only the child holds the terminal now: reading ends when it exits.
    drop(tty);
    let pid = child.id();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if done_rx.recv_timeout(HANG).is_err() {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
    });

    let mut keyboard = std::fs::File::from(
        master
            .try_clone()
            .unwrap_or_else(|e| panic!("dup master: {e}")),
    );
    let (tx, chunks) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut master = std::fs::File::from(master);
        let mut buf = [0u8; 4096];
        // EIO once the terminal's last holder closed it.
        while let Ok(n @ 1..) = master.read(&mut buf) {
            if tx.send(buf[..n].to_vec()).is_err() {
                return;
            }
        }
    });
    let mut screen = Screen {
        chunks,
        seen: Vec::new(),
    };
    screen.wait_for(NO_AUDIO_DEVICES);
    keyboard
        .write_all(b"What is 12 times 7?\n")
        .unwrap_or_else(|e| panic!("typing: {e}"));
    screen.wait_for("is 84");
    keyboard
        .write_all(&[0x04]) // Ctrl-D: end of input
        .unwrap_or_else(|e| panic!("typing: {e}"));
    let status = child.wait().unwrap_or_else(|e| panic!("wait: {e}"));
    done_tx.send(()).ok();
    watchdog.join().ok();
    screen.read_to_end();
    reader.join().ok();
    (screen.text(), status.code())
}

fn assert_headless_run(alsa_config: &Path) {
    let (screen, code) = quickstart_at_a_terminal(alsa_config);
    println!("--- the terminal ---\n{screen}");
    assert_eq!(code, Some(0), "exit code; the screen:\n{screen}");
    assert_eq!(
        screen.matches(NO_AUDIO_DEVICES).count(),
        1,
        "one fallback line:\n{screen}"
    );
    let lines: Vec<&str> = screen.lines().collect();
    assert!(
        lines.iter().all(|l| !l.contains("ALSA lib")),
        "ALSA printed on the terminal:\n{screen}"
    );
    assert!(
        !screen.contains("audio mode") && !screen.contains("stream config"),
        "{screen}"
    );
    let asked = screen
        .find("What is 12 times 7?")
        .unwrap_or_else(|| panic!("the typed line is not echoed:\n{screen}"));
    assert!(
        screen[asked..].contains("calculator") && screen[asked..].contains("is 84"),
        "a text answer to the typed question:\n{screen}"
    );
}

#[test]
fn with_an_empty_alsa_config_the_quickstart_falls_back_to_text_in_one_line() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let empty = dir.path().join("asound.conf");
    std::fs::write(&empty, "").unwrap_or_else(|e| panic!("{e}"));
    assert_headless_run(&empty);
}

#[test]
fn a_default_device_that_cannot_open_falls_back_without_alsa_noise() {
    // The system's configuration, with a default device whose slave does not exist: opening
    // it makes alsa-lib print, as on a machine whose configuration names a missing card.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let rc = dir.path().join("asoundrc");
    std::fs::write(
        &rc,
        "pcm.!default { type plug slave.pcm \"bidi_no_such_pcm\" }\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let config = format!("/usr/share/alsa/alsa.conf:{}", rc.display());
    assert_headless_run(Path::new(&config));
}
