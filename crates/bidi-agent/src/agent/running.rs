//! [`RunningCalls`]: the model's tool calls still running in one conversation, by id, each
//! with the token that cancels it when the model drops the call (Gemini's
//! `toolCallCancellation`, as a `bidi_tool_cancellation` event).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use tokio_util::sync::CancellationToken;

/// The running calls of one conversation. The lock is held for a map operation only.
#[derive(Default)]
pub(crate) struct RunningCalls(Mutex<HashMap<String, CancellationToken>>);

impl RunningCalls {
    /// Registers a call as its tool use arrives, before its task starts (so a cancellation
    /// that follows finds it); the token its run watches.
    pub(crate) fn begin(&self, id: &str) -> CancellationToken {
        let token = CancellationToken::new();
        self.map().insert(id.to_owned(), token.clone());
        token
    }

    /// The call has its result: a later cancellation of it is a no-op.
    pub(crate) fn finish(&self, id: &str) {
        self.map().remove(id);
    }

    /// Cancels those of `ids` still running; how many were.
    pub(crate) fn cancel(&self, ids: &[String]) -> usize {
        let mut map = self.map();
        let mut cancelled = 0;
        for id in ids {
            if let Some(token) = map.remove(id) {
                token.cancel();
                cancelled += 1;
            }
        }
        cancelled
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, CancellationToken>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_running_calls_are_cancelled() {
        let calls = RunningCalls::default();
        let a = calls.begin("a");
        let b = calls.begin("b");
        calls.finish("b");
        assert_eq!(calls.cancel(&["a".into(), "b".into(), "zzz".into()]), 1);
        assert!(a.is_cancelled());
        assert!(!b.is_cancelled());
        // A second cancellation of the same id finds nothing.
        assert_eq!(calls.cancel(&["a".into()]), 0);
    }
}
