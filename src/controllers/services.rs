//! The ECS service scheduler, keyed by service, as the ECS service scheduler does:
//! - REPLICA services keep `desiredCount` tasks of the PRIMARY deployment, started through the
//!   same launch path as RunTask (placement, capacity providers), with `startedBy` the
//!   deployment id and group `service:NAME`.
//! - A rolling update starts new tasks while the total stays within `maximumPercent` of the
//!   desired count and stops old ones while RUNNING tasks stay at or above
//!   `minimumHealthyPercent`; tasks on DRAINING container instances are replaced the same way
//!   (the rules: [`crate::domain::deployment`]). DAEMON services run one task per ACTIVE
//!   instance.
//! - Tasks that stop on their own are replaced; tasks that fail to start count as the
//!   deployment's `failedTasks`, and with the deployment circuit breaker on, enough of them fail
//!   the deployment (and roll back to the last completed one when asked).
//! - EXTERNAL services' task sets ([`super::task_sets`]) are scaled to their share.
//! - [`super::rollout`] records counts, events and rollout state: what `aws ecs wait
//!   services-stable` and Terraform's wait_for_steady_state read.
//!
//! Woken by changes to the service and to its tasks, and each second by the resync (health
//! check grace periods, the time a task must run before a deployment counts it healthy, and
//! the events ECS repeats all pass with time).

use std::collections::HashMap;

use serde_json::Value;

use super::rollout::record;
use super::service_plan::*;
use super::task_sets::{checked, reconcile_task_sets};
use crate::domain::{now, str_of};
use crate::error::Result;
use crate::services::ecs::services::is_external;
use crate::services::ecs::{Ctx, clusters};
use crate::store::ServiceRow;

use std::sync::Arc;
use std::time::Duration;

use super::ServiceKey;
use super::runtime::{Action, Reconciler, Wake};
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
            Change::Task { service: None, .. } | Change::LogGroup { .. } => Wake::Keys(Vec::new()),
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
        reconcile(&ctx, row, self.settle.as_secs_f64()).await?;
        Ok(Action::AwaitChange)
    }
}

/// Brings one service's tasks to what it promises, then records counts, events and rollout.
///
/// # Errors
/// `ServerException` if the store fails; the controller retries.
pub(super) async fn reconcile(ctx: &Ctx<'_>, row: ServiceRow, settle: f64) -> Result<()> {
    let Some(cluster) = clusters::find(ctx, Some(&row.cluster)).await? else { return Ok(()) };
    let name = row.name.clone();
    let seen: HashMap<String, f64> = row
        .state
        .get("seen")
        .and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_f64()?))).collect())
        .unwrap_or_default();
    let horizon = now() - SEEN_WINDOW;
    let tasks = ctx.store.service_tasks(ctx.region(), &row.cluster, &name, horizon).await?;
    let draining_instances: Vec<String> = ctx
        .store
        .list_instances(ctx.region(), &row.cluster, Some("DRAINING"), "", u32::MAX)
        .await?
        .into_iter()
        .map(|r| r.arn)
        .collect();
    let mut outcome = Outcome::default();
    let mut members = Vec::new();
    let mut checks = HashMap::new();
    let grace = row.doc.get("healthCheckGracePeriodSeconds").and_then(Value::as_f64).unwrap_or(0.0);
    let at = now();
    for crate::store::ServiceTask { key, doc, protected_until } in tasks {
        let arn = str_of(&doc, "taskArn").unwrap_or_default().to_owned();
        let deployment = str_of(&doc, "startedBy").unwrap_or_default().to_owned();
        let last = str_of(&doc, "lastStatus").unwrap_or_default().to_owned();
        let ending = str_of(&doc, "desiredStatus") == Some("STOPPED");
        if ending && !seen.contains_key(&arn) {
            outcome.seen.push(arn.clone());
            // A task that ends on its own (it failed to start, its essential container exited
            // or turned unhealthy), not stopped by the scheduler or a user, failed: it counts
            // against its deployment (the circuit breaker's count) and backs the scheduler off.
            let stopped_by = str_of(&doc, "stopCode");
            if !matches!(stopped_by, Some("ServiceSchedulerInitiated" | "UserInitiated")) {
                *outcome.failed.entry(deployment.clone()).or_default() += 1;
            }
            // An essential container that turned UNHEALTHY stopped it (see the task runtime).
            if str_of(&doc, "stoppedReason") == Some(crate::runtime::UNHEALTHY_REASON) {
                outcome
                    .events
                    .push(format!("(service {name}) (task {}) failed container health checks.", short_id(&arn)));
            }
        }
        if last == "STOPPED" {
            continue;
        }
        let instance = str_of(&doc, "containerInstanceArn").unwrap_or_default();
        members.push(Member {
            key,
            arn,
            deployment,
            desired_running: str_of(&doc, "desiredStatus") == Some("RUNNING"),
            healthy: last == "RUNNING" && healthy(&doc, checked(ctx, &mut checks, &doc).await?, settle),
            unhealthy: last == "RUNNING"
                && str_of(&doc, "healthStatus") == Some("UNHEALTHY")
                && now() - doc.get("startedAt").and_then(Value::as_f64).unwrap_or(0.0) >= grace,
            draining: !instance.is_empty() && draining_instances.iter().any(|d| d == instance),
            instance: instance.to_owned(),
            provider: str_of(&doc, "capacityProviderName").map(str::to_owned),
            started_at: doc.get("startedAt").and_then(Value::as_f64).unwrap_or(0.0),
            protected: protected_until.is_some_and(|until| until > at),
            last,
        });
    }
    let daemon = str_of(&row.doc, "schedulingStrategy") == Some("DAEMON");
    let backoff_until = row.state.get("backoffUntil").and_then(Value::as_f64).unwrap_or(0.0);
    // Tasks that just failed to start back the scheduler off before it tries again.
    let may_start = outcome.failed.values().sum::<i64>() == 0 && now() >= backoff_until;
    if is_external(&row.doc) {
        return reconcile_task_sets(ctx, &cluster, &row, &members, outcome, may_start).await;
    }
    let plan = if daemon {
        plan_daemon(ctx, &cluster, &row, &members, may_start).await?
    } else {
        plan_replica(&row, &members, may_start)
    };
    let Plan { mut to_stop, start, desired } = plan;
    // Tasks failing their health checks past the grace period are replaced (the next pass
    // starts their replacements; the event comes when they end).
    for m in members.iter().filter(|m| m.desired_running && m.unhealthy) {
        if !to_stop.iter().any(|(s, _)| s.arn == m.arn) {
            to_stop.push((m, crate::runtime::UNHEALTHY_REASON.to_owned()));
        }
    }
    let primary_id = primary_of(&row.doc);
    stop_members(ctx, &name, &to_stop, &mut outcome.events).await?;
    let mut started_now = 0;
    if start.count() > 0 {
        let staying: Vec<&Member> =
            members.iter().filter(|m| m.desired_running && !to_stop.iter().any(|(s, _)| s.arn == m.arn)).collect();
        match start_tasks(ctx, &cluster, &row, &primary_id, &start, &staying).await {
            Ok((started, failure)) => {
                started_now = started.len();
                if !started.is_empty() {
                    let tasks = task_refs(started.iter().map(String::as_str));
                    outcome.events.push(format!("(service {name}) has started {} tasks: {tasks}.", started.len()));
                }
                if let Some(message) = failure {
                    outcome.events.push(format!("(service {name}) {message}"));
                }
            }
            Err(e) => outcome.events.push(format!("(service {name}) failed to launch a task with ({}).", e.message)),
        }
    }
    record(ctx, &row, &members, &to_stop, started_now, outcome, desired).await
}
