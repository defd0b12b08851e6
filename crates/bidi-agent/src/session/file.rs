//! [`FileSessionManager`]: sessions as directories of JSON files, in the reference's layout.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use bidi_types::Message;
use serde_json::{Map, Value};

use super::layout::{self, message_json, now_iso};
use super::{SessionError, SessionManager, repair_history};
use crate::agent::AgentHandle;
use crate::hooks::BidiAgentInitializedEvent;

/// Keeps sessions in a directory, one per session, in the reference's layout:
///
/// ```text
/// <storage_dir>/session_<session_id>/
///   session.json                 {"session_id", "session_type": "AGENT", "created_at", "updated_at"}
///   multi_agents/
///   agents/agent_<agent_id>/
///     agent.json                 {"agent_id", "state", "conversation_manager_state", "_internal_state", "created_at", "updated_at"}
///     messages/message_<n>.json  {"message", "message_id", "redact_message", "created_at", "updated_at"}
/// ```
///
/// Every file is written to `<file>.tmp`, then renamed into place, so a crash never leaves
/// half a file. A file that cannot be parsed is a [`SessionError::Corrupt`], never an empty
/// history. An agent built with the same session directory and agent id resumes the stored
/// messages (repaired, see [`repair_history`]) and state; its own initial messages are
/// discarded, as in the reference.
///
/// `new` and the agent's `build` read the session's files synchronously (they are small); the
/// writes during the conversation run on `spawn_blocking`.
///
/// ```
/// use bidi_agent::session::FileSessionManager;
///
/// let dir = tempfile::tempdir().unwrap();
/// let manager = FileSessionManager::new("s-1", dir.path()).unwrap();
/// assert!(dir.path().join("session_s-1/session.json").exists());
/// assert!(FileSessionManager::new("a/b", dir.path()).is_err());
/// ```
#[derive(Debug)]
pub struct FileSessionManager {
    session_id: String,
    dir: PathBuf,
    /// The last message id written per agent (`None`: no message yet).
    latest: Mutex<HashMap<String, Option<u64>>>,
    /// Held for each write on the hooks' path: writes run one at a time, in the order they
    /// were issued (tokio's mutex is fair), so two syncs never race on `agent.json.tmp` and
    /// an older state never lands over a newer one.
    writes: tokio::sync::Mutex<()>,
}

impl FileSessionManager {
    /// Opens (or creates) the session `session_id` under `storage_dir`.
    pub fn new(
        session_id: impl Into<String>,
        storage_dir: impl AsRef<Path>,
    ) -> Result<Self, SessionError> {
        let session_id = session_id.into();
        if crate::agent::validate_id(&session_id).is_err() {
            return Err(SessionError::InvalidSessionId(session_id));
        }
        let dir = storage_dir.as_ref().join(format!("session_{session_id}"));
        let session_file = dir.join("session.json");
        if session_file.exists() {
            let session = read_json(&session_file)?;
            if session.get("session_id").and_then(Value::as_str) != Some(session_id.as_str()) {
                return Err(SessionError::Corrupt {
                    path: session_file,
                    reason: "session_id does not match the directory".into(),
                });
            }
        } else {
            create_dir(&dir.join("agents"))?;
            create_dir(&dir.join("multi_agents"))?;
            write_json(&session_file, &layout::session_json(&session_id))?;
        }
        Ok(Self {
            session_id,
            dir,
            latest: Mutex::new(HashMap::new()),
            writes: tokio::sync::Mutex::new(()),
        })
    }

    /// Opens (or creates) the session under `<system temp>/strands/sessions`, the reference's
    /// default.
    pub fn in_temp_dir(session_id: impl Into<String>) -> Result<Self, SessionError> {
        Self::new(
            session_id,
            std::env::temp_dir().join("strands").join("sessions"),
        )
    }

    /// The session's id.
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// The session's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn agent_dir(&self, agent_id: &str) -> PathBuf {
        self.dir.join("agents").join(format!("agent_{agent_id}"))
    }

    fn latest(&self) -> std::sync::MutexGuard<'_, HashMap<String, Option<u64>>> {
        self.latest.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait::async_trait]
impl SessionManager for FileSessionManager {
    fn initialize_agent(&self, agent: &mut BidiAgentInitializedEvent) -> Result<(), SessionError> {
        let agent_id = agent.agent_id.clone();
        if self.latest().contains_key(&agent_id) {
            return Err(SessionError::DuplicateAgent(agent_id));
        }
        let agent_dir = self.agent_dir(&agent_id);
        let agent_file = agent_dir.join("agent.json");
        let latest = if agent_file.exists() {
            tracing::debug!(
                "agent_id=<{agent_id}>, session_id=<{}> | restoring bidi agent",
                self.session_id
            );
            let stored = read_json(&agent_file)?;
            agent.state = layout::stored_state(&stored).map_err(|e| corrupt(&agent_file, &e))?;
            let (messages, last_id) = read_messages(&agent_dir.join("messages"))?;
            agent.messages = repair_history(messages);
            last_id
        } else {
            tracing::debug!(
                "agent_id=<{agent_id}>, session_id=<{}> | creating bidi agent",
                self.session_id
            );
            create_dir(&agent_dir.join("messages"))?;
            write_json(
                &agent_file,
                &layout::new_agent_json(&agent_id, agent.state.snapshot()),
            )?;
            let mut last = None;
            for (i, message) in agent.messages.iter().enumerate() {
                let id = i as u64;
                write_json(&message_path(&agent_dir, id), &message_json(message, id))?;
                last = Some(id);
            }
            last
        };
        self.latest().insert(agent_id, latest);
        Ok(())
    }

    async fn append_message(
        &self,
        agent: &AgentHandle,
        message: &Message,
    ) -> Result<(), SessionError> {
        let agent_id = agent.agent_id().to_owned();
        let id = {
            let mut latest = self.latest();
            let slot = latest
                .get_mut(&agent_id)
                .ok_or_else(|| SessionError::UnknownAgent(agent_id.clone()))?;
            let id = slot.map_or(0, |n| n + 1);
            *slot = Some(id);
            id
        };
        let path = message_path(&self.agent_dir(&agent_id), id);
        let body = message_json(message, id);
        let _write = self.writes.lock().await;
        blocking(move || write_json(&path, &body)).await
    }

    async fn sync_agent(&self, agent: &AgentHandle) -> Result<(), SessionError> {
        let agent_id = agent.agent_id().to_owned();
        let path = self.agent_dir(&agent_id).join("agent.json");
        // Snapshot under the lock: writes land in the order the snapshots were taken.
        let _write = self.writes.lock().await;
        let state = agent.state().snapshot();
        blocking(move || {
            let created_at = match read_json(&path) {
                Ok(v) => v
                    .get("created_at")
                    .cloned()
                    .unwrap_or_else(|| Value::String(now_iso())),
                Err(_) => Value::String(now_iso()),
            };
            write_json(
                &path,
                &layout::synced_agent_json(&agent_id, state, created_at),
            )
        })
        .await
    }
}

async fn blocking(
    f: impl FnOnce() -> Result<(), SessionError> + Send + 'static,
) -> Result<(), SessionError> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        Err(SessionError::Io {
            path: PathBuf::new(),
            source: std::io::Error::other(e.to_string()),
        })
    })
}

fn message_path(agent_dir: &Path, id: u64) -> PathBuf {
    agent_dir
        .join("messages")
        .join(format!("message_{id}.json"))
}

fn corrupt(path: &Path, reason: &str) -> SessionError {
    SessionError::Corrupt {
        path: path.to_owned(),
        reason: reason.to_owned(),
    }
}

/// The stored messages in id order (the redacted form when set), and the last id.
fn read_messages(dir: &Path) -> Result<(Vec<Message>, Option<u64>), SessionError> {
    let entries = std::fs::read_dir(dir).map_err(|source| SessionError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let mut numbered = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| SessionError::Io {
            path: dir.to_owned(),
            source,
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(n) = layout::message_number(&name) else {
            continue;
        };
        let n = n.map_err(|e| corrupt(&entry.path(), &e))?;
        numbered.push((n, entry.path()));
    }
    numbered.sort_by_key(|(n, _)| *n);
    let mut messages = Vec::with_capacity(numbered.len());
    for (_, path) in &numbered {
        let stored = read_json(path)?;
        messages.push(layout::stored_message(&stored).map_err(|e| corrupt(path, &e))?);
    }
    Ok((messages, numbered.last().map(|(n, _)| *n)))
}

fn create_dir(path: &Path) -> Result<(), SessionError> {
    std::fs::create_dir_all(path).map_err(|source| SessionError::Io {
        path: path.to_owned(),
        source,
    })
}

fn read_json(path: &Path) -> Result<Map<String, Value>, SessionError> {
    let text = std::fs::read_to_string(path).map_err(|source| SessionError::Io {
        path: path.to_owned(),
        source,
    })?;
    layout::parse_object(&text).map_err(|e| corrupt(path, &e))
}

/// Writes `<path>.tmp`, then renames it over `path`.
fn write_json(path: &Path, value: &Value) -> Result<(), SessionError> {
    let io = |source| SessionError::Io {
        path: path.to_owned(),
        source,
    };
    let mut text = layout::to_text(value).map_err(|e| io(std::io::Error::other(e)))?;
    text.push('\n');
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, text).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}
