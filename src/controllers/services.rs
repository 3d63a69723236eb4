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

use serde_json::{Value, json};

use super::rollout::record;
use super::task_sets::{checked, reconcile_task_sets};
use crate::domain::deployment::{self, Replica, StopReason};
use crate::domain::{now, str_of};
use crate::error::Result;
use crate::services::ecs::launch::{self, Blueprint, Capacity, LaunchRequest, StrategyItem};
use crate::services::ecs::services::{daemon_instances, is_external};
use crate::services::ecs::{Ctx, clusters, task_definitions};
use crate::store::{Doc, NamedRow, ServiceRow, TaskKey};

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
        reconcile(&ctx, row, self.settle.as_secs_f64()).await?;
        Ok(Action::AwaitChange)
    }
}

/// A service's task as the scheduler sees it.
/// How long the scheduler remembers stopped tasks it has accounted for (seconds).
pub(super) const SEEN_WINDOW: f64 = 120.0;

pub(super) struct Member {
    pub(super) key: TaskKey,
    pub(super) arn: String,
    pub(super) deployment: String,
    pub(super) last: String,
    pub(super) desired_running: bool,
    /// Its container instance ARN (EC2), or empty.
    pub(super) instance: String,
    /// The capacity provider it runs on, if it was launched through one.
    pub(super) provider: Option<String>,
    /// On a DRAINING container instance: to be replaced.
    pub(super) draining: bool,
    /// RUNNING, and HEALTHY when its task definition has health checks.
    pub(super) healthy: bool,
    /// RUNNING, UNHEALTHY and past the service's health check grace period: to be replaced.
    pub(super) unhealthy: bool,
    pub(super) started_at: f64,
}

/// What one pass decided, applied to the service document afterwards.
#[derive(Default)]
pub(super) struct Outcome {
    pub(super) events: Vec<String>,
    pub(super) failed: HashMap<String, i64>,
    /// Tasks seen ending for the first time.
    pub(super) seen: Vec<String>,
}

pub(super) fn short_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// Tasks as service events name them: `(task ID) (task ID)`.
pub(super) fn task_refs<'a>(arns: impl Iterator<Item = &'a str>) -> String {
    arns.map(|a| format!("(task {})", short_id(a))).collect::<Vec<_>>().join(" ")
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
    for (key, doc) in tasks {
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

/// What one pass does: tasks to stop (with why), tasks to start, and the count it aims at.
pub(super) struct Plan<'m> {
    pub(super) to_stop: Vec<(&'m Member, String)>,
    pub(super) start: Start,
    pub(super) desired: usize,
}

/// Tasks to start: placed by the service's strategies, or one on each instance named.
pub(super) enum Start {
    Count(usize),
    On(Vec<String>),
}

impl Start {
    fn count(&self) -> usize {
        match self {
            Start::Count(n) => *n,
            Start::On(instances) => instances.len(),
        }
    }
}

/// The PRIMARY deployment's id.
pub(super) fn primary_of(doc: &Doc) -> String {
    doc.get("deployments")
        .and_then(Value::as_array)
        .and_then(|d| d.first())
        .and_then(|d| d.get("id"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// Whether the circuit breaker failed the PRIMARY deployment (it then starts nothing).
pub(super) fn primary_failed(doc: &Doc) -> bool {
    doc.get("deployments").and_then(Value::as_array).and_then(|d| d.first()).and_then(|d| d.get("rolloutState"))
        == Some(&json!("FAILED"))
}

/// The service's deployment bounds for `desired` tasks.
pub(super) fn bounds(doc: &Doc, desired: usize) -> deployment::Bounds {
    let config = doc.get("deploymentConfiguration").cloned().unwrap_or(Value::Null);
    let max_percent = config.get("maximumPercent").and_then(Value::as_i64).unwrap_or(200);
    let min_percent = config.get("minimumHealthyPercent").and_then(Value::as_i64).unwrap_or(100);
    deployment::bounds(desired, max_percent, min_percent)
}

/// The live members as the deployment rules see them, with the members they stand for.
pub(super) fn replicas<'m>(members: &'m [Member], primary_id: &str) -> (Vec<&'m Member>, Vec<Replica>) {
    let live: Vec<&Member> = members.iter().filter(|m| m.desired_running).collect();
    let replicas = live
        .iter()
        .map(|m| Replica {
            primary: m.deployment == primary_id,
            running: m.last == "RUNNING",
            healthy: m.healthy,
            draining: m.draining,
            started_at: m.started_at,
            instance: m.instance.clone(),
        })
        .collect();
    (live, replicas)
}

/// The members a step stops, with their stoppedReason.
pub(super) fn stops<'m>(
    live: &[&'m Member],
    stop: Vec<(usize, StopReason)>,
    primary_id: &str,
) -> Vec<(&'m Member, String)> {
    stop.into_iter()
        .map(|(i, why)| {
            let reason = match why {
                StopReason::Draining => {
                    "Container instance is in DRAINING state; task stopped by the service scheduler".to_owned()
                }
                StopReason::Scaling => format!("Scaling activity initiated by (deployment {primary_id})"),
            };
            (live[i], reason)
        })
        .collect()
}

/// A REPLICA service's pass: `desiredCount` tasks of the PRIMARY deployment, rolled within
/// maximumPercent and minimumHealthyPercent ([`deployment::replica_step`]).
pub(super) fn plan_replica<'m>(row: &ServiceRow, members: &'m [Member], may_start: bool) -> Plan<'m> {
    let primary_id = primary_of(&row.doc);
    let desired = if row.status == "ACTIVE" {
        usize::try_from(row.doc.get("desiredCount").and_then(Value::as_i64).unwrap_or(0)).unwrap_or(0)
    } else {
        0
    };
    let (live, replicas) = replicas(members, &primary_id);
    let may_start = may_start && !primary_failed(&row.doc);
    let step = deployment::replica_step(&replicas, desired, bounds(&row.doc, desired), may_start);
    Plan { to_stop: stops(&live, step.stop, &primary_id), start: Start::Count(step.start), desired }
}

/// A DAEMON service's pass: one task of the PRIMARY deployment on each ACTIVE container
/// instance; none on others. An instance's old task goes before its new one starts (within
/// minimumHealthyPercent), since daemons never exceed one task per instance.
pub(super) async fn plan_daemon<'m>(
    ctx: &Ctx<'_>,
    cluster: &NamedRow,
    row: &ServiceRow,
    members: &'m [Member],
    may_start: bool,
) -> Result<Plan<'m>> {
    let active = if row.status == "ACTIVE" { daemon_instances(ctx, cluster).await? } else { Vec::new() };
    let desired = active.len();
    let primary_id = primary_of(&row.doc);
    let (live, replicas) = replicas(members, &primary_id);
    let may_start = may_start && !primary_failed(&row.doc);
    let step = deployment::daemon_step(&replicas, &active, bounds(&row.doc, desired).min_healthy, may_start);
    let start = step.start_on.into_iter().map(|a| active[a].clone()).collect();
    Ok(Plan { to_stop: stops(&live, step.stop, &primary_id), start: Start::On(start), desired })
}

/// Whether a RUNNING task counts as healthy for deployments: HEALTHY with health checks;
/// without them, once it has run for `settle` seconds (so that a container that exits at once
/// never completes a deployment; ECS waits 40 s).
pub(super) fn healthy(task: &Doc, has_checks: bool, settle: f64) -> bool {
    match str_of(task, "healthStatus") {
        Some("HEALTHY") => true,
        Some("UNHEALTHY") => false,
        _ => !has_checks && now() - task.get("startedAt").and_then(Value::as_f64).unwrap_or(f64::MAX) >= settle,
    }
}

/// Stops a task of the service for the scheduler.
/// Stops the tasks the scheduler chose, with their reasons, and records the event ECS writes.
pub(super) async fn stop_members(
    ctx: &Ctx<'_>,
    name: &str,
    to_stop: &[(&Member, String)],
    events: &mut Vec<String>,
) -> Result<()> {
    if to_stop.is_empty() {
        return Ok(());
    }
    for (m, reason) in to_stop {
        launch::stop(ctx, &m.key, "ServiceSchedulerInitiated", reason).await?;
    }
    let tasks = task_refs(to_stop.iter().map(|(m, _)| m.arn.as_str()));
    events.push(format!("(service {name}) has stopped {} running tasks: {tasks}.", to_stop.len()));
    Ok(())
}

/// Starts `count` tasks of the primary deployment. Answers their ARNs and, when some could not
/// be placed, the event that says why.
pub(super) async fn start_tasks(
    ctx: &Ctx<'_>,
    cluster: &NamedRow,
    row: &ServiceRow,
    deployment: &str,
    start: &Start,
    staying: &[&Member],
) -> Result<(Vec<String>, Option<String>)> {
    let count = start.count();
    let doc = &row.doc;
    let td_arn = str_of(doc, "taskDefinition").unwrap_or_default();
    let Some(td) = task_definitions::find(ctx, td_arn).await? else {
        return Ok((Vec::new(), Some(format!("was unable to start tasks: task definition {td_arn} not found."))));
    };
    let mut tags = Vec::new();
    if doc.get("enableECSManagedTags").and_then(Value::as_bool) == Some(true) {
        tags.push(("aws:ecs:serviceName".to_owned(), row.name.clone()));
        tags.push(("aws:ecs:clusterName".to_owned(), row.cluster.clone()));
    }
    if str_of(doc, "propagateTags") == Some("SERVICE") {
        tags.extend(ctx.store.get_tags(&row.arn).await?);
    }
    let request = LaunchRequest {
        network_configuration: doc.get("networkConfiguration").cloned(),
        overrides: None,
        started_by: Some(deployment.to_owned()),
        group: Some(format!("service:{}", row.name)),
        propagate_tags: (str_of(doc, "propagateTags") == Some("TASK_DEFINITION")).then(|| "TASK_DEFINITION".into()),
        enable_execute_command: doc.get("enableExecuteCommand").and_then(Value::as_bool).unwrap_or(false),
        platform_version: str_of(doc, "platformVersion").map(str::to_owned),
        placement_constraints: doc.get("placementConstraints").and_then(Value::as_array).cloned(),
        placement_strategy: doc.get("placementStrategy").and_then(Value::as_array).cloned(),
    };
    let mut blueprint = Blueprint::new(ctx, cluster.clone(), td, request, tags).await?;
    blueprint.service = Some(row.name.clone());
    let strategy: Option<Vec<Value>> = doc.get("capacityProviderStrategy").and_then(Value::as_array).cloned();
    let options = launch::capacity_options(ctx, cluster, str_of(doc, "launchType"), strategy.as_deref())?;
    let items: Vec<StrategyItem> = options.iter().map(|(_, i)| i.clone()).collect();
    // What each provider already runs for the service, so that base and weight hold over all
    // of its tasks, not each batch.
    let existing: Vec<usize> = items
        .iter()
        .map(|i| staying.iter().filter(|m| m.provider.as_deref() == Some(i.capacity_provider.as_str())).count())
        .collect();
    let counts = launch::split(&items, &existing, count);
    let plan: Vec<(Capacity, usize)> = options.into_iter().map(|(c, _)| c).zip(counts).collect();
    let chosen = match start {
        Start::Count(_) => None,
        Start::On(instances) => Some(instances.as_slice()),
    };
    let launched = launch::launch(ctx, &blueprint, &plan, chosen, None).await?;
    let arns: Vec<String> = launched.tasks.iter().filter_map(|t| str_of(t, "taskArn").map(str::to_owned)).collect();
    let failure = (arns.len() < count).then(|| unplaceable(&launched.failures));
    Ok((arns, failure))
}

/// The event ECS writes when a service's task fits no container instance.
pub(super) fn unplaceable(failures: &[Value]) -> String {
    let closest = failures.first();
    let instance = closest.and_then(|f| f.get("arn")).and_then(Value::as_str).map_or("", short_id);
    let why = match closest.and_then(|f| f.get("reason")).and_then(Value::as_str) {
        Some("RESOURCE:MEMORY") => "has insufficient memory available",
        Some("RESOURCE:CPU") => "has insufficient CPU units available",
        Some("RESOURCE:PORTS") => "is already using a port required by your task",
        Some("AGENT") => "is not connected or not ACTIVE",
        Some("ATTRIBUTE") => "is missing an attribute required by your task",
        Some(_) => "does not meet your task's placement constraints",
        None => {
            return "was unable to place a task because no container instance met all of its requirements. Reason: No Container Instances were found in your cluster. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.".to_owned();
        }
    };
    format!(
        "was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance {instance}) {why}. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
    )
}
