//! The controllers: background work that applies ECS's rules to stored state, the way handlers
//! apply them to requests, through the same placement and launch paths as RunTask.
//!
//! One loop wakes on every change the task runtime or a handler announces
//! ([`crate::runtime::TaskRuntime::nudge`]) and on a periodic resync, and each turn reads the
//! desired state from the store again (level-triggered: a missed wake-up is caught by the next):
//! - Cluster auto scaling: tasks waiting in PROVISIONING for an Auto Scaling group provider with
//!   managed scaling are placed on its instances; when they do not fit, the group grows by what
//!   they need (at least `minimumScalingStepSize`, at most `maximumScalingStepSize`, sized so
//!   that the busy instances are `targetCapacity` percent of the group). Instances that stay
//!   empty for `--scale-in-after` seconds beyond that target are terminated (INACTIVE); an
//!   instance with tasks never is, which is what managedTerminationProtection promises.
//! - Services: the service scheduler (`api/services.rs`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::capacity_providers::{self, Group};
use super::launch::{self, Awaiting};
use super::{Api, Ctx, clusters, container_instances, placement};
use crate::error::Result;
use crate::placement::Candidate;
use crate::store::{AwaitingTask, InstanceRow};

/// How often the loop looks again when nothing wakes it.
const RESYNC: Duration = Duration::from_secs(1);

/// How long a task may wait for capacity before it is stopped, as ECS stops it.
const PROVISIONING_TIMEOUT_SECS: f64 = 30.0 * 60.0;

/// The controllers' memory between turns (none of it needs to survive a restart).
#[derive(Default)]
struct Memory {
    /// Since when each empty instance of a scaled group has been empty.
    empty_since: HashMap<String, Instant>,
}

/// Runs the controllers until the task is aborted. `scale_in_after`: how long a scaled
/// group's instance stays empty before it goes; `healthy_after`: how long a task without health
/// checks runs before a deployment counts it healthy.
pub async fn run(api: Arc<Api>, scale_in_after: Duration, healthy_after: Duration) {
    let mut memory = Memory::default();
    loop {
        tokio::select! {
            () = api.tasks.changed() => {}
            () = tokio::time::sleep(RESYNC) => {}
        }
        if let Err(e) = scale(&api, &mut memory, scale_in_after).await {
            tracing::warn!(error = %e, "cluster auto scaling failed; retrying");
        }
        if let Err(e) = super::services::reconcile_all(&api, healthy_after).await {
            tracing::warn!(error = %e, "service scheduler failed; retrying");
        }
    }
}

/// One turn of cluster auto scaling, over every region and cluster.
async fn scale(api: &Api, memory: &mut Memory, scale_in_after: Duration) -> Result<()> {
    let waiting = api.store.awaiting_tasks().await?;
    let scaled = api.store.scaled_instances().await?;
    if waiting.is_empty() && scaled.is_empty() {
        memory.empty_since.clear();
        return Ok(());
    }
    // (region, cluster, provider) → its waiting tasks.
    let mut groups: BTreeMap<(String, String, String), Vec<AwaitingTask>> = BTreeMap::new();
    for task in waiting {
        let Ok(awaiting) = serde_json::from_str::<Awaiting>(&task.awaiting) else { continue };
        groups
            .entry((task.key.region.clone(), task.key.cluster.clone(), awaiting.provider.clone()))
            .or_default()
            .push(task);
    }
    for (region, cluster, row) in &scaled {
        if let Some(p) = container_instances::provider_of(row) {
            groups.entry((region.clone(), cluster.clone(), p.to_owned())).or_default();
        }
    }
    for ((region, cluster, provider), tasks) in groups {
        let ctx = api.ctx(&region);
        let Some(cluster) = clusters::find(&ctx, Some(&cluster)).await? else { continue };
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
    memory: &mut Memory,
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
        for task in waiting {
            let Ok(awaiting) = serde_json::from_str::<Awaiting>(&task.awaiting) else { continue };
            let demand = awaiting.demand();
            let td = crate::store::Doc::new();
            let constraints = placement::constraints(&td, Some(&awaiting.constraints)).unwrap_or_default();
            let strategies = placement::strategies(Some(&awaiting.strategies)).unwrap_or_default();
            let mut pool: Vec<Candidate> = candidates.iter().map(|(_, c)| c.clone()).collect();
            let mut random = || uuid::Uuid::new_v4().as_u64_pair().0;
            let placed = crate::placement::place(&mut pool, &demand, &constraints, &strategies, 1, &mut random);
            let Some(&i) = placed.placed.first() else {
                unplaced.push(task);
                continue;
            };
            let (row, chosen) = &mut candidates[i];
            *chosen = pool.swap_remove(i);
            let reserved = awaiting.demand.clone();
            let chosen_now = chosen.clone();
            let settled = ctx
                .store
                .settle_awaiting_task(&task.key, Some((&row.id, &reserved)), |doc| launch::place_on(doc, &chosen_now))
                .await?;
            placed_on.insert(row.id.clone());
            if let Some(doc) = settled {
                let arn = doc.get("taskArn").and_then(Value::as_str).unwrap_or_default().to_owned();
                ctx.tasks.spawn(task.key.clone(), arn);
            }
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
async fn grow(
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
    memory: &mut Memory,
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
            memory.empty_since.remove(&row.arn);
            continue;
        }
        let since = *memory.empty_since.entry(row.arn.clone()).or_insert(now);
        if now.duration_since(since) >= after {
            idle.push(row);
        }
    }
    for row in idle.into_iter().take(excess) {
        let mut gone = row.clone();
        gone.status = "INACTIVE".into();
        gone.doc.insert("status".into(), json!("INACTIVE"));
        gone.doc.insert("agentConnected".into(), json!(false));
        ctx.store.put_instance(ctx.region(), &cluster.name, &gone).await?;
        memory.empty_since.remove(&row.arn);
        tracing::info!(cluster = %cluster.name, instance = %row.arn, "cluster auto scaling terminated an idle instance");
    }
    Ok(())
}
