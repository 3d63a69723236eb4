//! ECS Managed Daemons, keyed by cluster: each daemon gets one task of its current revision on
//! every ACTIVE instance of its Managed Instances providers, and its deployments move on.
//!
//! - An empty instance that has never run the daemon gets its task at once; the capacity
//!   controller does not place other tasks on an instance until each of its daemons has one
//!   ([`daemons::unready_instances`]), so a new instance starts its daemons first.
//! - An instance that needs a new daemon task and already runs other tasks (an older revision's
//!   daemon task, or work from before the daemon) is replaced, as ECS does: a new instance joins
//!   the provider (and gets the daemon first), the old one goes DRAINING (the service scheduler
//!   moves its service tasks), and it is terminated once only daemon tasks are left on it. At
//!   most `drainPercent` of the instances are being replaced at once.
//! - A daemon task that ran and stopped (it exited, or was stopped) means its instance is
//!   replaced the same way, at once: daemons are critical. One that failed to start is tried
//!   again, at most every [`RETRY_START`].
//! - A deployment is PENDING until looked at, IN_PROGRESS until every instance runs its
//!   revision (and `bakeTimeInMinutes` has passed), then SUCCESSFUL. A deletion's deployment
//!   stops the daemon's tasks; when none is left the daemon is gone.

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use super::ClusterKey;
use super::runtime::{Action, Reconciler, Wake};
use crate::domain::{list_of, now, str_of};
use crate::error::Result;
use crate::services::ecs::daemons::{self, UNDER_WAY};
use crate::services::ecs::launch::{self, Blueprint, LaunchRequest};
use crate::services::ecs::{Api, Ctx, capacity_providers, clusters, container_instances, daemon_task_definitions};
use crate::store::{Change, DaemonRow, Doc, InstanceRow, NamedRow, TaskFilter, TaskKey};

/// How long after a daemon task failed to start another is tried on the same instance.
const RETRY_START: Duration = Duration::from_secs(15);

/// Why berth stops a daemon task itself (the daemon deleted, its provider left out).
const STOPPED_BY_DEPLOYMENT: &str = "The daemon's deployment stopped the task.";

/// The daemons controller.
pub struct Daemons {
    api: Arc<Api>,
    /// The clusters with daemons, as the last resync saw them: only their task changes wake
    /// this controller.
    clusters: Mutex<HashSet<ClusterKey>>,
}

impl Daemons {
    /// Runs the daemons of `api`'s clusters.
    #[must_use]
    pub fn new(api: Arc<Api>) -> Self {
        Self { api, clusters: Mutex::new(HashSet::new()) }
    }
}

impl Reconciler for Daemons {
    type Key = ClusterKey;
    const NAME: &'static str = "daemons";

    async fn keys(&self) -> Result<Vec<ClusterKey>> {
        let live = self.api.store().live_daemons().await?;
        let keys: BTreeSet<ClusterKey> = live.iter().map(|d| ClusterKey::new(&d.region, &d.cluster)).collect();
        if let Ok(mut known) = self.clusters.lock() {
            *known = keys.iter().cloned().collect();
        }
        Ok(keys.into_iter().collect())
    }

    fn keys_of(&self, change: &Change) -> Wake<ClusterKey> {
        match change {
            Change::Cluster { region, cluster } => Wake::Keys(vec![ClusterKey::new(region, cluster)]),
            Change::Task { region, cluster, .. } => {
                let key = ClusterKey::new(region, cluster);
                let known = self.clusters.lock().is_ok_and(|k| k.contains(&key));
                Wake::Keys(if known { vec![key] } else { Vec::new() })
            }
            Change::All => Wake::All,
            Change::Service { .. } | Change::LogGroup { .. } => Wake::Keys(Vec::new()),
        }
    }

    async fn reconcile(&self, key: &ClusterKey) -> Result<Action> {
        let ctx = self.api.ctx(&key.region);
        let Some(cluster) = clusters::find(&ctx, Some(&key.cluster)).await? else { return Ok(Action::AwaitChange) };
        let mut action = Action::AwaitChange;
        for daemon in ctx.store.list_daemons(ctx.region(), Some(&cluster.name), ("", ""), u32::MAX).await? {
            if let Some(after) = reconcile_daemon(&ctx, &cluster, &daemon).await? {
                action = match action {
                    Action::Requeue(sooner) if sooner < after => Action::Requeue(sooner),
                    _ => Action::Requeue(after),
                };
            }
        }
        Ok(action)
    }
}

/// A daemon task as the controller sees it.
struct Placed {
    key: TaskKey,
    instance: String,
    revision: Option<String>,
    running: bool,
}

/// One turn over one daemon; Some(delay) when it should be looked at again that soon.
async fn reconcile_daemon(ctx: &Ctx<'_>, cluster: &NamedRow, daemon: &DaemonRow) -> Result<Option<Duration>> {
    let deleting = daemon.status == "DELETE_IN_PROGRESS";
    let target = if deleting { None } else { str_of(&daemon.doc, "currentRevisionArn").map(str::to_owned) };
    let providers: Vec<String> = match &target {
        Some(t) => daemons::revision_provider_arns(&daemon.doc, t)
            .into_iter()
            .map(|a| a.rsplit('/').next().unwrap_or(a).to_owned())
            .collect(),
        None => Vec::new(),
    };
    let instances = ctx.store.list_instances(ctx.region(), &cluster.name, None, "", u32::MAX).await?;
    let by_id = |id: &str| instances.iter().find(|i| i.id == id);
    let mut placed = Vec::new();
    for (key, task) in daemons::live_tasks(ctx, &cluster.name, &daemon.name).await? {
        let instance = str_of(&task, "containerInstanceArn").and_then(|a| a.rsplit('/').next()).unwrap_or_default();
        let revision = daemons::revision_of_task(&daemon.doc, &task).map(str::to_owned);
        let running = str_of(&task, "lastStatus") == Some("RUNNING");
        placed.push(Placed { key, instance: instance.to_owned(), revision, running });
    }
    // Tasks that have no place in the daemon any more: it is being deleted, or their instance
    // has ended or left its providers.
    let mut kept = Vec::with_capacity(placed.len());
    for p in placed {
        let instance = by_id(&p.instance);
        let belongs = instance.is_some_and(|i| {
            i.status != "INACTIVE"
                && container_instances::provider_of(i).is_some_and(|n| providers.iter().any(|p| p == n))
        });
        if deleting || !belongs {
            launch::stop(ctx, &p.key, "ServiceSchedulerInitiated", STOPPED_BY_DEPLOYMENT).await?;
        } else {
            kept.push(p);
        }
    }
    let usage = container_instances::usage(ctx, cluster).await?;
    // Instances being replaced end once only daemon tasks are left on them.
    let mut replacing: Vec<String> =
        list_of(&daemon.doc, "replacing").iter().filter_map(Value::as_str).map(str::to_owned).collect();
    let mut still = Vec::new();
    for id in replacing.drain(..) {
        match by_id(&id) {
            Some(i) if i.status != "INACTIVE" => {
                if usage.has_tasks(&i.id) {
                    still.push(id);
                } else {
                    let reason = "The container instance was terminated: a daemon deployment replaced it.";
                    container_instances::terminate(ctx, &cluster.name, i, reason).await?;
                }
            }
            _ => {}
        }
    }
    let mut replacing = still;
    let mut retry = None;
    let mut outdated: Vec<&InstanceRow> = Vec::new();
    let mut converged = true;
    let targets: Vec<&InstanceRow> = instances
        .iter()
        .filter(|i| i.status == "ACTIVE" && !replacing.contains(&i.id))
        .filter(|i| container_instances::provider_of(i).is_some_and(|n| providers.iter().any(|p| p == n)))
        .collect();
    if let Some(target) = &target {
        for instance in &targets {
            let mine: Vec<&Placed> = kept.iter().filter(|p| p.instance == instance.id).collect();
            if let Some(p) = mine.iter().find(|p| p.revision.as_deref() == Some(target.as_str())) {
                // Placed: the deployment is done with the instance once the task runs.
                converged &= p.running;
                continue;
            }
            converged = false;
            if !mine.is_empty() {
                outdated.push(instance);
                continue;
            }
            match last_stop(ctx, cluster, daemon, instance).await? {
                LastStop::Ran => {
                    // A critical daemon's task stopped: its instance is replaced.
                    replace(ctx, cluster, instance).await?;
                    replacing.push(instance.id.clone());
                }
                LastStop::FailedToStart(ago) if ago < RETRY_START.as_secs_f64() => {
                    let wait = Duration::from_secs_f64(RETRY_START.as_secs_f64() - ago);
                    retry = Some(retry.map_or(wait, |r: Duration| r.min(wait)));
                }
                LastStop::FailedToStart(_) | LastStop::Never if !usage.has_tasks(&instance.id) => {
                    start(ctx, cluster, daemon, target, instance).await?;
                }
                LastStop::FailedToStart(_) | LastStop::Never => outdated.push(instance),
            }
        }
    }
    // Replace outdated instances, at most drainPercent of them at once.
    let drain = daemon
        .doc
        .get("deploymentConfiguration")
        .and_then(|c| c.get("drainPercent"))
        .and_then(Value::as_f64)
        .unwrap_or(25.0);
    let all = targets.len() + replacing.len();
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
    let batch = ((all as f64 * drain / 100.0).ceil() as usize).max(1);
    for instance in outdated.into_iter().take(batch.saturating_sub(replacing.len())) {
        replace(ctx, cluster, instance).await?;
        replacing.push(instance.id.clone());
    }
    // A deletion is done once the daemon's tasks have stopped, not only been told to.
    let group = daemons::group_of(&daemon.name);
    let stopping =
        deleting && ctx.store.instance_tasks(ctx.region(), &cluster.name).await?.iter().any(|t| t.group == group);
    let converged = converged && replacing.is_empty() && !stopping;
    let bake = daemon
        .doc
        .get("deploymentConfiguration")
        .and_then(|c| c.get("bakeTimeInMinutes"))
        .and_then(Value::as_f64)
        .unwrap_or(0.0)
        * 60.0;
    let at = now();
    let bake_left = ctx
        .store
        .update_daemon(ctx.region(), &cluster.name, &daemon.name, |d| {
            d.doc.insert("replacing".into(), json!(replacing));
            let mut left = None;
            let mut finished = false;
            // What this turn saw is about the deployment it read: a newer one (an update or
            // delete since) waits for the next turn.
            let same = d.doc.get("deploymentArn") == daemon.doc.get("deploymentArn") && d.status == daemon.status;
            if same
                && let Some(Value::Array(deployments)) = d.doc.get_mut("deployments")
                && let Some(current) = deployments.last_mut()
                && UNDER_WAY.contains(&str_of(current, "status").unwrap_or_default())
            {
                if str_of(current, "status") == Some("PENDING") {
                    current["status"] = json!("IN_PROGRESS");
                    current["startedAt"] = json!(at);
                }
                if converged {
                    let since = current.get("convergedAt").and_then(Value::as_f64).unwrap_or(at);
                    current["convergedAt"] = json!(since);
                    if at - since >= bake {
                        current["status"] = json!("SUCCESSFUL");
                        current["finishedAt"] = json!(at);
                        current["circuitBreaker"]["status"] = json!("MONITORING_COMPLETE");
                        finished = true;
                    } else {
                        left = Some(Duration::from_secs_f64(bake - (at - since)));
                    }
                } else if let Some(m) = current.as_object_mut() {
                    m.remove("convergedAt");
                }
            }
            if finished && d.status == "DELETE_IN_PROGRESS" {
                d.status = "DELETED".into();
            }
            left
        })
        .await?
        .flatten();
    Ok(match (retry, bake_left) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    })
}

/// How the daemon's last task on an instance ended, if it had one.
enum LastStop {
    /// It never had one (or berth stopped it itself).
    Never,
    /// It ran, then stopped.
    Ran,
    /// It failed to start, this many seconds ago.
    FailedToStart(f64),
}

async fn last_stop(ctx: &Ctx<'_>, cluster: &NamedRow, daemon: &DaemonRow, instance: &InstanceRow) -> Result<LastStop> {
    let group = daemons::group_of(&daemon.name);
    let filter = TaskFilter {
        desired_status: "STOPPED",
        group: Some(&group),
        container_instance: Some(&instance.id),
        ..TaskFilter::default()
    };
    let mut latest: Option<Doc> = None;
    for (_, text) in ctx.store.matching_task_texts(ctx.region(), &cluster.name, &filter).await? {
        let Ok(doc) = serde_json::from_str::<Doc>(&text) else { continue };
        if str_of(&doc, "stoppedReason") == Some(STOPPED_BY_DEPLOYMENT)
            || str_of(&doc, "stopCode") == Some("TerminationNotice")
        {
            continue;
        }
        let at = |d: &Doc| d.get("stoppingAt").and_then(Value::as_f64).unwrap_or(0.0);
        if latest.as_ref().is_none_or(|l| at(&doc) > at(l)) {
            latest = Some(doc);
        }
    }
    Ok(match latest {
        None => LastStop::Never,
        Some(doc) if doc.contains_key("startedAt") => LastStop::Ran,
        Some(doc) => {
            let at = doc.get("stoppedAt").or_else(|| doc.get("stoppingAt")).and_then(Value::as_f64).unwrap_or(0.0);
            LastStop::FailedToStart(now() - at)
        }
    })
}

/// Starts the daemon's task of `revision` on `instance`.
async fn start(
    ctx: &Ctx<'_>,
    cluster: &NamedRow,
    daemon: &DaemonRow,
    revision: &str,
    instance: &InstanceRow,
) -> Result<()> {
    let Some(r) = daemons::revision(&daemon.doc, revision) else { return Ok(()) };
    let definition_arn = str_of(r, "daemonTaskDefinitionArn").unwrap_or_default();
    let Some(mut td) = daemon_task_definitions::find(ctx, definition_arn).await? else { return Ok(()) };
    td.insert("taskDefinitionArn".into(), json!(definition_arn));
    let tags =
        if str_of(r, "propagateTags") == Some("DAEMON") { ctx.store.get_tags(&daemon.arn).await? } else { Vec::new() };
    let request = LaunchRequest {
        network_configuration: None,
        overrides: None,
        started_by: Some(daemons::started_by(revision)),
        group: Some(daemons::group_of(&daemon.name)),
        propagate_tags: None,
        enable_execute_command: r.get("enableExecuteCommand").and_then(Value::as_bool).unwrap_or(false),
        platform_version: None,
        placement_constraints: None,
        placement_strategy: None,
    };
    let blueprint = Blueprint::new(ctx, cluster.clone(), td, request, tags).await?;
    let launched = launch::launch(ctx, &blueprint, &[], Some(std::slice::from_ref(&instance.arn)), None).await?;
    for failure in &launched.failures {
        tracing::warn!(daemon = %daemon.arn, instance = %instance.arn, reason = %failure, "a daemon task could not be placed");
    }
    Ok(())
}

/// Replaces an instance: a new one joins its provider, and it goes DRAINING.
async fn replace(ctx: &Ctx<'_>, cluster: &NamedRow, instance: &InstanceRow) -> Result<()> {
    let Some(provider) = container_instances::provider_of(instance) else { return Ok(()) };
    let Some(group) = capacity_providers::group(ctx, provider).await? else { return Ok(()) };
    let size = ctx.store.provider_instances(ctx.region(), &cluster.name, provider, true).await?.len();
    super::capacity::grow(ctx, cluster, provider, &group, size, 1).await?;
    let mut draining = instance.clone();
    draining.status = "DRAINING".into();
    draining.doc.insert("status".into(), json!("DRAINING"));
    ctx.store.put_instance(ctx.region(), &cluster.name, &draining).await?;
    tracing::info!(cluster = %cluster.name, instance = %instance.arn, "a daemon replaces its container instance");
    Ok(())
}
