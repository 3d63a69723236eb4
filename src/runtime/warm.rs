//! Warm holders: started holders kept ready for a cluster's next Fargate-like tasks. This module
//! keeps the books ([`Pools`]) and makes and removes the holders; the warm-holders controller
//! ([`crate::controllers::warm`]) decides when, per cluster.
//!
//! Starting a task's holder is about half of a one-container task's start: Docker makes the
//! network namespace, attaches it to berth's bridge and sets up its DNS, which takes about as
//! long as starting the container itself. So once a Fargate-like task whose holder needs nothing
//! of the task (no published ports, no hostname, DNS servers, /etc/hosts entries or net.*
//! sysctls) has started in a cluster, berth keeps `--warm-holders` more holders started for that
//! cluster (the task asks for a pool, [`TaskRuntime::want_warm_holders`]; the controller fills it,
//! [`TaskRuntime::refill_warm_holders`]), and RunTask hands the next such task one of them.
//!
//! A container's labels are fixed when it is created, and a holder's name the task it belongs to
//! (`berth.task-arn`, `berth.cluster`, and its name `berth-<task id>-holder`). So each warm holder
//! is made for a task id chosen in advance: the task that takes it gets that id, and its holder
//! is exactly the one it would have had. Warm holders also carry `berth.warm=<berth's instance
//! id>`, so that holders a killed berth left idle are found and removed: by the next berth on the
//! data dir when it starts, and by any berth when it stops. Pools of the clusters used least
//! lately are dropped past [`MAX_CLUSTERS`]; DeleteCluster drops its cluster's.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Map, Value};

use super::TaskRuntime;
use super::{holder, spec};
use crate::store::TaskKey;

/// The label that marks a warm holder (see [`super::holder`], which makes them).
pub use super::holder::LABEL_WARM;

/// At most this many clusters have warm holders at once.
pub const MAX_CLUSTERS: usize = 4;

/// How long stopping berth waits for holders still being made or removed.
const MAKING_DEADLINE: Duration = Duration::from_secs(10);

/// Which warm holders exist and which are being made: bookkeeping only (the Docker side is in
/// the [`TaskRuntime`] methods below).
#[derive(Debug, Default)]
pub struct Pools {
    /// Holders kept per cluster (`--warm-holders`); 0 turns warm holders off.
    per_cluster: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// By (region, cluster name).
    clusters: HashMap<(String, String), Pool>,
    /// Task ids given to RunTask whose task has not started yet.
    claimed: HashSet<String>,
    /// Task ids whose holder is being made, or removed by the refill that made it (its pool was
    /// dropped meanwhile), or waiting in `doomed`: stopping berth waits for these before it
    /// removes berth's network, which a holder still being removed keeps in use.
    making: HashSet<String>,
    /// Task ids of the waiting holders of pools dropped to make room, for the next refill to
    /// remove.
    doomed: Vec<String>,
    /// A counter for `Pool::used` and `Pool::epoch`.
    tick: u64,
    /// Set when berth stops: no more holders are made.
    closed: bool,
}

#[derive(Debug)]
struct Pool {
    /// The ARN of the cluster's tasks up to their id (`arn:aws:ecs:REGION:ACCOUNT:task/CLUSTER`).
    prefix: String,
    /// Task ids whose holder is started and waiting.
    ready: Vec<String>,
    /// How many of `State::making` are for this pool.
    making: usize,
    /// When a task last asked for it, for dropping the least recently used.
    used: u64,
    /// Tells this pool from an earlier one of the same cluster, dropped meanwhile: a holder made
    /// for a dropped pool is removed, not added.
    epoch: u64,
}

/// What a refill is to do: make holders for `ids` in the pool of `epoch`, and remove the
/// holders of pools dropped to make room.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// The pool's epoch.
    pub epoch: u64,
    /// The ARN prefix of the cluster's tasks.
    pub prefix: String,
    /// Task ids to make holders for.
    pub ids: Vec<String>,
    /// Task ids of warm holders to remove.
    pub dropped: Vec<String>,
}

impl Pools {
    /// Pools keeping `per_cluster` holders for each cluster that uses them.
    #[must_use]
    pub fn new(per_cluster: usize) -> Self {
        Self { per_cluster, state: Mutex::default() }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The bookkeeping stays consistent even if a holder of the lock panicked.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A task id whose holder is started and waiting, for a new task of `cluster`.
    pub fn take(&self, region: &str, cluster: &str) -> Option<String> {
        let mut state = self.state();
        let id = state.clusters.get_mut(&(region.to_owned(), cluster.to_owned()))?.ready.pop()?;
        state.claimed.insert(id.clone());
        Some(id)
    }

    /// True once for a task id that [`Pools::take`] gave out: its holder is waiting for it.
    pub fn claimed(&self, id: &str) -> bool {
        self.state().claimed.remove(id)
    }

    /// A Fargate-like task that can use a warm holder runs in `cluster`, whose tasks' ARNs start
    /// with `prefix`: the cluster gets a pool if it has none (dropping the least recently used
    /// one past [`MAX_CLUSTERS`], whose holders the next refill removes), and counts as used now.
    pub fn want(&self, region: &str, cluster: &str, prefix: &str) {
        if self.per_cluster == 0 {
            return;
        }
        let mut state = self.state();
        if state.closed {
            return;
        }
        state.tick += 1;
        let tick = state.tick;
        let key = (region.to_owned(), cluster.to_owned());
        if !state.clusters.contains_key(&key) && state.clusters.len() >= MAX_CLUSTERS {
            let oldest = state.clusters.iter().min_by_key(|(_, p)| p.used).map(|(k, _)| k.clone());
            if let Some(pool) = oldest.and_then(|k| state.clusters.remove(&k)) {
                state.making.extend(pool.ready.iter().cloned());
                state.doomed.extend(pool.ready);
            }
        }
        let pool = state.clusters.entry(key).or_insert_with(|| Pool {
            prefix: prefix.to_owned(),
            ready: Vec::new(),
            making: 0,
            used: tick,
            epoch: tick,
        });
        pool.used = tick;
    }

    /// True while `cluster` has a pool.
    pub fn has(&self, region: &str, cluster: &str) -> bool {
        self.state().clusters.contains_key(&(region.to_owned(), cluster.to_owned()))
    }

    /// The clusters with a pool, as (region, cluster name).
    pub fn clusters(&self) -> Vec<(String, String)> {
        self.state().clusters.keys().cloned().collect()
    }

    /// Holders `cluster`'s pool is short of (none without a pool): their task ids, now being
    /// made; and the holders of dropped pools, to remove.
    pub fn plan(&self, region: &str, cluster: &str) -> Plan {
        let mut state = self.state();
        let dropped = std::mem::take(&mut state.doomed);
        if state.closed {
            return Plan { dropped, ..Plan::default() };
        }
        let per_cluster = self.per_cluster;
        let Some(pool) = state.clusters.get_mut(&(region.to_owned(), cluster.to_owned())) else {
            return Plan { dropped, ..Plan::default() };
        };
        let short = per_cluster.saturating_sub(pool.ready.len() + pool.making);
        pool.making += short;
        let (epoch, prefix) = (pool.epoch, pool.prefix.clone());
        let ids: Vec<String> = (0..short).map(|_| uuid::Uuid::new_v4().simple().to_string()).collect();
        state.making.extend(ids.iter().cloned());
        Plan { epoch, prefix, ids, dropped }
    }

    /// The holder for `id` is made (`started`) or failed. True if it joined its pool; false if
    /// it is not wanted any more (its pool was dropped) or failed, and must be removed: then
    /// `id` counts as being made until [`Pools::removed`].
    pub fn made(&self, region: &str, cluster: &str, epoch: u64, id: &str, started: bool) -> bool {
        let mut state = self.state();
        let Some(pool) = state.clusters.get_mut(&(region.to_owned(), cluster.to_owned())) else { return false };
        if pool.epoch != epoch {
            return false;
        }
        pool.making = pool.making.saturating_sub(1);
        if started {
            pool.ready.push(id.to_owned());
            state.making.remove(id);
        }
        started
    }

    /// The holders of `ids`, which [`Pools::made`] or a [`Plan`]'s `dropped` said to remove,
    /// are removed.
    pub fn removed<'a>(&self, ids: impl IntoIterator<Item = &'a String>) {
        let mut state = self.state();
        for id in ids {
            state.making.remove(id);
        }
    }

    /// True while the pool of `epoch` is there to take holders (not dropped, berth not stopping).
    pub fn wanted(&self, region: &str, cluster: &str, epoch: u64) -> bool {
        let state = self.state();
        !state.closed && state.clusters.get(&(region.to_owned(), cluster.to_owned())).is_some_and(|p| p.epoch == epoch)
    }

    /// Gives back the holders of the task ids among `ids` that were taken for tasks never
    /// stored (a replayed RunTask, a failed write); answers those no pool can take back, to
    /// remove.
    pub fn give_back<'a>(&self, region: &str, cluster: &str, ids: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        let mut state = self.state();
        let taken: Vec<String> = ids.into_iter().filter(|id| state.claimed.remove(*id)).map(str::to_owned).collect();
        let closed = state.closed;
        match state.clusters.get_mut(&(region.to_owned(), cluster.to_owned())) {
            Some(pool) if !closed => {
                pool.ready.extend(taken);
                Vec::new()
            }
            _ => taken,
        }
    }

    /// Drops `cluster`'s pool; answers the task ids of its waiting holders, to remove.
    pub fn drop_cluster(&self, region: &str, cluster: &str) -> Vec<String> {
        self.state().clusters.remove(&(region.to_owned(), cluster.to_owned())).map(|p| p.ready).unwrap_or_default()
    }

    /// Drops every pool; answers the task ids of the waiting holders, to remove.
    pub fn clear(&self) -> Vec<String> {
        let mut state = self.state();
        let mut ids = std::mem::take(&mut state.doomed);
        ids.extend(state.clusters.drain().flat_map(|(_, p)| p.ready));
        ids
    }

    /// Makes no more holders (berth is stopping).
    pub fn close(&self) {
        self.state().closed = true;
    }

    /// True while `id`'s holder is waiting, being made, or given to a task not started yet.
    pub fn knows(&self, id: &str) -> bool {
        let state = self.state();
        state.making.contains(id)
            || state.claimed.contains(id)
            || state.clusters.values().any(|p| p.ready.iter().any(|r| r == id))
    }

    /// How many holders are being made.
    fn making(&self) -> usize {
        self.state().making.len()
    }
}

impl TaskRuntime {
    /// A task id with a started holder waiting for it, for a new Fargate-like task of `cluster`
    /// in `network_mode` whose containers are `containers`; None when there is none or the task
    /// needs a holder of its own (published ports, DNS settings).
    pub fn take_warm_holder(
        &self,
        region: &str,
        cluster: &str,
        network_mode: &str,
        containers: &[Map<String, Value>],
    ) -> Option<String> {
        if holder::fits_warm_holder(network_mode, containers) { self.warm.take(region, cluster) } else { None }
    }

    /// A task of `key`'s cluster whose holder a warm one could have been (`arn` is its ARN) is
    /// starting: the cluster keeps warm holders from now on (see [`Pools::want`]).
    pub(super) fn want_warm_holders(&self, key: &TaskKey, arn: &str) {
        if let Some((prefix, _)) = arn.rsplit_once('/') {
            self.warm.want(&key.region, &key.cluster, prefix);
        }
    }

    /// Whether `cluster` keeps warm holders.
    #[must_use]
    pub fn keeps_warm_holders(&self, region: &str, cluster: &str) -> bool {
        self.warm.has(region, cluster)
    }

    /// The clusters that keep warm holders, as (region, cluster name).
    #[must_use]
    pub fn warm_clusters(&self) -> Vec<(String, String)> {
        self.warm.clusters()
    }

    /// Makes the holders `cluster` is short of, one at a time so they do not crowd the engine,
    /// and removes those of pools dropped to make room. Answers false when one could not be
    /// made (it is tried again on the next refill).
    pub async fn refill_warm_holders(&self, region: &str, cluster: &str) -> bool {
        let plan = self.warm.plan(region, cluster);
        self.remove_warm_holders(&plan.dropped).await;
        self.warm.removed(&plan.dropped);
        if plan.ids.is_empty() {
            return true;
        }
        let docker = self.docker_at(0).await;
        let mut all_made = true;
        for id in &plan.ids {
            // Not made once the pool is gone (cluster deleted, berth stopping or reset).
            let wanted = self.warm.wanted(region, cluster, plan.epoch);
            let started = match &docker {
                Ok(docker) if wanted => {
                    match holder::start_warm_holder(self, docker, cluster, id, &plan.prefix).await {
                        Ok(()) => true,
                        Err(e) => {
                            tracing::debug!(error = %e, "cannot make a warm holder");
                            all_made = false;
                            false
                        }
                    }
                }
                Ok(_) => false,
                Err(e) => {
                    tracing::debug!(error = %e, "no engine to make warm holders on");
                    all_made = false;
                    false
                }
            };
            if !self.warm.made(region, cluster, plan.epoch, id, started) {
                if let Ok(docker) = &docker {
                    holder::remove_holder(docker, id).await;
                }
                self.warm.removed([id]);
            }
        }
        all_made
    }

    /// Gives back the warm holders taken for `ids` of `cluster` when their tasks were not stored.
    pub async fn give_back_warm_holders<'a>(
        &self,
        region: &str,
        cluster: &str,
        ids: impl IntoIterator<Item = &'a str>,
    ) {
        self.remove_warm_holders(&self.warm.give_back(region, cluster, ids)).await;
    }

    /// Removes the warm holders of a cluster being deleted.
    pub async fn drop_warm_holders(&self, region: &str, cluster: &str) {
        self.remove_warm_holders(&self.warm.drop_cluster(region, cluster)).await;
    }

    /// Removes the holders made for the task ids `ids`, on the first engine (where Fargate-like
    /// tasks run).
    async fn remove_warm_holders(&self, ids: &[String]) {
        if ids.is_empty() {
            return;
        }
        if let Ok(docker) = self.docker_at(0).await {
            for id in ids {
                holder::remove_holder(&docker, id).await;
            }
        }
    }

    /// Removes every warm holder (berth is stopping, or was reset): the waiting ones, those being
    /// made once they are, and any a killed berth left on this data dir's instance.
    pub(super) async fn clear_warm_holders(&self) {
        let ids = self.warm.clear();
        // An engine berth has not connected to has no warm holders of this run.
        let connected = match self.engines.first() {
            Some(engine) => engine.docker.lock().await.is_some(),
            None => false,
        };
        if !connected {
            return;
        }
        self.remove_warm_holders(&ids).await;
        super::wait_while(MAKING_DEADLINE, || self.warm.making() > 0).await;
        self.sweep_warm_holders(false).await;
    }

    /// Removes the warm holders of this berth's instance whose task is not running: those a
    /// killed berth left waiting, or given to a task that was never stored. With `skip_known`,
    /// holders this berth is making or keeping are left alone.
    pub async fn sweep_warm_holders(&self, skip_known: bool) {
        let Ok(docker) = self.docker_at(0).await else { return };
        let labels = std::collections::BTreeMap::from([(LABEL_WARM.to_owned(), self.instance.clone())]);
        let holders = match docker.list(&labels).await {
            Ok(holders) => holders,
            Err(e) => {
                tracing::debug!(error = %e, "cannot list warm holders");
                return;
            }
        };
        for holder in holders {
            let Some(key) = holder.labels.get(spec::LABEL_TASK).and_then(|arn| task_key(arn)) else { continue };
            if skip_known && self.warm.knows(&key.id) {
                continue;
            }
            let live = self
                .store
                .get_task(&key)
                .await
                .map(|doc| doc.is_some_and(|d| d.get("lastStatus").and_then(Value::as_str) != Some("STOPPED")));
            if matches!(live, Ok(false)) {
                holder::remove_holder(&docker, &key.id).await;
            }
        }
    }
}

/// The key of a task ARN (`arn:aws:ecs:REGION:ACCOUNT:task/CLUSTER/ID`).
fn task_key(arn: &str) -> Option<TaskKey> {
    let parsed = crate::domain::arn::Arn::parse(arn)?;
    let (cluster, id) = parsed.resource_id.split_once('/')?;
    (parsed.resource_type == "task").then(|| TaskKey {
        region: parsed.region.to_owned(),
        cluster: cluster.to_owned(),
        id: id.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pool_fills_to_its_size_and_hands_out_what_is_ready() {
        let pools = Pools::new(2);
        assert_eq!(pools.plan("r", "c"), Plan::default(), "nothing to make before a task asks");
        pools.want("r", "c", "p");
        assert_eq!(pools.take("r", "c"), None, "nothing ready before a refill");
        let plan = pools.plan("r", "c");
        assert_eq!(plan.prefix, "p");
        assert_eq!(plan.ids.len(), 2);
        assert!(pools.plan("r", "c").ids.is_empty(), "two are being made already");
        assert!(pools.made("r", "c", plan.epoch, &plan.ids[0], true));
        assert!(!pools.made("r", "c", plan.epoch, &plan.ids[1], false), "a failed holder is not kept");
        assert_eq!(pools.plan("r", "c").ids.len(), 1, "one short after a failure");
        let taken = pools.take("r", "c").expect("one is ready");
        assert_eq!(taken, plan.ids[0]);
        assert!(pools.knows(&taken), "given to a task not started yet");
        assert!(pools.claimed(&taken));
        assert!(!pools.claimed(&taken), "claimed once");
        assert!(!pools.knows(&taken));
        assert_eq!(pools.take("r", "c"), None);
        assert_eq!(pools.take("r", "other"), None);
    }

    #[test]
    fn a_holder_made_for_a_dropped_pool_is_not_kept() {
        let pools = Pools::new(1);
        pools.want("r", "c", "p");
        let plan = pools.plan("r", "c");
        assert!(pools.drop_cluster("r", "c").is_empty());
        assert!(!pools.has("r", "c"));
        pools.want("r", "c", "p");
        let again = pools.plan("r", "c");
        assert_ne!(plan.epoch, again.epoch);
        assert!(!pools.made("r", "c", plan.epoch, &plan.ids[0], true), "made for the dropped pool");
        assert_eq!(pools.making(), 2, "the new pool's, and the dropped pool's until it is removed");
        assert!(pools.knows(&plan.ids[0]), "a sweep leaves it to the refill removing it");
        pools.removed(&plan.ids);
        assert_eq!(pools.making(), 1);
        assert!(pools.made("r", "c", again.epoch, &again.ids[0], true));
        assert_eq!(pools.clear(), again.ids);
        assert!(!pools.made("r", "c", again.epoch, "late", true), "after clear nothing is kept");
        assert_eq!(pools.making(), 0);
    }

    #[test]
    fn holders_of_tasks_never_stored_go_back_to_their_pool() {
        let pools = Pools::new(2);
        pools.want("r", "c", "p");
        let plan = pools.plan("r", "c");
        assert!(pools.wanted("r", "c", plan.epoch));
        for id in &plan.ids {
            assert!(pools.made("r", "c", plan.epoch, id, true));
        }
        let a = pools.take("r", "c").unwrap();
        let b = pools.take("r", "c").unwrap();
        assert!(pools.give_back("r", "c", [a.as_str(), "never-taken"]).is_empty());
        assert!(!pools.knows("never-taken"));
        assert_eq!(pools.take("r", "c"), Some(a.clone()), "given back, ready again");
        pools.close();
        assert!(!pools.wanted("r", "c", plan.epoch), "nothing is made once closed");
        assert_eq!(pools.give_back("r", "c", [a.as_str(), b.as_str()]), vec![a, b], "closed: removed instead");
    }

    #[test]
    fn the_least_recently_refilled_cluster_is_dropped_past_the_limit() {
        let pools = Pools::new(1);
        for i in 0..MAX_CLUSTERS {
            pools.want("r", &format!("c{i}"), "p");
            let plan = pools.plan("r", &format!("c{i}"));
            assert!(plan.dropped.is_empty());
            assert!(pools.made("r", &format!("c{i}"), plan.epoch, &plan.ids[0], true));
        }
        pools.want("r", "c0", "p"); // c0 used again: c1 is now the oldest
        pools.want("r", "new", "p");
        assert_eq!(pools.clusters().len(), MAX_CLUSTERS);
        assert!(!pools.has("r", "c1"), "c1's pool was dropped");
        assert_eq!(pools.making(), 1, "the dropped pool's holder waits to be removed");
        let plan = pools.plan("r", "new");
        assert_eq!(plan.dropped.len(), 1, "the next refill removes it");
        assert_eq!(pools.making(), 2, "the new pool's holder is being made, the dropped one removed");
        pools.removed(&plan.dropped);
        assert_eq!(pools.making(), 1);
        assert!(pools.plan("r", "c0").dropped.is_empty(), "removed once");
        assert_eq!(pools.take("r", "c1"), None);
        assert!(pools.take("r", "c0").is_some());
    }

    #[test]
    fn no_holders_are_kept_when_turned_off_or_closed() {
        let pools = Pools::new(0);
        pools.want("r", "c", "p");
        assert!(!pools.has("r", "c"));
        assert_eq!(pools.plan("r", "c"), Plan::default());
        assert_eq!(pools.take("r", "c"), None);
        let pools = Pools::new(2);
        pools.want("r", "c", "p");
        assert_eq!(pools.plan("r", "c").ids.len(), 2);
        pools.close();
        pools.want("r", "other", "p");
        assert_eq!(pools.plan("r", "other"), Plan::default());
        assert_eq!(pools.plan("r", "c"), Plan::default(), "nothing more is made once closed");
    }

    #[test]
    fn task_keys_come_from_task_arns() {
        let key = task_key("arn:aws:ecs:eu-west-1:000000000000:task/web/abc").unwrap();
        assert_eq!((key.region.as_str(), key.cluster.as_str(), key.id.as_str()), ("eu-west-1", "web", "abc"));
        assert!(task_key("arn:aws:ecs:eu-west-1:000000000000:cluster/web").is_none());
        assert!(task_key("not an arn").is_none());
    }
}
