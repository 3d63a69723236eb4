//! The ECS service scheduler, keyed by service: woken by changes to the service and to its
//! tasks, and each second by the resync (health check grace periods, the time a task must run
//! before a deployment counts it healthy, and the events ECS repeats all pass with time).

use std::sync::Arc;
use std::time::Duration;

use super::ServiceKey;
use super::runtime::{Action, Reconciler, Wake};
use crate::error::Result;
use crate::services::ecs::Api;
use crate::store::Change;

/// The service scheduler controller.
pub struct Services {
    api: Arc<Api>,
    /// How long a task without health checks runs before a deployment counts it healthy.
    settle: Duration,
}

impl Services {
    /// Schedules `api`'s services; `settle`: how long a task without health checks runs before a
    /// deployment counts it healthy.
    #[must_use]
    pub fn new(api: Arc<Api>, settle: Duration) -> Self {
        Self { api, settle }
    }
}

impl Reconciler for Services {
    type Key = ServiceKey;
    const NAME: &'static str = "services";

    /// Every ACTIVE or DRAINING service.
    async fn keys(&self) -> Result<Vec<ServiceKey>> {
        let live = self.api.store().live_services().await?;
        Ok(live.into_iter().map(|s| ServiceKey { region: s.region, cluster: s.cluster, name: s.name }).collect())
    }

    fn keys_of(&self, change: &Change) -> Wake<ServiceKey> {
        let key = |region: &String, cluster: &String, name: &String| ServiceKey {
            region: region.clone(),
            cluster: cluster.clone(),
            name: name.clone(),
        };
        match change {
            Change::Task { region, cluster, service: Some(name), .. } | Change::Service { region, cluster, name } => {
                Wake::Keys(vec![key(region, cluster, name)])
            }
            Change::Task { service: None, .. } => Wake::Keys(Vec::new()),
            // A container instance drained or added: any service of the cluster may act.
            Change::Cluster { .. } | Change::All => Wake::All,
        }
    }

    async fn reconcile(&self, key: &ServiceKey) -> Result<Action> {
        let store = self.api.store();
        let Some(row) = store.get_service(&key.region, &key.cluster, &key.name).await? else {
            return Ok(Action::AwaitChange);
        };
        if row.status == "INACTIVE" {
            return Ok(Action::AwaitChange);
        }
        let ctx = self.api.ctx(&key.region);
        crate::services::ecs::services::reconcile(&ctx, row, self.settle.as_secs_f64()).await?;
        Ok(Action::AwaitChange)
    }
}
