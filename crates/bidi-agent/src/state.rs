//! [`AgentState`]: the agent's JSON key-value store, kept across sessions.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

pub use crate::error::StateError;

/// The agent's state: a JSON object that tools and hooks read and write, and that a
/// [`SessionManager`](crate::session::SessionManager) saves and restores.
///
/// Clones share the same store (the agent, its tools and its hooks see one state). Values are
/// copied in and out, as the reference deep-copies.
///
/// ```
/// use bidi_agent::AgentState;
/// use serde_json::json;
///
/// let state = AgentState::new();
/// state.set("count", json!(1)).unwrap();
/// state.set_serialized("tags", &vec!["a", "b"]).unwrap();
/// assert_eq!(state.get("count"), Some(json!(1)));
/// assert_eq!(state.get_as::<Vec<String>>("tags").unwrap(), Some(vec!["a".into(), "b".into()]));
/// assert!(state.set("", json!(1)).is_err());
/// state.delete("count");
/// assert_eq!(state.get("count"), None);
/// ```
#[derive(Debug, Clone, Default)]
pub struct AgentState(Arc<Mutex<Map<String, Value>>>);

impl AgentState {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// A state holding a copy of `map`, whose keys are checked.
    pub fn from_map(map: Map<String, Value>) -> Result<Self, StateError> {
        if map.keys().any(String::is_empty) {
            return Err(StateError::EmptyKey);
        }
        Ok(Self(Arc::new(Mutex::new(map))))
    }

    fn lock(&self) -> MutexGuard<'_, Map<String, Value>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores `value` under `key`.
    pub fn set(&self, key: impl Into<String>, value: Value) -> Result<(), StateError> {
        let key = key.into();
        if key.is_empty() {
            return Err(StateError::EmptyKey);
        }
        self.lock().insert(key, value);
        Ok(())
    }

    /// Serialises `value` to JSON and stores it under `key`; an error if it is not
    /// JSON-representable.
    pub fn set_serialized<T: Serialize + ?Sized>(
        &self,
        key: impl Into<String>,
        value: &T,
    ) -> Result<(), StateError> {
        let key = key.into();
        let value = serde_json::to_value(value).map_err(|e| StateError::NotJson {
            key: key.clone(),
            reason: e.to_string(),
        })?;
        self.set(key, value)
    }

    /// A copy of the value under `key`.
    pub fn get(&self, key: &str) -> Option<Value> {
        self.lock().get(key).cloned()
    }

    /// The value under `key`, deserialised as `T`.
    pub fn get_as<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StateError> {
        self.get(key)
            .map(|v| {
                serde_json::from_value(v).map_err(|e| StateError::WrongType {
                    key: key.to_owned(),
                    reason: e.to_string(),
                })
            })
            .transpose()
    }

    /// Removes `key`; returns what it held.
    pub fn delete(&self, key: &str) -> Option<Value> {
        self.lock().shift_remove(key)
    }

    /// A copy of everything.
    pub fn snapshot(&self) -> Map<String, Value> {
        self.lock().clone()
    }

    /// Replaces everything with `map` (what a session manager restores).
    pub fn replace(&self, map: Map<String, Value>) -> Result<(), StateError> {
        if map.keys().any(String::is_empty) {
            return Err(StateError::EmptyKey);
        }
        *self.lock() = map;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    #[test]
    fn rejects_empty_keys_everywhere() {
        let s = AgentState::new();
        assert!(matches!(s.set("", json!(1)), Err(StateError::EmptyKey)));
        let mut m = Map::new();
        m.insert(String::new(), json!(1));
        assert!(matches!(
            AgentState::from_map(m.clone()),
            Err(StateError::EmptyKey)
        ));
        assert!(matches!(s.replace(m), Err(StateError::EmptyKey)));
    }

    #[test]
    fn typed_setter_refuses_non_json() {
        let s = AgentState::new();
        let mut bad = BTreeMap::new();
        bad.insert((1, 2), "x");
        let err = s.set_serialized("k", &bad).unwrap_err();
        assert!(
            matches!(err, StateError::NotJson { ref key, .. } if key == "k"),
            "{err}"
        );
        assert_eq!(s.get("k"), None);
    }

    #[test]
    fn clones_share_and_values_are_copies() {
        let s = AgentState::new();
        let t = s.clone();
        s.set("a", json!({"x": 1})).unwrap();
        let mut v = t.get("a").unwrap();
        v["x"] = json!(2);
        assert_eq!(s.get("a"), Some(json!({"x": 1})));
        assert!(matches!(
            s.get_as::<String>("a"),
            Err(StateError::WrongType { .. })
        ));
    }
}
