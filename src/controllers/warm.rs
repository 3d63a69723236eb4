//! Warm holders: each cluster that runs Fargate-like tasks keeps `--warm-holders` holders
//! started ahead for its next tasks (what they are and the books: [`crate::runtime::warm`]).
//! Keyed by cluster. A task of a cluster with a pool wakes it (a task that took a holder is
//! stored; one that can use warm holders asks for a pool before it is stored RUNNING); a holder
//! that could not be made is tried again a few seconds later, and a slow resync covers a feed
//! this controller fell behind.

use std::sync::Arc;
use std::time::Duration;

use super::ClusterKey;
use super::runtime::{Action, Reconciler, Wake};
use crate::error::Result;
use crate::runtime::TaskRuntime;
use crate::store::Change;

/// How long a refill that could not make every holder waits before it tries again.
const RETRY: Duration = Duration::from_secs(5);

/// The warm-holders controller.
pub struct WarmHolders {
    tasks: Arc<TaskRuntime>,
}

impl WarmHolders {
    /// Keeps the warm holders of `tasks`' clusters.
    #[must_use]
    pub fn new(tasks: Arc<TaskRuntime>) -> Self {
        Self { tasks }
    }
}

impl Reconciler for WarmHolders {
    type Key = ClusterKey;
    const NAME: &'static str = "warm-holders";

    async fn keys(&self) -> Result<Vec<ClusterKey>> {
        Ok(self.tasks.warm_clusters().into_iter().map(|(region, cluster)| ClusterKey { region, cluster }).collect())
    }

    fn keys_of(&self, change: &Change) -> Wake<ClusterKey> {
        match change {
            Change::Task { region, cluster, .. } if self.tasks.keeps_warm_holders(region, cluster) => {
                Wake::Keys(vec![ClusterKey::new(region, cluster)])
            }
            Change::All => Wake::All,
            _ => Wake::Keys(Vec::new()),
        }
    }

    async fn reconcile(&self, key: &ClusterKey) -> Result<Action> {
        let all_made = self.tasks.refill_warm_holders(&key.region, &key.cluster).await;
        Ok(if all_made { Action::AwaitChange } else { Action::Requeue(RETRY) })
    }
}
