//! [`SessionStore`]: where the server keeps sessions (`--session-dir` or `--session-s3`),
//! and opening one by id for a connection or a call.

use std::fmt;
use std::path::PathBuf;

use bidi_agent::session::aws_sdk_s3::Client;
use bidi_agent::session::{
    FileSessionManager, S3Location, S3SessionManager, SessionError, SessionManager,
};

/// Where sessions are kept. A session named by a client (`/ws?session=ID`) or a call (its
/// call SID) is opened here and given to the [`AgentFactory`](crate::AgentFactory); the
/// agent's build restores its history, which reaches the provider when the agent starts.
///
/// ```
/// use bidi_server::SessionStore;
///
/// let store = SessionStore::Dir("/var/lib/bidi/sessions".into());
/// assert_eq!(store.to_string(), "directory /var/lib/bidi/sessions");
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub enum SessionStore {
    /// Files under a directory ([`FileSessionManager`]).
    Dir(PathBuf),
    /// Objects in S3 or an S3-compatible server ([`S3SessionManager`]).
    S3 {
        /// The bucket and key prefix.
        location: S3Location,
        /// The client (see [`S3ClientOptions`](bidi_agent::session::S3ClientOptions)).
        client: Client,
    },
}

impl SessionStore {
    /// Opens (or creates) session `id`; a file session is created synchronously, an S3
    /// session is read whole.
    pub async fn open(&self, id: &str) -> Result<Box<dyn SessionManager>, SessionError> {
        match self {
            Self::Dir(dir) => Ok(Box::new(FileSessionManager::new(id, dir)?)),
            Self::S3 { location, client } => Ok(Box::new(
                S3SessionManager::open(id, location.clone(), client.clone()).await?,
            )),
        }
    }
}

impl fmt::Display for SessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dir(dir) => write!(f, "directory {}", dir.display()),
            Self::S3 { location, .. } => write!(f, "{location}"),
        }
    }
}

impl fmt::Debug for SessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionStore({self})")
    }
}
