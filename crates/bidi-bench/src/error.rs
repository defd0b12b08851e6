//! Why a command failed: [`BenchError`] for the orchestrator and [`ChildError`] for one
//! scenario run in a child process.

use std::path::PathBuf;
use std::time::Duration;

use crate::http;

/// Why the orchestrator failed.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The peer folder was not found.
    #[error("no shared/peer folder above {0} (pass --peer-dir)")]
    NoPeer(PathBuf),
    /// The server did not print its READY line.
    #[error("server=<{what}> | failed to start: {detail}")]
    Server {
        /// Which server.
        what: String,
        /// What happened.
        detail: String,
    },
    /// A file or process error.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
}

/// Wraps an IO error with what was being done (for `map_err`).
pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BenchError {
    let what = what.into();
    move |source| BenchError::Io { what, source }
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum ChildError {
    /// A scenario name this benchmark does not know.
    #[error("scenario=<{0}> | unknown scenario")]
    UnknownScenario(String),
    /// Building the model or agent failed.
    #[error("building session {index}: {message}")]
    Build {
        /// The session.
        index: usize,
        /// The error.
        message: String,
    },
    /// The sessions did not all connect.
    #[error("sessions did not connect within {0:?}")]
    Connect(Duration),
    /// `/stats` failed.
    #[error(transparent)]
    Stats(#[from] http::HttpError),
}
