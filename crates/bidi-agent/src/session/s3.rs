//! [`S3SessionManager`]: sessions as S3 objects, in the reference's layout (the same JSON as
//! [`FileSessionManager`](super::FileSessionManager)), with [`S3Location`] (`s3://bucket/prefix`)
//! and [`S3ClientOptions`] (endpoint, path-style addressing, region, retries).

mod bucket;
mod client;
mod location;

pub use client::S3ClientOptions;
pub use location::S3Location;

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use aws_sdk_s3::Client;
use bidi_types::Message;
use futures_util::{StreamExt, TryStreamExt};
use serde_json::{Map, Value};

use bucket::{Bucket, Failure};

use super::layout::{self, message_json};
use super::{SessionError, SessionManager, repair_history};
use crate::agent::AgentHandle;
use crate::hooks::BidiAgentInitializedEvent;
use crate::state::AgentState;

/// Objects read at once when a session is loaded.
const PARALLEL_READS: usize = 16;

/// How many message numbers an append tries when others keep taking them. Each number
/// found taken was taken by a message another writer stored since the last look, so an
/// append fails only when other writers stored this many messages while it was trying.
const APPEND_ATTEMPTS: u32 = 32;

/// Keeps sessions in an S3 bucket (or an S3-compatible server), in the reference's layout:
///
/// ```text
/// s3://<bucket>/<prefix>/session_<session_id>/
///   session.json                                 {"session_id", "session_type": "AGENT", "created_at", "updated_at"}
///   agents/agent_<agent_id>/agent.json           {"agent_id", "state", "conversation_manager_state", "_internal_state", "created_at", "updated_at"}
///   agents/agent_<agent_id>/messages/message_<n>.json   {"message", "message_id", "redact_message", "created_at", "updated_at"}
/// ```
///
/// The JSON is [`FileSessionManager`](super::FileSessionManager)'s (and the reference's):
/// a session copied between a directory and a bucket is read by either manager.
///
/// - [`open`](Self::open) reads the session once (creating `session.json` when absent) with
///   every stored agent's state and messages; building the agent restores from what was
///   read (the agent's `build` is synchronous), repaired as [`repair_history`] does.
/// - Each message is one object, written whole by one `PutObject`, so a reader never sees
///   half a message. Messages are created with `If-None-Match: *`: two managers appending to
///   one agent never overwrite each other's message `n`. A manager that finds its number
///   taken lists the messages and takes the next free number (the message's `message_id`
///   follows), so both messages are kept, in the order the store accepted them; after
///   32 taken numbers in a row the append fails with [`SessionError::Conflict`].
///   (The reference writes without a condition: the last writer of `n` wins.)
/// - `agent.json` is replaced on every sync, keeping its first `created_at`.
/// - Failures are typed: [`SessionError::NoSuchBucket`], [`SessionError::AccessDenied`],
///   [`SessionError::Network`] (after the SDK's retries), [`SessionError::Storage`]; an
///   object that is not the layout's JSON is [`SessionError::Corrupt`] with its `s3://` URL.
///
/// ```no_run
/// # async fn demo() -> Result<(), bidi_agent::session::SessionError> {
/// use bidi_agent::session::{S3ClientOptions, S3Location, S3SessionManager};
///
/// let location: S3Location = "s3://my-bucket/voice/sessions".parse()?;
/// let client = S3ClientOptions::new().client().await; // the usual AWS chain
/// let manager = S3SessionManager::open("call-42", location, client).await?;
/// assert_eq!(manager.session_prefix(), "voice/sessions/session_call-42/");
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct S3SessionManager {
    session_id: String,
    location: S3Location,
    /// `<prefix>/session_<id>/`.
    session_prefix: String,
    bucket: Bucket,
    /// What `open` read of each stored agent, taken by `initialize_agent`.
    stored: Mutex<HashMap<String, StoredAgent>>,
    /// The agents initialised here.
    agents: Mutex<HashMap<String, AgentEntry>>,
    /// Held for each write on the hooks' path: writes run one at a time, in the order they
    /// were issued (tokio's mutex is fair), so an older state never lands over a newer one.
    writes: tokio::sync::Mutex<()>,
}

/// An agent as stored.
#[derive(Debug)]
struct StoredAgent {
    state: AgentState,
    created_at: Value,
    messages: Vec<Message>,
    last_id: Option<u64>,
}

/// An agent initialised in this manager.
#[derive(Debug)]
struct AgentEntry {
    /// The last message number written (`None`: no message yet).
    latest: Option<u64>,
    created_at: Value,
    /// A new agent's `agent.json` and initial messages, written by the first write.
    pending: Option<(Value, Vec<Message>)>,
}

impl S3SessionManager {
    /// Opens (or creates) the session `session_id` at `location`, reading its stored agents.
    pub async fn open(
        session_id: impl Into<String>,
        location: S3Location,
        client: Client,
    ) -> Result<Self, SessionError> {
        let session_id = session_id.into();
        if crate::agent::validate_id(&session_id).is_err() {
            return Err(SessionError::InvalidSessionId(session_id));
        }
        let session_prefix = location.session_prefix(&session_id);
        let manager = Self {
            session_id,
            bucket: Bucket {
                name: location.bucket.clone(),
                client,
            },
            location,
            session_prefix,
            stored: Mutex::new(HashMap::new()),
            agents: Mutex::new(HashMap::new()),
            writes: tokio::sync::Mutex::new(()),
        };
        let session_key = format!("{}session.json", manager.session_prefix);
        let existed = match manager.bucket.read(&session_key).await? {
            Some(session) => {
                manager.check_session(&session_key, &session)?;
                true
            }
            None => {
                tracing::debug!(session_id = %manager.session_id, "session not found, creating new session");
                let body = layout::session_json(&manager.session_id);
                match manager.bucket.put(&session_key, &body, true).await {
                    Ok(()) => false,
                    // Created meanwhile by another manager: use theirs.
                    Err(Failure::Taken) => {
                        let session =
                            manager.bucket.read(&session_key).await?.ok_or_else(|| {
                                manager
                                    .bucket
                                    .corrupt(&session_key, "vanished after it was created")
                            })?;
                        manager.check_session(&session_key, &session)?;
                        true
                    }
                    Err(f) => return Err(manager.bucket.error(&session_key, f)),
                }
            }
        };
        if existed {
            let stored = manager.load_agents().await?;
            *manager
                .stored
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = stored;
        }
        Ok(manager)
    }

    /// Opens the session with a client from [`S3ClientOptions::client`] (the usual AWS chain
    /// for credentials and region).
    pub async fn open_with(
        session_id: impl Into<String>,
        location: S3Location,
        options: &S3ClientOptions,
    ) -> Result<Self, SessionError> {
        Self::open(session_id, location, options.client().await).await
    }

    /// The session's id.
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// Where sessions are kept.
    pub fn location(&self) -> &S3Location {
        &self.location
    }

    /// The session's key prefix: `<prefix>/session_<id>/` (`session_<id>/` with no prefix).
    pub fn session_prefix(&self) -> &str {
        &self.session_prefix
    }

    fn agent_prefix(&self, agent_id: &str) -> String {
        format!("{}agents/agent_{agent_id}/", self.session_prefix)
    }

    fn message_key(&self, agent_id: &str, id: u64) -> String {
        format!("{}messages/message_{id}.json", self.agent_prefix(agent_id))
    }

    fn agents(&self) -> std::sync::MutexGuard<'_, HashMap<String, AgentEntry>> {
        self.agents.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn check_session(&self, key: &str, session: &Map<String, Value>) -> Result<(), SessionError> {
        if session.get("session_id").and_then(Value::as_str) == Some(self.session_id.as_str()) {
            Ok(())
        } else {
            Err(self
                .bucket
                .corrupt(key, "session_id does not match the key"))
        }
    }

    /// Every stored agent (those with an `agent.json`) with its messages.
    async fn load_agents(&self) -> Result<HashMap<String, StoredAgent>, SessionError> {
        let agents_prefix = format!("{}agents/", self.session_prefix);
        let mut agents: HashMap<String, (bool, Vec<(u64, String)>)> = HashMap::new();
        for key in self.bucket.list(&agents_prefix).await? {
            let rest = &key[agents_prefix.len()..];
            let parts: Vec<&str> = rest.split('/').collect();
            let Some(agent_id) = parts.first().and_then(|p| p.strip_prefix("agent_")) else {
                continue;
            };
            let entry = agents.entry(agent_id.to_owned()).or_default();
            match parts.as_slice() {
                [_, "agent.json"] => entry.0 = true,
                [_, "messages", name] => match layout::message_number(name) {
                    Some(Ok(n)) => entry.1.push((n, key.clone())),
                    Some(Err(reason)) => return Err(self.bucket.corrupt(&key, &reason)),
                    None => {}
                },
                _ => {}
            }
        }
        let mut stored = HashMap::new();
        for (agent_id, (has_agent, mut numbered)) in agents {
            if !has_agent {
                continue;
            }
            let agent_key = format!("{}agent.json", self.agent_prefix(&agent_id));
            let agent = self
                .bucket
                .read(&agent_key)
                .await?
                .ok_or_else(|| self.bucket.corrupt(&agent_key, "listed but not found"))?;
            let state =
                layout::stored_state(&agent).map_err(|e| self.bucket.corrupt(&agent_key, &e))?;
            let created_at = agent
                .get("created_at")
                .cloned()
                .unwrap_or_else(|| Value::String(layout::now_iso()));
            numbered.sort_by_key(|(n, _)| *n);
            let last_id = numbered.last().map(|(n, _)| *n);
            let messages: Vec<Message> = futures_util::stream::iter(numbered)
                .map(|(_, key)| async move {
                    let stored = self
                        .bucket
                        .read(&key)
                        .await?
                        .ok_or_else(|| self.bucket.corrupt(&key, "listed but not found"))?;
                    layout::stored_message(&stored).map_err(|e| self.bucket.corrupt(&key, &e))
                })
                .buffered(PARALLEL_READS)
                .try_collect()
                .await?;
            stored.insert(
                agent_id,
                StoredAgent {
                    state,
                    created_at,
                    messages,
                    last_id,
                },
            );
        }
        Ok(stored)
    }

    /// Writes a new agent's `agent.json` and initial messages, if not yet written.
    async fn flush_pending(&self, agent_id: &str) -> Result<(), SessionError> {
        let pending = match self.agents().get(agent_id) {
            Some(entry) => entry.pending.clone(),
            None => return Err(SessionError::UnknownAgent(agent_id.to_owned())),
        };
        let Some((agent_json, messages)) = pending else {
            return Ok(());
        };
        let agent_key = format!("{}agent.json", self.agent_prefix(agent_id));
        self.bucket
            .put(&agent_key, &agent_json, false)
            .await
            .map_err(|f| self.bucket.error(&agent_key, f))?;
        let mut latest = None;
        for message in &messages {
            let first = latest.map_or(0, |n: u64| n + 1);
            latest = Some(self.put_message(agent_id, message, first).await?);
        }
        // Written: later writes do not repeat it (a failed one is tried again).
        if let Some(entry) = self.agents().get_mut(agent_id) {
            entry.pending = None;
            entry.latest = latest;
        }
        Ok(())
    }

    /// Creates the message object at number `first`, or the next free number after it;
    /// returns the number written.
    async fn put_message(
        &self,
        agent_id: &str,
        message: &Message,
        first: u64,
    ) -> Result<u64, SessionError> {
        let mut id = first;
        for attempt in 1..=APPEND_ATTEMPTS {
            let key = self.message_key(agent_id, id);
            match self
                .bucket
                .put(&key, &message_json(message, id), true)
                .await
            {
                Ok(()) => return Ok(id),
                Err(Failure::Taken) => {
                    let last = self.last_message_number(agent_id).await?;
                    tracing::debug!(
                        agent_id,
                        key,
                        attempt,
                        "message number taken by another writer, taking the next free one"
                    );
                    id = last.map_or(id + 1, |n| n.max(id) + 1);
                    if attempt == APPEND_ATTEMPTS {
                        return Err(SessionError::Conflict {
                            key,
                            attempts: APPEND_ATTEMPTS,
                        });
                    }
                }
                Err(f) => return Err(self.bucket.error(&key, f)),
            }
        }
        Err(SessionError::Conflict {
            key: self.message_key(agent_id, id),
            attempts: APPEND_ATTEMPTS,
        })
    }

    async fn last_message_number(&self, agent_id: &str) -> Result<Option<u64>, SessionError> {
        let prefix = format!("{}messages/", self.agent_prefix(agent_id));
        let keys = self.bucket.list(&prefix).await?;
        Ok(keys
            .iter()
            .filter_map(|k| layout::message_number(&k[prefix.len()..])?.ok())
            .max())
    }
}

#[async_trait::async_trait]
impl SessionManager for S3SessionManager {
    fn initialize_agent(&self, agent: &mut BidiAgentInitializedEvent) -> Result<(), SessionError> {
        let agent_id = agent.agent_id.clone();
        let mut agents = self.agents();
        if agents.contains_key(&agent_id) {
            return Err(SessionError::DuplicateAgent(agent_id));
        }
        let stored = self
            .stored
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&agent_id);
        let entry = match stored {
            Some(stored) => {
                tracing::debug!(
                    "agent_id=<{agent_id}>, session_id=<{}> | restoring bidi agent",
                    self.session_id
                );
                agent.state = stored.state;
                agent.messages = repair_history(stored.messages);
                AgentEntry {
                    latest: stored.last_id,
                    created_at: stored.created_at,
                    pending: None,
                }
            }
            None => {
                tracing::debug!(
                    "agent_id=<{agent_id}>, session_id=<{}> | creating bidi agent",
                    self.session_id
                );
                let agent_json = layout::new_agent_json(&agent_id, agent.state.snapshot());
                AgentEntry {
                    latest: agent.messages.len().checked_sub(1).map(|n| n as u64),
                    created_at: agent_json["created_at"].clone(),
                    pending: Some((agent_json, agent.messages.clone())),
                }
            }
        };
        agents.insert(agent_id, entry);
        Ok(())
    }

    async fn append_message(
        &self,
        agent: &AgentHandle,
        message: &Message,
    ) -> Result<(), SessionError> {
        let agent_id = agent.agent_id();
        let _write = self.writes.lock().await;
        self.flush_pending(agent_id).await?;
        let next = self
            .agents()
            .get(agent_id)
            .ok_or_else(|| SessionError::UnknownAgent(agent_id.to_owned()))?
            .latest
            .map_or(0, |n| n + 1);
        let written = self.put_message(agent_id, message, next).await?;
        if let Some(entry) = self.agents().get_mut(agent_id) {
            entry.latest = Some(written);
        }
        Ok(())
    }

    async fn sync_agent(&self, agent: &AgentHandle) -> Result<(), SessionError> {
        let agent_id = agent.agent_id();
        // Snapshot under the lock: writes land in the order the snapshots were taken.
        let _write = self.writes.lock().await;
        self.flush_pending(agent_id).await?;
        let created_at = self
            .agents()
            .get(agent_id)
            .ok_or_else(|| SessionError::UnknownAgent(agent_id.to_owned()))?
            .created_at
            .clone();
        let body = layout::synced_agent_json(agent_id, agent.state().snapshot(), created_at);
        let key = format!("{}agent.json", self.agent_prefix(agent_id));
        self.bucket
            .put(&key, &body, false)
            .await
            .map_err(|f| self.bucket.error(&key, f))
    }
}
