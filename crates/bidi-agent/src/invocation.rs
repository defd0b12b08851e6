//! What a caller passes to every tool of one conversation ([`InvocationState`]) and what the
//! tools of one conversation share ([`RequestState`]).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde_json::{Map, Value};

/// Context given to `start` (or `run`) and passed to every tool: JSON values (a user id, a
/// session id) and typed extensions (a database pool, a client).
///
/// The agent keeps its own copy: the caller's value is never changed.
///
/// ```
/// use std::sync::Arc;
/// use bidi_agent::InvocationState;
/// use serde_json::json;
///
/// struct Db(&'static str);
/// let state = InvocationState::new()
///     .with("user_id", json!("u-1"))
///     .with_extension(Db("postgres://localhost"));
/// assert_eq!(state.get("user_id"), Some(&json!("u-1")));
/// assert_eq!(state.extension::<Db>().unwrap().0, "postgres://localhost");
/// ```
#[derive(Clone, Default)]
pub struct InvocationState {
    values: Map<String, Value>,
    extensions: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
}

impl fmt::Debug for InvocationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InvocationState")
            .field("values", &self.values)
            .field("extensions", &self.extensions.len())
            .finish()
    }
}

impl InvocationState {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// The same state with `key` set to `value`.
    pub fn with(mut self, key: impl Into<String>, value: Value) -> Self {
        self.insert(key, value);
        self
    }

    /// Sets `key` to `value`.
    pub fn insert(&mut self, key: impl Into<String>, value: Value) {
        self.values.insert(key.into(), value);
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.values.get(key)
    }

    /// Every JSON value.
    pub fn values(&self) -> &Map<String, Value> {
        &self.values
    }

    /// The same state holding `value`, found again by its type.
    pub fn with_extension<T: Any + Send + Sync>(mut self, value: T) -> Self {
        self.insert_extension(value);
        self
    }

    /// Stores `value`, found again by its type.
    pub fn insert_extension<T: Any + Send + Sync>(&mut self, value: T) {
        self.extensions.insert(TypeId::of::<T>(), Arc::new(value));
    }

    /// The extension of type `T`.
    pub fn extension<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        self.extensions
            .get(&TypeId::of::<T>())
            .cloned()
            .and_then(|a| a.downcast::<T>().ok())
    }
}

impl From<Map<String, Value>> for InvocationState {
    fn from(values: Map<String, Value>) -> Self {
        Self {
            values,
            extensions: HashMap::new(),
        }
    }
}

/// A JSON object shared by every tool call of one conversation (from `start` to `stop`),
/// the reference's `request_state`. A tool that sets `stop_event_loop` to `true` ends the
/// conversation after its result ([`RequestState::stop_event_loop`]).
///
/// ```
/// use bidi_agent::RequestState;
/// use serde_json::json;
///
/// let rs = RequestState::new();
/// assert!(!rs.should_stop());
/// rs.set("calls", json!(1));
/// rs.stop_event_loop();
/// assert!(rs.should_stop());
/// assert_eq!(rs.get("calls"), Some(json!(1)));
/// ```
#[derive(Debug, Clone, Default)]
pub struct RequestState(Arc<Mutex<Map<String, Value>>>);

impl RequestState {
    /// The key that ends the conversation when truthy.
    pub const STOP_EVENT_LOOP: &'static str = "stop_event_loop";

    /// An empty request state.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Map<String, Value>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A copy of the value under `key`.
    pub fn get(&self, key: &str) -> Option<Value> {
        self.lock().get(key).cloned()
    }

    /// Sets `key`.
    pub fn set(&self, key: impl Into<String>, value: Value) {
        self.lock().insert(key.into(), value);
    }

    /// Asks the agent to end the conversation once the current tool returns (its result is
    /// not sent to the model).
    pub fn stop_event_loop(&self) {
        self.set(Self::STOP_EVENT_LOOP, Value::Bool(true));
    }

    /// Whether `stop_event_loop` is set to a truthy value (as Python reads it).
    pub fn should_stop(&self) -> bool {
        match self.lock().get(Self::STOP_EVENT_LOOP) {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
            Some(Value::String(s)) => !s.is_empty(),
            Some(Value::Array(a)) => !a.is_empty(),
            Some(Value::Object(o)) => !o.is_empty(),
        }
    }

    /// A copy of everything.
    pub fn snapshot(&self) -> Map<String, Value> {
        self.lock().clone()
    }
}
