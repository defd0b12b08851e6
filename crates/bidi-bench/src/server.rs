//! The benchmark's server: the Python original's fake OpenAI Realtime server or the Rust
//! simulator, started as a child process (optionally pinned to a CPU), and where to find
//! them.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::args::{RunArgs, ServerKind};
use crate::error::{BenchError, io};
use crate::procfs;

/// The repository root (this crate is `crates/bidi-bench`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The peer folder: `--peer-dir`, else the first `<ancestor>/shared/peer` of the repo root
/// (`../shared/peer` from the main checkout; further up from a worktree).
pub fn peer_dir(given: Option<&Path>) -> Result<PathBuf, BenchError> {
    if let Some(p) = given {
        return Ok(p.to_path_buf());
    }
    let root = repo_root();
    root.ancestors()
        .skip(1)
        .map(|a| a.join("shared").join("peer"))
        .find(|p| p.join("fake_openai_realtime.py").is_file())
        .ok_or(BenchError::NoPeer(root))
}

/// The interpreter for the peer's Python scripts.
pub fn python(given: Option<&Path>, peer: &Path) -> PathBuf {
    if let Some(p) = given {
        return p.to_path_buf();
    }
    if let Some(p) = std::env::var_os("BIDI_PEER_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = peer.join(".venv/bin/python");
    if venv.is_file() {
        return venv;
    }
    PathBuf::from("python3")
}

pub(crate) fn pinned(cpu: &str, program: &Path, pin: bool) -> Command {
    if pin {
        let mut c = Command::new("taskset");
        c.arg("-c").arg(cpu).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// A running server child.
pub struct Server {
    child: Child,
    /// The WebSocket endpoint.
    pub url: String,
    /// `/stats` (Python fake only).
    pub stats_url: Option<String>,
}

impl Server {
    /// Starts the server of `kind`, pinned to CPU 0 with `pin`.
    pub async fn start(kind: ServerKind, a: &RunArgs, speak: &[f64]) -> Result<Self, BenchError> {
        let mut cmd = match kind {
            ServerKind::Python => {
                let peer = peer_dir(a.peer_dir.as_deref())?;
                let py = python(a.python.as_deref(), &peer);
                let mut c = pinned("0", &py, a.pin);
                c.arg(peer.join("fake_openai_realtime.py"))
                    .args(["--port", "0"]);
                c
            }
            ServerKind::Sim => {
                let exe = std::env::current_exe().map_err(io("current_exe"))?;
                let mut c = pinned("0", &exe, a.pin);
                let secs: Vec<String> = speak.iter().map(f64::to_string).collect();
                c.args(["sim-server", "--speak-seconds", &secs.join(",")]);
                c
            }
        };
        let what = format!("{kind:?}");
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(io(format!("spawning the {what} server")))?;
        let stdout = child.stdout.take().ok_or_else(|| BenchError::Server {
            what: what.clone(),
            detail: "no stdout".to_owned(),
        })?;
        let mut line = String::new();
        let mut reader = BufReader::new(stdout);
        let read = reader.read_line(&mut line);
        let _ = tokio::time::timeout(Duration::from_secs(60), read).await;
        // Keep draining so the server never blocks on a full pipe.
        tokio::spawn(async move {
            let mut sink = String::new();
            while reader.read_line(&mut sink).await.is_ok_and(|n| n > 0) {
                sink.clear();
            }
        });
        let url = line
            .trim()
            .strip_prefix("READY ")
            .ok_or_else(|| BenchError::Server {
                what: what.clone(),
                detail: format!("first line {line:?}"),
            })?
            .to_owned();
        let stats_url = (kind == ServerKind::Python).then(|| {
            let base = url.trim_start_matches("ws://");
            let authority = base.split('/').next().unwrap_or(base);
            format!("http://{authority}/stats")
        });
        Ok(Self {
            child,
            url,
            stats_url,
        })
    }

    /// The server process's CPU seconds so far.
    pub fn cpu_s(&self) -> Option<f64> {
        let pid = self.child.id()?;
        procfs::cpu_times(&pid.to_string()).map(|c| c.total_s())
    }

    /// Stops the server.
    pub async fn stop(mut self) {
        drop(self.child.stdin.take());
        if tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}
