//! Tasks: each task's lifecycle, keyed by task. A task is reconciled when it changes in the
//! store (RunTask stored it, StopTask asked it to stop, the capacity controller placed it) and
//! when Docker reports one of its containers ending or changing health (the feed of
//! [`crate::runtime::TaskRuntime::follow_events`], one per engine); what one reconcile does is
//! [`crate::runtime::lifecycle::reconcile`]'s. A task whose engine does not answer is looked at
//! again every two seconds; the resync (at start, and every half minute) picks up the tasks a
//! berth that stopped left unfinished, and any event a feed missed.
//!
//! Many tasks are reconciled at once (a start or a stop takes a while: images, containers,
//! stop timeouts), each task one reconcile at a time.

use std::sync::Arc;
use std::time::Duration;

use super::runtime::{Action, Pace, Reconciler, Wake};
use crate::error::{ApiError, Result};
use crate::runtime::TaskRuntime;
use crate::runtime::lifecycle::{self, Next};
use crate::store::{Change, TaskKey};

/// How the tasks controller is paced: tasks start as soon as they are stored, many at once.
pub const PACE: Pace = Pace {
    resync: Some(Duration::from_secs(30)),
    debounce: Duration::from_millis(5),
    backoff: Duration::from_millis(250),
    max_backoff: Duration::from_secs(30),
    concurrency: 64,
};

/// The tasks controller.
pub struct Tasks {
    tasks: Arc<TaskRuntime>,
}

impl Tasks {
    /// Drives the tasks of `tasks`.
    #[must_use]
    pub fn new(tasks: Arc<TaskRuntime>) -> Self {
        Self { tasks }
    }
}

impl Reconciler for Tasks {
    type Key = TaskKey;
    const NAME: &'static str = "tasks";
    const COUNT_KEYS: bool = false;

    async fn keys(&self) -> Result<Vec<TaskKey>> {
        let unfinished = self.tasks.store().unfinished_tasks().await.map_err(ApiError::internal)?;
        Ok(unfinished.into_iter().map(|(key, _)| key).collect())
    }

    fn keys_of(&self, change: &Change) -> Wake<TaskKey> {
        match change {
            // A task that waits for capacity is the capacity controller's until it is placed.
            Change::Task { region, cluster, id, awaiting: false, .. } => {
                Wake::Keys(vec![TaskKey { region: region.clone(), cluster: cluster.clone(), id: id.clone() }])
            }
            Change::All => Wake::All,
            _ => Wake::Keys(Vec::new()),
        }
    }

    /// Tasks a StopTask (or a service) asked to stop that have not stopped yet: berth stops
    /// them before it exits, as it acknowledged.
    fn before_stop(&self) -> Vec<TaskKey> {
        self.tasks.stops_requested()
    }

    async fn reconcile(&self, key: &TaskKey) -> Result<Action> {
        Ok(match lifecycle::reconcile(&self.tasks, key).await.map_err(ApiError::internal)? {
            Next::Settled => Action::AwaitChange,
            Next::Retry(after) => Action::Requeue(after),
        })
    }
}
