//! What the service scheduler's pass works with and decides: the service's tasks as members of
//! its deployments ([`Member`]), what to stop and start ([`Plan`], from
//! [`crate::domain::deployment`]'s rules), starting and stopping them through the launch path.
//! Used by [`super::services`] (the pass), [`super::rollout`] and [`super::task_sets`]; it
//! calls the store, the launch path and the domain rules, none of those three.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::domain::deployment::{self, Replica, StopReason};
use crate::domain::{now, str_of};
use crate::error::Result;
use crate::services::ecs::launch::{self, Blueprint, Capacity, LaunchRequest, StrategyItem};
use crate::services::ecs::services::daemon_instances;
use crate::services::ecs::{Ctx, task_definitions};
use crate::store::{Doc, NamedRow, ServiceRow, TaskKey};

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
    /// Under task scale-in protection (UpdateTaskProtection) that has not expired.
    pub(super) protected: bool,
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
    pub(super) fn count(&self) -> usize {
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
            protected: m.protected,
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
    let external = str_of(&row.doc, "launchType") == Some("EXTERNAL");
    let active = if row.status == "ACTIVE" { daemon_instances(ctx, cluster, external).await? } else { Vec::new() };
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
