//! alsa-lib's own messages, caught and logged with `tracing` at debug instead of printed.
//!
//! alsa-lib prints `ALSA lib ...` lines to stderr when a device is missing or its
//! configuration refers to a card that is not there. It also lets a thread install its own
//! error handler, which the `alsa` crate offers safely as a buffer
//! (`alsa::Output::local_error_handler`). Every thread of ours that calls into ALSA (the
//! device threads, and the short-lived threads that list and probe devices) installs it
//! with [`Catch::install`] and logs what was caught with [`drain`] after each step; the
//! threads cpal starts to drive a running stream are cpal's and not covered.
//!
//! Off Linux there is no ALSA, and these do nothing.

use crate::{AudioError, Direction};

/// alsa-lib's messages on this thread are caught while this lives; logged when dropped.
#[derive(Debug)]
pub(crate) struct Catch(());

impl Catch {
    /// Catches alsa-lib's messages on the current thread from now on.
    pub(crate) fn install() -> Self {
        imp::install();
        Self(())
    }
}

impl Drop for Catch {
    fn drop(&mut self) {
        drain();
    }
}

/// Logs, at debug, what alsa-lib reported on this thread since the last drain.
pub(crate) fn drain() {
    imp::drain();
}

/// Runs `work` on a new thread that catches alsa-lib's messages, and waits for it: ALSA is
/// called from a thread of ours, never the caller's (whose own handler, if any, stays).
pub(crate) fn on_thread<T, F>(direction: Direction, work: F) -> Result<T, AudioError>
where
    T: Send,
    F: FnOnce() -> Result<T, AudioError> + Send,
{
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name(format!("bidi-audio-probe-{direction}"))
            .spawn_scoped(scope, || {
                let _catch = Catch::install();
                work()
            })
            .map_err(|e| AudioError::DeviceThread {
                direction,
                reason: format!("could not spawn: {e}"),
            })?;
        handle
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

#[cfg(target_os = "linux")]
mod imp {
    use std::cell::RefCell;
    use std::rc::Rc;

    thread_local! {
        /// The buffer alsa-lib writes this thread's messages into.
        static CAUGHT: RefCell<Option<Rc<RefCell<alsa::Output>>>> = const { RefCell::new(None) };
    }

    pub(super) fn install() {
        match alsa::Output::local_error_handler() {
            Ok(buffer) => CAUGHT.with_borrow_mut(|c| *c = Some(buffer)),
            Err(e) => tracing::debug!("error=<{e}> | could not catch alsa-lib's messages"),
        }
    }

    pub(super) fn drain() {
        let Some(full) = CAUGHT.with_borrow_mut(Option::take) else {
            return;
        };
        // A fresh buffer takes over; the full one is read, then released.
        install();
        let text = full.borrow().to_string();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            tracing::debug!("alsa=<{line}> | alsa-lib message");
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    pub(super) fn install() {}
    pub(super) fn drain() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_runs_on_another_thread_and_its_result_comes_back() {
        let here = std::thread::current().id();
        let there = on_thread(Direction::Input, || Ok(std::thread::current().id()));
        assert!(matches!(there, Ok(id) if id != here));
        let failed: Result<(), _> = on_thread(Direction::Output, || {
            Err(AudioError::DeviceThread {
                direction: Direction::Output,
                reason: "test".to_owned(),
            })
        });
        assert!(matches!(failed, Err(AudioError::DeviceThread { .. })));
    }
}
