//! [`Conversation`]: what every task of one started conversation holds (the core, the event
//! queue, the task set, the running tool calls, the invocation and request states).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use tokio::sync::mpsc;

use super::inner::Inner;
use super::running::RunningCalls;
use super::shared::{AgentHandle, LoopItem, TaskSet, panic_message};
use crate::error::AgentError;
use crate::invocation::{InvocationState, RequestState};

/// What every task of one conversation holds.
#[derive(Clone)]
pub(crate) struct Conversation {
    pub(crate) inner: Arc<Inner>,
    pub(crate) tx: mpsc::Sender<LoopItem>,
    pub(crate) tasks: Arc<TaskSet>,
    pub(crate) calls: Arc<RunningCalls>,
    pub(crate) invocation: InvocationState,
    pub(crate) request: RequestState,
}

impl Conversation {
    pub(crate) fn handle(&self) -> AgentHandle {
        self.inner.handle()
    }

    /// Queues an item; false when the receiver is gone.
    pub(crate) async fn put(&self, item: LoopItem) -> bool {
        self.tx.send(item).await.is_ok()
    }

    /// Runs `fut` as a task of this conversation, turning a panic into an error item.
    pub(crate) fn spawn(&self, task: &'static str, fut: impl Future<Output = ()> + Send + 'static) {
        let tx = self.tx.clone();
        // `then`, not an `async` block awaiting `fut`: the block would hold `fut` twice (as
        // its capture and as the future it awaits), doubling the task's memory.
        self.tasks.spawn(
            AssertUnwindSafe(fut)
                .catch_unwind()
                .then(move |outcome| async move {
                    if let Err(panic) = outcome {
                        let message = panic_message(panic.as_ref());
                        tracing::error!(task, "task=<{task}> | agent task panicked: {message}");
                        let _ = tx
                            .send(LoopItem::Error(AgentError::Task { task, message }))
                            .await;
                    }
                }),
        );
    }
}
