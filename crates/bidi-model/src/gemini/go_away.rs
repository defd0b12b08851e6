//! What Gemini's `goAway` sets off, as a pure state machine ([`GoAway`]): the server announces
//! the end of the connection (`goAway.timeLeft`); the model restarts before then, carrying the
//! latest session resumption handle so the new connection resumes the session instead of
//! replaying history. It never restarts in the middle of a tool call: while a call is open it
//! waits for the call's response and for a handle issued after it; if the announced end comes
//! first, it restarts without a handle (the next connection replays history).
//!
//! The connection's task (module `connection`) feeds it the `goAway`, the
//! handles and the deadline; the restart itself is the agent's, on the
//! [`ModelError::Timeout`] this returns.

use std::time::Duration;

use bidi_types::{ModelError, ModelTimeout};
use serde_json::Value;
use tokio::time::Instant;

/// How long before the end announced by `goAway` the restart happens at the latest.
pub const GO_AWAY_MARGIN: Duration = Duration::from_secs(2);

/// How long to assume is left when `goAway` says nothing.
const DEFAULT_TIME_LEFT: Duration = Duration::from_secs(10);

/// A `goAway` waiting for open function calls to be answered.
#[derive(Debug)]
struct Pending {
    time_left: Option<String>,
    deadline: Instant,
}

/// The pending `goAway`, if any.
#[derive(Debug, Default)]
pub struct GoAway {
    pending: Option<Pending>,
}

impl GoAway {
    /// The server announced the end, `time_left` as it wrote it (`"50s"`), at `now`.
    pub fn announced(&mut self, time_left: Option<String>, now: Instant) {
        let left = time_left
            .as_deref()
            .and_then(parse_time_left)
            .unwrap_or(DEFAULT_TIME_LEFT);
        self.pending = Some(Pending {
            time_left,
            deadline: now + left.saturating_sub(GO_AWAY_MARGIN),
        });
    }

    /// When the restart must happen at the latest, while a `goAway` is pending.
    pub fn deadline(&self) -> Option<Instant> {
        self.pending.as_ref().map(|p| p.deadline)
    }

    /// Out of time with calls still open: the restart, without a handle, so the new session
    /// replays history instead of resuming mid-call.
    pub fn expired(&mut self) -> ModelError {
        let time_left = self.pending.take().and_then(|p| p.time_left);
        ModelError::Timeout(go_away_timeout(time_left.as_deref(), None))
    }

    /// After a `goAway`: the restart once no call is open and, with `resumption`, once the
    /// latest `handle` is `current` (newer than the latest tool response: a resumed session
    /// must hold every call and response the client knows of); `None` while it must wait
    /// (or no `goAway` is pending).
    pub fn restart_if_ready(
        &mut self,
        open_calls: bool,
        resumption: bool,
        handle: Option<String>,
        current: bool,
    ) -> Option<ModelError> {
        self.pending.as_ref()?;
        if open_calls || (resumption && !current) {
            return None;
        }
        let time_left = self.pending.take().and_then(|p| p.time_left);
        Some(ModelError::Timeout(go_away_timeout(
            time_left.as_deref(),
            handle.as_deref().filter(|_| current),
        )))
    }
}

/// `"50s"` / `"1.5s"` as a duration.
pub fn parse_time_left(s: &str) -> Option<Duration> {
    s.strip_suffix('s')?
        .parse::<f64>()
        .ok()
        .filter(|f| f.is_finite() && *f >= 0.0)
        .map(Duration::from_secs_f64)
}

/// The restart a `goAway` asks for: a [`ModelTimeout`] carrying the resumption `handle`
/// (under [`RESTART_HANDLE_KEY`](super::RESTART_HANDLE_KEY)) when there is one.
pub fn go_away_timeout(time_left: Option<&str>, handle: Option<&str>) -> ModelTimeout {
    let message = match time_left {
        Some(t) => format!("goAway | time_left={t}"),
        None => "goAway".to_owned(),
    };
    let timeout = ModelTimeout::new(message);
    match handle {
        Some(h) => timeout.with_restart(super::RESTART_HANDLE_KEY, Value::String(h.to_owned())),
        None => timeout,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left() {
        assert_eq!(parse_time_left("50s"), Some(Duration::from_secs(50)));
        assert_eq!(parse_time_left("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_time_left("soon"), None);
        assert_eq!(parse_time_left("-1s"), None);
    }

    #[test]
    fn waits_for_open_calls_and_a_current_handle() {
        let now = Instant::now();
        let mut go = GoAway::default();
        assert!(go.restart_if_ready(false, true, None, false).is_none());
        go.announced(Some("30s".into()), now);
        assert_eq!(go.deadline(), Some(now + Duration::from_secs(28)));
        assert!(
            go.restart_if_ready(true, true, Some("h".into()), true)
                .is_none()
        );
        assert!(
            go.restart_if_ready(false, true, Some("h".into()), false)
                .is_none()
        );
        let Some(ModelError::Timeout(t)) = go.restart_if_ready(false, true, Some("h".into()), true)
        else {
            panic!("restart expected");
        };
        assert_eq!(
            t.restart_config.get(super::super::RESTART_HANDLE_KEY),
            Some(&Value::String("h".into()))
        );
        assert!(go.deadline().is_none());
    }

    #[test]
    fn expiry_restarts_without_a_handle() {
        let mut go = GoAway::default();
        go.announced(None, Instant::now());
        let ModelError::Timeout(t) = go.expired() else {
            panic!("timeout expected");
        };
        assert!(t.restart_config.is_empty());
        assert!(go.deadline().is_none());
    }
}
