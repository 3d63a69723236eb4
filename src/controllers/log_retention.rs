//! CloudWatch Logs retention: the events of a group with a retention policy go once they are
//! older than it. Reads hide them from the moment they expire; this deletes them (and their
//! bytes from the group's `storedBytes`). One key, looked at when a retention policy changes and
//! every minute, as events age.

use std::time::Duration;

use super::Everything;
use super::runtime::{Action, Reconciler, Wake};
use crate::error::Result;
use crate::store::{Change, Store};

/// How often expired events are looked for without a retention change.
pub const PERIOD: Duration = Duration::from_secs(60);

const DAY_MS: i64 = 86_400_000;

/// The log retention controller.
pub struct LogRetention {
    store: Store,
}

impl LogRetention {
    /// Deletes the expired events of `store`'s log groups.
    #[must_use]
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

impl Reconciler for LogRetention {
    type Key = Everything;
    const NAME: &'static str = "log-retention";

    async fn keys(&self) -> Result<Vec<Everything>> {
        Ok(vec![Everything])
    }

    fn keys_of(&self, change: &Change) -> Wake<Everything> {
        match change {
            Change::LogGroup { .. } | Change::All => Wake::Keys(vec![Everything]),
            _ => Wake::Keys(Vec::new()),
        }
    }

    async fn reconcile(&self, _: &Everything) -> Result<Action> {
        let now = crate::domain::now_ms();
        for (group, days) in self.store.retained_log_groups().await? {
            let deleted = self.store.expire_log_events(group, now - days * DAY_MS).await?;
            if deleted > 0 {
                tracing::debug!(group, events = deleted, "deleted expired log events");
            }
        }
        Ok(Action::AwaitChange)
    }
}
