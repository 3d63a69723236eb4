//! Forgetting stopped tasks: ECS lists a stopped task for a while (about an hour), then
//! DescribeTasks and ListTasks no longer know it. One key, looked at a few times per retention
//! period (at most every minute); no change triggers it.

use std::time::Duration;

use super::Everything;
use super::runtime::{Action, Reconciler, Wake};
use crate::error::Result;
use crate::store::{Change, Store};

/// The stopped-task expiry controller.
pub struct StoppedTasks {
    store: Store,
    retention: Duration,
}

impl StoppedTasks {
    /// Forgets tasks of `store` once they have been stopped for `retention`.
    #[must_use]
    pub fn new(store: Store, retention: Duration) -> Self {
        Self { store, retention }
    }

    /// How often it looks.
    #[must_use]
    pub fn period(&self) -> Duration {
        (self.retention / 4).clamp(Duration::from_millis(250), Duration::from_secs(60))
    }
}

impl Reconciler for StoppedTasks {
    type Key = Everything;
    const NAME: &'static str = "stopped-task-expiry";

    async fn keys(&self) -> Result<Vec<Everything>> {
        Ok(vec![Everything])
    }

    fn keys_of(&self, _: &Change) -> Wake<Everything> {
        Wake::Keys(Vec::new())
    }

    async fn reconcile(&self, _: &Everything) -> Result<Action> {
        let cutoff = crate::domain::now() - self.retention.as_secs_f64();
        let forgotten = self.store.expire_stopped_tasks(cutoff).await?;
        if forgotten > 0 {
            tracing::debug!(tasks = forgotten, "forgot stopped tasks");
        }
        Ok(Action::AwaitChange)
    }
}
