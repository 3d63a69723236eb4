//! Cluster auto scaling, keyed by cluster: tasks waiting in PROVISIONING for an Auto Scaling
//! group provider with managed scaling are placed on its instances; when they do not fit, the
//! group grows by what they need (at least `minimumScalingStepSize`, at most
//! `maximumScalingStepSize`, sized so that the busy instances are `targetCapacity` percent of the
//! group). Instances that stay empty for `--scale-in-after` seconds beyond that target are
//! terminated (INACTIVE); an instance with tasks never is, which is what
//! managedTerminationProtection promises. Woken by tasks that wait for capacity and by changes
//! to the cluster's instances; the resync each second catches the passing of time (how long an
//! instance has been empty, how long a task has waited).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::ClusterKey;
use super::runtime::{Action, Reconciler, Wake};
use crate::error::Result;
use crate::placement::Candidate;
use crate::services::ecs::capacity_providers::{self, Group};
use crate::services::ecs::launch::{self, Awaiting};
use crate::services::ecs::{Api, Ctx, clusters, container_instances, daemons, placement};
use crate::store::{AwaitingTask, Change, InstanceRow};

/// How long a task may wait for capacity before it is stopped, as ECS stops it.
const PROVISIONING_TIMEOUT_SECS: f64 = 30.0 * 60.0;

/// Since when each empty instance of a scaled group has been empty, by instance ARN (none of
/// it needs to survive a restart).
type EmptySince = HashMap<String, Instant>;

/// The cluster auto scaling controller.
pub struct Capacity {
    api: Arc<Api>,
    /// How long a scaled group's instance stays empty before it goes.
    scale_in_after: Duration,
    empty_since: tokio::sync::Mutex<EmptySince>,
}

impl Capacity {
    /// Scales the groups of `api`'s clusters, terminating instances empty for `scale_in_after`.
    #[must_use]
    pub fn new(api: Arc<Api>, scale_in_after: Duration) -> Self {
        Self { api, scale_in_after, empty_since: tokio::sync::Mutex::new(EmptySince::new()) }
    }
}

impl Reconciler for Capacity {
    type Key = ClusterKey;
    const NAME: &'static str = "capacity";

    /// Clusters with tasks waiting for capacity or with instances of a scaled group.
    async fn keys(&self) -> Result<Vec<ClusterKey>> {
        let store = self.api.store();
        let waiting = store.awaiting_tasks().await?;
        let scaled = store.scaled_instances().await?;
        self.empty_since.lock().await.retain(|arn, _| scaled.iter().any(|(_, _, row)| row.arn == *arn));
        let mut keys: Vec<ClusterKey> = waiting
            .iter()
            .map(|t| ClusterKey::new(&t.key.region, &t.key.cluster))
            .chain(scaled.iter().map(|(region, cluster, _)| ClusterKey::new(region, cluster)))
            .collect();
        keys.sort();
        keys.dedup();
        Ok(keys)
    }

    fn keys_of(&self, change: &Change) -> Wake<ClusterKey> {
        match change {
            Change::Task { region, cluster, awaiting: true, .. } | Change::Cluster { region, cluster } => {
                Wake::Keys(vec![ClusterKey::new(region, cluster)])
            }
            Change::All => Wake::All,
            Change::Task { .. } | Change::Service { .. } | Change::LogGroup { .. } => Wake::Keys(Vec::new()),
        }
    }

    async fn reconcile(&self, key: &ClusterKey) -> Result<Action> {
        let mut memory = self.empty_since.lock().await;
        scale(&self.api, key, &mut memory, self.scale_in_after).await?;
        Ok(Action::AwaitChange)
    }
}

/// One turn of cluster auto scaling over one cluster.
async fn scale(api: &Api, key: &ClusterKey, memory: &mut EmptySince, scale_in_after: Duration) -> Result<()> {
    let store = api.store();
    let in_cluster = |region: &str, cluster: &str| region == key.region && cluster == key.cluster;
    let waiting: Vec<AwaitingTask> =
        store.awaiting_tasks().await?.into_iter().filter(|t| in_cluster(&t.key.region, &t.key.cluster)).collect();
    let scaled: Vec<InstanceRow> = store
        .scaled_instances()
        .await?
        .into_iter()
        .filter(|(region, cluster, _)| in_cluster(region, cluster))
        .map(|(_, _, row)| row)
        .collect();
    // provider → its waiting tasks.
    let mut groups: BTreeMap<String, Vec<AwaitingTask>> = BTreeMap::new();
    for task in waiting {
        let Ok(awaiting) = serde_json::from_str::<Awaiting>(&task.awaiting) else { continue };
        groups.entry(awaiting.provider.clone()).or_default().push(task);
    }
    for row in &scaled {
        if let Some(p) = container_instances::provider_of(row) {
            groups.entry(p.to_owned()).or_default();
        }
    }
    if groups.is_empty() {
        return Ok(());
    }
    let ctx = api.ctx(&key.region);
    let Some(cluster) = clusters::find(&ctx, Some(&key.cluster)).await? else { return Ok(()) };
    for (provider, tasks) in groups {
        let Some(group) = capacity_providers::group(&ctx, &provider).await? else { continue };
        let _placing = ctx.tasks.placement_lock().await;
        scale_group(&ctx, &cluster, &provider, &group, tasks, memory, scale_in_after).await?;
    }
    Ok(())
}

/// Places a group's waiting tasks, grows the group for those that do not fit, and shrinks it
/// when instances stay empty beyond the target.
async fn scale_group(
    ctx: &Ctx<'_>,
    cluster: &crate::store::NamedRow,
    provider: &str,
    group: &Group,
    mut waiting: Vec<AwaitingTask>,
    memory: &mut EmptySince,
    scale_in_after: Duration,
) -> Result<()> {
    let timed_out = crate::domain::now() - PROVISIONING_TIMEOUT_SECS;
    let mut keep = Vec::with_capacity(waiting.len());
    for task in waiting.drain(..) {
        let created = task.doc.get("createdAt").and_then(Value::as_f64).unwrap_or(0.0);
        if created < timed_out || group.scaling.is_none() {
            let reason = format!("TaskFailedToStart: {}", why_unplaceable(ctx, cluster, provider, &task).await?);
            let stop = |doc: &mut crate::store::Doc| {
                doc.insert("stopCode".into(), json!("TaskFailedToStart"));
                doc.insert("stoppedReason".into(), json!(reason));
                launch::stopped_waiting(doc);
            };
            ctx.store.settle_awaiting_task(&task.key, None, stop).await?;
            continue;
        }
        keep.push(task);
    }
    let mut waiting = keep;
    // Place what fits now; grow for the rest, then place again on the new instances.
    for round in 0..2 {
        let usage = container_instances::usage(ctx, cluster).await?;
        let rows = ctx.store.provider_instances(ctx.region(), &cluster.name, provider, false).await?;
        let mut candidates: Vec<(InstanceRow, Candidate)> = rows
            .into_iter()
            .filter(|r| r.status == "ACTIVE")
            .map(|r| {
                let c = container_instances::candidate(&r, &usage);
                (r, c)
            })
            .collect();
        let mut unplaced = Vec::new();
        let mut placed_on = std::collections::HashSet::new();
        // An instance runs its daemons before anything else (they count in its size).
        let unready = daemons::unready_instances(ctx, &cluster.name, provider).await?;
        let ready: Vec<usize> = (0..candidates.len()).filter(|i| !unready.contains(&candidates[*i].0.id)).collect();
        for task in waiting {
            let Ok(awaiting) = serde_json::from_str::<Awaiting>(&task.awaiting) else { continue };
            let demand = awaiting.demand();
            let td = crate::store::Doc::new();
            let constraints = placement::constraints(&td, Some(&awaiting.constraints)).unwrap_or_default();
            let strategies = placement::strategies(Some(&awaiting.strategies)).unwrap_or_default();
            let mut pool: Vec<Candidate> = ready.iter().map(|i| candidates[*i].1.clone()).collect();
            let mut random = || uuid::Uuid::new_v4().as_u64_pair().0;
            let placed = crate::placement::place(&mut pool, &demand, &constraints, &strategies, 1, &mut random);
            let Some(&p) = placed.placed.first() else {
                unplaced.push(task);
                continue;
            };
            let (row, chosen) = &mut candidates[ready[p]];
            *chosen = pool.swap_remove(p);
            let reserved = awaiting.demand.clone();
            let chosen_now = chosen.clone();
            // Placed, the task is the tasks controller's to start.
            ctx.tasks.will_start([task.key.id.as_str()]);
            let settled = ctx
                .store
                .settle_awaiting_task(&task.key, Some((&row.id, &reserved)), |doc| launch::place_on(doc, &chosen_now))
                .await;
            if !matches!(settled, Ok(Some(_))) {
                ctx.tasks.forget_starts([task.key.id.as_str()]);
            }
            settled?;
            placed_on.insert(row.id.clone());
        }
        waiting = unplaced;
        let busy_ids: std::collections::HashSet<String> = candidates
            .iter()
            .filter(|(r, _)| usage.has_tasks(&r.id) || placed_on.contains(&r.id))
            .map(|(r, _)| r.id.clone())
            .collect();
        let busy = busy_ids.len();
        let size = candidates.len();
        if round == 0 && !waiting.is_empty() {
            if let Some(scaling) = group.scaling {
                let needed = instances_needed(ctx, cluster, provider, group, &waiting).await;
                let desired = (busy + needed) * 100;
                let desired = desired.div_ceil(usize::try_from(scaling.target_capacity).unwrap_or(100));
                let add = desired.saturating_sub(size);
                if add > 0 {
                    let min = usize::try_from(scaling.min_step).unwrap_or(1);
                    let max = usize::try_from(scaling.max_step).unwrap_or(1);
                    grow(ctx, cluster, provider, group, size, add.clamp(min, max.max(min))).await?;
                    continue;
                }
            }
            break;
        }
        if round == 0 && waiting.is_empty() {
            shrink(ctx, cluster, group, &candidates, &busy_ids, memory, scale_in_after).await?;
        }
        break;
    }
    Ok(())
}

/// Why a waiting task fits none of its group's instances, as ECS words a provisioning failure:
/// `EMPTY CAPACITY PROVIDER` for a group without instances, else the closest refusal
/// (`RESOURCE:MEMORY`, ...).
async fn why_unplaceable(
    ctx: &Ctx<'_>,
    cluster: &crate::store::NamedRow,
    provider: &str,
    task: &AwaitingTask,
) -> Result<String> {
    let rows = ctx.store.provider_instances(ctx.region(), &cluster.name, provider, false).await?;
    if rows.is_empty() {
        return Ok("EMPTY CAPACITY PROVIDER".to_owned());
    }
    let Ok(awaiting) = serde_json::from_str::<Awaiting>(&task.awaiting) else { return Ok("RESOURCE:MEMORY".into()) };
    let usage = container_instances::usage(ctx, cluster).await?;
    let mut pool: Vec<Candidate> = rows.iter().map(|r| container_instances::candidate(r, &usage)).collect();
    let mut never = || 0;
    let placed = crate::placement::place(&mut pool, &awaiting.demand(), &[], &[], 1, &mut never);
    Ok(placed.failures.first().map_or("NO ACTIVE INSTANCES", |(_, r)| r.as_str()).to_owned())
}

/// How many new instances of the group the waiting tasks need (first fit on empty ones); tasks
/// that would not fit even an empty instance need none.
async fn instances_needed(
    ctx: &Ctx<'_>,
    cluster: &crate::store::NamedRow,
    provider: &str,
    group: &Group,
    waiting: &[AwaitingTask],
) -> usize {
    let template =
        container_instances::new_instances(ctx, cluster, &[0], 1, &group.instance_type, Some(provider), 0).await;
    let Some(template) = template.first() else { return 0 };
    let empty = container_instances::candidate(template, &container_instances::Usage::default());
    let mut fresh: Vec<Candidate> = Vec::new();
    for task in waiting {
        let Ok(awaiting) = serde_json::from_str::<Awaiting>(&task.awaiting) else { continue };
        let demand = awaiting.demand();
        let mut never = || 0;
        let binpack = [crate::placement::Strategy::Binpack(crate::placement::Resource::Memory)];
        if !crate::placement::place(&mut fresh, &demand, &[], &binpack, 1, &mut never).placed.is_empty() {
            continue;
        }
        let mut one = vec![empty.clone()];
        if crate::placement::place(&mut one, &demand, &[], &[], 1, &mut never).placed.is_empty() {
            continue;
        }
        fresh.extend(one);
    }
    fresh.len()
}

/// Adds `count` instances to the group, over the engines in turn.
pub(super) async fn grow(
    ctx: &Ctx<'_>,
    cluster: &crate::store::NamedRow,
    provider: &str,
    group: &Group,
    size: usize,
    count: usize,
) -> Result<()> {
    let engines = ctx.tasks.engine_count().max(1);
    let mut rows = Vec::with_capacity(count);
    for k in 0..count {
        let engine = (size + k) % engines;
        rows.extend(
            container_instances::new_instances(
                ctx,
                cluster,
                &[engine],
                1,
                &group.instance_type,
                Some(provider),
                size + k,
            )
            .await,
        );
    }
    tracing::info!(cluster = %cluster.name, provider, added = rows.len(), "cluster auto scaling added instances");
    ctx.store.add_instances(ctx.region(), &cluster.name, &rows).await?;
    Ok(())
}

/// Terminates instances that have stayed empty for `after`, as many as the group has beyond its
/// target (at most `maximumScalingStepSize` at once).
async fn shrink(
    ctx: &Ctx<'_>,
    cluster: &crate::store::NamedRow,
    group: &Group,
    candidates: &[(InstanceRow, Candidate)],
    busy_ids: &std::collections::HashSet<String>,
    memory: &mut EmptySince,
    after: Duration,
) -> Result<()> {
    let Some(scaling) = group.scaling else { return Ok(()) };
    let now = Instant::now();
    let busy = busy_ids.len();
    let desired = (busy * 100).div_ceil(usize::try_from(scaling.target_capacity).unwrap_or(100));
    let excess = candidates.len().saturating_sub(desired).min(usize::try_from(scaling.max_step).unwrap_or(1));
    let mut idle = Vec::new();
    for (row, _) in candidates {
        if busy_ids.contains(&row.id) {
            memory.remove(&row.arn);
            continue;
        }
        let since = *memory.entry(row.arn.clone()).or_insert(now);
        if now.duration_since(since) >= after {
            idle.push(row);
        }
    }
    for row in idle.into_iter().take(excess) {
        // Idle: only daemon tasks, if any, are left on it.
        let reason = "The container instance was terminated: it stayed idle.";
        container_instances::terminate(ctx, &cluster.name, row, reason).await?;
        memory.remove(&row.arn);
        tracing::info!(cluster = %cluster.name, instance = %row.arn, "cluster auto scaling terminated an idle instance");
    }
    Ok(())
}
